//! The observability module: log groups (operational and audit), the audit trail with its
//! Object-Lock bucket, GuardDuty, AWS Config, Security Hub, SNS topics and CloudWatch alarms.

use super::{Context, kms};
use crate::model::{LogicalId, Resource, Value};

/// Kind of a CloudWatch Logs log group with retention, KMS key and tags.
pub const LOG_GROUP_KIND: &str = "log_group";

/// Logical id of the trail's (audit) log group.
pub const TRAIL_LOG_GROUP: &str = "observability.log.trail";
/// Logical id of the operational log group.
pub const OPS_LOG_GROUP: &str = "observability.log.operations";

pub(super) fn expand(context: &Context<'_>) -> Vec<Resource> {
    let observability = &context.spec.observability;
    vec![
        log_group(
            context,
            TRAIL_LOG_GROUP,
            "audit/cloudtrail",
            observability.audit_log_retention_days,
        ),
        log_group(
            context,
            OPS_LOG_GROUP,
            "operations",
            observability.log_retention_days,
        ),
    ]
}

/// The prefix of every log group of the module: one DescribeLogGroups lists them all.
fn log_prefix(context: &Context<'_>) -> String {
    format!("/nc/{}/", context.env())
}

fn log_group(context: &Context<'_>, id: &str, suffix: &str, retention_days: i32) -> Resource {
    let name = format!("{}{suffix}", log_prefix(context));
    let logs_key = LogicalId::new(kms::LOGS_KEY);
    Resource::new(id, LOG_GROUP_KIND, name.clone())
        .prop("group_name", name)
        .prop("name_prefix", log_prefix(context))
        .prop("retention_days", retention_days)
        .prop("kms_key", Value::reference(&logs_key, "arn"))
        .prop("tags", context.tags(id))
        .after(&logs_key)
        .replace_on(&["group_name"])
        .retained()
}
