//! Elastic IPs (the NAT gateways' addresses).

use aws_sdk_ec2::types::{Address, DomainType, ResourceType};

use super::tags::tag_specification;
use super::waits::delete_when_free;
use super::{Ec2Provider, Made};
use crate::model::Kind;
use crate::model::{Observed, Outputs, Props, Resource, Value};
use crate::providers::aws::{Live, aws_error, sent};
use crate::providers::{ProviderError, StepCtx};

/// An elastic IP as observed: its domain, allocation id and public address.
pub(super) fn observe(address: &Address) -> Option<Live> {
    let allocation_id = address.allocation_id()?;
    let mut props = Props::new();
    props.insert(
        "domain".into(),
        Value::str(address.domain().map_or("vpc", DomainType::as_str)),
    );
    let mut outputs = Outputs::new();
    outputs.insert("allocation_id".into(), allocation_id.to_string());
    if let Some(ip) = address.public_ip() {
        outputs.insert("public_ip".into(), ip.to_string());
    }
    Some(
        Live::new(Kind::ElasticIp, allocation_id, "")
            .props(props)
            .outputs(outputs),
    )
}

impl Ec2Provider {
    /// AllocateAddress in the VPC domain.
    pub(super) async fn create_elastic_ip(
        &self,
        resource: &Resource,
        _ctx: &StepCtx,
        made: &mut Made,
    ) -> Result<String, ProviderError> {
        let name = resource.id.as_str();
        let physical = {
            let call = self
                .creates
                .allocate_address()
                .domain(DomainType::Vpc)
                .tag_specifications(tag_specification(ResourceType::ElasticIp, resource));
            let created = sent("ec2:AllocateAddress", name, call.send()).await?;
            let allocation_id = created.allocation_id().unwrap_or_default().to_string();
            made.outputs
                .insert("allocation_id".into(), allocation_id.clone());
            if let Some(ip) = created.public_ip() {
                made.outputs.insert("public_ip".into(), ip.to_string());
            }
            allocation_id
        };
        Ok(physical)
    }

    /// ReleaseAddress, once nothing uses it.
    pub(super) async fn delete_elastic_ip(
        &self,
        observed: &Observed,
        ctx: &StepCtx,
    ) -> Result<(), ProviderError> {
        let physical = observed.physical_id.as_str();
        let client = &self.client;
        delete_when_free(ctx, "ec2:ReleaseAddress", physical, || async {
            client
                .release_address()
                .allocation_id(physical)
                .send()
                .await
                .map(|_| ())
                .map_err(|error| aws_error("ec2:ReleaseAddress", physical, error))
        })
        .await
    }
}
