//! `make bench`: AWS API calls (the headline figure, machine-independent), wall times and peak
//! memory of nc-provision on the local AWS, for every environment's spec (`support/envs.rs`).
//! Prints tables; asserts nothing (a disagreement with the counting proxy is printed).
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
//! Arguments (after `--`): none runs everything; one environment name (`stg`, `dev`, `prod`)
//! only that environment's row and the zones table; several names only their rows (add `zones`
//! for the zones table); `scale [SIZE...]` only the scale series (the sizes default to 120, 500
//! and 1000 resources).
//!
//! The calls of the environments' rows and of the scale series' plans are checked against the
//! callcount proxy (`support/callcount.rs`): the binary's count must equal the proxy's.

mod support;

use std::path::Path;
use std::process::Command;

use support::envs::copy_specs;
use support::moto::Moto;
use support::{aws_env, fresh_account};

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
    let everything = words.is_empty();
    let mut envs: Vec<String> = words
        .iter()
        .filter(|word| ["stg", "dev", "prod"].contains(&word.as_str()))
        .cloned()
        .collect();
    if everything {
        envs = vec!["stg".into(), "dev".into(), "prod".into()];
    }
    if !envs.is_empty() {
        support::envs::table(&endpoint, &moto, &envs);
    }
    if everything || words.len() == 1 || words.iter().any(|word| word == "zones") {
        vpc_scaling(&endpoint, &moto);
    }
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
