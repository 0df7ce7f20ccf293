//! Issue 16 part 2 — the post-deployment watch on the local AWS: `apply --watch` validates and
//! watches, ends with a verdict and records it in the apply's audit item; `watch` passes when no
//! alarm fires, fails naming a critical alarm the test forces into ALARM (SetAlarmState), and a
//! signal ends it as interrupted. Read back with the SDK.
//!
//! LocalStack evaluates a metric alarm when it is created and then once per period: a state
//! forced with SetAlarmState holds until the next evaluation. The forced alarm,
//! `nc-stg-kms-access-denied`, has a 5-minute period, and the test forces it right after the
//! apply that created it, then checks it is still in ALARM once the watch has ended.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use aws_sdk_cloudwatch::types::StateValue;

use crate::common::{Run, World};

const FORCED: &str = "nc-stg-kms-access-denied";

/// Every JSON value printed on stdout, in order (a report document, then JSON lines).
fn json_values(stdout: &str) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_str(stdout)
        .into_iter::<serde_json::Value>()
        .map_while(Result::ok)
        .collect()
}

/// The watch's JSON lines (those with an `event`).
fn events(stdout: &str) -> Vec<serde_json::Value> {
    json_values(stdout)
        .into_iter()
        .filter(|value| value.get("event").is_some())
        .collect()
}

fn verdict(run: &Run) -> serde_json::Value {
    events(&run.stdout)
        .into_iter()
        .find(|line| line["event"] == "verdict")
        .unwrap_or_else(|| {
            panic!(
                "a verdict line\nstdout:\n{}\nstderr:\n{}",
                run.stdout, run.stderr
            )
        })
}

/// The audit records of stg in this world's lock table.
async fn stg_audits(world: &World) -> Vec<serde_json::Value> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&world.sdk("us-east-1").await);
    let items = dynamodb
        .scan()
        .table_name("nc-provision-locks")
        .consistent_read(true)
        .send()
        .await
        .expect("scan the lock table");
    items
        .items()
        .iter()
        .filter(|item| {
            item.get("pk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|k| k.starts_with("audit#stg/us-east-1#"))
        })
        .filter_map(|item| item.get("record").and_then(|v| v.as_s().ok()))
        .filter_map(|text| serde_json::from_str(text).ok())
        .collect()
}

/// A `watch` running with its stdout piped, and the lines read so far.
struct Watching {
    child: Child,
    stdout: BufReader<std::process::ChildStdout>,
    lines: Vec<String>,
}

/// Starts `watch` and waits for its `watch_started` line.
fn start_watch(world: &World, args: &[&str]) -> Watching {
    let mut child = world
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nc-provision watch");
    let stdout = child.stdout.take().map(BufReader::new);
    let mut watching = Watching {
        stdout: stdout.expect("stdout"),
        child,
        lines: Vec::new(),
    };
    loop {
        let mut line = String::new();
        let read = watching.stdout.read_line(&mut line).unwrap_or(0);
        if read == 0 {
            let run = finish_watch(watching);
            panic!("watch ended before it started: {run:?}");
        }
        let started = line.contains("\"watch_started\"");
        watching.lines.push(line);
        if started {
            return watching;
        }
    }
}

/// Reads the rest of a started watch and waits for it.
fn finish_watch(mut watching: Watching) -> Run {
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut watching.stdout, &mut rest);
    watching.lines.push(rest);
    let output = watching.child.wait_with_output().expect("wait for watch");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: watching.lines.concat(),
        stderr: String::from_utf8_lossy(&output.stderr).to_string(),
    }
}

async fn alarm_value(world: &World, name: &str) -> Option<StateValue> {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&world.sdk("us-east-1").await);
    cloudwatch
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .expect("describe alarms")
        .metric_alarms()
        .first()
        .and_then(|alarm| alarm.state_value().cloned())
}

/// Waits (up to 90 s) until LocalStack's alarm evaluator has moved the alarm out of
/// INSUFFICIENT_DATA, so a state the test forces is not overwritten by that first evaluation.
async fn wait_until_evaluated(world: &World, name: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while std::time::Instant::now() < deadline {
        match alarm_value(world, name).await {
            Some(StateValue::InsufficientData) | None => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await
            }
            Some(_) => return,
        }
    }
}

#[tokio::test]
async fn apply_watch_records_its_verdict_and_a_forced_critical_alarm_fails_the_watch() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));

    // apply --watch: the apply, a validation re-plan, a short watch, a passed verdict, exit 0.
    let run = world.run(&[
        "apply",
        "--env",
        "stg",
        "--auto-approve",
        "--format",
        "json",
        "--watch",
        "5s",
        "--poll-interval",
        "1s",
    ]);
    run.expect_code(0);
    let values = json_values(&run.stdout);
    assert_eq!(
        values[0]["result"]["ok"], true,
        "the apply report comes first"
    );
    let passed = verdict(&run);
    assert_eq!(passed["verdict"], "passed", "{passed:#}");
    assert_eq!(passed["env"], "stg");
    assert_eq!(
        passed["critical_in_alarm"],
        serde_json::json!([]),
        "{passed:#}"
    );
    assert!(passed["critical_alarms"].as_u64() >= Some(6), "{passed:#}");
    assert_eq!(
        passed["validation"]["pending"],
        serde_json::json!([]),
        "{passed:#}"
    );
    assert_eq!(
        passed["validation"]["not_checked"],
        serde_json::json!([]),
        "{passed:#}"
    );
    assert!(passed["polls"].as_u64() >= Some(3), "{passed:#}");
    assert!(
        run.stderr.contains("watch of stg: passed"),
        "the verdict for a person on stderr: {}",
        run.stderr
    );
    // The apply's audit record carries the verdict.
    let audits = stg_audits(&world).await;
    assert_eq!(audits.len(), 1, "{audits:#?}");
    assert_eq!(audits[0]["command"], "apply");
    assert_eq!(audits[0]["outcome"], "ok");
    assert_eq!(audits[0]["watch"]["verdict"], "passed", "{:#}", audits[0]);
    assert_eq!(audits[0]["watch"]["polls"], passed["polls"]);

    // A critical alarm forced into ALARM during a watch: exit 1, its state change as a JSON
    // line, the verdict naming it and when. LocalStack evaluates a new alarm once a few seconds
    // after it is created (INSUFFICIENT_DATA -> OK) and then once per period; a state forced
    // before that first evaluation is overwritten, so the test waits for it first.
    wait_until_evaluated(&world, FORCED).await;
    let watching = start_watch(
        &world,
        &[
            "watch",
            "--env",
            "stg",
            "--for",
            "8s",
            "--poll-interval",
            "1s",
        ],
    );
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&world.sdk("us-east-1").await);
    cloudwatch
        .set_alarm_state()
        .alarm_name(FORCED)
        .state_value(StateValue::Alarm)
        .state_reason("forced by the watch test")
        .send()
        .await
        .expect("SetAlarmState");
    let run = finish_watch(watching);
    run.expect_code(1);
    let lines = events(&run.stdout);
    let change = lines
        .iter()
        .find(|line| line["event"] == "alarm_state" && line["alarm"] == FORCED)
        .unwrap_or_else(|| panic!("a state change line for {FORCED}: {lines:#?}"));
    assert_eq!(change["to"], "ALARM", "{change:#}");
    assert_eq!(change["severity"], "critical", "{change:#}");
    assert_eq!(change["reason"], "forced by the watch test", "{change:#}");
    assert_eq!(change["env"], "stg");
    let failed = verdict(&run);
    assert_eq!(failed["verdict"], "failed", "{failed:#}");
    assert_eq!(
        failed["critical_in_alarm"][0]["alarm"], FORCED,
        "{failed:#}"
    );
    assert_eq!(
        failed["critical_in_alarm"][0]["at"], change["at"],
        "{failed:#}"
    );
    assert!(
        run.stderr
            .contains(&format!("critical: {FORCED} entered ALARM at ")),
        "the verdict names the alarm and when: {}",
        run.stderr
    );
    assert_eq!(
        alarm_value(&world, FORCED).await,
        Some(StateValue::Alarm),
        "LocalStack kept the forced state through the watch"
    );

    // Back to OK: a short watch passes (exit 0); a signal ends a long one as interrupted.
    cloudwatch
        .set_alarm_state()
        .alarm_name(FORCED)
        .state_value(StateValue::Ok)
        .state_reason("reset by the watch test")
        .send()
        .await
        .expect("SetAlarmState OK");
    let run = world.run(&[
        "watch",
        "--env",
        "stg",
        "--for",
        "3s",
        "--poll-interval",
        "1s",
    ]);
    run.expect_code(0);
    assert_eq!(verdict(&run)["verdict"], "passed");

    let watching = start_watch(&world, &["watch", "--env", "stg", "--for", "10m"]);
    let killed = std::process::Command::new("kill")
        .args(["-INT", &watching.child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(killed.success());
    let run = finish_watch(watching);
    run.expect_code(1);
    let interrupted = verdict(&run);
    assert_eq!(interrupted["verdict"], "interrupted", "{interrupted:#}");
    assert_eq!(interrupted["interrupted"], true);
    assert!(
        interrupted["watched_ms"].as_u64() < Some(60_000),
        "ended at once: {interrupted:#}"
    );
    assert!(
        run.stderr.contains("watch of stg: interrupted"),
        "{}",
        run.stderr
    );
}
