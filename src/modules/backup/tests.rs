//! The backup module over the repository's specs: the plan, the selection and the role agree
//! with each other, with the data module and with the seeds.

use super::*;
use crate::model::{DesiredGraph, Kind};
use crate::modules::tests::graph_for;
use crate::policy::eval::{Decision, Principal, Request, evaluate};

fn get<'a>(graph: &'a DesiredGraph, id: &str) -> &'a Resource {
    graph
        .get(&LogicalId::new(id))
        .unwrap_or_else(|| panic!("no {id} in the graph"))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::List(items)) => items
            .iter()
            .map(|item| item.as_str().expect("a string").to_string())
            .collect(),
        other => panic!("not a list: {other:?}"),
    }
}

/// The ARNs of the graph's data buckets (as the data module names them) and documents table.
fn data_arns(graph: &DesiredGraph, region: &str) -> Vec<String> {
    let mut arns: Vec<String> = graph
        .resources()
        .iter()
        .filter(|r| r.kind == Kind::S3Bucket && r.id.as_str().starts_with("data.bucket."))
        .filter(|r| r.region.is_none())
        .map(|r| format!("arn:aws:s3:::{}", r.name))
        .collect();
    let table = get(graph, addr::DOCUMENTS_TABLE);
    arns.push(format!(
        "arn:aws:dynamodb:{region}:123456789012:table/{}",
        table.name
    ));
    arns.sort();
    arns
}

#[test]
fn stg_backs_up_its_buckets_and_table_daily_for_seven_days_without_a_copy() {
    let graph = graph_for("stg", &["us-east-1a", "us-east-1b"]);
    let plan = get(&graph, PLAN);
    assert_eq!(plan.name, "nc-stg-backup");
    assert_eq!(strings(plan.props.get("rules")), ["daily"]);
    assert_eq!(
        plan.str_prop("rule.daily.schedule"),
        Some("cron(0 5 ? * * *)")
    );
    assert_eq!(
        plan.int_prop("rule.daily.delete_after_days"),
        Some(7),
        "seed: 7-day retention"
    );
    assert_eq!(plan.bool_prop("rule.daily.continuous"), Some(false));
    assert!(strings(plan.props.get("rule.daily.copy_to")).is_empty());
    assert_eq!(
        plan.str_prop("rule.daily.target_vault"),
        Some(get(&graph, addr::BACKUP_VAULT).name.as_str())
    );

    let selection = get(&graph, SELECTION);
    assert_eq!(
        strings(selection.props.get("resources")),
        data_arns(&graph, "us-east-1"),
        "the selection is the data module's buckets and table"
    );
    assert_eq!(selection.str_prop("plan"), Some(plan.name.as_str()));
    let role = get(&graph, ROLE);
    assert_eq!(
        selection.str_prop("iam_role"),
        Some(format!("arn:aws:iam::123456789012:role/nc/{}", role.name).as_str()),
        "the selection's role is the backup role (path /nc/)"
    );
    assert!(
        graph
            .resources()
            .iter()
            .all(|r| r.id.as_str() != "dr.backup.vault"),
        "stg copies nothing to the DR region"
    );
}

#[test]
fn prod_adds_continuous_backup_and_copies_every_recovery_point_to_the_dr_vault() {
    let graph = graph_for("prod", &["us-east-1a", "us-east-1b"]);
    let plan = get(&graph, PLAN);
    assert_eq!(strings(plan.props.get("rules")), ["continuous", "daily"]);
    let dr_vault = get(&graph, "dr.backup.vault");
    assert_eq!(dr_vault.region.as_deref(), Some("ca-central-1"));
    assert_eq!(dr_vault.name, "nc-prod-backup-vault");
    assert_eq!(
        dr_vault.props["encryption_key"],
        Value::reference(&addr::dr_data_key(), "arn"),
        "the DR vault is encrypted with the DR region's data key"
    );
    assert_eq!(
        get(&graph, "dr.kms.key.data").region.as_deref(),
        Some("ca-central-1")
    );
    for (rule, continuous) in [("continuous", true), ("daily", false)] {
        let attribute = |name: &str| format!("rule.{rule}.{name}");
        assert_eq!(
            plan.int_prop(&attribute("delete_after_days")),
            Some(30),
            "{rule}: seed 30-day retention"
        );
        assert_eq!(plan.bool_prop(&attribute("continuous")), Some(continuous));
        assert_eq!(
            plan.props[&attribute("copy_to")],
            Value::List(vec![Value::reference(&addr::dr_backup_vault(), "arn")]),
            "{rule}: copied to the DR vault"
        );
        assert_eq!(
            plan.int_prop(&attribute("copy_delete_after_days")),
            Some(30)
        );
    }
    assert_eq!(
        strings(get(&graph, SELECTION).props.get("resources")),
        data_arns(&graph, "us-east-1")
    );
}

#[test]
fn dev_has_no_backups() {
    let graph = graph_for("dev", &["us-east-1a"]);
    assert!(
        graph
            .resources()
            .iter()
            .all(|r| !r.id.as_str().starts_with("backup.")
                && !r.id.as_str().starts_with("dr.backup."))
    );
}

/// AWS Backup uses the vault's key as the backup role: the key policy's root statement hands
/// the decision to IAM, and the role's AWS managed policy for backup grants the KMS calls
/// (CreateGrant for AWS resources, DescribeKey)
/// (<https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html>).
#[test]
fn the_vault_key_lets_the_backup_role_use_it_through_iam() {
    let graph = graph_for("prod", &["us-east-1a", "us-east-1b"]);
    let vault = get(&graph, addr::BACKUP_VAULT);
    assert_eq!(
        vault.props["encryption_key"],
        Value::reference(&addr::data_key(), "arn")
    );
    let policy = get(&graph, "kms.key_policy.data")
        .props
        .get("policy")
        .and_then(Value::as_policy)
        .expect("the data key's policy");
    let root = Principal::Aws("arn:aws:iam::123456789012:root".to_string());
    for action in ["kms:CreateGrant", "kms:DescribeKey", "kms:GenerateDataKey"] {
        let decision = evaluate(policy, &Request::new(root.clone(), action, "*"))
            .expect("a well-formed policy");
        assert!(
            matches!(decision, Decision::Allow { .. }),
            "{action}: the account (IAM) decides, got {decision:?}"
        );
    }
    let role = get(&graph, ROLE);
    let managed = strings(role.props.get("managed_policies"));
    assert!(
        managed.contains(
            &"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup".to_string()
        ) && managed
            .contains(&"arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup".to_string()),
        "{managed:?}"
    );
    let trust = role
        .props
        .get("assume_role_policy")
        .and_then(Value::as_policy)
        .expect("a trust policy");
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "backup.amazonaws.com"
    );
    assert!(role.global, "the role is IAM: global");
}
