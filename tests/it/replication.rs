//! Replication into the DR standby, applied by the primary apply (prod): each data bucket
//! carries one replication rule with S3 Replication Time Control to its replica bucket in
//! ca-central-1, and the documents table is a global table with an ACTIVE replica there,
//! encrypted with the DR data key. Each removed out of band is drift that `reconcile --once`
//! repairs; the DR region's own plan sees the replica table as its documents table, unchanged.
//!
//! LocalStack stores the replication configuration but replicates nothing and checks no
//! permission (RTC, the role, the keys): those are proven in the pure core
//! (`policy::integrations::catalogue::replication`).

use aws_sdk_dynamodb::types::{DeleteReplicationGroupMemberAction, ReplicationGroupUpdate};

use crate::common::{World, change, tag};

const TABLE: &str = "nc-dp-prod-documents";
const DR: &str = "ca-central-1";

fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// The DR data key's ARN, read in the DR region.
async fn dr_key(world: &World) -> String {
    aws_sdk_kms::Client::new(&world.sdk(DR).await)
        .describe_key()
        .key_id("alias/nc-dp-data-prod")
        .send()
        .await
        .expect("the DR data key")
        .key_metadata()
        .and_then(|m| m.arn())
        .unwrap_or_default()
        .to_string()
}

/// Reads back bucket `suffix`'s replication configuration and checks its one rule.
async fn check_rule(s3: &aws_sdk_s3::Client, tag: &str, suffix: &str, dr_key: &str) {
    let bucket = format!("nc-dp-prod-{suffix}-{tag}");
    let configuration = s3
        .get_bucket_replication()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{bucket} has a replication configuration: {e:?}"));
    let configuration = configuration
        .replication_configuration()
        .expect("a configuration");
    assert!(
        configuration
            .role()
            .ends_with(":role/nc/nc-prod-s3-replication-use1"),
        "{}",
        configuration.role()
    );
    let rules = configuration.rules();
    assert_eq!(rules.len(), 1, "{rules:#?}");
    let rule = &rules[0];
    assert_eq!(rule.status().as_str(), "Enabled");
    assert_eq!(
        rule.source_selection_criteria()
            .and_then(|c| c.sse_kms_encrypted_objects())
            .map(|o| o.status().as_str()),
        Some("Enabled"),
        "SSE-KMS objects are selected"
    );
    let destination = rule.destination().expect("a destination");
    assert_eq!(
        destination.bucket(),
        format!("arn:aws:s3:::nc-dp-prod-{suffix}-{tag}-cac1")
    );
    assert_eq!(
        destination
            .encryption_configuration()
            .and_then(|e| e.replica_kms_key_id()),
        Some(dr_key),
        "replicas are encrypted with the DR data key"
    );
    let rtc = destination.replication_time().expect("RTC");
    assert_eq!(rtc.status().as_str(), "Enabled");
    assert_eq!(rtc.time().and_then(|t| t.minutes()), Some(15));
    let metrics = destination.metrics().expect("replication metrics");
    assert_eq!(metrics.status().as_str(), "Enabled");
    assert_eq!(
        metrics.event_threshold().and_then(|t| t.minutes()),
        Some(15)
    );
}

/// Checks the table's replica in the DR region, read back in both regions.
async fn check_replica(world: &World, dr_key: &str) {
    let primary = aws_sdk_dynamodb::Client::new(&world.sdk("us-east-1").await);
    let described = primary
        .describe_table()
        .table_name(TABLE)
        .send()
        .await
        .expect("the table");
    let table = described.table().expect("a table");
    let replica = table
        .replicas()
        .iter()
        .find(|r| r.region_name() == Some(DR))
        .unwrap_or_else(|| panic!("a replica in {DR}: {table:#?}"));
    assert_eq!(replica.replica_status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(replica.kms_master_key_id(), Some(dr_key));

    let dr = aws_sdk_dynamodb::Client::new(&world.sdk(DR).await);
    let described = dr
        .describe_table()
        .table_name(TABLE)
        .send()
        .await
        .expect("the replica table in the DR region");
    let replica = described.table().expect("a table");
    assert_eq!(replica.table_status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(
        replica.deletion_protection_enabled(),
        Some(true),
        "deletion protection on the prod replica"
    );
    let backups = dr
        .describe_continuous_backups()
        .table_name(TABLE)
        .send()
        .await
        .expect("backups");
    assert_eq!(
        backups
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status())
            .map(|s| s.as_str()),
        Some("ENABLED"),
        "PITR on the replica"
    );
    let tags = dr
        .list_tags_of_resource()
        .resource_arn(replica.table_arn().unwrap_or_default())
        .send()
        .await
        .expect("replica tags");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "nc:id" && t.value() == "data.table.documents"),
        "the replica is tagged as the DR region's documents table: {tags:?}"
    );
}

#[tokio::test]
async fn the_primary_apply_replicates_buckets_and_table_and_reconcile_repairs_removals() {
    let tag = tag();
    let world = World::with_bucket_tag(Some(&tag));
    world.apply_saved("prod");

    let dr_key = dr_key(&world).await;
    assert!(dr_key.contains(":ca-central-1:"), "{dr_key}");
    let s3 = s3_client(&world.sdk("us-east-1").await);
    for suffix in ["raw", "norm"] {
        check_rule(&s3, &tag, suffix, &dr_key).await;
    }
    check_replica(&world, &dr_key).await;
    world
        .run(&["plan", "--env", "prod", "--detailed-exitcode"])
        .expect_code(0);

    // The DR region's own plan finds the replica as its documents table, with nothing to
    // change (a later rebuild leaves it as it is).
    let (_, dr_plan, stderr) = world.json(&["plan", "--env", "prod", "--region", DR]);
    for id in [
        "data.table.documents",
        "kms.key.data",
        &format!("data.bucket.raw-{tag}"),
    ] {
        assert_eq!(
            change(&dr_plan, id)["action"],
            "no_op",
            "{id} in the DR plan: {:#}\n{stderr}",
            change(&dr_plan, id)
        );
    }

    // Out of band: one bucket's replication removed, and the table's replica removed (its
    // deletion protection turned off first, as AWS requires).
    s3.delete_bucket_replication()
        .bucket(format!("nc-dp-prod-raw-{tag}"))
        .send()
        .await
        .expect("delete the replication configuration");
    let dr = aws_sdk_dynamodb::Client::new(&world.sdk(DR).await);
    dr.update_table()
        .table_name(TABLE)
        .deletion_protection_enabled(false)
        .send()
        .await
        .expect("unprotect the replica");
    let primary = aws_sdk_dynamodb::Client::new(&world.sdk("us-east-1").await);
    primary
        .update_table()
        .table_name(TABLE)
        .replica_updates(
            ReplicationGroupUpdate::builder()
                .delete(
                    DeleteReplicationGroupMemberAction::builder()
                        .region_name(DR)
                        .build()
                        .expect("delete action"),
                )
                .build(),
        )
        .send()
        .await
        .expect("remove the replica");
    for _ in 0..60 {
        let table = primary
            .describe_table()
            .table_name(TABLE)
            .send()
            .await
            .expect("the table");
        if table.table().is_some_and(|t| t.replicas().is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }

    let (code, drift, stderr) = world.json(&["drift", "--env", "prod"]);
    assert_eq!(code, 2, "{drift:#}\n{stderr}");
    let rule = change(&drift, &format!("data.replication.raw-{tag}"));
    assert_eq!(rule["action"], "create", "{rule:#}");
    let table = change(&drift, "data.table.documents");
    assert_eq!(table["action"], "update", "never a replacement: {table:#}");
    assert!(
        crate::common::changed_attributes(table).contains(&"replicas".to_string()),
        "{table:#}"
    );

    let (code, line, stderr) = world.json(&["reconcile", "--env", "prod", "--once"]);
    assert_eq!(code, 2, "{line:#}\n{stderr}");
    let drifted: Vec<&str> = line["drifted"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|id| id.as_str()).collect())
        .unwrap_or_default();
    assert!(drifted.contains(&"data.table.documents"), "{line:#}");
    assert!(
        drifted.contains(&format!("data.replication.raw-{tag}").as_str()),
        "{line:#}"
    );
    for suffix in ["raw", "norm"] {
        check_rule(&s3, &tag, suffix, &dr_key).await;
    }
    check_replica(&world, &dr_key).await;
    world
        .run(&["plan", "--env", "prod", "--detailed-exitcode"])
        .expect_code(0);
    let (code, line, _) = world.json(&["reconcile", "--env", "prod", "--once"]);
    assert_eq!(code, 0, "{line:#}");

    // Recovery evidence: with no ReplicationLatency datapoint, each rule's latency is not
    // checked (never ready) and does not block; a datapoint above the 15-minute RPO does.
    let latency = |report: &serde_json::Value, suffix: &str| {
        report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|check| check["id"] == format!("data.replication.{suffix}-{tag}.latency"))
            .cloned()
            .unwrap_or_else(|| panic!("no latency check for {suffix}: {report:#}"))
    };
    let (code, drill, stderr) = world.json(&["dr", "drill", "--env", "prod"]);
    assert_eq!(code, 0, "{drill:#}\n{stderr}");
    assert_eq!(latency(&drill, "raw")["state"], "not_checked", "{drill:#}");
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&world.sdk("us-east-1").await);
    let dimension = |name: &str, value: String| {
        aws_sdk_cloudwatch::types::Dimension::builder()
            .name(name)
            .value(value)
            .build()
    };
    cloudwatch
        .put_metric_data()
        .namespace("AWS/S3")
        .metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name("ReplicationLatency")
                .dimensions(dimension("SourceBucket", format!("nc-dp-prod-raw-{tag}")))
                .dimensions(dimension(
                    "DestinationBucket",
                    format!("nc-dp-prod-raw-{tag}-cac1"),
                ))
                .dimensions(dimension("RuleId", "replicate-to-dr-region".to_string()))
                .value(1200.0)
                .unit(aws_sdk_cloudwatch::types::StandardUnit::Seconds)
                .timestamp(aws_smithy_types::DateTime::from(
                    std::time::SystemTime::now(),
                ))
                .build(),
        )
        .send()
        .await
        .expect("PutMetricData");
    let (code, lagging, stderr) = world.json(&["dr", "drill", "--env", "prod"]);
    assert_eq!(code, 1, "{lagging:#}\n{stderr}");
    let raw = latency(&lagging, "raw");
    assert_eq!(raw["state"], "not_ready", "{raw:#}");
    assert!(
        raw["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("1200 s")),
        "{raw:#}"
    );
    assert_eq!(latency(&lagging, "norm")["state"], "not_checked");
}
