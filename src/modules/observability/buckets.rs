//! The module's buckets: the trail bucket (Object Lock), its access-log bucket and the AWS
//! Config delivery bucket, with their names and policies.

use serde_json::json;

use super::trail::trail_arn;
use super::{ACCESS_LOG_BUCKET, CONFIG_BUCKET, CONFIG_PREFIX, Context, TRAIL_BUCKET, addr};
use crate::model::{Kind, LogicalId, Resource, Value};
use crate::spec::LockRetention;

/// The trail bucket's name: per environment, account and region (bucket names are global, and
/// an Object-Lock bucket can never be deleted early, so the name must never collide).
#[must_use]
pub fn trail_bucket_name(context: &Context<'_>) -> String {
    context.global_name(&format!(
        "nc-dp-{}-trail-{}",
        context.env(),
        context.target.account_id
    ))
}

/// The access-log bucket's name.
#[must_use]
pub fn access_log_bucket_name(context: &Context<'_>) -> String {
    context.global_name(&format!(
        "nc-dp-{}-access-logs-{}",
        context.env(),
        context.target.account_id
    ))
}

/// The AWS Config delivery bucket's name, `nc-dp-{env}-config-{account}` (regional suffix in
/// the DR region). Config cannot deliver into an Object Lock bucket (AWS::Config::DeliveryChannel:
/// "AWS Config does not support the delivery channel to an Amazon S3 bucket where object lock
/// is enabled"), so it gets its own.
#[must_use]
pub fn config_bucket_name(context: &Context<'_>) -> String {
    context.global_name(&format!(
        "nc-dp-{}-config-{}",
        context.env(),
        context.target.account_id
    ))
}

fn bucket_arns(bucket: &str) -> (String, String) {
    (
        format!("arn:aws:s3:::{bucket}"),
        format!("arn:aws:s3:::{bucket}/*"),
    )
}

fn deny_insecure_transport(bucket: &str) -> serde_json::Value {
    let (arn, objects) = bucket_arns(bucket);
    json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, objects],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    })
}

/// A service that delivers into a bucket: the bucket check and the write it may make, both
/// conditioned on where the request comes from.
struct Delivery<'a> {
    /// The service principal, e.g. `cloudtrail.amazonaws.com`.
    service: &'a str,
    /// The statement ids of the check and of the write.
    sids: (&'a str, &'a str),
    /// The actions of the bucket check.
    check: serde_json::Value,
    /// The objects the service may write.
    objects: String,
    /// The condition key (`aws:SourceArn`, `aws:SourceAccount`) and its value.
    source: (&'a str, &'a str),
}

/// TLS only; the service may check the bucket and write its objects with the bucket owner in
/// full control.
fn delivery_policy(bucket: &str, delivery: Delivery<'_>) -> serde_json::Value {
    let (arn, _) = bucket_arns(bucket);
    let (key, value) = delivery.source;
    json!({
        "Version": "2012-10-17",
        "Statement": [
            deny_insecure_transport(bucket),
            {
                "Sid": delivery.sids.0,
                "Effect": "Allow",
                "Principal": {"Service": delivery.service},
                "Action": delivery.check,
                "Resource": arn,
                "Condition": {"StringEquals": {key: value}}
            },
            {
                "Sid": delivery.sids.1,
                "Effect": "Allow",
                "Principal": {"Service": delivery.service},
                "Action": "s3:PutObject",
                "Resource": delivery.objects,
                "Condition": {"StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    key: value
                }}
            }
        ]
    })
}

/// TLS only; CloudTrail may check the ACL and write its logs (conditioned on the trail's ARN).
fn trail_bucket_policy(context: &Context<'_>, bucket: &str) -> serde_json::Value {
    let (arn, _) = bucket_arns(bucket);
    let account = &context.target.account_id;
    let trail = trail_arn(context);
    delivery_policy(
        bucket,
        Delivery {
            service: "cloudtrail.amazonaws.com",
            sids: ("AWSCloudTrailAclCheck", "AWSCloudTrailWrite"),
            check: json!("s3:GetBucketAcl"),
            objects: format!("{arn}/AWSLogs/{account}/*"),
            source: ("aws:SourceArn", &trail),
        },
    )
}

/// TLS only; AWS Config may check the bucket and deliver under `config/` (Config developer
/// guide, s3-bucket-policy: the statements for `config.amazonaws.com`, conditioned on this
/// account). The recorder delivers through its role (iamrole-permissions); these statements
/// keep delivery working should it move to the service-linked role.
fn config_bucket_policy(context: &Context<'_>, bucket: &str) -> serde_json::Value {
    let (arn, _) = bucket_arns(bucket);
    let account = &context.target.account_id;
    delivery_policy(
        bucket,
        Delivery {
            service: "config.amazonaws.com",
            sids: ("AWSConfigBucketCheck", "AWSConfigDelivery"),
            check: json!(["s3:GetBucketAcl", "s3:ListBucket"]),
            objects: format!("{arn}/{CONFIG_PREFIX}/AWSLogs/{account}/Config/*"),
            source: ("aws:SourceAccount", account),
        },
    )
}

/// TLS only; S3's logging service may write access logs of the trail bucket.
fn access_log_bucket_policy(
    context: &Context<'_>,
    bucket: &str,
    source: &str,
) -> serde_json::Value {
    let (_, objects) = bucket_arns(bucket);
    json!({
        "Version": "2012-10-17",
        "Statement": [
            deny_insecure_transport(bucket),
            {
                "Sid": "S3ServerAccessLogsPolicy",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "ArnLike": {"aws:SourceArn": format!("arn:aws:s3:::{source}")},
                    "StringEquals": {"aws:SourceAccount": context.target.account_id}
                }
            }
        ]
    })
}

fn blocked(resource: Resource) -> Resource {
    resource
        .prop("block_public_acls", true)
        .prop("ignore_public_acls", true)
        .prop("block_public_policy", true)
        .prop("restrict_public_buckets", true)
}

/// The trail bucket (Object Lock COMPLIANCE, SSE-KMS with the logs key, access logging) and
/// its access-log bucket (SSE-S3: S3 server access logging cannot write to SSE-KMS buckets).
pub(super) fn trail_buckets(context: &Context<'_>) -> Vec<Resource> {
    let trail_bucket = trail_bucket_name(context);
    let log_bucket = access_log_bucket_name(context);
    let logs_key = addr::logs_key();
    let (retention, retention_key) = match context.spec.observability.trail_retention {
        LockRetention::Days(days) => (format!("{days} days"), "observability.trail_retention_days"),
        LockRetention::Years(years) => (
            format!("{years} years"),
            "observability.trail_retention_years",
        ),
    };
    let access_logs = blocked(Resource::new(
        ACCESS_LOG_BUCKET,
        Kind::S3Bucket,
        log_bucket.clone(),
    ))
    .prop("versioning", "Enabled")
    .prop("sse_algorithm", "AES256")
    .prop("bucket_key", false)
    .prop(
        "policy",
        Value::Policy(access_log_bucket_policy(
            context,
            &log_bucket,
            &trail_bucket,
        )),
    )
    .prop("tags", context.tags(ACCESS_LOG_BUCKET));
    let trail = blocked(Resource::new(
        TRAIL_BUCKET,
        Kind::S3Bucket,
        trail_bucket.clone(),
    ))
    .prop("versioning", "Enabled")
    .prop("sse_algorithm", "aws:kms")
    .prop("sse_kms_key", Value::reference(&logs_key, "arn"))
    .prop("bucket_key", true)
    .prop("object_lock", "Enabled")
    .prop("object_lock_mode", "COMPLIANCE")
    .prop("object_lock_retention", retention)
    .from_spec("object_lock_retention", retention_key)
    .prop("logging_target", log_bucket)
    .prop("logging_prefix", format!("{trail_bucket}/"))
    .prop(
        "policy",
        Value::Policy(trail_bucket_policy(context, &trail_bucket)),
    )
    .prop("tags", context.tags(TRAIL_BUCKET))
    .after(&logs_key)
    .after(&LogicalId::new(ACCESS_LOG_BUCKET));
    let config_bucket = config_bucket_name(context);
    // Versioned, SSE-KMS with the logs key, public access blocked, TLS only, no Object Lock.
    // No lifecycle rule: Config snapshots and history are kept indefinitely (prod document).
    let config = blocked(Resource::new(
        CONFIG_BUCKET,
        Kind::S3Bucket,
        config_bucket.clone(),
    ))
    .prop("versioning", "Enabled")
    .prop("sse_algorithm", "aws:kms")
    .prop("sse_kms_key", Value::reference(&logs_key, "arn"))
    .prop("bucket_key", true)
    .prop(
        "policy",
        Value::Policy(config_bucket_policy(context, &config_bucket)),
    )
    .prop("tags", context.tags(CONFIG_BUCKET))
    .after(&logs_key);
    vec![access_logs, trail, config]
}
