//! The commands: each resolves its settings, drives the engine and decides the exit status.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::approve::{self, read_saved};
use super::args::{
    ApplyArgs, Cli, Command, DrCommand, DriftArgs, EnvArgs, Format, GraphArgs, PlanArgs,
    RebuildArgs, ReconcileArgs, UnlockArgs,
};
use super::locked::{Locked, Outcome};
use super::{ExitStatus, output, signals};
use crate::engine::Session;
use crate::exec::{ExecOptions, Report, StepStatus};
use crate::plan::{DiffOptions, Plan, PlanFlags, PlanMode, SavedPlan, render, staleness};
use crate::providers::lock::LockTable;

/// The recovery-time objective of DR-001.
const RTO: Duration = Duration::from_secs(4 * 3600);
/// Environments whose apply needs a reviewed, saved plan.
const REVIEWED_ENVS: [&str; 1] = ["prod"];

pub(super) async fn dispatch(cli: &Cli) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Validate(args) => validate(cli, args),
        Command::Plan(args) => plan(cli, args).await,
        Command::Apply(args) => apply(cli, args).await,
        Command::Drift(args) => drift(cli, args).await,
        Command::Reconcile(args) => reconcile(cli, args).await,
        Command::Dr(DrCommand::Rebuild(args)) => rebuild(cli, args).await,
        Command::Unlock(args) => unlock(cli, args).await,
        Command::Approve(args) => approve::approve(cli, args).await,
        Command::Approvals(args) => approve::approvals(cli, args).await,
        Command::Graph(args) => graph(cli, args),
    }
}

fn validate(cli: &Cli, args: &EnvArgs) -> anyhow::Result<ExitStatus> {
    let spec = crate::spec::load_with(&cli.specs, &args.env, &cli.variables())?;
    // Every service integration is proven for the primary region and, where there is one, the
    // DR region: pure, no AWS call.
    let mut regions = vec![None];
    if let Some(dr) = &spec.environment.dr_region {
        regions.push(Some(dr.as_str()));
    }
    for region in regions {
        let target = crate::engine::offline_target(&spec, region, None);
        crate::engine::expand_and_prove(&spec, &target)?;
    }
    output::data(&format!(
        "{}: valid; every service integration is allowed by the desired policies",
        spec.path.display()
    ));
    Ok(ExitStatus::Success)
}

async fn open(cli: &Cli, env: &str, region: Option<&str>) -> anyhow::Result<Session> {
    Ok(Session::open(&cli.specs, env, region, cli.emulator, &cli.variables()).await?)
}

fn show_plan(cli: &Cli, plan: &Plan, session: &Session, format: Format) {
    let calls = session.calls();
    match format {
        Format::Human => output::data(&render::human_plan(plan, &calls)),
        Format::Json => output::json(&render::plan_json(plan, &calls)),
        Format::Markdown => output::data(&render::markdown_plan(plan)),
    }
    if cli.verbose > 0 {
        output::note(cli.quiet, &output::call_table(&calls));
    }
}

async fn plan(cli: &Cli, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let session = open(cli, &args.env, args.region.as_deref()).await?;
    let plan = session
        .plan(PlanMode::Normal, DiffOptions { adopt: args.adopt })
        .await?;
    show_plan(cli, &plan, &session, args.format);
    if let Some(path) = &args.out {
        let flags = PlanFlags {
            adopt: args.adopt,
            allow_destroy: args.allow_destroy,
        };
        let saved = SavedPlan::from_plan(&plan, render::plan_json(&plan, &session.calls()), flags);
        let text = serde_json::to_string_pretty(&saved)?;
        std::fs::write(path, text)
            .with_context(|| format!("writing the plan to {}", path.display()))?;
        output::note(
            cli.quiet,
            &format!(
                "Saved the plan to {}. Apply it with: nc-provision apply --env {} --plan {}{}{}",
                path.display(),
                args.env,
                path.display(),
                if args.adopt { " --adopt" } else { "" },
                if args.allow_destroy {
                    " --allow-destroy"
                } else {
                    ""
                }
            ),
        );
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

async fn apply(cli: &Cli, args: &ApplyArgs) -> anyhow::Result<ExitStatus> {
    if REVIEWED_ENVS.contains(&args.env.as_str()) && args.plan.is_none() {
        bail!(
            "apply --env {env} requires a reviewed plan: run `nc-provision plan --env {env} --out {env}.plan`, review it, then `nc-provision apply --env {env} --plan {env}.plan`",
            env = args.env
        );
    }
    let saved = args.plan.as_deref().map(read_saved).transpose()?;
    if let Some(saved) = &saved
        && saved.env != args.env
    {
        bail!(
            "the saved plan is for environment {}, not {}",
            saved.env,
            args.env
        );
    }
    let region = args
        .region
        .as_deref()
        .or_else(|| saved.as_ref().map(|saved| saved.region.as_str()));
    let session = open(cli, &args.env, region).await?;
    // From here on a signal is remembered and acted on at a safe point, never mid-lease.
    signals::listen();
    let plan = session
        .plan(PlanMode::Normal, DiffOptions { adopt: args.adopt })
        .await?;
    let flags = PlanFlags {
        adopt: args.adopt,
        allow_destroy: args.allow_destroy,
    };
    if let Some(saved) = &saved {
        let stale = staleness(saved, &plan, flags);
        if !stale.is_empty() {
            let mut message = String::from(
                "the saved plan is stale; nothing was changed. What changed since it was made:\n",
            );
            for item in &stale {
                message.push_str(&format!("  - {}: {}\n", item.id, item.how));
            }
            message.push_str("Make a new plan, review it, and apply that.");
            bail!(message);
        }
    }
    if args.format == Format::Human {
        show_plan(cli, &plan, &session, Format::Human);
    }
    let conflicts = plan.conflicts();
    if !conflicts.is_empty() {
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
        bail!(message.trim_end().to_string());
    }
    let approvals = match (&saved, &session.spec.change_control) {
        (Some(saved), Some(control)) => {
            approve::check_approvals(&session.aws, control, saved, &plan, &session.caller.arn)
                .await?
        }
        _ => Vec::new(),
    };
    if !args.allow_destroy {
        refuse_replacements(&plan)?;
    }
    if !plan.changes.iter().any(|change| change.action.is_change()) {
        finish_apply(cli, args.format, &session, &plan, &Report::default());
        return Ok(ExitStatus::Success);
    }
    if saved.is_none() && !args.auto_approve && !confirm(&args.env)? {
        bail!("apply cancelled; nothing was changed");
    }
    let options = ExecOptions {
        parallelism: cli.parallelism,
        allow_destroy: args.allow_destroy,
        wait_timeout: args.wait_timeout,
        ..ExecOptions::default()
    };
    let run = Locked {
        command: "apply",
        options,
        adopt: args.adopt,
        lock_timeout: args.lock_timeout,
        quiet: cli.quiet,
        approvals,
    };
    let Outcome { plan, report } = run.execute(&session, plan).await?;
    finish_apply(cli, args.format, &session, &plan, &report);
    Ok(if report.failed() {
        ExitStatus::Error
    } else {
        ExitStatus::Success
    })
}

/// Refuses a plan with replacements: each deletes a live resource first, which needs
/// `--allow-destroy`. Names every replacement and the attributes that force it.
fn refuse_replacements(plan: &Plan) -> anyhow::Result<()> {
    let replacements = plan.replacements();
    if replacements.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "apply refuses: {} resources must be replaced, and a replacement deletes the live resource first, which needs --allow-destroy; nothing was changed:\n",
        replacements.len()
    );
    for change in replacements {
        let forcing: Vec<String> = change
            .attributes
            .iter()
            .filter(|attribute| attribute.forces_replace)
            .map(|attribute| {
                format!(
                    "{} {} -> {}",
                    attribute.name,
                    attribute
                        .before
                        .as_ref()
                        .map_or_else(|| "(none)".to_string(), render::render_value),
                    attribute
                        .after
                        .as_ref()
                        .map_or_else(|| "(none)".to_string(), render::render_value)
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

/// Asks on the terminal; refuses when there is none.
fn confirm(env: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "apply needs confirmation but stdin is not a terminal: pass --auto-approve, or apply a reviewed plan with --plan FILE"
        );
    }
    eprint!("\nDo you want to apply these changes to {env}? Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

fn report_json(plan: &Plan, report: &Report, session: &Session) -> serde_json::Value {
    let (done, failed, skipped) = report.counts();
    serde_json::json!({
        "format_version": render::JSON_FORMAT_VERSION,
        "env": plan.target.env,
        "region": plan.target.region,
        "account_id": plan.target.account_id,
        "plan": render::plan_json(plan, &session.calls()),
        "steps": report.steps,
        "summary": plan.summary(),
        "result": {
            "done": done,
            "failed": failed,
            "skipped": skipped,
            "ok": !report.failed(),
            "aborted": report.aborted,
        },
        "api_calls": session.calls().to_json(),
    })
}

fn finish_apply(cli: &Cli, format: Format, session: &Session, plan: &Plan, report: &Report) {
    match format {
        Format::Json => output::json(&report_json(plan, report, session)),
        Format::Human | Format::Markdown => {
            let mut text = String::new();
            for step in &report.steps {
                let outcome = match &step.status {
                    StepStatus::Done => "done".to_string(),
                    StepStatus::Failed(why) => format!("FAILED: {why}"),
                    StepStatus::Skipped(why) => format!("skipped: {why}"),
                };
                text.push_str(&format!(
                    "{} {} ({:.1}s): {outcome}\n",
                    step.action.name(),
                    step.id,
                    step.duration_ms as f64 / 1000.0
                ));
            }
            let (done, failed, skipped) = report.counts();
            if let Some(reason) = &report.aborted {
                text.push_str(&format!("\nStopped starting steps: {reason}.\n"));
            }
            text.push_str(&format!(
                "\nApply {}: {done} done, {failed} failed, {skipped} skipped. AWS API calls: {} ({} writes).",
                if report.failed() { "failed" } else { "complete" },
                session.calls().total(),
                session.calls().writes()
            ));
            output::data(&text);
        }
    }
    if cli.verbose > 0 {
        output::note(cli.quiet, &output::call_table(&session.calls()));
    }
}

async fn drift(cli: &Cli, args: &DriftArgs) -> anyhow::Result<ExitStatus> {
    let session = open(cli, &args.env, args.region.as_deref()).await?;
    let plan = session
        .plan(PlanMode::Drift, DiffOptions::default())
        .await?;
    show_plan(cli, &plan, &session, args.format);
    Ok(if plan.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// One reconcile pass: drift found → repaired. Returns the status and a JSON summary line.
async fn reconcile_once(
    cli: &Cli,
    args: &ReconcileArgs,
) -> anyhow::Result<(ExitStatus, serde_json::Value)> {
    let started = Instant::now();
    let session = open(cli, &args.env, args.region.as_deref()).await?;
    let plan = session
        .plan(PlanMode::Drift, DiffOptions::default())
        .await?;
    let conflicts = plan.conflicts().len();
    let drifted: Vec<String> = plan
        .changes
        .iter()
        .filter(|change| change.action.is_change())
        .map(|change| change.id.to_string())
        .collect();
    // Never destroyed by a scheduled repair, whatever the flags: reported for a reviewed apply.
    let held_back: Vec<String> = plan
        .destructive()
        .iter()
        .map(|change| change.id.to_string())
        .collect();
    let repair_allowed = session
        .spec
        .change_control
        .as_ref()
        .is_none_or(|control| control.scheduled_repair);
    let mut notified = serde_json::Value::Null;
    if !repair_allowed && !drifted.is_empty() {
        notified = notify_drift(&session, &plan, &drifted).await;
    }
    let Outcome { plan, report } = if drifted.is_empty() || conflicts > 0 || !repair_allowed {
        Outcome {
            plan,
            report: Report::default(),
        }
    } else {
        let run = Locked {
            command: "reconcile",
            options: ExecOptions {
                parallelism: cli.parallelism,
                allow_destroy: false,
                ..ExecOptions::default()
            },
            adopt: false,
            lock_timeout: Duration::ZERO,
            quiet: true,
            approvals: Vec::new(),
        };
        run.execute(&session, plan).await?
    };
    let (done, failed, skipped) = report.counts();
    let status = if report.failed() || conflicts > 0 {
        ExitStatus::Error
    } else if drifted.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Changes
    };
    let line = serde_json::json!({
        "env": plan.target.env,
        "region": plan.target.region,
        "drifted": drifted,
        "held_back": held_back,
        "repair": if repair_allowed { "allowed" } else { "not allowed by change control: reported only" },
        "notified": notified,
        "not_checked": plan.not_checked().iter().map(|change| change.id.to_string()).collect::<Vec<_>>(),
        "conflicts": conflicts,
        "repaired": done,
        "failed": failed,
        "skipped": skipped,
        "ok": status != ExitStatus::Error,
        "elapsed_ms": started.elapsed().as_millis() as u64,
        "api_calls": session.calls().to_json(),
    });
    if args.format == Format::Human && args.interval.is_none() {
        show_plan(cli, &plan, &session, Format::Human);
        if !drifted.is_empty() {
            finish_apply(cli, Format::Human, &session, &plan, &report);
        }
        if !repair_allowed && !drifted.is_empty() {
            output::data(&format!(
                "\nChange control forbids scheduled repair in {}: nothing was repaired. Make a plan (`nc-provision plan --env {} --out FILE`), get it approved, and apply it.",
                args.env, args.env
            ));
        }
        if !held_back.is_empty() {
            output::data(&format!(
                "\nHeld back (reconcile never deletes or replaces): {}. Review them with `nc-provision plan --env {}` and apply with --allow-destroy.",
                held_back.join(", "),
                args.env
            ));
        }
    }
    Ok((status, line))
}

async fn reconcile(cli: &Cli, args: &ReconcileArgs) -> anyhow::Result<ExitStatus> {
    if args.allow_destroy {
        output::note(
            cli.quiet,
            "reconcile never deletes or replaces anything: --allow-destroy is ignored; such drift is reported (exit 2) for a reviewed `apply --allow-destroy`",
        );
    }
    let Some(interval) = args.interval else {
        let (status, line) = reconcile_once(cli, args).await?;
        if args.format == Format::Json {
            output::json_line(&line);
        }
        return Ok(status);
    };
    let mut failures: u32 = 0;
    signals::listen();
    loop {
        let line = match reconcile_once(cli, args).await {
            Ok((status, line)) => {
                failures = if status == ExitStatus::Error {
                    failures + 1
                } else {
                    0
                };
                line
            }
            Err(error) => {
                failures += 1;
                serde_json::json!({"env": args.env, "ok": false, "error": format!("{error:#}")})
            }
        };
        output::json_line(&line);
        if signals::requested() {
            output::note(cli.quiet, "reconcile: stopping on signal");
            return Ok(ExitStatus::Success);
        }
        // Back off on repeated errors (up to 8× the interval), with ±10% jitter.
        let factor = 2u32.saturating_pow(failures.min(3));
        let base = interval.saturating_mul(factor);
        let jitter = base.mul_f64(fastrand::f64() * 0.2 - 0.1 + 1.0);
        tokio::select! {
            () = tokio::time::sleep(jitter) => {}
            () = signals::shutdown() => {
                output::note(cli.quiet, "reconcile: stopping on signal");
                return Ok(ExitStatus::Success);
            }
        }
    }
}

async fn rebuild(cli: &Cli, args: &RebuildArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let spec = crate::spec::load_with(&cli.specs, &args.env, &cli.variables())?;
    let region = match (&args.region, &spec.environment.dr_region) {
        (Some(region), _) | (None, Some(region)) => region.clone(),
        (None, None) => bail!(
            "environment {} has no dr_region in its spec; pass --region",
            args.env
        ),
    };
    let session = open(cli, &args.env, Some(&region)).await?;
    let plan = session
        .plan(PlanMode::Normal, DiffOptions::default())
        .await?;
    if args.format == Format::Human {
        show_plan(cli, &plan, &session, Format::Human);
    }
    if !plan.conflicts().is_empty() {
        bail!(
            "dr rebuild refuses: {} resources in {region} are in conflict (see the plan)",
            plan.conflicts().len()
        );
    }
    // A rebuild never deletes or replaces: replacements are held back and reported.
    let run = Locked {
        command: "dr rebuild",
        options: ExecOptions {
            parallelism: cli.parallelism,
            allow_destroy: false,
            ..ExecOptions::default()
        },
        adopt: false,
        lock_timeout: Duration::ZERO,
        quiet: cli.quiet,
        approvals: Vec::new(),
    };
    let Outcome { plan, report } = run.execute(&session, plan).await?;
    let readiness = session
        .plan(PlanMode::Normal, DiffOptions::default())
        .await?;
    let ready = !report.failed() && !readiness.has_changes();
    let not_checked: Vec<String> = readiness
        .not_checked()
        .iter()
        .map(|change| change.id.to_string())
        .collect();
    let elapsed = started.elapsed();
    match args.format {
        Format::Json => output::json(&serde_json::json!({
            "env": args.env,
            "region": region,
            "report": report_json(&plan, &report, &session),
            "elapsed_seconds": elapsed.as_secs(),
            "rto_seconds": RTO.as_secs(),
            "ready": ready,
            "not_checked": not_checked,
        })),
        Format::Human | Format::Markdown => {
            finish_apply(cli, Format::Human, &session, &plan, &report);
            output::data(&format!(
                "\nDR rebuild of {} in {region}: {} after {}s (RTO {}h, {:.2}% used).",
                args.env,
                if ready { "READY" } else { "NOT READY" },
                elapsed.as_secs(),
                RTO.as_secs() / 3600,
                elapsed.as_secs_f64() * 100.0 / RTO.as_secs_f64()
            ));
            if !not_checked.is_empty() {
                output::data(&format!(
                    "Readiness NOT CHECKED for {} resources (their API is not available at this endpoint): {}.",
                    not_checked.len(),
                    not_checked.join(", ")
                ));
            }
        }
    }
    Ok(if ready {
        ExitStatus::Success
    } else {
        ExitStatus::Error
    })
}

async fn unlock(cli: &Cli, args: &UnlockArgs) -> anyhow::Result<ExitStatus> {
    let session = open(cli, &args.env, args.region.as_deref()).await?;
    let key = format!("{}/{}", session.target.env, session.target.region);
    let table = LockTable::new(&session.aws);
    let Some(holder) = table.holder(&key).await? else {
        output::data(&format!("{key} is not locked."));
        return Ok(ExitStatus::Success);
    };
    output::data(&format!(
        "{key} is locked by {} until {}.",
        holder.owner,
        humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + Duration::from_secs(holder.expires_at)
        )
    ));
    if !args.force {
        if !std::io::stdin().is_terminal() {
            bail!(
                "unlock needs confirmation but stdin is not a terminal: pass --force once you are sure the holder is not running"
            );
        }
        eprint!(
            "Breaking the lease lets another apply run; do it only if the holder is gone. Release it? Only 'yes' will be accepted: "
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            bail!("unlock cancelled; the lease is still held");
        }
    }
    if table.break_lease(&key, &holder).await? {
        output::data(&format!(
            "Released the lease of {key} held by {}.",
            holder.owner
        ));
        Ok(ExitStatus::Success)
    } else {
        bail!(
            "the lease of {key} changed hands or was released meanwhile; run unlock again to see who holds it"
        )
    }
}

/// Publishes a drift summary to the environment's operations topic; the JSON note of what
/// happened (`{"topic", "message_id"}` or `{"error"}`).
async fn notify_drift(session: &Session, plan: &Plan, drifted: &[String]) -> serde_json::Value {
    let topic = crate::model::LogicalId::new(crate::modules::OPS_TOPIC);
    let Some(arn) = plan
        .observation
        .found
        .get(&topic)
        .and_then(|observed| observed.outputs.get("arn"))
    else {
        return serde_json::json!({"error": format!("the operations topic ({topic}) does not exist: nothing published")});
    };
    let lines: Vec<String> = plan
        .changes
        .iter()
        .filter(|change| change.action.is_change())
        .map(|change| {
            let attributes: Vec<&str> = change
                .attributes
                .iter()
                .map(|attribute| attribute.name.as_str())
                .collect();
            format!(
                "- {} ({} {}): {} {}",
                change.id,
                change.kind,
                change.name,
                change.action.name(),
                attributes.join(", ")
            )
        })
        .collect();
    let message = format!(
        "nc-provision found drift in {} ({}, account {}) and repaired nothing: change control forbids scheduled repair.\n\n{}\n\nFix it through plan -> approve -> apply:\n  nc-provision plan --env {} --out {}.plan",
        session.target.env,
        session.target.region,
        session.target.account_id,
        lines.join("\n"),
        session.target.env,
        session.target.env
    );
    let subject = format!(
        "nc-provision: drift in {} ({} resources)",
        session.target.env,
        drifted.len()
    );
    match crate::providers::notify::publish(&session.aws, arn, &subject, &message).await {
        Ok(id) => serde_json::json!({"topic": arn, "message_id": id}),
        Err(error) => serde_json::json!({"topic": arn, "error": error.to_string()}),
    }
}

/// `graph`: the desired graph, expanded without any AWS call (see
/// [`crate::engine::offline_target`]; the account is the saved plan's when one is given).
fn graph(cli: &Cli, args: &GraphArgs) -> anyhow::Result<ExitStatus> {
    let spec = crate::spec::load_with(&cli.specs, &args.env, &cli.variables())?;
    let saved = args.plan.as_deref().map(read_saved).transpose()?;
    let target = crate::engine::offline_target(
        &spec,
        saved.as_ref().map(|saved| saved.region.as_str()),
        saved.as_ref().map(|saved| saved.account_id.as_str()),
    );
    let graph = crate::modules::expand(&spec, &target).map_err(crate::engine::Error::from)?;
    let actions = saved.map(|saved| saved.actions).unwrap_or_default();
    output::data(&render::dot_graph(&graph, &actions));
    Ok(ExitStatus::Success)
}
