//! The DR standby kept by the primary apply: with `data.replicate_to_dr_region` (prod), `apply`
//! in us-east-1 also makes the DR region's data key and a replica bucket per data bucket in
//! ca-central-1, re-plans clean, and a later `dr rebuild` adopts them as its own (same key, no
//! second alias, no change).

use crate::common::{World, tag};

#[tokio::test]
async fn the_primary_apply_keeps_the_dr_data_key_and_replica_buckets() {
    let tag = tag();
    let world = World::with_bucket_tag(Some(&tag));
    world.apply_saved("prod");

    let sdk = world.sdk("ca-central-1").await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key_arn = |described: aws_sdk_kms::operation::describe_key::DescribeKeyOutput| {
        described
            .key_metadata()
            .map(|m| m.arn().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    let before = key_arn(
        kms.describe_key()
            .key_id("alias/nc-dp-data-prod")
            .send()
            .await
            .expect("the DR data key exists before any rebuild"),
    );
    assert!(before.contains(":ca-central-1:"), "{before}");
    let tags = kms
        .list_resource_tags()
        .key_id(&before)
        .send()
        .await
        .expect("key tags");
    let id_tag: Vec<&str> = tags
        .tags()
        .iter()
        .filter(|t| t.tag_key() == "nc:id")
        .map(|t| t.tag_value())
        .collect();
    assert_eq!(
        id_tag,
        ["kms.key.data"],
        "tagged as the DR region's own data key"
    );

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    for suffix in ["raw", "norm"] {
        let bucket = format!("nc-dp-prod-{suffix}-{tag}-cac1");
        let location = s3
            .get_bucket_location()
            .bucket(&bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{bucket}: {e:?}"));
        assert_eq!(
            location.location_constraint().map(|c| c.as_str()),
            Some("ca-central-1")
        );
        let versioning = s3
            .get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .expect("versioning");
        assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
        let encryption = s3
            .get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .expect("encryption");
        let key = encryption
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .and_then(|d| d.kms_master_key_id())
            .unwrap_or_default()
            .to_string();
        assert!(
            before.ends_with(key.rsplit('/').next().unwrap_or("-")),
            "{bucket} is encrypted with the DR data key {before}, not {key}"
        );
    }

    // The primary re-plans clean, standby included.
    world
        .run(&["plan", "--env", "prod", "--detailed-exitcode"])
        .expect_code(0);

    // The drill reads both regions and changes nothing: the standby is ready, the DR region's
    // own resources are pending (a rebuild would create them), nothing blocks.
    let (code, drill, stderr) = world.json(&["dr", "drill", "--env", "prod"]);
    assert_eq!(code, 0, "{drill:#}\n{stderr}");
    assert_eq!(drill["mode"], "drill");
    assert_eq!(drill["ready"], true, "{drill:#}");
    assert!(drill["report"].is_null(), "a drill changes nothing");
    let state_of = |report: &serde_json::Value, id: &str| {
        report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|check| check["id"] == id)
            .map(|check| check["state"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(
        state_of(&drill, &format!("dr.data.bucket.raw-{tag}")).as_deref(),
        Some("ready"),
        "{drill:#}"
    );
    assert_eq!(state_of(&drill, "vpc.main").as_deref(), Some("pending"));
    // A standby replica bucket whose versioning was suspended out of band blocks the drill.
    s3.put_bucket_versioning()
        .bucket(format!("nc-dp-prod-raw-{tag}-cac1"))
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("suspend versioning");
    let (code, blocked, _) = world.json(&["dr", "drill", "--env", "prod"]);
    assert_eq!(code, 1, "{blocked:#}");
    assert_eq!(
        state_of(&blocked, &format!("dr.data.bucket.raw-{tag}")).as_deref(),
        Some("not_ready"),
        "{blocked:#}"
    );
    // Drift in the standby is repaired by the primary's reconcile (exit 2: drift was found).
    world
        .run(&["reconcile", "--env", "prod", "--once"])
        .expect_code(2);

    // A rebuild adopts the standby: the same key, one alias, and nothing left to change.
    let (code, report, stderr) = world.json(&["dr", "rebuild", "--env", "prod"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["ready"], true, "{report:#}");
    let after = key_arn(
        kms.describe_key()
            .key_id("alias/nc-dp-data-prod")
            .send()
            .await
            .expect("the DR data key"),
    );
    assert_eq!(before, after, "the rebuild kept the standby key");
    let aliases = kms.list_aliases().send().await.expect("aliases");
    let data_aliases = aliases
        .aliases()
        .iter()
        .filter(|a| a.alias_name() == Some("alias/nc-dp-data-prod"))
        .count();
    assert_eq!(data_aliases, 1);
    world
        .run(&["plan", "--env", "prod", "--detailed-exitcode"])
        .expect_code(0);
}
