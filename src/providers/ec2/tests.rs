//! The EC2 provider's pure observe, rules and tokens, and its create paths over mocked clients.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, IpPermission, IpRange, NatGateway, NatGatewayState, NetworkAcl,
    NetworkAclAssociation, NetworkAclEntry, PortRange, Route, RouteTable, RouteTableAssociation,
    RuleAction, SecurityGroup, State, Subnet, Tag, UserIdGroupPair, Vpc, VpcEndpoint,
    VpcEndpointType,
};

use super::network_acl::{ACL_ENTRY_EXISTS, DEFAULT_ACL_RULE, acl_entries};
use super::props::{Direction, strings};
use super::route_table::{
    Destination, ROUTE_EXISTS, Target, destination_kind, routes, target_kind,
};
use super::security_group::{permission, rules};
use super::snapshot::Snapshot;
use super::tags::tag_map;
use super::*;
use crate::model::{LogicalId, SgRule};

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
    // The entries' grammar (parsing, protocol numbers, malformed entries) is
    // `model::network`'s, tested there.
}

fn permission_of(rule: &str) -> IpPermission {
    let mut permission = permission(&rule.parse::<SgRule>().unwrap());
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
        "0.0.0.0/0 -> nat-1".parse::<crate::model::Route>().unwrap(),
        crate::model::Route::new("0.0.0.0/0", "nat-1")
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
    let live = Snapshot {
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
        ..Snapshot::default()
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
    use std::time::Duration;

    use aws_sdk_ec2::operation::create_nat_gateway::CreateNatGatewayOutput;
    use aws_sdk_ec2::operation::describe_nat_gateways::DescribeNatGatewaysOutput;
    use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput;
    use aws_smithy_mocks::{Rule, RuleBuilder, RuleMode, mock, mock_client};

    use super::*;

    fn ctx(id: &str) -> StepCtx {
        StepCtx::silent(id, "stg", Duration::from_secs(5))
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
        let groups = mock!(aws_sdk_ec2::Client::describe_security_groups).then_output(|| {
            aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput::builder(
            )
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
            aws_sdk_ec2::operation::describe_vpc_attribute::DescribeVpcAttributeOutput::builder()
                .enable_dns_support(AttributeBooleanValue::builder().value(true).build())
                .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
                .build()
        });
        let create = mock!(aws_sdk_ec2::Client::create_vpc)
            .then_output(|| aws_sdk_ec2::operation::create_vpc::CreateVpcOutput::builder().build());
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

    /// A create mocked to answer EC2's "already exists" `code` (the race the tests below stage).
    fn already_exists<I, O, E>(create: RuleBuilder<I, O, E>, code: &str) -> Rule
    where
        I: std::fmt::Debug + Send + Sync + 'static,
        O: std::fmt::Debug + Send + Sync + 'static,
        E: std::fmt::Debug + Send + Sync + std::error::Error + 'static,
    {
        create
            .sequence()
            .http_status(400, Some(ec2_error(code)))
            .build()
    }

    /// The create was sent once, and then the replace once: `what` is set.
    fn assert_replaced(create: &Rule, replace: &Rule, what: &str) {
        assert_eq!(create.num_calls(), 1, "one create, answered {what} already");
        assert_eq!(replace.num_calls(), 1, "{what} is set");
    }

    /// The race of an entry made after the observation — in practice, an earlier create
    /// whose answer was lost and that the SDK sent again — cannot be staged on an emulator
    /// at a chosen moment, so this one runs over a mocked client.
    #[tokio::test]
    async fn an_acl_entry_that_already_exists_is_replaced_by_exactly_the_one_wanted() {
        let create = already_exists(
            mock!(aws_sdk_ec2::Client::create_network_acl_entry),
            ACL_ENTRY_EXISTS,
        );
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
        let ingress = Direction {
            resource: &acl,
            id: "acl-1",
            egress: false,
            live: Vec::new(),
            desired: vec!["100 allow tcp 443 10.0.0.0/16".to_string()],
        };
        provider
            .apply_entries(&ingress)
            .await
            .expect("already there is success");
        assert_replaced(&create, &replace, "the wanted entry");
    }

    /// As above, for a route (no emulator stages the race).
    #[tokio::test]
    async fn a_route_that_already_exists_is_pointed_at_the_wanted_target() {
        let create = already_exists(mock!(aws_sdk_ec2::Client::create_route), ROUTE_EXISTS);
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
        assert_replaced(&create, &replace, "the wanted route");
    }
}
