//! The commands: each resolves its settings, drives the engine and decides the exit status.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::approve::{self, read_saved};
use super::args::{
    ApplyArgs, Cli, Command, DrCommand, DriftArgs, EnvArgs, Format, GraphArgs, PlanArgs,
    ReconcileArgs, UnlockArgs,
};
use super::printer::Printer;
use super::{ExitStatus, output};
use crate::engine::Session;
use crate::engine::apply::{self as workflow, Locked, Outcome};
use crate::engine::signals;
use crate::exec::{ExecOptions, Report};
use crate::plan::{DiffOptions, PlanFlags, PlanMode, SavedPlan, render};
use crate::providers::lock::LockTable;
/// Environments whose apply needs a reviewed, saved plan.
const REVIEWED_ENVS: [&str; 1] = ["prod"];

pub(super) async fn dispatch(cli: &Cli) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Validate(args) => validate(cli, args),
        Command::Plan(args) => plan(cli, args).await,
        Command::Apply(args) => apply(cli, args).await,
        Command::Drift(args) => drift(cli, args).await,
        Command::Reconcile(args) => reconcile(cli, args).await,
        Command::Dr(DrCommand::Rebuild(args)) => super::dr::rebuild(cli, args).await,
        Command::Dr(DrCommand::Drill(args)) => super::dr::drill(cli, args).await,
        Command::Unlock(args) => unlock(cli, args).await,
        Command::Approve(args) => approve::approve(cli, args).await,
        Command::Approvals(args) => approve::approvals(cli, args).await,
        Command::Graph(args) => graph(cli, args),
        Command::Watch(args) => super::watch::watch_command(cli, args).await,
        Command::Completions(args) => print_bytes(&super::generated::completions(args.shell)),
        Command::Man(args) => man(cli, args),
    }
}

/// `man`: the main page on stdout, or every page into `--dir`.
fn man(cli: &Cli, args: &super::args::ManArgs) -> anyhow::Result<ExitStatus> {
    let Some(dir) = &args.dir else {
        return print_bytes(&super::generated::man_page()?);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let written = super::generated::man_pages(dir)
        .with_context(|| format!("writing the man pages into {}", dir.display()))?;
    output::note(
        cli.quiet,
        &format!("Wrote {} man pages into {}.", written.len(), dir.display()),
    );
    Ok(ExitStatus::Success)
}

/// Writes generated text (completions, the man page) to stdout as it is.
fn print_bytes(bytes: &[u8]) -> anyhow::Result<ExitStatus> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(ExitStatus::Success)
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

pub(super) async fn open(cli: &Cli, env: &str, region: Option<&str>) -> anyhow::Result<Session> {
    Ok(Session::open(&cli.specs, env, region, cli.emulator, &cli.variables()).await?)
}

async fn plan(cli: &Cli, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let session = open(cli, &args.env, args.region.as_deref()).await?;
    let plan = session
        .plan(PlanMode::Normal, DiffOptions { adopt: args.adopt })
        .await?;
    Printer::new(cli, args.format).plan(&plan, &session.calls());
    if let Some(path) = &args.out {
        let flags = PlanFlags {
            adopt: args.adopt,
            allow_destroy: args.allow_destroy,
        };
        let mut saved =
            SavedPlan::from_plan(&plan, render::plan_json(&plan, &session.calls()), flags);
        saved.modules_digest = crate::control::modules_digest::ModulesDigest::of(&session.spec)
            .map(|modules| modules.digest)
            .unwrap_or_default();
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
        workflow::refuse_stale(saved, &plan, flags)?;
    }
    let printer = Printer::new(cli, args.format);
    if printer.is_human() {
        printer.plan(&plan, &session.calls());
    }
    workflow::refuse_conflicts(&plan)?;
    let approvals = match (&saved, &session.spec.change_control) {
        (Some(saved), Some(control)) => {
            approve::check_approvals(&session.aws, control, saved, &plan, &session.caller.arn)
                .await?
        }
        _ => Vec::new(),
    };
    if !args.allow_destroy {
        workflow::refuse_replacements(&plan)?;
    }
    if !plan.changes.iter().any(|change| change.action.is_change()) {
        if let Err(error) = workflow::record_unchanged(&session).await {
            printer.note(&format!(
                "Nothing to change; recording that {} converged under its modules digest failed: \
                 {error}",
                args.env
            ));
        }
        printer.report(&plan, &Report::default(), &session.calls());
        return watch_after_apply(cli, args, &session, None).await;
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
        note: &|text| printer.note(text),
    };
    let (Outcome { plan, report }, audit_key) = run.execute_audited(&session, plan).await?;
    printer.report(&plan, &report, &session.calls());
    if report.failed() {
        if args.watch.is_some() {
            printer.note("The apply failed: no watch.");
        }
        return Ok(ExitStatus::Error);
    }
    watch_after_apply(cli, args, &session, audit_key).await
}

/// `apply --watch`: after a successful apply, the post-deployment watch (its verdict decides
/// the exit status and goes into the apply's audit record); without --watch, success.
async fn watch_after_apply(
    cli: &Cli,
    args: &ApplyArgs,
    session: &Session,
    audit_key: Option<String>,
) -> anyhow::Result<ExitStatus> {
    let Some(duration) = args.watch else {
        return Ok(ExitStatus::Success);
    };
    let run = super::watch::Watch {
        session,
        options: crate::engine::watch::WatchOptions {
            duration,
            poll_interval: args.poll_interval,
        },
        validate: true,
        audit_key,
        show: super::watch::Show::for_apply(cli, args.format),
    };
    run.run().await
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

async fn drift(cli: &Cli, args: &DriftArgs) -> anyhow::Result<ExitStatus> {
    let session = open(cli, &args.env, args.region.as_deref()).await?;
    let plan = session
        .plan(PlanMode::Drift, DiffOptions::default())
        .await?;
    Printer::new(cli, args.format).plan(&plan, &session.calls());
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
        notified = crate::engine::drift::notify(&session, &plan, &drifted).await;
    }
    let Outcome { plan, report } = if drifted.is_empty() || conflicts > 0 || !repair_allowed {
        Outcome {
            plan,
            report: Report::default(),
        }
    } else {
        Locked::without_destroy("reconcile", cli.parallelism, true, &|_| {})
            .execute(&session, plan)
            .await?
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
    let printer = Printer::new(cli, args.format);
    if printer.is_human() && args.interval.is_none() {
        printer.plan(&plan, &session.calls());
        if !drifted.is_empty() {
            printer.report(&plan, &report, &session.calls());
        }
        if !repair_allowed && !drifted.is_empty() {
            printer.data(&format!(
                "\nChange control forbids scheduled repair in {}: nothing was repaired. Make a plan (`nc-provision plan --env {} --out FILE`), get it approved, and apply it.",
                args.env, args.env
            ));
        }
        if !held_back.is_empty() {
            printer.data(&format!(
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
            Printer::new(cli, args.format).reconcile_line(&line);
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
        Printer::new(cli, args.format).reconcile_line(&line);
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
