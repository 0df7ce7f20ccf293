//! Elastic IPs (the NAT gateways' addresses).

use aws_sdk_ec2::types::{Address, DomainType, ResourceType};

use super::props::text_outputs;
use super::{Created, Ec2Provider, New};
use crate::model::Kind;
use crate::model::{Props, Value};
use crate::providers::aws::{Live, sent};

/// An elastic IP as observed: its domain, allocation id and public address.
pub(super) fn observe(address: &Address) -> Option<Live> {
    let allocation_id = address.allocation_id()?;
    let mut props = Props::new();
    props.insert(
        "domain".into(),
        Value::str(address.domain().map_or("vpc", DomainType::as_str)),
    );
    let outputs = text_outputs([
        ("allocation_id", Some(allocation_id)),
        ("public_ip", address.public_ip()),
    ]);
    Some(
        Live::new(Kind::ElasticIp, allocation_id, "")
            .props(props)
            .outputs(outputs),
    )
}

impl Ec2Provider {
    /// AllocateAddress in the VPC domain.
    pub(super) async fn create_elastic_ip(&self, new: &mut New<'_>) -> Created {
        let name = new.name();
        let call = self
            .creates
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(new.tags(ResourceType::ElasticIp));
        let created = sent("ec2:AllocateAddress", name, call.send()).await?;
        let allocation_id = created.allocation_id().unwrap_or_default().to_string();
        new.outputs
            .insert("allocation_id".into(), allocation_id.clone());
        if let Some(ip) = created.public_ip() {
            new.outputs.insert("public_ip".into(), ip.to_string());
        }
        Ok(allocation_id)
    }
}
