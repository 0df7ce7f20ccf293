//! The end of a watch: the validation that comes before it, how long it ran, and the verdict
//! (passed, failed or interrupted) with the alarms that entered ALARM and when.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{Breach, Tracker};
use crate::plan::Plan;

pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// When a watch ran and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// When it started (wall clock).
    pub started_at: SystemTime,
    /// When it ended (wall clock).
    pub ended_at: SystemTime,
    /// The duration asked for.
    pub requested: Duration,
    /// How long it actually watched.
    pub watched: Duration,
}

impl Span {
    /// A watch that never started (validation failed), at `now`.
    #[must_use]
    pub fn not_started(now: SystemTime, requested: Duration) -> Span {
        Span {
            started_at: now,
            ended_at: now,
            requested,
            watched: Duration::ZERO,
        }
    }
}

/// How a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchOutcome {
    /// The whole duration was watched and no critical alarm entered ALARM (exit 0).
    Passed,
    /// A critical alarm entered ALARM, the validation failed, or the alarms could not be read
    /// (exit 1).
    Failed,
    /// Stopped by SIGINT/SIGTERM before the end, with no critical alarm in ALARM until then
    /// (exit 1: the watch did not complete).
    Interrupted,
}

impl WatchOutcome {
    /// `passed`, `failed` or `interrupted`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            WatchOutcome::Passed => "passed",
            WatchOutcome::Failed => "failed",
            WatchOutcome::Interrupted => "interrupted",
        }
    }
}

/// What a re-plan after an apply must show: nothing pending, nothing not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Validation {
    /// Changes still pending (`id: action`), conflicts included.
    pub pending: Vec<String>,
    /// Resources whose state could not be read at this endpoint.
    pub not_checked: Vec<String>,
}

impl Validation {
    /// The validation of a fresh plan.
    #[must_use]
    pub fn of(plan: &Plan) -> Validation {
        Validation {
            pending: plan
                .changes
                .iter()
                .filter(|change| {
                    change.action.is_change() || change.action == crate::plan::Action::Conflict
                })
                .map(|change| format!("{}: {}", change.id, change.action.name()))
                .collect(),
            not_checked: plan
                .not_checked()
                .iter()
                .map(|change| change.id.to_string())
                .collect(),
        }
    }

    /// Whether the deployment validated.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.pending.is_empty() && self.not_checked.is_empty()
    }

    /// Why it did not validate, one line per reason.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.pending.is_empty() {
            problems.push(format!(
                "validation: a re-plan still shows {} change(s): {}",
                self.pending.len(),
                self.pending.join(", ")
            ));
        }
        if !self.not_checked.is_empty() {
            problems.push(format!(
                "validation: {} resource(s) could not be checked at this endpoint: {}",
                self.not_checked.len(),
                self.not_checked.join(", ")
            ));
        }
        problems
    }
}

/// The end of a watch: its outcome, the critical and warning alarms that entered ALARM and
/// when, and why it failed otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// passed / failed / interrupted.
    #[serde(rename = "verdict")]
    pub outcome: WatchOutcome,
    /// Whether a signal ended it early.
    pub interrupted: bool,
    /// Critical alarms that entered ALARM, in order.
    pub critical_in_alarm: Vec<Breach>,
    /// Warning alarms that entered ALARM, in order (reported; they do not fail the watch).
    pub warning_in_alarm: Vec<Breach>,
    /// Other reasons the watch failed (validation, unreadable alarms, no alarm found).
    pub problems: Vec<String>,
    /// The validation made before the watch, when there was one.
    pub validation: Option<Validation>,
    /// How many critical alarms were watched.
    pub critical_alarms: usize,
    /// How many warning alarms were watched.
    pub warning_alarms: usize,
    /// Successful polls.
    pub polls: u32,
    /// Failed polls.
    pub failed_polls: u32,
    /// When the watch started, RFC 3339.
    pub started_at: String,
    /// When it ended, RFC 3339.
    pub ended_at: String,
    /// The duration asked for, in milliseconds.
    pub requested_ms: u64,
    /// How long it watched, in milliseconds.
    pub watched_ms: u64,
}

impl Verdict {
    /// The verdict of a deployment that did not validate: failed, nothing watched.
    #[must_use]
    pub fn not_validated(env: &str, validation: Validation, span: Span) -> Verdict {
        let mut tracker = Tracker::new(env);
        for problem in validation.problems() {
            tracker.problem(problem);
        }
        let mut verdict = tracker.verdict(span, false);
        verdict.validation = Some(validation);
        verdict
    }

    /// Whether the command exits 0.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.outcome == WatchOutcome::Passed
    }

    /// The verdict for a person: a first line with the outcome, then one line per alarm that
    /// entered ALARM (and when) and per other problem.
    #[must_use]
    pub fn describe(&self, env: &str) -> String {
        let watched = humantime::format_duration(Duration::from_secs(self.watched_ms / 1000));
        let alarms = format!(
            "{} critical and {} warning alarms, {} polls",
            self.critical_alarms, self.warning_alarms, self.polls
        );
        let mut text = match self.outcome {
            WatchOutcome::Passed => format!(
                "watch of {env}: passed — no critical alarm entered ALARM in {watched} ({alarms})"
            ),
            WatchOutcome::Interrupted => format!(
                "watch of {env}: interrupted after {watched} of {} — no critical alarm entered ALARM until then, but the watch did not complete ({alarms})",
                humantime::format_duration(Duration::from_secs(self.requested_ms / 1000))
            ),
            WatchOutcome::Failed => format!(
                "watch of {env}: failed{} after {watched} ({alarms})",
                if self.interrupted {
                    " (then interrupted)"
                } else {
                    ""
                }
            ),
        };
        for breach in &self.critical_in_alarm {
            text.push_str(&format!(
                "\n  critical: {} entered ALARM at {} ({})",
                breach.alarm, breach.at, breach.reason
            ));
        }
        for breach in &self.warning_in_alarm {
            text.push_str(&format!(
                "\n  warning: {} entered ALARM at {} ({})",
                breach.alarm, breach.at, breach.reason
            ));
        }
        for problem in &self.problems {
            text.push_str(&format!("\n  {problem}"));
        }
        text
    }
}
