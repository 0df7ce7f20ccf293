//! Shared test fixtures: an isolated LocalStack account per test, a private copy of the specs,
//! the built binary, and independent SDK clients for reading back what it made.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

/// The LocalStack endpoint (started by `make emulators-start`).
pub fn endpoint() -> String {
    std::env::var("NC_TEST_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".to_string())
}

/// The moto endpoint (CloudTrail, GuardDuty, Security Hub).
pub fn moto_endpoint() -> String {
    std::env::var("NC_TEST_MOTO_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4567".to_string())
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One test's world: its own account (LocalStack isolates accounts by a 12-digit access key)
/// and its own copy of the specs.
pub struct World {
    /// The account id.
    pub account: String,
    /// The specs directory the binary reads.
    pub specs: PathBuf,
    _dir: tempfile::TempDir,
}

impl World {
    /// A fresh account with the repository's specs as they are.
    pub fn new() -> World {
        World::with_bucket_tag(None)
    }

    /// A fresh account whose specs name the data buckets `<suffix>-<tag>`, because S3 bucket
    /// names are global across accounts (on LocalStack as on AWS).
    pub fn with_bucket_tag(tag: Option<&str>) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let specs = dir.path().join("specs");
        std::fs::create_dir_all(&specs).expect("specs dir");
        for env in ["dev", "stg", "prod"] {
            let mut text =
                std::fs::read_to_string(repo().join("specs").join(format!("{env}.toml")))
                    .expect("read spec");
            // No emulator serves IAM Access Analyzer (LocalStack 501, moto 500): its provider
            // is covered by unit tests over a mocked SDK client.
            text = text.replace(
                "service_session_hours = 12",
                "service_session_hours = 12\nenable_access_analyzer = false",
            );
            if let Some(tag) = tag {
                text = text.replace(
                    "buckets = [\"raw\", \"norm\"]",
                    &format!("buckets = [\"raw-{tag}\", \"norm-{tag}\"]"),
                );
            }
            std::fs::write(specs.join(format!("{env}.toml")), text).expect("write spec");
        }
        World {
            account: fresh_account(),
            specs,
            _dir: dir,
        }
    }

    /// Rewrites one spec file with `edit`.
    pub fn edit_spec(&self, env: &str, edit: impl FnOnce(String) -> String) {
        let path = self.specs.join(format!("{env}.toml"));
        let text = std::fs::read_to_string(&path).expect("read spec");
        std::fs::write(&path, edit(text)).expect("write spec");
    }

    /// The binary, pointed at the emulators, this account and these specs.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_in(&self.specs, args)
    }

    /// The binary, reading specs from `specs`.
    pub fn command_in(&self, specs: &std::path::Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_nc-provision"));
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().to_string();
            if name.starts_with("AWS_") {
                command.env_remove(&name);
            }
        }
        command
            .args(args)
            .arg("--specs")
            .arg(specs)
            .env("AWS_ENDPOINT_URL", endpoint())
            .env("AWS_ENDPOINT_URL_CLOUDTRAIL", moto_endpoint())
            .env("AWS_ENDPOINT_URL_GUARDDUTY", moto_endpoint())
            .env("AWS_ENDPOINT_URL_SECURITYHUB", moto_endpoint())
            .env("AWS_ACCESS_KEY_ID", &self.account)
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("NC_PROVISION_NO_RETRY_DELAY", "1");
        command
    }

    /// Runs the binary; returns exit code, stdout and stderr.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("run nc-provision");
        Run::from(output)
    }

    /// Runs the binary with `--format json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value, String) {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--format", "json"]);
        let run = self.run(&all);
        let document = serde_json::from_str(&run.stdout).unwrap_or_else(|error| {
            panic!(
                "stdout is not JSON ({error}); exit {}\nstdout:\n{}\nstderr:\n{}",
                run.code, run.stdout, run.stderr
            )
        });
        (run.code, document, run.stderr)
    }

    /// SDK configuration for reading back, independent of the tool's own providers.
    pub async fn sdk(&self, region: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(endpoint())
            .credentials_provider(Credentials::new(&self.account, "test", None, None, "test"))
            .load()
            .await
    }

    /// A path-style S3 client for this account.
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let sdk = self.sdk("us-east-1").await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        )
    }
}

/// A finished run of the binary.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).to_string(),
        }
    }
}

impl Run {
    /// Panics with the whole output unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A random 12-digit account id (LocalStack keeps accounts apart).
pub fn fresh_account() -> String {
    format!("3{:011}", fastrand::u64(0..100_000_000_000))
}

/// A short random tag for unique global names.
pub fn tag() -> String {
    format!("t{:06}", fastrand::u32(0..1_000_000))
}

/// A TCP listener that counts connections: an endpoint that must never be called.
pub struct Tripwire {
    listener: TcpListener,
}

impl Tripwire {
    /// Binds an ephemeral loopback port.
    pub fn new() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        Tripwire { listener }
    }

    /// The URL to use as an AWS endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.listener.local_addr().expect("addr"))
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        let mut count = 0;
        while self.listener.accept().is_ok() {
            count += 1;
        }
        count
    }
}

/// Finds the change for `id` in a plan JSON document.
pub fn change<'a>(plan: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    plan["changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|change| change["id"] == id))
        .unwrap_or_else(|| panic!("no change for {id} in {plan:#}"))
}

/// The attribute names a change lists.
pub fn changed_attributes(change: &serde_json::Value) -> Vec<String> {
    change["attributes"]
        .as_array()
        .map(|attributes| {
            attributes
                .iter()
                .filter_map(|attribute| attribute["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Resources of the data slice (keys, buckets, table) and the key policies.
pub const DATA_SLICE: usize = 7;

/// Resources the iam-baseline module expands to for `env` (Access Analyzer off in tests):
/// 3 boundaries, 4 service roles, 2 cross-account roles, WeaviateAdminRole, SupportRole,
/// the password policy and account S3 Block Public Access; stg adds DeveloperRole; stg and
/// prod add the GitHub OIDC provider and its deploy role.
pub fn iam_resources(env: &str) -> usize {
    13 + match env {
        "stg" => 3,
        "prod" => 2,
        _ => 0,
    }
}

/// Resources the vpc module expands to for `env`: the VPC, its internet gateway, the
/// endpoints' security group, three network ACLs, seven endpoints, and per zone three subnets
/// and two route tables (plus the public one); a NAT gateway and its address per zone (dev:
/// one zone, one NAT).
pub fn vpc_resources(env: &str) -> usize {
    let zones = if env == "dev" { 1 } else { 2 };
    1 + 1 + 1 + 3 + 7 + zones * 3 + (1 + zones * 2) + zones * 2
}

/// Every resource an environment's spec expands to in the primary region (in tests).
pub fn resource_count(env: &str) -> usize {
    DATA_SLICE + iam_resources(env) + vpc_resources(env)
}
