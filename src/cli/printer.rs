//! The one `Printer`: how plans, apply reports, reconcile lines and DR summaries look, in the
//! format a command was asked for (human text, JSON, Markdown for plans).

use serde_json::json;

use super::args::{Cli, Format};
use super::output;
use crate::calls::CallStats;
use crate::exec::{Report, StepStatus};
use crate::plan::readiness::{self, Check, CheckState};
use crate::plan::{Plan, render};

/// The recovery-time objective of DR-001.
pub(super) const RTO: std::time::Duration = std::time::Duration::from_secs(4 * 3600);

/// Prints a command's results in one format, with `-v`'s call table and `-q`'s silence.
#[derive(Debug, Clone, Copy)]
pub(super) struct Printer {
    format: Format,
    verbose: u8,
    quiet: bool,
}

/// What a DR rebuild or drill found, for its summary.
pub(super) struct DrSummary<'a> {
    /// `rebuild`, `drill` or `drill --rebuild`.
    pub mode: &'a str,
    /// The environment.
    pub env: &'a str,
    /// The DR region.
    pub region: &'a str,
    /// Seconds since the command started.
    pub elapsed: std::time::Duration,
    /// Whether the region is ready (nothing failed, nothing left to change, no check not
    /// ready); for a drill without `--rebuild`: nothing a rebuild could not fix.
    pub ready: bool,
    /// Resources whose readiness could not be checked at this endpoint.
    pub not_checked: &'a [String],
    /// Every readiness check.
    pub checks: &'a [Check],
    /// The recovery-point statement.
    pub rpo: &'a str,
}

impl Printer {
    /// A printer in `format` with the command line's verbosity.
    pub fn new(cli: &Cli, format: Format) -> Printer {
        Printer {
            format,
            verbose: cli.verbose,
            quiet: cli.quiet,
        }
    }

    /// The same printer in human text.
    pub fn human(self) -> Printer {
        Printer {
            format: Format::Human,
            ..self
        }
    }

    /// Whether this printer writes human text.
    pub fn is_human(self) -> bool {
        self.format == Format::Human
    }

    /// A message for the user on stderr (suppressed by `-q`).
    pub fn note(self, text: &str) {
        output::note(self.quiet, text);
    }

    /// A plan, with the AWS calls made to compute it.
    pub fn plan(self, plan: &Plan, calls: &CallStats) {
        match self.format {
            Format::Human => output::data(&render::human_plan(plan, calls)),
            Format::Json => output::json(&render::plan_json(plan, calls)),
            Format::Markdown => output::data(&render::markdown_plan(plan)),
        }
        self.call_table(calls);
    }

    /// The report of a run of steps (Markdown prints as human text).
    pub fn report(self, plan: &Plan, report: &Report, calls: &CallStats) {
        match self.format {
            Format::Json => output::json(&report_json(plan, report, calls)),
            Format::Human | Format::Markdown => output::data(&human_report(report, calls)),
        }
        self.call_table(calls);
    }

    /// One `reconcile` summary line (JSON, one line).
    pub fn reconcile_line(self, line: &serde_json::Value) {
        output::json_line(line);
    }

    /// The summary of a DR rebuild or drill: the run's report (none for a drill that changes
    /// nothing), every readiness check and the verdict.
    pub fn dr_summary(
        self,
        summary: &DrSummary<'_>,
        plan: &Plan,
        report: Option<&Report>,
        calls: &CallStats,
    ) {
        let DrSummary {
            mode,
            env,
            region,
            elapsed,
            ready,
            not_checked,
            checks,
            rpo,
        } = summary;
        let counts: std::collections::BTreeMap<&str, usize> = readiness::counts(checks.iter())
            .into_iter()
            .map(|(state, count)| (state_key(state), count))
            .collect();
        match self.format {
            Format::Json => output::json(&json!({
                "mode": mode,
                "env": env,
                "region": region,
                "report": report.map(|report| report_json(plan, report, calls)),
                "elapsed_seconds": elapsed.as_secs(),
                "rto_seconds": RTO.as_secs(),
                "rpo": rpo,
                "ready": ready,
                "not_checked": not_checked,
                "checks": checks,
                "check_counts": counts,
            })),
            Format::Human | Format::Markdown => {
                if let Some(report) = report {
                    self.human().report(plan, report, calls);
                }
                output::data(&readiness_text(checks));
                let verdict = match (*mode, *ready) {
                    ("drill", true) => "REBUILDABLE",
                    ("drill", false) => "NOT REBUILDABLE",
                    (_, true) => "READY",
                    (_, false) => "NOT READY",
                };
                output::data(&format!(
                    "\nDR {mode} of {env} in {region}: {verdict} after {}s (RTO {}h, {:.2}% used).\n{rpo}.",
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
    }

    /// Data on stdout as is (human text).
    pub fn data(self, text: &str) {
        output::data(text);
    }

    /// `-v`: the AWS calls by operation, on stderr.
    fn call_table(self, calls: &CallStats) {
        if self.verbose > 0 {
            output::note(self.quiet, &output::call_table(calls));
        }
    }
}

/// The JSON report of a run: the plan, every step, the summary and the AWS calls.
fn report_json(plan: &Plan, report: &Report, calls: &CallStats) -> serde_json::Value {
    let (done, failed, skipped) = report.counts();
    json!({
        "format_version": render::JSON_FORMAT_VERSION,
        "env": plan.target.env,
        "region": plan.target.region,
        "account_id": plan.target.account_id,
        "plan": render::plan_json(plan, calls),
        "steps": report.steps,
        "summary": plan.summary(),
        "result": {
            "done": done,
            "failed": failed,
            "skipped": skipped,
            "ok": !report.failed(),
            "aborted": report.aborted,
        },
        "api_calls": calls.to_json(),
    })
}

/// The human report of a run: one line per step, then the totals.
fn human_report(report: &Report, calls: &CallStats) -> String {
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
        calls.total(),
        calls.writes()
    ));
    text
}

/// The JSON key of a check state.
fn state_key(state: CheckState) -> &'static str {
    match state {
        CheckState::Ready => "ready",
        CheckState::Pending => "pending",
        CheckState::NotReady => "not_ready",
        CheckState::NotChecked => "not_checked",
    }
}

/// The readiness checks for people: per component its counts, then every check that is not
/// ready or not checked, one line each.
fn readiness_text(checks: &[Check]) -> String {
    let mut components: Vec<&str> = checks.iter().map(|check| check.component).collect();
    components.sort_unstable();
    components.dedup();
    let mut text = String::from("\nReadiness:");
    for component in components {
        let of: Vec<&Check> = checks.iter().filter(|c| c.component == component).collect();
        let counts = readiness::counts(of.iter().copied());
        let summary: Vec<String> = counts
            .iter()
            .map(|(state, count)| format!("{count} {}", state.label()))
            .collect();
        text.push_str(&format!("\n  {component}: {}", summary.join(", ")));
        // Pending ones are in the plan above; what needs a person is listed one by one.
        for check in of
            .iter()
            .filter(|c| matches!(c.state, CheckState::NotReady | CheckState::NotChecked))
        {
            text.push_str(&format!(
                "\n    {:<11} {} ({}): {}",
                check.state.label(),
                check.id,
                check.name,
                check.detail
            ));
        }
    }
    text
}
