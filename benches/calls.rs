//! `make bench`: AWS API calls (the headline figure, machine-independent) and wall times of
//! nc-provision on the local AWS, for every environment's spec. Prints a table; asserts nothing.
//!
//! Each scenario runs the built binary in a fresh LocalStack account with a private copy of the
//! specs (bucket names get a unique suffix, since S3 names are global).
//!
//! A second table shows that a no-change plan's cost does not grow with the network: the full
//! stg environment at 1, 2 and 3 availability zones. Three zones of three /19 tiers do not fit
//! in stg's /16, and AWS (like LocalStack) refuses a VPC larger than a /16 (`InvalidVpc.Range`
//! for a /15), so the spec validator rightly rejects `az_count = 3`: this scenario loads the
//! spec, sets the zone count in memory and drives the engine in-process (a child process of
//! this bench, given the emulator's environment), where the vpc module lays three zones out as
//! /20 tiers.
//!
//! A third part, the scale series (`support/scale.rs`), grows stg's data buckets to about 120,
//! 500 and 1,000 resources and measures calls per resource, wall time and peak memory.
//!
//! Arguments (after `--`): none runs everything; an environment name (`stg`, `dev`, `prod`)
//! only that environment's row and the zones table; `scale [SIZE...]` only the scale series
//! (the sizes default to 120, 500 and 1000 resources).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::moto::Moto;
use support::{aws_env, bench_spec, fresh_account, shipped_spec};

/// No-change plans timed per environment (the median is printed).
const PLAN_RUNS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|arg| arg == VPC_SCALE_CHILD) {
        let zones: u8 = args
            .get(position + 1)
            .and_then(|zones| zones.parse().ok())
            .unwrap_or(2);
        let specs = std::path::PathBuf::from(args.get(position + 2).cloned().unwrap_or_default());
        println!("{}", vpc_scale_child(zones, &specs));
        return;
    }
    let endpoint =
        std::env::var("NC_TEST_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let moto =
        std::env::var("NC_TEST_MOTO_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4567".into());
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    println!("nc-provision bench on {endpoint} (AWS API calls counted by the SDK interceptor)\n");
    if words.first().is_some_and(|word| word == "scale") {
        let sizes: Vec<usize> = words
            .iter()
            .skip(1)
            .filter_map(|size| size.parse().ok())
            .collect();
        let sizes = if sizes.is_empty() {
            support::scale::SIZES.to_vec()
        } else {
            sizes
        };
        support::scale::series(&endpoint, &moto, &sizes);
        return;
    }
    let envs: Vec<String> = match words.first() {
        Some(env) => vec![env.clone()],
        None => vec!["stg".into(), "dev".into(), "prod".into()],
    };
    let everything = words.is_empty();
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
        let account = fresh_account('4');
        // Emulator glue (as in the integration tests): moto (CloudTrail, GuardDuty) is one
        // account per server, so each scenario gets its own (see support/moto.rs), and its
        // CreateTrail wants the trail bucket in moto's own S3, while the tool creates it on
        // LocalStack.
        let scenario_moto = Moto::for_account(&account, &moto);
        scenario_moto.put_bucket(&format!("nc-dp-{env}-trail-{account}"));
        let run = |args: &[&str]| -> (serde_json::Value, Duration) {
            let started = Instant::now();
            let mut command = Command::new(env!("CARGO_BIN_EXE_nc-provision"));
            command
                .args(args)
                .args(["--format", "json", "--specs"])
                .arg(dir.path());
            let output = aws_env(&mut command, &endpoint, &scenario_moto.url, &account)
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
    vpc_scaling(&endpoint, &moto);
    if everything {
        support::scale::series(&endpoint, &moto, &support::scale::SIZES);
    }
}

/// The argument that makes this bench a child running one VPC-scaling scenario in-process.
const VPC_SCALE_CHILD: &str = "--vpc-scale-child";

/// The no-change plan of the full stg environment at 1, 2 and 3 zones, each in a fresh
/// account: EC2 calls and total calls.
fn vpc_scaling(endpoint: &str, moto: &str) {
    println!(
        "\nNo-change plan of the full stg environment by availability zones (in-process; see the header)"
    );
    println!(
        "{:<6} {:>10} {:>8} {:>10} {:>12} {:>10}",
        "zones", "resources", "subnets", "EC2 calls", "total calls", "changes"
    );
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    for zones in [1u8, 2, 3] {
        let Ok(dir) = tempfile::tempdir() else { return };
        let tag = format!("z{:06}", fastrand::u32(0..1_000_000));
        if copy_specs(dir.path(), &tag).is_err() {
            return;
        }
        let account = fresh_account('5');
        let scenario_moto = Moto::for_account(&account, moto);
        scenario_moto.put_bucket(&format!("nc-dp-stg-trail-{account}"));
        let mut command = Command::new(&exe);
        command
            .arg(VPC_SCALE_CHILD)
            .arg(zones.to_string())
            .arg(dir.path());
        let output = aws_env(&mut command, endpoint, &scenario_moto.url, &account)
            .env("AWS_REGION", "us-east-1")
            .output();
        let result: serde_json::Value = output
            .ok()
            .and_then(|output| serde_json::from_slice(&output.stdout).ok())
            .unwrap_or(serde_json::Value::Null);
        let by_operation = &result["calls"]["by_operation"];
        let ec2: u64 = by_operation
            .as_object()
            .map(|operations| {
                operations
                    .iter()
                    .filter(|(name, _)| name.starts_with("EC2."))
                    .filter_map(|(_, count)| count.as_u64())
                    .sum()
            })
            .unwrap_or(0);
        println!(
            "{:<6} {:>10} {:>8} {:>10} {:>12} {:>10}",
            zones,
            result["resources"].to_string(),
            result["subnets"].to_string(),
            ec2,
            result["calls"]["total"].to_string(),
            result["changes"].to_string(),
        );
        if let Some(error) = result["error"].as_str() {
            println!("       ({error})");
        }
    }
    println!(
        "changes = resources a plan right after the apply still wants to change (emulator gaps)."
    );
}

/// One scenario, in this (child) process: apply stg with `zones` zones from an empty account,
/// then plan again in a fresh session and report its calls.
fn vpc_scale_child(zones: u8, specs: &Path) -> serde_json::Value {
    use nc_provision::engine::Session;
    use nc_provision::exec::{ExecOptions, Progress};
    use nc_provision::plan::{DiffOptions, PlanMode};
    use nc_provision::providers::Aws;

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return serde_json::json!({"error": error.to_string()}),
    };
    runtime.block_on(async {
        let mut spec = match nc_provision::spec::load(specs, "stg") {
            Ok(spec) => spec,
            Err(error) => return serde_json::json!({"error": error.to_string()}),
        };
        spec.vpc.az_count = zones;
        let session = match Session::start(spec.clone(), Aws::load("us-east-1").await).await {
            Ok(session) => session,
            Err(error) => return serde_json::json!({"error": error.to_string()}),
        };
        let plan = match session.plan(PlanMode::Normal, DiffOptions::default()).await {
            Ok(plan) => plan,
            Err(error) => return serde_json::json!({"error": error.to_string()}),
        };
        let _ = session
            .apply(&plan, ExecOptions::default(), &Progress::new(true))
            .await;
        let session = match Session::start(spec, Aws::load("us-east-1").await).await {
            Ok(session) => session,
            Err(error) => return serde_json::json!({"error": error.to_string()}),
        };
        let plan = match session.plan(PlanMode::Normal, DiffOptions::default()).await {
            Ok(plan) => plan,
            Err(error) => return serde_json::json!({"error": error.to_string()}),
        };
        let subnets = session
            .graph
            .resources()
            .iter()
            .filter(|resource| resource.kind.as_str() == "subnet")
            .count();
        serde_json::json!({
            "zones": zones,
            "resources": session.graph.len(),
            "subnets": subnets,
            "changes": plan.changes.iter().filter(|change| change.action.is_change()).count(),
            "calls": session.calls().to_json(),
        })
    })
}

/// The shipped specs, made fit for the bench (see [`bench_spec`]), with the data buckets
/// `raw-{tag}` and `norm-{tag}` (bucket names are global).
fn copy_specs(target: &Path, tag: &str) -> std::io::Result<()> {
    let buckets = [format!("raw-{tag}"), format!("norm-{tag}")];
    for env in ["dev", "stg", "prod"] {
        let text = bench_spec(&shipped_spec(env)?, &buckets);
        std::fs::write(target.join(format!("{env}.toml")), text)?;
    }
    Ok(())
}
