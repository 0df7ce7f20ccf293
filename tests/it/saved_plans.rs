//! Saved plans: prod needs one, a fresh one applies, a stale one is refused with reasons.

use crate::common::World;

#[test]
fn prod_apply_requires_a_reviewed_plan() {
    let world = World::new();
    let run = world.run(&["apply", "--env", "prod", "--auto-approve"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("requires a reviewed plan"),
        "{}",
        run.stderr
    );
}

#[test]
fn apply_without_a_terminal_or_auto_approve_refuses_and_changes_nothing() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    let run = world.run(&["apply", "--env", "dev"]);
    run.expect_code(1);
    assert!(run.stderr.contains("not a terminal"), "{}", run.stderr);
    world
        .run(&["plan", "--env", "dev", "--detailed-exitcode"])
        .expect_code(2);
    let (_, plan, _) = world.json(&["plan", "--env", "dev"]);
    assert_eq!(
        plan["summary"]["create"],
        crate::common::resource_count("dev"),
        "nothing was created: {plan:#}"
    );
}

#[tokio::test]
async fn a_stale_saved_plan_is_refused_naming_what_changed() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    world
        .run(&["apply", "--env", "stg", "--auto-approve"])
        .expect_code(0);
    let plan_file = world.specs.join("stg.plan");
    let plan_path = plan_file.to_string_lossy().to_string();
    world
        .run(&["plan", "--env", "stg", "--out", &plan_path])
        .expect_code(0);

    // Someone disables rotation between review and apply.
    let kms = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await);
    kms.disable_key_rotation()
        .key_id("alias/nc-dp-logs-stg")
        .send()
        .await
        .expect("disable rotation");
    let run = world.run(&["apply", "--env", "stg", "--plan", &plan_path]);
    run.expect_code(1);
    assert!(run.stderr.contains("stale"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("kms.key.logs: rotation changed from true to false"),
        "{}",
        run.stderr
    );
    let status = kms
        .get_key_rotation_status()
        .key_id("alias/nc-dp-logs-stg")
        .send()
        .await
        .expect("rotation");
    assert!(
        !status.key_rotation_enabled(),
        "the refused apply changed nothing"
    );

    // A spec edit also makes the plan stale.
    world
        .run(&["plan", "--env", "stg", "--out", &plan_path])
        .expect_code(0);
    world.edit_spec("stg", |text| {
        text.replace("deletion_window_days = 30", "deletion_window_days = 29")
    });
    let run = world.run(&["apply", "--env", "stg", "--plan", &plan_path]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("spec: the spec changed"),
        "{}",
        run.stderr
    );

    // A fresh plan applies and repairs.
    world
        .run(&["plan", "--env", "stg", "--out", &plan_path])
        .expect_code(0);
    world
        .run(&["apply", "--env", "stg", "--plan", &plan_path])
        .expect_code(0);
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
}
