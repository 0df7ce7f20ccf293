//! The scale series: the stg environment with its repeatable input grown to about 120, 500 and
//! 1,000 resources; for each, an apply into a fresh account and then no-change plans, with AWS
//! calls (total and per resource), wall time and peak resident memory of the binary.
//!
//! The spec is `specs/stg.toml` with its `[data] buckets` list grown: each suffix is one more
//! `s3_bucket` (versioned, KMS-encrypted, public access blocked, TLS-only policy, tagged). It is
//! the spec's only list that adds resources (alarms, log groups, keys and roles are fixed by the
//! modules), and the validator caps neither its length nor anything else that stops 1,000. The
//! spec is written into a temporary directory per scenario (stg's `raw-` and `norm-` buckets,
//! then `nc-dp-stg-s<run>-<nnnn>`: at most 23 characters, valid S3 names); the scale buckets
//! are deleted again at the end of the scenario so the shared LocalStack does not keep
//! thousands of them.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use super::callcount::{self, Proxies};
use super::moto::Moto;
use super::peak_rss::{self, Run};
use super::{SPEC_VARIABLES, aws_env, bench_spec, fresh_account, pending_changes, shipped_spec};

/// The environment sizes measured (resources).
pub const SIZES: [usize; 3] = [120, 500, 1_000];

/// No-change plans per size (the median wall time and the largest peak are printed).
const PLAN_RUNS: usize = 3;

/// The measurements of one size.
struct Measured {
    buckets: usize,
    apply: Run,
    plans: Vec<Run>,
    /// One more no-change plan through the callcount proxies: the binary's count against theirs.
    check: Result<u64, String>,
    deleted: usize,
}

/// Runs the series for `sizes` against LocalStack at `endpoint` (moto at `shared_moto` only
/// when no private moto can be started) and prints its tables.
pub fn series(endpoint: &str, shared_moto: &str, sizes: &[usize]) {
    println!(
        "\nScale series: stg with its [data] buckets list grown (apply from empty, then {PLAN_RUNS} no-change plans)"
    );
    let base = match base_resources() {
        Ok(base) => base,
        Err(error) => {
            println!("  cannot expand stg offline: {error}");
            return;
        }
    };
    println!(
        "{:>6} {:>9} {:>7} | {:>6} {:>6} {:>6} {:>8} {:>6} | {:>6} {:>6} {:>8} {:>6} {:>7} {:>6}",
        "target",
        "resources",
        "buckets",
        "apply",
        "writes",
        "/res",
        "wall s",
        "MB",
        "plan",
        "/res",
        "s (med)",
        "MB",
        "changes",
        "proxy"
    );
    let mut measured = Vec::new();
    for &size in sizes {
        // At least stg's own two (raw and norm: the IAM policies grant their prefixes).
        let buckets = size.saturating_sub(base).max(2);
        let result = scenario(endpoint, shared_moto, buckets);
        print_row(size, &result);
        measured.push((size, result));
    }
    println!(
        "apply / plan = AWS calls (every HTTP attempt, from the binary's call counter); /res = per resource;\n\
         MB = peak resident memory of the binary (VmHWM, largest of the plans); changes = what the\n\
         no-change plan still wants to change (should be 0); proxy = one more no-change plan through\n\
         the callcount proxies counted the same calls. Wall times are noisy on shared cores."
    );
    by_service(&measured, "No-change plan: calls by service", |m| {
        m.plans.iter().rev().find(|run| !run.output.is_null())
    });
    by_service(&measured, "Apply from empty: calls by service", |m| {
        Some(&m.apply)
    });
    let done = measured
        .iter()
        .filter_map(|(_, result)| result.as_ref().ok());
    let (deleted, buckets) = done.fold((0, 0), |(deleted, buckets), measured| {
        (deleted + measured.deleted, buckets + measured.buckets)
    });
    println!("(scale buckets deleted afterwards: {deleted} of {buckets})");
}

/// The resources of stg other than its data buckets (expanded offline, no AWS call).
fn base_resources() -> Result<usize, String> {
    let dir = tempfile::tempdir().map_err(|error| error.to_string())?;
    let buckets = ["raw".to_string(), "norm".to_string()];
    let text = bench_spec(&shipped_spec("stg").map_err(|e| e.to_string())?, &buckets);
    std::fs::write(dir.path().join("stg.toml"), text).map_err(|e| e.to_string())?;
    let variables = nc_provision::spec::Variables::from(
        SPEC_VARIABLES.map(|(name, value)| (name.to_string(), value.to_string())),
    );
    let spec = nc_provision::spec::load_with(dir.path(), "stg", &variables)
        .map_err(|error| error.to_string())?;
    let target = nc_provision::engine::offline_target(&spec, None, None);
    let graph = nc_provision::modules::expand(&spec, &target).map_err(|error| error.to_string())?;
    Ok(graph.len().saturating_sub(buckets.len()))
}

/// One size: stg with `buckets` data buckets, applied into a fresh account, then planned.
fn scenario(endpoint: &str, shared_moto: &str, buckets: usize) -> Result<Measured, String> {
    let dir = tempfile::tempdir().map_err(|error| error.to_string())?;
    let tag = format!("s{:06}", fastrand::u32(0..1_000_000));
    // stg's raw and norm buckets first: the IAM boundaries grant their prefixes (the iam module
    // finds them by these names), then plain data buckets.
    let suffixes: Vec<String> = [format!("raw-{tag}"), format!("norm-{tag}")]
        .into_iter()
        .chain((2..buckets).map(|i| format!("{tag}-{i:04}")))
        .take(buckets)
        .collect();
    let text = bench_spec(&shipped_spec("stg").map_err(|e| e.to_string())?, &suffixes);
    std::fs::write(dir.path().join("stg.toml"), text).map_err(|e| e.to_string())?;
    let account = fresh_account('6');
    let moto = Moto::for_account(&account, shared_moto);
    moto.put_bucket(&format!("nc-dp-stg-trail-{account}"));
    let run = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_nc-provision"));
        command
            .args(args)
            .args(["--format", "json", "--specs"])
            .arg(dir.path());
        aws_env(&mut command, endpoint, &moto.url, &account).env("NC_PROVISION_LOG", "error");
        peak_rss::run(&mut command, dir.path())
    };
    let apply = run(&["apply", "--env", "stg", "--auto-approve"]);
    let plans = (0..PLAN_RUNS)
        .map(|_| run(&["plan", "--env", "stg"]))
        .collect();
    let check = match Proxies::start(endpoint, &moto.url) {
        Some(proxies) => {
            let mut command = Command::new(env!("CARGO_BIN_EXE_nc-provision"));
            command
                .args(["plan", "--env", "stg", "--format", "json", "--specs"])
                .arg(dir.path());
            aws_env(
                &mut command,
                &proxies.local.url(),
                &proxies.moto.url(),
                &account,
            )
            .env("NC_PROVISION_LOG", "error");
            let checked = peak_rss::run(&mut command, dir.path());
            callcount::check(&checked.output["api_calls"], &proxies.by_service())
        }
        None => Err("no proxy".to_string()),
    };
    let names: Vec<String> = suffixes
        .iter()
        .map(|suffix| format!("nc-dp-stg-{suffix}"))
        .collect();
    let deleted = delete_buckets(endpoint, &account, &names);
    Ok(Measured {
        buckets,
        apply,
        plans,
        check,
        deleted,
    })
}

fn print_row(size: usize, result: &Result<Measured, String>) {
    let measured = match result {
        Ok(measured) => measured,
        Err(error) => {
            println!("{size:>6}  (not run: {error})");
            return;
        }
    };
    let apply = &measured.apply.output;
    let resources = apply["plan"]["changes"].as_array().map_or(0, Vec::len);
    // The calls of the last plan that succeeded (a failed plan prints no JSON).
    let plan = measured
        .plans
        .iter()
        .rev()
        .find(|run| !run.output.is_null())
        .map_or(serde_json::Value::Null, |run| run.output.clone());
    let mut walls: Vec<Duration> = measured.plans.iter().map(|run| run.wall).collect();
    walls.sort();
    let plan_wall = walls.get(walls.len() / 2).copied().unwrap_or_default();
    let plan_peak = measured
        .plans
        .iter()
        .filter_map(|run| run.peak_rss_kib)
        .max();
    let changes = pending_changes(&plan);
    println!(
        "{:>6} {:>9} {:>7} | {:>6} {:>6} {:>6} {:>8.1} {:>6} | {:>6} {:>6} {:>8.2} {:>6} {:>7} {:>6}",
        size,
        resources,
        measured.buckets,
        apply["api_calls"]["total"].to_string(),
        apply["api_calls"]["writes"].to_string(),
        per_resource(&apply["api_calls"]["total"], resources),
        measured.apply.wall.as_secs_f64(),
        super::megabytes(measured.apply.peak_rss_kib),
        plan["api_calls"]["total"].to_string(),
        per_resource(&plan["api_calls"]["total"], resources),
        plan_wall.as_secs_f64(),
        super::megabytes(plan_peak),
        changes,
        if measured.check.is_ok() {
            "agrees"
        } else {
            "NO"
        },
    );
    if let Err(error) = &measured.check {
        println!("        (counting proxy: {error})");
    }
    if apply["result"]["ok"] != true {
        println!(
            "        (apply did not succeed: {} {})",
            apply["result"], measured.apply.stderr_tail
        );
        for step in apply["steps"].as_array().into_iter().flatten() {
            if step["status"] == "failed" {
                println!("        {}: {}", step["id"], step["detail"]);
            }
        }
    }
    let failed: Vec<&Run> = measured
        .plans
        .iter()
        .filter(|run| run.output.is_null())
        .collect();
    if let Some(run) = failed.last() {
        println!(
            "        ({} of {} plans failed; the last said: {})",
            failed.len(),
            measured.plans.len(),
            run.stderr_tail.lines().next().unwrap_or_default()
        );
    }
}

/// Calls per service (the part of `Service.Operation` before the dot) for each size, and what
/// one more resource adds between the smallest and the largest size.
fn by_service(
    measured: &[(usize, Result<Measured, String>)],
    title: &str,
    pick: impl Fn(&Measured) -> Option<&Run>,
) {
    let mut table: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut columns = Vec::new();
    for (size, result) in measured {
        let Some(measured) = result.as_ref().ok() else {
            continue;
        };
        let Some(run) = pick(measured) else {
            continue;
        };
        let resources = measured.apply.output["plan"]["changes"]
            .as_array()
            .map_or(0, Vec::len);
        let column = columns.len();
        columns.push((*size, resources));
        if let Some(operations) = run.output["api_calls"]["by_operation"].as_object() {
            for (operation, count) in operations {
                let service = operation.split('.').next().unwrap_or(operation).to_string();
                let counts = table.entry(service).or_default();
                counts.resize(column + 1, 0);
                counts[column] += count.as_u64().unwrap_or(0);
            }
        }
    }
    if columns.len() < 2 {
        return;
    }
    println!("\n{title} (per added resource = slope from the smallest to the largest size)");
    print!("{:<16}", "service");
    for (size, _) in &columns {
        print!(" {size:>7}");
    }
    println!(" {:>18}", "per added resource");
    let (Some(first), Some(last)) = (columns.first(), columns.last()) else {
        return;
    };
    let added = last.1.saturating_sub(first.1).max(1) as f64;
    for (service, mut counts) in table {
        counts.resize(columns.len(), 0);
        print!("{service:<16}");
        for count in &counts {
            print!(" {count:>7}");
        }
        let slope = (counts[counts.len() - 1] as f64 - counts[0] as f64) / added;
        println!(" {slope:>18.2}");
    }
}

fn per_resource(calls: &serde_json::Value, resources: usize) -> String {
    match calls.as_u64() {
        Some(calls) if resources > 0 => format!("{:.2}", calls as f64 / resources as f64),
        _ => "-".to_string(),
    }
}

/// Deletes the scenario's data buckets (empty: the tool writes no objects into them) with the
/// scenario's credentials; how many went.
fn delete_buckets(endpoint: &str, account: &str, names: &[String]) -> usize {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    use futures::StreamExt;

    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return 0;
    };
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(account, "test", None, None, "bench"))
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    runtime.block_on(async {
        futures::stream::iter(names)
            .map(|name| client.delete_bucket().bucket(name).send())
            .buffer_unordered(8)
            .filter(|result| std::future::ready(result.is_ok()))
            .count()
            .await
    })
}
