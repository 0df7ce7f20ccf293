//! `nc-provision watch --env ENV --for DURATION` and `apply --watch DURATION`: validate the
//! deployment (a re-plan with no change and nothing not checked), watch the environment's
//! critical and warning alarms ([`crate::engine::watch`]), print the verdict, and add it to the
//! apply's audit record.
//!
//! On a terminal: a spinner on stderr and one line per state change on stdout, then the
//! verdict. Otherwise (or with `--format json`): one JSON line per event on stdout —
//! `watch_started`, `alarm_state` per change, `poll_failed`, and last `verdict` (fields in the
//! README's JSON section).

use std::io::IsTerminal;
use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::args::{Cli, Format, WatchArgs};
use super::{ExitStatus, output};
use crate::engine::Session;
use crate::engine::signals;
use crate::engine::watch::{
    PrefixReader, Span, Validation, Verdict, WatchEvent, WatchOptions, alarm_prefix, watch,
};
use crate::plan::{DiffOptions, PlanMode};
use crate::providers::lock::LockTable;

/// How a watch is shown.
#[derive(Debug, Clone, Copy)]
pub(super) struct Show {
    /// JSON lines on stdout (else human lines and a spinner).
    pub json: bool,
    /// `-q`: no spinner, no notes.
    pub quiet: bool,
}

impl Show {
    /// JSON lines when asked (`Format::Json`) or when stdout is not a terminal, unless human
    /// text is asked for (`Format::Human`).
    pub fn new(cli: &Cli, format: Option<Format>) -> Show {
        let json = match format {
            Some(Format::Json) => true,
            Some(Format::Human | Format::Markdown) => false,
            None => !std::io::stdout().is_terminal(),
        };
        Show {
            json,
            quiet: cli.quiet,
        }
    }

    /// For `apply --watch`: JSON lines with `apply --format json`, else as stdout allows.
    pub fn for_apply(cli: &Cli, format: Format) -> Show {
        Show::new(cli, (format == Format::Json).then_some(Format::Json))
    }
}

/// What to watch.
pub(super) struct Watch<'a> {
    /// The open session (its environment, region, AWS clients).
    pub session: &'a Session,
    /// Duration and poll interval.
    pub options: WatchOptions,
    /// Re-plan first and fail the watch if anything is pending or not checked.
    pub validate: bool,
    /// The apply's audit record to add the verdict to.
    pub audit_key: Option<String>,
    /// How to show it.
    pub show: Show,
}

/// `nc-provision watch`.
pub(super) async fn watch_command(cli: &Cli, args: &WatchArgs) -> anyhow::Result<ExitStatus> {
    let session = Session::open(
        &cli.specs,
        &args.env,
        args.region.as_deref(),
        cli.emulator,
        &cli.variables(),
    )
    .await?;
    signals::listen();
    let run = Watch {
        session: &session,
        options: WatchOptions {
            duration: args.duration,
            poll_interval: args.poll_interval,
        },
        validate: !args.skip_validation,
        audit_key: None,
        show: Show::new(cli, args.format),
    };
    run.run().await
}

impl Watch<'_> {
    /// Validates, watches, prints the verdict, records it in the audit record; exit 0 only
    /// when the watch passed.
    ///
    /// # Errors
    /// The validation plan failed, or the verdict could not be added to the audit record.
    pub async fn run(&self) -> anyhow::Result<ExitStatus> {
        let target = &self.session.target;
        let validation = if self.validate {
            let plan = self
                .session
                .plan(PlanMode::Normal, DiffOptions::default())
                .await?;
            Some(Validation::of(&plan))
        } else {
            None
        };
        let verdict = match validation {
            Some(validation) if !validation.ok() => Verdict::not_validated(
                &target.env,
                validation,
                Span::not_started(SystemTime::now(), self.options.duration),
            ),
            validation => {
                let mut verdict = self.watch().await;
                verdict.validation = validation;
                verdict
            }
        };
        self.print_verdict(&verdict);
        if let Some(key) = &self.audit_key {
            let table = LockTable::new(&self.session.aws);
            if let Err(error) = table
                .annotate_audit(key, "watch", serde_json::to_value(&verdict)?)
                .await
            {
                anyhow::bail!(
                    "the watch ended ({}) but its verdict could not be added to the apply's audit record: {error}",
                    verdict.outcome.as_str()
                );
            }
        }
        Ok(if verdict.passed() {
            ExitStatus::Success
        } else {
            ExitStatus::Error
        })
    }

    async fn watch(&self) -> Verdict {
        let target = &self.session.target;
        let reader = PrefixReader::new(&self.session.aws, &target.env);
        let spinner = (!self.show.json && !self.show.quiet && std::io::stderr().is_terminal())
            .then(|| {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
        let context = json!({"env": target.env, "region": target.region});
        let show = self.show;
        let requested = self.options.duration;
        let on_event = |event: WatchEvent<'_>| {
            let line = event_line(&event, &context, requested);
            match (&event, show.json) {
                (WatchEvent::Polled { .. }, true) => {}
                (_, true) => {
                    if let Some(line) = line {
                        output::json_line(&line);
                    }
                }
                (WatchEvent::Polled { .. }, false) => {
                    if let Some(bar) = &spinner {
                        bar.set_message(progress_text(&event, &context, requested));
                    }
                }
                (_, false) => {
                    let text = human_line(&event, &context);
                    match &spinner {
                        Some(bar) => bar.suspend(|| output::data(&text)),
                        None => output::data(&text),
                    }
                }
            }
        };
        if !show.json {
            output::note(
                show.quiet,
                &format!(
                    "Watching the critical and warning alarms of {} ({}*) for {} (Ctrl-C ends the watch).",
                    target.env,
                    alarm_prefix(&target.env),
                    humantime::format_duration(requested)
                ),
            );
        }
        let verdict = watch(
            &reader,
            &target.env,
            self.options,
            &on_event,
            signals::shutdown(),
        )
        .await;
        if let Some(bar) = spinner {
            bar.finish_and_clear();
        }
        verdict
    }

    fn print_verdict(&self, verdict: &Verdict) {
        let target = &self.session.target;
        let text = verdict.describe(&target.env);
        if self.show.json {
            let mut line = json!({"event": "verdict", "env": target.env, "region": target.region});
            if let (Some(fields), Ok(serde_json::Value::Object(verdict))) =
                (line.as_object_mut(), serde_json::to_value(verdict))
            {
                fields.extend(verdict);
            }
            output::json_line(&line);
            output::note(self.show.quiet, &text);
        } else {
            output::data(&text);
        }
    }
}

/// The JSON line of an event (`None` for a plain poll).
fn event_line(
    event: &WatchEvent<'_>,
    context: &serde_json::Value,
    requested: Duration,
) -> Option<serde_json::Value> {
    let mut line = match event {
        WatchEvent::Started { critical, warning } => json!({
            "event": "watch_started",
            "for_ms": u64::try_from(requested.as_millis()).unwrap_or(u64::MAX),
            "critical_alarms": critical,
            "warning_alarms": warning,
            "at": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        }),
        WatchEvent::Change(change) => {
            let mut line = json!({"event": "alarm_state"});
            if let (Some(fields), Ok(serde_json::Value::Object(change))) =
                (line.as_object_mut(), serde_json::to_value(change))
            {
                fields.extend(change);
            }
            line
        }
        WatchEvent::PollFailed(error) => json!({
            "event": "poll_failed",
            "error": error.to_string(),
            "at": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        }),
        WatchEvent::Polled { .. } => return None,
    };
    if let (Some(fields), Some(context)) = (line.as_object_mut(), context.as_object()) {
        for (name, value) in context {
            fields.insert(name.clone(), value.clone());
        }
    }
    Some(line)
}

/// The spinner's message after a poll.
fn progress_text(
    event: &WatchEvent<'_>,
    context: &serde_json::Value,
    requested: Duration,
) -> String {
    let WatchEvent::Polled {
        polls,
        remaining,
        in_alarm,
        critical_breaches,
        ..
    } = event
    else {
        return String::new();
    };
    format!(
        "watching {} for {} ({} left): {polls} polls, {in_alarm} in ALARM now, {critical_breaches} critical entered ALARM",
        context["env"].as_str().unwrap_or_default(),
        humantime::format_duration(requested),
        humantime::format_duration(Duration::from_secs(remaining.as_secs())),
    )
}

/// A human line for an event other than a poll.
fn human_line(event: &WatchEvent<'_>, context: &serde_json::Value) -> String {
    match event {
        WatchEvent::Started { critical, warning } => format!(
            "{}: watching {critical} critical and {warning} warning alarms",
            context["env"].as_str().unwrap_or_default()
        ),
        WatchEvent::Change(change) => format!(
            "{}  {} ({})  {} -> {}{}: {}",
            change.at,
            change.alarm,
            change.severity.as_str(),
            change.from.map_or("(new)", |from| from.as_str()),
            change.to,
            if change.between_polls {
                " (changed and back between polls)"
            } else {
                ""
            },
            change.reason
        ),
        WatchEvent::PollFailed(error) => format!("poll failed (the watch goes on): {error}"),
        WatchEvent::Polled { .. } => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::watch::{Severity, Transition};
    use crate::providers::alarm_state::AlarmValue;

    fn context() -> serde_json::Value {
        json!({"env": "stg", "region": "us-east-1"})
    }

    #[test]
    fn a_state_change_is_one_json_line_with_its_context() {
        let change = Transition {
            alarm: "nc-stg-kms-access-denied".into(),
            severity: Severity::Critical,
            from: Some(AlarmValue::Ok),
            to: AlarmValue::Alarm,
            at: "2026-11-29T10:00:00.000Z".into(),
            reason: "forced".into(),
            between_polls: false,
        };
        let line = event_line(
            &WatchEvent::Change(&change),
            &context(),
            Duration::from_secs(60),
        )
        .expect("a line");
        assert_eq!(
            line,
            json!({
                "event": "alarm_state", "env": "stg", "region": "us-east-1",
                "alarm": "nc-stg-kms-access-denied", "severity": "critical",
                "from": "OK", "to": "ALARM", "at": "2026-11-29T10:00:00.000Z",
                "reason": "forced", "between_polls": false
            })
        );
        let text = human_line(&WatchEvent::Change(&change), &context());
        assert_eq!(
            text,
            "2026-11-29T10:00:00.000Z  nc-stg-kms-access-denied (critical)  OK -> ALARM: forced"
        );
        let polled = WatchEvent::Polled {
            polls: 3,
            elapsed: Duration::from_millis(10_400),
            remaining: Duration::from_secs(50),
            in_alarm: 1,
            critical_breaches: 1,
        };
        assert!(event_line(&polled, &context(), Duration::from_secs(60)).is_none());
        assert_eq!(
            progress_text(&polled, &context(), Duration::from_secs(60)),
            "watching stg for 1m (50s left): 3 polls, 1 in ALARM now, 1 critical entered ALARM"
        );
    }
}
