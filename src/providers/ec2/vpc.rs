//! The VPC: CIDR, DNS support and hostnames, and the rules of its default security group and
//! default network ACL (stripped: CIS 5.4).

use aws_sdk_ec2::types::{
    AttributeBooleanValue, NetworkAcl, ResourceType, SecurityGroup, Vpc, VpcAttributeName,
};

use super::network_acl::{acl_entries, entry_props};
use super::props::{Direction, differs, text_props};
use super::security_group::{permissions, rule_props, rules};
use super::snapshot::{filter, in_vpc};
use super::{Created, Ec2Provider, New};
use crate::model::Kind;
use crate::model::{Outputs, Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, sent};

/// The VPC as observed, with its DNS attributes (when read) and its default security group
/// and network ACL.
pub(super) fn observe(
    vpc: &Vpc,
    dns: Option<(bool, bool)>,
    default_group: Option<&SecurityGroup>,
    default_acl: Option<&NetworkAcl>,
    region: &str,
) -> Option<Live> {
    let vpc_id = vpc.vpc_id()?;
    let (props, mut outputs) = vpc_props(vpc, dns, default_group, default_acl);
    outputs.insert(
        "arn".into(),
        format!(
            "arn:aws:ec2:{region}:{}:vpc/{vpc_id}",
            vpc.owner_id().unwrap_or_default()
        ),
    );
    Some(
        Live::new(Kind::Vpc, vpc_id, "")
            .props(props)
            .outputs(outputs),
    )
}

fn vpc_props(
    vpc: &Vpc,
    dns: Option<(bool, bool)>,
    default_group: Option<&SecurityGroup>,
    default_acl: Option<&NetworkAcl>,
) -> (Props, Outputs) {
    let mut props = text_props([("cidr", vpc.cidr_block())]);
    if let Some((support, hostnames)) = dns {
        props.insert("enable_dns_support".into(), Value::Bool(support));
        props.insert("enable_dns_hostnames".into(), Value::Bool(hostnames));
    }
    let mut outputs = Outputs::new();
    if let Some(group) = default_group {
        props.extend(rule_props(group, DEFAULT_GROUP));
        if let Some(group_id) = group.group_id() {
            outputs.insert("default_security_group_id".into(), group_id.to_string());
        }
    }
    if let Some(acl) = default_acl {
        props.extend(entry_props(acl, DEFAULT_ACL));
        if let Some(acl_id) = acl.network_acl_id() {
            outputs.insert("default_network_acl_id".into(), acl_id.to_string());
        }
    }
    (props, outputs)
}

/// The prefix of the attributes of the default security group's rules.
const DEFAULT_GROUP: &str = "default_security_group_";
/// The prefix of the attributes of the default network ACL's entries.
const DEFAULT_ACL: &str = "default_network_acl_";

impl Ec2Provider {
    pub(super) async fn converge_vpc(
        &self,
        resource: &Resource,
        vpc_id: &str,
        current: &Props,
    ) -> Result<(), ProviderError> {
        // Hostnames need support on, so support goes first.
        for (name, attribute) in [
            ("enable_dns_support", VpcAttributeName::EnableDnsSupport),
            ("enable_dns_hostnames", VpcAttributeName::EnableDnsHostnames),
        ] {
            if !differs(resource, current, name) {
                continue;
            }
            let value = AttributeBooleanValue::builder()
                .value(resource.bool_prop(name).unwrap_or(true))
                .build();
            let call = self.client.modify_vpc_attribute().vpc_id(vpc_id);
            let call = match attribute {
                VpcAttributeName::EnableDnsSupport => call.enable_dns_support(value),
                _ => call.enable_dns_hostnames(value),
            };
            sent("ec2:ModifyVpcAttribute", vpc_id, call.send()).await?;
        }
        self.strip_defaults(resource, vpc_id, current).await
    }

    /// Makes the rules of the VPC's default security group and the entries of its default
    /// network ACL the desired ones (none: CIS 5.4), each read again when its attributes
    /// differ.
    pub(super) async fn strip_defaults(
        &self,
        resource: &Resource,
        vpc_id: &str,
        current: &Props,
    ) -> Result<(), ProviderError> {
        let differs_any = |prefix: &str| {
            ["ingress", "egress"]
                .iter()
                .any(|direction| differs(resource, current, &format!("{prefix}{direction}")))
        };
        if differs_any(DEFAULT_GROUP) {
            let groups = self.groups(in_vpc(vpc_id, "group-name", "default")).await?;
            if let Some(group) = groups.first() {
                let id = group.group_id().unwrap_or_default();
                let live = |egress| rules(permissions(group, egress));
                for direction in Direction::both(resource, id, DEFAULT_GROUP, live) {
                    self.apply_rules(&direction).await?;
                }
            }
        }
        if differs_any(DEFAULT_ACL) {
            let acls = self.acls(in_vpc(vpc_id, "default", "true")).await?;
            if let Some(acl) = acls.first() {
                let id = acl.network_acl_id().unwrap_or_default();
                let live = |egress| acl_entries(acl, egress);
                for direction in Direction::both(resource, id, DEFAULT_ACL, live) {
                    self.apply_entries(&direction).await?;
                }
            }
        }
        Ok(())
    }

    /// CreateVpc (no client token: looked up by tag on a retry).
    pub(super) async fn create_vpc(&self, new: &mut New<'_>) -> Created {
        let cidr = new.text("cidr")?;
        let call = self
            .creates
            .create_vpc()
            .cidr_block(&cidr)
            .tag_specifications(new.tags(ResourceType::Vpc));
        let created = sent("ec2:CreateVpc", new.name(), call.send()).await?;
        let vpc_id = created
            .vpc()
            .and_then(Vpc::vpc_id)
            .map(str::to_string)
            .ok_or_else(|| ProviderError::local("ec2:CreateVpc", new.name(), "no VPC id"))?;
        new.props.insert("cidr".into(), Value::Str(cidr));
        new.props
            .insert("enable_dns_support".into(), Value::Bool(true));
        Ok(vpc_id)
    }

    /// Detaches the internet gateways of a VPC about to be deleted: a replaced VPC keeps its
    /// internet gateway until the gateway moves.
    pub(super) async fn detach_gateways_of(&self, vpc_id: &str) -> Result<(), ProviderError> {
        let attached = self
            .gateways(vec![filter("attachment.vpc-id", [vpc_id])])
            .await?;
        for gateway in &attached {
            if let Some(gateway_id) = gateway.internet_gateway_id() {
                self.detach_gateway(gateway_id, vpc_id).await?;
            }
        }
        Ok(())
    }
}
