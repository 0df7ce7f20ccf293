//! Executor safety rails over a scripted fake provider: replacements need consent, a lost
//! lease stops new steps, a panicking step is a failure, and an unimplemented API is skipped
//! only in emulator mode.

use std::sync::Arc;
use std::time::Duration;

use super::fake::{self, Fake, Script, status};
use super::*;
use crate::model::{
    DesiredGraph, LogicalId, Observation, Observed, Outputs, Owner, Props, Resource,
};
use crate::plan::{Action, Plan, ResourceChange};

fn change(id: &str, action: Action, depends_on: &[&str]) -> ResourceChange {
    ResourceChange {
        id: LogicalId::new(id),
        kind: Kind::SnsTopic,
        name: id.to_string(),
        action,
        reason: None,
        attributes: Vec::new(),
        depends_on: depends_on.iter().map(|id| LogicalId::new(*id)).collect(),
        live_references: Vec::new(),
        causes: Vec::new(),
        global: false,
    }
}

/// A plan of `changes`; every change that is not a create has a live resource.
fn plan_of(changes: Vec<ResourceChange>) -> (Plan, DesiredGraph) {
    let mut observation = Observation::default();
    for change in changes.iter().filter(|c| c.action != Action::Create) {
        observation.insert(Observed {
            id: change.id.clone(),
            kind: Kind::SnsTopic,
            physical_id: format!("live-{}", change.id),
            props: Props::new(),
            outputs: Outputs::new(),
            owner: Owner::Ours,
            retain: false,
            refused: None,
        });
    }
    let resources = changes
        .iter()
        .map(|change| {
            let mut resource =
                Resource::new(change.id.as_str(), Kind::SnsTopic, change.name.clone());
            for dependency in &change.depends_on {
                resource = resource.after(dependency);
            }
            resource
        })
        .collect();
    let graph = DesiredGraph::new(resources).expect("graph");
    (fake::plan_of(changes, observation), graph)
}

/// A fake provider that follows `scripts` (by logical id), and the plan of `changes`.
fn scripted(
    scripts: Vec<(&'static str, Script)>,
    changes: Vec<ResourceChange>,
) -> (Plan, DesiredGraph, Arc<Fake>) {
    let (plan, graph) = plan_of(changes);
    (plan, graph, Fake::scripted(scripts, &Fence::new()))
}

async fn run(plan: &Plan, graph: &DesiredGraph, fake: &Arc<Fake>, options: ExecOptions) -> Report {
    run_in(plan, graph, fake, options, false).await
}

async fn run_in(
    plan: &Plan,
    graph: &DesiredGraph,
    fake: &Arc<Fake>,
    options: ExecOptions,
    emulator: bool,
) -> Report {
    fake::run_with(plan, graph, fake.clone(), options, emulator).await
}

#[tokio::test]
async fn a_replacement_never_deletes_without_allow_destroy() {
    let (plan, graph, fake) = scripted(
        Vec::new(),
        vec![
            change("vpc", Action::Replace, &[]),
            change("subnet", Action::Replace, &["vpc"]),
            change("tags", Action::Update, &[]),
        ],
    );
    let report = run(&plan, &graph, &fake, ExecOptions::default()).await;
    assert!(
        !fake.calls().iter().any(|call| call.starts_with("delete")),
        "nothing deleted: {:?}",
        fake.calls()
    );
    assert!(
        matches!(status(&report, "vpc"), StepStatus::Skipped(why) if why.contains("--allow-destroy"))
    );
    assert!(matches!(status(&report, "subnet"), StepStatus::Skipped(_)));
    assert_eq!(status(&report, "tags"), &StepStatus::Done);

    let fake = Fake::scripted(Vec::new(), &Fence::new());
    let options = ExecOptions {
        allow_destroy: true,
        ..ExecOptions::default()
    };
    let report = run(&plan, &graph, &fake, options).await;
    assert!(!report.failed(), "{report:?}");
    let calls = fake.calls();
    let position = |call: &str| calls.iter().position(|c| c == call).expect(call);
    assert!(position("delete subnet") < position("delete vpc"));
    assert!(position("delete vpc") < position("create vpc"));
    assert!(position("create vpc") < position("create subnet"));
}

#[tokio::test]
async fn a_lost_lease_starts_no_new_step_and_fails_the_run() {
    let (plan, graph) = plan_of(vec![
        change("first", Action::Create, &[]),
        change("second", Action::Create, &["first"]),
        change("third", Action::Create, &["second"]),
    ]);
    let fence = Fence::new();
    let fake = Fake::scripted(vec![("first", Script::TripFence)], &fence);
    let options = ExecOptions {
        fence: fence.clone(),
        ..ExecOptions::default()
    };
    let report = run(&plan, &graph, &fake, options).await;
    assert_eq!(fake.calls(), vec!["create first".to_string()]);
    assert!(report.failed());
    assert!(
        report
            .aborted
            .as_deref()
            .is_some_and(|why| why.contains("could not extend the lease"))
    );
    for id in ["second", "third"] {
        assert!(
            matches!(status(&report, id), StepStatus::Skipped(why) if why.starts_with("not started: could not extend the lease")),
            "{id}: {report:?}"
        );
    }
}

#[tokio::test]
async fn a_panicking_step_is_a_failed_step() {
    let (plan, graph, fake) = scripted(
        vec![("broken", Script::Panic)],
        vec![
            change("broken", Action::Create, &[]),
            change("after", Action::Create, &["broken"]),
            change("apart", Action::Create, &[]),
        ],
    );
    let report = run(&plan, &graph, &fake, ExecOptions::default()).await;
    assert!(report.failed());
    assert!(
        matches!(status(&report, "broken"), StepStatus::Failed(why) if why.contains("panicked") && why.contains("provider bug")),
        "{report:?}"
    );
    assert!(matches!(status(&report, "after"), StepStatus::Skipped(_)));
    assert_eq!(status(&report, "apart"), &StepStatus::Done);
}

#[tokio::test]
async fn an_unimplemented_api_is_skipped_only_in_emulator_mode() {
    let (plan, graph, fake) = scripted(
        vec![("topic", Script::Unsupported)],
        vec![change("topic", Action::Create, &[])],
    );
    let report = run(&plan, &graph, &fake, ExecOptions::default()).await;
    assert!(report.failed());
    assert!(
        matches!(status(&report, "topic"), StepStatus::Failed(why) if why.contains("sns:CreateTopic") && why.contains("--emulator")),
        "{report:?}"
    );
    let report = run_in(&plan, &graph, &fake, ExecOptions::default(), true).await;
    assert!(!report.failed());
    assert!(matches!(status(&report, "topic"), StepStatus::Skipped(_)));
}

#[tokio::test]
async fn not_found_right_after_a_create_is_retried_as_eventual_consistency() {
    let (plan, graph, fake) = scripted(
        vec![("sg", Script::NotFoundOnce)],
        vec![change("sg", Action::Create, &[])],
    );
    let options = ExecOptions {
        retry: RetryPolicy {
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            ..RetryPolicy::default()
        },
        ..ExecOptions::default()
    };
    let report = run(&plan, &graph, &fake, options).await;
    assert_eq!(status(&report, "sg"), &StepStatus::Done, "{report:?}");
    let step = report.steps.iter().find(|step| step.id.as_str() == "sg");
    assert_eq!(step.map(|step| step.attempts), Some(2));
}
