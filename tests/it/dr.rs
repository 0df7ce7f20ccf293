//! `dr rebuild`: the regional resources appear in the DR region, with regional bucket names,
//! and the rebuild ends ready (a re-plan there is no-change).

use crate::common::World;

#[tokio::test]
async fn dr_rebuild_creates_the_regional_half_in_ca_central_1() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    // Global IAM is managed from the primary region: apply it first.
    world
        .run(&["apply", "--env", "stg", "--auto-approve"])
        .expect_code(0);
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

    // The primary region was not touched, and no global resource was duplicated or changed.
    let (code, primary, _) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{primary:#}");
    assert_eq!(
        primary["summary"]["no_op"],
        crate::common::resource_count("stg"),
        "{primary:#}"
    );
    let iam = aws_sdk_iam::Client::new(&sdk);
    let roles = iam
        .list_roles()
        .path_prefix("/nc/")
        .send()
        .await
        .expect("roles");
    let mut names: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).collect();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count, "no duplicated roles: {names:?}");
    // No second multi-region trail in the DR region: the primary's is seen there as a shadow.
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&world.moto_sdk("ca-central-1").await);
    let own = cloudtrail
        .describe_trails()
        .include_shadow_trails(false)
        .send()
        .await
        .expect("trails");
    assert!(own.trail_list().is_empty(), "{:?}", own.trail_list());
    let seen = cloudtrail
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .expect("trails");
    let homes: Vec<(&str, &str)> = seen
        .trail_list()
        .iter()
        .map(|t| {
            (
                t.name().unwrap_or_default(),
                t.home_region().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(homes, [("nc-dp-stg-trail", "us-east-1")]);
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

    // Readiness never reports what it could not read as ready-and-checked: with SNS answering
    // 501 (emulator mode), the topics are listed as not checked.
    let broken = crate::safety::NotImplemented::start();
    let mut command = world.command(&["dr", "rebuild", "--env", "stg", "--format", "json"]);
    command.env("AWS_ENDPOINT_URL_SNS", &broken.url);
    let run = crate::common::Run::from(command.output().expect("run"));
    let again: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", run.stdout, run.stderr));
    let not_checked: Vec<String> = again["not_checked"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|id| id.as_str().map(str::to_string))
        .collect();
    assert!(
        !not_checked.is_empty()
            && not_checked
                .iter()
                .all(|id| id.starts_with("observability.topic")),
        "{again:#}"
    );
}

#[tokio::test]
async fn dr_rebuild_refuses_when_the_primary_region_never_made_the_global_iam() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    let (code, plan, _) = world.json(&["plan", "--env", "stg", "--region", "ca-central-1"]);
    assert_eq!(code, 0);
    let role = crate::common::change(&plan, "iam.role.lambda-etl");
    assert_eq!(role["action"], "conflict", "{role:#}");
    assert_eq!(role["global"], true, "{role:#}");
    let reason = role["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("managed from the primary region us-east-1; apply there first"),
        "{reason}"
    );
    let key = crate::common::change(&plan, "kms.key.data");
    assert_eq!(
        key["action"], "create",
        "regional resources are still planned"
    );
    let run = world.run(&["dr", "rebuild", "--env", "stg"]);
    run.expect_code(1);
    let iam = aws_sdk_iam::Client::new(&world.sdk("ca-central-1").await);
    let roles = iam
        .list_roles()
        .path_prefix("/nc/")
        .send()
        .await
        .expect("roles");
    assert!(roles.roles().is_empty(), "the DR side created no IAM");
}
