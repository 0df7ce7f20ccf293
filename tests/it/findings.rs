//! GuardDuty findings reach their log group: the EventBridge rule, its target and the Logs
//! resource policy, read back with the SDK; drift of the rule is detected and repaired.

use crate::common::{World, change, changed_attributes};

#[tokio::test]
async fn guardduty_findings_are_routed_to_their_log_group_and_drift_is_repaired() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    world
        .run(&["apply", "--env", "stg", "--auto-approve"])
        .expect_code(0);

    let sdk = world.sdk("us-east-1").await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let rule = events
        .describe_rule()
        .name("nc-stg-guardduty-findings")
        .send()
        .await
        .expect("rule");
    assert_eq!(rule.state().map(|s| s.as_str()), Some("ENABLED"));
    let pattern: serde_json::Value =
        serde_json::from_str(rule.event_pattern().unwrap_or_default()).expect("pattern");
    assert_eq!(pattern["source"], serde_json::json!(["aws.guardduty"]));
    assert_eq!(
        pattern["detail-type"],
        serde_json::json!(["GuardDuty Finding"])
    );
    let targets = events
        .list_targets_by_rule()
        .rule("nc-stg-guardduty-findings")
        .send()
        .await
        .expect("targets");
    let group_arn = format!(
        "arn:aws:logs:us-east-1:{}:log-group:/nc/stg/security/guardduty-findings",
        world.account
    );
    assert_eq!(
        targets
            .targets()
            .iter()
            .map(|t| t.arn())
            .collect::<Vec<_>>(),
        vec![group_arn.as_str()]
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let policies = logs
        .describe_resource_policies()
        .send()
        .await
        .expect("policies");
    let policy = policies
        .resource_policies()
        .iter()
        .find(|p| p.policy_name() == Some("nc-stg-events-to-security-logs"))
        .and_then(|p| p.policy_document())
        .expect("delivery policy");
    assert!(policy.contains("events.amazonaws.com"), "{policy}");

    // Drift: the rule disabled and its target removed.
    events
        .disable_rule()
        .name("nc-stg-guardduty-findings")
        .send()
        .await
        .expect("disable");
    events
        .remove_targets()
        .rule("nc-stg-guardduty-findings")
        .ids("log-group")
        .send()
        .await
        .expect("remove target");
    let (code, plan, _) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}");
    let rule_change = change(&plan, "observability.events.guardduty-findings");
    assert_eq!(rule_change["action"], "update");
    assert_eq!(
        changed_attributes(rule_change),
        vec!["state".to_string(), "target_arn".to_string()]
    );
    world
        .run(&["apply", "--env", "stg", "--auto-approve"])
        .expect_code(0);
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
    let rule = events
        .describe_rule()
        .name("nc-stg-guardduty-findings")
        .send()
        .await
        .expect("rule");
    assert_eq!(rule.state().map(|s| s.as_str()), Some("ENABLED"));
}
