//! Issue 15 item 7 — the scheduler and CI files in `deploy/`: every nc-provision command line in
//! them parses with the real command-line definition, the systemd units pass
//! `systemd-analyze verify` (where it is installed), the Kubernetes CronJob has the shape the
//! README promises, and the CI example runs plan → Markdown comment → approvals → apply. No AWS
//! call.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use nc_provision::cli::Cli;
use serde_json::Value;

fn deploy(path: &str) -> PathBuf {
    crate::common::repo().join("deploy").join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(deploy(path))
        .unwrap_or_else(|error| panic!("read deploy/{path}: {error}"))
}

fn yaml(path: &str) -> Value {
    serde_norway::from_str(&read(path))
        .unwrap_or_else(|error| panic!("deploy/{path} is YAML: {error}"))
}

/// Splits a shell command line into words: whitespace-separated, quotes removed, cut at the
/// first redirection or pipe. Enough for the simple lines of these files (no nested quotes).
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    for word in line.split_whitespace() {
        if matches!(word, ">" | ">>" | "|" | "&&" | "||" | ";") {
            break;
        }
        words.push(word.trim_matches('"').trim_matches('\'').to_string());
    }
    words
}

/// Parses an nc-provision command line (its first word is the binary, by any path) with the
/// real clap definition; panics naming the file and the error.
fn parses(file: &str, argv: &[String]) -> Cli {
    assert!(
        argv.first()
            .is_some_and(|binary| Path::new(binary).ends_with("nc-provision")),
        "{file}: {argv:?} runs nc-provision"
    );
    Cli::try_parse_from(argv)
        .unwrap_or_else(|error| panic!("{file}: {argv:?} does not parse:\n{error}"))
}

/// The nc-provision command lines of a shell script (a workflow step's `run`).
fn command_lines(script: &str) -> Vec<Vec<String>> {
    script
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("nc-provision "))
        .map(words)
        .collect()
}

#[test]
fn the_systemd_units_run_reconcile_for_stg_and_pass_systemd_analyze_verify() {
    let service = read("systemd/nc-provision-reconcile-stg.service");
    let timer = read("systemd/nc-provision-reconcile-stg.timer");
    let exec = service
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let cli = parses("the service", &words(exec));
    match cli.command {
        nc_provision::cli::args::Command::Reconcile(args) => {
            assert_eq!(args.env, "stg");
            assert!(args.once, "reconcile --once: the timer schedules it");
        }
        other => panic!("the service runs reconcile, not {other:?}"),
    }
    assert!(
        service.contains("SuccessExitStatus=2"),
        "exit 2 (drift) is not a failure"
    );
    assert!(
        timer.contains("Unit=nc-provision-reconcile-stg.service"),
        "the timer starts the service"
    );

    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        println!("skipped systemd-analyze verify: systemd-analyze is not installed here");
        return;
    };
    assert!(version.status.success(), "systemd-analyze --version");
    // The units as installed, but running the binary just built (verify checks that the
    // command exists and is executable); `--man=no`: the man page is not installed here.
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = env!("CARGO_BIN_EXE_nc-provision");
    let service_path = dir.path().join("nc-provision-reconcile-stg.service");
    let timer_path = dir.path().join("nc-provision-reconcile-stg.timer");
    std::fs::write(
        &service_path,
        service.replace("/usr/local/bin/nc-provision", binary),
    )
    .expect("write the service");
    std::fs::write(&timer_path, &timer).expect("write the timer");
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&service_path)
        .arg(&timer_path)
        .output()
        .expect("run systemd-analyze verify");
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: exit {:?}\n{stderr}",
        verify.status.code()
    );
}

#[test]
fn the_cronjob_is_a_batch_v1_cronjob_that_forbids_overlap_and_runs_reconcile() {
    let manifest = yaml("kubernetes/reconcile-stg-cronjob.yaml");
    assert_eq!(manifest["apiVersion"], "batch/v1");
    assert_eq!(manifest["kind"], "CronJob");
    assert!(manifest["metadata"]["name"].is_string(), "{manifest:#}");
    let spec = &manifest["spec"];
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    assert_eq!(
        spec["schedule"]
            .as_str()
            .map(|schedule| schedule.split_whitespace().count()),
        Some(5),
        "a five-field cron schedule"
    );
    let pod = &spec["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    assert!(container["image"].is_string());
    let argv: Vec<String> = container["command"]
        .as_array()
        .into_iter()
        .chain(container["args"].as_array())
        .flatten()
        .map(|word| word.as_str().expect("a string").to_string())
        .collect();
    let cli = parses("the CronJob", &argv);
    match cli.command {
        nc_provision::cli::args::Command::Reconcile(args) => {
            assert_eq!(args.env, "stg");
            assert!(args.once);
        }
        other => panic!("the CronJob runs reconcile, not {other:?}"),
    }
    // The specs directory it names is mounted.
    let mounts = container["volumeMounts"].as_array().expect("volume mounts");
    assert!(
        mounts
            .iter()
            .any(|mount| cli.specs == Path::new(mount["mountPath"].as_str().unwrap_or_default())),
        "the specs are mounted at {}: {mounts:?}",
        cli.specs.display()
    );
}

#[test]
fn the_ci_example_plans_comments_checks_approvals_then_applies_and_watches() {
    let workflow = yaml("github-actions/nc-provision.yml");
    let mut lines = Vec::new();
    for (job, definition) in workflow["jobs"].as_object().expect("jobs") {
        for step in definition["steps"].as_array().expect("steps") {
            if let Some(script) = step["run"].as_str() {
                for argv in command_lines(script) {
                    let cli = parses(&format!("job {job}"), &argv);
                    lines.push((job.clone(), cli));
                }
            }
        }
    }
    let position = |what: &dyn Fn(&Cli) -> bool| {
        lines
            .iter()
            .position(|(_, cli)| what(cli))
            .unwrap_or_else(|| panic!("the workflow has the step: {lines:#?}"))
    };
    use nc_provision::cli::args::{Command as Sub, Format};
    let plan = position(
        &|cli| matches!(&cli.command, Sub::Plan(args) if args.format == Format::Markdown && args.out.is_some()),
    );
    let approvals = position(&|cli| matches!(&cli.command, Sub::Approvals(_)));
    let apply = position(
        &|cli| matches!(&cli.command, Sub::Apply(args) if args.plan.is_some() && args.watch.is_some()),
    );
    assert!(plan < approvals && approvals < apply, "{lines:#?}");
    assert!(
        read("github-actions/nc-provision.yml").contains("gh pr comment"),
        "the plan is commented on the pull request"
    );
}
