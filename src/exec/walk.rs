//! The walker over a plan's step graph: which nodes are ready, starting them (at most
//! `parallelism` at once), finishing them, and skipping the nodes whose prerequisites will
//! never finish.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::task::JoinSet;

use super::order::{Node, Phase, phases, prerequisites};
use super::step::{NodeResult, StepInput, panic_message, referenced_outputs, run_step, skipped};
use super::{ExecOptions, Progress, Report, StepReport, StepStatus, recover, retry};
use crate::model::{DesiredGraph, LogicalId, Outputs};
use crate::plan::{Action, Plan, ResourceChange};
use crate::providers::{ProviderError, Providers, StepCtx};

/// The state of one run over a plan.
pub(super) struct Walker<'a> {
    plan: &'a Plan,
    graph: &'a DesiredGraph,
    providers: &'a Providers,
    options: &'a ExecOptions,
    progress: &'a Progress,
    /// The changes that call AWS, by resource.
    changes: BTreeMap<LogicalId, &'a ResourceChange>,
    /// Every output known so far (observed, then built), each shared with the steps reading it.
    outputs: BTreeMap<LogicalId, Arc<Outputs>>,
    /// Nodes not started yet, and what each waits for.
    pending: BTreeMap<Node, Vec<Node>>,
    /// Nodes that will not run, and how to say so to the nodes waiting for them.
    blocked: BTreeMap<Node, String>,
    /// Nodes finished successfully.
    done: BTreeSet<Node>,
    /// Time and attempts of a replacement's destroy half, added to its report.
    destroyed: BTreeMap<LogicalId, (Duration, u32)>,
    running: JoinSet<NodeResult>,
    /// Which node each running task carries, to report a task that ended abnormally.
    tasks: HashMap<tokio::task::Id, Node>,
    report: Report,
}

impl<'a> Walker<'a> {
    /// A walker over the changes of `plan` that call AWS; deletions and replacements without
    /// `--allow-destroy` are reported skipped at once, and so block what waits for them.
    pub fn new(
        plan: &'a Plan,
        graph: &'a DesiredGraph,
        providers: &'a Providers,
        options: &'a ExecOptions,
        progress: &'a Progress,
    ) -> Walker<'a> {
        let mut report = Report::default();
        let outputs = plan
            .observation
            .found
            .iter()
            .map(|(id, observed)| (id.clone(), Arc::new(observed.outputs.clone())))
            .collect();
        let mut changes: BTreeMap<LogicalId, &ResourceChange> = BTreeMap::new();
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
        Walker {
            plan,
            graph,
            providers,
            options,
            progress,
            changes,
            outputs,
            pending,
            blocked,
            done: BTreeSet::new(),
            destroyed: BTreeMap::new(),
            running: JoinSet::new(),
            tasks: HashMap::new(),
            report,
        }
    }

    /// Once the fence is tripped (the lease is lost), starts nothing more: every change not
    /// started yet is reported skipped; what runs now finishes.
    pub fn stop_if_fenced(&mut self) {
        if self.report.aborted.is_some() {
            return;
        }
        let Some(reason) = self.options.fence.tripped() else {
            return;
        };
        let not_started: BTreeSet<LogicalId> =
            self.pending.keys().map(|(id, _)| id.clone()).collect();
        for id in not_started {
            if let Some(change) = self.changes.get(&id)
                && !self.report.steps.iter().any(|step| step.id == id)
            {
                self.report
                    .steps
                    .push(skipped(change, &format!("not started: {reason}")));
            }
        }
        self.pending.clear();
        self.report.aborted = Some(reason);
    }

    /// Skips the nodes whose prerequisites will never finish (until no more skips cascade)
    /// and starts those that are ready.
    pub fn start_ready(&mut self) {
        let mut cascading = true;
        while cascading {
            cascading = false;
            let nodes: Vec<Node> = self.pending.keys().cloned().collect();
            for node in nodes {
                let Some(waits) = self.pending.get(&node) else {
                    continue;
                };
                let Some(change) = self.changes.get(&node.0).copied() else {
                    self.pending.remove(&node);
                    continue;
                };
                if let Some(reason) = self.blocked_reason(&node, waits) {
                    self.skip_blocked(&node, change, &reason);
                    cascading = true;
                    continue;
                }
                let ready = waits.iter().all(|wait| self.done.contains(wait));
                if self.running.len() >= self.options.parallelism.max(1) || !ready {
                    continue;
                }
                self.pending.remove(&node);
                if !self.start(node, change) {
                    cascading = true;
                }
            }
        }
    }

    /// Why `node` will never run, when one of its prerequisites `waits` is blocked.
    fn blocked_reason(&self, node: &Node, waits: &[Node]) -> Option<String> {
        let (upstream, why) = waits
            .iter()
            .find_map(|wait| self.blocked.get(wait).map(|why| (wait, why)))?;
        Some(match (node.1, upstream.1) {
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
        })
    }

    /// Reports `node` skipped for `reason` and blocks what waits for it.
    fn skip_blocked(&mut self, node: &Node, change: &ResourceChange, reason: &str) {
        self.pending.remove(node);
        // A replacement whose destroy half is skipped never builds either.
        if node.1 == Phase::Destroy {
            self.pending.remove(&(node.0.clone(), Phase::Build));
            self.blocked
                .insert((node.0.clone(), Phase::Build), "was skipped".into());
        }
        self.blocked.insert(node.clone(), "was skipped".into());
        if !self.report.steps.iter().any(|step| step.id == node.0) {
            self.report.steps.push(skipped(change, reason));
        }
    }

    /// Spawns the step of `node`; `false` when it could not start (no provider for its kind:
    /// reported failed, and what waits for it is blocked).
    fn start(&mut self, node: Node, change: &ResourceChange) -> bool {
        let id = node.0.clone();
        let provider = match self.graph.get(&id) {
            Some(resource) => self.providers.for_resource(resource),
            None => self.providers.for_kind(change.kind),
        };
        let Some(provider) = provider else {
            for phase in phases(change.action) {
                self.pending.remove(&(id.clone(), *phase));
                self.blocked.insert((id.clone(), *phase), "failed".into());
            }
            self.report.steps.push(StepReport {
                id,
                kind: change.kind,
                action: change.action,
                status: StepStatus::Failed(format!("no provider for kind {}", change.kind)),
                duration_ms: 0,
                attempts: 0,
            });
            return false;
        };
        let resource = self.graph.get(&id).cloned();
        let observation = &self.plan.observation;
        let input = StepInput {
            change: change.clone(),
            phase: node.1,
            outputs: referenced_outputs(resource.as_ref(), &self.outputs),
            resource,
            observed: observation.found.get(&id).cloned().or_else(|| {
                observation
                    .orphans
                    .iter()
                    .find(|orphan| orphan.id == id)
                    .cloned()
            }),
            provider,
        };
        let label = match (change.action, node.1) {
            (Action::Replace, Phase::Destroy) => "replace (delete)",
            (Action::Replace, Phase::Build) => "replace (create)",
            (action, _) => action.name(),
        };
        let step_progress = self.progress.step(id.as_str(), label);
        let ctx = StepCtx {
            id,
            env: self.plan.target.env.clone(),
            progress: step_progress.reporter(),
            wait_timeout: self.options.wait_timeout,
        };
        let policy = self.options.retry;
        let task = self.running.spawn(async move {
            let started = Instant::now();
            let tries = recover::Attempts::default();
            let attempt = retry::with_retry(policy, || run_step(&input, &ctx, tries.start()));
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
        self.tasks.insert(task.id(), node);
        true
    }

    /// The next step to finish: `None` when nothing runs; `Some(None)` for a task that ended
    /// abnormally without a node the walker knows.
    pub async fn next_finished(&mut self) -> Option<Option<NodeResult>> {
        let joined = self.running.join_next_with_id().await?;
        Some(match joined {
            Ok((task, finished)) => {
                self.tasks.remove(&task);
                Some(finished)
            }
            Err(error) => {
                let Some((id, phase)) = self.tasks.remove(&error.id()) else {
                    tracing::error!("a step task ended abnormally: {error}");
                    return Some(None);
                };
                Some(NodeResult {
                    result: Err(ProviderError::local(
                        "execute",
                        id.as_str(),
                        format!("the step ended abnormally: {error}"),
                    )),
                    id,
                    phase,
                    elapsed: Duration::ZERO,
                    attempts: 1,
                })
            }
        })
    }

    /// Records a finished step: its outputs for the steps that reference them, or the block it
    /// puts on what waits for it; its report (a replacement reports once, for both halves).
    pub fn finish(&mut self, finished: NodeResult) {
        let Some(change) = self.changes.get(&finished.id).copied() else {
            return;
        };
        let node = (finished.id.clone(), finished.phase);
        let (mut elapsed, mut attempts) = (finished.elapsed, finished.attempts);
        if finished.phase == Phase::Build
            && let Some((before, tries)) = self.destroyed.remove(&finished.id)
        {
            elapsed += before;
            attempts += tries;
        }
        let status = match finished.result {
            Ok(produced) => {
                self.done.insert(node);
                if finished.phase == Phase::Build {
                    self.outputs.insert(finished.id.clone(), Arc::new(produced));
                } else if change.action == Action::Replace {
                    // The build half reports for the whole replacement.
                    self.destroyed
                        .insert(finished.id.clone(), (elapsed, attempts));
                    return;
                }
                StepStatus::Done
            }
            Err(error) => self.failed(node, error),
        };
        self.report.steps.push(StepReport {
            id: finished.id,
            kind: change.kind,
            action: change.action,
            status,
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            attempts,
        });
    }

    /// Blocks what waits for a failed node and says how it ended. The endpoint does not
    /// implement this API at all: in emulator mode (the providers') skipped, not checked;
    /// otherwise a failure, since real AWS never answers so.
    fn failed(&mut self, node: Node, error: ProviderError) -> StepStatus {
        let unsupported = self.providers.is_emulator()
            && error.class == crate::providers::ErrorClass::Unsupported;
        let error = if unsupported {
            error
        } else {
            error.unsupported_is_fatal()
        };
        let why = if unsupported { "was skipped" } else { "failed" };
        if node.1 == Phase::Destroy {
            self.pending.remove(&(node.0.clone(), Phase::Build));
            self.blocked
                .insert((node.0.clone(), Phase::Build), why.into());
        }
        self.blocked.insert(node, why.into());
        if unsupported {
            StepStatus::Skipped(format!("not available at this endpoint: {error}"))
        } else {
            StepStatus::Failed(error.to_string())
        }
    }

    /// The report, once nothing runs and nothing can start: whatever is left waits on a cycle.
    pub fn into_report(mut self) -> Report {
        let left: BTreeSet<LogicalId> = self.pending.keys().map(|(id, _)| id.clone()).collect();
        for id in left {
            if let Some(change) = self.changes.get(&id) {
                self.report
                    .steps
                    .push(skipped(change, "dependencies never completed"));
            }
        }
        self.report
    }
}
