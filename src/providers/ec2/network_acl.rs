//! Network ACLs and their entries (the typed [`AclEntry`] of `model::network`).

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{NetworkAcl, PortRange, ResourceType, RuleAction};

use super::props::{Direction, direction_name, parse_all, strings, text_props};
use super::snapshot::in_vpc;
use super::waits::{done_if_gone, sent_unless_gone};
use super::{Created, Ec2Provider, New};
use crate::model::{AclAction, AclEntry, Kind, Ports, Protocol};
use crate::model::{Observed, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, sent};

/// A network ACL's catch-all rule number (IPv4; IPv6 is one more): AWS's own, never ours.
pub(super) const DEFAULT_ACL_RULE: i32 = 32767;
/// EC2's answer to CreateNetworkAclEntry when the rule number is taken in that direction.
pub(super) const ACL_ENTRY_EXISTS: &str = "NetworkAclEntryAlreadyExists";

/// A network ACL of ours as observed (not a VPC's default one): its VPC and entries.
pub(super) fn observe(acl: &NetworkAcl) -> Option<Live> {
    if acl.is_default() == Some(true) {
        return None;
    }
    let acl_id = acl.network_acl_id()?;
    let mut props = text_props([("vpc_id", acl.vpc_id())]);
    props.extend(entry_props(acl, ""));
    Some(Live::new(Kind::NetworkAcl, acl_id, "").props(props))
}

/// A network ACL's entries as the attributes `{prefix}ingress` and `{prefix}egress`.
pub(super) fn entry_props(acl: &NetworkAcl, prefix: &str) -> [(String, Value); 2] {
    [false, true].map(|egress| {
        (
            direction_name(prefix, egress),
            strings(acl_entries(acl, egress)),
        )
    })
}

/// Network ACL entries of one direction as `"{rule} {action} {protocol} {ports} {cidr}"`, in
/// rule order, without AWS's catch-all deny.
pub(super) fn acl_entries(acl: &NetworkAcl, egress: bool) -> Vec<String> {
    let mut entries: Vec<(i32, String)> = acl
        .entries()
        .iter()
        .filter(|entry| entry.egress() == Some(egress))
        .filter_map(|entry| {
            let rule = entry.rule_number()?;
            if rule >= DEFAULT_ACL_RULE {
                return None;
            }
            let protocol = Protocol::from_aws(entry.protocol());
            let range = entry.port_range();
            let ports = Ports::from_aws(
                &protocol,
                range.and_then(PortRange::from),
                range.and_then(PortRange::to),
            );
            let action = match entry.rule_action() {
                Some(RuleAction::Allow) => AclAction::Allow,
                _ => AclAction::Deny,
            };
            let cidr = entry
                .cidr_block()
                .or(entry.ipv6_cidr_block())
                .unwrap_or_default();
            let entry = AclEntry {
                rule,
                action,
                protocol,
                ports,
                cidr: cidr.to_string(),
            };
            Some((rule, entry.to_string()))
        })
        .collect();
    entries.sort();
    entries.into_iter().map(|(_, entry)| entry).collect()
}

/// Sets an entry's ACL, direction, rule number, protocol, action, ports and CIDR on a
/// CreateNetworkAclEntry or ReplaceNetworkAclEntry request (the two SDK builders share these
/// setters but no trait).
macro_rules! with_entry {
    ($call:expr, $acl_id:expr, $egress:expr, $entry:expr) => {{
        let entry: &AclEntry = $entry;
        let action = if entry.allows() {
            RuleAction::Allow
        } else {
            RuleAction::Deny
        };
        let range = entry
            .ports
            .bounds()
            .map(|(from, to)| PortRange::builder().from(from).to(to).build());
        let call = $call
            .network_acl_id($acl_id)
            .rule_number(entry.rule)
            .egress($egress)
            .protocol(entry.protocol.number())
            .rule_action(action)
            .set_port_range(range);
        if entry.cidr.contains(':') {
            call.ipv6_cidr_block(&entry.cidr)
        } else {
            call.cidr_block(&entry.cidr)
        }
    }};
}

impl Ec2Provider {
    /// Moves a network ACL's entries of one direction from live to desired, by rule number:
    /// replace what differs, create what is missing, delete what is extra.
    pub(super) async fn apply_entries(
        &self,
        direction: &Direction<'_>,
    ) -> Result<(), ProviderError> {
        let (acl_id, egress) = (direction.id, direction.egress);
        let by_rule = |entries: Vec<AclEntry>| -> BTreeMap<i32, AclEntry> {
            entries
                .into_iter()
                .map(|entry| (entry.rule, entry))
                .collect()
        };
        let live = by_rule(parse_all(direction.resource, &direction.live)?);
        let desired = by_rule(parse_all(direction.resource, &direction.desired)?);
        for rule in live.keys().filter(|rule| !desired.contains_key(rule)) {
            let call = self
                .client
                .delete_network_acl_entry()
                .network_acl_id(acl_id)
                .rule_number(*rule)
                .egress(egress);
            done_if_gone(sent("ec2:DeleteNetworkAclEntry", acl_id, call.send()).await)?;
        }
        for (rule, entry) in &desired {
            match live.get(rule) {
                Some(existing) if existing == entry => {}
                Some(_) => self.put_acl_entry(acl_id, egress, entry, true).await?,
                None => self.put_acl_entry(acl_id, egress, entry, false).await?,
            }
        }
        Ok(())
    }

    /// Creates one network ACL entry (or, with `replace`, replaces the entry of that rule
    /// number). A create answered `NetworkAclEntryAlreadyExists` — an earlier create whose
    /// answer was lost and that the SDK retried, or an entry made since the observation —
    /// becomes ReplaceNetworkAclEntry, which "replaces an entry (rule) in a network ACL"
    /// (Amazon EC2 API Reference): the rule number then holds exactly the entry wanted.
    pub(super) async fn put_acl_entry(
        &self,
        acl_id: &str,
        egress: bool,
        entry: &AclEntry,
        replace: bool,
    ) -> Result<(), ProviderError> {
        if !replace {
            let call = with_entry!(
                self.client.create_network_acl_entry(),
                acl_id,
                egress,
                entry
            );
            match sent("ec2:CreateNetworkAclEntry", acl_id, call.send()).await {
                Err(error) if error.code.as_deref() == Some(ACL_ENTRY_EXISTS) => {
                    tracing::debug!(acl_id, rule = entry.rule, "entry exists; replacing it");
                }
                other => return other.map(|_| ()),
            }
        }
        let call = with_entry!(
            self.client.replace_network_acl_entry(),
            acl_id,
            egress,
            entry
        );
        sent("ec2:ReplaceNetworkAclEntry", acl_id, call.send()).await?;
        Ok(())
    }

    /// Moves whatever subnets still use a network ACL about to be deleted to the VPC's default
    /// network ACL, as AWS refuses to delete it otherwise (see [`Self::release_route_table`]).
    pub(super) async fn release_network_acl(
        &self,
        observed: &Observed,
    ) -> Result<(), ProviderError> {
        let acl_id = observed.physical_id.as_str();
        let call = self.client.describe_network_acls().network_acl_ids(acl_id);
        let Some(acls) = sent_unless_gone("ec2:DescribeNetworkAcls", acl_id, call.send()).await?
        else {
            return Ok(());
        };
        let Some(acl) = acls.network_acls().first() else {
            return Ok(());
        };
        if acl.associations().is_empty() {
            return Ok(());
        }
        let vpc_id = acl.vpc_id().unwrap_or_default();
        let defaults = self.acls(in_vpc(vpc_id, "default", "true")).await?;
        let Some(default_id) = defaults.first().and_then(NetworkAcl::network_acl_id) else {
            return Ok(());
        };
        for association in acl.associations() {
            let Some(association_id) = association.network_acl_association_id() else {
                continue;
            };
            let call = self
                .client
                .replace_network_acl_association()
                .association_id(association_id)
                .network_acl_id(default_id);
            done_if_gone(sent("ec2:ReplaceNetworkAclAssociation", acl_id, call.send()).await)?;
        }
        Ok(())
    }

    /// CreateNetworkAcl with a client token.
    pub(super) async fn create_network_acl(&self, new: &mut New<'_>) -> Created {
        let call = self
            .creates
            .create_network_acl()
            .vpc_id(new.text("vpc_id")?)
            .client_token(new.token(0))
            .tag_specifications(new.tags(ResourceType::NetworkAcl));
        let created = sent("ec2:CreateNetworkAcl", new.name(), call.send()).await?;
        let acl = created.network_acl();
        if let Some(acl) = acl {
            new.props.extend(entry_props(acl, ""));
        }
        Ok(acl
            .and_then(NetworkAcl::network_acl_id)
            .unwrap_or_default()
            .to_string())
    }
}
