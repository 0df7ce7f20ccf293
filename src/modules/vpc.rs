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
//!   `"100 deny tcp 22 0.0.0.0/0"` (rule number, action, protocol, ports, CIDR).
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

use serde_json::json;

use super::{Context, addr, id, region_code};
use crate::model::Kind;
use crate::model::{LogicalId, Resource, Value, policy_ref};
use crate::spec::model::Ipv4Cidr;

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
/// Flow logs aggregate packets over this many seconds (AWS's default).
pub const FLOW_LOG_AGGREGATION_SECONDS: i64 = 600;
/// The flow-log service's principal.
const FLOW_LOG_SERVICE: &str = "vpc-flow-logs.amazonaws.com";
/// The name of the flow-log role's one inline policy.
const FLOW_LOG_POLICY: &str = "deliver-to-flow-log-group";

/// Prefix length of every subnet tier (REFERENCE.md).
pub const TIER_PREFIX: u8 = 19;
/// Everything.
const ANYWHERE: &str = "0.0.0.0/0";
/// The ephemeral port range return traffic uses.
const EPHEMERAL: &str = "1024-65535";

/// The three subnet tiers, in their order inside an AZ's block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Public subnets: load balancers, NAT gateways; routed to the internet gateway.
    Public,
    /// Private application subnets: workloads and interface endpoints; routed to a NAT.
    App,
    /// Private data subnets: no route out of the VPC, endpoints only.
    Data,
}

impl Tier {
    /// Every tier, in layout order.
    pub const ALL: [Tier; 3] = [Tier::Public, Tier::App, Tier::Data];

    /// The `tier` tag value and the id part.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Public => "public",
            Tier::App => "app",
            Tier::Data => "data",
        }
    }

    fn position(self) -> u32 {
        match self {
            Tier::Public => 0,
            Tier::App => 1,
            Tier::Data => 2,
        }
    }
}

/// A gateway endpoint's or interface endpoint's service.
struct EndpointService {
    /// The service name's last part (`com.amazonaws.{region}.{name}`).
    name: &'static str,
    /// The IAM action prefix the policy admits.
    actions: &'static str,
    /// Gateway (route tables) or interface (ENIs in subnets).
    gateway: bool,
}

const ENDPOINT_SERVICES: [EndpointService; 7] = [
    EndpointService {
        name: "s3",
        actions: "s3:*",
        gateway: true,
    },
    EndpointService {
        name: "dynamodb",
        actions: "dynamodb:*",
        gateway: true,
    },
    EndpointService {
        name: "kms",
        actions: "kms:*",
        gateway: false,
    },
    EndpointService {
        name: "secretsmanager",
        actions: "secretsmanager:*",
        gateway: false,
    },
    EndpointService {
        name: "sts",
        actions: "sts:*",
        gateway: false,
    },
    EndpointService {
        name: "logs",
        actions: "logs:*",
        gateway: false,
    },
    EndpointService {
        name: "monitoring",
        actions: "cloudwatch:*",
        gateway: false,
    },
];

/// One availability zone of the layout.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Zone name, e.g. `us-east-1a`.
    pub name: String,
    /// The id part, the zone's letter: `a`.
    pub letter: String,
    /// Position in the zone list: the CIDR block.
    pub index: u32,
}

/// The zones the layout uses: the target's, first `az_count`.
#[must_use]
pub fn zones(context: &Context<'_>) -> Vec<Zone> {
    let region = &context.target.region;
    context
        .target
        .availability_zones
        .iter()
        .take(usize::from(context.spec.vpc.az_count))
        .zip(0u32..)
        .map(|(name, index)| Zone {
            name: name.clone(),
            letter: name
                .strip_prefix(region.as_str())
                .filter(|letter| !letter.is_empty())
                .map_or_else(|| zone_letter(index), str::to_string),
            index,
        })
        .collect()
}

fn zone_letter(index: u32) -> String {
    char::from_u32(u32::from(b'a') + index).map_or_else(|| index.to_string(), String::from)
}

/// The prefix of each tier's subnets: /19, or when three tiers of `az_count` zones do not fit
/// (only outside validated specs, e.g. the 3-AZ bench in a /16) the longest that does.
#[must_use]
pub fn tier_prefix(cidr: Ipv4Cidr, az_count: u8) -> u8 {
    let blocks = u32::from(az_count).max(1) * 3;
    let bits = u8::try_from(u32::BITS - (blocks - 1).leading_zeros()).unwrap_or(32);
    TIER_PREFIX.max(cidr.prefix.saturating_add(bits)).min(32)
}

/// A tier's subnet CIDR in zone `index`.
#[must_use]
pub fn subnet_cidr(cidr: Ipv4Cidr, az_count: u8, index: u32, tier: Tier) -> Option<Ipv4Cidr> {
    cidr.subnet(tier_prefix(cidr, az_count), index * 3 + tier.position())
}

/// Logical id of a tier's subnet in a zone (`vpc.subnet.app-a`).
#[must_use]
pub fn subnet_id(tier: Tier, letter: &str) -> LogicalId {
    id(&format!("vpc.subnet.{}-{letter}", tier.as_str()))
}

/// Logical id of a private route table (`vpc.rt.app-a`, `vpc.rt.data-a`).
#[must_use]
pub fn route_table_id(tier: Tier, letter: &str) -> LogicalId {
    match tier {
        Tier::Public => id(PUBLIC_ROUTE_TABLE),
        _ => id(&format!("vpc.rt.{}-{letter}", tier.as_str())),
    }
}

/// Logical id of a tier's network ACL (`vpc.nacl.data`).
#[must_use]
pub fn network_acl_id(tier: Tier) -> LogicalId {
    id(&format!("vpc.nacl.{}", tier.as_str()))
}

/// Logical id of the NAT gateway in a zone (`vpc.nat.a`).
#[must_use]
pub fn nat_id(letter: &str) -> LogicalId {
    id(&format!("vpc.nat.{letter}"))
}

/// Logical id of a NAT gateway's elastic IP (`vpc.eip.nat-a`).
#[must_use]
pub fn nat_eip_id(letter: &str) -> LogicalId {
    id(&format!("vpc.eip.nat-{letter}"))
}

/// Logical id of an endpoint (`vpc.endpoint.s3`).
#[must_use]
pub fn endpoint_id(service: &str) -> LogicalId {
    id(&format!("vpc.endpoint.{service}"))
}

pub(super) fn expand(context: &Context<'_>) -> Vec<Resource> {
    let spec = &context.spec.vpc;
    let zones = zones(context);
    let vpc_ref = || Value::reference(&id(VPC), "id");
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
            Value::List(vec![route(
                ANYWHERE,
                Value::reference(&id(INTERNET_GATEWAY), "id"),
            )]),
        ),
    );
    for zone in &zones {
        let routes = nat_for(zone)
            .map(|nat| vec![route(ANYWHERE, Value::reference(&nat, "id"))])
            .unwrap_or_default();
        resources.push(
            route_table(context, &route_table_id(Tier::App, &zone.letter), Tier::App)
                .prop("routes", Value::List(routes)),
        );
        resources.push(
            route_table(
                context,
                &route_table_id(Tier::Data, &zone.letter),
                Tier::Data,
            )
            .prop("routes", Value::List(Vec::new())),
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
        resources.push(endpoints_security_group(context));
        let mut private_tables: Vec<LogicalId> = zones
            .iter()
            .flat_map(|zone| [Tier::App, Tier::Data].map(|tier| route_table_id(tier, &zone.letter)))
            .collect();
        private_tables.sort();
        let mut app_subnets: Vec<LogicalId> = zones
            .iter()
            .map(|zone| subnet_id(Tier::App, &zone.letter))
            .collect();
        app_subnets.sort();
        for service in &ENDPOINT_SERVICES {
            let endpoint_id = endpoint_id(service.name);
            let mut endpoint = Resource::new(
                endpoint_id.as_str(),
                Kind::VpcEndpoint,
                format!("com.amazonaws.{}.{}", context.target.region, service.name),
            )
            .prop("vpc_id", vpc_ref())
            .prop(
                "service_name",
                format!("com.amazonaws.{}.{}", context.target.region, service.name),
            )
            .prop("policy", Value::Policy(endpoint_policy(context, service)))
            .prop(
                "tags",
                tags(
                    context,
                    &endpoint_id,
                    &format!("nc-{}-{}-endpoint", context.env(), service.name),
                    None,
                ),
            )
            .replace_on(&["vpc_id", "service_name", "endpoint_type"]);
            endpoint = if service.gateway {
                endpoint
                    .prop("endpoint_type", "Gateway")
                    .prop("route_table_ids", references(&private_tables))
            } else {
                endpoint
                    .prop("endpoint_type", "Interface")
                    .prop("subnet_ids", references(&app_subnets))
                    .prop(
                        "security_group_ids",
                        references(&[id(ENDPOINTS_SECURITY_GROUP)]),
                    )
                    .prop("private_dns_enabled", true)
            };
            resources.push(endpoint);
        }
    }
    if spec.enable_flow_logs {
        resources.extend(flow_logs(context));
    }
    resources
}

/// The flow log of the VPC, its log group `/aws/vpc/flow-logs/{vpc-id}` (retention from the
/// spec, encrypted with the logs key; kind `log_group` of the observability provider) and the
/// IAM role it delivers through (kind `iam_role`), which trusts only the flow-log service of
/// this account and may write only to that group.
///
/// The role is regional, unlike the iam-baseline's: its policy names this region's group, so
/// each region (the DR region too) gets its own, `nc-{env}-vpc-flow-logs-{region code}`.
fn flow_logs(context: &Context<'_>) -> Vec<Resource> {
    let env = context.env();
    let region = &context.target.region;
    let account = &context.target.account_id;
    let vpc = id(VPC);
    let group_id = id(FLOW_LOG_GROUP);
    let role_id = id(FLOW_LOG_ROLE);
    let logs_key = addr::logs_key();
    let group_name = Value::Concat(vec![
        Value::str(addr::FLOW_LOG_PREFIX),
        Value::reference(&vpc, "id"),
    ]);
    let group = Resource::new(
        FLOW_LOG_GROUP,
        Kind::LogGroup,
        format!("{}<vpc id>", addr::FLOW_LOG_PREFIX),
    )
    .prop("group_name", group_name)
    .prop("name_prefix", addr::FLOW_LOG_PREFIX)
    .prop(
        "retention_days",
        i64::from(context.spec.vpc.flow_logs_retention_days),
    )
    .prop("kms_key", Value::reference(&logs_key, "arn"))
    .prop(
        "tags",
        tags(context, &group_id, &format!("nc-{env}-vpc-flow-logs"), None),
    )
    .after(&logs_key)
    .replace_on(&["group_name"])
    .retained();

    // The group's ARN, built from the VPC id (the group itself may not exist yet).
    let group_arn = format!(
        "arn:aws:logs:{region}:{account}:log-group:{}{}",
        addr::FLOW_LOG_PREFIX,
        policy_ref(&vpc, "id")
    );
    let role_name = format!("nc-{env}-vpc-flow-logs-{}", region_code(region));
    let role = Resource::new(FLOW_LOG_ROLE, Kind::IamRole, role_name.clone())
        .regional()
        .prop("path", addr::IAM_PATH)
        .prop(
            "assume_role_policy",
            Value::Policy(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": FLOW_LOG_SERVICE},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {"aws:SourceArn": format!("arn:aws:ec2:{region}:{account}:vpc-flow-log/*")}
                    }
                }]
            })),
        )
        .prop("max_session_seconds", 3600)
        .prop("permissions_boundary", "")
        .prop("managed_policies", Value::List(Vec::new()))
        .prop(
            "inline_policy_names",
            Value::List(vec![Value::str(FLOW_LOG_POLICY)]),
        )
        .prop(
            &format!("inline_policy.{FLOW_LOG_POLICY}"),
            // The VPC user guide (flow-logs-iam-role) lists logs:DescribeLogGroups among the
            // role's permissions; it names no group, so it gets this region's groups.
            // logs:CreateLogGroup is not needed: the tool creates the group.
            Value::Policy(json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DeliverToTheFlowLogGroupOnly",
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogStreams"
                        ],
                        "Resource": [group_arn.clone(), format!("{group_arn}:log-stream:*")]
                    },
                    {
                        "Sid": "DescribeLogGroups",
                        "Effect": "Allow",
                        "Action": "logs:DescribeLogGroups",
                        "Resource": format!("arn:aws:logs:{region}:{account}:log-group:*")
                    }
                ]
            })),
        )
        .prop(
            "description",
            format!("Delivers the VPC flow logs of {env} in {region} (managed by nc-provision)"),
        )
        .prop("tags", tags(context, &role_id, &role_name, None))
        .replace_on(&["path"]);

    let flow_log_id = id(FLOW_LOG);
    let flow_log = Resource::new(FLOW_LOG, Kind::FlowLog, format!("nc-{env}-vpc-flow-logs"))
        .prop("resource_id", Value::reference(&vpc, "id"))
        .prop("traffic_type", "ALL")
        .prop("log_destination_type", "cloud-watch-logs")
        .prop("log_group_name", Value::reference(&group_id, "name"))
        .prop(
            "deliver_logs_permission_arn",
            Value::reference(&role_id, "arn"),
        )
        .prop("max_aggregation_interval", FLOW_LOG_AGGREGATION_SECONDS)
        .prop(
            "tags",
            tags(
                context,
                &flow_log_id,
                &format!("nc-{env}-vpc-flow-logs"),
                None,
            ),
        )
        .replace_on(&[
            "resource_id",
            "traffic_type",
            "log_destination_type",
            "log_group_name",
            "deliver_logs_permission_arn",
            "max_aggregation_interval",
        ]);
    vec![group, role, flow_log]
}

/// The VPC: CIDR, DNS support and hostnames, and the default security group's and network
/// ACL's rules, all empty.
fn vpc(context: &Context<'_>) -> Resource {
    let vpc_id = id(VPC);
    Resource::new(VPC, Kind::Vpc, format!("nc-{}-vpc", context.env()))
        .prop("cidr", context.spec.vpc.cidr.to_string())
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

/// A route `destination -> target`, the target known once it exists.
fn route(destination: &str, target: Value) -> Value {
    Value::Concat(vec![Value::str(format!("{destination} -> ")), target])
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
        .prop("tags", tags(context, &acl_id, &name, Some(tier)))
        .replace_on(&["vpc_id"])
}

/// A tier's network ACL entries (ingress, egress), in rule-number order.
#[must_use]
pub fn network_acl_entries(tier: Tier, vpc_cidr: &str) -> (Vec<String>, Vec<String>) {
    let deny_admin = [
        format!("100 deny tcp 22 {ANYWHERE}"),
        format!("110 deny tcp 3389 {ANYWHERE}"),
    ];
    let (https_in, https_out, ephemeral_out) = match tier {
        Tier::Public => (ANYWHERE, ANYWHERE, ANYWHERE),
        Tier::App | Tier::Data => (vpc_cidr, ANYWHERE, vpc_cidr),
    };
    let mut ingress = deny_admin.to_vec();
    ingress.push(format!("120 allow tcp 443 {https_in}"));
    ingress.push(format!("130 allow tcp {EPHEMERAL} {ANYWHERE}"));
    let egress = vec![
        format!("100 allow tcp 443 {https_out}"),
        format!("110 allow tcp {EPHEMERAL} {ephemeral_out}"),
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
}

fn endpoints_security_group(context: &Context<'_>) -> Resource {
    let group_id = id(ENDPOINTS_SECURITY_GROUP);
    let name = format!("nc-{}-vpc-endpoints", context.env());
    Resource::new(ENDPOINTS_SECURITY_GROUP, Kind::SecurityGroup, name.clone())
        .prop("vpc_id", Value::reference(&id(VPC), "id"))
        .prop("group_name", name.clone())
        .prop(
            "description",
            "HTTPS from the VPC to the interface endpoints (nc-provision)",
        )
        .prop(
            "ingress",
            strings(&[format!("tcp 443 {}", context.spec.vpc.cidr)]),
        )
        .prop("egress", Value::List(Vec::new()))
        .prop("tags", tags(context, &group_id, &name, None))
        .replace_on(&["vpc_id", "group_name", "description"])
}

/// Admits only the account's own principals (and for S3 and DynamoDB only the account's own
/// buckets and tables): a data perimeter on every endpoint. The S3 endpoint also admits reads
/// of ECR's AWS-owned layer bucket `prod-{region}-starport-layer-bucket`, or workloads could
/// not pull images (ECR user guide, vpc-endpoints: minimum Amazon S3 bucket permissions).
///
/// Written without `Version`, like AWS's own default endpoint policy: it uses no policy
/// variables, so the version changes nothing, and LocalStack drops the field when it stores
/// an endpoint policy, which would otherwise show as drift forever.
fn endpoint_policy(context: &Context<'_>, service: &EndpointService) -> serde_json::Value {
    let account = &context.target.account_id;
    let mut condition = json!({"aws:PrincipalAccount": account});
    if service.gateway {
        condition["aws:ResourceAccount"] = json!(account);
    }
    let mut statements = vec![json!({
        "Sid": "AccountPrincipalsOnly",
        "Effect": "Allow",
        "Principal": "*",
        "Action": service.actions,
        "Resource": "*",
        "Condition": {"StringEquals": condition}
    })];
    if service.name == "s3" {
        statements.push(json!({
            "Sid": "EcrImageLayers",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!(
                "arn:aws:s3:::{}/*",
                crate::policy::integrations::ecr_layer_bucket(&context.target.region)
            ),
            "Condition": {"StringEquals": {"aws:PrincipalAccount": account}}
        }));
    }
    json!({ "Statement": statements })
}

fn references(ids: &[LogicalId]) -> Value {
    Value::List(ids.iter().map(|id| Value::reference(id, "id")).collect())
}

fn strings(items: &[String]) -> Value {
    Value::List(items.iter().map(|item| Value::str(item.clone())).collect())
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::modules::tests::graph_for;

    fn net(text: &str) -> Ipv4Cidr {
        let (addr, prefix) = text.split_once('/').unwrap();
        Ipv4Cidr {
            addr: addr.parse().unwrap(),
            prefix: prefix.parse().unwrap(),
        }
    }

    #[test]
    fn subnets_follow_the_reference_layout() {
        let cidr = net("10.1.0.0/16");
        let cases = [
            ("AZ-a public", 0, Tier::Public, "10.1.0.0/19"),
            ("AZ-a app", 0, Tier::App, "10.1.32.0/19"),
            ("AZ-a data", 0, Tier::Data, "10.1.64.0/19"),
            ("AZ-b public", 1, Tier::Public, "10.1.96.0/19"),
            ("AZ-b app", 1, Tier::App, "10.1.128.0/19"),
            ("AZ-b data", 1, Tier::Data, "10.1.160.0/19"),
        ];
        for (reason, index, tier, want) in cases {
            let got = subnet_cidr(cidr, 2, index, tier).unwrap().to_string();
            assert_eq!(got, want, "{reason}");
        }
        assert_eq!(tier_prefix(cidr, 1), 19, "one AZ keeps /19");
        assert_eq!(tier_prefix(cidr, 2), 19, "two AZs fill six of eight /19s");
        assert_eq!(tier_prefix(cidr, 3), 20, "three AZs only fit as /20s");
        assert_eq!(
            subnet_cidr(cidr, 3, 2, Tier::Data).unwrap().to_string(),
            "10.1.128.0/20"
        );
    }

    #[test]
    fn the_environments_get_their_nat_gateways_and_endpoints() {
        struct Case {
            reason: &'static str,
            env: &'static str,
            zones: &'static [&'static str],
            nat: &'static [&'static str],
        }
        let cases = [
            Case {
                reason: "dev: one AZ, one NAT",
                env: "dev",
                zones: &["us-east-1a"],
                nat: &["vpc.nat.a"],
            },
            Case {
                reason: "stg: a NAT per AZ",
                env: "stg",
                zones: &["us-east-1a", "us-east-1b"],
                nat: &["vpc.nat.a", "vpc.nat.b"],
            },
            Case {
                reason: "prod in the DR region: zone letters, not positions",
                env: "prod",
                zones: &["ca-central-1b", "ca-central-1d"],
                nat: &["vpc.nat.b", "vpc.nat.d"],
            },
        ];
        for case in cases {
            let graph = graph_for(case.env, case.zones);
            let ids: BTreeSet<&str> = graph.resources().iter().map(|r| r.id.as_str()).collect();
            let nats: Vec<&str> = graph
                .resources()
                .iter()
                .filter(|r| r.kind == Kind::NatGateway)
                .map(|r| r.id.as_str())
                .collect();
            assert_eq!(nats, case.nat, "{}", case.reason);
            let subnets = graph
                .resources()
                .iter()
                .filter(|r| r.kind == Kind::Subnet)
                .count();
            assert_eq!(subnets, 3 * case.zones.len(), "{}", case.reason);
            for service in [
                "s3",
                "dynamodb",
                "kms",
                "secretsmanager",
                "sts",
                "logs",
                "monitoring",
            ] {
                assert!(
                    ids.contains(endpoint_id(service).as_str()),
                    "{}: {service}",
                    case.reason
                );
            }
        }
    }

    #[test]
    fn private_app_routes_to_its_zones_nat_and_data_has_no_route_out() {
        let graph = graph_for("stg", &["us-east-1a", "us-east-1b"]);
        let routes = |table: &str| graph.get(&id(table)).unwrap().props["routes"].clone();
        let route_to = |target: &str| {
            Value::List(vec![Value::Concat(vec![
                Value::str("0.0.0.0/0 -> "),
                Value::reference(&id(target), "id"),
            ])])
        };
        assert_eq!(routes("vpc.rt.public"), route_to("vpc.igw"));
        assert_eq!(routes("vpc.rt.app-a"), route_to("vpc.nat.a"));
        assert_eq!(routes("vpc.rt.app-b"), route_to("vpc.nat.b"));
        assert_eq!(routes("vpc.rt.data-a"), Value::List(vec![]));

        let dev = graph_for("dev", &["us-east-1a"]);
        let single = dev.get(&id("vpc.rt.app-a")).unwrap();
        assert_eq!(single.props["routes"], route_to("vpc.nat.a"));
    }

    #[test]
    fn every_network_acl_denies_admin_ports_before_the_ephemeral_allow() {
        for tier in Tier::ALL {
            let (ingress, _) = network_acl_entries(tier, "10.1.0.0/16");
            let rule = |needle: &str| {
                ingress
                    .iter()
                    .position(|entry| entry.contains(needle))
                    .unwrap_or_else(|| panic!("{needle} in {ingress:?}"))
            };
            assert!(rule("deny tcp 22 0.0.0.0/0") < rule("allow tcp 1024-65535"));
            assert!(rule("deny tcp 3389 0.0.0.0/0") < rule("allow tcp 1024-65535"));
            assert!(
                !ingress.iter().any(|e| e.contains("allow all")),
                "{tier:?}: default deny"
            );
        }
    }

    #[test]
    fn subnets_are_tagged_with_tier_and_env() {
        let graph = graph_for("stg", &["us-east-1a", "us-east-1b"]);
        let subnet = graph.get(&id("vpc.subnet.data-b")).unwrap();
        let tags = subnet.tags();
        assert_eq!(tags["tier"], "data");
        assert_eq!(tags["env"], "stg");
        assert_eq!(tags["nc:id"], "vpc.subnet.data-b");
        assert_eq!(tags["ManagedBy"], "nc-provision");
        assert_eq!(subnet.props["cidr"], Value::str("10.1.160.0/19"));
        assert_eq!(subnet.props["availability_zone"], Value::str("us-east-1b"));
        assert_eq!(subnet.props["map_public_ip_on_launch"], Value::Bool(false));
        assert_eq!(
            graph.get(&id("vpc.subnet.public-a")).unwrap().props["map_public_ip_on_launch"],
            Value::Bool(true)
        );
    }

    #[test]
    fn flow_logs_go_to_a_group_named_after_the_vpc_through_a_regional_role() {
        let graph = graph_for("prod", &["us-east-1a", "us-east-1b"]);
        let group = graph.get(&id(FLOW_LOG_GROUP)).unwrap();
        assert_eq!(
            group.props["group_name"],
            Value::Concat(vec![
                Value::str("/aws/vpc/flow-logs/"),
                Value::reference(&id(VPC), "id"),
            ])
        );
        assert_eq!(group.props["retention_days"], Value::Int(90));
        assert_eq!(
            group.props["kms_key"],
            Value::reference(&addr::logs_key(), "arn")
        );
        assert!(group.retain, "logs are data: never deleted");
        let role = graph.get(&id(FLOW_LOG_ROLE)).unwrap();
        assert_eq!(role.name, "nc-prod-vpc-flow-logs-use1");
        assert!(!role.global, "each region's VPC has its own role");
        let trust = role.props["assume_role_policy"].as_policy().unwrap();
        assert_eq!(
            trust["Statement"][0]["Principal"]["Service"],
            "vpc-flow-logs.amazonaws.com"
        );
        let policy = role.props[&format!("inline_policy.{FLOW_LOG_POLICY}")]
            .as_policy()
            .unwrap();
        let resources = policy["Statement"][0]["Resource"].to_string();
        assert!(
            resources.contains(&format!(
                "log-group:/aws/vpc/flow-logs/{}",
                policy_ref(&id(VPC), "id")
            )),
            "{resources}"
        );
        let flow_log = graph.get(&id(FLOW_LOG)).unwrap();
        assert_eq!(
            flow_log.props["deliver_logs_permission_arn"],
            Value::reference(&id(FLOW_LOG_ROLE), "arn")
        );
        assert!(flow_log.depends_on.contains(&id(FLOW_LOG_GROUP)));
        let dev = graph_for("dev", &["us-east-1a"]);
        assert_eq!(
            dev.get(&id(FLOW_LOG_GROUP)).unwrap().props["retention_days"],
            Value::Int(7)
        );
    }
}
