//! Issue 15, item 5 — spec-line provenance: every planned change names the spec lines that
//! cause it, or says it is drift. An applied stg world gets a spec edit (the operational log
//! retention), an out-of-band change the spec sets no line for (a data bucket's versioning,
//! suspended with the SDK) and a left-over topic tagged ours that the spec does not declare;
//! the JSON, human and Markdown plans and the saved plan name each cause.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use aws_sdk_sns::types::Tag;

use crate::common::{World, change};

const ENV: &str = "stg";
/// The operational log group, whose retention comes from `observability.log_retention_days`.
const OPS_LOG_GROUP: &str = "observability.log.operations";
const ORPHAN_TOPIC: &str = "nc-stg-retired-alerts";
const ORPHAN_ID: &str = "observability.topic.retired";

/// The 1-based line of the world's spec that starts with `prefix`.
fn line_of(world: &World, prefix: &str) -> usize {
    let text = std::fs::read_to_string(world.specs.join(format!("{ENV}.toml"))).expect("spec");
    text.lines()
        .position(|line| line.starts_with(prefix))
        .map(|index| index + 1)
        .unwrap_or_else(|| panic!("no line starts with {prefix:?}"))
}

#[tokio::test]
async fn every_change_names_its_spec_lines_or_drift() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    let (code, report, stderr) = world.json(&["apply", "--env", ENV, "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");

    // The spec moves: a longer operational log retention.
    world.edit_spec(ENV, |text| {
        text.replace("\nlog_retention_days = 30", "\nlog_retention_days = 90")
    });
    let retention_line = line_of(&world, "log_retention_days = 90");
    let spec_file = world.specs.join(format!("{ENV}.toml"));
    let spec_file = spec_file.to_str().expect("utf-8 path");

    // The account moves: versioning suspended (no spec line sets it), and a topic tagged ours
    // that the spec does not declare.
    let raw = format!("nc-dp-{ENV}-raw-{tag}");
    world
        .s3()
        .await
        .put_bucket_versioning()
        .bucket(&raw)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("suspend versioning");
    let sns = aws_sdk_sns::Client::new(&world.sdk("us-east-1").await);
    let tags = [
        ("ManagedBy", "nc-provision"),
        ("nc:env", ENV),
        ("nc:id", ORPHAN_ID),
    ]
    .map(|(key, value)| Tag::builder().key(key).value(value).build().expect("tag"));
    sns.create_topic()
        .name(ORPHAN_TOPIC)
        .set_tags(Some(tags.to_vec()))
        .send()
        .await
        .expect("create a left-over topic of ours");

    let (code, plan, stderr) = world.json(&["plan", "--env", ENV, "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    let group = change(&plan, OPS_LOG_GROUP);
    assert_eq!(group["action"], "update", "{group:#}");
    assert_eq!(
        group["causes"],
        serde_json::json!([{
            "file": spec_file,
            "line": retention_line,
            "key": "observability.log_retention_days",
        }]),
        "the retention change names the edited line: {group:#}"
    );
    let bucket = change(&plan, &format!("data.bucket.raw-{tag}"));
    assert_eq!(bucket["action"], "update", "{bucket:#}");
    assert_eq!(
        bucket["causes"],
        serde_json::json!([{"drift": "live differs from the spec", "attributes": ["versioning"]}]),
        "no spec line sets versioning: drift: {bucket:#}"
    );
    let orphan = change(&plan, ORPHAN_ID);
    assert_eq!(orphan["action"], "delete", "{orphan:#}");
    assert_eq!(
        orphan["causes"],
        serde_json::json!([{"drift": "not in the spec"}])
    );
    for change in plan["changes"].as_array().expect("changes") {
        let causes = change["causes"].as_array().expect("causes");
        let changes = change["action"] != "no_op";
        assert_eq!(
            !causes.is_empty(),
            changes,
            "a change names causes, an unchanged resource none: {change:#}"
        );
    }

    let human = world.run(&["plan", "--env", ENV]);
    human.expect_code(0);
    for line in [
        format!("  # from {spec_file}:{retention_line} observability.log_retention_days"),
        "  # drift: live differs from the spec (versioning)".to_string(),
        "  # drift: not in the spec".to_string(),
    ] {
        assert!(
            human.stdout.lines().any(|shown| shown == line),
            "the human plan shows {line:?}:\n{}",
            human.stdout
        );
    }
    let markdown = world.run(&["plan", "--env", ENV, "--format", "markdown"]);
    markdown.expect_code(0);
    assert!(
        markdown.stdout.contains(&format!(
            "- from {spec_file}:{retention_line} observability.log_retention_days"
        )),
        "{}",
        markdown.stdout
    );

    // A saved plan records the causes for review.
    let saved = world.specs.join("stg.plan");
    let saved = saved.to_str().expect("utf-8 path");
    world
        .run(&["plan", "--env", ENV, "--out", saved])
        .expect_code(0);
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved).expect("saved plan"))
            .expect("saved plan JSON");
    assert_eq!(
        change(&document["plan"], OPS_LOG_GROUP)["causes"][0]["line"],
        retention_line
    );

    // Once applied, nothing changes and nothing has a cause.
    let (code, report, stderr) =
        world.json(&["apply", "--env", ENV, "--auto-approve", "--allow-destroy"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let (code, plan, stderr) = world.json(&["plan", "--env", ENV, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{plan:#}\n{stderr}");
    assert!(
        plan["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .all(|change| change["causes"] == serde_json::json!([])),
        "{plan:#}"
    );
}
