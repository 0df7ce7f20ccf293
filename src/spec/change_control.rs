//! `[change_control]`: approver roles per risk class, the principals holding each role,
//! whether scheduled repair is allowed, and the optional "validated in stg first" rule
//! (`[change_control.validated_in]`). Every problem is located like the rest of the spec.

use std::collections::BTreeMap;

use super::error::SpecErrorKind;
use super::model::{ChangeControl, EnvName, RequiredApprovals, ValidatedIn};
use super::reader::{At, Reader, Table};
use super::rules::Problem;

/// The risk classes a plan can have, lowest first.
const CLASSES: [&str; 3] = ["low", "medium", "high"];

/// Reads `[change_control]`; `None` after recording its problems.
pub(super) fn read(r: &mut Reader, t: &Table<'_, '_>) -> Option<ChangeControl> {
    r.unknown_keys(
        t,
        &[
            "scheduled_repair",
            "required_approvals",
            "approvers",
            "validated_in",
        ],
    );
    let scheduled_repair = r.boolean(t, "scheduled_repair", true);
    let approvers = r
        .table(t, "approvers", true)
        .and_then(|table| approvers(r, &table));
    let required = r
        .table(t, "required_approvals", true)
        .and_then(|table| required(r, &table));
    let validated_in = match r.table(t, "validated_in", false) {
        Some(table) => Some(validated_in(r, &table)?),
        None => None,
    };
    let (approvers, (required, named)) = (approvers?, required?);
    let mut ok = true;
    for role in &named {
        if !approvers.contains_key(&role.value) {
            ok = false;
            let known: Vec<&str> = approvers.keys().map(String::as_str).collect();
            r.problem(
                role.span.clone(),
                Problem::new(
                    format!(
                        "approver role {:?} has no principals in [change_control.approvers]",
                        role.value
                    ),
                    Some(format!(
                        "add `{} = [\"arn:aws:sts::*:assumed-role/<Role>/*\"]` to [change_control.approvers] (roles defined: {})",
                        role.value,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )),
                ),
            );
        }
    }
    let scheduled_repair = scheduled_repair?.value;
    ok.then_some(ChangeControl {
        required_approvals: required,
        approvers,
        scheduled_repair,
        validated_in,
    })
}

/// The longest `min_hours` accepted: 30 days (the seeds ask for 24-48 h).
const MAX_MIN_HOURS: i64 = 720;

/// `[change_control.validated_in]`: `env`, `min_hours`, optional `region` and
/// `audit_role_arn`.
fn validated_in(r: &mut Reader, t: &Table<'_, '_>) -> Option<ValidatedIn> {
    r.unknown_keys(t, &["env", "min_hours", "region", "audit_role_arn"]);
    let env = r.string(t, "env", true);
    let min_hours = r.int_in::<u32>(
        t,
        "min_hours",
        true,
        (0, MAX_MIN_HOURS),
        "hours between the validating apply and this one (seeds: stg deploys 24-48 h before prod)",
    );
    let region = r.string(t, "region", false);
    let role = r.string(t, "audit_role_arn", false);
    let env_known = env
        .as_ref()
        .is_none_or(|env| r.check(env, |name| validating_env(name)).is_some());
    let region_allowed = region
        .as_ref()
        .is_none_or(|region| r.check(region, |name| audit_region(name)).is_some());
    let role_is_arn = role
        .as_ref()
        .is_none_or(|role| r.check(role, |arn| audit_role(arn)).is_some());
    let (env, min_hours) = (env?, min_hours?);
    (env_known && region_allowed && role_is_arn).then_some(ValidatedIn {
        env: env.value,
        min_hours: min_hours.value,
        region: region.map(|region| region.value),
        audit_role_arn: role.map(|role| role.value),
    })
}

/// `validated_in.env`: one of the environments.
fn validating_env(name: &str) -> Result<(), Problem> {
    match EnvName::parse(name) {
        Some(_) => Ok(()),
        None => Err(Problem::new(
            format!("{name:?} is not an environment"),
            Some("the environment that validates first, e.g. \"stg\"".into()),
        )),
    }
}

/// `validated_in.region`: one of the allowed regions.
fn audit_region(name: &str) -> Result<(), Problem> {
    if super::ALLOWED_REGIONS.contains(&name) {
        return Ok(());
    }
    Err(Problem::new(
        format!("region {name:?} is not allowed"),
        Some(format!("one of {}", super::ALLOWED_REGIONS.join(", "))),
    ))
}

/// `validated_in.audit_role_arn`: an IAM role ARN.
fn audit_role(arn: &str) -> Result<(), Problem> {
    if arn.starts_with("arn:aws:iam::") {
        return Ok(());
    }
    Err(Problem::new(
        format!("{arn:?} is not an IAM role ARN"),
        Some("e.g. \"arn:aws:iam::123456789012:role/NcProvisionAuditReader\"".into()),
    ))
}

/// `[change_control.required_approvals]`: `low`, `medium` and `high`, each a list of roles.
/// Returns the roles and every role name with its span (to check each is defined).
fn required(r: &mut Reader, t: &Table<'_, '_>) -> Option<(RequiredApprovals, Vec<At<String>>)> {
    r.unknown_keys(t, &CLASSES);
    let mut lists: Vec<Vec<String>> = Vec::new();
    let mut named = Vec::new();
    let mut ok = true;
    for class in CLASSES {
        let Some(list) = r.string_array(t, class, true) else {
            ok = false;
            continue;
        };
        for role in &list.value {
            if !valid_role(&role.value) {
                ok = false;
                r.problem(
                    role.span.clone(),
                    Problem::new(
                        format!("approver role {:?} is not a valid role name", role.value),
                        Some(
                            "use lower-case letters, digits and '-', e.g. \"platform-lead\"".into(),
                        ),
                    ),
                );
            }
        }
        let once = |role: &str| format!("approver role {role:?} is listed twice for {class}");
        ok &= r.distinct(&list.value, once, "list each role once");
        lists.push(list.value.iter().map(|role| role.value.clone()).collect());
        named.extend(list.value);
    }
    if !ok {
        return None;
    }
    let mut lists = lists.into_iter();
    let required = RequiredApprovals {
        low: lists.next().unwrap_or_default(),
        medium: lists.next().unwrap_or_default(),
        high: lists.next().unwrap_or_default(),
    };
    if !required
        .low
        .iter()
        .all(|role| required.medium.contains(role))
        || !required
            .medium
            .iter()
            .all(|role| required.high.contains(role))
    {
        r.error(
            SpecErrorKind::InvalidValue,
            t.span.clone(),
            "fewer approvers for a higher risk",
            "a riskier class needs fewer approver roles than a lower one: every role of `low` must be in `medium`, and every role of `medium` in `high`",
            Some("add the missing roles to the higher classes".into()),
        );
        return None;
    }
    Some((required, named))
}

/// `[change_control.approvers]`: role → list of principal ARN patterns.
fn approvers(r: &mut Reader, t: &Table<'_, '_>) -> Option<BTreeMap<String, Vec<String>>> {
    let mut out = BTreeMap::new();
    let mut ok = true;
    for role in t.keys() {
        if !valid_role(&role) {
            ok = false;
            let span = t.key_span(&role).unwrap_or(t.span.clone());
            r.problem(
                span,
                Problem::new(
                    format!("approver role {role:?} is not a valid role name"),
                    Some("use lower-case letters, digits and '-', e.g. \"security-lead\"".into()),
                ),
            );
            continue;
        }
        let Some(patterns) = r.string_array(t, &role, true) else {
            ok = false;
            continue;
        };
        if patterns.value.is_empty() {
            ok = false;
            r.problem(
                patterns.span.clone(),
                Problem::new(
                    format!("approver role {role:?} lists no principals"),
                    Some("name at least one IAM role or assumed-role ARN (wildcards * and ? allowed)".into()),
                ),
            );
        }
        let mut list = Vec::new();
        for pattern in patterns.value {
            let valid = pattern.value.starts_with("arn:aws:iam::")
                || pattern.value.starts_with("arn:aws:sts::");
            if !valid {
                ok = false;
                r.problem(
                    pattern.span.clone(),
                    Problem::new(
                        format!("{:?} is not an IAM or STS principal ARN", pattern.value),
                        Some("e.g. \"arn:aws:sts::*:assumed-role/PlatformEngineeringLead/*\" or \"arn:aws:iam::123456789012:role/PlatformEngineeringLead\"".into()),
                    ),
                );
            }
            list.push(pattern.value);
        }
        out.insert(role, list);
    }
    ok.then_some(out)
}

fn valid_role(role: &str) -> bool {
    !role.is_empty()
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    const BASE: &str = include_str!("../../specs/prod.toml");

    fn parse(change_control: &str) -> Result<crate::spec::Spec, String> {
        let start = BASE.find("[change_control]").unwrap_or(BASE.len());
        let text = format!("{}{change_control}", &BASE[..start]);
        crate::spec::parse(Path::new("specs/prod.toml"), &text).map_err(|errors| errors.to_string())
    }

    /// The errors of prod with `change_control` as its table, which must mention `want`.
    fn rejected(change_control: &str, want: &str) -> String {
        let errors = parse(change_control).expect_err(want);
        assert!(errors.contains(want), "{errors}");
        errors
    }

    #[test]
    fn reads_the_shipped_prod_table_and_locates_mistakes() {
        let spec = crate::spec::parse(Path::new("specs/prod.toml"), BASE).expect("shipped prod");
        let control = spec.change_control.expect("prod has change control");
        assert!(!control.scheduled_repair);
        assert_eq!(control.required_approvals.high.len(), 3);
        assert!(control.approvers.contains_key("cto"));

        let undefined = rejected(
            "[change_control]\nscheduled_repair = false\n[change_control.required_approvals]\nlow = [\"platform-lead\"]\nmedium = [\"platform-lead\"]\nhigh = [\"platform-lead\", \"ceo\"]\n[change_control.approvers]\nplatform-lead = [\"arn:aws:sts::*:assumed-role/P/*\"]\n",
            "\"ceo\" has no principals",
        );
        assert!(undefined.contains("specs/prod.toml:"), "{undefined}");
        rejected(
            "[change_control]\nscheduled_repair = true\n[change_control.required_approvals]\nlow = []\nmedium = []\nhigh = [\"cto\"]\n[change_control.approvers]\ncto = [\"alice\"]\n",
            "not an IAM or STS principal ARN",
        );
        rejected(
            "[change_control]\nscheduled_repair = true\n[change_control.required_approvals]\nlow = [\"a\"]\nmedium = []\nhigh = [\"a\"]\n[change_control.approvers]\na = [\"arn:aws:iam::*:role/A\"]\n",
            "riskier class needs fewer",
        );
    }

    /// prod with an empty change control table and `table` as its validated-in rule.
    fn with_validated_in(table: &str) -> String {
        format!(
            "[change_control]\nscheduled_repair = false\n[change_control.required_approvals]\nlow = []\nmedium = []\nhigh = []\n[change_control.approvers]\n[change_control.validated_in]\n{table}\n"
        )
    }

    /// The validated-in rule `table` reads as.
    fn rule_of(table: &str) -> crate::spec::ValidatedIn {
        parse(&with_validated_in(table))
            .expect("valid rule")
            .change_control
            .and_then(|control| control.validated_in)
            .expect("the rule")
    }

    #[test]
    fn reads_the_validated_in_rule_and_locates_its_mistakes() {
        let rule = rule_of("env = \"stg\"\nmin_hours = 24");
        assert_eq!((rule.env.as_str(), rule.min_hours), ("stg", 24));
        assert_eq!((rule.region, rule.audit_role_arn), (None, None));
        let rule = rule_of(
            "env = \"stg\"\nmin_hours = 0\nregion = \"ca-central-1\"\naudit_role_arn = \"arn:aws:iam::123456789012:role/R\"",
        );
        assert_eq!(rule.region.as_deref(), Some("ca-central-1"));
        // Without the table there is no rule (the shipped prod has it commented out).
        let shipped = crate::spec::parse(Path::new("specs/prod.toml"), BASE).expect("prod");
        assert!(
            shipped
                .change_control
                .expect("control")
                .validated_in
                .is_none()
        );

        for (table, want) in [
            (
                "env = \"qa\"\nmin_hours = 24",
                "\"qa\" is not an environment",
            ),
            ("env = \"stg\"\nmin_hours = 721", "out of range"),
            ("env = \"stg\"", "min_hours"),
            (
                "env = \"stg\"\nmin_hours = 1\nregion = \"eu-west-1\"",
                "not allowed",
            ),
            (
                "env = \"stg\"\nmin_hours = 1\naudit_role_arn = \"Reader\"",
                "not an IAM role ARN",
            ),
            ("env = \"stg\"\nmin_hours = 1\nhours = 2", "hours"),
        ] {
            let errors = rejected(&with_validated_in(table), want);
            assert!(errors.contains("specs/prod.toml:"), "{errors}");
        }
    }
}
