//! Issue 12 item 3: creates are idempotent when the answer is lost.
//!
//! The binary talks to LocalStack through the callcount proxy (`../shared/tools/callcount`)
//! with `--lost 0.15`: 15 % of the Create*/Allocate* requests are forwarded — so they take
//! effect — and their answer is thrown away and the connection closed, as after a timeout or a
//! reset on a write that succeeded. `apply` runs at most twice (the first may fail, the second
//! must succeed), a plan is then clean, and everything is counted with the SDK directly: one
//! of every resource per `nc:id`, exactly as the spec expands.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, NatGatewayState, Tag};

use crate::common::{Run, World, endpoint, tag};
use crate::proxy::Callcount;

/// The share of answers lost (`NC_TEST_LOST_RATE` overrides it, to stress more).
const LOST: &str = "0.15";
/// Answers every chosen seed loses: the first KMS CreateKey, the first CreateVpc and
/// CreateNetworkAcl, and one of the first two CreateNetworkAclEntry.
const ALWAYS_LOST: [&str; 4] = [
    "kms:CreateKey",
    "ec2:CreateVpc",
    "ec2:CreateNetworkAcl",
    "ec2:CreateNetworkAclEntry",
];
/// The chosen seeds, each with the other answers it loses (the first of each operation),
/// so that between them the creates without an idempotency token, the sub-entries and the
/// name-unique creates are covered (others are lost along the way); each runs in a world of its own and
/// the proxy's fault list must show what the seed promises. `NC_TEST_LOST_SEEDS=1,2,...`
/// replaces them (to sweep more; nothing is then required of the draws).
const SEEDS: [(&str, &[&str]); 4] = [
    ("824", &[]),
    (
        "8326",
        &[
            "kms:CreateAlias",
            "ec2:CreateSecurityGroup",
            "ec2:CreateInternetGateway",
        ],
    ),
    (
        "19375",
        &[
            "iam:CreateOpenIDConnectProvider",
            "ec2:AllocateAddress",
            "ec2:CreateSecurityGroup",
        ],
    ),
    (
        "19615",
        &[
            "logs:CreateLogGroup",
            "iam:CreateOpenIDConnectProvider",
            "ec2:CreateRoute",
        ],
    ),
];

/// The callcount proxy in front of LocalStack, losing answers; stopped when dropped.
struct LossyProxy(Callcount);

impl LossyProxy {
    fn start(seed: &str) -> LossyProxy {
        let rate = std::env::var("NC_TEST_LOST_RATE").unwrap_or(LOST.into());
        LossyProxy(Callcount::start(
            &endpoint(),
            &["--lost", &rate, "--seed", seed],
        ))
    }

    fn url(&self) -> String {
        self.0.url()
    }

    /// `service:Operation` → answers lost.
    fn lost(&self) -> BTreeMap<String, usize> {
        self.0.faults_of("lost")
    }
}

/// The world's desired graph for stg, expanded in-process (the zones LocalStack offers).
fn desired_graph(world: &World) -> nc_provision::model::DesiredGraph {
    let spec = nc_provision::spec::load_with(&world.specs, "stg", &crate::common::spec_variables())
        .expect("valid spec");
    let zones = ["us-east-1a", "us-east-1b"]
        .into_iter()
        .take(usize::from(spec.vpc.az_count))
        .map(str::to_string)
        .collect();
    let target = nc_provision::plan::Target {
        env: "stg".into(),
        region: "us-east-1".into(),
        account_id: world.account.clone(),
        primary_region: true,
        availability_zones: zones,
    };
    nc_provision::modules::expand(&spec, &target).expect("graph")
}

/// The desired logical ids of each kind.
fn desired_ids(graph: &nc_provision::model::DesiredGraph) -> BTreeMap<String, Vec<String>> {
    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for resource in graph.resources() {
        ids.entry(resource.kind.to_string())
            .or_default()
            .push(resource.id.to_string());
    }
    ids
}

/// How many live objects carry each `nc:id`.
fn by_id<'a>(tag_lists: impl IntoIterator<Item = &'a [Tag]>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for tags in tag_lists {
        if let Some(id) = tags
            .iter()
            .find(|tag| tag.key() == Some("nc:id"))
            .and_then(Tag::value)
        {
            *counts.entry(id.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

/// Asserts that the live objects of `kind` are exactly one per desired id.
fn assert_one_each(
    kind: &str,
    live: &BTreeMap<String, usize>,
    desired: &BTreeMap<String, Vec<String>>,
) {
    let wanted: BTreeMap<String, usize> = desired
        .get(kind)
        .into_iter()
        .flatten()
        .map(|id| (id.clone(), 1))
        .collect();
    assert_eq!(live, &wanted, "{kind}: live objects per nc:id");
}

/// Every KMS key of the environment, counted by `nc:id` (ListKeys + ListResourceTags).
async fn kms_keys(world: &World) -> BTreeMap<String, usize> {
    let kms = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await);
    let mut counts = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = kms
            .list_keys()
            .set_marker(marker.take())
            .send()
            .await
            .expect("ListKeys");
        for key in page.keys() {
            let key_id = key.key_id().expect("key id");
            let tags = kms
                .list_resource_tags()
                .key_id(key_id)
                .send()
                .await
                .expect("ListResourceTags");
            let tags: BTreeMap<&str, &str> = tags
                .tags()
                .iter()
                .map(|tag| (tag.tag_key(), tag.tag_value()))
                .collect();
            if tags.get("nc:env") == Some(&"stg")
                && let Some(id) = tags.get("nc:id")
            {
                *counts.entry((*id).to_string()).or_insert(0) += 1;
            }
        }
        match (page.truncated(), page.next_marker()) {
            (true, Some(next)) => marker = Some(next.to_string()),
            _ => return counts,
        }
    }
}

fn apply_through(world: &World, proxy: &LossyProxy) -> Run {
    let output = world
        .command(&["apply", "--env", "stg", "--auto-approve"])
        .env("AWS_ENDPOINT_URL", proxy.url())
        .output()
        .expect("run nc-provision");
    Run::from(output)
}

#[tokio::test]
async fn creates_whose_answers_are_lost_make_exactly_one_of_everything() {
    match std::env::var("NC_TEST_LOST_SEEDS") {
        Ok(list) => {
            for seed in list.split(',') {
                apply_losing_answers(seed.trim(), &[]).await;
            }
        }
        Err(_) => {
            for (seed, also) in SEEDS {
                let promised: Vec<&str> = ALWAYS_LOST.iter().chain(also).copied().collect();
                apply_losing_answers(seed, &promised).await;
            }
        }
    }
}

/// One world, applied through a proxy losing answers with `seed`, then counted. `promised`:
/// the `service:Operation`s whose answers the seed must have lost.
async fn apply_losing_answers(seed: &str, promised: &[&str]) {
    let world = World::with_bucket_tag(Some(&tag()));
    let proxy = LossyProxy::start(seed);

    let first = apply_through(&world, &proxy);
    let runs = if first.code == 0 {
        1
    } else {
        eprintln!(
            "seed {seed}: first apply failed (allowed once):\n{}\n{}",
            first.stdout, first.stderr
        );
        apply_through(&world, &proxy).expect_code(0);
        2
    };
    let lost = proxy.lost();
    eprintln!("seed {seed}: applied in {runs} run(s); answers lost: {lost:?}");
    for operation in promised {
        assert!(
            lost.contains_key(*operation),
            "seed {seed} must lose a {operation} answer: {lost:?}"
        );
    }

    // Straight to LocalStack: nothing left to do.
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);

    let graph = desired_graph(&world);
    let desired = desired_ids(&graph);
    assert_one_each("kms_key", &kms_keys(&world).await, &desired);

    let ec2 = aws_sdk_ec2::Client::new(&world.sdk("us-east-1").await);
    let env = || Filter::builder().name("tag:nc:env").values("stg").build();
    let vpcs = ec2
        .describe_vpcs()
        .filters(env())
        .send()
        .await
        .expect("vpcs");
    assert_one_each(
        "vpc",
        &by_id(vpcs.vpcs().iter().map(|vpc| vpc.tags())),
        &desired,
    );
    let subnets = ec2
        .describe_subnets()
        .filters(env())
        .send()
        .await
        .expect("subnets");
    assert_one_each(
        "subnet",
        &by_id(subnets.subnets().iter().map(|subnet| subnet.tags())),
        &desired,
    );
    let gateways = ec2
        .describe_internet_gateways()
        .filters(env())
        .send()
        .await
        .expect("gateways");
    assert_one_each(
        "internet_gateway",
        &by_id(gateways.internet_gateways().iter().map(|gw| gw.tags())),
        &desired,
    );
    let addresses = ec2
        .describe_addresses()
        .filters(env())
        .send()
        .await
        .expect("addresses");
    assert_one_each(
        "elastic_ip",
        &by_id(addresses.addresses().iter().map(|address| address.tags())),
        &desired,
    );
    let nats = ec2
        .describe_nat_gateways()
        .filter(env())
        .send()
        .await
        .expect("nats");
    assert_one_each(
        "nat_gateway",
        &by_id(
            nats.nat_gateways()
                .iter()
                .filter(|nat| {
                    matches!(
                        nat.state(),
                        Some(NatGatewayState::Available | NatGatewayState::Pending)
                    )
                })
                .map(|nat| nat.tags()),
        ),
        &desired,
    );
    let tables = ec2
        .describe_route_tables()
        .filters(env())
        .send()
        .await
        .expect("tables");
    assert_one_each(
        "route_table",
        &by_id(tables.route_tables().iter().map(|table| table.tags())),
        &desired,
    );
    let groups = ec2
        .describe_security_groups()
        .filters(env())
        .send()
        .await
        .expect("groups");
    assert_one_each(
        "security_group",
        &by_id(groups.security_groups().iter().map(|group| group.tags())),
        &desired,
    );
    let endpoints = ec2
        .describe_vpc_endpoints()
        .filters(env())
        .send()
        .await
        .expect("endpoints");
    assert_one_each(
        "vpc_endpoint",
        &by_id(
            endpoints
                .vpc_endpoints()
                .iter()
                .filter(|endpoint| {
                    !matches!(
                        endpoint.state().map(|state| state.as_str().to_lowercase()),
                        Some(state) if state == "deleted" || state == "deleting"
                    )
                })
                .map(|endpoint| endpoint.tags()),
        ),
        &desired,
    );
    let flow_logs = ec2
        .describe_flow_logs()
        .filter(env())
        .send()
        .await
        .expect("flow logs");
    assert_one_each(
        "flow_log",
        &by_id(flow_logs.flow_logs().iter().map(|flow_log| flow_log.tags())),
        &desired,
    );

    // Network ACLs: one per nc:id, each with exactly its desired entries (AWS's catch-all
    // rules aside).
    let acls = ec2
        .describe_network_acls()
        .filters(env())
        .send()
        .await
        .expect("acls");
    assert_one_each(
        "network_acl",
        &by_id(acls.network_acls().iter().map(|acl| acl.tags())),
        &desired,
    );
    for acl in acls.network_acls() {
        let id = acl
            .tags()
            .iter()
            .find(|tag| tag.key() == Some("nc:id"))
            .and_then(Tag::value)
            .expect("nc:id");
        let resource = graph
            .get(&nc_provision::model::LogicalId::new(id))
            .expect("desired acl");
        for (egress, direction) in [(false, "ingress"), (true, "egress")] {
            let wanted = match resource.props.get(direction) {
                Some(nc_provision::model::Value::List(entries)) => entries.len(),
                _ => 0,
            };
            let live = acl
                .entries()
                .iter()
                .filter(|entry| entry.egress() == Some(egress))
                .filter(|entry| entry.rule_number().is_some_and(|rule| rule < 32767))
                .count();
            assert_eq!(live, wanted, "{id} {direction} entries");
        }
    }
}
