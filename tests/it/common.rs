//! Shared test fixtures: an isolated LocalStack account per test, a private copy of the specs,
//! the built binary, and independent SDK clients for reading back what it made.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

/// The LocalStack endpoint (started by `make emulators-start`).
pub fn endpoint() -> String {
    std::env::var("NC_TEST_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".to_string())
}

/// The moto endpoint (CloudTrail, GuardDuty, Security Hub, Backup).
pub fn moto_endpoint() -> String {
    std::env::var("NC_TEST_MOTO_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4567".to_string())
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's spec of `env` as the test worlds use it: Access Analyzer and Security Hub
/// off (no emulator serves them), and the data buckets named `<suffix>-<tag>` when a tag is
/// given (S3 bucket names are global across accounts, on LocalStack as on AWS).
pub fn world_spec_text(env: &str, tag: Option<&str>) -> String {
    let mut text = std::fs::read_to_string(repo().join("specs").join(format!("{env}.toml")))
        .expect("read spec");
    // No emulator serves IAM Access Analyzer (LocalStack 501, moto 500): its provider is
    // covered by unit tests over a mocked SDK client.
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
    // The worlds apply saved plans without recorded approvals: change control (the last table
    // of the shipped specs) is exercised by tests/it/change_control.rs, which keeps it.
    if let Some(start) = text.find("\n[change_control]") {
        text.truncate(start + 1);
    }
    // Emulator glue: moto serves Backup vaults and plans but not selections, so a world with
    // backups would list its selection as not checked in every plan; the worlds run without
    // `[data.backup]` and tests/it/backup.rs puts it back (`with_backups`).
    text = without_table(&text, "data.backup");
    // Emulator glue: moto has no Security Hub standards API (BatchEnableStandards and
    // GetEnabledStandards answer 404), so the worlds run without Security Hub; its code is
    // covered by mocked-client tests (providers/securityhub.rs).
    text.replace("enable_security_hub = true", "enable_security_hub = false")
}

/// `text` without the TOML table `[name]` (its header up to the next table), if it has one.
pub fn without_table(text: &str, name: &str) -> String {
    let header = format!("\n[{name}]\n");
    let Some(start) = text.find(&header) else {
        return text.to_string();
    };
    let rest = &text[start + header.len()..];
    let end = rest
        .find("\n[")
        .map_or(text.len(), |offset| start + header.len() + offset);
    format!("{}{}", &text[..start], &text[end..])
}

/// One test's world: its own account (LocalStack isolates accounts by a 12-digit access key)
/// and its own copy of the specs.
pub struct World {
    /// The account id.
    pub account: String,
    /// The specs directory the binary reads.
    pub specs: PathBuf,
    /// This world's own moto server (CloudTrail, GuardDuty, Security Hub), when it could start.
    pub moto: Option<Moto>,
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
            let text = world_spec_text(env, tag);
            std::fs::write(specs.join(format!("{env}.toml")), text).expect("write spec");
        }
        let account = fresh_account();
        let moto = Moto::start(&account);
        if let Some(moto) = &moto {
            // Emulator glue: moto's CreateTrail checks that the trail bucket exists in moto's
            // own S3, while the tool creates it on LocalStack. The trail buckets of every
            // environment of this account, in the primary and the DR region (regional suffix),
            // are created in moto's S3 too.
            for env in ["dev", "stg", "prod"] {
                moto.put_bucket(&trail_bucket(env, &account));
                moto.put_bucket(&format!("{}-cac1", trail_bucket(env, &account)));
            }
        }
        World {
            account,
            specs,
            moto,
            _dir: dir,
        }
    }

    /// The moto endpoint this world uses (its own server, or the shared one).
    pub fn moto_url(&self) -> String {
        self.moto
            .as_ref()
            .map_or_else(moto_endpoint, |moto| moto.url.clone())
    }

    /// SDK configuration for the moto-served services (CloudTrail, GuardDuty, Security Hub).
    pub async fn moto_sdk(&self, region: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(self.moto_url())
            .credentials_provider(Credentials::new(&self.account, "test", None, None, "test"))
            .load()
            .await
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
            .env("AWS_ENDPOINT_URL_CLOUDTRAIL", self.moto_url())
            .env("AWS_ENDPOINT_URL_GUARDDUTY", self.moto_url())
            .env("AWS_ENDPOINT_URL_SECURITYHUB", self.moto_url())
            .env("AWS_ENDPOINT_URL_BACKUP", self.moto_url())
            .env("AWS_ACCESS_KEY_ID", &self.account)
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("NC_PROVISION_NO_RETRY_DELAY", "1")
            .env("NC_PROVISION_EMULATOR", "1")
            // The emulator environment's values of the shipped specs' account variables.
            .env("NC_PROVISION_VAR_security_account_id", "111111111111")
            .env("NC_PROVISION_VAR_logs_account_id", "222222222222");
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

    /// Applies `env` the reviewed way: `plan --out` into a temporary file, then
    /// `apply --plan` of that file; each must exit 0.
    pub fn apply_saved(&self, env: &str) {
        let dir = tempfile::tempdir().expect("tempdir");
        let saved = dir.path().join(format!("{env}.plan"));
        let saved = saved.to_str().expect("utf-8");
        self.run(&["plan", "--env", env, "--out", saved])
            .expect_code(0);
        self.run(&["apply", "--env", env, "--plan", saved])
            .expect_code(0);
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

/// Every resource an environment's spec (as the test worlds write it) expands to in the
/// primary region, two zones (one in dev): the library expands it in-process, so the count
/// follows every module.
pub fn resource_count(env: &str) -> usize {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(format!("{env}.toml")),
        world_spec_text(env, None),
    )
    .expect("write spec");
    let spec =
        nc_provision::spec::load_with(dir.path(), env, &spec_variables()).expect("valid spec");
    let zones = ["us-east-1a", "us-east-1b"]
        .into_iter()
        .take(usize::from(spec.vpc.az_count))
        .map(str::to_string)
        .collect();
    let target = nc_provision::plan::Target {
        env: env.to_string(),
        region: "us-east-1".to_string(),
        account_id: "000000000000".to_string(),
        primary_region: true,
        availability_zones: zones,
    };
    nc_provision::modules::expand(&spec, &target)
        .expect("graph")
        .len()
}

/// How many changes of a plan (or of an apply report's plan) have `action` and an id starting
/// with one of `prefixes`: tests of one slice count only their own resources.
pub fn count_actions(document: &serde_json::Value, action: &str, prefixes: &[&str]) -> usize {
    let changes = document["changes"]
        .as_array()
        .or_else(|| document["plan"]["changes"].as_array());
    changes
        .map(|changes| {
            changes
                .iter()
                .filter(|change| change["action"] == action)
                .filter(|change| {
                    let id = change["id"].as_str().unwrap_or_default();
                    prefixes.iter().any(|prefix| id.starts_with(prefix))
                })
                .count()
        })
        .unwrap_or_default()
}

/// The trail bucket of `env` in `account` (the observability module's naming rule).
pub fn trail_bucket(env: &str, account: &str) -> String {
    format!("nc-dp-{env}-trail-{account}")
}

/// A moto server of one test world. moto ignores the access key (every request is account
/// 123456789012), so worlds sharing one server would share the region's one GuardDuty detector
/// and the trails: each world gets its own, stopped when the world is dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    port: u16,
}

impl Moto {
    /// Starts moto on a free port, answering as `account` (so that ARNs match the LocalStack
    /// account of the world), with the binary from `NC_TEST_MOTO_SERVER` or the one
    /// `localstack/install.sh` installs; `None` when there is none (the shared moto is used).
    pub fn start(account: &str) -> Option<Moto> {
        let binary = std::env::var_os("NC_TEST_MOTO_SERVER")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| {
                    PathBuf::from(home)
                        .join(".cache/nc-provision/emulators/venv-moto/bin/moto_server")
                })
            })
            .filter(|path| path.exists())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        let mut command = Command::new(binary);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(&name);
            }
        }
        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ACCOUNT_ID", account)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !moto
            .request("GET", "/moto-api/config")
            .is_some_and(|status| (200..300).contains(&status))
        {
            assert!(
                Instant::now() < deadline,
                "moto did not start on {}",
                moto.url
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// Creates a bucket in moto's S3 (unsigned path-style PUT; moto does not check signatures).
    pub fn put_bucket(&self, bucket: &str) {
        let status = self.request("PUT", &format!("/{bucket}"));
        assert!(
            status.is_some_and(|status| (200..300).contains(&status)),
            "create {bucket} in moto's S3: {status:?}"
        );
    }

    fn request(&self, method: &str, path: &str) -> Option<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The values the test worlds give the shipped specs' variables (as `localstack/env.sh` does).
pub fn spec_variables() -> nc_provision::spec::Variables {
    nc_provision::spec::Variables::from(
        [
            ("security_account_id", "111111111111"),
            ("logs_account_id", "222222222222"),
        ]
        .map(|(name, value)| (name.to_string(), value.to_string())),
    )
}
