//! The post-deployment watch (`apply --watch DURATION`, `nc-provision watch`): the validation of
//! a fresh plan, then the environment's critical and warning alarms polled for a duration, and a
//! verdict.
//!
//! The pure part is here: which alarms are watched and how severe they are ([`severity`]), the
//! state changes seen from one poll to the next ([`Tracker`]), the poll schedule
//! ([`next_poll_in`]) and the [`Verdict`]. The loop ([`watch`]) polls through an injectable
//! [`AlarmReader`]: the session's reader makes one DescribeAlarms request (per page of 100) by
//! the environment's alarm prefix.
//!
//! The alarms are those of the observability module (`src/modules/observability/alarms.rs`):
//! named `nc-{env}-{slug}`, owned through the `[nc-provision:{env}]` marker at the end of their
//! description, whose first word gives the severity (`Critical:` or `Warning:`). The CIS 4.x
//! alarms notify the security topic and are not watched: they report account activity, not the
//! deployment's health.
//!
//! CloudWatch evaluates a metric alarm once per period (at least a minute for the platform's
//! alarms), so the schedule polls every 5 s in the first minute, then every 15 s, 30 s, and from
//! 15 minutes on every 60 s, back to 5 s for a minute after any change, never past the end.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html>

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::Serialize;

use crate::model::Owner;
use crate::providers::ProviderError;
use crate::providers::alarm_state::{AlarmState, AlarmStates, AlarmValue};

/// Consecutive failed polls after which the watch gives up (the verdict says why).
pub const MAX_FAILED_POLLS: u32 = 5;

/// The name prefix of every alarm of environment `env` (one DescribeAlarms per poll).
#[must_use]
pub fn alarm_prefix(env: &str) -> String {
    format!("nc-{env}-")
}

/// How severe an alarm is, from its description's first word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `Critical: …`: entering ALARM fails the watch.
    Critical,
    /// `Warning: …`: reported, never fails the watch.
    Warning,
}

impl Severity {
    /// `critical` or `warning`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        }
    }
}

/// The severity of a watched alarm of `env`; `None` for an alarm that is not the tool's for
/// `env` (no marker) or is neither critical nor warning (the CIS alarms).
#[must_use]
pub fn severity(alarm: &AlarmState, env: &str) -> Option<Severity> {
    if Owner::from_marker(&alarm.description, env) != Owner::Ours {
        return None;
    }
    if alarm.description.starts_with("Critical:") {
        Some(Severity::Critical)
    } else if alarm.description.starts_with("Warning:") {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// RFC 3339 with milliseconds, UTC.
fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// One alarm state change seen between two polls (or an alarm first seen in ALARM).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// The alarm's name.
    pub alarm: String,
    /// Its severity.
    pub severity: Severity,
    /// The state before; `None` when the alarm is first seen (in ALARM).
    pub from: Option<AlarmValue>,
    /// The state now.
    pub to: AlarmValue,
    /// When it changed (AWS's transition time; the poll's time if AWS gives none), RFC 3339.
    pub at: String,
    /// AWS's `StateReason`.
    pub reason: String,
    /// The state changed and changed back between two polls (AWS's transition time moved while
    /// the value stayed): what it went through is not known.
    pub between_polls: bool,
}

/// A watched alarm that entered ALARM during the watch (or was in ALARM when it started).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    /// The alarm's name.
    pub alarm: String,
    /// When it entered ALARM, RFC 3339.
    pub at: String,
    /// AWS's `StateReason`.
    pub reason: String,
}

#[derive(Debug, Clone)]
struct Seen {
    value: AlarmValue,
    changed_at: Option<SystemTime>,
}

/// Follows the watched alarms from poll to poll: their last state, every entry into ALARM.
#[derive(Debug, Clone)]
pub struct Tracker {
    env: String,
    seen: BTreeMap<String, Seen>,
    watched: BTreeMap<Severity, BTreeSet<String>>,
    breaches: BTreeMap<Severity, Vec<Breach>>,
    polls: u32,
    failed_polls: u32,
    problems: Vec<String>,
}

impl Tracker {
    /// A tracker of `env`'s alarms, before the first poll.
    #[must_use]
    pub fn new(env: &str) -> Tracker {
        Tracker {
            env: env.to_string(),
            seen: BTreeMap::new(),
            watched: BTreeMap::new(),
            breaches: BTreeMap::new(),
            polls: 0,
            failed_polls: 0,
            problems: Vec::new(),
        }
    }

    /// Takes in one poll's states (read at `now`) and returns the changes since the previous
    /// poll. An alarm first seen in ALARM counts as entering it (when AWS says it did); one
    /// first seen in OK or INSUFFICIENT_DATA is the baseline.
    pub fn poll(&mut self, states: &[AlarmState], now: SystemTime) -> Vec<Transition> {
        self.polls += 1;
        let mut changes = Vec::new();
        for state in states {
            let Some(severity) = severity(state, &self.env) else {
                continue;
            };
            self.watched
                .entry(severity)
                .or_default()
                .insert(state.name.clone());
            let previous = self.seen.insert(
                state.name.clone(),
                Seen {
                    value: state.value,
                    changed_at: state.changed_at,
                },
            );
            let transition = |from: Option<AlarmValue>, between_polls: bool| Transition {
                alarm: state.name.clone(),
                severity,
                from,
                to: state.value,
                at: rfc3339(state.changed_at.unwrap_or(now)),
                reason: state.reason.clone(),
                between_polls,
            };
            let change = match previous {
                None if state.value == AlarmValue::Alarm => Some(transition(None, false)),
                None => None,
                Some(before) if before.value != state.value => {
                    Some(transition(Some(before.value), false))
                }
                Some(before)
                    if before.changed_at.is_some() && before.changed_at != state.changed_at =>
                {
                    Some(transition(Some(before.value), true))
                }
                Some(_) => None,
            };
            if let Some(change) = change {
                if change.to == AlarmValue::Alarm && !change.between_polls {
                    self.breaches.entry(severity).or_default().push(Breach {
                        alarm: change.alarm.clone(),
                        at: change.at.clone(),
                        reason: change.reason.clone(),
                    });
                }
                changes.push(change);
            }
        }
        changes
    }

    /// Counts a poll that failed.
    pub fn poll_failed(&mut self) {
        self.failed_polls += 1;
    }

    /// Records a reason the watch cannot pass (e.g. the alarms could not be read).
    pub fn problem(&mut self, text: String) {
        self.problems.push(text);
    }

    /// How many alarms of `severity` have been seen.
    #[must_use]
    pub fn watched(&self, severity: Severity) -> usize {
        self.watched.get(&severity).map_or(0, BTreeSet::len)
    }

    /// How many watched alarms are in ALARM after the last poll.
    #[must_use]
    pub fn in_alarm(&self) -> usize {
        self.seen
            .values()
            .filter(|seen| seen.value == AlarmValue::Alarm)
            .count()
    }

    /// The verdict of a watch that ran from `started_at` to `ended_at` (`watched` long, of
    /// the `requested` duration), `interrupted` by a signal or not.
    #[must_use]
    pub fn verdict(&self, span: Span, interrupted: bool) -> Verdict {
        let mut problems = self.problems.clone();
        if self.polls > 0 && self.watched(Severity::Critical) == 0 {
            problems.push(format!(
                "no critical alarm of {} was found (DescribeAlarms by prefix {}): has the environment been applied?",
                self.env,
                alarm_prefix(&self.env)
            ));
        }
        if self.polls == 0 && !interrupted && problems.is_empty() {
            problems.push("the alarms were never read".to_string());
        }
        let critical = self
            .breaches
            .get(&Severity::Critical)
            .cloned()
            .unwrap_or_default();
        let warning = self
            .breaches
            .get(&Severity::Warning)
            .cloned()
            .unwrap_or_default();
        let outcome = if !critical.is_empty() || !problems.is_empty() {
            WatchOutcome::Failed
        } else if interrupted {
            WatchOutcome::Interrupted
        } else {
            WatchOutcome::Passed
        };
        Verdict {
            outcome,
            interrupted,
            critical_in_alarm: critical,
            warning_in_alarm: warning,
            problems,
            validation: None,
            critical_alarms: self.watched(Severity::Critical),
            warning_alarms: self.watched(Severity::Warning),
            polls: self.polls,
            failed_polls: self.failed_polls,
            started_at: rfc3339(span.started_at),
            ended_at: rfc3339(span.ended_at),
            requested_ms: millis(span.requested),
            watched_ms: millis(span.watched),
        }
    }
}

/// How long to wait before the next poll: `fixed` when given; otherwise 5 s in the first
/// minute and for a minute after any change, then 15 s, from 5 minutes 30 s, from 15 minutes
/// 60 s; never past the end (`remaining`).
#[must_use]
pub fn next_poll_in(
    elapsed: Duration,
    since_change: Option<Duration>,
    remaining: Duration,
    fixed: Option<Duration>,
) -> Duration {
    const MINUTE: Duration = Duration::from_secs(60);
    let adaptive = if elapsed < MINUTE || since_change.is_some_and(|since| since < MINUTE) {
        Duration::from_secs(5)
    } else if elapsed < 5 * MINUTE {
        Duration::from_secs(15)
    } else if elapsed < 15 * MINUTE {
        Duration::from_secs(30)
    } else {
        MINUTE
    };
    fixed.unwrap_or(adaptive).min(remaining)
}

/// Reads the watched alarms' states, once per poll.
#[async_trait]
pub trait AlarmReader: Send + Sync {
    /// The states of every alarm under the environment's prefix.
    async fn read(&self) -> Result<Vec<AlarmState>, ProviderError>;
}

/// The session's reader: DescribeAlarms by the environment's prefix.
pub struct PrefixReader {
    states: AlarmStates,
    prefix: String,
}

impl PrefixReader {
    /// A reader of `env`'s alarms with `aws`'s client (calls counted).
    #[must_use]
    pub fn new(aws: &crate::providers::Aws, env: &str) -> PrefixReader {
        PrefixReader {
            states: AlarmStates::new(aws),
            prefix: alarm_prefix(env),
        }
    }
}

#[async_trait]
impl AlarmReader for PrefixReader {
    async fn read(&self) -> Result<Vec<AlarmState>, ProviderError> {
        self.states.by_prefix(&self.prefix).await
    }
}

/// What happens during a watch, for the caller to show.
#[derive(Debug)]
pub enum WatchEvent<'a> {
    /// The first successful poll: how many alarms are watched.
    Started {
        /// Critical alarms found.
        critical: usize,
        /// Warning alarms found.
        warning: usize,
    },
    /// A watched alarm changed state.
    Change(&'a Transition),
    /// A poll failed (the watch goes on until [`MAX_FAILED_POLLS`] in a row).
    PollFailed(&'a ProviderError),
    /// A poll finished.
    Polled {
        /// Successful polls so far.
        polls: u32,
        /// Time watched so far.
        elapsed: Duration,
        /// Time left.
        remaining: Duration,
        /// Watched alarms in ALARM now.
        in_alarm: usize,
        /// Critical alarms that entered ALARM so far.
        critical_breaches: usize,
    },
}

/// How long to watch, and a fixed poll interval (tests) instead of the adaptive one.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// How long to watch.
    pub duration: Duration,
    /// A fixed interval between polls.
    pub poll_interval: Option<Duration>,
}

/// Watches `env`'s alarms through `reader` for `options.duration` (polling at the start, then
/// on the schedule of [`next_poll_in`], and once more at the end), telling `on_event` what it
/// sees, until the end or until `stop` resolves (a signal: the verdict says "interrupted").
pub async fn watch<F>(
    reader: &dyn AlarmReader,
    env: &str,
    options: WatchOptions,
    on_event: &(dyn Fn(WatchEvent<'_>) + Send + Sync),
    stop: F,
) -> Verdict
where
    F: Future<Output = ()>,
{
    let start = tokio::time::Instant::now();
    let started_at = SystemTime::now();
    let end = start + options.duration;
    tokio::pin!(stop);
    let mut tracker = Tracker::new(env);
    let mut last_change: Option<tokio::time::Instant> = None;
    let mut failed_in_a_row = 0;
    let mut interrupted = false;
    loop {
        let read = tokio::select! {
            biased;
            () = &mut stop => None,
            read = reader.read() => Some(read),
        };
        match read {
            None => {
                interrupted = true;
                break;
            }
            Some(Ok(states)) => {
                failed_in_a_row = 0;
                let first = tracker.polls == 0;
                let changes = tracker.poll(&states, SystemTime::now());
                if first {
                    on_event(WatchEvent::Started {
                        critical: tracker.watched(Severity::Critical),
                        warning: tracker.watched(Severity::Warning),
                    });
                }
                for change in &changes {
                    on_event(WatchEvent::Change(change));
                }
                if !changes.is_empty() {
                    last_change = Some(tokio::time::Instant::now());
                }
            }
            Some(Err(error)) => {
                tracker.poll_failed();
                on_event(WatchEvent::PollFailed(&error));
                failed_in_a_row += 1;
                if failed_in_a_row >= MAX_FAILED_POLLS {
                    tracker.problem(format!(
                        "the alarms could not be read {MAX_FAILED_POLLS} times in a row: {error}"
                    ));
                    break;
                }
            }
        }
        let now = tokio::time::Instant::now();
        let remaining = end.saturating_duration_since(now);
        on_event(WatchEvent::Polled {
            polls: tracker.polls,
            elapsed: now - start,
            remaining,
            in_alarm: tracker.in_alarm(),
            critical_breaches: tracker
                .breaches
                .get(&Severity::Critical)
                .map_or(0, Vec::len),
        });
        if remaining.is_zero() {
            break;
        }
        let wait = next_poll_in(
            now - start,
            last_change.map(|at| now - at),
            remaining,
            options.poll_interval,
        );
        tokio::select! {
            biased;
            () = &mut stop => {
                interrupted = true;
                break;
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
    let span = Span {
        started_at,
        ended_at: SystemTime::now(),
        requested: options.duration,
        watched: start.elapsed(),
    };
    tracker.verdict(span, interrupted)
}

mod verdict;
use verdict::millis;
pub use verdict::{Span, Validation, Verdict, WatchOutcome};

#[cfg(test)]
mod tests;
