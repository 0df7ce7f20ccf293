//! Builds a [`Spec`] from a spec file's text, collecting every error in the file.

use std::path::Path;

use sha2::{Digest, Sha256};
use toml::de::DeTable;

use super::error::{SpecErrorKind, SpecErrors};
use super::model::{DataSpec, EnvName, Environment, IamSpec, KmsSpec, Spec, TableSpec, VpcSpec};
use super::reader::{At, Reader, Table};
use super::rules::{self, Problem};

/// Top-level tables.
const TOP: [&str; 8] = [
    "environment",
    "tags",
    "vpc",
    "iam",
    "kms",
    "data",
    "observability",
    "change_control",
];

/// `sha256:<hex>` of `bytes`.
pub(super) fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Parses and validates a spec file's text; `path` names it in errors and its stem must be the
/// environment's name.
pub(super) fn build(
    path: &Path,
    text: &str,
    variables: super::Variables,
) -> Result<Spec, SpecErrors> {
    let mut r = Reader::with_variables(path, text, variables);
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        r.syntax(syntax);
        return Err(fail(r));
    }
    let root = r.root(&doc);
    r.unknown_keys(&root, &TOP);

    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let stem_env = EnvName::parse(&stem);

    let environment = r
        .table(&root, "environment", true)
        .and_then(|t| environment(&mut r, &t, &stem, stem_env));
    // The environment the file is for: its name, else what the spec says (for `parse` on a
    // file whose name is not an environment); drives the per-environment checks.
    let env = stem_env.or(environment.as_ref().map(|e| e.name));
    let tags = r
        .table(&root, "tags", true)
        .map(|t| super::tags::read(&mut r, &t, env));
    let vpc = r.table(&root, "vpc", true).and_then(|t| vpc(&mut r, &t));
    let iam = r.table(&root, "iam", true).and_then(|t| iam(&mut r, &t));
    let kms = r.table(&root, "kms", true).and_then(|t| kms(&mut r, &t));
    let dr_region_set = environment.as_ref().is_some_and(|e| e.dr_region.is_some());
    let data = r
        .table(&root, "data", true)
        .and_then(|t| data(&mut r, &t, env, dr_region_set));
    let observability = r
        .table(&root, "observability", true)
        .and_then(|t| super::observability::read(&mut r, &t));
    let change_control_present = root.has("change_control");
    let change_control = r
        .table(&root, "change_control", false)
        .and_then(|t| super::change_control::read(&mut r, &t));
    if change_control_present && change_control.is_none() && r.errors.is_empty() {
        r.error(
            SpecErrorKind::InvalidValue,
            root.key_span("change_control").unwrap_or(0..0),
            "invalid",
            "invalid [change_control]",
            None,
        );
    }

    if !r.errors.is_empty() {
        return Err(fail(r));
    }
    let (
        Some(environment),
        Some(tags),
        Some(vpc),
        Some(iam),
        Some(kms),
        Some(data),
        Some(observability),
    ) = (environment, tags, vpc, iam, kms, data, observability)
    else {
        // Every `None` above comes with a recorded error; this is a safety net.
        r.error(SpecErrorKind::InvalidValue, 0..0, "", "invalid spec", None);
        return Err(fail(r));
    };
    Ok(Spec {
        path: path.to_path_buf(),
        digest: digest(text.as_bytes()),
        environment,
        tags,
        vpc,
        iam,
        kms,
        data,
        observability,
        change_control,
        provenance: std::mem::take(&mut r.provenance),
    })
}

fn fail(r: Reader) -> SpecErrors {
    match SpecErrors::from_vec(r.errors) {
        Some(errors) => errors,
        None => SpecErrors::single(super::error::SpecError::bare(
            SpecErrorKind::InvalidValue,
            "invalid spec".to_string(),
            None,
        )),
    }
}

fn environment(
    r: &mut Reader,
    t: &Table<'_, '_>,
    stem: &str,
    stem_env: Option<EnvName>,
) -> Option<Environment> {
    r.unknown_keys(t, &["name", "region", "dr_region", "account_id"]);
    let name = r.string(t, "name", true);
    let region = r.string(t, "region", true);
    let dr_region = r.string(t, "dr_region", false);
    let account_id = r.string(t, "account_id", false);

    let name = name.and_then(|n| {
        let env = r.check(&n, |s| rules::env_name(s))?;
        if env.as_str() != stem {
            r.problem(
                n.span.clone(),
                Problem::new(
                    format!(
                        "environment.name {:?} does not match the file name {stem}.toml",
                        n.value
                    ),
                    Some(format!(
                        "the spec for {env} is {env}.toml and `--env` picks the file by name; \
                         set name = \"{stem}\" or rename the file"
                    )),
                ),
            );
            return None;
        }
        Some(env)
    });
    let env = stem_env.or(name);

    let region_ok = region
        .as_ref()
        .and_then(|reg| r.check(reg, |s| rules::region(s)));
    if let Some(dr) = &dr_region
        && r.check(dr, |s| rules::region(s)).is_some()
        && let Some(reg) = &region
        && region_ok.is_some()
        && dr.value == reg.value
    {
        r.problem(
            dr.span.clone(),
            Problem::new(
                format!(
                    "dr_region {:?} is the same as region: the DR region must be a different \
                     region",
                    dr.value
                ),
                Some("the DR region is ca-central-1 when the primary is us-east-1".to_string()),
            ),
        );
    }
    if dr_region.is_none() && env == Some(EnvName::Prod) {
        r.error(
            SpecErrorKind::MissingKey,
            t.span.clone(),
            "dr_region is missing here",
            "missing required key \"environment.dr_region\" (string) in [environment]: prod has \
             a disaster-recovery region",
            Some("add `dr_region = \"ca-central-1\"` (DR-001: warm standby, 4 h RTO)".to_string()),
        );
    }
    if let Some(id) = &account_id {
        r.check(id, |s| rules::account_id(s));
    }
    Some(Environment {
        name: name?,
        region: region_ok.and(region)?.value,
        dr_region: dr_region.map(|d| d.value),
        account_id: account_id.map(|a| a.value),
    })
}

fn vpc(r: &mut Reader, t: &Table<'_, '_>) -> Option<VpcSpec> {
    r.unknown_keys(
        t,
        &[
            "cidr",
            "az_count",
            "enable_nat_gateway",
            "single_nat_gateway",
            "enable_vpc_endpoints",
            "enable_flow_logs",
            "flow_logs_retention_days",
        ],
    );
    let cidr = r
        .string(t, "cidr", true)
        .and_then(|c| {
            let net = r.check(&c, |s| rules::cidr(s))?;
            Some(At {
                value: net,
                span: c.span,
            })
        })
        .and_then(|c| {
            r.check(&c, |&n| rules::vpc_prefix(n))?;
            Some(c)
        });
    let hint = "REFERENCE: dev 1, stg and prod 2 (a /16 holds two AZs of three /19 tiers)";
    let az_count = r.int_in::<u8>(t, "az_count", true, (1, 6), hint);
    let az_count = match (&cidr, az_count) {
        (Some(c), Some(az)) => {
            let net = c.value;
            r.check(&az, |&n| rules::subnet_fit(net, n)).map(|()| az)
        }
        (_, az) => az,
    };
    let enable_nat_gateway = r.boolean(t, "enable_nat_gateway", true);
    let single_nat_gateway = r.boolean(t, "single_nat_gateway", true);
    let enable_vpc_endpoints = r.boolean(t, "enable_vpc_endpoints", true);
    let enable_flow_logs = r.boolean(t, "enable_flow_logs", true);
    let flow = retention(r, t, "flow_logs_retention_days");
    Some(VpcSpec {
        cidr: cidr?.value,
        az_count: az_count?.value,
        enable_nat_gateway: enable_nat_gateway?.value,
        single_nat_gateway: single_nat_gateway?.value,
        enable_vpc_endpoints: enable_vpc_endpoints?.value,
        enable_flow_logs: enable_flow_logs?.value,
        flow_logs_retention_days: flow?,
    })
}

/// A required CloudWatch Logs retention value.
pub(super) fn retention(r: &mut Reader, t: &Table<'_, '_>, key: &str) -> Option<i32> {
    let v = r.integer(t, key, true)?;
    r.check(&v, |&n| rules::retention_days(key, n))?;
    i32::try_from(v.value).ok()
}

/// Whether the optional flag `key` is true while `environment.dr_region` is not set
/// (`dr_region_set`): a located problem, as what it turns on lives in the DR region.
pub(super) fn lacks_dr_region(
    r: &mut Reader,
    flag: Option<&At<bool>>,
    key: &str,
    dr_region_set: bool,
) -> bool {
    let Some(flag) = flag.filter(|flag| flag.value && !dr_region_set) else {
        return false;
    };
    r.problem(
        flag.span.clone(),
        Problem::new(
            format!("{key} = true needs a DR region"),
            Some("set environment.dr_region, or remove this key".to_string()),
        ),
    );
    true
}

fn iam(r: &mut Reader, t: &Table<'_, '_>) -> Option<IamSpec> {
    r.unknown_keys(
        t,
        &[
            "security_account_id",
            "logs_account_id",
            "enable_github_oidc",
            "github_org",
            "github_repo",
            "human_session_hours",
            "human_mfa_required",
            "service_session_hours",
            "enable_access_analyzer",
        ],
    );
    let account = |r: &mut Reader, key: &str| {
        let v = r.string(t, key, true)?;
        r.check(&v, |s| rules::account_id(s))?;
        Some(v.value)
    };
    let security_account_id = account(r, "security_account_id");
    let logs_account_id = account(r, "logs_account_id");
    let enable_github_oidc = r.boolean(t, "enable_github_oidc", true);
    let github = |r: &mut Reader, key: &str, repo: bool| {
        let v = r.string(t, key, false);
        let checked = v
            .as_ref()
            .and_then(|v| r.check(v, |s| rules::github_name(s, repo)));
        (v.is_some(), checked.and(v).map(|v| v.value))
    };
    let (org_present, github_org) = github(r, "github_org", false);
    let (repo_present, github_repo) = github(r, "github_repo", true);
    if let Some(oidc) = &enable_github_oidc
        && oidc.value
    {
        let span = t
            .key_span("enable_github_oidc")
            .unwrap_or(oidc.span.clone());
        for (present, key) in [(org_present, "github_org"), (repo_present, "github_repo")] {
            if !present {
                r.error(
                    SpecErrorKind::MissingKey,
                    span.clone(),
                    format!("{key} is required by this"),
                    format!(
                        "missing key \"iam.{key}\" (string): required when enable_github_oidc = \
                         true"
                    ),
                    Some(
                        "the deploy role trusts only repo:{github_org}/{github_repo}:*; add \
                         github_org = \"neurocipher-io\" and github_repo = \
                         \"neurocipher-platform\", or set enable_github_oidc = false"
                            .to_string(),
                    ),
                );
            }
        }
    }
    let hours = "IAM allows sessions of 1 to 12 hours";
    let human_session_hours = r.int_in::<u8>(t, "human_session_hours", true, (1, 12), hours);
    let human_mfa_required = r.boolean(t, "human_mfa_required", true);
    let service_session_hours = r.int_in::<u8>(t, "service_session_hours", true, (1, 12), hours);
    let enable_access_analyzer = r
        .boolean(t, "enable_access_analyzer", false)
        .is_none_or(|flag| flag.value);
    let oidc = enable_github_oidc?.value;
    if oidc && (github_org.is_none() || github_repo.is_none()) {
        return None;
    }
    if (org_present && github_org.is_none()) || (repo_present && github_repo.is_none()) {
        return None;
    }
    Some(IamSpec {
        security_account_id: security_account_id?,
        logs_account_id: logs_account_id?,
        enable_github_oidc: oidc,
        github_org,
        github_repo,
        human_session_hours: human_session_hours?.value,
        human_mfa_required: human_mfa_required?.value,
        service_session_hours: service_session_hours?.value,
        enable_access_analyzer,
    })
}

fn kms(r: &mut Reader, t: &Table<'_, '_>) -> Option<KmsSpec> {
    r.unknown_keys(t, &["enable_key_rotation", "deletion_window_days"]);
    let enable_key_rotation = r.boolean(t, "enable_key_rotation", true);
    let hint =
        "AWS KMS schedules key deletion 7 to 30 days out (REFERENCE: dev 7, stg and prod 30)";
    let deletion_window_days = r.int_in::<i32>(t, "deletion_window_days", true, (7, 30), hint);
    Some(KmsSpec {
        enable_key_rotation: enable_key_rotation?.value,
        deletion_window_days: deletion_window_days?.value,
    })
}

fn data(
    r: &mut Reader,
    t: &Table<'_, '_>,
    env: Option<EnvName>,
    dr_region_set: bool,
) -> Option<DataSpec> {
    r.unknown_keys(
        t,
        &[
            "buckets",
            "documents_table",
            "replicate_to_dr_region",
            "backup",
        ],
    );
    let replicate = r.boolean(t, "replicate_to_dr_region", false);
    lacks_dr_region(
        r,
        replicate.as_ref(),
        "replicate_to_dr_region",
        dr_region_set,
    );
    let buckets = r.string_array(t, "buckets", true).and_then(|list| {
        let mut ok = true;
        for b in &list.value {
            if let Some(env) = env
                && r.check(b, |s| rules::bucket_suffix(env.as_str(), s))
                    .is_none()
            {
                ok = false;
            }
        }
        let distinct = r.distinct(
            &list.value,
            |b| format!("duplicate bucket suffix {b:?} in data.buckets"),
            "list each bucket once",
        );
        (ok && distinct).then(|| list.value.into_iter().map(|b| b.value).collect::<Vec<_>>())
    });
    let table = r
        .table(t, "documents_table", true)
        .and_then(|t| documents_table(r, &t));
    let backup_present = t.has("backup");
    let backup = r
        .table(t, "backup", false)
        .and_then(|t| super::backup::read(r, &t, dr_region_set));
    if backup_present && backup.is_none() {
        return None;
    }
    Some(DataSpec {
        buckets: buckets?,
        documents_table: table?,
        replicate_to_dr_region: replicate.is_some_and(|flag| flag.value),
        backup,
    })
}

fn documents_table(r: &mut Reader, t: &Table<'_, '_>) -> Option<TableSpec> {
    r.unknown_keys(
        t,
        &[
            "point_in_time_recovery",
            "backup_retention_days",
            "deletion_protection",
        ],
    );
    let pitr = r.boolean(t, "point_in_time_recovery", true);
    let hint = "DynamoDB point-in-time recovery keeps 1 to 35 days";
    let backup = r.int_in::<i32>(t, "backup_retention_days", false, (1, 35), hint);
    let deletion_protection = r.boolean(t, "deletion_protection", true);
    let pitr = pitr?.value;
    let backup_present = t.has("backup_retention_days");
    if pitr && !backup_present {
        r.error(
            SpecErrorKind::MissingKey,
            t.span.clone(),
            "backup_retention_days is missing here",
            "missing key \"data.documents_table.backup_retention_days\" (integer): required when \
             point_in_time_recovery = true",
            Some("add `backup_retention_days = <1..=35>` (REFERENCE: stg 7, prod 30)".to_string()),
        );
        return None;
    }
    if !pitr && let Some(b) = &backup {
        r.problem(
            b.span.clone(),
            Problem::new(
                "backup_retention_days is set but point_in_time_recovery is false",
                Some(
                    "the retention is PITR's recovery period: remove it or set \
                     point_in_time_recovery = true"
                        .to_string(),
                ),
            ),
        );
        return None;
    }
    if backup_present && backup.is_none() {
        return None;
    }
    Some(TableSpec {
        point_in_time_recovery: pitr,
        backup_retention_days: backup.map(|b| b.value),
        deletion_protection: deletion_protection?.value,
    })
}
