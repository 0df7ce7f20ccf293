//! AWS Backup per the seeds, read back with `aws_sdk_backup` against the world's moto (vaults
//! and plans; moto has no selection API, so the selection is listed as not checked here and
//! tested over mocked clients in `src/providers/backup/tests.rs`), and the backup role on
//! LocalStack.

use std::collections::HashMap;

use crate::common::{World, count_actions, repo, tag};

/// Puts the shipped spec's `[data.backup]` table back into the world's spec of `env` (the
/// worlds run without it, see `world_spec_text`).
fn with_backups(world: &World, env: &str) {
    let shipped =
        std::fs::read_to_string(repo().join(format!("specs/{env}.toml"))).expect("read spec");
    let start = shipped
        .find("\n[data.backup]\n")
        .expect("a [data.backup] table");
    let rest = &shipped[start + 1..];
    let end = rest.find("\n[").map_or(rest.len(), |offset| offset + 1);
    let table = rest[..end].to_string();
    world.edit_spec(env, |text| {
        text.replacen(
            "\n[observability]\n",
            &format!("\n{table}\n[observability]\n"),
            1,
        )
    });
}

async fn key_arn(world: &World, region: &str, alias: &str) -> String {
    let kms = aws_sdk_kms::Client::new(&world.sdk(region).await);
    kms.describe_key()
        .key_id(alias)
        .send()
        .await
        .expect("describe key")
        .key_metadata()
        .and_then(|m| m.arn())
        .expect("arn")
        .to_string()
}

/// ListTags as the API documents its path (`/tags/{arn}/`, as boto3 sends it): moto reads the
/// ARN from that shape only, and the Rust SDK drops the trailing slash.
#[derive(Debug)]
struct ListTagsPath;

impl aws_smithy_runtime_api::client::interceptors::Intercept for ListTagsPath {
    fn name(&self) -> &'static str {
        "list-tags-path"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let request = context.request_mut();
        let uri = request.uri().to_string();
        if request.method() == "GET" && uri.contains("/tags/") && !uri.ends_with('/') {
            request.set_uri(format!("{uri}/"))?;
        }
        Ok(())
    }
}

async fn backup(world: &World, region: &str) -> aws_sdk_backup::Client {
    let sdk = world.moto_sdk(region).await;
    aws_sdk_backup::Client::from_conf(
        aws_sdk_backup::config::Builder::from(&sdk)
            .interceptor(ListTagsPath)
            .build(),
    )
}

/// The plan named `name`: its id, ARN and rules.
async fn plan(
    client: &aws_sdk_backup::Client,
    name: &str,
) -> (String, String, Vec<aws_sdk_backup::types::BackupRule>) {
    let listed = client.list_backup_plans().send().await.expect("list plans");
    let entry = listed
        .backup_plans_list()
        .iter()
        .find(|plan| plan.backup_plan_name() == Some(name))
        .unwrap_or_else(|| panic!("no plan {name}: {listed:?}"));
    let id = entry.backup_plan_id().expect("id").to_string();
    let got = client
        .get_backup_plan()
        .backup_plan_id(&id)
        .send()
        .await
        .expect("get plan");
    let mut rules = got.backup_plan().expect("plan").rules().to_vec();
    rules.sort_by(|a, b| a.rule_name().cmp(b.rule_name()));
    (id, entry.backup_plan_arn().expect("arn").to_string(), rules)
}

async fn tags(client: &aws_sdk_backup::Client, arn: &str) -> HashMap<String, String> {
    client
        .list_tags()
        .resource_arn(arn)
        .send()
        .await
        .expect("list tags")
        .tags()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn stg_backs_up_daily_for_seven_days_and_reconcile_repairs_its_plan() {
    let tag = tag();
    let world = World::with_bucket_tag(Some(&tag));
    with_backups(&world, "stg");
    let (code, report, stderr) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["result"]["failed"], 0, "{report:#}");
    assert_eq!(
        count_actions(&report, "create", &["backup."]),
        4,
        "the vault, the plan, the selection and the role: {report:#}"
    );
    // moto has no selection API (an HTML 500 page): the selection's step is skipped.
    let selection = report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|step| step["id"] == "backup.selection"))
        .expect("backup selection step");
    assert_eq!(selection["status"], "skipped", "{selection:#}");

    // The vault, encrypted with the data key.
    let client = backup(&world, "us-east-1").await;
    let data_key = key_arn(&world, "us-east-1", "alias/nc-dp-data-stg").await;
    let vaults = client.list_backup_vaults().send().await.expect("vaults");
    let vault = vaults
        .backup_vault_list()
        .iter()
        .find(|v| v.backup_vault_name() == Some("nc-stg-backup-vault"))
        .unwrap_or_else(|| panic!("no vault: {vaults:?}"));
    assert_eq!(vault.encryption_key_arn(), Some(data_key.as_str()));

    // The plan: one daily rule, kept 7 days (seed), into that vault, copied nowhere.
    let (_, plan_arn, rules) = plan(&client, "nc-stg-backup").await;
    assert_eq!(rules.len(), 1, "{rules:?}");
    let rule = &rules[0];
    assert_eq!(rule.rule_name(), "daily");
    assert_eq!(rule.schedule_expression(), Some("cron(0 5 ? * * *)"));
    assert_eq!(rule.target_backup_vault_name(), "nc-stg-backup-vault");
    assert_eq!(
        rule.lifecycle().and_then(|l| l.delete_after_days()),
        Some(7)
    );
    assert_ne!(rule.enable_continuous_backup(), Some(true));
    assert!(rule.copy_actions().is_empty());
    let plan_tags = tags(&client, &plan_arn).await;
    assert_eq!(
        plan_tags.get("nc:id").map(String::as_str),
        Some("backup.plan")
    );
    assert_eq!(plan_tags.get("nc:env").map(String::as_str), Some("stg"));

    // The role AWS Backup assumes, with the managed policies for backup and restore.
    let iam = aws_sdk_iam::Client::new(&world.sdk("us-east-1").await);
    let attached = iam
        .list_attached_role_policies()
        .role_name("nc-stg-backup")
        .send()
        .await
        .expect("the backup role");
    let mut names: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "AWSBackupServiceRolePolicyForBackup",
            "AWSBackupServiceRolePolicyForRestores",
            "AWSBackupServiceRolePolicyForS3Backup",
            "AWSBackupServiceRolePolicyForS3Restore",
        ]
    );

    // A second plan changes nothing; the selection stays "not checked", never "in sync".
    let (code, again, _) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{again:#}");
    for id in ["backup.vault", "backup.plan", "backup.role"] {
        assert_eq!(crate::common::change(&again, id)["action"], "no_op", "{id}");
    }
    assert!(
        again["not_checked"]
            .as_array()
            .is_some_and(|items| items.iter().any(|item| item["id"] == "backup.selection")),
        "{again:#}"
    );

    // Out of band: the plan's tags are changed (moto has no UpdateBackupPlan, so a changed
    // rule cannot be staged here; its repair is tested over a mocked client). It is drift,
    // and reconcile repairs it.
    client
        .tag_resource()
        .resource_arn(&plan_arn)
        .tags("Owner", "someone-else")
        .send()
        .await
        .expect("tag the plan");
    let (code, line, stderr) = world.json(&["reconcile", "--env", "stg", "--once"]);
    assert_eq!(code, 2, "{line:#}\n{stderr}");
    assert_eq!(
        line["drifted"],
        serde_json::json!(["backup.plan"]),
        "{line:#}"
    );
    assert_eq!(line["repaired"], 1, "{line:#}");
    assert_eq!(
        tags(&client, &plan_arn)
            .await
            .get("Owner")
            .map(String::as_str),
        Some("platform-engineering")
    );
    let (code, line, _) = world.json(&["reconcile", "--env", "stg", "--once"]);
    assert_eq!(code, 0, "{line:#}");
}

#[tokio::test]
async fn prod_copies_every_recovery_point_to_the_dr_vault_kept_by_the_primary_apply() {
    let tag = tag();
    let world = World::with_bucket_tag(Some(&tag));
    with_backups(&world, "prod");
    world.apply_saved("prod");

    // The DR region's vault, encrypted with the DR region's data key.
    let dr = backup(&world, "ca-central-1").await;
    let dr_key = key_arn(&world, "ca-central-1", "alias/nc-dp-data-prod").await;
    let vaults = dr.list_backup_vaults().send().await.expect("DR vaults");
    let dr_vault = vaults
        .backup_vault_list()
        .iter()
        .find(|v| v.backup_vault_name() == Some("nc-prod-backup-vault"))
        .unwrap_or_else(|| panic!("no DR vault: {vaults:?}"));
    assert_eq!(dr_vault.encryption_key_arn(), Some(dr_key.as_str()));
    let dr_vault_arn = dr_vault.backup_vault_arn().expect("arn").to_string();
    assert!(dr_vault_arn.contains(":ca-central-1:"), "{dr_vault_arn}");

    // Continuous backup plus daily snapshots, 30 days each, every one copied to the DR vault
    // and kept 30 days there.
    let (_, _, rules) = plan(&backup(&world, "us-east-1").await, "nc-prod-backup").await;
    let names: Vec<&str> = rules.iter().map(|r| r.rule_name()).collect();
    assert_eq!(names, ["continuous", "daily"]);
    for rule in &rules {
        assert_eq!(
            rule.enable_continuous_backup().unwrap_or(false),
            rule.rule_name() == "continuous",
            "{rule:?}"
        );
        assert_eq!(
            rule.lifecycle().and_then(|l| l.delete_after_days()),
            Some(30)
        );
        let copies: Vec<(&str, Option<i64>)> = rule
            .copy_actions()
            .iter()
            .map(|c| {
                (
                    c.destination_backup_vault_arn(),
                    c.lifecycle().and_then(|l| l.delete_after_days()),
                )
            })
            .collect();
        assert_eq!(copies, [(dr_vault_arn.as_str(), Some(30))], "{rule:?}");
    }

    // A second plan changes nothing in either region.
    world
        .run(&["plan", "--env", "prod", "--detailed-exitcode"])
        .expect_code(0);

    // The drill reads the DR vault's newest recovery point (ListRecoveryPointsByBackupVault in
    // ca-central-1); moto lacks the call, so it is listed as not checked, never as ready.
    let (_, drill, stderr) = world.json(&["dr", "drill", "--env", "prod"]);
    let newest = drill["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|check| check["id"] == "backup.vault.newest-recovery-point")
        .unwrap_or_else(|| panic!("no recovery-point check: {drill:#}\n{stderr}"));
    assert_eq!(newest["state"], "not_checked", "{newest:#}");
    assert_eq!(newest["name"], "nc-prod-backup-vault", "{newest:#}");
    assert!(
        newest["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("backup:ListRecoveryPointsByBackupVault")),
        "{newest:#}"
    );
}

/// Every answer of CreateBackupVault and CreateBackupPlan lost (the callcount proxy in front of
/// moto forwards each request, so the first takes effect, and drops every answer): the SDK's
/// re-sends meet "already exists" unseen, the step re-observes and takes the vault and plan it
/// made as its own, and the apply succeeds in one run with exactly one vault and one plan.
#[tokio::test]
async fn backup_creates_whose_answers_are_lost_make_exactly_one_vault_and_plan() {
    let tag = tag();
    let world = World::with_bucket_tag(Some(&tag));
    with_backups(&world, "stg");
    let proxy = crate::proxy::Callcount::start(
        &world.moto_url(),
        &[
            "--lost",
            "1",
            // AWS Backup is a REST API: the proxy names its operations by method and path.
            "--lost-ops",
            "backup:PUT /backup-vaults/*,backup:PUT /backup/plans*",
        ],
    );
    let output = world
        .command(&[
            "apply",
            "--env",
            "stg",
            "--auto-approve",
            "--format",
            "json",
        ])
        .env("AWS_ENDPOINT_URL_BACKUP", proxy.url())
        .output()
        .expect("run nc-provision");
    let run = crate::common::Run::from(output);
    run.expect_code(0);
    let lost = proxy.faults_of("lost");
    for (operation, path) in [
        ("CreateBackupVault", "backup:PUT /backup-vaults/"),
        ("CreateBackupPlan", "backup:PUT /backup/plans"),
    ] {
        let answers: usize = lost
            .iter()
            .filter(|(key, _)| key.starts_with(path))
            .map(|(_, count)| count)
            .sum();
        assert!(answers >= 1, "{operation}'s answers lost: {lost:?}");
    }

    let client = backup(&world, "us-east-1").await;
    let vaults = client.list_backup_vaults().send().await.expect("vaults");
    let ours: Vec<_> = vaults
        .backup_vault_list()
        .iter()
        .filter(|vault| vault.backup_vault_name() == Some("nc-stg-backup-vault"))
        .collect();
    assert_eq!(ours.len(), 1, "{vaults:?}");
    let plans = client.list_backup_plans().send().await.expect("plans");
    let ours: Vec<_> = plans
        .backup_plans_list()
        .iter()
        .filter(|plan| plan.backup_plan_name() == Some("nc-stg-backup"))
        .collect();
    assert_eq!(ours.len(), 1, "{plans:?}");

    // A re-plan is no change for the vault and the plan.
    let (code, plan, stderr) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{plan:#}\n{stderr}");
    for id in ["backup.vault", "backup.plan"] {
        assert_eq!(crate::common::change(&plan, id)["action"], "no_op", "{id}");
    }
}
