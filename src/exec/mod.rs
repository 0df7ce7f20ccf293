//! The executor: runs a plan's changes as a DAG — dependencies first, independent steps
//! concurrently under one bound, retries, waiters — and reports every step.
//!
//! A failed step stops only its dependents (reported as skipped, upstream failed); the rest
//! goes on.

mod order;
mod progress;
mod recover;
pub mod retry;
mod step;
mod walk;

use std::time::Duration;

use serde::Serialize;

use crate::fence::Fence;
use crate::model::{DesiredGraph, Kind, LogicalId};
use crate::plan::{Action, Plan};
use crate::providers::Providers;
use walk::Walker;

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

/// Runs every change of `plan` that calls AWS: the walker starts what is ready, finishes what
/// ends, and skips what waits on a step that will never finish.
pub async fn execute(
    plan: &Plan,
    graph: &DesiredGraph,
    providers: &Providers,
    options: ExecOptions,
    progress: &Progress,
) -> Report {
    let mut walker = Walker::new(plan, graph, providers, &options, progress);
    loop {
        walker.stop_if_fenced();
        walker.start_ready();
        match walker.next_finished().await {
            None => return walker.into_report(),
            Some(Some(finished)) => walker.finish(finished),
            Some(None) => {}
        }
    }
}

#[cfg(test)]
mod fake;
#[cfg(test)]
mod safety_tests;
#[cfg(test)]
mod tests;
