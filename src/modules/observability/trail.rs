//! The audit trail and the service roles CloudTrail and AWS Config assume.

use serde_json::json;

use super::buckets::{access_log_bucket_name, trail_bucket_name};
use super::{
    CONFIG_PREFIX, CONFIG_ROLE, Context, TRAIL, TRAIL_BUCKET, TRAIL_LOG_GROUP, TRAIL_ROLE, addr,
    log_prefix,
};
use crate::model::{Kind, LogicalId, Resource, Value};
use crate::modules::role;

/// The trail's name (one per account and environment).
#[must_use]
pub fn trail_name(context: &Context<'_>) -> String {
    format!("nc-dp-{}-trail", context.env())
}

/// The trail's ARN, as CloudTrail will name it (the bucket policy's SourceArn condition): the
/// trail of this region, whose name carries the regional suffix outside the primary region.
pub(super) fn trail_arn(context: &Context<'_>) -> String {
    format!(
        "arn:aws:cloudtrail:{}:{}:trail/{}",
        context.target.region,
        context.target.account_id,
        context.global_name(&trail_name(context))
    )
}

/// A role `service` assumes (for this account only), with AWS managed policies and one inline
/// policy, under `/nc/`.
fn service_role(
    context: &Context<'_>,
    id: &str,
    name: &str,
    service: &str,
    managed: &[&str],
    inline: (&str, serde_json::Value),
    description: &str,
) -> Resource {
    let mut managed: Vec<Value> = managed.iter().map(|arn| Value::str(*arn)).collect();
    managed.sort_by(|left, right| left.as_str().cmp(&right.as_str()));
    let condition = json!({"StringEquals": {"aws:SourceAccount": context.target.account_id}});
    let role = role::service_role(id, name, role::trust(service, Some(condition)));
    role::with_inline_policy(role, inline.0, inline.1)
        .prop("managed_policies", Value::List(managed))
        .prop(
            "description",
            format!("{description} ({}; managed by nc-provision)", context.env()),
        )
        .prop("tags", context.tags(id))
}

/// The roles CloudTrail (delivery to the trail log group) and AWS Config (recording, delivery
/// to the trail bucket) assume. IAM is global: the policies cover every region of the
/// environment (the DR region's trail bucket carries a regional suffix), so that a plan in
/// any region sees the same role.
pub(super) fn roles(context: &Context<'_>) -> Vec<Resource> {
    let account = &context.target.account_id;
    let group = format!("{}audit/cloudtrail", log_prefix(context));
    let env = context.env();
    let trail_role = service_role(
        context,
        TRAIL_ROLE,
        &format!("nc-{env}-cloudtrail-logs"),
        "cloudtrail.amazonaws.com",
        &[],
        (
            "deliver-to-cloudwatch-logs",
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DeliverTrailEvents",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": format!("arn:aws:logs:*:{account}:log-group:{group}:log-stream:*")
                }]
            }),
        ),
        "CloudTrail delivery to the trail log group",
    );
    // The primary region's bucket name is a prefix of the DR region's (`…-cac1`).
    let bucket = format!("nc-dp-{env}-config-{account}*");
    let config_role = service_role(
        context,
        CONFIG_ROLE,
        &format!("nc-{env}-config-recorder"),
        "config.amazonaws.com",
        &["arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"],
        (
            "deliver-to-config-bucket",
            json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DeliverConfigHistory",
                        "Effect": "Allow",
                        "Action": "s3:PutObject",
                        "Resource": format!("arn:aws:s3:::{bucket}/{CONFIG_PREFIX}/AWSLogs/{account}/*"),
                        "Condition": {"StringLike": {"s3:x-amz-acl": "bucket-owner-full-control"}}
                    },
                    {
                        "Sid": "CheckConfigBucket",
                        "Effect": "Allow",
                        "Action": "s3:GetBucketAcl",
                        "Resource": format!("arn:aws:s3:::{bucket}")
                    },
                    {
                        "Sid": "EncryptWithTheLogsKeyThroughS3",
                        "Effect": "Allow",
                        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                        "Resource": "*",
                        "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}
                    }
                ]
            }),
        ),
        "AWS Config recorder",
    );
    vec![trail_role, config_role]
}

/// The multi-region trail: management events, S3 data events (CIS 3.10/3.11), log-file
/// validation, KMS with the logs key, to the trail bucket and the trail log group.
pub(super) fn trail(context: &Context<'_>) -> Resource {
    if !context.target.primary_region {
        return primary_trail_seen_from(context);
    }
    let logs_key = addr::logs_key();
    let group = LogicalId::new(TRAIL_LOG_GROUP);
    let role = LogicalId::new(TRAIL_ROLE);
    let bucket = LogicalId::new(TRAIL_BUCKET);
    Resource::new(
        TRAIL,
        Kind::CloudTrailTrail,
        context.global_name(&trail_name(context)),
    )
    .prop("s3_bucket", trail_bucket_name(context))
    .prop("multi_region", true)
    .prop("global_service_events", true)
    .prop("log_file_validation", true)
    .prop("kms_key", Value::reference(&logs_key, "arn"))
    .prop(
        "cloudwatch_log_group_arn",
        Value::Concat(vec![Value::reference(&group, "arn"), Value::str(":*")]),
    )
    .prop("cloudwatch_role_arn", Value::reference(&role, "arn"))
    .prop("logging", true)
    .prop("management_events", "All")
    .prop(
        "data_events",
        Value::List(vec![Value::str("AWS::S3::Object=arn:aws:s3:All")]),
    )
    // Not the trail's own deliveries nor their access logs: CloudTrail's user guide advises
    // excluding them (each delivery would log another data event).
    .prop(
        "data_events_excluded",
        Value::List(
            [access_log_bucket_name(context), trail_bucket_name(context)]
                .into_iter()
                .map(|bucket| Value::Str(format!("arn:aws:s3:::{bucket}/")))
                .collect(),
        ),
    )
    .prop("tags", context.tags(TRAIL))
    .after(&logs_key)
    .after(&group)
    .after(&role)
    .after(&bucket)
}

/// Outside the primary region, the primary's multi-region trail, verified through its shadow
/// trail and never created again: a second multi-region trail would record every management
/// and data event twice (and bill them twice), while the primary's already covers this region
/// (CloudTrail user guide, "Receiving CloudTrail log files from multiple Regions"). It is
/// global here, so the plan only checks it (`plan::global`): a missing or changed trail says to
/// apply the primary region.
fn primary_trail_seen_from(context: &Context<'_>) -> Resource {
    let primary_bucket = format!(
        "nc-dp-{}-trail-{}",
        context.env(),
        context.target.account_id
    );
    let mut trail = Resource::new(TRAIL, Kind::CloudTrailTrail, trail_name(context))
        .prop("s3_bucket", primary_bucket)
        .prop("multi_region", true)
        .prop("logging", true);
    trail.global = true;
    trail
}
