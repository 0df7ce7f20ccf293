//! The executor: runs a plan's changes as a DAG — dependencies first, independent steps
//! concurrently under one bound, retries, waiters — and reports every step.
//!
//! A failed step stops only its dependents (reported as skipped, upstream failed); the rest
//! goes on.

mod progress;
pub mod retry;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;

use crate::model::{DesiredGraph, LogicalId, Observed, Outputs, Props, Resource, Value};
use crate::plan::{Action, Plan, ResourceChange};
use crate::providers::{Provider, ProviderError, Providers, StepCtx};

pub use progress::Progress;
pub use retry::RetryPolicy;

/// Default number of steps run at once.
pub const DEFAULT_PARALLELISM: usize = 8;
/// Default bound on a single wait (table ACTIVE, NAT gateway available, ...).
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// How to execute.
#[derive(Debug, Clone, Copy)]
pub struct ExecOptions {
    /// Steps run at once.
    pub parallelism: usize,
    /// Carry out deletions (otherwise they are skipped).
    pub allow_destroy: bool,
    /// Bound on a single wait.
    pub wait_timeout: Duration,
    /// Step-level retry policy.
    pub retry: RetryPolicy,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            parallelism: DEFAULT_PARALLELISM,
            allow_destroy: false,
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

/// A step's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum StepStatus {
    /// Done.
    Done,
    /// Failed, with the error naming the AWS action and resource.
    Failed(String),
    /// Not run, and why (an upstream step failed, or a deletion without `--allow-destroy`).
    Skipped(String),
}

/// One step's report.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Resource.
    pub id: LogicalId,
    /// Resource kind.
    pub kind: &'static str,
    /// What was done.
    pub action: Action,
    /// Outcome.
    #[serde(flatten)]
    pub status: StepStatus,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Attempts made (1 without retries).
    pub attempts: u32,
}

/// Every step's report, in completion order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The steps.
    pub steps: Vec<StepReport>,
}

impl Report {
    /// Whether any step failed.
    #[must_use]
    pub fn failed(&self) -> bool {
        self.steps
            .iter()
            .any(|step| matches!(step.status, StepStatus::Failed(_)))
    }

    /// Steps by outcome: (done, failed, skipped).
    #[must_use]
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for step in &self.steps {
            match step.status {
                StepStatus::Done => counts.0 += 1,
                StepStatus::Failed(_) => counts.1 += 1,
                StepStatus::Skipped(_) => counts.2 += 1,
            }
        }
        counts
    }
}

/// What one spawned step needs.
struct StepInput {
    change: ResourceChange,
    resource: Option<Resource>,
    observed: Option<Observed>,
    provider: Arc<dyn Provider>,
    outputs: BTreeMap<LogicalId, Outputs>,
}

/// Runs every change of `plan` that calls AWS.
pub async fn execute(
    plan: &Plan,
    graph: &DesiredGraph,
    providers: &Providers,
    options: ExecOptions,
    progress: &Progress,
) -> Report {
    let mut report = Report::default();
    let mut outputs: BTreeMap<LogicalId, Outputs> = plan
        .observation
        .found
        .iter()
        .map(|(id, observed)| (id.clone(), observed.outputs.clone()))
        .collect();
    let mut pending: BTreeMap<LogicalId, &ResourceChange> = BTreeMap::new();
    for change in plan
        .changes
        .iter()
        .filter(|change| change.action.is_change())
    {
        if change.action == Action::Delete && !options.allow_destroy {
            report
                .steps
                .push(skipped(change, "deletion needs --allow-destroy"));
        } else {
            pending.insert(change.id.clone(), change);
        }
    }
    let step_ids: BTreeSet<LogicalId> = pending.keys().cloned().collect();
    let mut done: BTreeSet<LogicalId> = BTreeSet::new();
    let mut failed: BTreeSet<LogicalId> = BTreeSet::new();
    let mut running: JoinSet<(StepReport, Option<Outputs>)> = JoinSet::new();
    let parallelism = options.parallelism.max(1);
    loop {
        // Skip steps whose upstream failed; start those whose dependencies are done.
        let ids: Vec<LogicalId> = pending.keys().cloned().collect();
        for id in ids {
            let Some(change) = pending.get(&id).copied() else {
                continue;
            };
            let dependencies: Vec<&LogicalId> = change
                .depends_on
                .iter()
                .filter(|dependency| step_ids.contains(*dependency))
                .collect();
            if let Some(upstream) = dependencies
                .iter()
                .find(|dependency| failed.contains(**dependency))
            {
                pending.remove(&id);
                failed.insert(id.clone());
                report
                    .steps
                    .push(skipped(change, &format!("upstream failed: {upstream}")));
                continue;
            }
            if running.len() >= parallelism
                || !dependencies
                    .iter()
                    .all(|dependency| done.contains(*dependency))
            {
                continue;
            }
            pending.remove(&id);
            let input = StepInput {
                change: change.clone(),
                resource: graph.get(&id).cloned(),
                observed: plan.observation.found.get(&id).cloned().or_else(|| {
                    plan.observation
                        .orphans
                        .iter()
                        .find(|o| o.id == id)
                        .cloned()
                }),
                provider: match providers.for_kind(change.kind) {
                    Some(provider) => provider,
                    None => {
                        failed.insert(id.clone());
                        report.steps.push(StepReport {
                            id: id.clone(),
                            kind: change.kind,
                            action: change.action,
                            status: StepStatus::Failed(format!(
                                "no provider for kind {}",
                                change.kind
                            )),
                            duration_ms: 0,
                            attempts: 0,
                        });
                        continue;
                    }
                },
                outputs: outputs.clone(),
            };
            let step_progress = progress.step(id.as_str(), change.action.name());
            let ctx = StepCtx {
                id: id.clone(),
                env: plan.target.env.clone(),
                progress: step_progress.reporter(),
                wait_timeout: options.wait_timeout,
            };
            let policy = options.retry;
            running.spawn(async move {
                let started = Instant::now();
                let (result, attempts) = retry::with_retry(policy, || run_step(&input, &ctx)).await;
                let elapsed = started.elapsed();
                let (status, produced) = match result {
                    Ok(produced) => (StepStatus::Done, Some(produced)),
                    // The endpoint (an emulator) does not implement this API at all.
                    Err(error) if error.class == crate::providers::ErrorClass::Unsupported => (
                        StepStatus::Skipped(format!("not available at this endpoint: {error}")),
                        None,
                    ),
                    Err(error) => (StepStatus::Failed(error.to_string()), None),
                };
                step_progress.finish(
                    match &status {
                        StepStatus::Done => "done",
                        _ => "failed",
                    },
                    elapsed,
                );
                let report = StepReport {
                    id: input.change.id.clone(),
                    kind: input.change.kind,
                    action: input.change.action,
                    status,
                    duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                    attempts,
                };
                (report, produced)
            });
        }
        let Some(joined) = running.join_next().await else {
            // Nothing running and nothing startable: whatever is left waits on a cycle.
            for change in pending.values() {
                report
                    .steps
                    .push(skipped(change, "dependencies never completed"));
            }
            return report;
        };
        match joined {
            Ok((step, produced)) => {
                match (&step.status, produced) {
                    (StepStatus::Done, Some(produced)) => {
                        outputs.insert(step.id.clone(), produced);
                        done.insert(step.id.clone());
                    }
                    _ => {
                        failed.insert(step.id.clone());
                    }
                }
                report.steps.push(step);
            }
            Err(error) => {
                tracing::error!("a step task ended abnormally: {error}");
            }
        }
    }
}

fn skipped(change: &ResourceChange, why: &str) -> StepReport {
    StepReport {
        id: change.id.clone(),
        kind: change.kind,
        action: change.action,
        status: StepStatus::Skipped(why.to_string()),
        duration_ms: 0,
        attempts: 0,
    }
}

/// Resolves references from the outputs known so far; a reference still unresolved is an error.
fn resolved(
    resource: &Resource,
    outputs: &BTreeMap<LogicalId, Outputs>,
) -> Result<Resource, ProviderError> {
    fn resolve(value: &Value, outputs: &BTreeMap<LogicalId, Outputs>) -> Result<Value, String> {
        match value {
            Value::Ref(reference) => outputs
                .get(&reference.id)
                .and_then(|produced| produced.get(&reference.output))
                .map(|output| Value::Str(output.clone()))
                .ok_or_else(|| format!("{}.{} is not available", reference.id, reference.output)),
            Value::List(items) => items
                .iter()
                .map(|item| resolve(item, outputs))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            Value::Concat(parts) => {
                let mut joined = String::new();
                for part in parts {
                    match resolve(part, outputs)? {
                        Value::Str(text) => joined.push_str(&text),
                        other => return Err(format!("cannot join {other:?} into a string")),
                    }
                }
                Ok(Value::Str(joined))
            }
            Value::Policy(document) => {
                let lookup = |reference: &crate::model::Ref| {
                    outputs
                        .get(&reference.id)
                        .and_then(|produced| produced.get(&reference.output))
                        .cloned()
                };
                crate::model::substitute_refs(document, &lookup)
                    .map(Value::Policy)
                    .map_err(|reference| {
                        format!("{}.{} is not available", reference.id, reference.output)
                    })
            }
            other => Ok(other.clone()),
        }
    }
    let resolve_all = |props: &Props| -> Result<Props, ProviderError> {
        props
            .iter()
            .map(|(name, value)| {
                resolve(value, outputs)
                    .map(|value| (name.clone(), value))
                    .map_err(|why| ProviderError::local("resolve", resource.id.as_str(), why))
            })
            .collect()
    };
    let mut resolved = resource.clone();
    resolved.props = resolve_all(&resource.props)?;
    resolved.create_inputs = resolve_all(&resource.create_inputs)?;
    Ok(resolved)
}

async fn run_step(input: &StepInput, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
    let change = &input.change;
    let missing = |what: &str| {
        ProviderError::local(
            change.action.name(),
            change.id.as_str(),
            format!("no {what} for this step"),
        )
    };
    match change.action {
        Action::Create => {
            let resource = resolved(
                input
                    .resource
                    .as_ref()
                    .ok_or_else(|| missing("desired resource"))?,
                &input.outputs,
            )?;
            input.provider.create(&resource, ctx).await
        }
        Action::Update | Action::Adopt => {
            let resource = resolved(
                input
                    .resource
                    .as_ref()
                    .ok_or_else(|| missing("desired resource"))?,
                &input.outputs,
            )?;
            let observed = input
                .observed
                .as_ref()
                .ok_or_else(|| missing("observed resource"))?;
            input
                .provider
                .update(&resource, observed, &change.attributes, ctx)
                .await
        }
        Action::Replace => {
            let resource = resolved(
                input
                    .resource
                    .as_ref()
                    .ok_or_else(|| missing("desired resource"))?,
                &input.outputs,
            )?;
            let observed = input
                .observed
                .as_ref()
                .ok_or_else(|| missing("observed resource"))?;
            input.provider.delete(observed, ctx).await?;
            input.provider.create(&resource, ctx).await
        }
        Action::Delete => {
            let observed = input
                .observed
                .as_ref()
                .ok_or_else(|| missing("observed resource"))?;
            input.provider.delete(observed, ctx).await?;
            Ok(Outputs::new())
        }
        Action::NoOp | Action::Conflict | Action::Retain | Action::Skip => Ok(Outputs::new()),
    }
}

#[cfg(test)]
mod tests;
