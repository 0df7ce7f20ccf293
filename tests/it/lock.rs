//! The apply lease: a held lease refuses a second apply naming its holder, an expired one is
//! taken over, every change leaves an audit record, and the lease is released at the end.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::common::World;

fn epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[tokio::test]
async fn a_held_lease_refuses_an_expired_one_is_taken_and_applies_are_audited() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    // The first apply creates the lock table, records an audit item and releases its lease.
    world
        .run(&["apply", "--env", "dev", "--auto-approve"])
        .expect_code(0);
    let dynamodb = aws_sdk_dynamodb::Client::new(&world.sdk("us-east-1").await);
    let items = dynamodb
        .scan()
        .table_name("nc-provision-locks")
        .send()
        .await
        .expect("scan");
    let keys: Vec<String> = items
        .items()
        .iter()
        .filter_map(|item| item.get("pk").and_then(|v| v.as_s().ok()).cloned())
        .collect();
    assert!(
        !keys.iter().any(|key| key.starts_with("lock#")),
        "lease released: {keys:?}"
    );
    let audits: Vec<serde_json::Value> = items
        .items()
        .iter()
        .filter(|item| {
            item.get("pk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|k| k.starts_with("audit#dev/us-east-1#"))
        })
        .filter_map(|item| item.get("record").and_then(|v| v.as_s().ok()))
        .filter_map(|text| serde_json::from_str(text).ok())
        .collect();
    assert_eq!(audits.len(), 1, "{audits:?}");
    assert_eq!(audits[0]["outcome"], "ok");
    assert_eq!(audits[0]["command"], "apply");
    assert!(
        audits[0]["who"]
            .as_str()
            .unwrap_or_default()
            .contains(&world.account),
        "{}",
        audits[0]
    );
    assert_eq!(
        audits[0]["summary"]["create"],
        crate::common::resource_count("dev")
    );

    // Someone else holds the lease: a change is refused and nothing happens.
    let kms = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await);
    kms.disable_key_rotation()
        .key_id("alias/nc-dp-data-dev")
        .send()
        .await
        .expect("drift");
    let hold = |expires_at: u64| {
        dynamodb
            .put_item()
            .table_name("nc-provision-locks")
            .item("pk", AttributeValue::S("lock#dev/us-east-1".into()))
            .item(
                "owner",
                AttributeValue::S("arn:aws:sts::1:assumed-role/ci/other on ci-7 pid 42".into()),
            )
            .item("expires_at", AttributeValue::N(expires_at.to_string()))
            .send()
    };
    hold(epoch() + 600).await.expect("hold the lease");
    let run = world.run(&["apply", "--env", "dev", "--auto-approve"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("is locked by arn:aws:sts::1:assumed-role/ci/other on ci-7 pid 42"),
        "{}",
        run.stderr
    );
    world
        .run(&["plan", "--env", "dev", "--detailed-exitcode"])
        .expect_code(2);
    // A read-only command never needs the lease.
    world.run(&["drift", "--env", "dev"]).expect_code(2);

    // The holder died: its lease expired, so the next apply takes it and repairs.
    hold(epoch() - 5).await.expect("expired lease");
    world
        .run(&["apply", "--env", "dev", "--auto-approve"])
        .expect_code(0);
    world
        .run(&["plan", "--env", "dev", "--detailed-exitcode"])
        .expect_code(0);
    let lease = dynamodb
        .get_item()
        .table_name("nc-provision-locks")
        .key("pk", AttributeValue::S("lock#dev/us-east-1".into()))
        .send()
        .await
        .expect("get");
    assert!(lease.item().is_none(), "released after the apply");
}
