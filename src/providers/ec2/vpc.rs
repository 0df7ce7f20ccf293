//! The VPC: CIDR, DNS support and hostnames, and the rules of its default security group and
//! default network ACL (stripped: CIS 5.4).

use aws_sdk_ec2::types::{
    AttributeBooleanValue, NetworkAcl, ResourceType, SecurityGroup, Vpc, VpcAttributeName,
};

use super::network_acl::acl_entries;
use super::props::{differs, list_prop, sorted_strings, strings, text_props};
use super::security_group::rules;
use super::snapshot::filter;
use super::{Created, Ec2Provider, New};
use crate::model::Kind;
use crate::model::{Outputs, Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, aws_error, sent};

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
        props.insert(
            "default_security_group_ingress".into(),
            sorted_strings(rules(group.ip_permissions())),
        );
        props.insert(
            "default_security_group_egress".into(),
            sorted_strings(rules(group.ip_permissions_egress())),
        );
        if let Some(group_id) = group.group_id() {
            outputs.insert("default_security_group_id".into(), group_id.to_string());
        }
    }
    if let Some(acl) = default_acl {
        props.insert(
            "default_network_acl_ingress".into(),
            strings(acl_entries(acl, false)),
        );
        props.insert(
            "default_network_acl_egress".into(),
            strings(acl_entries(acl, true)),
        );
        if let Some(acl_id) = acl.network_acl_id() {
            outputs.insert("default_network_acl_id".into(), acl_id.to_string());
        }
    }
    (props, outputs)
}

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
            call.send()
                .await
                .map_err(|error| aws_error("ec2:ModifyVpcAttribute", vpc_id, error))?;
        }
        if differs(resource, current, "default_security_group_ingress")
            || differs(resource, current, "default_security_group_egress")
        {
            self.strip_default_group(resource, vpc_id).await?;
        }
        if differs(resource, current, "default_network_acl_ingress")
            || differs(resource, current, "default_network_acl_egress")
        {
            self.strip_default_acl(resource, vpc_id).await?;
        }
        Ok(())
    }

    /// Makes the default security group's rules the desired ones (none: CIS 5.4).
    pub(super) async fn strip_default_group(
        &self,
        resource: &Resource,
        vpc_id: &str,
    ) -> Result<(), ProviderError> {
        let groups = self
            .groups(vec![
                filter("vpc-id", [vpc_id]),
                filter("group-name", ["default"]),
            ])
            .await?;
        let Some(group) = groups.first() else {
            return Ok(());
        };
        let group_id = group.group_id().unwrap_or_default();
        let ingress = rules(group.ip_permissions());
        let egress = rules(group.ip_permissions_egress());
        self.apply_rules(
            resource,
            group_id,
            &ingress,
            &list_prop(resource, "default_security_group_ingress"),
            false,
        )
        .await?;
        self.apply_rules(
            resource,
            group_id,
            &egress,
            &list_prop(resource, "default_security_group_egress"),
            true,
        )
        .await
    }

    /// Makes the default network ACL's entries the desired ones (none).
    pub(super) async fn strip_default_acl(
        &self,
        resource: &Resource,
        vpc_id: &str,
    ) -> Result<(), ProviderError> {
        let acls = self
            .acls(vec![
                filter("vpc-id", [vpc_id]),
                filter("default", ["true"]),
            ])
            .await?;
        let Some(acl) = acls.first() else {
            return Ok(());
        };
        let acl_id = acl.network_acl_id().unwrap_or_default();
        for (egress, name) in [
            (false, "default_network_acl_ingress"),
            (true, "default_network_acl_egress"),
        ] {
            self.apply_entries(
                resource,
                acl_id,
                &acl_entries(acl, egress),
                &list_prop(resource, name),
                egress,
            )
            .await?;
        }
        Ok(())
    }

    /// CreateVpc (no client token: looked up by tag on a retry).
    pub(super) async fn create_vpc(&self, new: &mut New<'_>) -> Created {
        let name = new.resource.id.as_str();
        let call = self
            .creates
            .create_vpc()
            .cidr_block(new.text("cidr")?)
            .tag_specifications(new.tags(ResourceType::Vpc));
        let created = sent("ec2:CreateVpc", name, call.send()).await?;
        let vpc_id = created
            .vpc()
            .and_then(Vpc::vpc_id)
            .map(str::to_string)
            .ok_or_else(|| ProviderError::local("ec2:CreateVpc", name, "no VPC id"))?;
        new.props
            .insert("cidr".into(), Value::str(new.text("cidr")?));
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
