//! EC2: the vpc module's network — VPC, subnets, internet gateway, elastic IPs, NAT
//! gateways, route tables, network ACLs, security groups, VPC endpoints and flow logs.
//!
//! Observe is batched and flat in the number of resources: in a first round, concurrently,
//! one Describe per type filtered by `tag:nc:env` (DescribeVpcs, Subnets, InternetGateways,
//! Addresses, NatGateways, RouteTables, VpcEndpoints, FlowLogs); then, once the VPC ids are
//! known, DescribeSecurityGroups and DescribeNetworkAcls filtered by VPC id (so that the VPC's
//! default security group and default network ACL, which carry no tags of ours, come along)
//! and DescribeVpcAttribute twice (DNS support and hostnames have no batch read). Untagged
//! resources — LocalStack's default VPC among them — are never matched. Resources are
//! matched to logical ids by their `nc:id` tag.
//!
//! Creates are crash-safe: tags travel in the create call (TagSpecifications); NAT
//! gateways, endpoints, flow logs, route tables and network ACLs carry a client token derived
//! from the run, environment and logical id; the SDK never re-sends a create whose answer was
//! lost (`no_resend`); and every create first looks the resource up by its `nc:id` tag, so a
//! retry or a re-run after a kill finishes the half-made resource instead of making a second
//! one. A network ACL entry or route that already exists is replaced with the wanted one.
//! Whatever a create or an update must still do is worked out by one `converge` per kind
//! from the live attributes, so a resource found half-made converges like any other.
//! Deletes treat NotFound as done and wait out AWS's `DependencyViolation`s (network
//! interfaces of a NAT gateway or endpoint are released asynchronously).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    Address, AttributeBooleanValue, AvailabilityZoneOptInStatus, ConnectivityType, DomainType,
    Filter, FlowLog, FlowLogsResourceType, InternetGateway, IpPermission, IpRange, Ipv6Range,
    LogDestinationType, NatGateway, NatGatewayState, NetworkAcl, PortRange, PrefixListId,
    ResourceType, RouteTable, RuleAction, SecurityGroup, Subnet, Tag, TagSpecification,
    TrafficType, UserIdGroupPair, Vpc, VpcAttributeName, VpcEndpoint, VpcEndpointType,
};
use sha2::{Digest, Sha256};

use super::aws::aws_error;
use super::{Aws, Provider, ProviderError, StepCtx, tags_value, wait};
use crate::model::Delta;
use crate::model::FLOW_LOG_AGGREGATION_SECONDS;
use crate::model::Kind;
use crate::model::{
    LogicalId, Observation, Observed, Outputs, Owner, Props, Resource, TAG_ENV, TAG_ID, TAGS, Value,
};

const KINDS: &[Kind] = &[
    Kind::Vpc,
    Kind::Subnet,
    Kind::InternetGateway,
    Kind::ElasticIp,
    Kind::NatGateway,
    Kind::RouteTable,
    Kind::NetworkAcl,
    Kind::SecurityGroup,
    Kind::VpcEndpoint,
    Kind::FlowLog,
];

/// How often a NAT gateway, an endpoint or a blocked deletion is polled.
const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// A network ACL's catch-all rule number (IPv4; IPv6 is one more): AWS's own, never ours.
const DEFAULT_ACL_RULE: i32 = 32767;
/// The separator of a route's destination and target.
const ROUTE_ARROW: &str = " -> ";
/// EC2's answer to CreateRoute when the table already has a route to that destination.
const ROUTE_EXISTS: &str = "RouteAlreadyExists";
/// EC2's answer to CreateNetworkAclEntry when the rule number is taken in that direction.
const ACL_ENTRY_EXISTS: &str = "NetworkAclEntryAlreadyExists";

/// The available availability zones of `aws`'s region, sorted by name (one
/// DescribeAvailabilityZones). Local Zones, Wavelength Zones and zones not opted in are left
/// out.
///
/// # Errors
/// EC2 refused or could not be reached.
pub async fn availability_zones(aws: &Aws) -> Result<Vec<String>, ProviderError> {
    let region = aws.region();
    let output = aws
        .ec2()
        .describe_availability_zones()
        .filters(filter("state", ["available"]))
        .send()
        .await
        .map_err(|error| aws_error("ec2:DescribeAvailabilityZones", &region, error))?;
    let mut zones: Vec<String> = output
        .availability_zones()
        .iter()
        .filter(|zone| {
            zone.zone_type()
                .is_none_or(|kind| kind == "availability-zone")
        })
        .filter(|zone| zone.opt_in_status() != Some(&AvailabilityZoneOptInStatus::NotOptedIn))
        .filter_map(|zone| zone.zone_name().map(str::to_string))
        .collect();
    zones.sort();
    zones.dedup();
    Ok(zones)
}

/// The EC2 provider.
pub struct Ec2Provider {
    client: Client,
    /// For the creates of whole resources: the SDK never re-sends one whose outcome is
    /// unknown; the step looks it up by its `nc:id` tag instead.
    creates: Client,
    region: String,
    /// This run's part of every client token (one provider per apply or reconcile pass).
    run: String,
}

impl Ec2Provider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> Ec2Provider {
        Ec2Provider {
            client: aws.ec2(),
            creates: aws.ec2_without_resend(),
            region: aws.region(),
            run: format!("{:016x}", fastrand::u64(..)),
        }
    }

    /// A provider over a given client (tests use mocked clients).
    #[cfg(test)]
    fn with_client(client: Client, run: &str) -> Ec2Provider {
        Ec2Provider {
            creates: client.clone(),
            client,
            region: "us-east-1".into(),
            run: run.to_string(),
        }
    }

    /// The client token of a create of `logical`: the same on every retry of the step within
    /// this run, new in the next run and for each incarnation that died (see [`client_token`]).
    fn token(&self, env: &str, logical: &str, generation: usize) -> String {
        client_token(&self.run, env, logical, generation)
    }
}

// ---------------------------------------------------------------------------------------
// Observe
// ---------------------------------------------------------------------------------------

/// Everything one observe read, before it is matched to logical ids.
#[derive(Debug, Default, Clone)]
struct Live {
    vpcs: Vec<Vpc>,
    subnets: Vec<Subnet>,
    gateways: Vec<InternetGateway>,
    addresses: Vec<Address>,
    nats: Vec<NatGateway>,
    tables: Vec<RouteTable>,
    endpoints: Vec<VpcEndpoint>,
    flow_logs: Vec<FlowLog>,
    groups: Vec<SecurityGroup>,
    acls: Vec<NetworkAcl>,
    /// DNS support and hostnames of the VPC matched to the desired one, by VPC id.
    dns: BTreeMap<String, (bool, bool)>,
}

fn filter<I, S>(name: &str, values: I) -> Filter
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

fn env_filter(env: &str) -> Filter {
    filter(&format!("tag:{TAG_ENV}"), [env])
}

fn id_filters(env: &str, logical: &str) -> Vec<Filter> {
    vec![env_filter(env), filter(&format!("tag:{TAG_ID}"), [logical])]
}

impl Ec2Provider {
    /// One call per type, concurrently: the first round by tag, the second by VPC id.
    async fn read(&self, desired: &[&Resource], env: &str) -> Result<Live, ProviderError> {
        let (vpcs, subnets, gateways, addresses, nats, tables, endpoints, flow_logs) = tokio::try_join!(
            self.vpcs(vec![env_filter(env)]),
            self.subnets(vec![env_filter(env)]),
            self.gateways(vec![env_filter(env)]),
            self.addresses(vec![env_filter(env)]),
            self.nats(vec![env_filter(env)]),
            self.tables(vec![env_filter(env)]),
            self.endpoints(vec![env_filter(env)]),
            self.flow_logs(vec![env_filter(env)]),
        )?;
        let vpc_ids: Vec<String> = vpcs
            .iter()
            .filter_map(|vpc| vpc.vpc_id().map(str::to_string))
            .collect();
        let mut live = Live {
            vpcs,
            subnets,
            gateways,
            addresses,
            nats,
            tables,
            endpoints,
            flow_logs,
            ..Live::default()
        };
        if vpc_ids.is_empty() {
            return Ok(live);
        }
        // DNS attributes only for the VPC that will be diffed.
        let matched = desired
            .iter()
            .filter(|resource| resource.kind == Kind::Vpc)
            .find_map(|resource| {
                live.vpcs
                    .iter()
                    .find(|vpc| tag(vpc.tags(), TAG_ID) == Some(resource.id.as_str()))
                    .and_then(|vpc| vpc.vpc_id().map(str::to_string))
            });
        let dns = async {
            match &matched {
                Some(vpc_id) => {
                    let (support, hostnames) = tokio::try_join!(
                        self.vpc_attribute(vpc_id, VpcAttributeName::EnableDnsSupport),
                        self.vpc_attribute(vpc_id, VpcAttributeName::EnableDnsHostnames),
                    )?;
                    Ok(Some((vpc_id.clone(), (support, hostnames))))
                }
                None => Ok(None),
            }
        };
        let (groups, acls, dns) = tokio::try_join!(
            self.groups(vec![filter("vpc-id", vpc_ids.clone())]),
            self.acls(vec![filter("vpc-id", vpc_ids.clone())]),
            dns,
        )?;
        live.groups = groups;
        live.acls = acls;
        live.dns.extend(dns);
        Ok(live)
    }

    async fn vpcs(&self, filters: Vec<Filter>) -> Result<Vec<Vpc>, ProviderError> {
        self.client
            .describe_vpcs()
            .set_filters(Some(filters))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|error| aws_error("ec2:DescribeVpcs", "vpcs", error))
    }

    async fn subnets(&self, filters: Vec<Filter>) -> Result<Vec<Subnet>, ProviderError> {
        self.client
            .describe_subnets()
            .set_filters(Some(filters))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|error| aws_error("ec2:DescribeSubnets", "subnets", error))
    }

    async fn gateways(&self, filters: Vec<Filter>) -> Result<Vec<InternetGateway>, ProviderError> {
        self.client
            .describe_internet_gateways()
            .set_filters(Some(filters))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|error| aws_error("ec2:DescribeInternetGateways", "gateways", error))
    }

    async fn addresses(&self, filters: Vec<Filter>) -> Result<Vec<Address>, ProviderError> {
        let output = self
            .client
            .describe_addresses()
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(|error| aws_error("ec2:DescribeAddresses", "addresses", error))?;
        Ok(output.addresses().to_vec())
    }

    async fn nats(&self, filters: Vec<Filter>) -> Result<Vec<NatGateway>, ProviderError> {
        self.client
            .describe_nat_gateways()
            .set_filter(Some(filters))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|error| aws_error("ec2:DescribeNatGateways", "NAT gateways", error))
    }

    async fn tables(&self, filters: Vec<Filter>) -> Result<Vec<RouteTable>, ProviderError> {
        self.client
            .describe_route_tables()
            .set_filters(Some(filters))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|error| aws_error("ec2:DescribeRouteTables", "route tables", error))
    }

    async fn endpoints(&self, filters: Vec<Filter>) -> Result<Vec<VpcEndpoint>, ProviderError> {
        self.client
            .describe_vpc_endpoints()
            .set_filters(Some(filters))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|error| aws_error("ec2:DescribeVpcEndpoints", "endpoints", error))
    }

    async fn flow_logs(&self, filters: Vec<Filter>) -> Result<Vec<FlowLog>, ProviderError> {
        self.client
            .describe_flow_logs()
            .set_filter(Some(filters))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|error| aws_error("ec2:DescribeFlowLogs", "flow logs", error))
    }

    async fn groups(&self, filters: Vec<Filter>) -> Result<Vec<SecurityGroup>, ProviderError> {
        self.client
            .describe_security_groups()
            .set_filters(Some(filters))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|error| aws_error("ec2:DescribeSecurityGroups", "security groups", error))
    }

    async fn acls(&self, filters: Vec<Filter>) -> Result<Vec<NetworkAcl>, ProviderError> {
        self.client
            .describe_network_acls()
            .set_filters(Some(filters))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|error| aws_error("ec2:DescribeNetworkAcls", "network ACLs", error))
    }

    async fn vpc_attribute(
        &self,
        vpc_id: &str,
        attribute: VpcAttributeName,
    ) -> Result<bool, ProviderError> {
        let output = self
            .client
            .describe_vpc_attribute()
            .vpc_id(vpc_id)
            .attribute(attribute.clone())
            .send()
            .await
            .map_err(|error| aws_error("ec2:DescribeVpcAttribute", vpc_id, error))?;
        let value = match attribute {
            VpcAttributeName::EnableDnsHostnames => output.enable_dns_hostnames(),
            _ => output.enable_dns_support(),
        };
        Ok(value
            .and_then(AttributeBooleanValue::value)
            .unwrap_or(false))
    }
}

/// One tag's value.
fn tag<'t>(tags: &'t [Tag], key: &str) -> Option<&'t str> {
    tags.iter()
        .find(|tag| tag.key() == Some(key))
        .and_then(Tag::value)
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|tag| Some((tag.key()?.to_string(), tag.value()?.to_string())))
        .collect()
}

fn strings<I, S>(items: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Value::List(
        items
            .into_iter()
            .map(|item| Value::Str(item.into()))
            .collect(),
    )
}

fn sorted_strings(mut items: Vec<String>) -> Value {
    items.sort();
    strings(items)
}

/// Matches what was read to logical ids: pure, so it is tested without AWS.
struct Assembler<'a> {
    desired: BTreeMap<&'a str, &'a Resource>,
    env: &'a str,
    /// Physical id → logical id of every tagged resource, to order lists of references.
    names: BTreeMap<String, String>,
    observation: Observation,
}

impl<'a> Assembler<'a> {
    fn new(desired: &'a [&'a Resource], env: &'a str, live: &Live) -> Assembler<'a> {
        let mut names = BTreeMap::new();
        let mut name = |physical: Option<&str>, tags: &[Tag]| {
            if let (Some(physical), Some(logical)) = (physical, tag(tags, TAG_ID)) {
                names.insert(physical.to_string(), logical.to_string());
            }
        };
        live.subnets
            .iter()
            .for_each(|subnet| name(subnet.subnet_id(), subnet.tags()));
        live.tables
            .iter()
            .for_each(|table| name(table.route_table_id(), table.tags()));
        live.groups
            .iter()
            .for_each(|group| name(group.group_id(), group.tags()));
        Assembler {
            desired: desired
                .iter()
                .map(|resource| (resource.id.as_str(), *resource))
                .collect(),
            env,
            names,
            observation: Observation::default(),
        }
    }

    /// Ids ordered as the expander orders references: by the referenced logical id, then
    /// resources that are not ours by their physical id.
    fn ordered(&self, ids: &[String]) -> Value {
        let mut keyed: Vec<(Option<&String>, &String)> =
            ids.iter().map(|id| (self.names.get(id), id)).collect();
        keyed.sort_by(|left, right| {
            (left.0.is_none(), left.0, left.1).cmp(&(right.0.is_none(), right.0, right.1))
        });
        strings(keyed.into_iter().map(|(_, id)| id.clone()))
    }

    /// Records one live resource: matched to its desired resource by `nc:id` when the kind
    /// agrees (a second one with the same id is a duplicate: an orphan), otherwise an orphan
    /// if it is ours.
    fn add(
        &mut self,
        kind: Kind,
        physical: &str,
        tags: &[Tag],
        mut props: Props,
        mut outputs: Outputs,
    ) {
        let tags = tag_map(tags);
        let Some(logical) = tags.get(TAG_ID).cloned() else {
            return;
        };
        let owner = Owner::from_tags(&tags, self.env);
        props.insert(TAGS.to_string(), tags_value(tags));
        outputs.insert("id".into(), physical.to_string());
        let mut id = LogicalId::new(logical.as_str());
        let wanted = self
            .desired
            .get(logical.as_str())
            .is_some_and(|resource| resource.kind == kind);
        if wanted && !self.observation.found.contains_key(&id) {
            self.observation.insert(Observed {
                id,
                kind,
                physical_id: physical.to_string(),
                props,
                outputs,
                owner,
                retain: false,
                refused: None,
            });
            return;
        }
        if owner != Owner::Ours {
            return;
        }
        if wanted
            || self
                .observation
                .orphans
                .iter()
                .any(|orphan| orphan.id == id)
        {
            id = LogicalId::new(format!("{logical}~{physical}"));
        }
        self.observation.orphans.push(Observed {
            id,
            kind,
            physical_id: physical.to_string(),
            props,
            outputs,
            owner,
            retain: false,
            refused: None,
        });
    }
}

/// Normalises everything read into the property model of `modules::vpc`.
fn assemble(live: &Live, desired: &[&Resource], env: &str, region: &str) -> Observation {
    let mut assembler = Assembler::new(desired, env, live);
    for vpc in &live.vpcs {
        let Some(vpc_id) = vpc.vpc_id() else { continue };
        let default_group = live
            .groups
            .iter()
            .find(|group| group.vpc_id() == Some(vpc_id) && group.group_name() == Some("default"));
        let default_acl = live
            .acls
            .iter()
            .find(|acl| acl.vpc_id() == Some(vpc_id) && acl.is_default() == Some(true));
        let (props, mut outputs) = vpc_props(
            vpc,
            live.dns.get(vpc_id).copied(),
            default_group,
            default_acl,
        );
        outputs.insert(
            "arn".into(),
            format!(
                "arn:aws:ec2:{region}:{}:vpc/{vpc_id}",
                vpc.owner_id().unwrap_or_default()
            ),
        );
        assembler.add(Kind::Vpc, vpc_id, vpc.tags(), props, outputs);
    }
    for subnet in &live.subnets {
        let Some(subnet_id) = subnet.subnet_id() else {
            continue;
        };
        let (props, outputs) = subnet_props(subnet, &live.tables, &live.acls);
        assembler.add(Kind::Subnet, subnet_id, subnet.tags(), props, outputs);
    }
    for gateway in &live.gateways {
        let Some(gateway_id) = gateway.internet_gateway_id() else {
            continue;
        };
        let mut props = Props::new();
        props.insert("vpc_id".into(), Value::str(gateway_vpc(gateway)));
        assembler.add(
            Kind::InternetGateway,
            gateway_id,
            gateway.tags(),
            props,
            Outputs::new(),
        );
    }
    for address in &live.addresses {
        let Some(allocation_id) = address.allocation_id() else {
            continue;
        };
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
        assembler.add(
            Kind::ElasticIp,
            allocation_id,
            address.tags(),
            props,
            outputs,
        );
    }
    for nat in live.nats.iter().filter(|nat| nat_is_live(nat)) {
        let Some(nat_id) = nat.nat_gateway_id() else {
            continue;
        };
        let mut props = Props::new();
        props.insert(
            "subnet_id".into(),
            Value::str(nat.subnet_id().unwrap_or_default()),
        );
        props.insert(
            "allocation_id".into(),
            Value::str(
                nat.nat_gateway_addresses()
                    .iter()
                    .find_map(|address| address.allocation_id())
                    .unwrap_or_default(),
            ),
        );
        assembler.add(Kind::NatGateway, nat_id, nat.tags(), props, Outputs::new());
    }
    for table in &live.tables {
        let Some(table_id) = table.route_table_id() else {
            continue;
        };
        let mut props = Props::new();
        props.insert(
            "vpc_id".into(),
            Value::str(table.vpc_id().unwrap_or_default()),
        );
        props.insert("routes".into(), sorted_strings(routes(table)));
        assembler.add(
            Kind::RouteTable,
            table_id,
            table.tags(),
            props,
            Outputs::new(),
        );
    }
    for acl in live
        .acls
        .iter()
        .filter(|acl| acl.is_default() != Some(true))
    {
        let Some(acl_id) = acl.network_acl_id() else {
            continue;
        };
        let mut props = Props::new();
        props.insert(
            "vpc_id".into(),
            Value::str(acl.vpc_id().unwrap_or_default()),
        );
        props.insert("ingress".into(), strings(acl_entries(acl, false)));
        props.insert("egress".into(), strings(acl_entries(acl, true)));
        assembler.add(Kind::NetworkAcl, acl_id, acl.tags(), props, Outputs::new());
    }
    for group in &live.groups {
        let Some(group_id) = group.group_id() else {
            continue;
        };
        let mut props = Props::new();
        props.insert(
            "vpc_id".into(),
            Value::str(group.vpc_id().unwrap_or_default()),
        );
        props.insert(
            "group_name".into(),
            Value::str(group.group_name().unwrap_or_default()),
        );
        props.insert(
            "description".into(),
            Value::str(group.description().unwrap_or_default()),
        );
        props.insert(
            "ingress".into(),
            sorted_strings(rules(group.ip_permissions())),
        );
        props.insert(
            "egress".into(),
            sorted_strings(rules(group.ip_permissions_egress())),
        );
        let mut outputs = Outputs::new();
        if let Some(arn) = group.security_group_arn() {
            outputs.insert("arn".into(), arn.to_string());
        }
        assembler.add(Kind::SecurityGroup, group_id, group.tags(), props, outputs);
    }
    for endpoint in live.endpoints.iter().filter(|e| endpoint_is_live(e)) {
        let Some(endpoint_id) = endpoint.vpc_endpoint_id() else {
            continue;
        };
        let props = endpoint_props(endpoint, &assembler);
        assembler.add(
            Kind::VpcEndpoint,
            endpoint_id,
            endpoint.tags(),
            props,
            Outputs::new(),
        );
    }
    for flow_log in &live.flow_logs {
        let Some(flow_log_id) = flow_log.flow_log_id() else {
            continue;
        };
        assembler.add(
            Kind::FlowLog,
            flow_log_id,
            flow_log.tags(),
            flow_log_props(flow_log),
            Outputs::new(),
        );
    }
    assembler.observation
}

fn vpc_props(
    vpc: &Vpc,
    dns: Option<(bool, bool)>,
    default_group: Option<&SecurityGroup>,
    default_acl: Option<&NetworkAcl>,
) -> (Props, Outputs) {
    let mut props = Props::new();
    props.insert(
        "cidr".into(),
        Value::str(vpc.cidr_block().unwrap_or_default()),
    );
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

fn subnet_props(subnet: &Subnet, tables: &[RouteTable], acls: &[NetworkAcl]) -> (Props, Outputs) {
    let subnet_id = subnet.subnet_id().unwrap_or_default();
    let mut props = Props::new();
    let mut outputs = Outputs::new();
    props.insert(
        "vpc_id".into(),
        Value::str(subnet.vpc_id().unwrap_or_default()),
    );
    props.insert(
        "cidr".into(),
        Value::str(subnet.cidr_block().unwrap_or_default()),
    );
    props.insert(
        "availability_zone".into(),
        Value::str(subnet.availability_zone().unwrap_or_default()),
    );
    props.insert(
        "map_public_ip_on_launch".into(),
        Value::Bool(subnet.map_public_ip_on_launch().unwrap_or(false)),
    );
    // An explicit association; none means the VPC's main route table.
    let association = tables.iter().find_map(|table| {
        table
            .associations()
            .iter()
            .find(|association| {
                association.subnet_id() == Some(subnet_id) && association.main() != Some(true)
            })
            .map(|association| (table, association))
    });
    match association {
        Some((table, association)) => {
            props.insert(
                "route_table_id".into(),
                Value::str(table.route_table_id().unwrap_or_default()),
            );
            if let Some(association_id) = association.route_table_association_id() {
                outputs.insert(
                    "route_table_association_id".into(),
                    association_id.to_string(),
                );
            }
        }
        None => {
            props.insert("route_table_id".into(), Value::str(""));
        }
    }
    let acl = acls.iter().find_map(|acl| {
        acl.associations()
            .iter()
            .find(|association| association.subnet_id() == Some(subnet_id))
            .map(|association| (acl, association))
    });
    if let Some((acl, association)) = acl {
        props.insert(
            "network_acl_id".into(),
            Value::str(acl.network_acl_id().unwrap_or_default()),
        );
        if let Some(association_id) = association.network_acl_association_id() {
            outputs.insert(
                "network_acl_association_id".into(),
                association_id.to_string(),
            );
        }
    }
    if let Some(arn) = subnet.subnet_arn() {
        outputs.insert("arn".into(), arn.to_string());
    }
    (props, outputs)
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

fn nat_is_live(nat: &NatGateway) -> bool {
    matches!(
        nat.state(),
        Some(NatGatewayState::Pending | NatGatewayState::Available) | None
    )
}

/// An endpoint's state in lower case: the API model spells the states `Available`, but AWS
/// (and LocalStack) answer `available`.
fn endpoint_state(endpoint: &VpcEndpoint) -> String {
    endpoint
        .state()
        .map(|state| state.as_str().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Endpoint states after which it is gone or never becomes usable.
const ENDPOINT_DEAD_STATES: [&str; 5] = ["deleting", "deleted", "failed", "rejected", "expired"];

fn endpoint_is_live(endpoint: &VpcEndpoint) -> bool {
    !ENDPOINT_DEAD_STATES.contains(&endpoint_state(endpoint).as_str())
}

fn endpoint_props(endpoint: &VpcEndpoint, assembler: &Assembler<'_>) -> Props {
    let mut props = Props::new();
    props.insert(
        "vpc_id".into(),
        Value::str(endpoint.vpc_id().unwrap_or_default()),
    );
    props.insert(
        "service_name".into(),
        Value::str(endpoint.service_name().unwrap_or_default()),
    );
    let endpoint_type = endpoint
        .vpc_endpoint_type()
        .map_or("Gateway", VpcEndpointType::as_str);
    props.insert("endpoint_type".into(), Value::str(endpoint_type));
    if endpoint_type == VpcEndpointType::Interface.as_str() {
        props.insert(
            "subnet_ids".into(),
            assembler.ordered(endpoint.subnet_ids()),
        );
        let groups: Vec<String> = endpoint
            .groups()
            .iter()
            .filter_map(|group| group.group_id().map(str::to_string))
            .collect();
        props.insert("security_group_ids".into(), assembler.ordered(&groups));
        props.insert(
            "private_dns_enabled".into(),
            Value::Bool(endpoint.private_dns_enabled().unwrap_or(false)),
        );
    } else {
        props.insert(
            "route_table_ids".into(),
            assembler.ordered(endpoint.route_table_ids()),
        );
    }
    if let Some(document) = endpoint
        .policy_document()
        .and_then(|text| crate::policy::parse(text).ok())
    {
        props.insert("policy".into(), Value::Policy(document));
    }
    props
}

fn flow_log_props(flow_log: &FlowLog) -> Props {
    let mut props = Props::new();
    props.insert(
        "resource_id".into(),
        Value::str(flow_log.resource_id().unwrap_or_default()),
    );
    props.insert(
        "traffic_type".into(),
        Value::str(flow_log.traffic_type().map_or("", TrafficType::as_str)),
    );
    props.insert(
        "log_destination_type".into(),
        Value::str(
            flow_log
                .log_destination_type()
                .map_or("cloud-watch-logs", LogDestinationType::as_str),
        ),
    );
    props.insert(
        "log_group_name".into(),
        Value::str(flow_log.log_group_name().unwrap_or_default()),
    );
    props.insert(
        "deliver_logs_permission_arn".into(),
        Value::str(flow_log.deliver_logs_permission_arn().unwrap_or_default()),
    );
    props.insert(
        "max_aggregation_interval".into(),
        Value::Int(
            flow_log
                .max_aggregation_interval()
                .map_or(FLOW_LOG_AGGREGATION_SECONDS, i64::from),
        ),
    );
    props
}

// ---------------------------------------------------------------------------------------
// Rules and routes as strings
// ---------------------------------------------------------------------------------------

/// `-1`/`6`/`17`/`1`/`58` → `all`/`tcp`/`udp`/`icmp`/`icmpv6`; other numbers stay.
fn protocol_name(protocol: Option<&str>) -> String {
    match protocol.unwrap_or("-1") {
        "-1" | "all" => "all".into(),
        "6" | "tcp" => "tcp".into(),
        "17" | "udp" => "udp".into(),
        "1" | "icmp" => "icmp".into(),
        "58" | "icmpv6" => "icmpv6".into(),
        other => other.to_string(),
    }
}

/// The protocol number a network ACL entry takes.
fn protocol_number(name: &str) -> String {
    match name {
        "all" => "-1".into(),
        "tcp" => "6".into(),
        "udp" => "17".into(),
        "icmp" => "1".into(),
        "icmpv6" => "58".into(),
        other => other.to_string(),
    }
}

fn ports_text(protocol: &str, from: Option<i32>, to: Option<i32>) -> String {
    match (protocol, from, to) {
        ("all", _, _) | (_, None, _) | (_, _, None) | (_, Some(-1), Some(-1)) => "all".into(),
        (_, Some(from), Some(to)) if from == to => from.to_string(),
        (_, Some(from), Some(to)) => format!("{from}-{to}"),
    }
}

/// `"443"` → (443, 443); `"1024-65535"` → (1024, 65535); `"all"` → none.
fn parse_ports(text: &str) -> Result<Option<(i32, i32)>, String> {
    if text == "all" {
        return Ok(None);
    }
    let bad = || format!("bad port range {text:?}");
    let (from, to) = text.split_once('-').unwrap_or((text, text));
    Ok(Some((
        from.parse().map_err(|_| bad())?,
        to.parse().map_err(|_| bad())?,
    )))
}

/// Security group rules as `"{protocol} {ports} {peer}"`, one per peer.
fn rules(permissions: &[IpPermission]) -> Vec<String> {
    let mut rules = Vec::new();
    for permission in permissions {
        let protocol = protocol_name(permission.ip_protocol());
        let ports = ports_text(&protocol, permission.from_port(), permission.to_port());
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
        rules.extend(peers.map(|peer| format!("{protocol} {ports} {peer}")));
    }
    rules
}

/// A rule string back into the permission to authorize or revoke.
fn permission(rule: &str) -> Result<IpPermission, String> {
    let parts: Vec<&str> = rule.split_whitespace().collect();
    let [protocol, ports, peer] = parts[..] else {
        return Err(format!(
            "bad security group rule {rule:?}: expected \"protocol ports peer\""
        ));
    };
    let mut builder =
        IpPermission::builder().ip_protocol(if protocol == "all" { "-1" } else { protocol });
    if let Some((from, to)) = parse_ports(ports)? {
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
    Ok(builder.build())
}

/// Network ACL entries of one direction as `"{rule} {action} {protocol} {ports} {cidr}"`, in
/// rule order, without AWS's catch-all deny.
fn acl_entries(acl: &NetworkAcl, egress: bool) -> Vec<String> {
    let mut entries: Vec<(i32, String)> = acl
        .entries()
        .iter()
        .filter(|entry| entry.egress() == Some(egress))
        .filter_map(|entry| {
            let rule = entry.rule_number()?;
            if rule >= DEFAULT_ACL_RULE {
                return None;
            }
            let protocol = protocol_name(entry.protocol());
            let range = entry.port_range();
            let ports = ports_text(
                &protocol,
                range.and_then(PortRange::from),
                range.and_then(PortRange::to),
            );
            let action = entry.rule_action().map_or("deny", RuleAction::as_str);
            let cidr = entry
                .cidr_block()
                .or(entry.ipv6_cidr_block())
                .unwrap_or_default();
            Some((rule, format!("{rule} {action} {protocol} {ports} {cidr}")))
        })
        .collect();
    entries.sort();
    entries.into_iter().map(|(_, entry)| entry).collect()
}

/// A parsed network ACL entry.
#[derive(Debug, Clone, PartialEq)]
struct AclEntry {
    rule: i32,
    allow: bool,
    protocol: String,
    ports: Option<(i32, i32)>,
    cidr: String,
}

fn parse_acl_entry(text: &str) -> Result<AclEntry, String> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [rule, action, protocol, ports, cidr] = parts[..] else {
        return Err(format!(
            "bad network ACL entry {text:?}: expected \"rule action protocol ports cidr\""
        ));
    };
    Ok(AclEntry {
        rule: rule
            .parse()
            .map_err(|_| format!("bad rule number in {text:?}"))?,
        allow: match action {
            "allow" => true,
            "deny" => false,
            _ => return Err(format!("bad action in {text:?}")),
        },
        protocol: protocol_number(protocol),
        ports: parse_ports(ports)?,
        cidr: cidr.to_string(),
    })
}

/// Routes as `"{destination} -> {target}"`, without the VPC's local route and the routes
/// gateway endpoints install (those are the endpoint's `route_table_ids`).
fn routes(table: &RouteTable) -> Vec<String> {
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
            Some(format!("{destination}{ROUTE_ARROW}{target}"))
        })
        .collect()
}

fn parse_route(text: &str) -> Result<(String, String), String> {
    text.split_once(ROUTE_ARROW)
        .map(|(destination, target)| (destination.to_string(), target.to_string()))
        .ok_or_else(|| format!("bad route {text:?}: expected \"destination -> target\""))
}

// ---------------------------------------------------------------------------------------
// Helpers for changes
// ---------------------------------------------------------------------------------------

fn ec2_tags(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<Tag> {
    pairs
        .into_iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

fn tag_specification(resource_type: ResourceType, resource: &Resource) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(ec2_tags(resource.tags())))
        .build()
}

/// A client token (at most 64 ASCII characters, as EC2 requires): a hash of the run, the
/// environment, the logical id, and a generation counting earlier incarnations that died.
///
/// EC2 returns the original result to a retry with the same token, and a token stays bound
/// to its resource for a while, even after that resource is deleted ("You should not reuse
/// the same client token for other API requests", Amazon EC2 Developer Guide, *Ensuring
/// idempotency in Amazon EC2 API requests*). So the token is stable for the retries of one
/// step and new whenever a new resource is wanted: in a later run (a route table deleted and
/// made again), or after a NAT gateway of this run failed (it stays listed, and its token
/// would return the dead one).
fn client_token(run: &str, env: &str, logical: &str, generation: usize) -> String {
    let digest =
        Sha256::digest(format!("nc-provision/{run}/{env}/{logical}/{generation}").as_bytes());
    format!("nc-{}", &hex::encode(digest)[..40])
}

/// A resolved string attribute.
fn text(resource: &Resource, name: &str) -> Result<String, ProviderError> {
    match resource.props.get(name) {
        Some(Value::Str(text)) => Ok(text.clone()),
        other => Err(ProviderError::local(
            "resolve",
            resource.id.as_str(),
            format!("attribute {name} is {other:?}, expected a string"),
        )),
    }
}

/// A resolved list-of-strings attribute (absent: empty).
fn list(resource: &Resource, name: &str) -> Vec<String> {
    list_of(resource.props.get(name))
}

fn list_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether the live value differs from the desired one (a missing live value always does).
fn differs(resource: &Resource, current: &Props, name: &str) -> bool {
    match (resource.props.get(name), current.get(name)) {
        (Some(desired), Some(live)) => !desired.equivalent(live),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn bad_input(resource: &Resource, why: String) -> ProviderError {
    ProviderError::local("validate", resource.id.as_str(), why)
}

/// NotFound, or EC2's NAT-gateway code that lacks the `.NotFound` suffix.
fn is_gone(error: &ProviderError) -> bool {
    error.is_not_found() || error.code.as_deref() == Some("NatGatewayNotFound")
}

/// AWS refuses because something still uses the resource; it goes away on its own (network
/// interfaces of deleted NAT gateways and endpoints are released asynchronously).
fn is_in_use(error: &ProviderError) -> bool {
    matches!(
        error.code.as_deref(),
        Some(
            "DependencyViolation"
                | "InvalidIPAddress.InUse"
                | "InvalidAddress.InUse"
                | "AuthFailure"
                | "ResourceInUse"
        )
    )
}

/// Runs a delete call until it succeeds, the resource is gone, or the wait times out while
/// AWS still says it is in use.
async fn delete_when_free<F, Fut>(
    ctx: &StepCtx,
    action: &str,
    what: &str,
    mut call: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), ProviderError>>,
{
    let last = std::sync::Mutex::new(String::new());
    let outcome = wait::until(
        ctx,
        action,
        &format!("{what} to be free to delete"),
        POLL_INTERVAL,
        || {
            let attempt = call();
            let last = &last;
            async move {
                match attempt.await {
                    Ok(()) => Ok(Some(())),
                    Err(error) if is_gone(&error) => Ok(Some(())),
                    Err(error) if is_in_use(&error) => {
                        if let Ok(mut last) = last.lock() {
                            *last = error.message;
                        }
                        Ok(None)
                    }
                    Err(error) => Err(error),
                }
            }
        },
    )
    .await;
    let last = last.into_inner().unwrap_or_default();
    outcome.map_err(|mut error| {
        if !last.is_empty() {
            error.message = format!("{} (last answer: {last})", error.message);
        }
        error
    })
}

// ---------------------------------------------------------------------------------------
// Create, converge, delete
// ---------------------------------------------------------------------------------------

impl Ec2Provider {
    async fn set_tags(
        &self,
        physical: &str,
        resource: &Resource,
        current: &Props,
    ) -> Result<(), ProviderError> {
        if !differs(resource, current, TAGS) {
            return Ok(());
        }
        let desired = resource.tags();
        let live = current
            .get(TAGS)
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        let remove: Vec<Tag> = live
            .keys()
            .filter(|key| !desired.contains_key(*key) && !crate::model::is_aws_tag(key))
            .map(|key| Tag::builder().key(key).build())
            .collect();
        let set: Vec<(String, String)> = desired
            .into_iter()
            .filter(|(key, value)| live.get(key) != Some(value))
            .collect();
        if !remove.is_empty() {
            self.client
                .delete_tags()
                .resources(physical)
                .set_tags(Some(remove))
                .send()
                .await
                .map_err(|error| aws_error("ec2:DeleteTags", physical, error))?;
        }
        if !set.is_empty() {
            self.client
                .create_tags()
                .resources(physical)
                .set_tags(Some(ec2_tags(set)))
                .send()
                .await
                .map_err(|error| aws_error("ec2:CreateTags", physical, error))?;
        }
        Ok(())
    }

    /// The live resource of this environment tagged with `resource`'s logical id, if a
    /// previous attempt made it: `(physical id, attributes, outputs)`.
    async fn lookup(
        &self,
        resource: &Resource,
        env: &str,
    ) -> Result<Option<(String, Props, Outputs)>, ProviderError> {
        let filters = id_filters(env, resource.id.as_str());
        let mut live = Live::default();
        match resource.kind {
            Kind::Vpc => {
                live.vpcs = self.vpcs(filters).await?;
                if let Some(vpc_id) = live.vpcs.first().and_then(|vpc| vpc.vpc_id()) {
                    let vpc_id = vpc_id.to_string();
                    let (groups, acls, support, hostnames) = tokio::try_join!(
                        self.groups(vec![filter("vpc-id", [vpc_id.as_str()])]),
                        self.acls(vec![filter("vpc-id", [vpc_id.as_str()])]),
                        self.vpc_attribute(&vpc_id, VpcAttributeName::EnableDnsSupport),
                        self.vpc_attribute(&vpc_id, VpcAttributeName::EnableDnsHostnames),
                    )?;
                    live.groups = groups;
                    live.acls = acls;
                    live.dns.insert(vpc_id, (support, hostnames));
                }
            }
            Kind::Subnet => {
                live.subnets = self.subnets(filters).await?;
                if let Some(subnet_id) = live.subnets.first().and_then(|s| s.subnet_id()) {
                    let by_subnet = |name: &str| vec![filter(name, [subnet_id])];
                    let (tables, acls) = tokio::try_join!(
                        self.tables(by_subnet("association.subnet-id")),
                        self.acls(by_subnet("association.subnet-id")),
                    )?;
                    live.tables = tables;
                    live.acls = acls;
                }
            }
            Kind::InternetGateway => live.gateways = self.gateways(filters).await?,
            Kind::ElasticIp => live.addresses = self.addresses(filters).await?,
            Kind::NatGateway => live.nats = self.nats(filters).await?,
            Kind::RouteTable => live.tables = self.tables(filters).await?,
            Kind::NetworkAcl => live.acls = self.acls(filters).await?,
            Kind::SecurityGroup => live.groups = self.groups(filters).await?,
            Kind::VpcEndpoint => live.endpoints = self.endpoints(filters).await?,
            Kind::FlowLog => live.flow_logs = self.flow_logs(filters).await?,
            _ => {}
        }
        let desired = [resource];
        let observation = assemble(&live, &desired, env, &self.region);
        Ok(observation
            .found
            .into_values()
            .next()
            .map(|observed| (observed.physical_id, observed.props, observed.outputs)))
    }

    /// Makes the live resource `physical` match `resource`, from its live attributes
    /// `current` (absent ones are treated as different).
    async fn converge(
        &self,
        resource: &Resource,
        physical: &str,
        current: &Props,
        outputs: &Outputs,
        ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        let mut outputs = outputs.clone();
        outputs.insert("id".into(), physical.to_string());
        match resource.kind {
            Kind::Vpc => self.converge_vpc(resource, physical, current).await?,
            Kind::Subnet => {
                self.converge_subnet(resource, physical, current, &mut outputs)
                    .await?;
            }
            Kind::InternetGateway => {
                self.converge_gateway(resource, physical, current).await?;
            }
            Kind::RouteTable => self.converge_routes(resource, physical, current).await?,
            Kind::NetworkAcl => self.converge_acl(resource, physical, current).await?,
            Kind::SecurityGroup => {
                self.converge_group(resource, physical, current).await?;
            }
            Kind::VpcEndpoint => {
                self.converge_endpoint(resource, physical, current, ctx)
                    .await?;
            }
            _ => {}
        }
        self.set_tags(physical, resource, current).await?;
        Ok(outputs)
    }

    async fn converge_vpc(
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
    async fn strip_default_group(
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
            &list(resource, "default_security_group_ingress"),
            false,
        )
        .await?;
        self.apply_rules(
            resource,
            group_id,
            &egress,
            &list(resource, "default_security_group_egress"),
            true,
        )
        .await
    }

    /// Makes the default network ACL's entries the desired ones (none).
    async fn strip_default_acl(
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
                &list(resource, name),
                egress,
            )
            .await?;
        }
        Ok(())
    }

    async fn converge_subnet(
        &self,
        resource: &Resource,
        subnet_id: &str,
        current: &Props,
        outputs: &mut Outputs,
    ) -> Result<(), ProviderError> {
        if differs(resource, current, "map_public_ip_on_launch") {
            self.client
                .modify_subnet_attribute()
                .subnet_id(subnet_id)
                .map_public_ip_on_launch(
                    AttributeBooleanValue::builder()
                        .value(resource.bool_prop("map_public_ip_on_launch") == Some(true))
                        .build(),
                )
                .send()
                .await
                .map_err(|error| aws_error("ec2:ModifySubnetAttribute", subnet_id, error))?;
        }
        if differs(resource, current, "route_table_id") {
            let table_id = text(resource, "route_table_id")?;
            let association = match outputs.get("route_table_association_id") {
                Some(association_id) => self
                    .client
                    .replace_route_table_association()
                    .association_id(association_id)
                    .route_table_id(&table_id)
                    .send()
                    .await
                    .map_err(|error| {
                        aws_error("ec2:ReplaceRouteTableAssociation", subnet_id, error)
                    })?
                    .new_association_id()
                    .map(str::to_string),
                None => self
                    .client
                    .associate_route_table()
                    .route_table_id(&table_id)
                    .subnet_id(subnet_id)
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:AssociateRouteTable", subnet_id, error))?
                    .association_id()
                    .map(str::to_string),
            };
            if let Some(association) = association {
                outputs.insert("route_table_association_id".into(), association);
            }
        }
        if differs(resource, current, "network_acl_id") {
            let acl_id = text(resource, "network_acl_id")?;
            let association_id = match outputs.get("network_acl_association_id") {
                Some(association_id) => association_id.clone(),
                // A new subnet sits in the default network ACL: find that association.
                None => self
                    .acls(vec![filter("association.subnet-id", [subnet_id])])
                    .await?
                    .iter()
                    .flat_map(NetworkAcl::associations)
                    .find(|association| association.subnet_id() == Some(subnet_id))
                    .and_then(|association| association.network_acl_association_id())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        ProviderError::local(
                            "ec2:ReplaceNetworkAclAssociation",
                            subnet_id,
                            "the subnet has no network ACL association",
                        )
                    })?,
            };
            let replaced = self
                .client
                .replace_network_acl_association()
                .association_id(association_id)
                .network_acl_id(&acl_id)
                .send()
                .await
                .map_err(|error| aws_error("ec2:ReplaceNetworkAclAssociation", subnet_id, error))?;
            if let Some(association) = replaced.new_association_id() {
                outputs.insert("network_acl_association_id".into(), association.to_string());
            }
        }
        Ok(())
    }

    async fn converge_gateway(
        &self,
        resource: &Resource,
        gateway_id: &str,
        current: &Props,
    ) -> Result<(), ProviderError> {
        if !differs(resource, current, "vpc_id") {
            return Ok(());
        }
        let attached = current
            .get("vpc_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !attached.is_empty() {
            self.detach_gateway(gateway_id, attached).await?;
        }
        let vpc_id = text(resource, "vpc_id")?;
        self.client
            .attach_internet_gateway()
            .internet_gateway_id(gateway_id)
            .vpc_id(&vpc_id)
            .send()
            .await
            .map_err(|error| aws_error("ec2:AttachInternetGateway", gateway_id, error))?;
        Ok(())
    }

    async fn detach_gateway(&self, gateway_id: &str, vpc_id: &str) -> Result<(), ProviderError> {
        match self
            .client
            .detach_internet_gateway()
            .internet_gateway_id(gateway_id)
            .vpc_id(vpc_id)
            .send()
            .await
            .map_err(|error| aws_error("ec2:DetachInternetGateway", gateway_id, error))
        {
            Ok(_) => Ok(()),
            Err(error)
                if is_gone(&error) || error.code.as_deref() == Some("Gateway.NotAttached") =>
            {
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    async fn converge_routes(
        &self,
        resource: &Resource,
        table_id: &str,
        current: &Props,
    ) -> Result<(), ProviderError> {
        if !differs(resource, current, "routes") {
            return Ok(());
        }
        let parse = |routes: Vec<String>| -> Result<BTreeMap<String, String>, ProviderError> {
            routes
                .iter()
                .map(|route| parse_route(route).map_err(|why| bad_input(resource, why)))
                .collect()
        };
        let desired = parse(list(resource, "routes"))?;
        let live = parse(list_of(current.get("routes")))?;
        for (destination, target) in &live {
            if !desired.contains_key(destination) {
                let call = self.client.delete_route().route_table_id(table_id);
                let call = match destination_kind(destination) {
                    Destination::PrefixList => call.destination_prefix_list_id(destination),
                    Destination::Ipv6 => call.destination_ipv6_cidr_block(destination),
                    Destination::Ipv4 => call.destination_cidr_block(destination),
                };
                match call
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:DeleteRoute", table_id, error))
                {
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
    async fn put_route(
        &self,
        table_id: &str,
        destination: &str,
        target: &str,
        replace: bool,
    ) -> Result<(), ProviderError> {
        if !replace {
            let call = self.client.create_route().route_table_id(table_id);
            let call = match destination_kind(destination) {
                Destination::PrefixList => call.destination_prefix_list_id(destination),
                Destination::Ipv6 => call.destination_ipv6_cidr_block(destination),
                Destination::Ipv4 => call.destination_cidr_block(destination),
            };
            let call = match target_kind(target) {
                Target::Nat => call.nat_gateway_id(target),
                Target::Interface => call.network_interface_id(target),
                Target::Peering => call.vpc_peering_connection_id(target),
                Target::Transit => call.transit_gateway_id(target),
                Target::EgressOnly => call.egress_only_internet_gateway_id(target),
                Target::Instance => call.instance_id(target),
                Target::Gateway => call.gateway_id(target),
            };
            match call
                .send()
                .await
                .map_err(|error| aws_error("ec2:CreateRoute", table_id, error))
            {
                Err(error) if error.code.as_deref() == Some(ROUTE_EXISTS) => {
                    tracing::debug!(table_id, destination, "route exists; replacing it");
                }
                other => return other.map(|_| ()),
            }
        }
        let call = self.client.replace_route().route_table_id(table_id);
        let call = match destination_kind(destination) {
            Destination::PrefixList => call.destination_prefix_list_id(destination),
            Destination::Ipv6 => call.destination_ipv6_cidr_block(destination),
            Destination::Ipv4 => call.destination_cidr_block(destination),
        };
        let call = match target_kind(target) {
            Target::Nat => call.nat_gateway_id(target),
            Target::Interface => call.network_interface_id(target),
            Target::Peering => call.vpc_peering_connection_id(target),
            Target::Transit => call.transit_gateway_id(target),
            Target::EgressOnly => call.egress_only_internet_gateway_id(target),
            Target::Instance => call.instance_id(target),
            Target::Gateway => call.gateway_id(target),
        };
        call.send()
            .await
            .map_err(|error| aws_error("ec2:ReplaceRoute", table_id, error))?;
        Ok(())
    }

    async fn converge_acl(
        &self,
        resource: &Resource,
        acl_id: &str,
        current: &Props,
    ) -> Result<(), ProviderError> {
        for (egress, name) in [(false, "ingress"), (true, "egress")] {
            if differs(resource, current, name) {
                self.apply_entries(
                    resource,
                    acl_id,
                    &list_of(current.get(name)),
                    &list(resource, name),
                    egress,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Moves a network ACL's entries of one direction from `live` to `desired`, by rule
    /// number: replace what differs, create what is missing, delete what is extra.
    async fn apply_entries(
        &self,
        resource: &Resource,
        acl_id: &str,
        live: &[String],
        desired: &[String],
        egress: bool,
    ) -> Result<(), ProviderError> {
        let parse = |entries: &[String]| -> Result<BTreeMap<i32, AclEntry>, ProviderError> {
            entries
                .iter()
                .map(|entry| {
                    parse_acl_entry(entry)
                        .map(|parsed| (parsed.rule, parsed))
                        .map_err(|why| bad_input(resource, why))
                })
                .collect()
        };
        let live = parse(live)?;
        let desired = parse(desired)?;
        for rule in live.keys().filter(|rule| !desired.contains_key(rule)) {
            match self
                .client
                .delete_network_acl_entry()
                .network_acl_id(acl_id)
                .rule_number(*rule)
                .egress(egress)
                .send()
                .await
                .map_err(|error| aws_error("ec2:DeleteNetworkAclEntry", acl_id, error))
            {
                Err(error) if !is_gone(&error) => return Err(error),
                _ => {}
            }
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
    async fn put_acl_entry(
        &self,
        acl_id: &str,
        egress: bool,
        entry: &AclEntry,
        replace: bool,
    ) -> Result<(), ProviderError> {
        let action = if entry.allow {
            RuleAction::Allow
        } else {
            RuleAction::Deny
        };
        let range = entry
            .ports
            .map(|(from, to)| PortRange::builder().from(from).to(to).build());
        let ipv6 = entry.cidr.contains(':');
        if !replace {
            let call = self
                .client
                .create_network_acl_entry()
                .network_acl_id(acl_id)
                .rule_number(entry.rule)
                .egress(egress)
                .protocol(&entry.protocol)
                .rule_action(action.clone())
                .set_port_range(range.clone());
            let call = if ipv6 {
                call.ipv6_cidr_block(&entry.cidr)
            } else {
                call.cidr_block(&entry.cidr)
            };
            match call
                .send()
                .await
                .map_err(|error| aws_error("ec2:CreateNetworkAclEntry", acl_id, error))
            {
                Err(error) if error.code.as_deref() == Some(ACL_ENTRY_EXISTS) => {
                    tracing::debug!(acl_id, rule = entry.rule, "entry exists; replacing it");
                }
                other => return other.map(|_| ()),
            }
        }
        let call = self
            .client
            .replace_network_acl_entry()
            .network_acl_id(acl_id)
            .rule_number(entry.rule)
            .egress(egress)
            .protocol(&entry.protocol)
            .rule_action(action)
            .set_port_range(range);
        let call = if ipv6 {
            call.ipv6_cidr_block(&entry.cidr)
        } else {
            call.cidr_block(&entry.cidr)
        };
        call.send()
            .await
            .map_err(|error| aws_error("ec2:ReplaceNetworkAclEntry", acl_id, error))?;
        Ok(())
    }

    async fn converge_group(
        &self,
        resource: &Resource,
        group_id: &str,
        current: &Props,
    ) -> Result<(), ProviderError> {
        for (egress, name) in [(false, "ingress"), (true, "egress")] {
            if differs(resource, current, name) {
                self.apply_rules(
                    resource,
                    group_id,
                    &list_of(current.get(name)),
                    &list(resource, name),
                    egress,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Moves a security group's rules of one direction from `live` to `desired`: revoke the
    /// extra ones, authorize the missing ones.
    async fn apply_rules(
        &self,
        resource: &Resource,
        group_id: &str,
        live: &[String],
        desired: &[String],
        egress: bool,
    ) -> Result<(), ProviderError> {
        let to_permissions = |rules: Vec<&String>| -> Result<Vec<IpPermission>, ProviderError> {
            rules
                .into_iter()
                .map(|rule| permission(rule).map_err(|why| bad_input(resource, why)))
                .collect()
        };
        let revoke = to_permissions(live.iter().filter(|rule| !desired.contains(rule)).collect())?;
        let authorize =
            to_permissions(desired.iter().filter(|rule| !live.contains(rule)).collect())?;
        if !revoke.is_empty() {
            let result = if egress {
                self.client
                    .revoke_security_group_egress()
                    .group_id(group_id)
                    .set_ip_permissions(Some(revoke))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|error| aws_error("ec2:RevokeSecurityGroupEgress", group_id, error))
            } else {
                self.client
                    .revoke_security_group_ingress()
                    .group_id(group_id)
                    .set_ip_permissions(Some(revoke))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|error| aws_error("ec2:RevokeSecurityGroupIngress", group_id, error))
            };
            match result {
                Err(error) if error.code.as_deref() != Some("InvalidPermission.NotFound") => {
                    return Err(error);
                }
                _ => {}
            }
        }
        if !authorize.is_empty() {
            let result = if egress {
                self.client
                    .authorize_security_group_egress()
                    .group_id(group_id)
                    .set_ip_permissions(Some(authorize))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|error| aws_error("ec2:AuthorizeSecurityGroupEgress", group_id, error))
            } else {
                self.client
                    .authorize_security_group_ingress()
                    .group_id(group_id)
                    .set_ip_permissions(Some(authorize))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|error| {
                        aws_error("ec2:AuthorizeSecurityGroupIngress", group_id, error)
                    })
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

    async fn converge_endpoint(
        &self,
        resource: &Resource,
        endpoint_id: &str,
        current: &Props,
        ctx: &StepCtx,
    ) -> Result<(), ProviderError> {
        let delta = |name: &str| {
            let desired: BTreeSet<String> = list(resource, name).into_iter().collect();
            let live: BTreeSet<String> = list_of(current.get(name)).into_iter().collect();
            let add: Vec<String> = desired.difference(&live).cloned().collect();
            let remove: Vec<String> = live.difference(&desired).cloned().collect();
            (add, remove)
        };
        let mut call = self
            .client
            .modify_vpc_endpoint()
            .vpc_endpoint_id(endpoint_id);
        let mut changed = false;
        if differs(resource, current, "route_table_ids") {
            let (add, remove) = delta("route_table_ids");
            changed |= !add.is_empty() || !remove.is_empty();
            call = call
                .set_add_route_table_ids((!add.is_empty()).then_some(add))
                .set_remove_route_table_ids((!remove.is_empty()).then_some(remove));
        }
        if differs(resource, current, "subnet_ids") {
            let (add, remove) = delta("subnet_ids");
            changed |= !add.is_empty() || !remove.is_empty();
            call = call
                .set_add_subnet_ids((!add.is_empty()).then_some(add))
                .set_remove_subnet_ids((!remove.is_empty()).then_some(remove));
        }
        if differs(resource, current, "security_group_ids") {
            let (add, remove) = delta("security_group_ids");
            changed |= !add.is_empty() || !remove.is_empty();
            call = call
                .set_add_security_group_ids((!add.is_empty()).then_some(add))
                .set_remove_security_group_ids((!remove.is_empty()).then_some(remove));
        }
        if differs(resource, current, "private_dns_enabled")
            && let Some(enabled) = resource.bool_prop("private_dns_enabled")
        {
            changed = true;
            call = call.private_dns_enabled(enabled);
        }
        if differs(resource, current, "policy")
            && let Some(policy) = resource.props.get("policy").and_then(Value::as_policy)
        {
            changed = true;
            call = call.policy_document(policy.to_string());
        }
        if changed {
            call.send()
                .await
                .map_err(|error| aws_error("ec2:ModifyVpcEndpoint", endpoint_id, error))?;
        }
        if resource.str_prop("endpoint_type") == Some(VpcEndpointType::Interface.as_str()) {
            self.wait_endpoint(endpoint_id, ctx).await?;
        }
        Ok(())
    }

    /// Waits until an endpoint is available; a failed one is reported with AWS's reason.
    async fn wait_endpoint(&self, endpoint_id: &str, ctx: &StepCtx) -> Result<(), ProviderError> {
        wait::until(
            ctx,
            "ec2:DescribeVpcEndpoints",
            &format!("endpoint {endpoint_id} to become available"),
            POLL_INTERVAL,
            || async {
                let found = self
                    .client
                    .describe_vpc_endpoints()
                    .vpc_endpoint_ids(endpoint_id)
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:DescribeVpcEndpoints", endpoint_id, error))?;
                let Some(endpoint) = found.vpc_endpoints().first() else {
                    return Ok(None);
                };
                let state = endpoint_state(endpoint);
                match state.as_str() {
                    "available" | "" => Ok(Some(())),
                    "failed" | "rejected" | "expired" | "deleted" => {
                        let reason = endpoint
                            .failure_reason()
                            .map(str::to_string)
                            .or_else(|| {
                                endpoint.last_error().map(|error| {
                                    format!(
                                        "{}: {}",
                                        error.code().unwrap_or_default(),
                                        error.message().unwrap_or_default()
                                    )
                                })
                            })
                            .unwrap_or_default();
                        Err(ProviderError::local(
                            "ec2:CreateVpcEndpoint",
                            endpoint_id,
                            format!("endpoint {endpoint_id} is {state}: {reason}"),
                        ))
                    }
                    _ => Ok(None),
                }
            },
        )
        .await
    }

    /// Waits until a NAT gateway is available; a failed one is reported with AWS's failure
    /// code and message.
    async fn wait_nat(&self, nat_id: &str, ctx: &StepCtx) -> Result<(), ProviderError> {
        wait::until(
            ctx,
            "ec2:DescribeNatGateways",
            &format!("NAT gateway {nat_id} to become available"),
            POLL_INTERVAL,
            || async {
                let found = self
                    .client
                    .describe_nat_gateways()
                    .nat_gateway_ids(nat_id)
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:DescribeNatGateways", nat_id, error))?;
                let Some(nat) = found.nat_gateways().first() else {
                    return Ok(None);
                };
                match nat.state() {
                    Some(NatGatewayState::Available) => Ok(Some(())),
                    Some(NatGatewayState::Pending) | None => Ok(None),
                    Some(state) => Err(ProviderError {
                        action: "ec2:CreateNatGateway".into(),
                        resource: nat_id.to_string(),
                        class: super::ErrorClass::Fatal,
                        code: nat.failure_code().map(str::to_string),
                        message: format!(
                            "NAT gateway {nat_id} is {}: {}: {}",
                            state.as_str(),
                            nat.failure_code().unwrap_or("no failure code"),
                            nat.failure_message().unwrap_or("no failure message")
                        ),
                    }),
                }
            },
        )
        .await
    }

    /// Creates the bare resource (tags and client token in the call) and returns its id and
    /// the attributes it already has as created.
    ///
    /// Every create goes through the client that never re-sends a request whose outcome is
    /// unknown: CreateVpc, CreateSubnet, CreateInternetGateway, AllocateAddress and
    /// CreateSecurityGroup have no client token, and emulators ignore the tokens of the others.
    /// A lost answer fails the attempt as transient, and the retried step finds the resource
    /// by its `nc:id` tag ([`Self::lookup`]) instead of making a second one.
    async fn create_bare(
        &self,
        resource: &Resource,
        ctx: &StepCtx,
    ) -> Result<(String, Props, Outputs), ProviderError> {
        let name = resource.id.as_str();
        let mut current = Props::new();
        current.insert(TAGS.into(), Value::Map(resource.tags()));
        let mut outputs = Outputs::new();
        let physical = match resource.kind {
            Kind::Vpc => {
                let created = self
                    .creates
                    .create_vpc()
                    .cidr_block(text(resource, "cidr")?)
                    .tag_specifications(tag_specification(ResourceType::Vpc, resource))
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:CreateVpc", name, error))?;
                let vpc_id = created
                    .vpc()
                    .and_then(Vpc::vpc_id)
                    .map(str::to_string)
                    .ok_or_else(|| ProviderError::local("ec2:CreateVpc", name, "no VPC id"))?;
                current.insert("cidr".into(), Value::str(text(resource, "cidr")?));
                current.insert("enable_dns_support".into(), Value::Bool(true));
                vpc_id
            }
            Kind::Subnet => {
                let created = self
                    .creates
                    .create_subnet()
                    .vpc_id(text(resource, "vpc_id")?)
                    .cidr_block(text(resource, "cidr")?)
                    .availability_zone(text(resource, "availability_zone")?)
                    .tag_specifications(tag_specification(ResourceType::Subnet, resource))
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:CreateSubnet", name, error))?;
                let subnet = created.subnet().ok_or_else(|| {
                    ProviderError::local("ec2:CreateSubnet", name, "no subnet in the answer")
                })?;
                current.insert(
                    "map_public_ip_on_launch".into(),
                    Value::Bool(subnet.map_public_ip_on_launch().unwrap_or(false)),
                );
                current.insert("route_table_id".into(), Value::str(""));
                if let Some(arn) = subnet.subnet_arn() {
                    outputs.insert("arn".into(), arn.to_string());
                }
                subnet.subnet_id().unwrap_or_default().to_string()
            }
            Kind::InternetGateway => {
                let created = self
                    .creates
                    .create_internet_gateway()
                    .tag_specifications(tag_specification(ResourceType::InternetGateway, resource))
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:CreateInternetGateway", name, error))?;
                current.insert("vpc_id".into(), Value::str(""));
                created
                    .internet_gateway()
                    .and_then(InternetGateway::internet_gateway_id)
                    .unwrap_or_default()
                    .to_string()
            }
            Kind::ElasticIp => {
                let created = self
                    .creates
                    .allocate_address()
                    .domain(DomainType::Vpc)
                    .tag_specifications(tag_specification(ResourceType::ElasticIp, resource))
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:AllocateAddress", name, error))?;
                let allocation_id = created.allocation_id().unwrap_or_default().to_string();
                outputs.insert("allocation_id".into(), allocation_id.clone());
                if let Some(ip) = created.public_ip() {
                    outputs.insert("public_ip".into(), ip.to_string());
                }
                allocation_id
            }
            Kind::NatGateway => {
                // Earlier NAT gateways of this id that died: each one moves the token on.
                let dead = self
                    .nats(id_filters(&ctx.env, name))
                    .await?
                    .iter()
                    .filter(|nat| !nat_is_live(nat))
                    .count();
                let created = self
                    .creates
                    .create_nat_gateway()
                    .subnet_id(text(resource, "subnet_id")?)
                    .allocation_id(text(resource, "allocation_id")?)
                    .connectivity_type(ConnectivityType::Public)
                    .client_token(self.token(&ctx.env, name, dead))
                    .tag_specifications(tag_specification(ResourceType::Natgateway, resource))
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:CreateNatGateway", name, error))?;
                created
                    .nat_gateway()
                    .and_then(NatGateway::nat_gateway_id)
                    .unwrap_or_default()
                    .to_string()
            }
            Kind::RouteTable => {
                let created = self
                    .creates
                    .create_route_table()
                    .vpc_id(text(resource, "vpc_id")?)
                    .client_token(self.token(&ctx.env, name, 0))
                    .tag_specifications(tag_specification(ResourceType::RouteTable, resource))
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:CreateRouteTable", name, error))?;
                current.insert("routes".into(), Value::List(Vec::new()));
                created
                    .route_table()
                    .and_then(RouteTable::route_table_id)
                    .unwrap_or_default()
                    .to_string()
            }
            Kind::NetworkAcl => {
                let created = self
                    .creates
                    .create_network_acl()
                    .vpc_id(text(resource, "vpc_id")?)
                    .client_token(self.token(&ctx.env, name, 0))
                    .tag_specifications(tag_specification(ResourceType::NetworkAcl, resource))
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:CreateNetworkAcl", name, error))?;
                let acl = created.network_acl();
                if let Some(acl) = acl {
                    current.insert("ingress".into(), strings(acl_entries(acl, false)));
                    current.insert("egress".into(), strings(acl_entries(acl, true)));
                }
                acl.and_then(NetworkAcl::network_acl_id)
                    .unwrap_or_default()
                    .to_string()
            }
            Kind::SecurityGroup => {
                let created = self
                    .creates
                    .create_security_group()
                    .vpc_id(text(resource, "vpc_id")?)
                    .group_name(text(resource, "group_name")?)
                    .description(text(resource, "description")?)
                    .tag_specifications(tag_specification(ResourceType::SecurityGroup, resource))
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:CreateSecurityGroup", name, error))?;
                if let Some(arn) = created.security_group_arn() {
                    outputs.insert("arn".into(), arn.to_string());
                }
                // A new group allows all egress; the desired rules replace that.
                current.insert("ingress".into(), Value::List(Vec::new()));
                current.insert("egress".into(), strings(["all all 0.0.0.0/0"]));
                created.group_id().unwrap_or_default().to_string()
            }
            Kind::VpcEndpoint => {
                let dead = self
                    .endpoints(id_filters(&ctx.env, name))
                    .await?
                    .iter()
                    .filter(|endpoint| !endpoint_is_live(endpoint))
                    .count();
                let interface =
                    resource.str_prop("endpoint_type") == Some(VpcEndpointType::Interface.as_str());
                let mut call = self
                    .creates
                    .create_vpc_endpoint()
                    .vpc_id(text(resource, "vpc_id")?)
                    .service_name(text(resource, "service_name")?)
                    .vpc_endpoint_type(if interface {
                        VpcEndpointType::Interface
                    } else {
                        VpcEndpointType::Gateway
                    })
                    .client_token(self.token(&ctx.env, name, dead))
                    .tag_specifications(tag_specification(ResourceType::VpcEndpoint, resource));
                if let Some(policy) = resource.props.get("policy").and_then(Value::as_policy) {
                    call = call.policy_document(policy.to_string());
                }
                if interface {
                    call = call
                        .set_subnet_ids(Some(list(resource, "subnet_ids")))
                        .set_security_group_ids(Some(list(resource, "security_group_ids")))
                        .private_dns_enabled(
                            resource.bool_prop("private_dns_enabled") == Some(true),
                        );
                } else {
                    call = call.set_route_table_ids(Some(list(resource, "route_table_ids")));
                }
                let created = call
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:CreateVpcEndpoint", name, error))?;
                // Everything was set in the create call.
                for attribute in [
                    "route_table_ids",
                    "subnet_ids",
                    "security_group_ids",
                    "private_dns_enabled",
                    "policy",
                ] {
                    if let Some(value) = resource.props.get(attribute) {
                        current.insert(attribute.into(), value.clone());
                    }
                }
                created
                    .vpc_endpoint()
                    .and_then(VpcEndpoint::vpc_endpoint_id)
                    .unwrap_or_default()
                    .to_string()
            }
            Kind::FlowLog => {
                let created = self
                    .creates
                    .create_flow_logs()
                    .resource_ids(text(resource, "resource_id")?)
                    .resource_type(FlowLogsResourceType::Vpc)
                    .traffic_type(TrafficType::from(text(resource, "traffic_type")?.as_str()))
                    .log_destination_type(LogDestinationType::CloudWatchLogs)
                    .log_group_name(text(resource, "log_group_name")?)
                    .deliver_logs_permission_arn(text(resource, "deliver_logs_permission_arn")?)
                    .max_aggregation_interval(
                        i32::try_from(
                            resource
                                .int_prop("max_aggregation_interval")
                                .unwrap_or(FLOW_LOG_AGGREGATION_SECONDS),
                        )
                        .unwrap_or(600),
                    )
                    .client_token(self.token(
                        &ctx.env,
                        &format!("{name}/{}", text(resource, "resource_id")?),
                        0,
                    ))
                    .tag_specifications(tag_specification(ResourceType::VpcFlowLog, resource))
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:CreateFlowLogs", name, error))?;
                if let Some(failure) = created.unsuccessful().first() {
                    let error = failure.error();
                    return Err(ProviderError {
                        action: "ec2:CreateFlowLogs".into(),
                        resource: name.to_string(),
                        class: super::ErrorClass::Fatal,
                        code: error.and_then(|e| e.code()).map(str::to_string),
                        message: format!(
                            "{}: {}",
                            error.and_then(|e| e.code()).unwrap_or_default(),
                            error.and_then(|e| e.message()).unwrap_or_default()
                        ),
                    });
                }
                created.flow_log_ids().first().cloned().unwrap_or_default()
            }
            other => {
                return Err(ProviderError::local(
                    "create",
                    name,
                    format!("the EC2 provider does not own kind {other}"),
                ));
            }
        };
        if physical.is_empty() {
            return Err(ProviderError::local(
                "create",
                name,
                "AWS answered without the new resource's id",
            ));
        }
        ctx.note(&format!("created {physical}"));
        if resource.kind == Kind::NatGateway {
            self.wait_nat(&physical, ctx).await?;
        }
        Ok((physical, current, outputs))
    }

    /// Disassociates whatever subnets still use a route table about to be deleted (they fall
    /// back to the VPC's main route table), as AWS refuses to delete it otherwise. Our own
    /// subnets have moved or gone by then; this catches foreign ones, and associations
    /// LocalStack keeps after their subnet was deleted.
    async fn release_route_table(&self, table_id: &str) -> Result<(), ProviderError> {
        let tables = match self
            .client
            .describe_route_tables()
            .route_table_ids(table_id)
            .send()
            .await
            .map_err(|error| aws_error("ec2:DescribeRouteTables", table_id, error))
        {
            Err(error) if is_gone(&error) => return Ok(()),
            other => other?,
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
            match self
                .client
                .disassociate_route_table()
                .association_id(association_id)
                .send()
                .await
                .map_err(|error| aws_error("ec2:DisassociateRouteTable", table_id, error))
            {
                Err(error) if !is_gone(&error) => return Err(error),
                _ => {}
            }
        }
        Ok(())
    }

    /// Moves whatever subnets still use a network ACL about to be deleted to the VPC's default
    /// network ACL, as AWS refuses to delete it otherwise (see [`Self::release_route_table`]).
    async fn release_network_acl(&self, observed: &Observed) -> Result<(), ProviderError> {
        let acl_id = observed.physical_id.as_str();
        let acls = match self
            .client
            .describe_network_acls()
            .network_acl_ids(acl_id)
            .send()
            .await
            .map_err(|error| aws_error("ec2:DescribeNetworkAcls", acl_id, error))
        {
            Err(error) if is_gone(&error) => return Ok(()),
            other => other?,
        };
        let Some(acl) = acls.network_acls().first() else {
            return Ok(());
        };
        if acl.associations().is_empty() {
            return Ok(());
        }
        let vpc_id = acl.vpc_id().unwrap_or_default();
        let defaults = self
            .acls(vec![
                filter("vpc-id", [vpc_id]),
                filter("default", ["true"]),
            ])
            .await?;
        let Some(default_id) = defaults.first().and_then(NetworkAcl::network_acl_id) else {
            return Ok(());
        };
        for association in acl.associations() {
            let Some(association_id) = association.network_acl_association_id() else {
                continue;
            };
            match self
                .client
                .replace_network_acl_association()
                .association_id(association_id)
                .network_acl_id(default_id)
                .send()
                .await
                .map_err(|error| aws_error("ec2:ReplaceNetworkAclAssociation", acl_id, error))
            {
                Err(error) if !is_gone(&error) => return Err(error),
                _ => {}
            }
        }
        Ok(())
    }

    /// After its NAT gateway was deleted, an elastic IP must be free. AWS frees it itself;
    /// LocalStack leaves it associated with the deleted gateway's network interface, which
    /// makes the next NAT gateway on that address fail: release that association.
    async fn free_address(
        &self,
        allocation_id: &str,
        interfaces: &[String],
    ) -> Result<(), ProviderError> {
        if allocation_id.is_empty() || interfaces.is_empty() {
            return Ok(());
        }
        let addresses = match self
            .client
            .describe_addresses()
            .allocation_ids(allocation_id)
            .send()
            .await
            .map_err(|error| aws_error("ec2:DescribeAddresses", allocation_id, error))
        {
            Err(error) if is_gone(&error) => return Ok(()),
            other => other?,
        };
        for address in addresses.addresses() {
            let stale = address
                .network_interface_id()
                .is_some_and(|interface| interfaces.iter().any(|i| i == interface));
            if let (true, Some(association_id)) = (stale, address.association_id()) {
                match self
                    .client
                    .disassociate_address()
                    .association_id(association_id)
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:DisassociateAddress", allocation_id, error))
                {
                    Err(error) if !is_gone(&error) => return Err(error),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    async fn delete_one(&self, observed: &Observed, ctx: &StepCtx) -> Result<(), ProviderError> {
        let physical = observed.physical_id.as_str();
        let client = &self.client;
        match observed.kind {
            Kind::Vpc => {
                // A replaced VPC keeps its internet gateway until the gateway moves: detach it.
                let attached = self
                    .gateways(vec![filter("attachment.vpc-id", [physical])])
                    .await?;
                for gateway in &attached {
                    if let Some(gateway_id) = gateway.internet_gateway_id() {
                        self.detach_gateway(gateway_id, physical).await?;
                    }
                }
                delete_when_free(ctx, "ec2:DeleteVpc", physical, || async {
                    client
                        .delete_vpc()
                        .vpc_id(physical)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|error| aws_error("ec2:DeleteVpc", physical, error))
                })
                .await
            }
            Kind::Subnet => {
                delete_when_free(ctx, "ec2:DeleteSubnet", physical, || async {
                    client
                        .delete_subnet()
                        .subnet_id(physical)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|error| aws_error("ec2:DeleteSubnet", physical, error))
                })
                .await
            }
            Kind::InternetGateway => {
                let attached = observed
                    .props
                    .get("vpc_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !attached.is_empty() {
                    self.detach_gateway(physical, attached).await?;
                }
                delete_when_free(ctx, "ec2:DeleteInternetGateway", physical, || async {
                    client
                        .delete_internet_gateway()
                        .internet_gateway_id(physical)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|error| aws_error("ec2:DeleteInternetGateway", physical, error))
                })
                .await
            }
            Kind::ElasticIp => {
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
            Kind::NatGateway => {
                match client
                    .delete_nat_gateway()
                    .nat_gateway_id(physical)
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:DeleteNatGateway", physical, error))
                {
                    Err(error) if is_gone(&error) => return Ok(()),
                    Err(error) => return Err(error),
                    Ok(_) => {}
                }
                // Its elastic IP and network interface are only released once it is deleted.
                let interfaces = wait::until(
                    ctx,
                    "ec2:DescribeNatGateways",
                    &format!("NAT gateway {physical} to be deleted"),
                    POLL_INTERVAL,
                    || async {
                        let found = client
                            .describe_nat_gateways()
                            .nat_gateway_ids(physical)
                            .send()
                            .await
                            .map_err(|error| aws_error("ec2:DescribeNatGateways", physical, error));
                        match found {
                            Err(error) if is_gone(&error) => Ok(Some(Vec::new())),
                            Err(error) => Err(error),
                            Ok(found) => {
                                let deleted = found.nat_gateways().iter().all(|nat| {
                                    matches!(
                                        nat.state(),
                                        Some(NatGatewayState::Deleted | NatGatewayState::Failed)
                                    )
                                });
                                Ok(deleted.then(|| {
                                    found
                                        .nat_gateways()
                                        .iter()
                                        .flat_map(NatGateway::nat_gateway_addresses)
                                        .filter_map(|address| {
                                            address.network_interface_id().map(str::to_string)
                                        })
                                        .collect::<Vec<String>>()
                                }))
                            }
                        }
                    },
                )
                .await?;
                let allocation = observed
                    .props
                    .get("allocation_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                self.free_address(allocation, &interfaces).await
            }
            Kind::RouteTable => {
                self.release_route_table(physical).await?;
                delete_when_free(ctx, "ec2:DeleteRouteTable", physical, || async {
                    client
                        .delete_route_table()
                        .route_table_id(physical)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|error| aws_error("ec2:DeleteRouteTable", physical, error))
                })
                .await
            }
            Kind::NetworkAcl => {
                self.release_network_acl(observed).await?;
                delete_when_free(ctx, "ec2:DeleteNetworkAcl", physical, || async {
                    client
                        .delete_network_acl()
                        .network_acl_id(physical)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|error| aws_error("ec2:DeleteNetworkAcl", physical, error))
                })
                .await
            }
            Kind::SecurityGroup => {
                delete_when_free(ctx, "ec2:DeleteSecurityGroup", physical, || async {
                    client
                        .delete_security_group()
                        .group_id(physical)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|error| aws_error("ec2:DeleteSecurityGroup", physical, error))
                })
                .await
            }
            Kind::VpcEndpoint => {
                let deleted = client
                    .delete_vpc_endpoints()
                    .vpc_endpoint_ids(physical)
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:DeleteVpcEndpoints", physical, error));
                match deleted {
                    Err(error) if is_gone(&error) => return Ok(()),
                    Err(error) => return Err(error),
                    Ok(output) => {
                        if let Some(failure) = output.unsuccessful().first() {
                            let code = failure.error().and_then(|e| e.code()).unwrap_or_default();
                            if !code.ends_with(".NotFound") {
                                return Err(ProviderError::local(
                                    "ec2:DeleteVpcEndpoints",
                                    physical,
                                    format!(
                                        "{code}: {}",
                                        failure
                                            .error()
                                            .and_then(|e| e.message())
                                            .unwrap_or_default()
                                    ),
                                ));
                            }
                        }
                    }
                }
                // Interface endpoints release their network interfaces while deleting.
                wait::until(
                    ctx,
                    "ec2:DescribeVpcEndpoints",
                    &format!("endpoint {physical} to be deleted"),
                    POLL_INTERVAL,
                    || async {
                        let found = client
                            .describe_vpc_endpoints()
                            .vpc_endpoint_ids(physical)
                            .send()
                            .await
                            .map_err(|error| {
                                aws_error("ec2:DescribeVpcEndpoints", physical, error)
                            });
                        match found {
                            Err(error) if is_gone(&error) => Ok(Some(())),
                            Err(error) => Err(error),
                            Ok(found) => Ok(found
                                .vpc_endpoints()
                                .iter()
                                .all(|endpoint| {
                                    matches!(
                                        endpoint_state(endpoint).as_str(),
                                        "deleted" | "failed"
                                    )
                                })
                                .then_some(())),
                        }
                    },
                )
                .await
            }
            Kind::FlowLog => {
                let deleted = client
                    .delete_flow_logs()
                    .flow_log_ids(physical)
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:DeleteFlowLogs", physical, error));
                match deleted {
                    Err(error) if !is_gone(&error) => Err(error),
                    _ => Ok(()),
                }
            }
            other => Err(ProviderError::local(
                "delete",
                physical,
                format!("the EC2 provider does not own kind {other}"),
            )),
        }
    }
}

/// How a route's destination is named.
enum Destination {
    Ipv4,
    Ipv6,
    PrefixList,
}

fn destination_kind(destination: &str) -> Destination {
    if destination.starts_with("pl-") {
        Destination::PrefixList
    } else if destination.contains(':') {
        Destination::Ipv6
    } else {
        Destination::Ipv4
    }
}

/// Which route parameter a target id goes in.
enum Target {
    Gateway,
    Nat,
    Interface,
    Peering,
    Transit,
    EgressOnly,
    Instance,
}

fn target_kind(target: &str) -> Target {
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

#[async_trait]
impl Provider for Ec2Provider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let live = self.read(desired, env).await?;
        Ok(assemble(&live, desired, env, &self.region))
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        // Lookup before create: a retry, or a re-run after a kill, finishes what exists.
        let (physical, current, outputs) = match self.lookup(resource, &ctx.env).await? {
            Some(existing) => {
                ctx.note(&format!("found {} from an earlier attempt", existing.0));
                if resource.kind == Kind::NatGateway {
                    self.wait_nat(&existing.0, ctx).await?;
                }
                existing
            }
            None => self.create_bare(resource, ctx).await?,
        };
        self.converge(resource, &physical, &current, &outputs, ctx)
            .await
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        _delta: &Delta,
        ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        self.converge(
            resource,
            &observed.physical_id,
            &observed.props,
            &observed.outputs,
            ctx,
        )
        .await
    }

    async fn delete(&self, observed: &Observed, ctx: &StepCtx) -> Result<(), ProviderError> {
        self.delete_one(observed, ctx).await
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{
        NetworkAclAssociation, NetworkAclEntry, Route, RouteTableAssociation, State,
    };

    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
        pairs
            .iter()
            .map(|(key, value)| Tag::builder().key(*key).value(*value).build())
            .collect()
    }

    fn ours(id: &str) -> Vec<Tag> {
        tags(&[
            ("ManagedBy", "nc-provision"),
            ("nc:env", "stg"),
            ("nc:id", id),
        ])
    }

    #[test]
    fn rules_and_entries_read_back_as_the_module_writes_them() {
        let permission = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(IpRange::builder().cidr_ip("10.1.0.0/16").build())
            .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-1").build())
            .build();
        let all = IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let read = rules(&[permission, all]);
        assert_eq!(
            read,
            ["tcp 443 10.1.0.0/16", "tcp 443 sg-1", "all all 0.0.0.0/0"]
        );
        // And back: each string is the permission AWS would list.
        for rule in &read {
            assert_eq!(rules(&[permission_of(rule)]), vec![rule.clone()], "{rule}");
        }

        let entry = |rule: i32, action: RuleAction, from: i32, to: i32, egress: bool| {
            NetworkAclEntry::builder()
                .rule_number(rule)
                .rule_action(action)
                .protocol("6")
                .port_range(PortRange::builder().from(from).to(to).build())
                .cidr_block("0.0.0.0/0")
                .egress(egress)
                .build()
        };
        let acl = NetworkAcl::builder()
            .entries(entry(130, RuleAction::Allow, 1024, 65535, false))
            .entries(entry(100, RuleAction::Deny, 22, 22, false))
            .entries(entry(100, RuleAction::Allow, 443, 443, true))
            .entries(
                NetworkAclEntry::builder()
                    .rule_number(DEFAULT_ACL_RULE)
                    .rule_action(RuleAction::Deny)
                    .protocol("-1")
                    .cidr_block("0.0.0.0/0")
                    .egress(false)
                    .build(),
            )
            .build();
        assert_eq!(
            acl_entries(&acl, false),
            [
                "100 deny tcp 22 0.0.0.0/0",
                "130 allow tcp 1024-65535 0.0.0.0/0"
            ],
            "in rule order, without the catch-all"
        );
        assert_eq!(acl_entries(&acl, true), ["100 allow tcp 443 0.0.0.0/0"]);
        let parsed = parse_acl_entry("130 allow tcp 1024-65535 0.0.0.0/0").unwrap();
        assert_eq!(
            parsed,
            AclEntry {
                rule: 130,
                allow: true,
                protocol: "6".into(),
                ports: Some((1024, 65535)),
                cidr: "0.0.0.0/0".into(),
            }
        );
        for bad in [
            "130 allow tcp",
            "x allow tcp 1 0.0.0.0/0",
            "1 permit tcp 1 0.0.0.0/0",
        ] {
            assert!(parse_acl_entry(bad).is_err(), "{bad}");
        }
    }

    fn permission_of(rule: &str) -> IpPermission {
        let mut permission = permission(rule).unwrap();
        // AWS lists `-1` for every protocol.
        if permission.ip_protocol() == Some("-1") {
            permission = IpPermission::builder()
                .ip_protocol("-1")
                .set_ip_ranges(Some(permission.ip_ranges().to_vec()))
                .build();
        }
        permission
    }

    #[test]
    fn routes_leave_out_the_local_route_and_endpoint_routes() {
        let table = RouteTable::builder()
            .routes(
                Route::builder()
                    .destination_cidr_block("10.1.0.0/16")
                    .gateway_id("local")
                    .build(),
            )
            .routes(
                Route::builder()
                    .destination_prefix_list_id("pl-1")
                    .gateway_id("vpce-1")
                    .build(),
            )
            .routes(
                Route::builder()
                    .destination_cidr_block("0.0.0.0/0")
                    .nat_gateway_id("nat-1")
                    .build(),
            )
            .build();
        assert_eq!(routes(&table), ["0.0.0.0/0 -> nat-1"]);
        assert_eq!(
            parse_route("0.0.0.0/0 -> nat-1").unwrap(),
            ("0.0.0.0/0".to_string(), "nat-1".to_string())
        );
        assert!(matches!(target_kind("nat-1"), Target::Nat));
        assert!(matches!(target_kind("igw-1"), Target::Gateway));
        assert!(matches!(destination_kind("pl-1"), Destination::PrefixList));
    }

    #[test]
    fn assemble_matches_by_tag_and_ignores_the_untagged_default_vpc() {
        let vpc = Resource::new("vpc.main", Kind::Vpc, "vpc");
        let subnet_a = Resource::new("vpc.subnet.app-a", Kind::Subnet, "a");
        let subnet_b = Resource::new("vpc.subnet.app-b", Kind::Subnet, "b");
        let endpoint = Resource::new("vpc.endpoint.kms", Kind::VpcEndpoint, "kms");
        let desired = [&vpc, &subnet_a, &subnet_b, &endpoint];
        let subnet = |id: &str, logical: &str| {
            Subnet::builder()
                .subnet_id(id)
                .vpc_id("vpc-1")
                .cidr_block("10.1.32.0/19")
                .set_tags(Some(ours(logical)))
                .build()
        };
        let live = Live {
            vpcs: vec![
                Vpc::builder()
                    .vpc_id("vpc-1")
                    .cidr_block("10.1.0.0/16")
                    .set_tags(Some(ours("vpc.main")))
                    .build(),
                // LocalStack's default VPC: no tags of ours.
                Vpc::builder()
                    .vpc_id("vpc-default")
                    .cidr_block("172.31.0.0/16")
                    .build(),
            ],
            subnets: vec![
                subnet("subnet-b", "vpc.subnet.app-b"),
                subnet("subnet-a", "vpc.subnet.app-a"),
                subnet("subnet-a2", "vpc.subnet.app-a"),
                subnet("subnet-old", "vpc.subnet.app-c"),
            ],
            tables: vec![
                RouteTable::builder()
                    .route_table_id("rtb-a")
                    .associations(
                        RouteTableAssociation::builder()
                            .subnet_id("subnet-a")
                            .route_table_association_id("rtbassoc-a")
                            .main(false)
                            .build(),
                    )
                    .set_tags(Some(ours("vpc.rt.app-a")))
                    .build(),
            ],
            acls: vec![
                NetworkAcl::builder()
                    .network_acl_id("acl-default")
                    .vpc_id("vpc-1")
                    .is_default(true)
                    .associations(
                        NetworkAclAssociation::builder()
                            .subnet_id("subnet-a")
                            .network_acl_association_id("aclassoc-a")
                            .build(),
                    )
                    .build(),
            ],
            endpoints: vec![
                VpcEndpoint::builder()
                    .vpc_endpoint_id("vpce-1")
                    .vpc_endpoint_type(VpcEndpointType::Interface)
                    .state(State::from("available"))
                    .subnet_ids("subnet-foreign")
                    .subnet_ids("subnet-b")
                    .subnet_ids("subnet-a")
                    .set_tags(Some(ours("vpc.endpoint.kms")))
                    .build(),
            ],
            dns: BTreeMap::from([("vpc-1".to_string(), (true, false))]),
            ..Live::default()
        };
        let observation = assemble(&live, &desired, "stg", "us-east-1");
        let found: Vec<&str> = observation.found.keys().map(LogicalId::as_str).collect();
        assert_eq!(
            found,
            [
                "vpc.endpoint.kms",
                "vpc.main",
                "vpc.subnet.app-a",
                "vpc.subnet.app-b"
            ]
        );
        let orphans: Vec<&str> = observation.orphans.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(
            orphans,
            [
                "vpc.subnet.app-a~subnet-a2",
                "vpc.subnet.app-c",
                "vpc.rt.app-a"
            ],
            "a duplicate, and resources of ours the spec does not have"
        );
        let vpc = &observation.found[&LogicalId::new("vpc.main")];
        assert_eq!(vpc.props["enable_dns_hostnames"], Value::Bool(false));
        let a = &observation.found[&LogicalId::new("vpc.subnet.app-a")];
        assert_eq!(a.props["route_table_id"], Value::str("rtb-a"));
        assert_eq!(a.props["network_acl_id"], Value::str("acl-default"));
        assert_eq!(a.outputs["route_table_association_id"], "rtbassoc-a");
        let kms = &observation.found[&LogicalId::new("vpc.endpoint.kms")];
        assert_eq!(
            kms.props["subnet_ids"],
            strings(["subnet-a", "subnet-b", "subnet-foreign"]),
            "ours in logical-id order, then the rest"
        );
    }

    #[test]
    fn client_tokens_are_stable_within_a_run_and_move_on_with_each_run_and_dead_incarnation() {
        let first = client_token("run-1", "stg", "vpc.nat.a", 0);
        assert_eq!(first, client_token("run-1", "stg", "vpc.nat.a", 0));
        assert_ne!(first, client_token("run-1", "stg", "vpc.nat.a", 1));
        assert_ne!(first, client_token("run-1", "prod", "vpc.nat.a", 0));
        assert_ne!(first, client_token("run-1", "stg", "vpc.nat.b", 0));
        assert_ne!(
            first,
            client_token("run-2", "stg", "vpc.nat.a", 0),
            "a later run (the resource deleted since) gets a new token"
        );
        assert!(first.len() <= 64 && first.is_ascii());
    }

    mod mocked {
        use std::sync::Arc;
        use std::time::Duration;

        use aws_sdk_ec2::operation::create_nat_gateway::CreateNatGatewayOutput;
        use aws_sdk_ec2::operation::describe_nat_gateways::DescribeNatGatewaysOutput;
        use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};

        use super::*;

        fn ctx(id: &str) -> StepCtx {
            StepCtx {
                id: LogicalId::new(id),
                env: "stg".into(),
                progress: Arc::new(|_| {}),
                wait_timeout: Duration::from_secs(5),
            }
        }

        fn nat_resource() -> Resource {
            Resource::new("vpc.nat.a", Kind::NatGateway, "nc-stg-nat-a")
                .prop("subnet_id", "subnet-1")
                .prop("allocation_id", "eipalloc-1")
                .prop(
                    "tags",
                    Value::Map(BTreeMap::from([("nc:id".into(), "vpc.nat.a".into())])),
                )
        }

        #[tokio::test]
        async fn a_nat_gateway_that_fails_is_reported_with_aws_failure_message() {
            // Lookup and generation count: nothing yet.
            let lookup = mock!(aws_sdk_ec2::Client::describe_nat_gateways)
                .match_requests(|request| request.nat_gateway_ids().is_empty())
                .then_output(|| DescribeNatGatewaysOutput::builder().build());
            let create = mock!(aws_sdk_ec2::Client::create_nat_gateway)
                .match_requests(|request| {
                    request
                        .client_token()
                        .is_some_and(|token| token == client_token("run", "stg", "vpc.nat.a", 0))
                })
                .then_output(|| {
                    CreateNatGatewayOutput::builder()
                        .nat_gateway(
                            NatGateway::builder()
                                .nat_gateway_id("nat-1")
                                .state(NatGatewayState::Pending)
                                .build(),
                        )
                        .build()
                });
            let failed = mock!(aws_sdk_ec2::Client::describe_nat_gateways)
                .match_requests(|request| request.nat_gateway_ids() == ["nat-1"])
                .then_output(|| {
                    DescribeNatGatewaysOutput::builder()
                        .nat_gateways(
                            NatGateway::builder()
                                .nat_gateway_id("nat-1")
                                .state(NatGatewayState::Failed)
                                .failure_code("Gateway.NotAttached")
                                .failure_message("Network vpc-1 has no Internet gateway attached")
                                .build(),
                        )
                        .build()
                });
            let provider = Ec2Provider::with_client(
                mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&lookup, &create, &failed]),
                "run",
            );
            let error = provider
                .create(&nat_resource(), &ctx("vpc.nat.a"))
                .await
                .unwrap_err();
            assert_eq!(create.num_calls(), 1);
            assert!(
                error.message.contains("Gateway.NotAttached")
                    && error.message.contains("has no Internet gateway attached"),
                "{error}"
            );
        }

        #[tokio::test]
        async fn a_create_finds_what_an_earlier_attempt_made_and_makes_nothing() {
            let found = mock!(aws_sdk_ec2::Client::describe_vpcs)
                .match_requests(|request| {
                    request
                        .filters()
                        .iter()
                        .any(|f| f.name() == Some("tag:nc:id") && f.values() == ["vpc.main"])
                })
                .then_output(|| {
                    DescribeVpcsOutput::builder()
                        .vpcs(
                            Vpc::builder()
                                .vpc_id("vpc-1")
                                .cidr_block("10.1.0.0/16")
                                .set_tags(Some(ours("vpc.main")))
                                .build(),
                        )
                        .build()
                });
            let groups = mock!(aws_sdk_ec2::Client::describe_security_groups)
                .then_output(|| {
                    aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput::builder()
                        .security_groups(
                            SecurityGroup::builder()
                                .group_id("sg-default")
                                .group_name("default")
                                .vpc_id("vpc-1")
                                .build(),
                        )
                        .build()
                });
            let acls = mock!(aws_sdk_ec2::Client::describe_network_acls).then_output(|| {
                aws_sdk_ec2::operation::describe_network_acls::DescribeNetworkAclsOutput::builder()
                    .network_acls(
                        NetworkAcl::builder()
                            .network_acl_id("acl-default")
                            .vpc_id("vpc-1")
                            .is_default(true)
                            .build(),
                    )
                    .build()
            });
            let attribute = mock!(aws_sdk_ec2::Client::describe_vpc_attribute).then_output(|| {
                aws_sdk_ec2::operation::describe_vpc_attribute::DescribeVpcAttributeOutput::builder(
                )
                .enable_dns_support(AttributeBooleanValue::builder().value(true).build())
                .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
                .build()
            });
            let create = mock!(aws_sdk_ec2::Client::create_vpc).then_output(|| {
                aws_sdk_ec2::operation::create_vpc::CreateVpcOutput::builder().build()
            });
            let provider = Ec2Provider::with_client(
                mock_client!(
                    aws_sdk_ec2,
                    RuleMode::MatchAny,
                    [&found, &groups, &acls, &attribute, &create]
                ),
                "run",
            );
            let tags = tag_map(&ours("vpc.main"));
            let vpc = Resource::new("vpc.main", Kind::Vpc, "nc-stg-vpc")
                .prop("cidr", "10.1.0.0/16")
                .prop("enable_dns_support", true)
                .prop("enable_dns_hostnames", true)
                .prop("default_security_group_ingress", Value::List(vec![]))
                .prop("default_security_group_egress", Value::List(vec![]))
                .prop("default_network_acl_ingress", Value::List(vec![]))
                .prop("default_network_acl_egress", Value::List(vec![]))
                .prop("tags", Value::Map(tags));
            let outputs = provider.create(&vpc, &ctx("vpc.main")).await.unwrap();
            assert_eq!(outputs["id"], "vpc-1");
            assert_eq!(
                create.num_calls(),
                0,
                "the VPC an earlier attempt made is reused"
            );
        }

        /// EC2's error document for `code`.
        fn ec2_error(code: &str) -> String {
            format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>already there</Message>\
                 </Error></Errors><RequestID>1</RequestID></Response>"
            )
        }

        /// The race of an entry made after the observation — in practice, an earlier create
        /// whose answer was lost and that the SDK sent again — cannot be staged on an emulator
        /// at a chosen moment, so this one runs over a mocked client.
        #[tokio::test]
        async fn an_acl_entry_that_already_exists_is_replaced_by_exactly_the_one_wanted() {
            let create = mock!(aws_sdk_ec2::Client::create_network_acl_entry)
                .sequence()
                .http_status(400, Some(ec2_error(ACL_ENTRY_EXISTS)))
                .build();
            let replace = mock!(aws_sdk_ec2::Client::replace_network_acl_entry)
                .match_requests(|request| {
                    request.network_acl_id() == Some("acl-1")
                        && request.rule_number() == Some(100)
                        && request.egress() == Some(false)
                        && request.protocol() == Some("6")
                        && request.rule_action() == Some(&RuleAction::Allow)
                        && request.cidr_block() == Some("10.0.0.0/16")
                        && request
                            .port_range()
                            .is_some_and(|range| range.from() == Some(443) && range.to() == Some(443))
                })
                .then_output(|| {
                    aws_sdk_ec2::operation::replace_network_acl_entry::ReplaceNetworkAclEntryOutput::builder()
                        .build()
                });
            let provider = Ec2Provider::with_client(
                mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&create, &replace]),
                "run",
            );
            let acl = Resource::new("vpc.nacl.app", Kind::NetworkAcl, "nc-stg-app")
                .prop("ingress", strings(["100 allow tcp 443 10.0.0.0/16"]));
            provider
                .apply_entries(
                    &acl,
                    "acl-1",
                    &[],
                    &["100 allow tcp 443 10.0.0.0/16".to_string()],
                    false,
                )
                .await
                .expect("already there is success");
            assert_eq!(create.num_calls(), 1);
            assert_eq!(replace.num_calls(), 1, "the wanted entry is set");
        }

        /// As above, for a route (no emulator stages the race).
        #[tokio::test]
        async fn a_route_that_already_exists_is_pointed_at_the_wanted_target() {
            let create = mock!(aws_sdk_ec2::Client::create_route)
                .sequence()
                .http_status(400, Some(ec2_error(ROUTE_EXISTS)))
                .build();
            let replace = mock!(aws_sdk_ec2::Client::replace_route)
                .match_requests(|request| {
                    request.route_table_id() == Some("rtb-1")
                        && request.destination_cidr_block() == Some("0.0.0.0/0")
                        && request.nat_gateway_id() == Some("nat-1")
                })
                .then_output(|| {
                    aws_sdk_ec2::operation::replace_route::ReplaceRouteOutput::builder().build()
                });
            let provider = Ec2Provider::with_client(
                mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&create, &replace]),
                "run",
            );
            let table = Resource::new("vpc.rt.app-a", Kind::RouteTable, "nc-stg-rt-app-a")
                .prop("routes", strings(["0.0.0.0/0 -> nat-1"]));
            let mut current = Props::new();
            current.insert("routes".into(), Value::List(Vec::new()));
            provider
                .converge_routes(&table, "rtb-1", &current)
                .await
                .expect("already there is success");
            assert_eq!(create.num_calls(), 1);
            assert_eq!(replace.num_calls(), 1, "the wanted route is set");
        }
    }
}
