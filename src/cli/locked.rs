//! A run of steps under the environment's lease: the apply workflow shared by `apply`,
//! `reconcile` and `dr rebuild`.
//!
//! Order matters for safety: the signal listener is in place before the lease is taken (a
//! Ctrl-C at any later moment releases it); the plan is made again under the lease and must
//! match the one shown; the executor is fenced by the lease (no step starts once a heartbeat
//! failed or the lease nears expiry); the audit record is written, with retries, before the
//! command may report success.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::{output, signals};
use crate::engine::Session;
use crate::exec::{ExecOptions, Progress, Report};
use crate::plan::{DiffOptions, Plan, PlanFlags, SavedPlan, staleness};
use crate::providers::lock::{self, LockTable};

/// A run of steps under the environment's lease, with an audit record.
pub(super) struct Locked {
    /// `apply`, `reconcile` or `dr rebuild` (recorded in the audit).
    pub command: &'static str,
    /// How to execute.
    pub options: ExecOptions,
    /// `--adopt`.
    pub adopt: bool,
    /// How long to wait for another holder.
    pub lock_timeout: Duration,
    /// `-q`, or a run whose stderr must stay quiet.
    pub quiet: bool,
    /// The approvals the run was checked against (recorded in the audit).
    pub approvals: Vec<crate::control::Approval>,
}

/// What a locked run did.
pub(super) struct Outcome {
    /// The plan made under the lease and carried out.
    pub plan: Plan,
    /// Every step's report.
    pub report: Report,
}

impl Locked {
    /// Takes the lease, re-plans under it (refusing if the account moved since `shown` was
    /// made), runs the steps fenced by the lease (stopping cleanly on SIGINT/SIGTERM), writes
    /// the audit record and releases the lease. Nothing is locked or written when `shown` has
    /// no changes.
    ///
    /// # Errors
    /// The lease is held elsewhere; the account moved; a signal arrived; or the audit record
    /// could not be written (the changes were made, and the error says so).
    pub async fn execute(&self, session: &Session, shown: Plan) -> anyhow::Result<Outcome> {
        if !shown.changes.iter().any(|change| change.action.is_change()) {
            return Ok(Outcome {
                plan: shown,
                report: Report::default(),
            });
        }
        // Before the lease: a signal from here on is remembered, never a kill mid-lease.
        signals::listen();
        if signals::requested() {
            bail!("interrupted by a signal before any change; nothing was changed");
        }
        let table = LockTable::new(&session.aws);
        let key = format!("{}/{}", session.target.env, session.target.region);
        let lease = table
            .acquire(
                &key,
                &lock::owner_id(&session.caller.arn),
                self.lock_timeout,
            )
            .await?;
        if let Some(previous) = &lease.took_over {
            output::note(
                self.quiet,
                &format!(
                    "Took over the lease of {key} from {}: that process is no longer running on this host.",
                    previous.owner
                ),
            );
        }
        let fence = lease.fence();
        let outcome = self.run(session, &shown, &table, &key, fence).await;
        lease.release().await;
        outcome
    }

    async fn run(
        &self,
        session: &Session,
        shown: &Plan,
        table: &LockTable,
        key: &str,
        fence: crate::fence::Fence,
    ) -> anyhow::Result<Outcome> {
        let fresh = tokio::select! {
            fresh = session.plan(shown.mode, DiffOptions { adopt: self.adopt }) => fresh?,
            () = signals::shutdown() => {
                bail!("interrupted by a signal before any change; nothing was changed and the lease was released")
            }
        };
        let flags = PlanFlags {
            adopt: self.adopt,
            allow_destroy: self.options.allow_destroy,
        };
        let moved = staleness(
            &SavedPlan::from_plan(shown, serde_json::Value::Null, flags),
            &fresh,
            flags,
        );
        if !moved.is_empty() {
            let mut message = String::from(
                "the account changed after the plan was shown; nothing was changed:\n",
            );
            for item in &moved {
                message.push_str(&format!("  - {}: {}\n", item.id, item.how));
            }
            bail!(message.trim_end().to_string());
        }
        let progress = Progress::new(self.quiet);
        let started = Instant::now();
        let options = ExecOptions {
            fence,
            ..self.options.clone()
        };
        let (report, interrupted) = if signals::requested() {
            (Report::default(), true)
        } else {
            tokio::select! {
                report = session.apply(&fresh, options, &progress) => (report, false),
                () = signals::shutdown() => (Report::default(), true),
            }
        };
        let outcome = if interrupted {
            "interrupted"
        } else if report.aborted.is_some() {
            "aborted"
        } else if report.failed() {
            "failed"
        } else {
            "ok"
        };
        let record = serde_json::json!({
            "command": self.command,
            "who": session.caller.arn,
            "account_id": session.target.account_id,
            "env": session.target.env,
            "region": session.target.region,
            "spec_digest": fresh.spec_digest,
            "plan_digest": plan_digest(&fresh),
            "tool_version": crate::plan::TOOL_VERSION,
            "flags": flags,
            "approvals": self.approvals,
            "summary": fresh.summary(),
            "steps": report.steps,
            "aborted": report.aborted,
            "outcome": outcome,
            "elapsed_ms": started.elapsed().as_millis() as u64,
        });
        let audited = table.audit(key, &record).await;
        if interrupted {
            bail!(
                "interrupted by a signal: steps in flight were abandoned and the lease released; re-run to converge{}",
                audit_note(&audited)
            );
        }
        if let Err(error) = audited {
            bail!(
                "the {} ran ({outcome}; {} steps reported) but its audit record could not be written: {error}. \
                 The changes happened and were not recorded: record them by hand, fix access to the \
                 {} table, and re-run (a re-run with no changes writes nothing).",
                self.command,
                report.steps.len(),
                lock::TABLE
            );
        }
        Ok(Outcome {
            plan: fresh,
            report,
        })
    }
}

fn audit_note(audited: &Result<(), crate::providers::ProviderError>) -> String {
    match audited {
        Ok(()) => String::new(),
        Err(error) => format!(" (and the audit record could not be written: {error})"),
    }
}

/// A digest of a plan's changes, recorded in the audit trail.
pub(super) fn plan_digest(plan: &Plan) -> String {
    use sha2::{Digest, Sha256};
    let changes = serde_json::to_string(&plan.changes).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(changes.as_bytes())))
}
