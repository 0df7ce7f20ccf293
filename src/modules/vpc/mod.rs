//! The vpc module: a three-tier network per environment.
//!
//! Per availability zone three subnets — public, private-app, private-data — each a /19 laid
//! out in AZ order (AZ-a 10.X.0.0/19 public, 10.X.32.0/19 app, 10.X.64.0/19 data; AZ-b from
//! 10.X.96.0/19 on); an internet gateway; NAT gateways with their elastic IPs (one per AZ, one
//! in all with `single_nat_gateway`, none when NAT is off); route tables (public → internet
//! gateway, each app subnet → its AZ's NAT, data → no route out at all, only the gateway
//! endpoints' prefix lists); S3 and DynamoDB gateway endpoints on the private route tables and
//! KMS, Secrets Manager, STS, CloudWatch Logs and monitoring interface endpoints in the app
//! subnets, with private DNS, a security group admitting 443 from the VPC only and a policy
//! admitting only the account's principals; network ACLs per tier that deny by default; the
//! VPC's default security group and default network ACL stripped of every rule (CIS 5.4);
//! and flow logs to `/aws/vpc/flow-logs/{vpc-id}` (retention from the spec, the logs key)
//! through a role that trusts the flow-log service and may write only to that group.
//!
//! Decisions written down here:
//! - **Availability zones** come from the target ([`Target::availability_zones`]): the engine
//!   resolves them with one DescribeAvailabilityZones before expanding, so this expander stays
//!   a pure function of spec and target. Logical ids use the zone's letter (`app-a` lives in
//!   `us-east-1a`, `app-d` in `ca-central-1d`); CIDRs use the zone's position in the list.
//! - **Sub-resources are attributes of their parent**: routes of their route table, rules of
//!   their security group or network ACL, a subnet's route-table and network-ACL associations
//!   of the subnet (`route_table_id`, `network_acl_id`), the default security group's and
//!   default network ACL's rules of the VPC. Routes a gateway endpoint installs belong to the
//!   endpoint (`route_table_ids`), not to the route table.
//! - **Rules and routes are short strings** so that the plan shows them readably and a drift
//!   names the rule: a route `"0.0.0.0/0 -> nat-0abc"`, a security group rule
//!   `"tcp 443 10.1.0.0/16"` (protocol, ports, peer), a network ACL entry
//!   `"100 deny tcp 22 0.0.0.0/0"` (rule number, action, protocol, ports, CIDR). The module
//!   builds them as the typed [`Route`], [`SgRule`] and [`AclEntry`] of `model::network` and
//!   writes them with `Display`; the EC2 provider reads them back with `FromStr`.
//! - **Lists of references** (an endpoint's subnets, route tables, security groups) are in the
//!   order of the referenced logical ids; the provider orders what it observes the same way.
//! - **Network ACLs, per tier**, deny everything but HTTPS and its return traffic. Every ACL
//!   first denies 22 and 3389 from anywhere (CIS 5.1: the ephemeral range 1024–65535, which
//!   return traffic needs from anywhere, contains 3389). Public: 443 in from anywhere (load
//!   balancers; the app tier's traffic to its NAT), ephemeral in from anywhere; 443 and
//!   ephemeral out. App: 443 in from the VPC, ephemeral in from anywhere (NAT and endpoint
//!   replies); 443 out anywhere, ephemeral out to the VPC. Data: the same as app — its 443 out
//!   reaches only the endpoints, since its route tables have no route out.
//! - **Tags**: every resource carries the required tags, `Name` and `env`; the tier's
//!   resources (subnets, their route tables and network ACLs, the gateway, NAT gateways and
//!   their elastic IPs) also carry `tier` = public | app | data.

mod endpoints;
mod flow_logs;
mod layout;
#[cfg(test)]
mod tests;

use super::{Context, id};
use crate::model::{AclAction, AclEntry, Kind, LogicalId, Ports, Protocol, Resource, Route, Value};

pub use layout::{
    TIER_PREFIX, Tier, Zone, endpoint_id, nat_eip_id, nat_id, network_acl_id, route_table_id,
    subnet_cidr, subnet_id, tier_prefix, zones,
};

/// Logical id of the VPC.
pub const VPC: &str = "vpc.main";
/// Logical id of the internet gateway.
pub const INTERNET_GATEWAY: &str = "vpc.igw";
/// Logical id of the public route table (shared by every public subnet).
pub const PUBLIC_ROUTE_TABLE: &str = "vpc.rt.public";
/// Logical id of the interface endpoints' security group.
pub const ENDPOINTS_SECURITY_GROUP: &str = "vpc.sg.endpoints";
/// Logical id of the VPC's flow log.
pub const FLOW_LOG: &str = "vpc.flow_logs";
/// Logical id of the flow log's CloudWatch Logs group (`/aws/vpc/flow-logs/{vpc-id}`).
pub const FLOW_LOG_GROUP: &str = "vpc.flow_logs.group";
/// Logical id of the IAM role the flow log delivers through.
pub const FLOW_LOG_ROLE: &str = "vpc.flow_logs.role";
/// Logical id of the DR region's flow-log role (made by the primary region's apply).
pub const FLOW_LOG_ROLE_DR: &str = "vpc.flow_logs.role.dr";
/// Everything.
const ANYWHERE: &str = "0.0.0.0/0";
/// The ephemeral port range return traffic uses.
const EPHEMERAL: Ports = Ports::Range(1024, 65535);

pub(super) fn expand(context: &Context<'_>) -> Vec<Resource> {
    let spec = &context.spec.vpc;
    let zones = zones(context);
    let mut resources = vec![vpc(context), internet_gateway(context)];

    // NAT gateways: one per zone, one in the first zone, or none.
    let nat_zones: Vec<&Zone> = match (spec.enable_nat_gateway, spec.single_nat_gateway) {
        (false, _) => Vec::new(),
        (true, true) => zones.iter().take(1).collect(),
        (true, false) => zones.iter().collect(),
    };
    for zone in &nat_zones {
        resources.push(nat_eip(context, zone));
        resources.push(nat_gateway(context, zone));
    }
    let nat_for = |zone: &Zone| -> Option<LogicalId> {
        nat_zones
            .iter()
            .find(|nat_zone| nat_zone.index == zone.index)
            .or_else(|| nat_zones.first())
            .map(|nat_zone| nat_id(&nat_zone.letter))
    };

    // Route tables: one public, one per zone for app and for data.
    resources.push(
        route_table(context, &id(PUBLIC_ROUTE_TABLE), Tier::Public).prop(
            "routes",
            Value::List(vec![Route::to_value(
                ANYWHERE,
                Value::reference(&id(INTERNET_GATEWAY), "id"),
            )]),
        ),
    );
    for zone in &zones {
        let routes = nat_for(zone)
            .map(|nat| vec![Route::to_value(ANYWHERE, Value::reference(&nat, "id"))])
            .unwrap_or_default();
        resources.push(
            route_table(context, &route_table_id(Tier::App, &zone.letter), Tier::App)
                .prop("routes", Value::List(routes))
                .from_spec("routes", "vpc.enable_nat_gateway")
                .from_spec("routes", "vpc.single_nat_gateway")
                .declared_by("vpc.az_count"),
        );
        resources.push(
            route_table(
                context,
                &route_table_id(Tier::Data, &zone.letter),
                Tier::Data,
            )
            .prop("routes", Value::List(Vec::new()))
            .declared_by("vpc.az_count"),
        );
    }

    for tier in Tier::ALL {
        resources.push(network_acl(context, tier));
    }
    for zone in &zones {
        for tier in Tier::ALL {
            resources.push(subnet(context, zone, tier));
        }
    }

    if spec.enable_vpc_endpoints {
        resources.extend(
            endpoints::endpoints(context, &zones)
                .into_iter()
                .map(|endpoint| endpoint.declared_by("vpc.enable_vpc_endpoints")),
        );
    }
    if spec.enable_flow_logs {
        resources.extend(
            flow_logs::flow_logs(context)
                .into_iter()
                .map(|flow_log| flow_log.declared_by("vpc.enable_flow_logs")),
        );
    }
    resources
}

/// The VPC: CIDR, DNS support and hostnames, and the default security group's and network
/// ACL's rules, all empty.
fn vpc(context: &Context<'_>) -> Resource {
    let vpc_id = id(VPC);
    Resource::new(VPC, Kind::Vpc, format!("nc-{}-vpc", context.env()))
        .prop("cidr", context.spec.vpc.cidr.to_string())
        .from_spec("cidr", "vpc.cidr")
        .prop("enable_dns_support", true)
        .prop("enable_dns_hostnames", true)
        .prop("default_security_group_ingress", Value::List(Vec::new()))
        .prop("default_security_group_egress", Value::List(Vec::new()))
        .prop("default_network_acl_ingress", Value::List(Vec::new()))
        .prop("default_network_acl_egress", Value::List(Vec::new()))
        .prop(
            "tags",
            tags(context, &vpc_id, &format!("nc-{}-vpc", context.env()), None),
        )
        .replace_on(&["cidr"])
}

fn internet_gateway(context: &Context<'_>) -> Resource {
    let gateway_id = id(INTERNET_GATEWAY);
    Resource::new(
        INTERNET_GATEWAY,
        Kind::InternetGateway,
        format!("nc-{}-igw", context.env()),
    )
    .prop("vpc_id", Value::reference(&id(VPC), "id"))
    .prop(
        "tags",
        tags(
            context,
            &gateway_id,
            &format!("nc-{}-igw", context.env()),
            Some(Tier::Public),
        ),
    )
}

fn nat_eip(context: &Context<'_>, zone: &Zone) -> Resource {
    let eip_id = nat_eip_id(&zone.letter);
    let name = format!("nc-{}-nat-{}", context.env(), zone.letter);
    Resource::new(eip_id.as_str(), Kind::ElasticIp, name.clone())
        .prop("domain", "vpc")
        .prop("tags", tags(context, &eip_id, &name, Some(Tier::Public)))
        .declared_by("vpc.enable_nat_gateway")
        .declared_by("vpc.single_nat_gateway")
}

fn nat_gateway(context: &Context<'_>, zone: &Zone) -> Resource {
    let gateway_id = nat_id(&zone.letter);
    let name = format!("nc-{}-nat-{}", context.env(), zone.letter);
    Resource::new(gateway_id.as_str(), Kind::NatGateway, name.clone())
        .prop(
            "subnet_id",
            Value::reference(&subnet_id(Tier::Public, &zone.letter), "id"),
        )
        .prop(
            "allocation_id",
            Value::reference(&nat_eip_id(&zone.letter), "allocation_id"),
        )
        .prop(
            "tags",
            tags(context, &gateway_id, &name, Some(Tier::Public)),
        )
        .replace_on(&["subnet_id", "allocation_id"])
        // A public NAT gateway only forwards once the VPC has its internet gateway.
        .after(&id(INTERNET_GATEWAY))
        .declared_by("vpc.enable_nat_gateway")
        .declared_by("vpc.single_nat_gateway")
}

fn route_table(context: &Context<'_>, table_id: &LogicalId, tier: Tier) -> Resource {
    let name = format!(
        "nc-{}-{}",
        context.env(),
        table_id
            .as_str()
            .trim_start_matches("vpc.")
            .replace('.', "-")
    );
    Resource::new(table_id.as_str(), Kind::RouteTable, name.clone())
        .prop("vpc_id", Value::reference(&id(VPC), "id"))
        .prop("tags", tags(context, table_id, &name, Some(tier)))
        .replace_on(&["vpc_id"])
}

fn network_acl(context: &Context<'_>, tier: Tier) -> Resource {
    let acl_id = network_acl_id(tier);
    let name = format!("nc-{}-{}", context.env(), tier.as_str());
    let vpc_cidr = context.spec.vpc.cidr.to_string();
    let (ingress, egress) = network_acl_entries(tier, &vpc_cidr);
    Resource::new(acl_id.as_str(), Kind::NetworkAcl, name.clone())
        .prop("vpc_id", Value::reference(&id(VPC), "id"))
        .prop("ingress", strings(&ingress))
        .prop("egress", strings(&egress))
        .from_spec("ingress", "vpc.cidr")
        .from_spec("egress", "vpc.cidr")
        .prop("tags", tags(context, &acl_id, &name, Some(tier)))
        .replace_on(&["vpc_id"])
}

/// A tier's network ACL entries (ingress, egress), in rule-number order.
#[must_use]
pub fn network_acl_entries(tier: Tier, vpc_cidr: &str) -> (Vec<AclEntry>, Vec<AclEntry>) {
    let entry = |rule: i32, action: AclAction, ports: Ports, cidr: &str| AclEntry {
        rule,
        action,
        protocol: Protocol::Tcp,
        ports,
        cidr: cidr.to_string(),
    };
    let (https_in, https_out, ephemeral_out) = match tier {
        Tier::Public => (ANYWHERE, ANYWHERE, ANYWHERE),
        Tier::App | Tier::Data => (vpc_cidr, ANYWHERE, vpc_cidr),
    };
    let ingress = vec![
        entry(100, AclAction::Deny, Ports::one(22), ANYWHERE),
        entry(110, AclAction::Deny, Ports::one(3389), ANYWHERE),
        entry(120, AclAction::Allow, Ports::one(443), https_in),
        entry(130, AclAction::Allow, EPHEMERAL, ANYWHERE),
    ];
    let egress = vec![
        entry(100, AclAction::Allow, Ports::one(443), https_out),
        entry(110, AclAction::Allow, EPHEMERAL, ephemeral_out),
    ];
    (ingress, egress)
}

fn subnet(context: &Context<'_>, zone: &Zone, tier: Tier) -> Resource {
    let subnet_logical = subnet_id(tier, &zone.letter);
    let name = format!("nc-{}-{}-{}", context.env(), tier.as_str(), zone.letter);
    let spec = &context.spec.vpc;
    let cidr = subnet_cidr(spec.cidr, spec.az_count, zone.index, tier)
        .map_or_else(String::new, |cidr| cidr.to_string());
    Resource::new(subnet_logical.as_str(), Kind::Subnet, name.clone())
        .prop("vpc_id", Value::reference(&id(VPC), "id"))
        .prop("cidr", cidr)
        .prop("availability_zone", zone.name.clone())
        .prop("map_public_ip_on_launch", tier == Tier::Public)
        .prop(
            "route_table_id",
            Value::reference(&route_table_id(tier, &zone.letter), "id"),
        )
        .prop(
            "network_acl_id",
            Value::reference(&network_acl_id(tier), "id"),
        )
        .prop("tags", tags(context, &subnet_logical, &name, Some(tier)))
        .replace_on(&["vpc_id", "cidr", "availability_zone"])
        .declared_by("vpc.az_count")
        .from_spec("cidr", "vpc.cidr")
        .from_spec("cidr", "vpc.az_count")
}

/// Typed sub-values (routes, rules, entries) as a list of their texts.
fn strings<T: std::fmt::Display>(items: &[T]) -> Value {
    Value::List(
        items
            .iter()
            .map(|item| Value::str(item.to_string()))
            .collect(),
    )
}

/// The required tags plus `Name`, `env` and, for tier resources, `tier`.
fn tags(context: &Context<'_>, logical: &LogicalId, name: &str, tier: Option<Tier>) -> Value {
    let mut tags = match context.tags(logical.as_str()) {
        Value::Map(tags) => tags,
        _ => std::collections::BTreeMap::new(),
    };
    tags.insert("Name".into(), name.to_string());
    tags.insert("env".into(), context.env().to_string());
    if let Some(tier) = tier {
        tags.insert("tier".into(), tier.as_str().to_string());
    }
    Value::Map(tags)
}
