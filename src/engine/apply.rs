//! The apply workflow shared by `apply`, `reconcile` and `dr rebuild`: the refusals made
//! before any change (a stale saved plan, conflicts, replacements without consent), then a run
//! of steps under the environment's lease.
//!
//! Order matters for safety: the signal listener is in place before the lease is taken (a
//! Ctrl-C at any later moment releases it); the plan is made again under the lease and must
//! match the one shown; the executor is fenced by the lease (no step starts once a heartbeat
//! failed or the lease nears expiry); the audit record is written, with retries, before the
//! command may report success.
//!
//! Where the spec has `[change_control.validated_in]`, an apply or reconcile (not a `dr
//! rebuild`: in an outage the on-call engineer's command is the decision) is refused before the
//! lease unless the validating environment (stg) ran the same modules digest long enough ago
//! ([`validated_in`]); every audit record carries the run's `modules_digest`, and an ok run
//! records that its environment converged under it.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::{Session, signals};
use crate::control::modules_digest::ModulesDigest;
use crate::control::stg_first::{self, Source, Validated, Verdict};
use crate::exec::{ExecOptions, Progress, Report};
use crate::plan::{DiffOptions, Plan, PlanFlags, SavedPlan, render, staleness};
use crate::providers::lock::{self, ConvergedReader, LockTable};
use crate::providers::{Aws, Caller};
use crate::spec::Spec;

/// Refuses to apply `saved` when `plan` (made now) no longer matches it, naming what changed.
///
/// # Errors
/// The saved plan is stale; nothing was changed.
pub fn refuse_stale(saved: &SavedPlan, plan: &Plan, flags: PlanFlags) -> anyhow::Result<()> {
    let stale = staleness(saved, plan, flags);
    if stale.is_empty() {
        return Ok(());
    }
    let mut message = String::from(
        "the saved plan is stale; nothing was changed. What changed since it was made:\n",
    );
    for item in &stale {
        message.push_str(&format!("  - {}: {}\n", item.id, item.how));
    }
    message.push_str("Make a new plan, review it, and apply that.");
    bail!(message)
}

/// Refuses a plan with resources in conflict, naming each and why.
///
/// # Errors
/// Some resource is in conflict; nothing was changed.
pub fn refuse_conflicts(plan: &Plan) -> anyhow::Result<()> {
    let conflicts = plan.conflicts();
    if conflicts.is_empty() {
        return Ok(());
    }
    let mut message =
        String::from("apply refuses while resources are in conflict; nothing was changed:\n");
    for change in conflicts {
        message.push_str(&format!(
            "  - {} ({}): {}\n",
            change.id,
            change.name,
            change.reason.as_deref().unwrap_or("conflict")
        ));
    }
    bail!(message.trim_end().to_string())
}

/// Refuses a plan with replacements: each deletes a live resource first, which needs
/// `--allow-destroy`. Names every replacement and the attributes that force it.
///
/// # Errors
/// Some resource must be replaced; nothing was changed.
pub fn refuse_replacements(plan: &Plan) -> anyhow::Result<()> {
    let replacements = plan.replacements();
    if replacements.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "apply refuses: {} resources must be replaced, and a replacement deletes the live resource first, which needs --allow-destroy; nothing was changed:\n",
        replacements.len()
    );
    let shown = |value: Option<&crate::model::Value>| {
        value.map_or_else(|| "(none)".to_string(), render::render_value)
    };
    for change in replacements {
        let forcing: Vec<String> = change
            .attributes
            .iter()
            .filter(|attribute| attribute.forces_replace)
            .map(|attribute| {
                format!(
                    "{} {} -> {}",
                    attribute.name,
                    shown(attribute.before.as_ref()),
                    shown(attribute.after.as_ref())
                )
            })
            .collect();
        let why = if forcing.is_empty() {
            change.reason.clone().unwrap_or_default()
        } else {
            format!("forced by {}", forcing.join(", "))
        };
        message.push_str(&format!("  - {} ({}): {why}\n", change.id, change.name));
    }
    message.push_str("Review the plan, then re-run apply with --allow-destroy to replace them.");
    bail!(message)
}

/// A run of steps under the environment's lease, with an audit record.
pub struct Locked<'a> {
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
    /// Where a note for the user goes (the CLI prints it on stderr unless quiet).
    pub note: &'a dyn Fn(&str),
}

/// What a locked run did.
pub struct Outcome {
    /// The plan made under the lease and carried out.
    pub plan: Plan,
    /// Every step's report.
    pub report: Report,
}

impl<'a> Locked<'a> {
    /// A run that never deletes or replaces, adopts nothing, does not wait for another holder
    /// and is checked against no approvals: `reconcile` and `dr rebuild`.
    #[must_use]
    pub fn without_destroy(
        command: &'static str,
        parallelism: usize,
        quiet: bool,
        note: &'a dyn Fn(&str),
    ) -> Self {
        Locked {
            command,
            options: ExecOptions {
                parallelism,
                allow_destroy: false,
                ..ExecOptions::default()
            },
            adopt: false,
            lock_timeout: Duration::ZERO,
            quiet,
            approvals: Vec::new(),
            note,
        }
    }

    /// Takes the lease, re-plans under it (refusing if the account moved since `shown` was
    /// made), runs the steps fenced by the lease (stopping cleanly on SIGINT/SIGTERM), writes
    /// the audit record and releases the lease. Nothing is locked or written when `shown` has
    /// no changes.
    ///
    /// # Errors
    /// The lease is held elsewhere; the account moved; a signal arrived; or the audit record
    /// could not be written (the changes were made, and the error says so).
    pub async fn execute(&self, session: &Session, shown: Plan) -> anyhow::Result<Outcome> {
        self.execute_audited(session, shown)
            .await
            .map(|(outcome, _)| outcome)
    }

    /// [`Locked::execute`], also returning the key of the audit record it wrote (`None` when
    /// nothing changed), so that a later step (the post-deployment watch) can add to it with
    /// [`LockTable::annotate_audit`].
    ///
    /// # Errors
    /// As [`Locked::execute`].
    pub async fn execute_audited(
        &self,
        session: &Session,
        shown: Plan,
    ) -> anyhow::Result<(Outcome, Option<String>)> {
        if !shown.changes.iter().any(|change| change.action.is_change()) {
            return Ok((
                Outcome {
                    plan: shown,
                    report: Report::default(),
                },
                None,
            ));
        }
        let modules = ModulesDigest::of(&session.spec).map_err(anyhow::Error::msg)?;
        let validated = if self.command == "dr rebuild" {
            None
        } else {
            match validated_in(
                &session.aws,
                &session.caller,
                &session.spec,
                &modules,
                &session.variables,
            )
            .await
            {
                None => None,
                Some(Ok(validated)) => Some(validated),
                Some(Err(why)) => bail!(
                    "{} refuses: {why}
Nothing was changed.",
                    self.command
                ),
            }
        };
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
            (self.note)(&format!(
                "Took over the lease of {key} from {}: that process is no longer running on this host.",
                previous.owner
            ));
        }
        let fence = lease.fence();
        let audited = Audited {
            modules: &modules,
            validated: validated.as_ref(),
        };
        let outcome = self
            .run(session, &shown, &table, &key, fence, audited)
            .await;
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
        audited: Audited<'_>,
    ) -> anyhow::Result<(Outcome, Option<String>)> {
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
            "modules_digest": audited.modules.digest,
            "modules": audited.modules,
            "validated_in": audited.validated,
            "flags": flags,
            "approvals": self.approvals,
            "summary": fresh.summary(),
            "steps": report.steps,
            "aborted": report.aborted,
            "outcome": outcome,
            "elapsed_ms": started.elapsed().as_millis() as u64,
        });
        let audit_written = table.audit_keyed(key, &record).await;
        if interrupted {
            bail!(
                "interrupted by a signal: steps in flight were abandoned and the lease released; re-run to converge{}",
                audit_note(&audit_written)
            );
        }
        let audit_key = match audit_written {
            Ok(audit_key) => audit_key,
            Err(error) => bail!(
                "the {} ran ({outcome}; {} steps reported) but its audit record could not be written: {error}. \
                 The changes happened and were not recorded: record them by hand, fix access to the \
                 {} table, and re-run (a re-run with no changes writes nothing).",
                self.command,
                report.steps.len(),
                lock::TABLE
            ),
        };
        if outcome == "ok" && self.command != "dr rebuild" {
            let converged = table
                .record_converged(key, audited.modules, &audit_key, &session.caller.arn)
                .await;
            if let Err(error) = converged {
                (self.note)(&format!(
                    "The {} is audited, but that {key} converged under modules digest {} could not be recorded ({error}); a later apply of another environment validated by this one will be refused until a re-run records it.",
                    self.command, audited.modules.digest
                ));
            }
        }
        Ok((
            Outcome {
                plan: fresh,
                report,
            },
            Some(audit_key),
        ))
    }
}

/// Records that the session's environment converged under its modules digest when an apply
/// found nothing to change (no audit record is written then), so that a new build that changes
/// nothing in stg still validates it for prod. One consistent read first: a digest already
/// recorded is not written again, so a steady-state apply that changes nothing makes no write.
///
/// # Errors
/// The modules digest could not be computed, or the read or write failed.
pub async fn record_unchanged(session: &Session) -> anyhow::Result<()> {
    let modules = ModulesDigest::of(&session.spec).map_err(anyhow::Error::msg)?;
    let key = format!("{}/{}", session.target.env, session.target.region);
    let account = &session.caller.account;
    let own = crate::providers::lock::ConvergedReader::new(&session.aws, account, account);
    if own.read(&key, &modules.digest).await?.0.is_some() {
        return Ok(());
    }
    LockTable::new(&session.aws).ensure().await?;
    LockTable::new(&session.aws)
        .record_converged(
            &key,
            &modules,
            "none: the apply found nothing to change",
            &session.caller.arn,
        )
        .await?;
    Ok(())
}

/// What a run's audit record says about change control beyond its approvals.
#[derive(Clone, Copy)]
struct Audited<'a> {
    /// The run's modules digest.
    modules: &'a ModulesDigest,
    /// The "validated in stg first" evidence, when the spec has the rule.
    validated: Option<&'a Validated>,
}

/// The "validated in stg first" rule of `spec` for a run of `modules` by `caller`: `None`
/// when the spec has no `[change_control.validated_in]`; else the verdict. The validating
/// environment's spec (same specs directory, read with `variables`) gives its region (unless
/// the rule names one) and its account (its `account_id` pin; else the caller's). Its audit is
/// read as the rule's `audit_role_arn`, else by table name in the same account or by table ARN
/// in another. A read that fails is a refusal naming the action and the table, never a pass.
pub async fn validated_in(
    aws: &Aws,
    caller: &Caller,
    spec: &Spec,
    modules: &ModulesDigest,
    variables: &crate::spec::Variables,
) -> Option<Verdict> {
    let rule = spec.change_control.as_ref()?.validated_in.as_ref()?;
    Some(verdict(aws, caller, spec, rule, modules, variables).await)
}

async fn verdict(
    aws: &Aws,
    caller: &Caller,
    spec: &Spec,
    rule: &crate::spec::ValidatedIn,
    modules: &ModulesDigest,
    variables: &crate::spec::Variables,
) -> Verdict {
    let env = &rule.env;
    if env == spec.environment.name.as_str() {
        return Err(format!(
            "[change_control.validated_in] names {env} itself; name the environment that validates first (stg)"
        ));
    }
    let dir = spec
        .path
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    let named = crate::spec::load_with(dir, env, variables).map_err(|errors| {
        format!("[change_control.validated_in] needs the spec of {env} (its region and account), which does not load:
{errors}")
    })?;
    let region = rule
        .region
        .clone()
        .unwrap_or_else(|| named.environment.region.clone());
    let account = named
        .environment
        .account_id
        .clone()
        .unwrap_or_else(|| caller.account.clone());
    let there = aws.in_region(&region);
    let reader = match &rule.audit_role_arn {
        Some(role) => ConvergedReader::as_role(&there, role)
            .await
            .map_err(|error| format!("{env}'s audit could not be read as {role}: {error}"))?,
        None => ConvergedReader::new(&there, &caller.account, &account),
    };
    let source = Source {
        env: env.clone(),
        region: region.clone(),
        table: reader.table().to_string(),
    };
    let (matching, newest) = reader
        .read(&format!("{env}/{region}"), &modules.digest)
        .await
        .map_err(|error| {
            format!(
                "{env}'s audit could not be read, so that {env} validated modules digest {} cannot be shown: {error}",
                modules.digest
            )
        })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    stg_first::decide(
        rule,
        &source,
        modules,
        matching.as_ref(),
        newest.as_ref(),
        now,
    )
}

fn audit_note(audited: &Result<String, crate::providers::ProviderError>) -> String {
    match audited {
        Ok(_) => String::new(),
        Err(error) => format!(" (and the audit record could not be written: {error})"),
    }
}

/// A digest of a plan's changes, recorded in the audit trail.
pub fn plan_digest(plan: &Plan) -> String {
    use sha2::{Digest, Sha256};
    let changes = serde_json::to_string(&plan.changes).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(changes.as_bytes())))
}
