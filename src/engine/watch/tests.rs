//! The watch's pure part (severity, state changes, schedule, verdict) and its loop over a
//! scripted alarm reader in paused time.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::model::Kind;

const CRITICAL: &str = "Critical: KMS access denied (trail log group) [nc-provision:stg]";
const WARNING: &str = "Warning: S3 access denied (trail log group) [nc-provision:stg]";

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
}

fn state(name: &str, description: &str, value: AlarmValue, changed: u64) -> AlarmState {
    AlarmState {
        name: name.to_string(),
        description: description.to_string(),
        value,
        reason: format!("{value} since {changed}"),
        changed_at: Some(at(changed)),
    }
}

fn span() -> Span {
    Span {
        started_at: at(0),
        ended_at: at(60),
        requested: Duration::from_secs(60),
        watched: Duration::from_secs(60),
    }
}

#[test]
fn severity_comes_from_the_description_and_needs_this_environments_marker() {
    let alarm = |description: &str| state("nc-stg-x", description, AlarmValue::Ok, 0);
    assert_eq!(severity(&alarm(CRITICAL), "stg"), Some(Severity::Critical));
    assert_eq!(severity(&alarm(WARNING), "stg"), Some(Severity::Warning));
    assert_eq!(severity(&alarm(CRITICAL), "prod"), None, "another env's");
    assert_eq!(
        severity(&alarm("Critical: someone else's alarm"), "stg"),
        None,
        "not ours"
    );
    assert_eq!(
        severity(
            &alarm("CIS 4.3: root-account-usage (trail log group) [nc-provision:stg]"),
            "stg"
        ),
        None,
        "CIS alarms are not watched"
    );
}

/// The observability module's alarms, as the shipped specs expand them, classify as the
/// module means them: its `Critical:` and `Warning:` alarms are watched under the prefix, the
/// CIS alarms are not. A change of wording in alarms.rs fails here.
#[test]
fn the_modules_critical_and_warning_alarms_are_the_watched_ones() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    for env in ["stg", "prod"] {
        let spec = crate::spec::load(&dir, env).expect("shipped spec");
        let target = crate::engine::offline_target(&spec, None, None);
        let graph = crate::modules::expand(&spec, &target).expect("expands");
        let mut critical = Vec::new();
        let mut warning = Vec::new();
        let mut unwatched = 0;
        for resource in graph.resources() {
            if resource.kind != Kind::CloudWatchAlarm {
                continue;
            }
            assert!(
                resource.name.starts_with(&alarm_prefix(env)),
                "{} is under the prefix",
                resource.name
            );
            let live = state(
                &resource.name,
                resource.str_prop("description").unwrap_or_default(),
                AlarmValue::Ok,
                0,
            );
            match severity(&live, env) {
                Some(Severity::Critical) => critical.push(resource.name.clone()),
                Some(Severity::Warning) => warning.push(resource.name.clone()),
                None => unwatched += 1,
            }
        }
        let watched: [(&str, &[&str], &Vec<String>); 2] = [
            (
                "critical",
                &[
                    "lambda-error-rate",
                    "dynamodb-read-throttles",
                    "dynamodb-write-throttles",
                    "guardduty-high-findings",
                    "kms-access-denied",
                    "rejected-flow-traffic",
                ],
                &critical,
            ),
            (
                "warning",
                &[
                    "lambda-duration-near-timeout",
                    "s3-access-denied",
                    "log-ingestion-lag",
                    "config-compliance-drift",
                ],
                &warning,
            ),
        ];
        for (severity, slugs, found) in watched {
            for slug in slugs {
                let name = format!("nc-{env}-{slug}");
                assert!(found.contains(&name), "{name} {severity}: {found:?}");
            }
        }
        assert!(unwatched >= 14, "the CIS alarms are not watched");
    }
}

#[test]
fn the_first_poll_is_the_baseline_and_only_entries_into_alarm_are_breaches() {
    let mut tracker = Tracker::new("stg");
    let first = tracker.poll(
        &[
            state("nc-stg-kms", CRITICAL, AlarmValue::InsufficientData, 0),
            state("nc-stg-s3", WARNING, AlarmValue::Ok, 0),
            state("nc-stg-foreign", "Critical: not ours", AlarmValue::Alarm, 0),
        ],
        at(1),
    );
    assert!(first.is_empty(), "{first:?}");
    assert_eq!(tracker.watched(Severity::Critical), 1);
    assert_eq!(tracker.watched(Severity::Warning), 1);

    let second = tracker.poll(
        &[
            state("nc-stg-kms", CRITICAL, AlarmValue::Ok, 5),
            state("nc-stg-s3", WARNING, AlarmValue::Alarm, 6),
        ],
        at(10),
    );
    assert_eq!(second.len(), 2, "{second:?}");
    assert_eq!(second[0].from, Some(AlarmValue::InsufficientData));
    assert_eq!(second[0].to, AlarmValue::Ok);
    assert_eq!(second[1].to, AlarmValue::Alarm);
    assert_eq!(second[1].at, "2027-01-15T08:00:06.000Z");

    let third = tracker.poll(
        &[
            state("nc-stg-kms", CRITICAL, AlarmValue::Alarm, 12),
            state("nc-stg-s3", WARNING, AlarmValue::Alarm, 6),
        ],
        at(15),
    );
    assert_eq!(third.len(), 1, "{third:?}");
    let verdict = tracker.verdict(span(), false);
    assert_eq!(verdict.outcome, WatchOutcome::Failed);
    assert!(!verdict.passed());
    assert_eq!(verdict.critical_in_alarm.len(), 1);
    assert_eq!(verdict.critical_in_alarm[0].alarm, "nc-stg-kms");
    assert_eq!(verdict.critical_in_alarm[0].at, "2027-01-15T08:00:12.000Z");
    assert_eq!(verdict.warning_in_alarm[0].alarm, "nc-stg-s3");
    let text = verdict.describe("stg");
    assert!(text.starts_with("watch of stg: failed"), "{text}");
    assert!(
        text.contains("critical: nc-stg-kms entered ALARM at 2027-01-15T08:00:12.000Z"),
        "{text}"
    );
}

#[test]
fn a_warning_alone_passes_and_a_critical_alarm_already_in_alarm_fails() {
    let mut warned = Tracker::new("stg");
    warned.poll(&[state("nc-stg-kms", CRITICAL, AlarmValue::Ok, 0)], at(0));
    warned.poll(
        &[
            state("nc-stg-kms", CRITICAL, AlarmValue::Ok, 0),
            state("nc-stg-s3", WARNING, AlarmValue::Alarm, 3),
        ],
        at(5),
    );
    let verdict = warned.verdict(span(), false);
    assert!(verdict.passed(), "{verdict:?}");
    assert_eq!(verdict.warning_in_alarm.len(), 1);

    let mut already = Tracker::new("stg");
    let changes = already.poll(
        &[state("nc-stg-kms", CRITICAL, AlarmValue::Alarm, 0)],
        at(1),
    );
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].from, None);
    assert_eq!(already.verdict(span(), false).outcome, WatchOutcome::Failed);
}

#[test]
fn a_change_and_back_between_polls_is_reported_but_not_a_breach() {
    let mut tracker = Tracker::new("stg");
    tracker.poll(&[state("nc-stg-kms", CRITICAL, AlarmValue::Ok, 0)], at(1));
    let changes = tracker.poll(&[state("nc-stg-kms", CRITICAL, AlarmValue::Ok, 30)], at(60));
    assert_eq!(changes.len(), 1);
    assert!(changes[0].between_polls);
    assert!(tracker.verdict(span(), false).passed());
}

#[test]
fn interrupted_no_alarms_and_unreadable_alarms_never_pass() {
    let mut quiet = Tracker::new("stg");
    quiet.poll(&[state("nc-stg-kms", CRITICAL, AlarmValue::Ok, 0)], at(1));
    let interrupted = quiet.verdict(span(), true);
    assert_eq!(interrupted.outcome, WatchOutcome::Interrupted);
    assert!(
        interrupted
            .describe("stg")
            .starts_with("watch of stg: interrupted"),
        "{}",
        interrupted.describe("stg")
    );

    let mut empty = Tracker::new("stg");
    empty.poll(&[], at(1));
    let verdict = empty.verdict(span(), false);
    assert_eq!(verdict.outcome, WatchOutcome::Failed);
    assert!(verdict.problems[0].contains("no critical alarm of stg"));

    let never = Tracker::new("stg").verdict(span(), false);
    assert_eq!(never.outcome, WatchOutcome::Failed);
}

#[test]
fn the_schedule_is_short_at_first_longer_later_and_never_past_the_end() {
    let minute = Duration::from_secs(60);
    let hour = Duration::from_secs(3600);
    assert_eq!(
        next_poll_in(Duration::ZERO, None, hour, None),
        Duration::from_secs(5)
    );
    assert_eq!(
        next_poll_in(2 * minute, None, hour, None),
        Duration::from_secs(15)
    );
    assert_eq!(
        next_poll_in(10 * minute, None, hour, None),
        Duration::from_secs(30)
    );
    assert_eq!(next_poll_in(20 * minute, None, hour, None), minute);
    assert_eq!(
        next_poll_in(20 * minute, Some(Duration::from_secs(10)), hour, None),
        Duration::from_secs(5),
        "back to short after a change"
    );
    assert_eq!(
        next_poll_in(20 * minute, None, Duration::from_secs(7), None),
        Duration::from_secs(7),
        "never past the end"
    );
    assert_eq!(
        next_poll_in(20 * minute, None, hour, Some(Duration::from_millis(500))),
        Duration::from_millis(500)
    );
}

#[test]
fn validation_needs_no_pending_change_and_nothing_not_checked() {
    let clean = Validation::default();
    assert!(clean.ok());
    let pending = Validation {
        pending: vec!["kms.key.data: update".into()],
        not_checked: vec!["observability.securityhub".into()],
    };
    assert!(!pending.ok());
    let verdict = Verdict::not_validated(
        "stg",
        pending,
        Span::not_started(at(0), Duration::from_secs(3600)),
    );
    assert_eq!(verdict.outcome, WatchOutcome::Failed);
    assert_eq!(verdict.polls, 0);
    assert_eq!(verdict.problems.len(), 2, "{:?}", verdict.problems);
    assert!(verdict.problems[0].contains("kms.key.data: update"));
    assert!(verdict.problems[1].contains("observability.securityhub"));
}

/// A reader that answers from a script, one entry per poll (the last repeats), and counts
/// its polls.
struct Scripted {
    script: Vec<Result<Vec<AlarmState>, &'static str>>,
    polls: Mutex<usize>,
}

#[async_trait]
impl AlarmReader for Scripted {
    async fn read(&self) -> Result<Vec<AlarmState>, ProviderError> {
        let mut polls = self.polls.lock().expect("lock");
        let index = (*polls).min(self.script.len() - 1);
        *polls += 1;
        self.script[index].clone().map_err(|message| {
            ProviderError::local("cloudwatch:DescribeAlarms", "nc-stg-", message)
        })
    }
}

fn scripted(script: Vec<Result<Vec<AlarmState>, &'static str>>) -> Scripted {
    Scripted {
        script,
        polls: Mutex::new(0),
    }
}

#[tokio::test(start_paused = true)]
async fn the_loop_polls_on_schedule_reports_changes_and_ends_at_the_end() {
    let ok = vec![state("nc-stg-kms", CRITICAL, AlarmValue::Ok, 0)];
    let alarm = vec![state("nc-stg-kms", CRITICAL, AlarmValue::Alarm, 7)];
    let reader = scripted(vec![Ok(ok.clone()), Ok(ok), Ok(alarm)]);
    let seen = Mutex::new(Vec::new());
    let on_event = |event: WatchEvent<'_>| {
        if let WatchEvent::Change(change) = event {
            seen.lock().expect("lock").push(change.clone());
        }
    };
    let options = WatchOptions {
        duration: Duration::from_secs(60),
        poll_interval: None,
    };
    let started = tokio::time::Instant::now();
    let verdict = watch(&reader, "stg", options, &on_event, std::future::pending()).await;
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(60),
        "ends at the end"
    );
    // 0, 5, 10, ..., 55, 60: thirteen polls of 5 s in the first minute.
    assert_eq!(*reader.polls.lock().expect("lock"), 13);
    assert_eq!(verdict.polls, 13);
    assert_eq!(verdict.outcome, WatchOutcome::Failed);
    assert_eq!(verdict.critical_in_alarm[0].alarm, "nc-stg-kms");
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].to, AlarmValue::Alarm);
}

#[tokio::test(start_paused = true)]
async fn a_signal_ends_the_watch_as_interrupted() {
    let reader = scripted(vec![Ok(vec![state(
        "nc-stg-kms",
        CRITICAL,
        AlarmValue::Ok,
        0,
    )])]);
    let options = WatchOptions {
        duration: Duration::from_secs(3600),
        poll_interval: None,
    };
    let stop = tokio::time::sleep(Duration::from_secs(12));
    let verdict = watch(&reader, "stg", options, &|_| {}, stop).await;
    assert_eq!(verdict.outcome, WatchOutcome::Interrupted);
    assert!(verdict.interrupted);
    assert_eq!(verdict.watched_ms, 12_000);
    assert!(!verdict.passed());
}

#[tokio::test(start_paused = true)]
async fn failing_polls_are_reported_and_end_the_watch_after_five_in_a_row() {
    let reader = scripted(vec![
        Ok(vec![state("nc-stg-kms", CRITICAL, AlarmValue::Ok, 0)]),
        Err("throttled"),
    ]);
    let failures = Mutex::new(0);
    let on_event = |event: WatchEvent<'_>| {
        if matches!(event, WatchEvent::PollFailed(_)) {
            *failures.lock().expect("lock") += 1;
        }
    };
    let options = WatchOptions {
        duration: Duration::from_secs(3600),
        poll_interval: Some(Duration::from_secs(1)),
    };
    let verdict = watch(&reader, "stg", options, &on_event, std::future::pending()).await;
    assert_eq!(*failures.lock().expect("lock"), MAX_FAILED_POLLS);
    assert_eq!(verdict.outcome, WatchOutcome::Failed);
    assert_eq!(verdict.failed_polls, MAX_FAILED_POLLS);
    assert!(
        verdict.problems[0].contains("could not be read 5 times in a row"),
        "{:?}",
        verdict.problems
    );
}
