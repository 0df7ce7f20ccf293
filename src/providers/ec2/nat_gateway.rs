//! NAT gateways: created with a client token, waited for, and deleted with their address
//! freed.

use aws_sdk_ec2::operation::describe_nat_gateways::DescribeNatGatewaysOutput;
use aws_sdk_ec2::types::{ConnectivityType, NatGateway, NatGatewayState, ResourceType};

use super::props::{live_text, text_props};
use super::waits::{POLL_INTERVAL, done_if_gone, sent_unless_gone, until_deleted};
use super::{Created, Ec2Provider, New};
use crate::model::Kind;
use crate::model::{Observed, Value};
use crate::providers::ErrorClass;
use crate::providers::aws::{Live, sent};
use crate::providers::{ProviderError, StepCtx, wait};

/// A NAT gateway as observed (pending or available; deleted and failed ones are gone).
pub(super) fn observe(nat: &NatGateway) -> Option<Live> {
    if !nat_is_live(nat) {
        return None;
    }
    let nat_id = nat.nat_gateway_id()?;
    let mut props = text_props([("subnet_id", nat.subnet_id())]);
    props.insert(
        "allocation_id".into(),
        Value::str(
            nat.nat_gateway_addresses()
                .iter()
                .find_map(|address| address.allocation_id())
                .unwrap_or_default(),
        ),
    );
    Some(Live::new(Kind::NatGateway, nat_id, "").props(props))
}

/// Once every NAT gateway of a Describe answer is deleted (or failed), the network interfaces
/// they released.
fn released_interfaces(found: &DescribeNatGatewaysOutput) -> Option<Vec<String>> {
    let nats = found.nat_gateways();
    let deleted = nats.iter().all(|nat| {
        matches!(
            nat.state(),
            Some(NatGatewayState::Deleted | NatGatewayState::Failed)
        )
    });
    deleted.then(|| {
        nats.iter()
            .flat_map(NatGateway::nat_gateway_addresses)
            .filter_map(|address| address.network_interface_id().map(str::to_string))
            .collect()
    })
}

fn nat_is_live(nat: &NatGateway) -> bool {
    matches!(
        nat.state(),
        Some(NatGatewayState::Pending | NatGatewayState::Available) | None
    )
}

impl Ec2Provider {
    /// Waits until a NAT gateway is available; a failed one is reported with AWS's failure
    /// code and message.
    pub(super) async fn wait_nat(&self, nat_id: &str, ctx: &StepCtx) -> Result<(), ProviderError> {
        wait::until(
            ctx,
            "ec2:DescribeNatGateways",
            &format!("NAT gateway {nat_id} to become available"),
            POLL_INTERVAL,
            || async {
                let call = self.client.describe_nat_gateways().nat_gateway_ids(nat_id);
                let found = sent("ec2:DescribeNatGateways", nat_id, call.send()).await?;
                let Some(nat) = found.nat_gateways().first() else {
                    return Ok(None);
                };
                match nat.state() {
                    Some(NatGatewayState::Available) => Ok(Some(())),
                    Some(NatGatewayState::Pending) | None => Ok(None),
                    Some(state) => Err(ProviderError {
                        action: "ec2:CreateNatGateway".into(),
                        resource: nat_id.to_string(),
                        class: ErrorClass::Fatal,
                        code: nat.failure_code().map(str::to_string),
                        message: format!(
                            "NAT gateway {nat_id} is {}: {}: {}",
                            state.as_str(),
                            nat.failure_code().unwrap_or("no failure code"),
                            nat.failure_message().unwrap_or("no failure message")
                        ),
                    }),
                }
            },
        )
        .await
    }

    /// After its NAT gateway was deleted, an elastic IP must be free. AWS frees it itself;
    /// LocalStack leaves it associated with the deleted gateway's network interface, which
    /// makes the next NAT gateway on that address fail: release that association.
    pub(super) async fn free_address(
        &self,
        allocation_id: &str,
        interfaces: &[String],
    ) -> Result<(), ProviderError> {
        if allocation_id.is_empty() || interfaces.is_empty() {
            return Ok(());
        }
        let call = self
            .client
            .describe_addresses()
            .allocation_ids(allocation_id);
        let Some(addresses) =
            sent_unless_gone("ec2:DescribeAddresses", allocation_id, call.send()).await?
        else {
            return Ok(());
        };
        for address in addresses.addresses() {
            let stale = address
                .network_interface_id()
                .is_some_and(|interface| interfaces.iter().any(|i| i == interface));
            if let (true, Some(association_id)) = (stale, address.association_id()) {
                let call = self
                    .client
                    .disassociate_address()
                    .association_id(association_id);
                done_if_gone(sent("ec2:DisassociateAddress", allocation_id, call.send()).await)?;
            }
        }
        Ok(())
    }

    /// CreateNatGateway with a client token that moves on past dead incarnations.
    pub(super) async fn create_nat_gateway(&self, new: &mut New<'_>) -> Created {
        let earlier = self.nats(new.id_filters()).await?;
        let call = self
            .creates
            .create_nat_gateway()
            .subnet_id(new.text("subnet_id")?)
            .allocation_id(new.text("allocation_id")?)
            .connectivity_type(ConnectivityType::Public)
            .client_token(new.token_past(&earlier, nat_is_live))
            .tag_specifications(new.tags(ResourceType::Natgateway));
        let created = sent("ec2:CreateNatGateway", new.name(), call.send()).await?;
        Ok(created
            .nat_gateway()
            .and_then(NatGateway::nat_gateway_id)
            .unwrap_or_default()
            .to_string())
    }

    /// DeleteNatGateway, waits until it is deleted, then frees its address.
    pub(super) async fn delete_nat_gateway(
        &self,
        observed: &Observed,
        ctx: &StepCtx,
    ) -> Result<(), ProviderError> {
        let physical = observed.physical_id.as_str();
        let call = self.client.delete_nat_gateway().nat_gateway_id(physical);
        let deleted = sent_unless_gone("ec2:DeleteNatGateway", physical, call.send()).await?;
        if deleted.is_none() {
            return Ok(());
        }
        // Its elastic IP and network interface are only released once it is deleted.
        let describe = || {
            let call = self.client.describe_nat_gateways();
            call.nat_gateway_ids(physical).send()
        };
        let interfaces = until_deleted(
            ctx,
            "ec2:DescribeNatGateways",
            ("NAT gateway", physical),
            describe,
            released_interfaces,
        )
        .await?;
        let allocation = live_text(&observed.props, "allocation_id");
        self.free_address(allocation, &interfaces).await
    }
}
