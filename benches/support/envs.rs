//! The table per environment: apply from an empty account, then no-change plans, with AWS calls
//! (checked against the callcount proxies), wall time and peak resident memory, and the calls
//! by service.
//!
//! Per environment, in a fresh account with a private moto:
//! 1. the apply (prod: `plan --out`, then `apply --plan`, as prod's change control wants) and
//!    one no-change plan run through the callcount proxies (`callcount.rs`): their counts are
//!    the table's, and must equal the proxies';
//! 2. then [`PLAN_RUNS`] more no-change plans straight to the emulators, for wall time and
//!    peak memory (the proxy, a Python process on the same cores, would add its own time), and
//!    each must make the same number of calls as the checked one.
//!
//! The apply's wall time therefore includes the proxy hop. With `NC_BENCH_DUMP=<dir>`, each
//! environment's calls by operation (apply and checked plan) are written to
//! `<dir>/<env>-calls.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::callcount::{self, Proxies};
use super::moto::Moto;
use super::peak_rss::{self, Run};
use super::{aws_env, bench_spec, fresh_account, pending_changes, shipped_spec};

/// No-change plans timed per environment (the median is printed).
const PLAN_RUNS: usize = 5;

/// The slowest requests of the checked plan printed per environment.
const SLOWEST: usize = 3;

/// What one environment measured.
pub struct EnvMeasured {
    env: String,
    apply: Run,
    checked_plan: Run,
    plans: Vec<Run>,
    apply_check: Result<u64, String>,
    plan_check: Result<u64, String>,
    /// The slowest requests of the checked no-change plan (where its wall time goes).
    slowest: Vec<(String, f64)>,
}

/// Runs `envs` against LocalStack at `endpoint` (moto at `shared_moto` only when no private
/// moto can be started) and prints the table, the checks and the calls by service.
pub fn table(endpoint: &str, shared_moto: &str, envs: &[String]) {
    println!(
        "{:<5} {:>9} | {:>6} {:>6} {:>7} {:>5} | {:>9} {:>6} {:>8} {:>5} | {:>14}",
        "env",
        "resources",
        "apply",
        "writes",
        "wall s",
        "MB",
        "no-change",
        "writes",
        "s (med)",
        "MB",
        "proxy agrees"
    );
    let mut measured = Vec::new();
    for env in envs {
        match scenario(endpoint, shared_moto, env) {
            Ok(result) => {
                print_row(&result);
                measured.push(result);
            }
            Err(error) => println!("{env:<5} (not run: {error})"),
        }
    }
    println!(
        "apply = AWS calls of apply from an empty account (plan + steps; prod: the saved plan's\n\
         apply); no-change = calls of a plan right after. Calls: every HTTP attempt, from the\n\
         binary's interceptor; \"proxy agrees\" = the callcount proxies in front of LocalStack and\n\
         moto forwarded the same number, service by service (apply / plan). MB = peak resident\n\
         memory (VmHWM); plan s and MB over {PLAN_RUNS} plans without the proxy. Wall times are noisy\n\
         on shared cores; the calls are exact."
    );
    for result in &measured {
        for (what, check) in [("apply", &result.apply_check), ("plan", &result.plan_check)] {
            if let Err(error) = check {
                println!("  {} {what}: counts disagree: {error}", result.env);
            }
        }
    }
    println!("\nSlowest requests of the checked no-change plan (ms to the response head)");
    for result in &measured {
        let slowest = result
            .slowest
            .iter()
            .map(|(call, ms)| format!("{call} {ms:.0}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!("  {:<5} {slowest}", result.env);
    }
    by_service(&measured);
}

fn scenario(endpoint: &str, shared_moto: &str, env: &str) -> Result<EnvMeasured, String> {
    let dir = tempfile::tempdir().map_err(|error| error.to_string())?;
    let tag = format!("b{:06}", fastrand::u32(0..1_000_000));
    copy_specs(dir.path(), &tag).map_err(|error| format!("copying specs: {error}"))?;
    let account = fresh_account('4');
    // Emulator glue (as in the integration tests): moto (CloudTrail, GuardDuty, Backup) is one
    // account per server, so each scenario gets its own (see moto.rs), and its CreateTrail
    // wants the trail bucket in moto's own S3, while the tool creates it on LocalStack.
    let moto = Moto::for_account(&account, shared_moto);
    moto.put_bucket(&format!("nc-dp-{env}-trail-{account}"));
    let proxies = Proxies::start(endpoint, &moto.url);
    let run = |args: &[&str], through_proxy: bool| -> Run {
        let (local, moto_url) = match (&proxies, through_proxy) {
            (Some(proxies), true) => (proxies.local.url(), proxies.moto.url()),
            _ => (endpoint.to_string(), moto.url.clone()),
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_nc-provision"));
        command
            .args(args)
            .args(["--format", "json", "--specs"])
            .arg(dir.path());
        aws_env(&mut command, &local, &moto_url, &account).env("NC_PROVISION_LOG", "error");
        peak_rss::run(&mut command, dir.path())
    };
    let checked = |args: &[&str]| -> (Run, Result<u64, String>, Vec<(String, f64)>) {
        if let Some(proxies) = &proxies {
            proxies.reset();
        }
        let run = run(args, true);
        let (check, slowest) = match &proxies {
            Some(proxies) => (
                callcount::check(&run.output["api_calls"], &proxies.by_service()),
                proxies.slowest(SLOWEST),
            ),
            None => (Err("no proxy".to_string()), Vec::new()),
        };
        (run, check, slowest)
    };
    let apply = if env == "prod" {
        let plan_file = dir.path().join("prod.plan");
        let plan_path = plan_file.to_string_lossy().to_string();
        let _ = run(&["plan", "--env", env, "--out", &plan_path], false);
        checked(&["apply", "--env", env, "--plan", &plan_path])
    } else {
        checked(&["apply", "--env", env, "--auto-approve"])
    };
    let (apply, apply_check, _) = apply;
    let (checked_plan, plan_check, slowest) = checked(&["plan", "--env", env]);
    let plans = (0..PLAN_RUNS)
        .map(|_| run(&["plan", "--env", env], false))
        .collect();
    if let Some(dump) = std::env::var_os("NC_BENCH_DUMP") {
        // The calls by operation, for a closer look than the by-service table.
        let calls = serde_json::json!({
            "apply": apply.output["api_calls"],
            "plan": checked_plan.output["api_calls"],
        });
        let _ = std::fs::write(
            Path::new(&dump).join(format!("{env}-calls.json")),
            calls.to_string(),
        );
    }
    Ok(EnvMeasured {
        env: env.to_string(),
        apply,
        checked_plan,
        plans,
        apply_check,
        plan_check,
        slowest,
    })
}

fn print_row(measured: &EnvMeasured) {
    let apply = &measured.apply.output;
    let plan = &measured.checked_plan.output;
    let resources = apply["plan"]["changes"].as_array().map_or(0, Vec::len);
    let mut walls: Vec<_> = measured.plans.iter().map(|run| run.wall).collect();
    walls.sort();
    let median = walls.get(walls.len() / 2).copied().unwrap_or_default();
    let plan_peak = measured
        .plans
        .iter()
        .filter_map(|run| run.peak_rss_kib)
        .max();
    let agrees = |check: &Result<u64, String>| if check.is_ok() { "yes" } else { "NO" };
    println!(
        "{:<5} {:>9} | {:>6} {:>6} {:>7.2} {:>5} | {:>9} {:>6} {:>8.2} {:>5} | {:>14}",
        measured.env,
        resources,
        apply["api_calls"]["total"].to_string(),
        apply["api_calls"]["writes"].to_string(),
        measured.apply.wall.as_secs_f64(),
        super::megabytes(measured.apply.peak_rss_kib),
        plan["api_calls"]["total"].to_string(),
        plan["api_calls"]["writes"].to_string(),
        median.as_secs_f64(),
        super::megabytes(plan_peak),
        format!(
            "{} / {}",
            agrees(&measured.apply_check),
            agrees(&measured.plan_check)
        ),
    );
    if apply["result"]["ok"] != true {
        println!(
            "      (apply did not succeed: {} {})",
            apply["result"], measured.apply.stderr_tail
        );
    }
    let changes = pending_changes(plan);
    if changes > 0 {
        println!("      (the no-change plan still wants {changes} changes)");
    }
    let other = measured
        .plans
        .iter()
        .filter(|run| run.output["api_calls"]["total"] != plan["api_calls"]["total"])
        .count();
    if other > 0 {
        println!("      ({other} of the timed plans made another number of calls)");
    }
}

/// Calls by service (the part of `Service.Operation` before the dot): apply and no-change plan
/// per environment.
fn by_service(measured: &[EnvMeasured]) {
    if measured.is_empty() {
        return;
    }
    let mut table: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let columns = measured.len() * 2;
    for (index, result) in measured.iter().enumerate() {
        for (offset, run) in [&result.apply, &result.checked_plan]
            .into_iter()
            .enumerate()
        {
            let column = index * 2 + offset;
            if let Some(operations) = run.output["api_calls"]["by_operation"].as_object() {
                for (operation, count) in operations {
                    let service = operation.split('.').next().unwrap_or(operation).to_string();
                    let counts = table.entry(service).or_insert_with(|| vec![0; columns]);
                    counts[column] += count.as_u64().unwrap_or(0);
                }
            }
        }
    }
    println!("\nCalls by service (apply from empty / no-change plan)");
    print!("{:<18}", "service");
    for result in measured {
        print!(" {:>15}", result.env);
    }
    println!();
    for (service, counts) in table {
        print!("{service:<18}");
        for pair in counts.chunks(2) {
            print!(" {:>15}", format!("{} / {}", pair[0], pair[1]));
        }
        println!();
    }
}

/// The shipped specs, made fit for the bench (see [`bench_spec`]), with the data buckets
/// `raw-{tag}` and `norm-{tag}` (bucket names are global).
pub fn copy_specs(target: &Path, tag: &str) -> std::io::Result<()> {
    let buckets = [format!("raw-{tag}"), format!("norm-{tag}")];
    for env in ["dev", "stg", "prod"] {
        let text = bench_spec(&shipped_spec(env)?, &buckets);
        std::fs::write(target.join(format!("{env}.toml")), text)?;
    }
    Ok(())
}
