//! Services that deliver records into the account's buckets and log groups: CloudTrail,
//! AWS Config, EventBridge, VPC flow logs and S3 server access logging.

use super::{
    ACCESS_LOGS, CONFIG_DELIVERY, EVENTS_LOGS, FLOW_LOGS, Out, TRAIL_BUCKET, TRAIL_KEY, TRAIL_LOGS,
    at, bucket_policy, identity, key_grant, service,
};
use crate::model::Kind;
use crate::policy::eval::{Principal, Request};

/// CloudTrail checks the bucket ACL and writes under `AWSLogs/{account}/` with the trail's
/// ARN as `aws:SourceArn`; encrypts with the trail's key (`kms:EncryptionContext:aws:cloudtrail:arn`);
/// and assumes its role to write to the log group.
pub(super) fn trails(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = out.place();
    // A trail verified from outside its home region (global here) was proven there.
    for trail in graph
        .of_kind(Kind::CloudTrailTrail)
        .filter(|trail| !trail.global)
    {
        let trail_arn = format!("arn:aws:cloudtrail:{region}:{account}:trail/{}", trail.name);
        let cloudtrail = service("cloudtrail.amazonaws.com");
        let from_trail = |request: Request| {
            request
                .with("aws:SourceArn", trail_arn.clone())
                .with("aws:SourceAccount", account.clone())
                .with("aws:SecureTransport", "true")
        };
        if let Some(bucket_name) = graph.text(trail, "s3_bucket") {
            let grants = bucket_policy(graph, &bucket_name);
            let bucket_arn = format!("arn:aws:s3:::{bucket_name}");
            let acl = Request::new(cloudtrail.clone(), "s3:GetBucketAcl", bucket_arn.clone());
            out.require(&TRAIL_BUCKET, trail, true, from_trail(acl), grants.clone());
            let object = format!(
                "{bucket_arn}/AWSLogs/{account}/CloudTrail/{region}/2026/01/01/{account}_CloudTrail_{region}_x.json.gz"
            );
            let put = Request::new(cloudtrail.clone(), "s3:PutObject", object)
                .with("s3:x-amz-acl", "bucket-owner-full-control");
            out.require(&TRAIL_BUCKET, trail, true, from_trail(put), grants);
        }
        if let Some((key, grant)) = key_grant(graph, trail, "kms_key") {
            let data_key = Request::new(cloudtrail.clone(), "kms:GenerateDataKey", key.clone())
                .with(
                    "kms:EncryptionContext:aws:cloudtrail:arn",
                    trail_arn.clone(),
                )
                .with("aws:SourceArn", trail_arn.clone());
            out.require(&TRAIL_KEY, trail, true, data_key, vec![grant.clone()]);
            let describe = Request::new(cloudtrail.clone(), "kms:DescribeKey", key)
                .with("aws:SourceArn", trail_arn.clone());
            out.require(&TRAIL_KEY, trail, true, describe, vec![grant]);
        }
        if let Some(role) = graph.referenced(trail, "cloudwatch_role_arn") {
            let context = [
                ("aws:SourceAccount", account.clone()),
                ("aws:SourceArn", trail_arn.clone()),
            ];
            out.require_assume(
                &TRAIL_LOGS,
                trail,
                true,
                (cloudtrail.clone(), role),
                &context,
            );
            let group = graph
                .text(trail, "cloudwatch_log_group_arn")
                .map(|arn| arn.trim_end_matches(":*").to_string())
                .unwrap_or_default();
            let stream = format!("{group}:log-stream:{account}_CloudTrail_{region}");
            let role_arn = Principal::Aws(graph.arn(role));
            for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
                let request = Request::new(role_arn.clone(), action, stream.clone());
                out.require(&TRAIL_LOGS, trail, true, request, identity(graph, role));
            }
        }
    }
}

/// AWS Config assumes its role (trust: `config.amazonaws.com`), then checks the bucket ACL and
/// writes under `{prefix}/AWSLogs/{account}/Config/` with `bucket-owner-full-control`.
pub(super) fn config_delivery(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = out.place();
    for (recorder, role) in graph.linked(Kind::ConfigRecorder, "role_arn") {
        let config = (service("config.amazonaws.com"), role);
        let context = [("aws:SourceAccount", account.clone())];
        out.require_assume(&CONFIG_DELIVERY, recorder, true, config, &context);
        let Some(bucket_name) = graph.text(recorder, "delivery_bucket") else {
            continue;
        };
        let mut grants = identity(graph, role);
        grants.extend(bucket_policy(graph, &bucket_name));
        let prefix = graph
            .text(recorder, "delivery_prefix")
            .filter(|prefix| !prefix.is_empty())
            .map(|prefix| format!("{prefix}/"))
            .unwrap_or_default();
        let bucket_arn = format!("arn:aws:s3:::{bucket_name}");
        let principal = Principal::Aws(graph.arn(role));
        let acl = Request::new(principal.clone(), "s3:GetBucketAcl", bucket_arn.clone())
            .with("aws:SecureTransport", "true");
        out.require(&CONFIG_DELIVERY, recorder, true, acl, grants.clone());
        let object = format!(
            "{bucket_arn}/{prefix}AWSLogs/{account}/Config/{region}/2026/1/1/ConfigSnapshot/x.json.gz"
        );
        let put = Request::new(principal, "s3:PutObject", object)
            .with("s3:x-amz-acl", "bucket-owner-full-control")
            .with("aws:SecureTransport", "true");
        out.require(&CONFIG_DELIVERY, recorder, true, put, grants);
    }
}

/// EventBridge creates a stream in the target group (no `aws:SourceArn`), then puts events
/// (with the rule's ARN as `aws:SourceArn`), as `events.amazonaws.com`, under the Logs resource
/// policy the rule holds.
pub(super) fn event_rules(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = out.place();
    for (rule, target) in graph.with_text(Kind::EventBridgeRule, "target_arn") {
        if !target.starts_with("arn:aws:logs:") {
            continue;
        }
        let rule_arn = format!("arn:aws:events:{region}:{account}:rule/{}", rule.name);
        let stream = format!("{}:log-stream:x", target.trim_end_matches(":*"));
        let events = service("events.amazonaws.com");
        let grants = vec![at(rule, "delivery_policy")];
        let create = Request::new(events.clone(), "logs:CreateLogStream", stream.clone());
        out.require(&EVENTS_LOGS, rule, true, create, grants.clone());
        let put = Request::new(events, "logs:PutLogEvents", stream).with("aws:SourceArn", rule_arn);
        out.require(&EVENTS_LOGS, rule, true, put, grants);
    }
}

/// The flow-log service assumes the role (`aws:SourceAccount`, `aws:SourceArn` of the flow
/// log), which must create streams, put events and describe the group and its streams. The
/// group is created by the tool, so `logs:CreateLogGroup` is not needed.
pub(super) fn flow_logs(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = out.place();
    for (flow_log, role) in graph.linked(Kind::FlowLog, "deliver_logs_permission_arn") {
        let flow_logs = (service("vpc-flow-logs.amazonaws.com"), role);
        let context = [
            ("aws:SourceAccount", account.clone()),
            (
                "aws:SourceArn",
                format!("arn:aws:ec2:{region}:{account}:vpc-flow-log/fl-0123456789abcdef0"),
            ),
        ];
        out.require_assume(&FLOW_LOGS, flow_log, true, flow_logs, &context);
        let Some(group) = graph.referenced(flow_log, "log_group_name") else {
            continue;
        };
        let group_arn = graph.arn(group);
        let stream = format!("{group_arn}:log-stream:eni-0123456789abcdef0-all");
        let principal = Principal::Aws(graph.arn(role));
        for (action, resource) in [
            ("logs:CreateLogStream", stream.clone()),
            ("logs:PutLogEvents", stream),
            ("logs:DescribeLogStreams", group_arn),
            (
                "logs:DescribeLogGroups",
                format!("arn:aws:logs:{region}:{account}:log-group:*"),
            ),
        ] {
            let request = Request::new(principal.clone(), action, resource);
            out.require(&FLOW_LOGS, flow_log, true, request, identity(graph, role));
        }
    }
}

/// S3's logging service writes into the target bucket as `logging.s3.amazonaws.com`, with the
/// source bucket as `aws:SourceArn` and its owner as `aws:SourceAccount`.
pub(super) fn access_logging(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, _) = out.place();
    for (source, target) in graph.with_text(Kind::S3Bucket, "logging_target") {
        let prefix = graph.text(source, "logging_prefix").unwrap_or_default();
        let grants = bucket_policy(graph, &target);
        let request = Request::new(
            service("logging.s3.amazonaws.com"),
            "s3:PutObject",
            format!("arn:aws:s3:::{target}/{prefix}2026-01-01-00-00-00-0123456789ABCDEF"),
        )
        .with("aws:SourceArn", format!("arn:aws:s3:::{}", source.name))
        .with("aws:SourceAccount", account.clone())
        .with("aws:SecureTransport", "true");
        out.require(&ACCESS_LOGS, source, true, request, grants);
    }
}
