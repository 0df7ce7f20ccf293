//! The one `Printer`: how plans, apply reports, reconcile lines and DR summaries look, in the
//! format a command was asked for (human text, JSON, Markdown for plans).

use serde_json::json;

use super::args::{Cli, Format};
use super::output;
use crate::calls::CallStats;
use crate::exec::{Report, StepStatus};
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

/// What a DR rebuild found, for its summary.
pub(super) struct DrSummary<'a> {
    /// The environment.
    pub env: &'a str,
    /// The DR region.
    pub region: &'a str,
    /// Seconds since the rebuild started.
    pub elapsed: std::time::Duration,
    /// Whether the region is ready (nothing failed, nothing left to change).
    pub ready: bool,
    /// Resources whose readiness could not be checked at this endpoint.
    pub not_checked: &'a [String],
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

    /// The summary of a DR rebuild: the run's report and whether the region is ready.
    pub fn dr_summary(
        self,
        summary: &DrSummary<'_>,
        plan: &Plan,
        report: &Report,
        calls: &CallStats,
    ) {
        let DrSummary {
            env,
            region,
            elapsed,
            ready,
            not_checked,
        } = summary;
        match self.format {
            Format::Json => output::json(&json!({
                "env": env,
                "region": region,
                "report": report_json(plan, report, calls),
                "elapsed_seconds": elapsed.as_secs(),
                "rto_seconds": RTO.as_secs(),
                "ready": ready,
                "not_checked": not_checked,
            })),
            Format::Human | Format::Markdown => {
                self.human().report(plan, report, calls);
                output::data(&format!(
                    "\nDR rebuild of {env} in {region}: {} after {}s (RTO {}h, {:.2}% used).",
                    if *ready { "READY" } else { "NOT READY" },
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
