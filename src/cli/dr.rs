//! `dr rebuild` and `dr drill`: the environment's regional half in its DR region, and the
//! readiness report an on-call engineer reads (see [`crate::plan::readiness`]).

use std::time::Instant;

use anyhow::bail;

use super::ExitStatus;
use super::args::{Cli, DrillArgs, Format, RebuildArgs};
use super::commands::open;
use super::printer::{DrSummary, Printer};
use crate::engine::apply::{Locked, Outcome};
use crate::plan::readiness::{self, Check};
use crate::plan::{DiffOptions, PlanMode};

/// What a DR command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `dr rebuild`: create what is missing; never calls the primary region.
    Rebuild,
    /// `dr drill`: read only, the primary region's data protection included.
    Drill,
    /// `dr drill --rebuild`: rebuild, then check like a drill.
    DrillRebuild,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Rebuild => "rebuild",
            Mode::Drill => "drill",
            Mode::DrillRebuild => "drill --rebuild",
        }
    }
}

/// `dr rebuild`.
pub(super) async fn rebuild(cli: &Cli, args: &RebuildArgs) -> anyhow::Result<ExitStatus> {
    run(
        cli,
        &args.env,
        args.region.as_deref(),
        args.format,
        Mode::Rebuild,
    )
    .await
}

/// `dr drill`.
pub(super) async fn drill(cli: &Cli, args: &DrillArgs) -> anyhow::Result<ExitStatus> {
    let mode = if args.rebuild {
        Mode::DrillRebuild
    } else {
        Mode::Drill
    };
    run(cli, &args.env, args.region.as_deref(), args.format, mode).await
}

async fn run(
    cli: &Cli,
    env: &str,
    region: Option<&str>,
    format: Format,
    mode: Mode,
) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let spec = crate::spec::load_with(&cli.specs, env, &cli.variables())?;
    let region = match (region, spec.environment.dr_region.as_deref()) {
        (Some(region), _) | (None, Some(region)) => region.to_string(),
        (None, None) => bail!("environment {env} has no dr_region in its spec; pass --region"),
    };
    let session = open(cli, env, Some(&region)).await?;
    let plan = session
        .plan(PlanMode::Normal, DiffOptions::default())
        .await?;
    let printer = Printer::new(cli, format);
    if printer.is_human() {
        printer.plan(&plan, &session.calls());
    }
    let (plan, report, after) = if mode == Mode::Drill {
        let after = session
            .plan(PlanMode::Normal, DiffOptions::default())
            .await?;
        (plan, None, after)
    } else {
        if !plan.conflicts().is_empty() {
            bail!(
                "dr rebuild refuses: {} resources in {region} are in conflict (see the plan)",
                plan.conflicts().len()
            );
        }
        // A rebuild never deletes or replaces: replacements are held back and reported.
        let note = |text: &str| printer.note(text);
        let run = Locked::without_destroy("dr rebuild", cli.parallelism, cli.quiet, &note);
        let Outcome { plan, report } = run.execute(&session, plan).await?;
        let after = session
            .plan(PlanMode::Normal, DiffOptions::default())
            .await?;
        (plan, Some(report), after)
    };
    let mut checks: Vec<Check> = readiness::region_checks(&after);
    checks.extend(super::evidence::recovery_point_check(&session).await);
    checks.extend(primary_checks(cli, env, mode).await);
    let settled = report.as_ref().is_none_or(|report| !report.failed())
        && (mode == Mode::Drill || !after.has_changes());
    let ready = settled && readiness::nothing_blocks(&checks);
    let not_checked: Vec<String> = after
        .not_checked()
        .iter()
        .map(|change| change.id.to_string())
        .collect();
    let rpo = readiness::rpo_statement(&session.spec);
    let summary = DrSummary {
        mode: mode.name(),
        env,
        region: &region,
        elapsed: started.elapsed(),
        ready,
        not_checked: &not_checked,
        checks: &checks,
        rpo: &rpo,
    };
    printer.dr_summary(&summary, &plan, report.as_ref(), &session.calls());
    Ok(if ready {
        ExitStatus::Success
    } else {
        ExitStatus::Error
    })
}

/// The data protection kept in the primary region (replication, replica, backups, the
/// standby), read from a plan of that region by a drill, with each replication rule's
/// measured latency. A rebuild never calls the primary
/// region: it may be the one that failed.
async fn primary_checks(cli: &Cli, env: &str, mode: Mode) -> Vec<Check> {
    if mode == Mode::Rebuild {
        return readiness::protection_checks(Err(
            "a rebuild never calls the primary region (it may be the one that failed); \
             `nc-provision dr drill` checks them while it is up",
        ));
    }
    let session = match open(cli, env, None).await {
        Ok(session) => session,
        Err(error) => return unanswered(&error.to_string()),
    };
    match session.plan(PlanMode::Normal, DiffOptions::default()).await {
        Ok(plan) => {
            let mut checks = readiness::protection_checks(Ok(&plan));
            checks.extend(super::evidence::latency_checks(&session).await);
            checks
        }
        Err(error) => unanswered(&error.to_string()),
    }
}

/// The one not-checked entry for a primary region that did not answer.
fn unanswered(error: &str) -> Vec<Check> {
    readiness::protection_checks(Err(&format!("the primary region did not answer: {error}")))
}
