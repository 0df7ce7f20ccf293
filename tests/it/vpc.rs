//! Issue 4: the vpc module — three tiers per AZ, NAT per AZ (or one), endpoints, default-deny
//! security groups and network ACLs, flow logs — applied to dev, stg and prod on LocalStack
//! and read back with the SDK directly.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, NetworkAcl, RouteTable, SecurityGroup, Subnet, Tag, Vpc,
    VpcAttributeName, VpcEndpoint,
};

use crate::common::{World, change, changed_attributes};

/// Everything EC2 holds for one environment, by `nc:id`.
struct Network {
    vpc: Vpc,
    dns_support: bool,
    dns_hostnames: bool,
    subnets: BTreeMap<String, Subnet>,
    tables: BTreeMap<String, RouteTable>,
    acls: BTreeMap<String, NetworkAcl>,
    default_acl: NetworkAcl,
    groups: BTreeMap<String, SecurityGroup>,
    default_group: SecurityGroup,
    endpoints: BTreeMap<String, VpcEndpoint>,
    nats: BTreeMap<String, aws_sdk_ec2::types::NatGateway>,
    addresses: BTreeMap<String, aws_sdk_ec2::types::Address>,
    gateway: aws_sdk_ec2::types::InternetGateway,
}

fn id_of(tags: &[Tag]) -> String {
    tags.iter()
        .find(|tag| tag.key() == Some("nc:id"))
        .and_then(Tag::value)
        .unwrap_or_default()
        .to_string()
}

fn tags_of(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|tag| Some((tag.key()?.to_string(), tag.value()?.to_string())))
        .collect()
}

async fn ec2(world: &World) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&world.sdk("us-east-1").await)
}

fn env_filter(env: &str) -> Filter {
    Filter::builder().name("tag:nc:env").values(env).build()
}

async fn read_network(world: &World, env: &str) -> Network {
    let ec2 = ec2(world).await;
    let vpcs = ec2
        .describe_vpcs()
        .filters(env_filter(env))
        .send()
        .await
        .expect("vpcs");
    assert_eq!(vpcs.vpcs().len(), 1, "one VPC for {env}: {vpcs:?}");
    let vpc = vpcs.vpcs()[0].clone();
    let vpc_id = vpc.vpc_id().expect("vpc id").to_string();
    let by_vpc = Filter::builder().name("vpc-id").values(&vpc_id).build();
    let attribute = |name: VpcAttributeName| {
        let ec2 = ec2.clone();
        let vpc_id = vpc_id.clone();
        async move {
            let output = ec2
                .describe_vpc_attribute()
                .vpc_id(vpc_id)
                .attribute(name.clone())
                .send()
                .await
                .expect("attribute");
            match name {
                VpcAttributeName::EnableDnsHostnames => output.enable_dns_hostnames(),
                _ => output.enable_dns_support(),
            }
            .and_then(|value| value.value())
            .unwrap_or(false)
        }
    };
    let dns_support = attribute(VpcAttributeName::EnableDnsSupport).await;
    let dns_hostnames = attribute(VpcAttributeName::EnableDnsHostnames).await;
    let subnets = ec2
        .describe_subnets()
        .filters(by_vpc.clone())
        .send()
        .await
        .expect("subnets")
        .subnets()
        .iter()
        .map(|s| (id_of(s.tags()), s.clone()))
        .collect();
    let tables = ec2
        .describe_route_tables()
        .filters(by_vpc.clone())
        .send()
        .await
        .expect("tables")
        .route_tables()
        .iter()
        .map(|t| (id_of(t.tags()), t.clone()))
        .collect();
    let all_acls = ec2
        .describe_network_acls()
        .filters(by_vpc.clone())
        .send()
        .await
        .expect("acls")
        .network_acls()
        .to_vec();
    let default_acl = all_acls
        .iter()
        .find(|acl| acl.is_default() == Some(true))
        .expect("default acl")
        .clone();
    let acls = all_acls
        .iter()
        .filter(|acl| acl.is_default() != Some(true))
        .map(|acl| (id_of(acl.tags()), acl.clone()))
        .collect();
    let all_groups = ec2
        .describe_security_groups()
        .filters(by_vpc.clone())
        .send()
        .await
        .expect("groups")
        .security_groups()
        .to_vec();
    let default_group = all_groups
        .iter()
        .find(|group| group.group_name() == Some("default"))
        .expect("default group")
        .clone();
    let groups = all_groups
        .iter()
        .filter(|group| group.group_name() != Some("default"))
        .map(|group| (id_of(group.tags()), group.clone()))
        .collect();
    let endpoints = ec2
        .describe_vpc_endpoints()
        .filters(by_vpc.clone())
        .send()
        .await
        .expect("endpoints")
        .vpc_endpoints()
        .iter()
        .map(|e| (id_of(e.tags()), e.clone()))
        .collect();
    let nats = ec2
        .describe_nat_gateways()
        .filter(by_vpc.clone())
        .send()
        .await
        .expect("nats")
        .nat_gateways()
        .iter()
        .filter(|nat| nat.state().map(|s| s.as_str()) == Some("available"))
        .map(|nat| (id_of(nat.tags()), nat.clone()))
        .collect();
    let addresses = ec2
        .describe_addresses()
        .filters(env_filter(env))
        .send()
        .await
        .expect("addresses")
        .addresses()
        .iter()
        .map(|a| (id_of(a.tags()), a.clone()))
        .collect();
    let gateways = ec2
        .describe_internet_gateways()
        .filters(
            Filter::builder()
                .name("attachment.vpc-id")
                .values(&vpc_id)
                .build(),
        )
        .send()
        .await
        .expect("gateways");
    assert_eq!(
        gateways.internet_gateways().len(),
        1,
        "one internet gateway"
    );
    Network {
        vpc,
        dns_support,
        dns_hostnames,
        subnets,
        tables,
        acls,
        default_acl,
        groups,
        default_group,
        endpoints,
        nats,
        addresses,
        gateway: gateways.internet_gateways()[0].clone(),
    }
}

/// `destination -> target` for every route, the local one included.
fn routes(table: &RouteTable) -> BTreeSet<String> {
    table
        .routes()
        .iter()
        .map(|route| {
            let destination = route
                .destination_cidr_block()
                .or(route.destination_prefix_list_id())
                .unwrap_or_default();
            let target = route
                .gateway_id()
                .or(route.nat_gateway_id())
                .unwrap_or_default();
            format!("{destination} -> {target}")
        })
        .collect()
}

fn associated_subnets(table: &RouteTable) -> BTreeSet<String> {
    table
        .associations()
        .iter()
        .filter_map(|association| association.subnet_id().map(str::to_string))
        .collect()
}

/// `(rule, action, protocol, from, to, cidr)` of one direction, without the catch-all.
fn entries(acl: &NetworkAcl, egress: bool) -> Vec<(i32, String, String, i32, i32, String)> {
    let mut entries: Vec<_> = acl
        .entries()
        .iter()
        .filter(|entry| entry.egress() == Some(egress) && entry.rule_number() < Some(32767))
        .map(|entry| {
            (
                entry.rule_number().unwrap_or_default(),
                entry
                    .rule_action()
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_default(),
                entry.protocol().unwrap_or_default().to_string(),
                entry.port_range().and_then(|r| r.from()).unwrap_or(-1),
                entry.port_range().and_then(|r| r.to()).unwrap_or(-1),
                entry.cidr_block().unwrap_or_default().to_string(),
            )
        })
        .collect();
    entries.sort();
    entries
}

fn permissions(permissions: &[IpPermission]) -> BTreeSet<String> {
    permissions
        .iter()
        .flat_map(|permission| {
            permission
                .ip_ranges()
                .iter()
                .filter_map(IpRange::cidr_ip)
                .map(|cidr| {
                    format!(
                        "{} {}-{} {cidr}",
                        permission.ip_protocol().unwrap_or_default(),
                        permission.from_port().unwrap_or(-1),
                        permission.to_port().unwrap_or(-1)
                    )
                })
        })
        .collect()
}

/// The layout one environment must have, per REFERENCE.md.
struct Layout {
    env: &'static str,
    /// The second octet: 10.X.0.0/16.
    octet: u8,
    zones: &'static [&'static str],
    /// NAT gateway ids, and which NAT each zone's app route table uses.
    nats: &'static [&'static str],
    /// Flow-log group retention, days.
    retention: i32,
}

/// Reads the environment back and checks every part of the layout.
async fn check_layout(world: &World, layout: &Layout) {
    let network = read_network(world, layout.env).await;
    let x = layout.octet;
    let vpc_cidr = format!("10.{x}.0.0/16");
    let vpc_id = network.vpc.vpc_id().unwrap_or_default().to_string();
    assert_eq!(network.vpc.cidr_block(), Some(vpc_cidr.as_str()));
    assert!(
        network.dns_support && network.dns_hostnames,
        "DNS support and hostnames"
    );
    let vpc_tags = tags_of(network.vpc.tags());
    assert_eq!(vpc_tags["env"], layout.env);
    assert_eq!(vpc_tags["ManagedBy"], "nc-provision");

    // Subnets: three /19 per zone, REFERENCE.md's layout, tier and env tags.
    assert_eq!(
        network.subnets.len(),
        3 * layout.zones.len(),
        "{:?}",
        network.subnets.keys()
    );
    for (index, zone) in layout.zones.iter().enumerate() {
        let letter = zone.trim_start_matches("us-east-1");
        for (position, tier) in ["public", "app", "data"].iter().enumerate() {
            let id = format!("vpc.subnet.{tier}-{letter}");
            let subnet = network.subnets.get(&id).unwrap_or_else(|| panic!("{id}"));
            let third = (index * 3 + position) * 32;
            assert_eq!(
                subnet.cidr_block(),
                Some(format!("10.{x}.{third}.0/19").as_str()),
                "{id}"
            );
            assert_eq!(subnet.availability_zone(), Some(*zone), "{id}");
            assert_eq!(
                subnet.map_public_ip_on_launch(),
                Some(*tier == "public"),
                "{id} maps public IPs only when public"
            );
            let tags = tags_of(subnet.tags());
            assert_eq!(tags.get("tier").map(String::as_str), Some(*tier), "{id}");
            assert_eq!(
                tags.get("env").map(String::as_str),
                Some(layout.env),
                "{id}"
            );
            assert_eq!(tags.get("nc:id"), Some(&id));
            assert_eq!(
                tags.get("Project").map(String::as_str),
                Some("neurocipher-platform")
            );
        }
    }
    let subnet_id = |id: &str| {
        network.subnets[id]
            .subnet_id()
            .unwrap_or_default()
            .to_string()
    };

    // Internet gateway, NAT gateways with their elastic IPs.
    let gateway_id = network.gateway.internet_gateway_id().unwrap_or_default();
    assert_eq!(id_of(network.gateway.tags()), "vpc.igw");
    let nat_ids: Vec<&str> = network.nats.keys().map(String::as_str).collect();
    assert_eq!(nat_ids, layout.nats, "NAT gateways");
    assert_eq!(
        network.addresses.len(),
        layout.nats.len(),
        "one elastic IP per NAT"
    );
    for (id, nat) in &network.nats {
        let letter = id.trim_start_matches("vpc.nat.");
        assert_eq!(
            nat.subnet_id(),
            Some(subnet_id(&format!("vpc.subnet.public-{letter}")).as_str()),
            "{id} sits in its zone's public subnet"
        );
        let eip = &network.addresses[&format!("vpc.eip.nat-{letter}")];
        assert_eq!(
            nat.nat_gateway_addresses()[0].allocation_id(),
            eip.allocation_id(),
            "{id} uses its elastic IP"
        );
    }

    // Routes per table.
    let local = format!("{vpc_cidr} -> local");
    let public = &network.tables["vpc.rt.public"];
    assert_eq!(
        routes(public),
        BTreeSet::from([local.clone(), format!("0.0.0.0/0 -> {gateway_id}")]),
        "public routes to the internet gateway"
    );
    let prefix_lists: BTreeSet<String> = network
        .endpoints
        .values()
        .filter(|e| e.vpc_endpoint_type().map(|t| t.as_str()) == Some("Gateway"))
        .map(|e| e.vpc_endpoint_id().unwrap_or_default().to_string())
        .collect();
    for (index, zone) in layout.zones.iter().enumerate() {
        let letter = zone.trim_start_matches("us-east-1");
        assert!(
            associated_subnets(public).contains(&subnet_id(&format!("vpc.subnet.public-{letter}")))
        );
        let app = &network.tables[&format!("vpc.rt.app-{letter}")];
        let nat = layout.nats.get(index).unwrap_or(&layout.nats[0]);
        let nat_id = network.nats[*nat].nat_gateway_id().unwrap_or_default();
        let app_routes = routes(app);
        assert!(
            app_routes.contains(&format!("0.0.0.0/0 -> {nat_id}")),
            "app-{letter}: {app_routes:?}"
        );
        assert_eq!(
            associated_subnets(app),
            BTreeSet::from([subnet_id(&format!("vpc.subnet.app-{letter}"))])
        );
        let data = &network.tables[&format!("vpc.rt.data-{letter}")];
        let data_routes = routes(data);
        assert!(
            !data_routes
                .iter()
                .any(|route| route.starts_with("0.0.0.0/0")),
            "data-{letter} has no route out: {data_routes:?}"
        );
        let data_targets: BTreeSet<String> = data_routes
            .iter()
            .filter(|route| **route != local)
            .map(|route| route.split(" -> ").nth(1).unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            data_targets, prefix_lists,
            "data-{letter}: only the gateway endpoints"
        );
        assert!(
            data_routes
                .iter()
                .filter(|route| **route != local)
                .all(|route| route.starts_with("pl-")),
            "data-{letter} routes only prefix lists: {data_routes:?}"
        );
        assert_eq!(
            associated_subnets(data),
            BTreeSet::from([subnet_id(&format!("vpc.subnet.data-{letter}"))])
        );
    }

    // Endpoints: types, services, placement, private DNS, security group, policy.
    let endpoints_group = &network.groups["vpc.sg.endpoints"];
    let group_id = endpoints_group.group_id().unwrap_or_default();
    let app_subnets: BTreeSet<String> = network
        .subnets
        .keys()
        .filter(|id| id.starts_with("vpc.subnet.app-"))
        .map(|id| subnet_id(id))
        .collect();
    let private_tables: BTreeSet<String> = network
        .tables
        .iter()
        .filter(|(id, _)| id.starts_with("vpc.rt.app-") || id.starts_with("vpc.rt.data-"))
        .map(|(_, table)| table.route_table_id().unwrap_or_default().to_string())
        .collect();
    let services: BTreeMap<&str, &str> = [
        ("s3", "Gateway"),
        ("dynamodb", "Gateway"),
        ("kms", "Interface"),
        ("secretsmanager", "Interface"),
        ("sts", "Interface"),
        ("logs", "Interface"),
        ("monitoring", "Interface"),
    ]
    .into();
    assert_eq!(
        network.endpoints.len(),
        services.len(),
        "{:?}",
        network.endpoints.keys()
    );
    for (service, kind) in services {
        let id = format!("vpc.endpoint.{service}");
        let endpoint = &network.endpoints[&id];
        assert_eq!(
            endpoint.service_name(),
            Some(format!("com.amazonaws.us-east-1.{service}").as_str())
        );
        assert_eq!(
            endpoint.vpc_endpoint_type().map(|t| t.as_str()),
            Some(kind),
            "{id}"
        );
        let policy = endpoint.policy_document().unwrap_or_default();
        assert!(
            policy.contains("aws:PrincipalAccount") && policy.contains(&world.account),
            "{id} admits only the account: {policy}"
        );
        if service == "s3" {
            let document: serde_json::Value = serde_json::from_str(policy).expect("policy json");
            let layers = document["Statement"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["Sid"] == "EcrImageLayers")
                .unwrap_or_else(|| panic!("{id} admits ECR's layer bucket: {policy}"));
            assert_eq!(
                layers["Resource"],
                "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"
            );
            assert_eq!(layers["Action"], "s3:GetObject");
        }
        if kind == "Gateway" {
            let tables: BTreeSet<String> = endpoint.route_table_ids().iter().cloned().collect();
            assert_eq!(tables, private_tables, "{id} on the private route tables");
        } else {
            let subnets: BTreeSet<String> = endpoint.subnet_ids().iter().cloned().collect();
            assert_eq!(subnets, app_subnets, "{id} in the app subnets");
            assert_eq!(endpoint.private_dns_enabled(), Some(true), "{id}");
            let groups: Vec<&str> = endpoint
                .groups()
                .iter()
                .filter_map(|g| g.group_id())
                .collect();
            assert_eq!(groups, [group_id], "{id}");
        }
    }

    // Security groups: 443 from the VPC only; the default group keeps nothing (CIS 5.4).
    assert_eq!(
        permissions(endpoints_group.ip_permissions()),
        BTreeSet::from([format!("tcp 443-443 {vpc_cidr}")])
    );
    assert!(
        endpoints_group.ip_permissions_egress().is_empty(),
        "no egress"
    );
    assert!(
        network.default_group.ip_permissions().is_empty(),
        "default SG ingress"
    );
    assert!(
        network.default_group.ip_permissions_egress().is_empty(),
        "default SG egress"
    );

    // Network ACLs per tier: deny 22 and 3389 from anywhere before the ephemeral allow (CIS
    // 5.1), HTTPS, nothing else; every subnet in its tier's ACL; the default ACL emptied.
    let anywhere = "0.0.0.0/0".to_string();
    for tier in ["public", "app", "data"] {
        let id = format!("vpc.nacl.{tier}");
        let acl = &network.acls[&id];
        let https_from = if tier == "public" {
            anywhere.clone()
        } else {
            vpc_cidr.clone()
        };
        let ephemeral_to = if tier == "public" {
            anywhere.clone()
        } else {
            vpc_cidr.clone()
        };
        let s = |text: &str| text.to_string();
        assert_eq!(
            entries(acl, false),
            vec![
                (100, s("deny"), s("6"), 22, 22, anywhere.clone()),
                (110, s("deny"), s("6"), 3389, 3389, anywhere.clone()),
                (120, s("allow"), s("6"), 443, 443, https_from),
                (130, s("allow"), s("6"), 1024, 65535, anywhere.clone()),
            ],
            "{id} ingress"
        );
        assert_eq!(
            entries(acl, true),
            vec![
                (100, s("allow"), s("6"), 443, 443, anywhere.clone()),
                (110, s("allow"), s("6"), 1024, 65535, ephemeral_to),
            ],
            "{id} egress"
        );
        let members: BTreeSet<String> = acl
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id().map(str::to_string))
            .collect();
        let expected: BTreeSet<String> = network
            .subnets
            .keys()
            .filter(|subnet| subnet.starts_with(&format!("vpc.subnet.{tier}-")))
            .map(|subnet| subnet_id(subnet))
            .collect();
        assert_eq!(members, expected, "{id} associations");
    }
    assert!(
        entries(&network.default_acl, false).is_empty(),
        "default ACL ingress"
    );
    assert!(
        entries(&network.default_acl, true).is_empty(),
        "default ACL egress"
    );
    assert_eq!(network.default_acl.vpc_id(), Some(vpc_id.as_str()));

    check_flow_logs(world, layout, &vpc_id).await;
}

/// The VPC's one flow log: to `/aws/vpc/flow-logs/{vpc-id}` (retention, logs key), through a
/// role that trusts the flow-log service and may write only to that group.
async fn check_flow_logs(world: &World, layout: &Layout, vpc_id: &str) {
    let sdk = world.sdk("us-east-1").await;
    let flow_logs = aws_sdk_ec2::Client::new(&sdk)
        .describe_flow_logs()
        .filter(Filter::builder().name("resource-id").values(vpc_id).build())
        .send()
        .await
        .expect("flow logs");
    assert_eq!(flow_logs.flow_logs().len(), 1, "{flow_logs:?}");
    let flow_log = &flow_logs.flow_logs()[0];
    let group = format!("/aws/vpc/flow-logs/{vpc_id}");
    assert_eq!(flow_log.log_group_name(), Some(group.as_str()));
    assert_eq!(flow_log.traffic_type().map(|t| t.as_str()), Some("ALL"));
    assert_eq!(
        flow_log.log_destination_type().map(|t| t.as_str()),
        Some("cloud-watch-logs")
    );
    assert_eq!(id_of(flow_log.tags()), "vpc.flow_logs");
    let role_name = format!("nc-{}-vpc-flow-logs-use1", layout.env);
    let role_arn = format!("arn:aws:iam::{}:role/nc/{role_name}", world.account);
    assert_eq!(
        flow_log.deliver_logs_permission_arn(),
        Some(role_arn.as_str())
    );

    let iam = aws_sdk_iam::Client::new(&sdk);
    let role = iam
        .get_role()
        .role_name(&role_name)
        .send()
        .await
        .expect("role");
    let trust = role
        .role()
        .and_then(|r| r.assume_role_policy_document())
        .unwrap_or_default();
    let trust = percent_decode(trust);
    assert!(trust.contains("vpc-flow-logs.amazonaws.com"), "{trust}");
    let inline = iam
        .get_role_policy()
        .role_name(&role_name)
        .policy_name("deliver-to-flow-log-group")
        .send()
        .await
        .expect("inline policy");
    let policy: serde_json::Value =
        serde_json::from_str(&percent_decode(inline.policy_document())).expect("policy json");
    let resources = policy["Statement"][0]["Resource"].to_string();
    let group_arn = format!("arn:aws:logs:us-east-1:{}:log-group:{group}", world.account);
    assert!(resources.contains(&group_arn), "{policy}");
    assert!(
        !resources.contains("log-group:*"),
        "only this group: {policy}"
    );
    assert!(
        !policy["Statement"][0]["Action"]
            .to_string()
            .contains("logs:*"),
        "{policy}"
    );
    assert_eq!(
        policy["Statement"][1]["Action"], "logs:DescribeLogGroups",
        "the VPC user guide's role permissions: {policy}"
    );

    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .expect("log groups");
    let listed = groups
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(group.as_str()))
        .unwrap_or_else(|| panic!("{group} in {groups:?}"));
    assert_eq!(
        listed.retention_in_days(),
        Some(layout.retention),
        "{group}"
    );
    let logs_key = aws_sdk_kms::Client::new(&sdk)
        .describe_key()
        .key_id(format!("alias/nc-dp-logs-{}", layout.env))
        .send()
        .await
        .expect("logs key");
    assert_eq!(
        listed.kms_key_id(),
        logs_key.key_metadata().and_then(|m| m.arn()),
        "{group} is encrypted with the logs key"
    );
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .to_string()
}

fn apply(world: &World, env: &str) {
    if env == "prod" {
        let plan_file = world.specs.join("prod.plan").to_string_lossy().to_string();
        world
            .run(&["plan", "--env", "prod", "--out", &plan_file])
            .expect_code(0);
        world
            .run(&["apply", "--env", "prod", "--plan", &plan_file])
            .expect_code(0);
    } else {
        world
            .run(&["apply", "--env", env, "--auto-approve"])
            .expect_code(0);
    }
}

#[tokio::test]
async fn stg_gets_two_zones_with_a_nat_each_and_replans_as_no_change() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    apply(&world, "stg");
    check_layout(
        &world,
        &Layout {
            env: "stg",
            octet: 1,
            zones: &["us-east-1a", "us-east-1b"],
            nats: &["vpc.nat.a", "vpc.nat.b"],
            retention: 30,
        },
    )
    .await;
    let (code, plan, stderr) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{plan:#}\n{stderr}");
    let (code, again, _) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0);
    assert_eq!(again["api_calls"]["writes"], 0, "{again:#}");
}

#[tokio::test]
async fn dev_gets_one_zone_and_a_single_nat() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    apply(&world, "dev");
    check_layout(
        &world,
        &Layout {
            env: "dev",
            octet: 0,
            zones: &["us-east-1a"],
            nats: &["vpc.nat.a"],
            retention: 7,
        },
    )
    .await;
    world
        .run(&["plan", "--env", "dev", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test]
async fn prod_gets_two_zones_with_a_nat_each() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    apply(&world, "prod");
    check_layout(
        &world,
        &Layout {
            env: "prod",
            octet: 2,
            zones: &["us-east-1a", "us-east-1b"],
            nats: &["vpc.nat.a", "vpc.nat.b"],
            retention: 90,
        },
    )
    .await;
    world
        .run(&["plan", "--env", "prod", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test]
async fn out_of_band_network_changes_are_drift_with_detail_and_apply_repairs_them() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    apply(&world, "stg");
    let network = read_network(&world, "stg").await;
    let ec2 = ec2(&world).await;
    let gateway_id = network
        .gateway
        .internet_gateway_id()
        .unwrap_or_default()
        .to_string();

    // A route to the internet in a data route table.
    let data_table = network.tables["vpc.rt.data-a"]
        .route_table_id()
        .unwrap_or_default()
        .to_string();
    ec2.create_route()
        .route_table_id(&data_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&gateway_id)
        .send()
        .await
        .expect("route out of the data tier");
    // SSH from anywhere on the endpoints' group, and on the default group.
    let ssh = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    for group in [&network.groups["vpc.sg.endpoints"], &network.default_group] {
        ec2.authorize_security_group_ingress()
            .group_id(group.group_id().unwrap_or_default())
            .ip_permissions(ssh.clone())
            .send()
            .await
            .expect("open ssh");
    }
    // A tag changed on a subnet.
    ec2.create_tags()
        .resources(
            network.subnets["vpc.subnet.data-b"]
                .subnet_id()
                .unwrap_or_default(),
        )
        .tags(Tag::builder().key("tier").value("public").build())
        .send()
        .await
        .expect("retag");
    // The flow logs deleted.
    let flow_logs = ec2
        .describe_flow_logs()
        .filter(env_filter("stg"))
        .send()
        .await
        .expect("flow logs");
    ec2.delete_flow_logs()
        .set_flow_log_ids(Some(
            flow_logs
                .flow_logs()
                .iter()
                .filter_map(|f| f.flow_log_id().map(str::to_string))
                .collect(),
        ))
        .send()
        .await
        .expect("delete flow logs");
    // An allow-all rule slipped into a network ACL.
    ec2.create_network_acl_entry()
        .network_acl_id(
            network.acls["vpc.nacl.app"]
                .network_acl_id()
                .unwrap_or_default(),
        )
        .rule_number(90)
        .protocol("-1")
        .rule_action(aws_sdk_ec2::types::RuleAction::Allow)
        .egress(false)
        .cidr_block("0.0.0.0/0")
        .send()
        .await
        .expect("allow all");

    let (code, drift, stderr) = world.json(&["drift", "--env", "stg"]);
    assert_eq!(code, 2, "{drift:#}\n{stderr}");
    let expect = [
        ("vpc.rt.data-a", "routes"),
        ("vpc.sg.endpoints", "ingress"),
        ("vpc.main", "default_security_group_ingress"),
        ("vpc.subnet.data-b", "tags"),
        ("vpc.nacl.app", "ingress"),
    ];
    for (id, attribute) in expect {
        let change = change(&drift, id);
        assert_eq!(change["action"], "update", "{id}: {change:#}");
        assert_eq!(
            changed_attributes(change),
            vec![attribute.to_string()],
            "{id}"
        );
    }
    let route = &change(&drift, "vpc.rt.data-a")["attributes"][0];
    assert_eq!(
        route["before"],
        serde_json::json!([format!("0.0.0.0/0 -> {gateway_id}")])
    );
    assert_eq!(route["after"], serde_json::json!([]));
    let ingress = &change(&drift, "vpc.sg.endpoints")["attributes"][0];
    assert_eq!(
        ingress["before"],
        serde_json::json!(["tcp 22 0.0.0.0/0", "tcp 443 10.1.0.0/16"])
    );
    let human = world.run(&["drift", "--env", "stg"]);
    human.expect_code(2);
    assert!(
        human
            .stdout
            .contains(&format!("- \"0.0.0.0/0 -> {gateway_id}\""))
            && human.stdout.contains("~ tier = \"public\" -> \"data\""),
        "{}",
        human.stdout
    );
    let summary = &drift["summary"];
    assert_eq!(summary["update"], expect.len(), "{drift:#}");
    assert_eq!(
        change(&drift, "vpc.flow_logs")["action"],
        "create",
        "{drift:#}"
    );
    assert_eq!(
        summary["create"], 1,
        "only the flow log is missing: {drift:#}"
    );
    assert!(
        human
            .stdout
            .contains("# vpc.flow_logs (flow_log nc-stg-vpc-flow-logs) is missing"),
        "{}",
        human.stdout
    );

    let (code, report, stderr) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
    check_layout(
        &world,
        &Layout {
            env: "stg",
            octet: 1,
            zones: &["us-east-1a", "us-east-1b"],
            nats: &["vpc.nat.a", "vpc.nat.b"],
            retention: 30,
        },
    )
    .await;
}

#[tokio::test]
async fn a_new_vpc_cidr_replaces_the_network_in_order() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    apply(&world, "dev");
    world.edit_spec("dev", |text| text.replace("10.0.0.0/16", "10.3.0.0/16"));
    let (code, plan, stderr) = world.json(&["plan", "--env", "dev", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    let vpc = change(&plan, "vpc.main");
    assert_eq!(vpc["action"], "replace");
    assert!(
        vpc["attributes"][0]["forces_replace"]
            .as_bool()
            .unwrap_or(false)
    );
    // Everything whose identity hangs on the VPC goes with it, and says why.
    for id in [
        "vpc.subnet.public-a",
        "vpc.subnet.app-a",
        "vpc.subnet.data-a",
        "vpc.rt.public",
        "vpc.nacl.data",
        "vpc.sg.endpoints",
        "vpc.endpoint.kms",
        "vpc.nat.a",
    ] {
        let dragged = change(&plan, id);
        assert_eq!(dragged["action"], "replace", "{id}: {dragged:#}");
        assert!(
            dragged["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("replaced along with"),
            "{id}: {dragged:#}"
        );
    }
    assert_eq!(
        change(&plan, "vpc.igw")["action"],
        "update",
        "the gateway moves"
    );
    assert_eq!(change(&plan, "vpc.flow_logs")["action"], "replace");
    // The flow-log group is named after the VPC: a new one, and the old one keeps its logs.
    let group = change(&plan, "vpc.flow_logs.group");
    assert_eq!(group["action"], "create", "{group:#}");
    assert!(
        group["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("is data-bearing, so it is kept"),
        "{group:#}"
    );
    assert_eq!(
        change(&plan, "vpc.flow_logs.role")["action"],
        "update",
        "its policy names the new group"
    );
    assert_eq!(
        change(&plan, "vpc.eip.nat-a")["action"],
        "no_op",
        "the address stays"
    );
    let human = world.run(&["plan", "--env", "dev"]);
    assert!(
        human.stdout.contains("replaced along with vpc.main"),
        "{}",
        human.stdout
    );

    // A replacement deletes the live network first: without --allow-destroy apply refuses
    // before any write, naming each replacement and what forces it, and reconcile holds it back.
    let refused = world.run(&["apply", "--env", "dev", "--auto-approve"]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("needs --allow-destroy")
            && refused.stderr.contains("vpc.main")
            && refused.stderr.contains("10.3.0.0/16"),
        "{}",
        refused.stderr
    );
    let old_network_is_there = || async {
        let vpcs = ec2(&world)
            .await
            .describe_vpcs()
            .filters(env_filter("dev"))
            .send()
            .await
            .expect("vpcs");
        let cidrs: Vec<String> = vpcs
            .vpcs()
            .iter()
            .filter_map(|vpc| vpc.cidr_block().map(str::to_string))
            .collect();
        assert_eq!(cidrs, vec!["10.0.0.0/16".to_string()], "the old VPC stays");
    };
    old_network_is_there().await;
    let reconcile = world.run(&["reconcile", "--env", "dev", "--once", "--allow-destroy"]);
    reconcile.expect_code(2);
    assert!(
        reconcile.stdout.contains("Held back") && reconcile.stdout.contains("vpc.main"),
        "{}",
        reconcile.stdout
    );
    old_network_is_there().await;

    let (code, report, stderr) =
        world.json(&["apply", "--env", "dev", "--auto-approve", "--allow-destroy"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    world
        .run(&["plan", "--env", "dev", "--detailed-exitcode"])
        .expect_code(0);
    check_layout(
        &world,
        &Layout {
            env: "dev",
            octet: 3,
            zones: &["us-east-1a"],
            nats: &["vpc.nat.a"],
            retention: 7,
        },
    )
    .await;
    let vpcs = ec2(&world)
        .await
        .describe_vpcs()
        .filters(env_filter("dev"))
        .send()
        .await
        .expect("vpcs");
    assert_eq!(vpcs.vpcs().len(), 1, "the old VPC is gone");
    let (_, after, _) = world.json(&["plan", "--env", "dev"]);
    let kept: Vec<&serde_json::Value> = after["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["id"]
                .as_str()
                .unwrap_or_default()
                .starts_with("vpc.flow_logs.group~")
        })
        .collect();
    assert_eq!(kept.len(), 1, "the old VPC's flow-log group: {after:#}");
    assert_eq!(kept[0]["action"], "retain");
}

#[tokio::test]
async fn turning_nat_off_deletes_gateway_and_address_only_with_allow_destroy() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    apply(&world, "dev");
    world.edit_spec("dev", |text| {
        text.replace("enable_nat_gateway = true", "enable_nat_gateway = false")
    });
    let (code, plan, _) = world.json(&["plan", "--env", "dev", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    assert_eq!(change(&plan, "vpc.nat.a")["action"], "delete", "{plan:#}");
    assert_eq!(change(&plan, "vpc.eip.nat-a")["action"], "delete");
    assert_eq!(change(&plan, "vpc.rt.app-a")["action"], "update");

    let (code, report, _) = world.json(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}");
    let nats = read_network(&world, "dev").await.nats;
    assert_eq!(nats.len(), 1, "without --allow-destroy nothing is deleted");

    let (code, report, stderr) =
        world.json(&["apply", "--env", "dev", "--auto-approve", "--allow-destroy"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let network = read_network(&world, "dev").await;
    assert!(network.nats.is_empty(), "NAT deleted");
    assert!(network.addresses.is_empty(), "address released");
    let app = routes(&network.tables["vpc.rt.app-a"]);
    assert!(!app.iter().any(|r| r.starts_with("0.0.0.0/0")), "{app:?}");
    world
        .run(&["plan", "--env", "dev", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test]
async fn a_killed_apply_reruns_without_duplicates() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    let ec2 = ec2(&world).await;
    let mut child = world
        .command(&[
            "apply",
            "--env",
            "stg",
            "--auto-approve",
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start apply");
    // Kill it (SIGKILL) as soon as the network starts to appear.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let subnets = ec2
            .describe_subnets()
            .filters(env_filter("stg"))
            .send()
            .await
            .expect("subnets");
        if !subnets.subnets().is_empty() || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().expect("kill -9 the apply");
    let _ = child.wait();
    // The killed apply's lease would expire on its own after 90 s; the test drops it instead
    // of waiting (the lease is not what this test is about).
    let _ = aws_sdk_dynamodb::Client::new(&world.sdk("us-east-1").await)
        .delete_item()
        .table_name("nc-provision-locks")
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("lock#stg/us-east-1".into()),
        )
        .send()
        .await;

    apply(&world, "stg");
    check_layout(
        &world,
        &Layout {
            env: "stg",
            octet: 1,
            zones: &["us-east-1a", "us-east-1b"],
            nats: &["vpc.nat.a", "vpc.nat.b"],
            retention: 30,
        },
    )
    .await;
    // Exactly one of everything tagged: nothing was made twice.
    let mut ids = BTreeMap::<String, usize>::new();
    let tagged = ec2
        .describe_tags()
        .filters(Filter::builder().name("key").values("nc:id").build())
        .send()
        .await
        .expect("tags");
    for tag in tagged.tags() {
        *ids.entry(tag.value().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = ids.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "made twice: {twice:?}");
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
}
