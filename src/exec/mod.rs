//! The executor: runs a plan's changes as a DAG — dependencies first, independent steps
//! concurrently under one bound, retries, waiters — and reports every step.
//!
//! A failed step stops only its dependents (reported as skipped, upstream failed); the rest
//! goes on.

mod progress;
mod recover;
pub mod retry;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::fence::Fence;
use crate::model::Kind;
use crate::model::{DesiredGraph, LogicalId, Observed, Outputs, Props, Ref, Resource};
use crate::plan::{Action, Plan, ResourceChange};
use crate::providers::{Provider, ProviderError, Providers, StepCtx};

pub use progress::Progress;
pub use retry::RetryPolicy;

/// Default number of steps run at once.
pub const DEFAULT_PARALLELISM: usize = 8;
/// Default bound on a single wait (table ACTIVE, NAT gateway available, ...).
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// How to execute.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Steps run at once.
    pub parallelism: usize,
    /// Carry out deletions and replacements (otherwise both are skipped: a replacement
    /// destroys the live resource first).
    pub allow_destroy: bool,
    /// Bound on a single wait.
    pub wait_timeout: Duration,
    /// Step-level retry policy.
    pub retry: RetryPolicy,
    /// Checked before each step starts: once tripped (the lease was lost), no new step starts
    /// and the run fails.
    pub fence: Fence,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            parallelism: DEFAULT_PARALLELISM,
            allow_destroy: false,
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
            retry: RetryPolicy::default(),
            fence: Fence::new(),
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
    pub kind: Kind,
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
    /// Why the run stopped starting steps before the plan was done (the lease was lost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
}

impl Report {
    /// Whether any step failed, or the run was stopped early.
    #[must_use]
    pub fn failed(&self) -> bool {
        self.aborted.is_some()
            || self
                .steps
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

/// The two halves of a change. Creating, updating and adopting only build; deleting only
/// destroys; replacing destroys, then builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Delete the live resource.
    Destroy,
    /// Create or update the resource.
    Build,
}

/// One unit of scheduling: a change's destroy or build half.
type Node = (LogicalId, Phase);

/// Which phases a change has.
fn phases(action: Action) -> &'static [Phase] {
    match action {
        Action::Delete => &[Phase::Destroy],
        Action::Replace => &[Phase::Destroy, Phase::Build],
        Action::Create | Action::Update | Action::Adopt => &[Phase::Build],
        Action::NoOp | Action::Conflict | Action::Retain | Action::Skip => &[],
    }
}

/// The nodes each node waits for.
///
/// - A build waits for the builds of its dependencies, and for its own destroy (replace).
/// - A destroy waits for the destroys of everything that depends on it or names it live
///   (a VPC is deleted after its subnets, a subnet after its NAT gateway), and for the
///   updates of live resources that name it but no longer will (an endpoint moved out of a
///   subnet before the subnet goes). This is the reverse of the build order, so deletions —
///   of orphans as of the old halves of replacements — run in the order AWS requires.
fn prerequisites(changes: &[&ResourceChange]) -> BTreeMap<Node, Vec<Node>> {
    let nodes: BTreeSet<Node> = changes
        .iter()
        .flat_map(|change| {
            phases(change.action)
                .iter()
                .map(|phase| (change.id.clone(), *phase))
        })
        .collect();
    let mut waits: BTreeMap<Node, Vec<Node>> = nodes
        .iter()
        .map(|node| (node.clone(), Vec::new()))
        .collect();
    let mut add = |node: Node, prerequisite: Node| {
        if node != prerequisite
            && nodes.contains(&prerequisite)
            && let Some(list) = waits.get_mut(&node)
            && !list.contains(&prerequisite)
        {
            list.push(prerequisite);
        }
    };
    for change in changes {
        let id = &change.id;
        let build = (id.clone(), Phase::Build);
        if nodes.contains(&build) {
            for dependency in &change.depends_on {
                add(build.clone(), (dependency.clone(), Phase::Build));
            }
            add(build.clone(), (id.clone(), Phase::Destroy));
        }
        let destroys = nodes.contains(&(id.clone(), Phase::Destroy));
        for named in change.depends_on.iter().chain(&change.live_references) {
            let target = (named.clone(), Phase::Destroy);
            if destroys {
                add(target, (id.clone(), Phase::Destroy));
            } else if nodes.contains(&build) && !change.depends_on.contains(named) {
                add(target, build.clone());
            }
        }
    }
    waits
}

/// What one spawned step needs.
struct StepInput {
    change: ResourceChange,
    phase: Phase,
    resource: Option<Resource>,
    observed: Option<Observed>,
    provider: Arc<dyn Provider>,
    outputs: BTreeMap<LogicalId, Outputs>,
}

/// What a finished node hands back to the scheduler.
struct NodeResult {
    id: LogicalId,
    phase: Phase,
    result: Result<Outputs, ProviderError>,
    elapsed: Duration,
    attempts: u32,
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
    let mut changes: BTreeMap<LogicalId, &ResourceChange> = BTreeMap::new();
    // Nodes that will not run, and how to say so to the nodes waiting for them.
    let mut blocked: BTreeMap<Node, String> = BTreeMap::new();
    for change in plan
        .changes
        .iter()
        .filter(|change| change.action.is_change())
    {
        if change.action == Action::Delete && !options.allow_destroy {
            report
                .steps
                .push(skipped(change, "deletion needs --allow-destroy"));
            blocked.insert(
                (change.id.clone(), Phase::Destroy),
                "was skipped (deletion needs --allow-destroy)".into(),
            );
        }
        if change.action == Action::Replace && !options.allow_destroy {
            // A replacement deletes the live resource first: it needs the same consent.
            report.steps.push(skipped(
                change,
                "replacement deletes the live resource; it needs --allow-destroy",
            ));
            for phase in [Phase::Destroy, Phase::Build] {
                blocked.insert(
                    (change.id.clone(), phase),
                    "was skipped (replacement needs --allow-destroy)".into(),
                );
            }
        }
        changes.insert(change.id.clone(), change);
    }
    let listed: Vec<&ResourceChange> = changes.values().copied().collect();
    let mut pending = prerequisites(&listed);
    pending.retain(|node, _| !blocked.contains_key(node));
    let mut done: BTreeSet<Node> = BTreeSet::new();
    // Time and attempts of a replacement's destroy half, added to its report.
    let mut destroyed: BTreeMap<LogicalId, (Duration, u32)> = BTreeMap::new();
    let mut running: JoinSet<NodeResult> = JoinSet::new();
    // Which node each running task carries, to report a task that ended abnormally.
    let mut tasks: HashMap<tokio::task::Id, Node> = HashMap::new();
    let parallelism = options.parallelism.max(1);
    loop {
        if report.aborted.is_none()
            && let Some(reason) = options.fence.tripped()
        {
            // The lease is lost: start nothing more; what runs now finishes.
            let not_started: BTreeSet<LogicalId> =
                pending.keys().map(|(id, _)| id.clone()).collect();
            for id in not_started {
                if let Some(change) = changes.get(&id)
                    && !report.steps.iter().any(|step| step.id == id)
                {
                    report
                        .steps
                        .push(skipped(change, &format!("not started: {reason}")));
                }
            }
            pending.clear();
            report.aborted = Some(reason);
        }
        // Skip nodes whose prerequisites will never finish (until no more skips cascade);
        // start those that are ready.
        let mut cascading = true;
        while cascading {
            cascading = false;
            let nodes: Vec<Node> = pending.keys().cloned().collect();
            for node in nodes {
                let Some(waits) = pending.get(&node) else {
                    continue;
                };
                let Some(change) = changes.get(&node.0).copied() else {
                    pending.remove(&node);
                    continue;
                };
                if let Some((upstream, why)) = waits
                    .iter()
                    .find_map(|wait| blocked.get(wait).map(|why| (wait, why)))
                {
                    let reason = match (node.1, upstream.1) {
                        (Phase::Build, Phase::Build) => format!("upstream failed: {}", upstream.0),
                        (_, Phase::Destroy) if upstream.0 == node.0 => {
                            format!("the old {} could not be deleted", node.0)
                        }
                        (_, Phase::Destroy) => {
                            format!("waits for the deletion of {}, which {why}", upstream.0)
                        }
                        (Phase::Destroy, Phase::Build) => {
                            format!("waits for the update of {}, which {why}", upstream.0)
                        }
                    };
                    pending.remove(&node);
                    // A replacement whose destroy half is skipped never builds either.
                    if node.1 == Phase::Destroy {
                        pending.remove(&(node.0.clone(), Phase::Build));
                        blocked.insert((node.0.clone(), Phase::Build), "was skipped".into());
                    }
                    blocked.insert(node.clone(), "was skipped".into());
                    if !report.steps.iter().any(|step| step.id == node.0) {
                        report.steps.push(skipped(change, &reason));
                    }
                    cascading = true;
                    continue;
                }
                if running.len() >= parallelism || !waits.iter().all(|wait| done.contains(wait)) {
                    continue;
                }
                pending.remove(&node);
                let id = node.0.clone();
                let provider = match providers.for_kind(change.kind) {
                    Some(provider) => provider,
                    None => {
                        for phase in phases(change.action) {
                            pending.remove(&(id.clone(), *phase));
                            blocked.insert((id.clone(), *phase), "failed".into());
                        }
                        cascading = true;
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
                };
                let input = StepInput {
                    change: change.clone(),
                    phase: node.1,
                    resource: graph.get(&id).cloned(),
                    observed: plan.observation.found.get(&id).cloned().or_else(|| {
                        plan.observation
                            .orphans
                            .iter()
                            .find(|o| o.id == id)
                            .cloned()
                    }),
                    provider,
                    outputs: outputs.clone(),
                };
                let label = match (change.action, node.1) {
                    (Action::Replace, Phase::Destroy) => "replace (delete)",
                    (Action::Replace, Phase::Build) => "replace (create)",
                    (action, _) => action.name(),
                };
                let step_progress = progress.step(id.as_str(), label);
                let ctx = StepCtx {
                    id: id.clone(),
                    env: plan.target.env.clone(),
                    progress: step_progress.reporter(),
                    wait_timeout: options.wait_timeout,
                };
                let policy = options.retry;
                let task = running.spawn(async move {
                    let started = Instant::now();
                    let tries = recover::Attempts::default();
                    let attempt =
                        retry::with_retry(policy, || run_step(&input, &ctx, tries.start()));
                    // A panicking step is a failed step, never a silent one.
                    let (result, attempts) = match AssertUnwindSafe(attempt).catch_unwind().await {
                        Ok(outcome) => outcome,
                        Err(panic) => (
                            Err(ProviderError::local(
                                input.change.action.name(),
                                input.change.id.as_str(),
                                format!("the step panicked: {}", panic_message(panic.as_ref())),
                            )),
                            1,
                        ),
                    };
                    let elapsed = started.elapsed();
                    step_progress.finish(if result.is_ok() { "done" } else { "failed" }, elapsed);
                    NodeResult {
                        id: input.change.id.clone(),
                        phase: input.phase,
                        result,
                        elapsed,
                        attempts,
                    }
                });
                tasks.insert(task.id(), node.clone());
            }
        }
        let Some(joined) = running.join_next_with_id().await else {
            // Nothing running and nothing startable: whatever is left waits on a cycle.
            let mut left: BTreeSet<&LogicalId> = BTreeSet::new();
            for (id, _) in pending.keys() {
                left.insert(id);
            }
            for id in left {
                if let Some(change) = changes.get(id) {
                    report
                        .steps
                        .push(skipped(change, "dependencies never completed"));
                }
            }
            return report;
        };
        let finished = match joined {
            Ok((task, finished)) => {
                tasks.remove(&task);
                finished
            }
            Err(error) => {
                let Some((id, phase)) = tasks.remove(&error.id()) else {
                    tracing::error!("a step task ended abnormally: {error}");
                    continue;
                };
                NodeResult {
                    result: Err(ProviderError::local(
                        "execute",
                        id.as_str(),
                        format!("the step ended abnormally: {error}"),
                    )),
                    id,
                    phase,
                    elapsed: Duration::ZERO,
                    attempts: 1,
                }
            }
        };
        let Some(change) = changes.get(&finished.id).copied() else {
            continue;
        };
        let node = (finished.id.clone(), finished.phase);
        let (mut elapsed, mut attempts) = (finished.elapsed, finished.attempts);
        if finished.phase == Phase::Build
            && let Some((before, tries)) = destroyed.remove(&finished.id)
        {
            elapsed += before;
            attempts += tries;
        }
        let status = match finished.result {
            Ok(produced) => {
                done.insert(node);
                if finished.phase == Phase::Build {
                    outputs.insert(finished.id.clone(), produced);
                } else if change.action == Action::Replace {
                    // The build half reports for the whole replacement.
                    destroyed.insert(finished.id.clone(), (elapsed, attempts));
                    continue;
                }
                StepStatus::Done
            }
            Err(error) => {
                // The endpoint does not implement this API at all: in emulator mode (the
                // providers') skipped, not checked; otherwise a failure, since real AWS never
                // answers so.
                let unsupported = providers.is_emulator()
                    && error.class == crate::providers::ErrorClass::Unsupported;
                let error = if unsupported {
                    error
                } else {
                    error.unsupported_is_fatal()
                };
                let why = if unsupported { "was skipped" } else { "failed" };
                blocked.insert(node, why.into());
                if finished.phase == Phase::Destroy {
                    pending.remove(&(finished.id.clone(), Phase::Build));
                    blocked.insert((finished.id.clone(), Phase::Build), why.into());
                }
                if unsupported {
                    StepStatus::Skipped(format!("not available at this endpoint: {error}"))
                } else {
                    StepStatus::Failed(error.to_string())
                }
            }
        };
        report.steps.push(StepReport {
            id: finished.id,
            kind: change.kind,
            action: change.action,
            status,
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            attempts,
        });
    }
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
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
    let lookup = |reference: &Ref| {
        outputs
            .get(&reference.id)
            .and_then(|produced| produced.get(&reference.output))
            .cloned()
    };
    let resolve_all = |props: &Props| -> Result<Props, ProviderError> {
        props
            .iter()
            .map(|(name, value)| {
                value
                    .resolve_all(&lookup)
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

/// Runs one attempt of a step; `retried`: an earlier attempt failed (a create then continues
/// from what exists, see [`recover`]).
async fn run_step(
    input: &StepInput,
    ctx: &StepCtx,
    retried: bool,
) -> Result<Outputs, ProviderError> {
    let change = &input.change;
    let missing = |what: &str| {
        ProviderError::local(
            change.action.name(),
            change.id.as_str(),
            format!("no {what} for this step"),
        )
    };
    let observed = || {
        input
            .observed
            .as_ref()
            .ok_or_else(|| missing("observed resource"))
    };
    let desired = || {
        input
            .resource
            .as_ref()
            .ok_or_else(|| missing("desired resource"))
            .and_then(|resource| resolved(resource, &input.outputs))
    };
    if input.phase == Phase::Destroy {
        input.provider.delete(observed()?, ctx).await?;
        return Ok(Outputs::new());
    }
    match change.action {
        Action::Create | Action::Replace => {
            recover::create(input.provider.as_ref(), &desired()?, ctx, retried)
                .await
                .map_err(not_yet_visible)
        }
        Action::Update | Action::Adopt => {
            input
                .provider
                .update(&desired()?, observed()?, &change.delta(), ctx)
                .await
        }
        Action::Delete | Action::NoOp | Action::Conflict | Action::Retain | Action::Skip => {
            Ok(Outputs::new())
        }
    }
}

/// A create step whose later call answers NotFound (the rules of a security group just made,
/// the association of a new address: `InvalidGroup.NotFound`, `InvalidAllocationID.NotFound`)
/// meets eventual consistency: AWS documents that a resource just created may not be visible to
/// the next call yet ("Eventual consistency in the Amazon EC2 API", EC2 API reference). The
/// step is retried — re-reading what exists first, so nothing is made twice — instead of
/// failing; a resource that never appears still fails once the step's retries are spent.
fn not_yet_visible(mut error: ProviderError) -> ProviderError {
    if error.class == crate::providers::ErrorClass::NotFound {
        error.class = crate::providers::ErrorClass::Transient;
        error.message = format!(
            "{} (not visible yet right after its create: eventual consistency)",
            error.message
        );
    }
    error
}

#[cfg(test)]
mod safety_tests;
#[cfg(test)]
mod tests;
