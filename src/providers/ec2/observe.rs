//! From the snapshot to the observation: each kind's pure observe, then the toolkit's one
//! match and orphan rule ([`Sorter`]).
//!
//! EC2 resources are matched by their `nc:id` tag only (never by name: an untagged resource,
//! LocalStack's default VPC among them, is never matched). A second live resource with the
//! same id is a duplicate an earlier run left: an orphan, named `{id}~{physical id}` so that
//! every id in the plan stays distinct.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::Tag;

use super::props::strings;
use super::snapshot::Snapshot;
use super::tags::{tag, tag_map};
use super::{
    elastic_ip, flow_log, internet_gateway, nat_gateway, network_acl, route_table, security_group,
    subnet, vpc, vpc_endpoint,
};
use crate::model::{LogicalId, Observation, Resource, TAG_ID, Value};
use crate::providers::aws::{Live, Sorter};

/// Physical id → logical id of every tagged subnet, route table and security group, to order
/// lists of references.
pub(super) struct Names(BTreeMap<String, String>);

impl Names {
    fn new(snapshot: &Snapshot) -> Names {
        let mut names = BTreeMap::new();
        let mut name = |physical: Option<&str>, tags: &[Tag]| {
            if let (Some(physical), Some(logical)) = (physical, tag(tags, TAG_ID)) {
                names.insert(physical.to_string(), logical.to_string());
            }
        };
        snapshot
            .subnets
            .iter()
            .for_each(|subnet| name(subnet.subnet_id(), subnet.tags()));
        snapshot
            .tables
            .iter()
            .for_each(|table| name(table.route_table_id(), table.tags()));
        snapshot
            .groups
            .iter()
            .for_each(|group| name(group.group_id(), group.tags()));
        Names(names)
    }

    /// Ids ordered as the expander orders references: by the referenced logical id, then
    /// resources that are not ours by their physical id.
    pub(super) fn ordered(&self, ids: &[String]) -> Value {
        let mut keyed: Vec<(Option<&String>, &String)> =
            ids.iter().map(|id| (self.0.get(id), id)).collect();
        keyed.sort_by(|left, right| {
            (left.0.is_none(), left.0, left.1).cmp(&(right.0.is_none(), right.0, right.1))
        });
        strings(keyed.into_iter().map(|(_, id)| id.clone()))
    }
}

/// A kind's observation with its tags and its `id` output.
fn tagged(live: Option<Live>, tags: &[Tag]) -> Option<Live> {
    let mut live = live?.tags(tag_map(tags));
    live.outputs.insert("id".into(), live.physical_id.clone());
    Some(live)
}

/// Normalises everything read into the property model of `modules::vpc`.
pub(super) fn assemble(
    snapshot: &Snapshot,
    desired: &[&Resource],
    env: &str,
    region: &str,
) -> Observation {
    let names = Names::new(snapshot);
    let mut sorter = Sorter::new(desired, env);
    let mut add = |live: Option<Live>, tags: &[Tag]| {
        if let Some(live) = tagged(live, tags) {
            sorter.add(live);
        }
    };
    for vpc in &snapshot.vpcs {
        let vpc_id = vpc.vpc_id();
        let default_group = snapshot
            .groups
            .iter()
            .find(|group| group.vpc_id() == vpc_id && group.group_name() == Some("default"));
        let default_acl = snapshot
            .acls
            .iter()
            .find(|acl| acl.vpc_id() == vpc_id && acl.is_default() == Some(true));
        let dns = vpc_id.and_then(|vpc_id| snapshot.dns.get(vpc_id).copied());
        add(
            vpc::observe(vpc, dns, default_group, default_acl, region),
            vpc.tags(),
        );
    }
    for item in &snapshot.subnets {
        add(
            subnet::observe(item, &snapshot.tables, &snapshot.acls),
            item.tags(),
        );
    }
    for gateway in &snapshot.gateways {
        add(internet_gateway::observe(gateway), gateway.tags());
    }
    for address in &snapshot.addresses {
        add(elastic_ip::observe(address), address.tags());
    }
    for nat in &snapshot.nats {
        add(nat_gateway::observe(nat), nat.tags());
    }
    for table in &snapshot.tables {
        add(route_table::observe(table), table.tags());
    }
    for acl in &snapshot.acls {
        add(network_acl::observe(acl), acl.tags());
    }
    for group in &snapshot.groups {
        add(security_group::observe(group), group.tags());
    }
    for endpoint in &snapshot.endpoints {
        add(vpc_endpoint::observe(endpoint, &names), endpoint.tags());
    }
    for item in &snapshot.flow_logs {
        add(flow_log::observe(item), item.tags());
    }
    distinct_orphans(sorter.finish())
}

/// Renames an orphan whose id is already taken — by the resource matched to it, or by an
/// earlier orphan — to `{id}~{physical id}`.
fn distinct_orphans(mut observation: Observation) -> Observation {
    let mut seen = BTreeSet::new();
    for orphan in &mut observation.orphans {
        let wanted = observation
            .found
            .get(&orphan.id)
            .is_some_and(|found| found.kind == orphan.kind);
        if wanted || seen.contains(&orphan.id) {
            orphan.id = LogicalId::new(format!("{}~{}", orphan.id.as_str(), orphan.physical_id));
        }
        seen.insert(orphan.id.clone());
    }
    observation
}
