//! Route tables and their routes (the typed [`Route`] of `model::network`).

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{ResourceType, RouteTable};

use super::props::{list_of, list_prop, parse_all, sorted_strings, text_props};
use super::waits::{done_if_gone, is_gone, sent_unless_gone};
use super::{Created, Ec2Provider, New};
use crate::model::{Kind, Route};
use crate::model::{Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, sent};

/// EC2's answer to CreateRoute when the table already has a route to that destination.
pub(super) const ROUTE_EXISTS: &str = "RouteAlreadyExists";

/// A route table as observed: its VPC and routes.
pub(super) fn observe(table: &RouteTable) -> Option<Live> {
    let table_id = table.route_table_id()?;
    let mut props = text_props([("vpc_id", table.vpc_id())]);
    props.insert("routes".into(), sorted_strings(routes(table)));
    Some(Live::new(Kind::RouteTable, table_id, "").props(props))
}

/// Routes as `"{destination} -> {target}"`, without the VPC's local route and the routes
/// gateway endpoints install (those are the endpoint's `route_table_ids`).
pub(super) fn routes(table: &RouteTable) -> Vec<String> {
    table
        .routes()
        .iter()
        .filter_map(|route| {
            let target = route
                .gateway_id()
                .or(route.nat_gateway_id())
                .or(route.transit_gateway_id())
                .or(route.vpc_peering_connection_id())
                .or(route.egress_only_internet_gateway_id())
                .or(route.carrier_gateway_id())
                .or(route.local_gateway_id())
                .or(route.instance_id())
                .or(route.network_interface_id())
                .or(route.core_network_arn())?;
            if target == "local" || target.starts_with("vpce-") {
                return None;
            }
            let destination = route
                .destination_cidr_block()
                .or(route.destination_ipv6_cidr_block())
                .or(route.destination_prefix_list_id())?;
            Some(Route::new(destination, target).to_string())
        })
        .collect()
}

/// How a route's destination is named.
pub(super) enum Destination {
    Ipv4,
    Ipv6,
    PrefixList,
}

pub(super) fn destination_kind(destination: &str) -> Destination {
    if destination.starts_with("pl-") {
        Destination::PrefixList
    } else if destination.contains(':') {
        Destination::Ipv6
    } else {
        Destination::Ipv4
    }
}

/// Which route parameter a target id goes in.
pub(super) enum Target {
    Gateway,
    Nat,
    Interface,
    Peering,
    Transit,
    EgressOnly,
    Instance,
}

pub(super) fn target_kind(target: &str) -> Target {
    match target.split('-').next() {
        Some("nat") => Target::Nat,
        Some("eni") => Target::Interface,
        Some("pcx") => Target::Peering,
        Some("tgw") => Target::Transit,
        Some("eigw") => Target::EgressOnly,
        Some("i") => Target::Instance,
        _ => Target::Gateway,
    }
}

/// Sets a route's destination on a CreateRoute, ReplaceRoute or DeleteRoute request, by how
/// the destination is named (the three SDK builders share these setters but no trait).
macro_rules! with_destination {
    ($call:expr, $destination:expr) => {
        match destination_kind($destination) {
            Destination::PrefixList => $call.destination_prefix_list_id($destination),
            Destination::Ipv6 => $call.destination_ipv6_cidr_block($destination),
            Destination::Ipv4 => $call.destination_cidr_block($destination),
        }
    };
}

/// Sets a route's target on a CreateRoute or ReplaceRoute request, by the target id's kind.
macro_rules! with_target {
    ($call:expr, $target:expr) => {
        match target_kind($target) {
            Target::Nat => $call.nat_gateway_id($target),
            Target::Interface => $call.network_interface_id($target),
            Target::Peering => $call.vpc_peering_connection_id($target),
            Target::Transit => $call.transit_gateway_id($target),
            Target::EgressOnly => $call.egress_only_internet_gateway_id($target),
            Target::Instance => $call.instance_id($target),
            Target::Gateway => $call.gateway_id($target),
        }
    };
}

impl Ec2Provider {
    /// Moves the table's routes to the desired ones (called when they differ).
    pub(super) async fn converge_routes(
        &self,
        resource: &Resource,
        table_id: &str,
        current: &Props,
    ) -> Result<(), ProviderError> {
        let by_destination = |routes: Vec<Route>| -> BTreeMap<String, String> {
            routes
                .into_iter()
                .map(|route| (route.destination, route.target))
                .collect()
        };
        let desired = by_destination(parse_all(resource, &list_prop(resource, "routes"))?);
        let live = by_destination(parse_all(resource, &list_of(current.get("routes")))?);
        for (destination, target) in &live {
            if !desired.contains_key(destination) {
                let call = self.client.delete_route().route_table_id(table_id);
                let call = with_destination!(call, destination);
                match sent("ec2:DeleteRoute", table_id, call.send()).await {
                    Err(error) if !is_gone(&error) => return Err(error),
                    _ => tracing::debug!(table_id, destination, target, "route deleted"),
                }
            }
        }
        for (destination, target) in &desired {
            match live.get(destination) {
                Some(live_target) if live_target == target => {}
                Some(_) => self.put_route(table_id, destination, target, true).await?,
                None => self.put_route(table_id, destination, target, false).await?,
            }
        }
        Ok(())
    }

    /// Creates the route `destination -> target` (or, with `replace`, points the existing
    /// route at `target`). A create answered `RouteAlreadyExists` — an earlier create whose
    /// answer was lost and that the SDK retried, or a route made since the observation —
    /// becomes ReplaceRoute, which "replaces an existing route within a route table" (Amazon
    /// EC2 API Reference, ReplaceRoute): the table then has exactly the route wanted.
    pub(super) async fn put_route(
        &self,
        table_id: &str,
        destination: &str,
        target: &str,
        replace: bool,
    ) -> Result<(), ProviderError> {
        if !replace {
            let call = self.client.create_route().route_table_id(table_id);
            let call = with_target!(with_destination!(call, destination), target);
            match sent("ec2:CreateRoute", table_id, call.send()).await {
                Err(error) if error.code.as_deref() == Some(ROUTE_EXISTS) => {
                    tracing::debug!(table_id, destination, "route exists; replacing it");
                }
                other => return other.map(|_| ()),
            }
        }
        let call = self.client.replace_route().route_table_id(table_id);
        let call = with_target!(with_destination!(call, destination), target);
        sent("ec2:ReplaceRoute", table_id, call.send()).await?;
        Ok(())
    }

    /// Disassociates whatever subnets still use a route table about to be deleted (they fall
    /// back to the VPC's main route table), as AWS refuses to delete it otherwise. Our own
    /// subnets have moved or gone by then; this catches foreign ones, and associations
    /// LocalStack keeps after their subnet was deleted.
    pub(super) async fn release_route_table(&self, table_id: &str) -> Result<(), ProviderError> {
        let call = self
            .client
            .describe_route_tables()
            .route_table_ids(table_id);
        let Some(tables) =
            sent_unless_gone("ec2:DescribeRouteTables", table_id, call.send()).await?
        else {
            return Ok(());
        };
        for association in tables
            .route_tables()
            .iter()
            .flat_map(RouteTable::associations)
            .filter(|association| association.main() != Some(true))
        {
            let Some(association_id) = association.route_table_association_id() else {
                continue;
            };
            let call = self
                .client
                .disassociate_route_table()
                .association_id(association_id);
            done_if_gone(sent("ec2:DisassociateRouteTable", table_id, call.send()).await)?;
        }
        Ok(())
    }

    /// CreateRouteTable with a client token.
    pub(super) async fn create_route_table(&self, new: &mut New<'_>) -> Created {
        let call = self
            .creates
            .create_route_table()
            .vpc_id(new.text("vpc_id")?)
            .client_token(new.token(0))
            .tag_specifications(new.tags(ResourceType::RouteTable));
        let created = sent("ec2:CreateRouteTable", new.name(), call.send()).await?;
        new.props.insert("routes".into(), Value::List(Vec::new()));
        Ok(created
            .route_table()
            .and_then(RouteTable::route_table_id)
            .unwrap_or_default()
            .to_string())
    }
}
