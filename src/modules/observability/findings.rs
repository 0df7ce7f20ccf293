//! GuardDuty: the region's detector, and the EventBridge rule that delivers its findings to
//! their log group.

use super::{Context, DETECTOR, FINDINGS_LOG_GROUP, FINDINGS_RULE, log_prefix};
use crate::model::{Kind, LogicalId, Resource, Value};

pub(super) fn detector(context: &Context<'_>) -> Resource {
    Resource::new(DETECTOR, Kind::GuardDutyDetector, "detector")
        .prop("enabled", true)
        .prop(
            "frequency",
            context
                .spec
                .observability
                .guardduty_finding_publishing_frequency
                .clone(),
        )
        .prop("tags", context.tags(DETECTOR))
        .declared_by("observability.enable_guardduty")
        .from_spec(
            "frequency",
            "observability.guardduty_finding_publishing_frequency",
        )
}

/// GuardDuty findings → EventBridge → the findings log group, where the high/critical metric
/// filter and its alarm read them; with the Logs resource policy that lets EventBridge write
/// to this environment's security log groups.
pub(super) fn findings_rule(context: &Context<'_>) -> Resource {
    let env = context.env();
    let region = &context.target.region;
    let account = &context.target.account_id;
    let group = format!("{}security/guardduty-findings", log_prefix(context));
    let group_arn = format!("arn:aws:logs:{region}:{account}:log-group:{group}");
    let rule = format!("nc-{env}-guardduty-findings");
    let pattern = serde_json::json!({
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
    });
    // Two statements: EventBridge sends `aws:SourceArn` only with PutLogEvents, so a condition
    // on it would deny CreateLogStream (CloudWatch Logs resource policies for EventBridge;
    // AWS's serverless-patterns eventbridge-cloudwatch sample splits them the same way).
    let streams = format!(
        "arn:aws:logs:{region}:{account}:log-group:{}security/*:*",
        log_prefix(context)
    );
    let services = ["events.amazonaws.com", "delivery.logs.amazonaws.com"];
    let delivery = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EventBridgeCreatesStreams",
                "Effect": "Allow",
                "Principal": {"Service": services},
                "Action": "logs:CreateLogStream",
                "Resource": streams,
            },
            {
                "Sid": "EventBridgePutsEvents",
                "Effect": "Allow",
                "Principal": {"Service": services},
                "Action": "logs:PutLogEvents",
                "Resource": streams,
                "Condition": {"ArnEquals": {"aws:SourceArn": format!("arn:aws:events:{region}:{account}:rule/{rule}")}},
            }
        ],
    });
    Resource::new(FINDINGS_RULE, Kind::EventBridgeRule, rule.clone())
        .prop("event_pattern", crate::policy::canonical_text(&pattern))
        .prop("state", "ENABLED")
        .prop(
            "description",
            format!("GuardDuty findings of {env} into {group} (nc-provision)"),
        )
        .prop("target_arn", group_arn)
        .prop(
            "delivery_policy_name",
            format!("nc-{env}-events-to-security-logs"),
        )
        .prop("delivery_policy", Value::Policy(delivery))
        .prop("tags", context.tags(FINDINGS_RULE))
        .after(&LogicalId::new(FINDINGS_LOG_GROUP))
        .declared_by("observability.enable_guardduty")
}
