//! One run of a child process: its JSON output, wall time and peak resident memory.
//!
//! The peak is the kernel's high-water mark of the child's resident set, `VmHWM` in
//! `/proc/<pid>/status` (proc(5)), sampled every few milliseconds while the child runs: the
//! mark only rises, so the last sample before exit is the peak up to then (memory the child
//! takes in its last few milliseconds, while it writes its output and exits, can be missed).
//! `wait4`'s `ru_maxrss` would be exact, but needs `unsafe` through libc, which this crate
//! forbids. Where there is no `/proc` (not Linux) the peak is unknown.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How often the child's memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// What one child run produced.
pub struct Run {
    /// Its standard output as JSON (`Null` when it was not JSON).
    pub output: serde_json::Value,
    /// From spawn to exit.
    pub wall: Duration,
    /// Peak resident memory in KiB, when `/proc` tells it.
    pub peak_rss_kib: Option<u64>,
    /// The end of its standard error, for a run that went wrong.
    pub stderr_tail: String,
}

/// Runs `command` to its end, its stdout and stderr going to files in `scratch` (a large plan
/// would fill a pipe nobody reads while sampling).
pub fn run(command: &mut Command, scratch: &Path) -> Run {
    let stdout_path = scratch.join("child.stdout");
    let stderr_path = scratch.join("child.stderr");
    let (Ok(stdout), Ok(stderr)) = (File::create(&stdout_path), File::create(&stderr_path)) else {
        return failed("cannot create the child's output files");
    };
    let started = Instant::now();
    let mut child = match command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
    {
        Ok(child) => child,
        Err(error) => return failed(&format!("spawn: {error}")),
    };
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak: Option<u64> = None;
    loop {
        if let Some(kib) = high_water_mark(&status_path) {
            peak = Some(peak.map_or(kib, |peak| peak.max(kib)));
        }
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => break,
            Ok(None) => std::thread::sleep(SAMPLE_EVERY),
        }
    }
    let wall = started.elapsed();
    let output = std::fs::read(&stdout_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null);
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let tail_start = stderr.len().saturating_sub(600);
    Run {
        output,
        wall,
        peak_rss_kib: peak,
        stderr_tail: stderr
            .get(tail_start..)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// `VmHWM` of a live process in KiB (`None` once it has exited: a zombie has no memory map).
fn high_water_mark(status_path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_path).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn failed(why: &str) -> Run {
    Run {
        output: serde_json::Value::Null,
        wall: Duration::ZERO,
        peak_rss_kib: None,
        stderr_tail: why.to_string(),
    }
}
