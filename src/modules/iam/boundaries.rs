//! The permission boundaries of the iam-baseline module (pb-etl, pb-fargate, pb-admin): the
//! data each workload may touch, in every region of the environment.

use serde_json::{Value as Json, json};

use super::{APP_TAG, PATH, document, policy_id};
use crate::model::{Kind, Resource, Value, policy_ref};
use crate::modules::{Context, addr, region_code};

pub(super) fn boundary(
    context: &Context<'_>,
    name: &str,
    description: &str,
    statements: Vec<Json>,
) -> Resource {
    let policy_id = policy_id(name);
    Resource::new(policy_id.as_str(), Kind::IamPolicy, name)
        .prop("path", PATH)
        .prop("policy", Value::Policy(document(statements)))
        .prop("tags", context.tags(policy_id.as_str()))
        .create_input(
            "description",
            format!("{description} ({}; managed by nc-provision)", context.env()),
        )
        .replace_on(&["path"])
}

/// Every name (primary and DR) of a data bucket: the boundaries are global, so they must be
/// the same whichever region expands them.
fn bucket_names(context: &Context<'_>, suffix: &str) -> Vec<String> {
    let base = format!("nc-dp-{}-{suffix}", context.env());
    let mut names = vec![base.clone()];
    if let Some(dr) = &context.spec.environment.dr_region {
        names.push(format!("{base}-{}", region_code(dr)));
    }
    names
}

fn bucket_suffix(context: &Context<'_>, wanted: &str) -> Option<String> {
    context
        .spec
        .data
        .buckets
        .iter()
        .find(|suffix| suffix.starts_with(wanted))
        .cloned()
}

/// Object ARNs under `prefix` in the raw or norm bucket, every region.
fn objects(context: &Context<'_>, bucket: &str, prefix: &str) -> Vec<String> {
    bucket_suffix(context, bucket)
        .map(|suffix| {
            bucket_names(context, &suffix)
                .into_iter()
                .map(|name| format!("arn:aws:s3:::{name}/{prefix}*"))
                .collect()
        })
        .unwrap_or_default()
}

fn buckets(context: &Context<'_>) -> Vec<String> {
    ["raw", "norm"]
        .iter()
        .filter_map(|bucket| bucket_suffix(context, bucket))
        .flat_map(|suffix| bucket_names(context, &suffix))
        .map(|name| format!("arn:aws:s3:::{name}"))
        .collect()
}

/// What a workload (ETL, Fargate task) does with the data key.
const DATA_KEY_USE: [&str; 4] = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
];

/// KMS use of the env's data key: its ARN (a reference, resolved at plan time) in the primary
/// region, and the same alias in the DR region (a DR rebuild makes a new key there).
fn data_key_statements(context: &Context<'_>, actions: &[&str]) -> Vec<Json> {
    let mut statements = vec![json!({
        "Sid": "DataKey",
        "Effect": "Allow",
        "Action": actions,
        "Resource": policy_ref(&addr::data_key(), "arn")
    })];
    if let Some(dr) = &context.spec.environment.dr_region {
        statements.push(json!({
            "Sid": "DataKeyDrRegion",
            "Effect": "Allow",
            "Action": actions,
            "Resource": format!("arn:aws:kms:{dr}:{}:key/*", context.target.account_id),
            "Condition": {"ForAnyValue:StringEquals": {
                "kms:ResourceAliases": format!("alias/nc-dp-data-{}", context.env())
            }}
        }));
    }
    statements
}

fn app_condition() -> Json {
    json!({"StringEquals": {format!("aws:ResourceTag/{}", APP_TAG.0): APP_TAG.1}})
}

fn log_statement(context: &Context<'_>) -> Json {
    json!({
        "Sid": "Logs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": format!("arn:aws:logs:*:{}:log-group:*", context.target.account_id)
    })
}

/// pb-etl: read raw `ingest/`, write norm `normalized/`, the data key, logs, and the
/// pipeline's own tagged resources.
pub(super) fn etl_statements(context: &Context<'_>) -> Vec<Json> {
    let mut statements = vec![
        json!({
            "Sid": "ReadRawIngest",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": objects(context, "raw", "ingest/")
        }),
        json!({
            "Sid": "WriteNormalized",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": objects(context, "norm", "normalized/")
        }),
        json!({
            "Sid": "ListDesignatedPrefixes",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": buckets(context),
            "Condition": {"StringLike": {"s3:prefix": ["ingest/*", "normalized/*"]}}
        }),
        log_statement(context),
        json!({
            "Sid": "PipelineResources",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction", "dynamodb:GetItem", "dynamodb:PutItem",
                       "dynamodb:Query", "dynamodb:UpdateItem"],
            "Resource": "*",
            "Condition": app_condition()
        }),
    ];
    statements.extend(data_key_statements(context, &DATA_KEY_USE));
    statements
}

/// pb-fargate: S3 on the designated prefixes, the data key, its secrets and table queries.
pub(super) fn fargate_statements(context: &Context<'_>) -> Vec<Json> {
    let mut resources = objects(context, "raw", "ingest/");
    resources.extend(objects(context, "norm", "normalized/"));
    let mut statements = vec![
        json!({
            "Sid": "DesignatedPrefixes",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": resources
        }),
        json!({
            "Sid": "Secrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": format!("arn:aws:secretsmanager:*:{}:secret:*", context.target.account_id),
            "Condition": app_condition()
        }),
        json!({
            "Sid": "DocumentsQuery",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": format!(
                "arn:aws:dynamodb:*:{}:table/nc-dp-{}-documents",
                context.target.account_id,
                context.env()
            )
        }),
        log_statement(context),
    ];
    statements.extend(data_key_statements(context, &DATA_KEY_USE));
    statements
}

/// pb-admin: infrastructure services only, with an explicit deny on the data itself.
pub(super) fn admin_statements(context: &Context<'_>) -> Vec<Json> {
    let mut data = Vec::new();
    for bucket in ["raw", "norm"] {
        data.extend(objects(context, bucket, ""));
    }
    vec![
        json!({
            "Sid": "Infrastructure",
            "Effect": "Allow",
            "Action": ["ec2:*", "elasticloadbalancing:*", "ecs:*", "lambda:*", "logs:*",
                       "cloudwatch:*", "cloudtrail:*", "config:*", "guardduty:*",
                       "securityhub:*", "sns:*", "kms:Describe*", "kms:List*", "kms:Get*",
                       "iam:Get*", "iam:List*", "s3:GetBucket*", "s3:ListAllMyBuckets",
                       "s3:PutBucket*", "dynamodb:Describe*", "dynamodb:List*",
                       "support:*", "access-analyzer:*", "sts:GetCallerIdentity"],
            "Resource": "*"
        }),
        json!({
            "Sid": "DenyData",
            "Effect": "Deny",
            "Action": ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*",
                       "s3:RestoreObject", "kms:Decrypt", "kms:GenerateDataKey*",
                       "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
                       "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem",
                       "dynamodb:DeleteItem"],
            "Resource": data.into_iter().chain([
                format!("arn:aws:dynamodb:*:{}:table/nc-dp-{}-documents", context.target.account_id, context.env()),
                format!("arn:aws:kms:*:{}:key/*", context.target.account_id),
            ]).collect::<Vec<_>>()
        }),
    ]
}
