//! Tests of loading and validating whole spec files.

use super::*;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_ok(env: &str) -> Spec {
    match load(&manifest_dir().join("specs"), env) {
        Ok(spec) => spec,
        Err(e) => panic!("specs/{env}.toml must load cleanly:\n{e}"),
    }
}

fn stg_text() -> String {
    match std::fs::read_to_string(manifest_dir().join("specs/stg.toml")) {
        Ok(t) => t,
        Err(e) => panic!("read specs/stg.toml: {e}"),
    }
}

fn errors_of(path: &str, text: &str) -> Vec<SpecError> {
    match parse(Path::new(path), text) {
        Ok(_) => Vec::new(),
        Err(e) => e.errors().to_vec(),
    }
}

/// An edit of the shipped stg.toml (`from` replaced once by `to`) and the located errors it
/// must give, in order, each containing its `want` text.
pub(super) struct StgEdit {
    /// Names the case in every failure.
    pub reason: &'static str,
    /// Text of stg.toml to replace (the case fails when stg.toml lacks it).
    pub from: &'static str,
    /// Its replacement.
    pub to: &'static str,
    /// A text each error must contain, one per error.
    pub want: &'static [&'static str],
}

impl StgEdit {
    /// stg.toml with the edit made.
    pub(super) fn edited(&self) -> String {
        let text = stg_text();
        assert!(
            text.contains(self.from),
            "{}: stg.toml lacks {:?}",
            self.reason,
            self.from
        );
        text.replacen(self.from, self.to, 1)
    }

    /// Checks that `text`, read as specs/stg.toml, gives the wanted errors, each located in it.
    pub(super) fn check(&self, text: &str) {
        let errors = errors_of("specs/stg.toml", text);
        assert_eq!(
            errors.len(),
            self.want.len(),
            "{}: {errors:#?}",
            self.reason
        );
        for (error, want) in errors.iter().zip(self.want) {
            let shown = error.to_string();
            assert!(
                shown.starts_with("specs/stg.toml:"),
                "{}: {shown}",
                self.reason
            );
            assert!(
                shown.contains(want),
                "{}: want {want:?} in {shown}",
                self.reason
            );
        }
    }
}

#[test]
fn real_specs_load_with_expected_values() {
    let dev = load_ok("dev");
    let stg = load_ok("stg");
    let prod = load_ok("prod");
    struct Case {
        reason: &'static str,
        ok: bool,
    }
    let cidr = |s: &Spec| s.vpc.cidr.to_string();
    let cases = [
        Case {
            reason: "dev is dev, single AZ, single NAT, no DR region",
            ok: dev.environment.name == EnvName::Dev
                && cidr(&dev) == "10.0.0.0/16"
                && dev.vpc.az_count == 1
                && dev.vpc.single_nat_gateway
                && dev.environment.dr_region.is_none(),
        },
        Case {
            reason: "stg cidr 10.1.0.0/16, two AZs, NAT per AZ, DR ca-central-1",
            ok: stg.environment.name == EnvName::Stg
                && cidr(&stg) == "10.1.0.0/16"
                && stg.vpc.az_count == 2
                && !stg.vpc.single_nat_gateway
                && stg.environment.dr_region.as_deref() == Some("ca-central-1"),
        },
        Case {
            reason: "prod cidr 10.2.0.0/16",
            ok: cidr(&prod) == "10.2.0.0/16" && prod.environment.region == "us-east-1",
        },
        Case {
            reason: "prod GuardDuty publishes every 15 minutes, others the default",
            ok: prod.observability.guardduty_finding_publishing_frequency == "FIFTEEN_MINUTES"
                && stg.observability.guardduty_finding_publishing_frequency == "SIX_HOURS"
                && dev.observability.guardduty_finding_publishing_frequency == "SIX_HOURS",
        },
        Case {
            reason: "prod keeps the trail 7 years, stg 30 days, dev 7 days",
            ok: prod.observability.trail_retention == LockRetention::Years(7)
                && stg.observability.trail_retention == LockRetention::Days(30)
                && dev.observability.trail_retention == LockRetention::Days(7),
        },
        Case {
            reason: "retention: flow logs and log groups 7/30/90, prod audit 731",
            ok: (
                dev.vpc.flow_logs_retention_days,
                dev.observability.log_retention_days,
            ) == (7, 7)
                && (
                    stg.vpc.flow_logs_retention_days,
                    stg.observability.log_retention_days,
                ) == (30, 30)
                && (
                    prod.vpc.flow_logs_retention_days,
                    prod.observability.log_retention_days,
                ) == (90, 90)
                && prod.observability.audit_log_retention_days == 731,
        },
        Case {
            reason: "KMS deletion window 7/30/30 with rotation",
            ok: dev.kms.deletion_window_days == 7
                && stg.kms.deletion_window_days == 30
                && prod.kms.deletion_window_days == 30
                && prod.kms.enable_key_rotation,
        },
        Case {
            reason: "prod carries the compliance tags and ManagedBy=nc-provision",
            ok: prod.tags.get("Compliance").map(String::as_str) == Some("soc2 iso27001")
                && prod.tags.get("CostCenter").map(String::as_str) == Some("engineering")
                && prod.tags.get("ManagedBy").map(String::as_str) == Some("nc-provision"),
        },
        Case {
            reason: "GitHub OIDC on in stg and prod with the platform repo, off in dev",
            ok: prod.iam.enable_github_oidc
                && stg.iam.github_org.as_deref() == Some("neurocipher-io")
                && prod.iam.github_repo.as_deref() == Some("neurocipher-platform")
                && !dev.iam.enable_github_oidc,
        },
        Case {
            reason: "session hours 8/4/1, MFA in stg and prod",
            ok: (
                dev.iam.human_session_hours,
                stg.iam.human_session_hours,
                prod.iam.human_session_hours,
            ) == (8, 4, 1)
                && prod.iam.human_mfa_required
                && !dev.iam.human_mfa_required,
        },
        Case {
            reason: "documents table: dev no PITR, stg 7 days, prod 30 days + protection",
            ok: !dev.data.documents_table.point_in_time_recovery
                && stg.data.documents_table.backup_retention_days == Some(7)
                && prod.data.documents_table.backup_retention_days == Some(30)
                && prod.data.documents_table.deletion_protection
                && !stg.data.documents_table.deletion_protection,
        },
        Case {
            reason: "dev has no ops e-mail; prod alerts go to security@",
            ok: dev.observability.ops_email.is_none()
                && prod.observability.alert_email == "security@neurocipher.io",
        },
        Case {
            reason: "account id is not pinned in the shipped specs",
            ok: dev.environment.account_id.is_none() && prod.environment.account_id.is_none(),
        },
        Case {
            reason: "buckets raw and norm",
            ok: stg.data.buckets == ["raw", "norm"],
        },
        Case {
            reason: "config rules off in dev only",
            ok: !dev.observability.enable_config_rules
                && stg.observability.enable_config_rules
                && prod.observability.enable_config_rules,
        },
    ];
    for c in cases {
        assert!(c.ok, "{}", c.reason);
    }
    let Ok(bytes) = std::fs::read(manifest_dir().join("specs/stg.toml")) else {
        panic!("read stg.toml");
    };
    assert_eq!(stg.digest, digest(&bytes), "digest is of the file's bytes");
    assert!(stg.digest.starts_with("sha256:") && stg.digest.len() == 7 + 64);
}

/// Every case of `tests/specs/bad/<case>/` (see its README): `expected` holds the env on
/// line 1, `<file>:LINE:COL` on line 2 and a message substring on line 3.
#[test]
fn bad_spec_corpus() {
    let dir = manifest_dir().join("tests/specs/bad");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("read {}", dir.display());
    };
    let mut cases: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(expected) = std::fs::read_to_string(case.join("expected")) else {
            failures.push(format!("{name}: no expected file"));
            continue;
        };
        let lines: Vec<&str> = expected.lines().collect();
        let [env, location, message] = lines[..] else {
            failures.push(format!("{name}: expected has {} lines, not 3", lines.len()));
            continue;
        };
        let errors = match load(case, env) {
            Ok(_) => {
                failures.push(format!("{name}: loaded without error"));
                continue;
            }
            Err(e) => e,
        };
        let shown = errors.to_string();
        let hit = errors.errors().iter().any(|e| {
            let s = e.to_string();
            s.contains(&format!("/{location}: ")) && s.contains(message)
        });
        if !hit {
            failures.push(format!(
                "{name}: no error has {location:?} and {message:?}; got:\n{shown}"
            ));
        }
        if errors.count() != 1 {
            failures.push(format!(
                "{name}: one defect should give one error, got {}:\n{shown}",
                errors.count()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn load_errors_without_a_file_position() {
    struct Case {
        reason: &'static str,
        env: &'static str,
        dir: PathBuf,
        kind: SpecErrorKind,
        want: String,
    }
    let specs = manifest_dir().join("specs");
    let empty = manifest_dir().join("tests/specs/bad");
    let cases = [
        Case {
            reason: "unknown --env names the valid ones",
            env: "foo",
            dir: specs.clone(),
            kind: SpecErrorKind::UnknownEnvironment,
            want: "unknown environment 'foo': expected one of dev, stg, prod".to_string(),
        },
        Case {
            reason: "upper-case env is not an env",
            env: "PROD",
            dir: specs,
            kind: SpecErrorKind::UnknownEnvironment,
            want: "unknown environment 'PROD'".to_string(),
        },
        Case {
            reason: "missing file names the path",
            env: "stg",
            dir: empty.clone(),
            kind: SpecErrorKind::Io,
            want: format!("{}: spec file not found", empty.join("stg.toml").display()),
        },
    ];
    for c in cases {
        match load(&c.dir, c.env) {
            Ok(_) => panic!("{}: loaded", c.reason),
            Err(e) => {
                assert_eq!(e.count(), 1, "{}", c.reason);
                assert_eq!(e.errors()[0].kind, c.kind, "{}", c.reason);
                assert!(e.to_string().starts_with(&c.want), "{}: {e}", c.reason);
            }
        }
    }
}

#[test]
fn edits_of_stg_give_located_errors() {
    let cases = [
        StgEdit {
            reason: "CIDR prefix > 32 points at the value's opening quote",
            from: "cidr = \"10.1.0.0/16\"",
            to: "cidr = \"10.1.0.0/33\"",
            want: &["invalid CIDR \"10.1.0.0/33\": prefix length must be 0..=32"],
        },
        StgEdit {
            reason: "every error in the file is reported, in order",
            from: "az_count = 2",
            to: "az_count = \"2\"\nnat = true",
            want: &[
                "wrong type for vpc.az_count: expected integer, found string \"2\"",
                "unknown key \"nat\" in [vpc]",
            ],
        },
        StgEdit {
            reason: "missing table",
            from: "[kms]",
            to: "[kms_x]",
            want: &["missing table [kms]", "unknown table or key \"kms_x\""],
        },
        StgEdit {
            reason: "array of tables instead of a table",
            from: "[kms]",
            to: "[[kms]]",
            want: &["wrong type for kms: expected table, found array"],
        },
        StgEdit {
            reason: "duplicate bucket",
            from: "buckets = [\"raw\", \"norm\"]",
            to: "buckets = [\"raw\", \"raw\"]",
            want: &["duplicate bucket suffix \"raw\""],
        },
        StgEdit {
            reason: "bucket that is not a string",
            from: "buckets = [\"raw\", \"norm\"]",
            to: "buckets = [\"raw\", 3]",
            want: &["wrong type for data.buckets[1]: expected string, found integer"],
        },
        StgEdit {
            reason: "ManagedBy must be nc-provision",
            from: "ManagedBy = \"nc-provision\"",
            to: "ManagedBy = \"terraform\"",
            want: &["tags.ManagedBy \"terraform\": expected \"nc-provision\""],
        },
        StgEdit {
            reason: "reserved tag prefix",
            from: "[tags]",
            to: "[tags]\n\"nc:id\" = \"x\"",
            want: &["tag key \"nc:id\" uses a reserved prefix"],
        },
        StgEdit {
            reason: "tag key of wrong case gets a did-you-mean",
            from: "Owner = ",
            to: "owner = ",
            want: &["missing required tag \"Owner\" in [tags]\n  hint: found \"owner\""],
        },
        StgEdit {
            reason: "backup retention without PITR",
            from: "point_in_time_recovery = true",
            to: "point_in_time_recovery = false",
            want: &["backup_retention_days is set but point_in_time_recovery is false"],
        },
        StgEdit {
            reason: "same DR region as primary",
            from: "dr_region = \"ca-central-1\"",
            to: "dr_region = \"us-east-1\"",
            want: &["dr_region \"us-east-1\" is the same as region"],
        },
        StgEdit {
            reason: "session over 12 hours",
            from: "service_session_hours = 12",
            to: "service_session_hours = 13",
            want: &["iam.service_session_hours 13 is out of range: expected 1..=12"],
        },
        StgEdit {
            reason: "PITR retention over 35 days",
            from: "backup_retention_days = 7",
            to: "backup_retention_days = 36",
            want: &["backup_retention_days 36 is out of range: expected 1..=35"],
        },
        StgEdit {
            reason: "guardduty frequency",
            from: "\"SIX_HOURS\"",
            to: "\"HOURLY\"",
            want: &["invalid GuardDuty publishing frequency \"HOURLY\""],
        },
        StgEdit {
            reason: "uppercase bucket suffix",
            from: "buckets = [\"raw\", \"norm\"]",
            to: "buckets = [\"raw\", \"Norm\"]",
            want: &["invalid bucket suffix \"Norm\""],
        },
        StgEdit {
            reason: "GitHub org with a wildcard would widen the OIDC trust",
            from: "github_org = \"neurocipher-io\"",
            to: "github_org = \"*\"",
            want: &["invalid GitHub organisation name \"*\""],
        },
        StgEdit {
            reason: "VPC too large for AWS",
            from: "\"10.1.0.0/16\"",
            to: "\"10.0.0.0/8\"",
            want: &["too large"],
        },
        StgEdit {
            reason: "pinned account id is checked",
            from: "# account_id = \"123456789012\"",
            to: "account_id = \"12345678901\"",
            want: &["invalid AWS account id \"12345678901\""],
        },
        StgEdit {
            reason: "neither trail retention key",
            from: "trail_retention_days = 30",
            to: "",
            want: &["missing key \"observability.trail_retention_days\" or"],
        },
        StgEdit {
            reason: "syntax error is located",
            from: "az_count = 2",
            to: "az_count = = 2",
            want: &["TOML syntax error"],
        },
    ];
    for edit in cases {
        edit.check(&edit.edited());
    }
}

#[test]
fn cidr_error_location_matches_the_brief_example() {
    let text = stg_text().replacen("\"10.1.0.0/16\"", "\"10.1.0.0/33\"", 1);
    let errors = errors_of("specs/stg.toml", &text);
    let Some(line) = text.lines().position(|l| l.starts_with("cidr = ")) else {
        panic!("no cidr line");
    };
    let want = format!(
        "specs/stg.toml:{}:8: invalid CIDR \"10.1.0.0/33\"",
        line + 1
    );
    assert!(
        errors
            .first()
            .is_some_and(|e| e.to_string().starts_with(&want)),
        "want {want}, got {errors:#?}"
    );
}

#[test]
fn account_ids_are_variables_and_a_missing_one_is_a_located_error() {
    let text = stg_text().replacen("\"${logs_account_id}\"", "\"${archive_account}\"", 1);
    let line = text
        .lines()
        .position(|l| l.starts_with("logs_account_id = "))
        .expect("logs_account_id line")
        + 1;
    let errors = errors_of("specs/stg.toml", &text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let error = &errors[0];
    assert_eq!(error.kind, SpecErrorKind::MissingVariable);
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!(
            "specs/stg.toml:{line}:19: iam.logs_account_id is the spec variable archive_account, which has no value"
        )),
        "{shown}"
    );
    assert!(
        format!("{error:?}").contains("NC_PROVISION_VAR_archive_account"),
        "the hint names the environment variable: {error:?}"
    );
    let given = Variables::from([("archive_account".to_string(), "333333333333".to_string())]);
    let spec = parse_with(Path::new("specs/stg.toml"), &text, &given).expect("given by --var");
    assert_eq!(spec.iam.logs_account_id, "333333333333");
    let wrong = Variables::from([("archive_account".to_string(), "33".to_string())]);
    let errors = parse_with(Path::new("specs/stg.toml"), &text, &wrong)
        .expect_err("still checked")
        .errors()
        .to_vec();
    assert!(
        errors[0]
            .to_string()
            .starts_with(&format!("specs/stg.toml:{line}:19:")),
        "the value is checked where the variable is named: {errors:#?}"
    );
    assert_eq!(variable_name("${aws_account_id}"), Some("aws_account_id"));
    assert_eq!(variable_name("$aws_account_id"), None);
    assert_eq!(variable_name("${a b}"), None);
}

#[test]
fn file_stem_and_name_must_agree() {
    struct Case {
        reason: &'static str,
        path: &'static str,
        want: &'static str,
    }
    let cases = [
        Case {
            reason: "stg spec saved as prod.toml",
            path: "specs/prod.toml",
            want: "environment.name \"stg\" does not match the file name prod.toml",
        },
        Case {
            reason: "a file not named after an environment still validates by its content",
            path: "elsewhere/copy.toml",
            want: "environment.name \"stg\" does not match the file name copy.toml",
        },
    ];
    let text = stg_text();
    for c in cases {
        let errors = errors_of(c.path, &text);
        assert!(
            errors.iter().any(|e| e.message.contains(c.want)),
            "{}: {errors:#?}",
            c.reason
        );
    }
}

#[test]
fn diagnostic_renders_a_snippet() {
    let text = stg_text().replacen("az_count = 2", "az_count = 3", 1);
    let Err(errors) = parse(Path::new("specs/stg.toml"), &text) else {
        panic!("az_count 3 in a /16 must fail");
    };
    let rendered = errors.render(false);
    assert!(rendered.contains("az_count = 3"), "{rendered}");
    assert!(rendered.contains("spec::invalid_value"), "{rendered}");
    assert!(rendered.contains("holds only 8"), "{rendered}");
}

#[test]
fn provenance_locates_every_key_of_the_shipped_specs_on_its_own_line() {
    for env in ["dev", "stg", "prod"] {
        let spec = load_ok(env);
        let text = std::fs::read_to_string(&spec.path).expect("read the spec");
        let lines: Vec<&str> = text.lines().collect();
        assert!(spec.provenance.file.ends_with(&format!("{env}.toml")));
        let mut seen = 0;
        for (key, line) in spec.provenance.iter() {
            let written = lines.get(line - 1).copied().unwrap_or_default();
            // `data.buckets[1]` is an entry of the array on its key's line; a table is on its
            // header; anything else begins its line.
            let (base, entry) = match key.split_once('[') {
                Some((base, _)) => (base, true),
                None => (key, false),
            };
            let last = base.rsplit('.').next().unwrap_or(base);
            let ok = if entry {
                written.contains('"')
            } else {
                written.trim_start().starts_with(&format!("{last} ="))
                    || written.trim_start().starts_with(&format!("[{base}]"))
            };
            assert!(ok, "{env}: {key} is said to be on line {line}: {written:?}");
            seen += 1;
        }
        assert!(seen > 40, "{env}: only {seen} keys located");
        assert_eq!(
            spec.provenance
                .locate("observability.log_retention_days")
                .map(|(k, _)| k),
            Some("observability.log_retention_days")
        );
    }
}
