//! Command-line arguments (clap). Doc comments here are the `--help` text.

use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Stateless desired-state provisioner for the Neurocipher platform's AWS environments.
///
/// AWS itself is the state: every resource carries ManagedBy=nc-provision, nc:env and nc:id
/// tags. Configuration comes from the standard AWS SDK chain (AWS_PROFILE, AWS_REGION,
/// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, credentials).
#[derive(Debug, Parser)]
#[command(name = "nc-provision", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Directory holding the environment specs (<env>.toml).
    #[arg(long, global = true, default_value = "specs", value_name = "DIR")]
    pub specs: PathBuf,
    /// More output: -v prints the AWS call table, -vv debug logs.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Steps run at once during apply.
    #[arg(long, global = true, default_value_t = crate::exec::DEFAULT_PARALLELISM, value_name = "N")]
    pub parallelism: usize,
    /// Emulator mode (also NC_PROVISION_EMULATOR=1): an API the endpoint does not implement is
    /// skipped and listed as not checked. Without it, such an answer is an error: AWS
    /// implements every API the tool calls.
    #[arg(
        long,
        global = true,
        env = "NC_PROVISION_EMULATOR",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::SetTrue
    )]
    pub emulator: bool,
    /// A spec variable, `--var name=value` (repeatable; wins over NC_PROVISION_VAR_<name>),
    /// e.g. `--var security_account_id=123456789012`.
    #[arg(long = "var", global = true, value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Log format on stderr: text on a terminal and JSON lines otherwise (auto), or as given.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
}

/// Parses `name=value`.
fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!(
            "expected NAME=VALUE, e.g. security_account_id=123456789012; got {text:?}"
        )),
    }
}

impl Cli {
    /// The spec variables given with `--var`.
    #[must_use]
    pub fn variables(&self) -> crate::spec::Variables {
        self.vars.iter().cloned().collect()
    }
}

/// How logs are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Text on a terminal, JSON lines otherwise.
    #[default]
    Auto,
    /// Readable text.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec without calling AWS.
    Validate(EnvArgs),
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Make the account match the spec.
    Apply(ApplyArgs),
    /// Report how the live account differs from the spec (exit 2 when it does).
    Drift(DriftArgs),
    /// Repair drift, once (for cron) or in a loop.
    Reconcile(ReconcileArgs),
    /// Disaster recovery.
    #[command(subcommand)]
    Dr(DrCommand),
    /// Release a stuck apply lease (after a confirmation; --force without a terminal).
    Unlock(UnlockArgs),
    /// Record your approval of a saved plan, as an approver role of the spec's change control
    /// (runs with your own AWS credentials).
    Approve(ApproveArgs),
    /// List the recorded approvals of a saved plan and what is still missing.
    Approvals(ApprovalsArgs),
    /// Print the desired resource graph as Graphviz DOT (no AWS call); with --plan, nodes are
    /// coloured by the plan's actions.
    Graph(GraphArgs),
    /// Validate a deployment and watch the environment's critical and warning alarms for a
    /// duration (exit 0 if no critical alarm entered ALARM, 1 otherwise).
    Watch(WatchArgs),
    /// Print a shell completion script (e.g. `nc-provision completions bash > ~/.local/share/bash-completion/completions/nc-provision`).
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout (e.g. `nc-provision man | man -l -`), or write every
    /// page into a directory with --dir.
    Man(ManArgs),
}

/// `man` arguments.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write nc-provision.1 and one page per subcommand (nc-provision-plan.1, ...) into DIR
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `completions` arguments.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `watch` arguments.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The environment and region.
    #[command(flatten)]
    pub scope: Scope,
    /// How long to watch, e.g. `1h`, `30m`.
    #[arg(long = "for", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub duration: Duration,
    /// Poll the alarms at this fixed interval instead of the adaptive one (5 s at first, up to
    /// 60 s).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub poll_interval: Option<Duration>,
    /// Watch without validating first (no re-plan).
    #[arg(long)]
    pub skip_validation: bool,
    /// Output: progress on a terminal and JSON lines otherwise (default), or as given.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// `graph` arguments.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Environment: dev, stg or prod.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// A saved plan whose actions colour the nodes.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
}

/// `approve` arguments.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The saved plan (`plan --out FILE`).
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    /// The approver role you approve as (from the spec's [change_control.approvers]).
    #[arg(long = "as", value_name = "ROLE")]
    pub role: String,
    /// A comment recorded with the approval.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

/// `approvals` arguments.
#[derive(Debug, Args)]
pub struct ApprovalsArgs {
    /// The saved plan (`plan --out FILE`).
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// `unlock` arguments.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The environment and region.
    #[command(flatten)]
    pub scope: Scope,
    /// Do not ask (needed without a terminal).
    #[arg(long)]
    pub force: bool,
}

/// Disaster-recovery subcommands.
#[derive(Debug, Subcommand)]
pub enum DrCommand {
    /// Rebuild the environment's regional resources in the DR region.
    Rebuild(RebuildArgs),
    /// The quarterly DR drill: plan the DR region, check readiness (standby data,
    /// replication, backups, global IAM) and report; changes nothing unless --rebuild.
    Drill(DrillArgs),
}

/// The environment to work on.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Environment: dev, stg or prod.
    #[arg(long, value_name = "ENV")]
    pub env: String,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Terraform-style text.
    #[default]
    Human,
    /// The stable JSON document described in the README.
    Json,
    /// Markdown for pull-request comments and CI summaries (plan and drift).
    Markdown,
}

/// `plan` arguments.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The environment and region.
    #[command(flatten)]
    pub scope: Scope,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Save the plan for `apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes (0 none, 1 error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan to take over same-named resources that are not ours.
    #[arg(long)]
    pub adopt: bool,
    /// Plan with consent to deletions and replacements (recorded in a saved plan, which then
    /// applies only with --allow-destroy too).
    #[arg(long)]
    pub allow_destroy: bool,
}

/// `apply` arguments.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The environment and region.
    #[command(flatten)]
    pub scope: Scope,
    /// Apply a reviewed plan saved by `plan --out` (required for prod).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Carry out planned deletions and replacements (a replacement deletes the live resource
    /// first). Data-bearing resources are never deleted or replaced, even with this flag.
    #[arg(long)]
    pub allow_destroy: bool,
    /// Take over same-named resources that are not ours (tags them; account singletons
    /// without tags are recorded in the audit table).
    #[arg(long)]
    pub adopt: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Bound on a single wait for a slow resource, e.g. `20m`.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "20m", value_name = "DURATION")]
    pub wait_timeout: Duration,
    /// How long to wait for another apply of the same environment and region to finish.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s", value_name = "DURATION")]
    pub lock_timeout: Duration,
    /// After a successful apply, validate (a re-plan shows no change and nothing not checked)
    /// and watch the environment's critical and warning alarms for DURATION, e.g. `1h`; exit 1
    /// if a critical alarm entered ALARM (see `nc-provision watch`).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub watch: Option<Duration>,
    /// With --watch: poll the alarms at this fixed interval instead of the adaptive one.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION", requires = "watch")]
    pub poll_interval: Option<Duration>,
}

/// `drift` arguments.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The environment and region.
    #[command(flatten)]
    pub scope: Scope,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// `reconcile` arguments.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The environment and region.
    #[command(flatten)]
    pub scope: Scope,
    /// Run once (for cron): exit 0 no drift, 2 drift repaired, 1 error.
    #[arg(
        long,
        conflicts_with = "interval",
        required_unless_present = "interval"
    )]
    pub once: bool,
    /// Run in a loop every DURATION (with jitter), one JSON line per run, until SIGTERM.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub interval: Option<Duration>,
    /// Ignored: reconcile never deletes or replaces anything; such drift is reported (exit 2)
    /// for a reviewed `apply --allow-destroy`.
    #[arg(long)]
    pub allow_destroy: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// The environment a command works on and the region (`--env`, `--region`), shared by the
/// commands that talk to AWS in the spec's primary region by default.
#[derive(Debug, Args)]
pub struct Scope {
    /// Environment: dev, stg or prod.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// Region (default: the spec's primary region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

/// Each command's arguments dereference to their [`Scope`], so that `args.env` and
/// `args.region` read the same whichever command they belong to.
macro_rules! scoped {
    ($($command:ty),+) => {$(
        impl Deref for $command {
            type Target = Scope;

            fn deref(&self) -> &Scope {
                &self.scope
            }
        }
    )+};
}

scoped!(PlanArgs, ApplyArgs, DriftArgs, ReconcileArgs, UnlockArgs);

/// `dr rebuild` arguments.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// Environment: dev, stg or prod.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// Region to rebuild in (default: the spec's DR region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// `dr drill` arguments.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Environment: dev, stg or prod.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// Region to drill in (default: the spec's DR region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Also rebuild the DR region (as `dr rebuild`) and check it afterwards.
    #[arg(long)]
    pub rebuild: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

scoped!(WatchArgs);
