//! What the bench's scenarios share: the emulator environment a child process gets, the bench
//! copy of a shipped spec, a private moto per scenario, a child run with its peak memory, and
//! the scale series.

pub mod callcount;
pub mod envs;
pub mod moto;
pub mod peak_rss;
pub mod scale;

use std::path::Path;
use std::process::Command;

/// The values the bench gives the shipped specs' variables (as `localstack/env.sh` does).
pub const SPEC_VARIABLES: [(&str, &str); 2] = [
    ("security_account_id", "111111111111"),
    ("logs_account_id", "222222222222"),
];

/// Points `command` (the binary, or this bench as an in-process child) at the local AWS:
/// LocalStack at `endpoint`, the services LocalStack lacks at `moto`, the account `account`
/// (LocalStack takes a 12-digit access key id as the account), no profile, emulator mode, no
/// back-off sleeps between retries.
pub fn aws_env<'a>(
    command: &'a mut Command,
    endpoint: &str,
    moto: &str,
    account: &str,
) -> &'a mut Command {
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ENDPOINT_URL_CLOUDTRAIL", moto)
        .env("AWS_ENDPOINT_URL_GUARDDUTY", moto)
        .env("AWS_ENDPOINT_URL_SECURITYHUB", moto)
        .env("AWS_ENDPOINT_URL_BACKUP", moto)
        .env("AWS_ACCESS_KEY_ID", account)
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NC_PROVISION_EMULATOR", "1")
        // As in the integration tests: no back-off sleep between retry attempts. An operation
        // an emulator lacks (moto answers ListBackupSelections with an HTML 500 page) is retried
        // to the SDK's attempt limit; every attempt is still counted, but the sleeps between
        // them (10 s and more per plan) would measure the back-off, not the tool.
        .env("NC_PROVISION_NO_RETRY_DELAY", "1");
    for (name, value) in SPEC_VARIABLES {
        command.env(format!("NC_PROVISION_VAR_{name}"), value);
    }
    command
}

/// A fresh random 12-digit account id starting with `first` (one per scenario).
pub fn fresh_account(first: char) -> String {
    format!("{first}{:011}", fastrand::u64(0..100_000_000_000))
}

/// A shipped spec made fit for the bench: the `[data] buckets` line replaced by `buckets`
/// (bucket names are global, so each scenario brings its own), and what no emulator serves or
/// the bench does not measure switched off.
pub fn bench_spec(text: &str, buckets: &[String]) -> String {
    let list = buckets
        .iter()
        .map(|bucket| format!("{bucket:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = text
        .lines()
        .map(|line| {
            if line.starts_with("buckets = ") {
                format!("buckets = [{list}]")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    // No emulator serves IAM Access Analyzer.
    let text = text.replace(
        "service_session_hours = 12",
        "service_session_hours = 12\nenable_access_analyzer = false",
    );
    // moto has no Security Hub standards API (the integration tests' glue, too).
    let mut text = text.replace("enable_security_hub = true", "enable_security_hub = false");
    // Approvals are not what is measured: the bench applies prod's saved plan without them.
    if let Some(start) = text.find("\n[change_control]") {
        text.truncate(start + 1);
    }
    text
}

/// The text of the shipped spec `specs/{env}.toml`.
pub fn shipped_spec(env: &str) -> std::io::Result<String> {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("specs")
            .join(format!("{env}.toml")),
    )
}

/// Peak memory in KiB as whole megabytes (`-` when unknown).
pub fn megabytes(kib: Option<u64>) -> String {
    kib.map_or("-".to_string(), |kib| format!("{:.0}", kib as f64 / 1024.0))
}

/// How many changes a plan's JSON still wants to make (every action but no-op, retain and
/// skip): 0 for a no-change plan.
pub fn pending_changes(plan: &serde_json::Value) -> usize {
    plan["changes"].as_array().map_or(0, |changes| {
        changes
            .iter()
            .filter(|change| {
                matches!(
                    change["action"].as_str(),
                    Some("create" | "update" | "replace" | "delete" | "adopt" | "conflict")
                )
            })
            .count()
    })
}
