//! Issue 6 — the observability and audit baseline, applied on LocalStack (and moto for
//! CloudTrail, GuardDuty and Security Hub), read back with the SDK directly.

use std::collections::BTreeMap;

use crate::common::{World, change, changed_attributes};

async fn logs_client(world: &World) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&world.sdk("us-east-1").await)
}

async fn logs_key_arn(world: &World, env: &str) -> String {
    let kms = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await);
    kms.describe_key()
        .key_id(format!("alias/nc-dp-logs-{env}"))
        .send()
        .await
        .expect("describe logs key")
        .key_metadata()
        .and_then(|m| m.arn())
        .expect("arn")
        .to_string()
}

/// Reads back one log group: retention, KMS key (the logs key), tags.
async fn check_log_group(world: &World, env: &str, name: &str, id: &str, retention: i32) {
    let logs = logs_client(world).await;
    let listed = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .expect("describe log groups");
    let group = listed
        .log_groups()
        .iter()
        .find(|group| group.log_group_name() == Some(name))
        .unwrap_or_else(|| panic!("log group {name} exists"));
    assert_eq!(
        group.retention_in_days(),
        Some(retention),
        "{name} retention"
    );
    assert_eq!(
        group.kms_key_id(),
        Some(logs_key_arn(world, env).await.as_str()),
        "{name} is encrypted with the logs key"
    );
    let arn = group.log_group_arn().expect("log group arn");
    let tags: BTreeMap<String, String> = logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("log group tags")
        .tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    assert_eq!(
        tags.get("ManagedBy").map(String::as_str),
        Some("nc-provision")
    );
    assert_eq!(tags.get("nc:env").map(String::as_str), Some(env));
    assert_eq!(tags.get("nc:id").map(String::as_str), Some(id));
}

/// Applies prod the reviewed way: a saved plan, then apply --plan.
fn apply_prod(world: &World) {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("prod.plan");
    let plan = plan.to_str().expect("utf-8 path");
    world
        .run(&["plan", "--env", "prod", "--out", plan])
        .expect_code(0);
    world
        .run(&["apply", "--env", "prod", "--plan", plan])
        .expect_code(0);
}

#[tokio::test]
async fn prod_log_groups_are_encrypted_with_their_retention_and_drift_is_repaired() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    apply_prod(&world);
    let trail = "/nc/prod/audit/cloudtrail";
    let operations = "/nc/prod/operations";
    check_log_group(&world, "prod", trail, "observability.log.trail", 731).await;
    check_log_group(
        &world,
        "prod",
        operations,
        "observability.log.operations",
        90,
    )
    .await;
    world
        .run(&["plan", "--env", "prod", "--detailed-exitcode"])
        .expect_code(0);

    // Out of band: the audit log group's retention is shortened to a week.
    let logs = logs_client(&world).await;
    logs.put_retention_policy()
        .log_group_name(trail)
        .retention_in_days(7)
        .send()
        .await
        .expect("shorten retention");
    let (code, plan, stderr) = world.json(&["plan", "--env", "prod", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    let drift = change(&plan, "observability.log.trail");
    assert_eq!(drift["action"], "update", "{drift:#}");
    assert_eq!(
        changed_attributes(drift),
        vec!["retention_days"],
        "{drift:#}"
    );
    apply_prod(&world);
    check_log_group(&world, "prod", trail, "observability.log.trail", 731).await;
    world
        .run(&["plan", "--env", "prod", "--detailed-exitcode"])
        .expect_code(0);
}
