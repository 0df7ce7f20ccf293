//! The command line: arguments, settings, commands and the one [`printer`] (human / JSON)
//! for plans, reports, reconcile lines and DR summaries. The apply workflow itself is the
//! engine's ([`crate::engine::apply`]). The only place that prints results and the only place
//! that decides exit codes.

mod approve;
pub mod args;
mod commands;
mod dr;
mod evidence;
pub mod generated;
mod output;
mod printer;
mod setup_errors;
mod watch;

use std::io::IsTerminal;
use std::process::ExitCode;

pub use args::Cli;

/// How the process ends (Terraform's convention, which users know).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success, no changes pending.
    Success,
    /// 1: error (bad spec, AWS error, failed step, refusal).
    Error,
    /// 2: changes pending or drift found (or repaired, for `reconcile --once`).
    Changes,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Error => ExitCode::from(1),
            ExitStatus::Changes => ExitCode::from(2),
        }
    }
}

/// Runs the parsed command line and returns the exit status; errors are printed here, once.
pub async fn run(cli: Cli) -> ExitStatus {
    init_tracing(&cli);
    match commands::dispatch(&cli).await {
        Ok(status) => status,
        Err(error) => {
            match setup_errors::explain(&error) {
                Some(line) if cli.verbose == 0 => {
                    eprintln!("error: {line}");
                    eprintln!("  (run with -v for the AWS SDK's full error)");
                }
                Some(line) => {
                    eprintln!("error: {line}");
                    output::error(&error);
                }
                None => output::error(&error),
            }
            ExitStatus::Error
        }
    }
}

fn init_tracing(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let terminal = std::io::stderr().is_terminal();
    // The SDK's own warnings (credential chain probing, IMDS) are noise to a person unless
    // asked for with -v: the error says what is wrong.
    let default = match (cli.quiet, cli.verbose, terminal) {
        (true, _, _) => "error",
        (false, 0, true) => "warn,aws_config=error,aws_smithy_runtime=error",
        (false, 0, false) => "warn,nc_provision=info,aws_config=error,aws_smithy_runtime=error",
        (false, 1, _) => "warn,nc_provision=info",
        (false, _, _) => "info,nc_provision=debug",
    };
    let filter =
        EnvFilter::try_from_env("NC_PROVISION_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Structured JSON lines when asked, or when nobody watches a terminal; readable text
    // otherwise.
    let json = match cli.log_format {
        args::LogFormat::Auto => !terminal,
        args::LogFormat::Text => false,
        args::LogFormat::Json => true,
    };
    let _ = if !json {
        builder.with_target(false).try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}
