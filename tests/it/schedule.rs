//! `reconcile --interval`: a JSON line per run, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::World;

#[test]
fn reconcile_loop_prints_a_line_per_run_and_stops_on_sigterm() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    let mut child = world
        .command(&["reconcile", "--env", "dev", "--interval", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first: serde_json::Value =
        serde_json::from_str(&lines.next().expect("a line").expect("read")).expect("json line");
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(
        first["repaired"],
        crate::common::resource_count("dev"),
        "the first run creates the missing resources: {first}"
    );
    let second: serde_json::Value =
        serde_json::from_str(&lines.next().expect("a line").expect("read")).expect("json line");
    assert_eq!(second["drifted"], serde_json::json!([]), "{second}");
    assert_eq!(second["api_calls"]["writes"], 0, "{second}");

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert_eq!(status.code(), Some(0), "clean stop on SIGTERM");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
