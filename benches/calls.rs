//! `make bench`: AWS API calls (the headline figure, machine-independent) and wall times of
//! nc-provision on the local AWS, for every environment's spec. Prints a table; asserts nothing.
//!
//! Each scenario runs the built binary in a fresh LocalStack account with a private copy of the
//! specs (bucket names get a unique suffix, since S3 names are global).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// No-change plans timed per environment (the median is printed).
const PLAN_RUNS: usize = 5;

fn main() {
    let endpoint =
        std::env::var("NC_TEST_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let moto =
        std::env::var("NC_TEST_MOTO_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4567".into());
    let envs: Vec<String> = match std::env::args().skip(1).find(|arg| !arg.starts_with('-')) {
        Some(env) => vec![env],
        None => vec!["stg".into(), "dev".into(), "prod".into()],
    };
    println!("nc-provision bench on {endpoint} (AWS API calls counted by the SDK interceptor)\n");
    println!(
        "{:<5} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12} {:>9}",
        "env", "resources", "apply", "writes", "apply s", "no-change", "plan s (med)", "writes"
    );
    for env in envs {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(error) => {
                eprintln!("tempdir: {error}");
                return;
            }
        };
        let tag = format!("b{:06}", fastrand::u32(0..1_000_000));
        if let Err(error) = copy_specs(dir.path(), &tag) {
            eprintln!("copying specs: {error}");
            return;
        }
        let account = format!("4{:011}", fastrand::u64(0..100_000_000_000));
        let run = |args: &[&str]| -> (serde_json::Value, Duration) {
            let started = Instant::now();
            let output = Command::new(env!("CARGO_BIN_EXE_nc-provision"))
                .args(args)
                .args(["--format", "json", "--specs"])
                .arg(dir.path())
                .env("AWS_ENDPOINT_URL", &endpoint)
                .env("AWS_ENDPOINT_URL_CLOUDTRAIL", &moto)
                .env("AWS_ENDPOINT_URL_GUARDDUTY", &moto)
                .env("AWS_ENDPOINT_URL_SECURITYHUB", &moto)
                .env("AWS_ACCESS_KEY_ID", &account)
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_CONFIG_FILE", "/dev/null")
                .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("NC_PROVISION_LOG", "error")
                .output();
            let elapsed = started.elapsed();
            let document = output
                .ok()
                .and_then(|output| serde_json::from_slice(&output.stdout).ok())
                .unwrap_or(serde_json::Value::Null);
            (document, elapsed)
        };
        let (applied, apply_time) = match env.as_str() {
            "prod" => {
                let plan_file = dir.path().join("prod.plan");
                let plan_path = plan_file.to_string_lossy().to_string();
                let _ = run(&["plan", "--env", &env, "--out", &plan_path]);
                run(&["apply", "--env", &env, "--plan", &plan_path])
            }
            _ => run(&["apply", "--env", &env, "--auto-approve"]),
        };
        let mut times = Vec::new();
        let mut plan_calls = serde_json::Value::Null;
        let mut plan_writes = serde_json::Value::Null;
        for _ in 0..PLAN_RUNS {
            let (plan, elapsed) = run(&["plan", "--env", &env]);
            plan_calls = plan["api_calls"]["total"].clone();
            plan_writes = plan["api_calls"]["writes"].clone();
            times.push(elapsed);
        }
        times.sort();
        let resources = applied["plan"]["changes"].as_array().map_or(0, Vec::len);
        println!(
            "{:<5} {:>10} {:>10} {:>10} {:>10.2} {:>12} {:>12.3} {:>9}",
            env,
            resources,
            applied["api_calls"]["total"].to_string(),
            applied["api_calls"]["writes"].to_string(),
            apply_time.as_secs_f64(),
            plan_calls.to_string(),
            times[times.len() / 2].as_secs_f64(),
            plan_writes.to_string(),
        );
        if applied["result"]["ok"] != true {
            println!("      (apply did not succeed: {})", applied["result"]);
        }
    }
    println!(
        "\napply = API calls of apply from an empty account (plan + steps); no-change = calls of a plan right after."
    );
}

fn copy_specs(target: &Path, tag: &str) -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    for env in ["dev", "stg", "prod"] {
        let text = std::fs::read_to_string(root.join(format!("{env}.toml")))?;
        // No emulator serves IAM Access Analyzer.
        let text = text.replace(
            "service_session_hours = 12",
            "service_session_hours = 12\nenable_access_analyzer = false",
        );
        let text = text.replace(
            "buckets = [\"raw\", \"norm\"]",
            &format!("buckets = [\"raw-{tag}\", \"norm-{tag}\"]"),
        );
        std::fs::write(target.join(format!("{env}.toml")), text)?;
    }
    Ok(())
}
