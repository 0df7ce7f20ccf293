//! The vpc module's layout, routes, rules, tags and flow logs.

use std::collections::BTreeSet;

use super::flow_logs::FLOW_LOG_POLICY;
use super::*;
use crate::model::policy_ref;
use crate::modules::addr;
use crate::modules::tests::graph_for;
use crate::spec::model::Ipv4Cidr;

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
        let ingress: Vec<String> = ingress.iter().map(ToString::to_string).collect();
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

#[test]
fn the_dr_regions_flow_log_role_is_made_by_the_primary_and_only_verified_in_dr() {
    let primary = graph_for("prod", &["us-east-1a", "us-east-1b"]);
    let dr = graph_for("prod", &["ca-central-1a", "ca-central-1b"]);
    let made = primary
        .get(&id(FLOW_LOG_ROLE_DR))
        .expect("the primary apply makes the DR region's role");
    let verified = dr
        .get(&id(FLOW_LOG_ROLE_DR))
        .expect("the DR region names the same role");
    assert_eq!(made.name, "nc-prod-vpc-flow-logs-cac1");
    assert!(
        made.global && verified.global,
        "written only from the primary"
    );
    assert_eq!(made.props, verified.props, "both regions expand it alike");
    assert!(dr.get(&id(FLOW_LOG_ROLE)).is_none(), "no other role in DR");
    let flow_log = dr.get(&id(FLOW_LOG)).expect("flow log");
    assert_eq!(
        flow_log.props["deliver_logs_permission_arn"],
        Value::reference(&id(FLOW_LOG_ROLE_DR), "arn")
    );
    let text = made.props[&format!("inline_policy.{FLOW_LOG_POLICY}")]
        .to_json()
        .to_string();
    assert!(
        text.contains("arn:aws:logs:ca-central-1:123456789012:log-group:/aws/vpc/flow-logs/*"),
        "{text}"
    );
    let primary_role = primary.get(&id(FLOW_LOG_ROLE)).expect("primary role");
    assert!(!primary_role.global, "the primary's role names its own VPC");
}
