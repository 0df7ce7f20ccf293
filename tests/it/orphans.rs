//! Orphans of the kinds that never reported them before issue 14: an SNS topic and an
//! EventBridge rule tagged ours for the environment whose `nc:id` the spec does not name are
//! planned for deletion, deleted with `--allow-destroy`, and read back gone with the SDK; a
//! topic of the same name prefix that is not ours is left alone.

use aws_sdk_eventbridge::types::Tag as RuleTag;
use aws_sdk_sns::types::Tag as TopicTag;

use crate::common::{World, change, count_actions};

const ENV: &str = "dev";
const TOPIC: &str = "nc-dev-retired-alerts";
const TOPIC_ID: &str = "observability.topic.retired";
const FOREIGN_TOPIC: &str = "nc-dev-someone-elses";
const RULE: &str = "nc-dev-retired-findings";
const RULE_ID: &str = "observability.rule.retired";

/// ManagedBy / nc:env / nc:id as the tool writes them.
fn ours(id: &str) -> [(&'static str, String); 3] {
    [
        ("ManagedBy", "nc-provision".to_string()),
        ("nc:env", ENV.to_string()),
        ("nc:id", id.to_string()),
    ]
}

async fn topic_names(sns: &aws_sdk_sns::Client) -> Vec<String> {
    sns.list_topics()
        .send()
        .await
        .expect("list topics")
        .topics()
        .iter()
        .filter_map(|topic| topic.topic_arn()?.rsplit(':').next().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_topic_and_a_rule_the_spec_no_longer_names_are_deleted_with_allow_destroy() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    let (code, report, stderr) = world.json(&["apply", "--env", ENV, "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");

    let sdk = world.sdk("us-east-1").await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let topic_tags = ours(TOPIC_ID).map(|(key, value)| {
        TopicTag::builder()
            .key(key)
            .value(value)
            .build()
            .expect("tag")
    });
    sns.create_topic()
        .name(TOPIC)
        .set_tags(Some(topic_tags.to_vec()))
        .send()
        .await
        .expect("create our left-over topic");
    sns.create_topic()
        .name(FOREIGN_TOPIC)
        .tags(
            TopicTag::builder()
                .key("team")
                .value("other")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("create a foreign topic");
    let rule_tags = ours(RULE_ID).map(|(key, value)| {
        RuleTag::builder()
            .key(key)
            .value(value)
            .build()
            .expect("tag")
    });
    events
        .put_rule()
        .name(RULE)
        .event_pattern(r#"{"source":["aws.guardduty"]}"#)
        .set_tags(Some(rule_tags.to_vec()))
        .send()
        .await
        .expect("create our left-over rule");

    let (code, plan, stderr) = world.json(&["plan", "--env", ENV, "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    for id in [TOPIC_ID, RULE_ID] {
        assert_eq!(change(&plan, id)["action"], "delete", "{id}: {plan:#}");
    }
    assert_eq!(
        count_actions(&plan, "delete", &[""]),
        2,
        "only the two orphans are deleted, never the foreign topic: {plan:#}"
    );

    // Without --allow-destroy nothing is deleted.
    world
        .run(&["apply", "--env", ENV, "--auto-approve"])
        .expect_code(0);
    assert!(topic_names(&sns).await.contains(&TOPIC.to_string()));

    let (code, report, stderr) =
        world.json(&["apply", "--env", ENV, "--auto-approve", "--allow-destroy"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let topics = topic_names(&sns).await;
    assert!(!topics.contains(&TOPIC.to_string()), "{topics:?}");
    assert!(
        topics.contains(&FOREIGN_TOPIC.to_string()),
        "a topic not ours is left alone: {topics:?}"
    );
    let rule = events.describe_rule().name(RULE).send().await;
    assert!(
        rule.as_ref()
            .err()
            .and_then(|error| error.as_service_error())
            .is_some_and(|error| error.is_resource_not_found_exception()),
        "the rule is gone: {rule:?}"
    );
    world
        .run(&["plan", "--env", ENV, "--detailed-exitcode"])
        .expect_code(0);
}
