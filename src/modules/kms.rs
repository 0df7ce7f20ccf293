//! The kms module: a data key and a logs key per environment, rotation on, aliases, and their
//! key policies (root, service roles with the pipeline's encryption context, CloudWatch Logs,
//! CloudTrail and CloudWatch alarms publishing to encrypted topics, the security and logs
//! accounts).

use serde_json::json;

use super::addr::{FARGATE_TASK_ROLE, LAMBDA_ETL_ROLE};
use super::{Context, id};
use crate::model::Kind;
use crate::model::{Resource, Value, policy_ref};

pub use super::addr::{DATA_KEY, LOGS_KEY};

/// The encryption context service roles must send (`kms:EncryptionContext:app`).
pub const APP_CONTEXT: (&str, &str) = ("app", "neurocipher-pipeline");

pub(super) fn expand(context: &Context<'_>) -> Vec<Resource> {
    [(DATA_KEY, "data"), (LOGS_KEY, "logs")]
        .into_iter()
        .flat_map(|(key_id, purpose)| {
            [
                key(context, key_id, purpose),
                key_policy(context, key_id, purpose),
            ]
        })
        .collect()
}

fn key(context: &Context<'_>, key_id: &str, purpose: &str) -> Resource {
    let env = context.env();
    let alias = format!("alias/nc-dp-{purpose}-{env}");
    Resource::new(key_id, Kind::KmsKey, alias.clone())
        .prop("alias", alias)
        .prop(
            "description",
            format!("Neurocipher {env} {purpose} key (managed by nc-provision)"),
        )
        .prop("key_state", "Enabled")
        .prop("key_spec", "SYMMETRIC_DEFAULT")
        .prop("rotation", context.spec.kms.enable_key_rotation)
        .from_spec("rotation", "kms.enable_key_rotation")
        .prop("tags", context.tags(key_id))
        .create_input(
            "deletion_window_days",
            context.spec.kms.deletion_window_days,
        )
        .create_input(
            "policy",
            Value::Policy(policy_document(
                context,
                purpose,
                vec![root_statement(context)],
            )),
        )
        .replace_on(&["key_spec"])
}

fn key_policy(context: &Context<'_>, key_id: &str, purpose: &str) -> Resource {
    let key = id(key_id);
    let policy_id = format!("kms.key_policy.{purpose}");
    let alias = format!("alias/nc-dp-{purpose}-{}", context.env());
    let mut statements = vec![root_statement(context)];
    let roles = [LAMBDA_ETL_ROLE, FARGATE_TASK_ROLE];
    if purpose == "data" {
        statements.push(json!({
            "Sid": "ServiceRolesWithPipelineContext",
            "Effect": "Allow",
            "Principal": {"AWS": roles.iter().map(|role| policy_ref(&id(role), "arn")).collect::<Vec<_>>()},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {format!("kms:EncryptionContext:{}", APP_CONTEXT.0): APP_CONTEXT.1}}
        }));
    }
    statements.push(logs_statement(context));
    if purpose == "logs" {
        statements.push(json!({
            "Sid": "CloudTrailEncryptLogs",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                format!("arn:aws:cloudtrail:*:{}:trail/*", context.target.account_id)}}
        }));
        // CloudWatch alarms notify SNS topics encrypted with this key: CloudWatch must be able
        // to encrypt into them (SNS developer guide, sns-key-management: "Enable compatibility
        // between event sources from AWS services and encrypted topics").
        statements.push(json!({
            "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*"
        }));
        statements.push(json!({
            "Sid": "CloudTrailDescribeKey",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:DescribeKey",
            "Resource": "*"
        }));
    }
    let iam = &context.spec.iam;
    statements.push(json!({
        "Sid": "SecurityAccountAudit",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", iam.security_account_id)},
        "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
                   "kms:ListResourceTags"],
        "Resource": "*"
    }));
    if purpose == "logs" {
        statements.push(json!({
            "Sid": "LogsAccountReadArchive",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", iam.logs_account_id)},
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*"
        }));
    }
    let mut resource = Resource::new(&policy_id, Kind::KmsKeyPolicy, alias)
        .prop("key_id", Value::reference(&key, "key_id"))
        .prop(
            "policy",
            Value::Policy(policy_document(context, purpose, statements)),
        )
        .from_spec("policy", "iam.security_account_id");
    if purpose == "logs" {
        resource = resource.from_spec("policy", "iam.logs_account_id");
    }
    if purpose == "data" {
        for role in roles {
            resource = resource.after(&id(role));
        }
    }
    resource
}

fn policy_document(
    context: &Context<'_>,
    purpose: &str,
    statements: Vec<serde_json::Value>,
) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Id": format!("nc-dp-{purpose}-{}", context.env()),
        "Statement": statements
    })
}

/// The account root may administer and use the key (IAM policies then delegate).
fn root_statement(context: &Context<'_>) -> serde_json::Value {
    json!({
        "Sid": "EnableRootAccountPermissions",
        "Effect": "Allow",
        "Principal": {"AWS": context.account_root()},
        "Action": "kms:*",
        "Resource": "*"
    })
}

/// CloudWatch Logs of this region may use the key for this account's log groups here.
fn logs_statement(context: &Context<'_>) -> serde_json::Value {
    let region = &context.target.region;
    json!({
        "Sid": "CloudWatchLogsThisRegion",
        "Effect": "Allow",
        "Principal": {"Service": format!("logs.{region}.amazonaws.com")},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                   "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
            format!("arn:aws:logs:{region}:{}:log-group:*", context.target.account_id)}}
    })
}
