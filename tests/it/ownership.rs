//! Ownership by tags: a same-named resource that is not ours is a conflict until adopted.

use crate::common::{World, change};

#[tokio::test]
async fn a_foreign_bucket_is_a_conflict_and_adopt_takes_it_over() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    let bucket = format!("nc-dp-dev-raw-{tag}");
    let s3 = world.s3().await;
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("foreign bucket");

    let (code, plan, _) = world.json(&["plan", "--env", "dev", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    let conflict = change(&plan, &format!("data.bucket.raw-{tag}"));
    assert_eq!(conflict["action"], "conflict", "{conflict:#}");
    assert!(
        conflict["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("--adopt")
    );

    let run = world.run(&["apply", "--env", "dev", "--auto-approve"]);
    run.expect_code(1);
    assert!(run.stderr.contains("conflict"), "{}", run.stderr);
    let listed = s3.list_buckets().send().await.expect("list");
    assert_eq!(
        listed.buckets().len(),
        1,
        "the refused apply created nothing"
    );

    let (code, report, stderr) =
        world.json(&["apply", "--env", "dev", "--auto-approve", "--adopt"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["summary"]["adopt"], 1, "{report:#}");
    let tags = s3
        .get_bucket_tagging()
        .bucket(&bucket)
        .send()
        .await
        .expect("tags");
    assert!(
        tags.tag_set()
            .iter()
            .any(|t| t.key() == "ManagedBy" && t.value() == "nc-provision"),
        "adopted bucket is tagged"
    );
    world
        .run(&["plan", "--env", "dev", "--detailed-exitcode"])
        .expect_code(0);
}
