//! The internet gateway and its attachment to the VPC.

use aws_sdk_ec2::types::{InternetGateway, ResourceType};

use super::props::{live_text, text};
use super::waits::is_gone;
use super::{Created, Ec2Provider, New};
use crate::model::Kind;
use crate::model::{Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, sent};

/// An internet gateway as observed: the VPC it is attached to.
pub(super) fn observe(gateway: &InternetGateway) -> Option<Live> {
    let gateway_id = gateway.internet_gateway_id()?;
    let mut props = Props::new();
    props.insert("vpc_id".into(), Value::str(gateway_vpc(gateway)));
    Some(Live::new(Kind::InternetGateway, gateway_id, "").props(props))
}

/// The VPC an internet gateway is attached to, or `""`.
fn gateway_vpc(gateway: &InternetGateway) -> &str {
    gateway
        .attachments()
        .iter()
        .find(|attachment| {
            !matches!(
                attachment.state().map(|state| state.as_str()),
                Some("detaching" | "detached")
            )
        })
        .and_then(|attachment| attachment.vpc_id())
        .unwrap_or_default()
}

impl Ec2Provider {
    /// Attaches the gateway to the desired VPC (detached first from another; called when its
    /// `vpc_id` differs).
    pub(super) async fn converge_gateway(
        &self,
        resource: &Resource,
        gateway_id: &str,
        current: &Props,
    ) -> Result<(), ProviderError> {
        let attached = live_text(current, "vpc_id");
        if !attached.is_empty() {
            self.detach_gateway(gateway_id, attached).await?;
        }
        let vpc_id = text(resource, "vpc_id")?;
        let call = self
            .client
            .attach_internet_gateway()
            .internet_gateway_id(gateway_id)
            .vpc_id(&vpc_id);
        sent("ec2:AttachInternetGateway", gateway_id, call.send()).await?;
        Ok(())
    }

    pub(super) async fn detach_gateway(
        &self,
        gateway_id: &str,
        vpc_id: &str,
    ) -> Result<(), ProviderError> {
        let call = self
            .client
            .detach_internet_gateway()
            .internet_gateway_id(gateway_id)
            .vpc_id(vpc_id);
        match sent("ec2:DetachInternetGateway", gateway_id, call.send()).await {
            Ok(_) => Ok(()),
            Err(error)
                if is_gone(&error) || error.code.as_deref() == Some("Gateway.NotAttached") =>
            {
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// CreateInternetGateway (attached by converge).
    pub(super) async fn create_internet_gateway(&self, new: &mut New<'_>) -> Created {
        let name = new.name();
        let call = self
            .creates
            .create_internet_gateway()
            .tag_specifications(new.tags(ResourceType::InternetGateway));
        let created = sent("ec2:CreateInternetGateway", name, call.send()).await?;
        new.props.insert("vpc_id".into(), Value::str(""));
        Ok(created
            .internet_gateway()
            .and_then(InternetGateway::internet_gateway_id)
            .unwrap_or_default()
            .to_string())
    }
}
