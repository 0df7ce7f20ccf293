//! Security groups and their rules (the typed [`SgRule`] of `model::network`).

use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroup, UserIdGroupPair,
};

use super::props::{
    Direction, direction_name, parse_all, sorted_strings, strings, text_outputs, text_props,
};
use super::{Created, Ec2Provider, New};
use crate::model::Value;
use crate::model::{Kind, Ports, Protocol, SgRule};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, sent};

/// A security group as observed: VPC, name, description and rules.
pub(super) fn observe(group: &SecurityGroup) -> Option<Live> {
    let group_id = group.group_id()?;
    let mut props = text_props([
        ("vpc_id", group.vpc_id()),
        ("group_name", group.group_name()),
        ("description", group.description()),
    ]);
    props.extend(rule_props(group, ""));
    let outputs = text_outputs([("arn", group.security_group_arn())]);
    Some(
        Live::new(Kind::SecurityGroup, group_id, "")
            .props(props)
            .outputs(outputs),
    )
}

/// A security group's rules as the attributes `{prefix}ingress` and `{prefix}egress`.
pub(super) fn rule_props(group: &SecurityGroup, prefix: &str) -> [(String, Value); 2] {
    [false, true].map(|egress| {
        let rules = rules(permissions(group, egress));
        (direction_name(prefix, egress), sorted_strings(rules))
    })
}

/// A security group's permissions of one direction.
pub(super) fn permissions(group: &SecurityGroup, egress: bool) -> &[IpPermission] {
    if egress {
        group.ip_permissions_egress()
    } else {
        group.ip_permissions()
    }
}

/// Security group rules as `"{protocol} {ports} {peer}"`, one per peer.
pub(super) fn rules(permissions: &[IpPermission]) -> Vec<String> {
    let mut rules = Vec::new();
    for permission in permissions {
        let protocol = Protocol::from_aws(permission.ip_protocol());
        let ports = Ports::from_aws(&protocol, permission.from_port(), permission.to_port());
        let peers = permission
            .ip_ranges()
            .iter()
            .filter_map(IpRange::cidr_ip)
            .chain(
                permission
                    .ipv6_ranges()
                    .iter()
                    .filter_map(Ipv6Range::cidr_ipv6),
            )
            .chain(
                permission
                    .prefix_list_ids()
                    .iter()
                    .filter_map(PrefixListId::prefix_list_id),
            )
            .chain(
                permission
                    .user_id_group_pairs()
                    .iter()
                    .filter_map(UserIdGroupPair::group_id),
            );
        rules.extend(peers.map(|peer| SgRule::new(protocol.clone(), ports, peer).to_string()));
    }
    rules
}

/// A rule as the permission to authorize or revoke.
pub(super) fn permission(rule: &SgRule) -> IpPermission {
    let peer = rule.peer.as_str();
    let mut builder = IpPermission::builder().ip_protocol(rule.protocol.permission());
    if let Some((from, to)) = rule.ports.bounds() {
        builder = builder.from_port(from).to_port(to);
    }
    builder = if peer.starts_with("sg-") {
        builder.user_id_group_pairs(UserIdGroupPair::builder().group_id(peer).build())
    } else if peer.starts_with("pl-") {
        builder.prefix_list_ids(PrefixListId::builder().prefix_list_id(peer).build())
    } else if peer.contains(':') {
        builder.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(peer).build())
    } else {
        builder.ip_ranges(IpRange::builder().cidr_ip(peer).build())
    };
    builder.build()
}

impl Ec2Provider {
    /// Moves a security group's rules of one direction from live to desired: revoke the extra
    /// ones, authorize the missing ones.
    pub(super) async fn apply_rules(&self, direction: &Direction<'_>) -> Result<(), ProviderError> {
        let (group_id, egress) = (direction.id, direction.egress);
        let (live, desired) = (&direction.live, &direction.desired);
        let to_permissions = |items: Vec<String>| -> Result<Vec<IpPermission>, ProviderError> {
            Ok(parse_all::<SgRule>(direction.resource, &items)?
                .iter()
                .map(permission)
                .collect())
        };
        let extra = live.iter().filter(|rule| !desired.contains(rule));
        let missing = desired.iter().filter(|rule| !live.contains(rule));
        let revoke = to_permissions(extra.cloned().collect())?;
        let authorize = to_permissions(missing.cloned().collect())?;
        let ec2 = &self.client;
        if !revoke.is_empty() {
            let revoke = Some(revoke);
            let result = if egress {
                let call = ec2.revoke_security_group_egress().group_id(group_id);
                let call = call.set_ip_permissions(revoke).send();
                sent("ec2:RevokeSecurityGroupEgress", group_id, call)
                    .await
                    .map(drop)
            } else {
                let call = ec2.revoke_security_group_ingress().group_id(group_id);
                let call = call.set_ip_permissions(revoke).send();
                sent("ec2:RevokeSecurityGroupIngress", group_id, call)
                    .await
                    .map(drop)
            };
            match result {
                Err(error) if error.code.as_deref() != Some("InvalidPermission.NotFound") => {
                    return Err(error);
                }
                _ => {}
            }
        }
        if !authorize.is_empty() {
            let authorize = Some(authorize);
            let result = if egress {
                let call = ec2.authorize_security_group_egress().group_id(group_id);
                let call = call.set_ip_permissions(authorize).send();
                sent("ec2:AuthorizeSecurityGroupEgress", group_id, call)
                    .await
                    .map(drop)
            } else {
                let call = ec2.authorize_security_group_ingress().group_id(group_id);
                let call = call.set_ip_permissions(authorize).send();
                sent("ec2:AuthorizeSecurityGroupIngress", group_id, call)
                    .await
                    .map(drop)
            };
            match result {
                Err(error) if error.code.as_deref() != Some("InvalidPermission.Duplicate") => {
                    return Err(error);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// CreateSecurityGroup (no client token: looked up by tag on a retry).
    pub(super) async fn create_security_group(&self, new: &mut New<'_>) -> Created {
        let [vpc_id, group_name, description] =
            new.texts(["vpc_id", "group_name", "description"])?;
        let call = self
            .creates
            .create_security_group()
            .vpc_id(vpc_id)
            .group_name(group_name)
            .description(description)
            .tag_specifications(new.tags(ResourceType::SecurityGroup));
        let created = sent("ec2:CreateSecurityGroup", new.name(), call.send()).await?;
        if let Some(arn) = created.security_group_arn() {
            new.outputs.insert("arn".into(), arn.to_string());
        }
        // A new group allows all egress; the desired rules replace that.
        new.props.insert("ingress".into(), Value::List(Vec::new()));
        new.props
            .insert("egress".into(), strings(["all all 0.0.0.0/0"]));
        Ok(created.group_id().unwrap_or_default().to_string())
    }
}
