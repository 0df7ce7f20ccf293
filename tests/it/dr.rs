//! `dr rebuild`: the regional resources appear in the DR region, with regional bucket names,
//! and the rebuild ends ready (a re-plan there is no-change).

use crate::common::World;

#[tokio::test]
async fn dr_rebuild_creates_the_regional_half_in_ca_central_1() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    let (code, report, stderr) = world.json(&["dr", "rebuild", "--env", "stg"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["region"], "ca-central-1");
    assert_eq!(report["ready"], true, "{report:#}");
    assert!(report["elapsed_seconds"].as_u64().is_some());

    let sdk = world.sdk("ca-central-1").await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = kms
        .describe_key()
        .key_id("alias/nc-dp-data-stg")
        .send()
        .await
        .expect("data key in the DR region");
    let arn = key
        .key_metadata()
        .and_then(|m| m.arn())
        .unwrap_or_default()
        .to_string();
    assert!(arn.contains(":ca-central-1:"), "{arn}");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("nc-dp-stg-raw-{tag}-cac1");
    let location = s3
        .get_bucket_location()
        .bucket(&bucket)
        .send()
        .await
        .expect("DR bucket");
    assert_eq!(
        location.location_constraint().map(|c| c.as_str()),
        Some("ca-central-1")
    );
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    dynamodb
        .describe_table()
        .table_name("nc-dp-stg-documents")
        .send()
        .await
        .expect("table in the DR region");

    // The primary region was not touched.
    let (code, primary, _) = world.json(&["plan", "--env", "stg"]);
    assert_eq!(code, 0);
    assert_eq!(primary["summary"]["create"], 5, "{primary:#}");
    world
        .run(&[
            "plan",
            "--env",
            "stg",
            "--region",
            "ca-central-1",
            "--detailed-exitcode",
        ])
        .expect_code(0);
}
