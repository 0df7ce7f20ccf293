//! The environment spec: `specs/<env>.toml`, loaded and validated before any AWS call.
//!
//! [`load`] reads `{specs_dir}/{env}.toml`; [`parse`] validates text already in memory. Both
//! walk the span-preserving TOML tree by hand so that every problem (syntax, unknown key,
//! wrong type, missing key, invalid value) is reported with its file, line and column, what was
//! found and expected, and a hint. All problems in a file are collected, not just the first.
//!
//! The checks: environment name in {dev, stg, prod} and equal to the file name; regions in the
//! allowed list (us-east-1, ca-central-1), `dr_region` different from `region` and present in
//! prod; CIDR syntax with host bits zero, a VPC prefix of /16 to /19, and `az_count` (1..=6) AZs
//! of three /19 tiers fitting in the VPC; CloudWatch Logs retention values; KMS deletion window
//! 7..=30; required tags (Environment, Project, ManagedBy, Owner, and in prod CostCenter and
//! Compliance), `tags.Environment` equal to the environment, `tags.ManagedBy` equal to
//! `nc-provision`, AWS tag syntax, no `aws:`/`nc:` tag keys; e-mail syntax; 12-digit account
//! ids; `github_org`/`github_repo` present (and free of wildcards) when `enable_github_oidc`;
//! GuardDuty frequency; exactly one of `trail_retention_days`/`trail_retention_years`; session
//! hours 1..=12; `backup_retention_days` 1..=35, required with and forbidden without PITR;
//! bucket suffixes lowercase `[a-z0-9-]` forming valid S3 names `nc-dp-{env}-{suffix}`.

pub mod model;

mod backup;
mod change_control;
mod document;
mod error;
mod observability;
mod provenance;
mod reader;
mod rules;
mod tags;

use std::path::{Path, PathBuf};

pub use error::{Location, SpecError, SpecErrorKind, SpecErrors};
pub use model::*;
pub use provenance::Provenance;

/// Regions the organisation allows (the spec rejects any other).
pub const ALLOWED_REGIONS: [&str; 2] = rules::ALLOWED_REGIONS;

/// Retention values (days) that CloudWatch Logs accepts.
pub const CLOUDWATCH_RETENTION_DAYS: [i64; 22] = rules::CLOUDWATCH_RETENTION_DAYS;

/// The path of an environment's spec: `{specs_dir}/{env}.toml`.
#[must_use]
pub fn spec_path(specs_dir: &Path, env: &str) -> PathBuf {
    specs_dir.join(format!("{env}.toml"))
}

/// Reads and validates `{specs_dir}/{env}.toml`, spec variables from the environment.
///
/// # Errors
/// An unknown environment name, a missing or unreadable file, or every problem in the file.
pub fn load(specs_dir: &Path, env: &str) -> Result<Spec, SpecErrors> {
    load_with(specs_dir, env, &Variables::new())
}

/// [`load`] with explicit variable values (`--var name=value`), which win over the
/// environment's.
///
/// # Errors
/// An unknown environment name, a missing or unreadable file, or every problem in the file.
pub fn load_with(specs_dir: &Path, env: &str, variables: &Variables) -> Result<Spec, SpecErrors> {
    if EnvName::parse(env).is_none() {
        let names = EnvName::ALL.map(EnvName::as_str).join(", ");
        return Err(SpecErrors::single(SpecError::bare(
            SpecErrorKind::UnknownEnvironment,
            format!("unknown environment '{env}': expected one of {names}"),
            Some("environments are only ever called dev, stg, prod".to_string()),
        )));
    }
    let path = spec_path(specs_dir, env);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            let (message, hint) = if e.kind() == std::io::ErrorKind::NotFound {
                (
                    "spec file not found".to_string(),
                    format!(
                        "expected {env}.toml in {}; pass --specs DIR to read specs from another \
                         directory",
                        specs_dir.display()
                    ),
                )
            } else {
                (
                    format!("cannot read spec file: {e}"),
                    "check the file's permissions".to_string(),
                )
            };
            return Err(SpecErrors::single(SpecError::file(
                SpecErrorKind::Io,
                &path,
                message,
                Some(hint),
            )));
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => parse_with(&path, &text, variables),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let mut r = reader::Reader::new(&path, &text);
            r.error(
                SpecErrorKind::Io,
                at..at,
                "invalid byte",
                "the spec file is not valid UTF-8",
                Some("TOML files must be UTF-8 encoded".to_string()),
            );
            Err(SpecErrors::from_vec(r.errors).unwrap_or_else(|| {
                SpecErrors::single(SpecError::file(
                    SpecErrorKind::Io,
                    &path,
                    "the spec file is not valid UTF-8".to_string(),
                    None,
                ))
            }))
        }
    }
}

/// Validates a spec's text. `path` names the file in errors, and its stem must equal
/// `environment.name` (e.g. `specs/stg.toml` holds `name = "stg"`). Spec variables take their
/// values from the environment ([`variables_from_env`]).
///
/// # Errors
/// Every problem in the text, in file order.
pub fn parse(path: &Path, text: &str) -> Result<Spec, SpecErrors> {
    parse_with(path, text, &Variables::new())
}

/// [`parse`] with explicit variable values (`--var name=value`), which win over the
/// environment's.
///
/// # Errors
/// Every problem in the text, in file order; a variable without a value is one, located at
/// the value that names it.
pub fn parse_with(path: &Path, text: &str, variables: &Variables) -> Result<Spec, SpecErrors> {
    let mut values = variables_from_env();
    values.extend(variables.clone());
    document::build(path, text, values)
}

/// Values of spec variables by name.
pub type Variables = std::collections::BTreeMap<String, String>;

/// The prefix of the environment variables that give spec variables their values:
/// `NC_PROVISION_VAR_security_account_id=…` for `${security_account_id}`.
pub const VARIABLE_ENV_PREFIX: &str = "NC_PROVISION_VAR_";

/// A string value that is exactly `${name}` names the spec variable `name` (letters, digits,
/// `_`). Account ids are variables in the shipped specs: real ids have no place in the
/// repository, and fake ones would go into trust and key policies (IAM rejects an unknown
/// principal).
#[must_use]
pub fn variable_name(value: &str) -> Option<&str> {
    let name = value.strip_prefix("${")?.strip_suffix('}')?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

/// The spec variables the environment sets (`NC_PROVISION_VAR_<name>`).
///
/// The library's own unit tests see the emulator environment's test values for the account
/// ids when the environment sets none, so that they load the shipped specs.
#[must_use]
pub fn variables_from_env() -> Variables {
    #[cfg(test)]
    let mut variables: Variables = [
        ("security_account_id", "111111111111"),
        ("logs_account_id", "222222222222"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect();
    #[cfg(not(test))]
    let mut variables = Variables::new();
    for (key, value) in std::env::vars() {
        if let Some(name) = key.strip_prefix(VARIABLE_ENV_PREFIX) {
            variables.insert(name.to_string(), value);
        }
    }
    variables
}

/// `sha256:<hex>` of a spec file's bytes (the digest [`Spec::digest`] holds).
#[must_use]
pub fn digest(bytes: &[u8]) -> String {
    document::digest(bytes)
}

#[cfg(test)]
mod tests;
