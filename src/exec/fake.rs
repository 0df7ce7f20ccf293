//! The one fake provider and plan helpers of the executor's tests (order, concurrency, failure
//! isolation, safety rails). No AWS: the executor's own logic is what these tests check.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::{ExecOptions, Progress, Report, StepStatus, execute};
use crate::fence::Fence;
use crate::model::{DesiredGraph, Kind, Observation, Observed, Outputs, Props, Resource};
use crate::plan::{DiffOptions, Plan, PlanMode, ResourceChange, Target, diff};
use crate::providers::{Change, ErrorClass, Provider, ProviderError, Providers, StepCtx};

/// What the fake does for one resource id (every other id succeeds).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Script {
    /// Succeeds.
    Succeed,
    /// Its create is denied (a fatal error).
    FailCreate,
    /// Its delete fails (the resource is in use).
    FailDelete,
    /// The provider panics.
    Panic,
    /// The endpoint does not implement the API.
    Unsupported,
    /// Succeeds, then trips the fence (the lease is lost while this step runs).
    TripFence,
    /// Answers NotFound on the fake's first call (a resource just made is not visible yet),
    /// then succeeds.
    NotFoundOnce,
}

/// Creates, updates and deletes `Kind::SnsTopic` resources as scripted; records every call
/// (`"create <id>"`, ...) in order, the properties each create saw, and the peak concurrency.
#[derive(Default)]
pub(super) struct Fake {
    scripts: Vec<(&'static str, Script)>,
    fence: Fence,
    /// How long a create takes (otherwise it only yields).
    delay: Duration,
    calls: Mutex<Vec<String>>,
    /// Every create's id and (resolved) properties.
    pub created: Mutex<Vec<(String, Props)>>,
    running: AtomicUsize,
    /// The most creates running at once.
    pub peak: AtomicUsize,
}

impl Fake {
    /// A fake following `scripts`, tripping `fence` where scripted.
    pub fn scripted(scripts: Vec<(&'static str, Script)>, fence: &Fence) -> Arc<Fake> {
        Arc::new(Fake {
            scripts,
            fence: fence.clone(),
            ..Fake::default()
        })
    }

    /// A fake whose creates take `delay` (so that concurrency shows).
    pub fn slow(scripts: Vec<(&'static str, Script)>, delay: Duration) -> Arc<Fake> {
        Arc::new(Fake {
            scripts,
            delay,
            ..Fake::default()
        })
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .map(|calls| calls.clone())
            .unwrap_or_default()
    }

    /// Where `call` is in [`Fake::calls`]; panics when it was never made.
    pub fn position(&self, call: &str) -> usize {
        self.calls()
            .iter()
            .position(|made| made == call)
            .unwrap_or_else(|| panic!("{call} not in {:?}", self.calls()))
    }

    async fn act(&self, id: &str, verb: &str, outputs: Outputs) -> Result<Outputs, ProviderError> {
        // Yield so that whatever else is ready gets a chance to run first.
        tokio::task::yield_now().await;
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(format!("{verb} {id}"));
        }
        let script = self
            .scripts
            .iter()
            .find(|(name, _)| *name == id)
            .map_or(Script::Succeed, |(_, script)| *script);
        match (script, verb) {
            (Script::FailCreate, "create") => Err(ProviderError {
                action: "fake:Create".into(),
                resource: id.into(),
                class: ErrorClass::Fatal,
                code: Some("AccessDenied".into()),
                message: "denied".into(),
            }),
            (Script::FailDelete, "delete") => {
                Err(ProviderError::local("fake:Delete", id, "in use"))
            }
            (Script::Panic, _) => panic!("provider bug while handling {id}"),
            (Script::Unsupported, _) => Err(ProviderError {
                action: "sns:CreateTopic".into(),
                resource: id.into(),
                class: ErrorClass::Unsupported,
                code: None,
                message: "HTTP 501".into(),
            }),
            (Script::TripFence, _) => {
                self.fence.trip("could not extend the lease: timed out");
                Ok(outputs)
            }
            (Script::NotFoundOnce, _) if self.calls().len() == 1 => Err(ProviderError {
                action: "ec2:AuthorizeSecurityGroupIngress".into(),
                resource: id.into(),
                class: ErrorClass::NotFound,
                code: Some("InvalidGroup.NotFound".into()),
                message: "The security group 'sg-1' does not exist".into(),
            }),
            _ => Ok(outputs),
        }
    }
}

#[async_trait]
impl Provider for Fake {
    fn kinds(&self) -> &'static [Kind] {
        &[Kind::SnsTopic]
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
        tokio::time::sleep(self.delay).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        let id = resource.id.as_str();
        let outputs = Outputs::from([
            ("arn".to_string(), format!("arn:fake:{id}")),
            ("id".to_string(), format!("new-{id}")),
        ]);
        let made = self.act(id, "create", outputs).await?;
        if let Ok(mut created) = self.created.lock() {
            created.push((id.to_string(), resource.props.clone()));
        }
        Ok(made)
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        self.act(
            change.resource.id.as_str(),
            "update",
            change.observed.outputs.clone(),
        )
        .await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        self.act(observed.id.as_str(), "delete", Outputs::new())
            .await
            .map(|_| ())
    }
}

/// The target of every test plan.
pub(super) fn target() -> Target {
    Target {
        env: "stg".into(),
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
        primary_region: true,
        availability_zones: vec!["us-east-1a".into()],
    }
}

/// A plan of `changes` over `observation`.
pub(super) fn plan_of(changes: Vec<ResourceChange>, observation: Observation) -> Plan {
    Plan {
        target: target(),
        spec_digest: "sha256:test".into(),
        mode: PlanMode::Normal,
        changes,
        observation,
    }
}

/// The plan the diff makes for `graph` over `observation`.
pub(super) fn plan_for(graph: &DesiredGraph, observation: Observation) -> Plan {
    plan_of(
        diff(graph, &observation, DiffOptions::default()),
        observation,
    )
}

/// The status of `id`'s step; panics when there is none.
pub(super) fn status<'a>(report: &'a Report, id: &str) -> &'a StepStatus {
    &report
        .steps
        .iter()
        .find(|step| step.id.as_str() == id)
        .unwrap_or_else(|| panic!("no step for {id}: {report:?}"))
        .status
}

/// Executes `plan` with `fake` as the only provider (`emulator`: in emulator mode).
pub(super) async fn run_with(
    plan: &Plan,
    graph: &DesiredGraph,
    fake: Arc<dyn Provider>,
    options: ExecOptions,
    emulator: bool,
) -> Report {
    let providers = Providers::from_list(vec![fake]).emulator(emulator);
    execute(plan, graph, &providers, options, &Progress::new(true)).await
}
