//! Executor tests over a fake provider: order, concurrency bound, failure isolation, references.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::fake::{Fake, Script, plan_for, run_with, status};
use super::*;
use crate::model::{Observation, Resource, Value};

/// The fake of these tests: creates take a little while, so that concurrency shows.
fn fake(fail: &[&'static str]) -> Arc<Fake> {
    let scripts = fail.iter().map(|id| (*id, Script::FailCreate)).collect();
    Fake::slow(scripts, Duration::from_millis(20))
}

/// Runs the plan for `graph` from nothing.
async fn run(graph: &DesiredGraph, fake: &Arc<Fake>, options: ExecOptions) -> Report {
    let plan = plan_for(graph, Observation::default());
    run_with(&plan, graph, fake.clone(), options, false).await
}

fn graph() -> DesiredGraph {
    let key = Resource::new("key", Kind::SnsTopic, "key");
    let bucket = Resource::new("bucket", Kind::SnsTopic, "bucket")
        .prop("kms", Value::reference(&key.id, "arn"));
    let table = Resource::new("table", Kind::SnsTopic, "table")
        .prop("kms", Value::reference(&key.id, "arn"));
    let alarm = Resource::new("alarm", Kind::SnsTopic, "alarm").after(&bucket.id);
    let independent: Vec<Resource> = (0..6)
        .map(|index| {
            Resource::new(
                &format!("solo{index}"),
                Kind::SnsTopic,
                format!("solo{index}"),
            )
        })
        .collect();
    let mut resources = vec![key, bucket, table, alarm];
    resources.extend(independent);
    DesiredGraph::new(resources).unwrap()
}

#[tokio::test]
async fn runs_dependencies_first_and_resolves_references_from_outputs() {
    let fake = fake(&[]);
    let graph = graph();
    let report = run(&graph, &fake, ExecOptions::default()).await;
    assert!(!report.failed());
    assert_eq!(report.counts(), (10, 0, 0));
    let created = fake.created.lock().unwrap();
    let position = |id: &str| {
        created
            .iter()
            .position(|(created_id, _)| created_id == id)
            .unwrap()
    };
    assert!(position("key") < position("bucket"));
    assert!(position("bucket") < position("alarm"));
    let bucket_props = &created[position("bucket")].1;
    assert_eq!(bucket_props.get("kms"), Some(&Value::str("arn:fake:key")));
}

#[tokio::test]
async fn a_failed_step_stops_only_its_dependents() {
    let fake = fake(&["bucket"]);
    let graph = graph();
    let report = run(&graph, &fake, ExecOptions::default()).await;
    assert!(report.failed());
    assert!(
        matches!(status(&report, "bucket"), StepStatus::Failed(why) if why.contains("fake:Create on bucket"))
    );
    assert_eq!(
        status(&report, "alarm"),
        &StepStatus::Skipped("upstream failed: bucket".into())
    );
    assert_eq!(
        status(&report, "table"),
        &StepStatus::Done,
        "independent of the failure"
    );
    assert_eq!(status(&report, "solo5"), &StepStatus::Done);
}

#[tokio::test]
async fn concurrency_never_exceeds_the_bound_but_uses_it() {
    for bound in [1, 3] {
        let fake = fake(&[]);
        let graph = graph();
        let options = ExecOptions {
            parallelism: bound,
            ..ExecOptions::default()
        };
        let report = run(&graph, &fake, options).await;
        assert!(!report.failed());
        assert_eq!(
            fake.peak.load(Ordering::SeqCst),
            bound,
            "parallelism {bound}"
        );
    }
}

/// Deletions and replacements: the destroy halves run in reverse dependency order.
mod deletion_order {
    use super::*;
    use crate::fence::Fence;
    use crate::model::{Observed, Outputs, Owner};

    fn live(id: &str, physical: &str, props: &[(&str, Value)]) -> Observed {
        Observed {
            id: LogicalId::new(id),
            kind: Kind::SnsTopic,
            physical_id: physical.to_string(),
            props: props
                .iter()
                .map(|(name, value)| ((*name).to_string(), value.clone()))
                .collect(),
            outputs: Outputs::from([("id".to_string(), physical.to_string())]),
            owner: Owner::Ours,
            retain: false,
            refused: None,
        }
    }

    async fn run(
        graph: &DesiredGraph,
        observation: Observation,
        recorder: &Arc<Fake>,
        allow_destroy: bool,
    ) -> Report {
        let plan = plan_for(graph, observation);
        let options = ExecOptions {
            parallelism: 4,
            allow_destroy,
            ..ExecOptions::default()
        };
        run_with(&plan, graph, recorder.clone(), options, false).await
    }

    /// The live VPC `vpc-1` (10.1.0.0/16), logical id `vpc.main`.
    fn old_vpc() -> Observed {
        live("vpc.main", "vpc-1", &[("cidr", "10.1.0.0/16".into())])
    }

    /// A live resource in `vpc-1` (a subnet, a gateway).
    fn in_old_vpc(id: &str, physical: &str) -> Observed {
        live(id, physical, &[("vpc_id", "vpc-1".into())])
    }

    /// Runs the plan for `graph` over `observation`, destroy allowed: it must succeed, making
    /// the call `first` before the call `then` for each `(reason, first, then)`.
    async fn run_in_order(
        graph: &DesiredGraph,
        observation: Observation,
        order: &[(&str, &str, &str)],
    ) -> Report {
        let recorder = Arc::new(Fake::default());
        let report = run(graph, observation, &recorder, true).await;
        assert!(!report.failed(), "{report:?}");
        for (reason, first, then) in order {
            assert!(
                recorder.position(first) < recorder.position(then),
                "{reason}: {:?}",
                recorder.calls()
            );
        }
        report
    }

    /// A VPC with a subnet holding a NAT gateway, none of them in the spec any more.
    fn orphaned_network() -> Observation {
        Observation {
            found: BTreeMap::new(),
            orphans: vec![
                old_vpc(),
                live("vpc.nat.a", "nat-1", &[("subnet_id", "subnet-1".into())]),
                in_old_vpc("vpc.subnet.a", "subnet-1"),
                live(
                    "vpc.rt.app-a",
                    "rtb-1",
                    &[
                        ("vpc_id", "vpc-1".into()),
                        ("routes", Value::List(vec!["0.0.0.0/0 -> nat-1".into()])),
                    ],
                ),
            ],
            ..Observation::default()
        }
    }

    #[tokio::test]
    async fn deletions_wait_for_the_deletion_of_their_dependents() {
        let graph = DesiredGraph::new(vec![]).unwrap();
        let order = [
            (
                "the route naming the NAT goes first",
                "delete vpc.rt.app-a",
                "delete vpc.nat.a",
            ),
            (
                "the NAT before its subnet",
                "delete vpc.nat.a",
                "delete vpc.subnet.a",
            ),
            (
                "the subnet before its VPC",
                "delete vpc.subnet.a",
                "delete vpc.main",
            ),
            (
                "the route table before its VPC",
                "delete vpc.rt.app-a",
                "delete vpc.main",
            ),
        ];
        run_in_order(&graph, orphaned_network(), &order).await;
    }

    #[tokio::test]
    async fn a_failed_deletion_stops_the_deletions_waiting_for_it() {
        let recorder = Fake::scripted(vec![("vpc.nat.a", Script::FailDelete)], &Fence::new());
        let graph = DesiredGraph::new(vec![]).unwrap();
        let report = run(&graph, orphaned_network(), &recorder, true).await;
        let status = |id: &str| {
            report
                .steps
                .iter()
                .find(|step| step.id.as_str() == id)
                .map(|step| step.status.clone())
                .unwrap()
        };
        assert!(matches!(status("vpc.nat.a"), StepStatus::Failed(_)));
        assert_eq!(
            status("vpc.subnet.a"),
            StepStatus::Skipped("waits for the deletion of vpc.nat.a, which failed".to_string())
        );
        assert!(matches!(status("vpc.main"), StepStatus::Skipped(_)));
        assert_eq!(status("vpc.rt.app-a"), StepStatus::Done);
        assert_eq!(report.steps.len(), 4, "one report per change: {report:?}");
    }

    #[tokio::test]
    async fn without_allow_destroy_nothing_is_deleted() {
        let recorder = Arc::new(Fake::default());
        let graph = DesiredGraph::new(vec![]).unwrap();
        let report = run(&graph, orphaned_network(), &recorder, false).await;
        assert!(recorder.calls().is_empty(), "{:?}", recorder.calls());
        assert_eq!(report.counts(), (0, 0, 4));
    }

    #[tokio::test]
    async fn a_replacement_deletes_dependents_first_and_builds_them_after() {
        let vpc = Resource::new("vpc.main", Kind::SnsTopic, "vpc")
            .prop("cidr", "10.2.0.0/16")
            .replace_on(&["cidr"]);
        let subnet = Resource::new("vpc.subnet.a", Kind::SnsTopic, "subnet")
            .prop("vpc_id", Value::reference(&vpc.id, "id"))
            .replace_on(&["vpc_id"]);
        let gateway = Resource::new("vpc.igw", Kind::SnsTopic, "igw")
            .prop("vpc_id", Value::reference(&vpc.id, "id"));
        let endpoint = Resource::new("vpc.endpoint.kms", Kind::SnsTopic, "endpoint")
            .prop("subnet_ids", Value::List(vec![]));
        let graph = DesiredGraph::new(vec![vpc, subnet, gateway, endpoint]).unwrap();
        let mut observation = Observation::default();
        for observed in [
            old_vpc(),
            in_old_vpc("vpc.subnet.a", "subnet-1"),
            in_old_vpc("vpc.igw", "igw-1"),
            live(
                "vpc.endpoint.kms",
                "vpce-1",
                &[("subnet_ids", Value::List(vec!["subnet-old".into()]))],
            ),
        ] {
            observation.insert(observed);
        }
        observation
            .orphans
            .push(in_old_vpc("vpc.subnet.old", "subnet-old"));
        let order = [
            (
                "the old subnet before the old VPC",
                "delete vpc.subnet.a",
                "delete vpc.main",
            ),
            (
                "the orphan subnet before the old VPC",
                "delete vpc.subnet.old",
                "delete vpc.main",
            ),
            (
                "the endpoint leaves the orphan subnet before it is deleted",
                "update vpc.endpoint.kms",
                "delete vpc.subnet.old",
            ),
            (
                "the old VPC before the new one",
                "delete vpc.main",
                "create vpc.main",
            ),
            (
                "the new VPC before the new subnet",
                "create vpc.main",
                "create vpc.subnet.a",
            ),
            (
                "the new VPC before the gateway moves",
                "create vpc.main",
                "update vpc.igw",
            ),
        ];
        let report = run_in_order(&graph, observation, &order).await;
        let replaced: Vec<&StepReport> = report
            .steps
            .iter()
            .filter(|step| step.action == Action::Replace)
            .collect();
        assert_eq!(replaced.len(), 2, "one report per replacement: {report:?}");
        assert!(
            replaced.iter().all(|step| step.attempts == 2),
            "{replaced:?}"
        );
    }
}
