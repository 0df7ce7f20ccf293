//! Executor tests over a fake provider: order, concurrency bound, failure isolation, references.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::model::{Observation, Value};
use crate::plan::{DiffOptions, PlanMode, Target, diff};
use crate::providers::{ErrorClass, Provider};

/// Creates everything after a short sleep; fails the ids it is told to; records what it saw.
#[derive(Default)]
struct FakeProvider {
    fail: Vec<&'static str>,
    created: Mutex<Vec<(String, BTreeMap<String, Value>)>>,
    running: AtomicUsize,
    peak: AtomicUsize,
}

#[async_trait]
impl Provider for FakeProvider {
    fn kinds(&self) -> &'static [&'static str] {
        &["fake"]
    }

    async fn observe(
        &self,
        _desired: &[&Resource],
        _env: &str,
    ) -> Result<Observation, ProviderError> {
        Ok(Observation::default())
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        if self.fail.contains(&resource.id.as_str()) {
            return Err(ProviderError {
                action: "fake:Create".into(),
                resource: resource.name.clone(),
                class: ErrorClass::Fatal,
                code: Some("AccessDenied".into()),
                message: "denied".into(),
            });
        }
        if let Ok(mut created) = self.created.lock() {
            created.push((resource.id.to_string(), resource.props.clone()));
        }
        let mut outputs = Outputs::new();
        outputs.insert("arn".into(), format!("arn:fake:{}", resource.id));
        Ok(outputs)
    }

    async fn update(
        &self,
        _resource: &Resource,
        observed: &Observed,
        _changes: &[crate::plan::AttrChange],
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        Ok(observed.outputs.clone())
    }

    async fn delete(&self, _observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        Ok(())
    }
}

fn graph() -> DesiredGraph {
    let key = Resource::new("key", "fake", "key");
    let bucket =
        Resource::new("bucket", "fake", "bucket").prop("kms", Value::reference(&key.id, "arn"));
    let table =
        Resource::new("table", "fake", "table").prop("kms", Value::reference(&key.id, "arn"));
    let alarm = Resource::new("alarm", "fake", "alarm").after(&bucket.id);
    let independent: Vec<Resource> = (0..6)
        .map(|index| Resource::new(&format!("solo{index}"), "fake", format!("solo{index}")))
        .collect();
    let mut resources = vec![key, bucket, table, alarm];
    resources.extend(independent);
    DesiredGraph::new(resources).unwrap()
}

fn plan_for(graph: &DesiredGraph) -> Plan {
    let observation = Observation::default();
    Plan {
        target: Target {
            env: "stg".into(),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            primary_region: true,
        },
        spec_digest: "sha256:test".into(),
        mode: PlanMode::Normal,
        changes: diff(graph, &observation, DiffOptions::default()),
        observation,
    }
}

fn status_of<'a>(report: &'a Report, id: &str) -> &'a StepStatus {
    &report
        .steps
        .iter()
        .find(|step| step.id.as_str() == id)
        .unwrap()
        .status
}

#[tokio::test]
async fn runs_dependencies_first_and_resolves_references_from_outputs() {
    let fake = Arc::new(FakeProvider::default());
    let providers = Providers::from_list(vec![fake.clone()]);
    let graph = graph();
    let report = execute(
        &plan_for(&graph),
        &graph,
        &providers,
        ExecOptions::default(),
        &Progress::new(true),
    )
    .await;
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
    let fake = Arc::new(FakeProvider {
        fail: vec!["bucket"],
        ..FakeProvider::default()
    });
    let providers = Providers::from_list(vec![fake.clone()]);
    let graph = graph();
    let report = execute(
        &plan_for(&graph),
        &graph,
        &providers,
        ExecOptions::default(),
        &Progress::new(true),
    )
    .await;
    assert!(report.failed());
    assert!(
        matches!(status_of(&report, "bucket"), StepStatus::Failed(why) if why.contains("fake:Create on bucket"))
    );
    assert_eq!(
        status_of(&report, "alarm"),
        &StepStatus::Skipped("upstream failed: bucket".into())
    );
    assert_eq!(
        status_of(&report, "table"),
        &StepStatus::Done,
        "independent of the failure"
    );
    assert_eq!(status_of(&report, "solo5"), &StepStatus::Done);
}

#[tokio::test]
async fn concurrency_never_exceeds_the_bound_but_uses_it() {
    for bound in [1, 3] {
        let fake = Arc::new(FakeProvider::default());
        let providers = Providers::from_list(vec![fake.clone()]);
        let graph = graph();
        let options = ExecOptions {
            parallelism: bound,
            ..ExecOptions::default()
        };
        let report = execute(
            &plan_for(&graph),
            &graph,
            &providers,
            options,
            &Progress::new(true),
        )
        .await;
        assert!(!report.failed());
        assert_eq!(
            fake.peak.load(Ordering::SeqCst),
            bound,
            "parallelism {bound}"
        );
    }
}
