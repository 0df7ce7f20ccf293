//! Issue 3's slice — the data and logs keys, the raw and norm buckets, the documents table —
//! applied to stg on LocalStack and read back with the SDK directly.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{BillingMode, PointInTimeRecoverySpecification, SseType};
use aws_sdk_s3::types::{
    BucketVersioningStatus, ServerSideEncryption, Tag, Tagging, VersioningConfiguration,
};

use crate::common::{World, change, changed_attributes, count_actions};

/// The ids of this slice (other modules add resources to the same environments).
const SLICE: &[&str] = &["kms.", "data."];

struct Names {
    raw: String,
    norm: String,
    table: String,
}

fn names(env: &str, tag: Option<&str>) -> Names {
    let suffix = tag.map(|tag| format!("-{tag}")).unwrap_or_default();
    Names {
        raw: format!("nc-dp-{env}-raw{suffix}"),
        norm: format!("nc-dp-{env}-norm{suffix}"),
        table: format!("nc-dp-{env}-documents"),
    }
}

async fn key_arn(world: &World, alias: &str) -> String {
    let kms = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await);
    let key = kms
        .describe_key()
        .key_id(alias)
        .send()
        .await
        .expect("describe key");
    key.key_metadata()
        .and_then(|m| m.arn())
        .expect("arn")
        .to_string()
}

fn assert_required_tags(tags: &BTreeMap<String, String>, env: &str, id: &str) {
    assert_eq!(
        tags.get("ManagedBy").map(String::as_str),
        Some("nc-provision"),
        "{id}: {tags:?}"
    );
    assert_eq!(
        tags.get("nc:env").map(String::as_str),
        Some(env),
        "{id}: {tags:?}"
    );
    assert_eq!(
        tags.get("nc:id").map(String::as_str),
        Some(id),
        "{id}: {tags:?}"
    );
    assert_eq!(
        tags.get("Environment").map(String::as_str),
        Some(env),
        "{id}: {tags:?}"
    );
    assert_eq!(
        tags.get("Project").map(String::as_str),
        Some("neurocipher-platform"),
        "{id}"
    );
    assert_eq!(
        tags.get("Owner").map(String::as_str),
        Some("platform-engineering"),
        "{id}"
    );
}

/// Reads back both keys: enabled, rotation on, root policy, tags.
async fn check_keys(world: &World, env: &str) {
    let kms = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await);
    for (purpose, id) in [("data", "kms.key.data"), ("logs", "kms.key.logs")] {
        let alias = format!("alias/nc-dp-{purpose}-{env}");
        let key = kms
            .describe_key()
            .key_id(&alias)
            .send()
            .await
            .expect("describe key");
        let metadata = key.key_metadata().expect("metadata");
        assert_eq!(
            metadata.key_state().map(|s| s.as_str()),
            Some("Enabled"),
            "{alias}"
        );
        let key_id = metadata.key_id();
        let rotation = kms
            .get_key_rotation_status()
            .key_id(key_id)
            .send()
            .await
            .expect("rotation");
        assert!(rotation.key_rotation_enabled(), "{alias} rotation");
        let policy = kms
            .get_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .send()
            .await
            .expect("policy");
        let policy: serde_json::Value =
            serde_json::from_str(policy.policy().expect("policy text")).expect("json");
        let root = format!("arn:aws:iam::{}:root", world.account);
        assert!(
            policy.to_string().contains(&root),
            "{alias} policy grants the root: {policy}"
        );
        let tags: BTreeMap<String, String> = kms
            .list_resource_tags()
            .key_id(key_id)
            .send()
            .await
            .expect("tags")
            .tags()
            .iter()
            .map(|tag| (tag.tag_key().to_string(), tag.tag_value().to_string()))
            .collect();
        assert_required_tags(&tags, env, id);
    }
}

/// Reads back one bucket: versioning, SSE-KMS with the data key and a bucket key, the four
/// public-access blocks, the TLS-only policy, tags.
async fn check_bucket(world: &World, bucket: &str, env: &str, id: &str, data_key: &str) {
    let s3 = world.s3().await;
    let versioning = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .expect("versioning");
    assert_eq!(
        versioning.status(),
        Some(&BucketVersioningStatus::Enabled),
        "{bucket}"
    );
    let encryption = s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .expect("encryption");
    let rule = &encryption
        .server_side_encryption_configuration()
        .expect("sse")
        .rules()[0];
    let default = rule
        .apply_server_side_encryption_by_default()
        .expect("default");
    assert_eq!(
        default.sse_algorithm(),
        &ServerSideEncryption::AwsKms,
        "{bucket}"
    );
    assert_eq!(
        default.kms_master_key_id(),
        Some(data_key),
        "{bucket} uses the data key"
    );
    assert_eq!(rule.bucket_key_enabled(), Some(true), "{bucket} bucket key");
    let blocks = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("pab");
    let blocks = blocks
        .public_access_block_configuration()
        .expect("pab config");
    assert_eq!(
        [
            blocks.block_public_acls(),
            blocks.ignore_public_acls(),
            blocks.block_public_policy(),
            blocks.restrict_public_buckets()
        ],
        [Some(true); 4],
        "{bucket}"
    );
    let policy = s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect("policy");
    let policy: serde_json::Value =
        serde_json::from_str(policy.policy().expect("text")).expect("json");
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Effect"], "Deny", "{bucket}: {policy}");
    assert_eq!(
        statement["Condition"]["Bool"]["aws:SecureTransport"], "false",
        "{bucket}: {policy}"
    );
    let tags: BTreeMap<String, String> = s3
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .expect("tagging")
        .tag_set()
        .iter()
        .map(|tag| (tag.key().to_string(), tag.value().to_string()))
        .collect();
    assert_required_tags(&tags, env, id);
}

/// Reads back the table: on-demand, SSE with the data key, PITR, deletion protection, tags.
async fn check_table(world: &World, table: &str, env: &str, data_key: &str, protected: bool) {
    let dynamodb = aws_sdk_dynamodb::Client::new(&world.sdk("us-east-1").await);
    let description = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe");
    let description = description.table().expect("table");
    assert_eq!(
        description
            .billing_mode_summary()
            .and_then(|s| s.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    let sse = description.sse_description().expect("sse");
    assert_eq!(sse.sse_type(), Some(&SseType::Kms));
    assert_eq!(sse.kms_master_key_arn(), Some(data_key));
    assert_eq!(description.deletion_protection_enabled(), Some(protected));
    let backups = dynamodb
        .describe_continuous_backups()
        .table_name(table)
        .send()
        .await
        .expect("backups");
    let status = backups
        .continuous_backups_description()
        .and_then(|b| b.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_string());
    assert_eq!(status.as_deref(), Some("ENABLED"), "{table} PITR");
    let tags: BTreeMap<String, String> = dynamodb
        .list_tags_of_resource()
        .resource_arn(description.table_arn().expect("arn"))
        .send()
        .await
        .expect("tags")
        .tags()
        .iter()
        .map(|tag| (tag.key().to_string(), tag.value().to_string()))
        .collect();
    assert_required_tags(&tags, env, "data.table.documents");
}

#[tokio::test]
async fn stg_slice_applies_reads_back_and_replans_as_no_change() {
    // The real stg names: this test owns them (the emulators are reset before the suite).
    let world = World::new();
    let (code, report, stderr) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["result"]["ok"], true);
    assert_eq!(
        report["summary"]["create"],
        crate::common::resource_count("stg"),
        "{report:#}"
    );

    let names = names("stg", None);
    let data_key = key_arn(&world, "alias/nc-dp-data-stg").await;
    check_keys(&world, "stg").await;
    check_bucket(&world, &names.raw, "stg", "data.bucket.raw", &data_key).await;
    check_bucket(&world, &names.norm, "stg", "data.bucket.norm", &data_key).await;
    check_table(&world, &names.table, "stg", &data_key, false).await;

    // A second plan sees no change; a second apply makes zero write calls.
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
    let (code, again, _) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0);
    assert_eq!(again["api_calls"]["writes"], 0, "{again:#}");
    assert_eq!(
        again["summary"]["no_op"],
        crate::common::resource_count("stg"),
        "{again:#}"
    );
    let (code, drift, _) = world.json(&["drift", "--env", "stg"]);
    assert_eq!(code, 0, "{drift:#}");
}

#[tokio::test]
async fn out_of_band_changes_show_as_updates_and_apply_repairs_them() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    world
        .run(&["apply", "--env", "stg", "--auto-approve"])
        .expect_code(0);
    let names = names("stg", Some(&tag));
    let sdk = world.sdk("us-east-1").await;
    let s3 = world.s3().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);

    // Drift: versioning suspended, rotation disabled, PITR off, a tag removed.
    s3.put_bucket_versioning()
        .bucket(&names.raw)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("suspend versioning");
    let data_key = key_arn(&world, "alias/nc-dp-data-stg").await;
    kms.disable_key_rotation()
        .key_id(&data_key)
        .send()
        .await
        .expect("disable rotation");
    dynamodb
        .update_continuous_backups()
        .table_name(&names.table)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(false)
                .build()
                .expect("spec"),
        )
        .send()
        .await
        .expect("pitr off");
    let kept: Vec<Tag> = s3
        .get_bucket_tagging()
        .bucket(&names.norm)
        .send()
        .await
        .expect("tags")
        .tag_set()
        .iter()
        .filter(|tag| tag.key() != "Owner")
        .cloned()
        .collect();
    s3.put_bucket_tagging()
        .bucket(&names.norm)
        .tagging(
            Tagging::builder()
                .set_tag_set(Some(kept))
                .build()
                .expect("tagging"),
        )
        .send()
        .await
        .expect("remove a tag");

    let (code, plan, stderr) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    let raw_id = format!("data.bucket.raw-{tag}");
    let norm_id = format!("data.bucket.norm-{tag}");
    for (id, attribute) in [
        (raw_id.as_str(), "versioning"),
        ("kms.key.data", "rotation"),
        ("data.table.documents", "point_in_time_recovery"),
        (norm_id.as_str(), "tags"),
    ] {
        let change = change(&plan, id);
        assert_eq!(change["action"], "update", "{id}: {change:#}");
        // Turning PITR off also drops its recovery period, which the plan restores too.
        let mut names = changed_attributes(change);
        names.retain(|name| name != "pitr_recovery_period_days");
        assert_eq!(names, vec![attribute.to_string()], "{id}: {change:#}");
    }
    let versioning = &change(&plan, &raw_id)["attributes"][0];
    assert_eq!(versioning["before"], "Suspended");
    assert_eq!(versioning["after"], "Enabled");
    let human = world.run(&["drift", "--env", "stg"]);
    human.expect_code(2);
    assert!(
        human.stdout.contains("~ versioning")
            && human.stdout.contains("\"Suspended\" -> \"Enabled\""),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("+ Owner = \"platform-engineering\""),
        "{}",
        human.stdout
    );

    let (code, report, stderr) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(count_actions(&report, "update", SLICE), 4, "{report:#}");
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
    check_keys(&world, "stg").await;
    check_bucket(&world, &names.raw, "stg", &raw_id, &data_key).await;
    check_bucket(&world, &names.norm, "stg", &norm_id, &data_key).await;
    check_table(&world, &names.table, "stg", &data_key, false).await;
}

#[tokio::test]
async fn prod_table_has_deletion_protection_and_reconcile_once_repairs_drift() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    let plan_file = world.specs.join("prod.plan").to_string_lossy().to_string();
    world
        .run(&["plan", "--env", "prod", "--out", &plan_file])
        .expect_code(0);
    world
        .run(&["apply", "--env", "prod", "--plan", &plan_file])
        .expect_code(0);
    let data_key = key_arn(&world, "alias/nc-dp-data-prod").await;
    check_table(&world, "nc-dp-prod-documents", "prod", &data_key, true).await;

    let kms = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await);
    kms.disable_key_rotation()
        .key_id(&data_key)
        .send()
        .await
        .expect("disable rotation");
    let (code, line, stderr) = world.json(&["reconcile", "--env", "prod", "--once"]);
    assert_eq!(code, 2, "{line:#}\n{stderr}");
    assert_eq!(line["drifted"], serde_json::json!(["kms.key.data"]));
    assert_eq!(line["repaired"], 1);
    let (code, line, _) = world.json(&["reconcile", "--env", "prod", "--once"]);
    assert_eq!(code, 0, "{line:#}");
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&data_key)
        .send()
        .await
        .expect("rotation");
    assert!(rotation.key_rotation_enabled());
}
