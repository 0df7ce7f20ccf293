//! The module's log groups: the trail's (audit), the operational one and the GuardDuty
//! findings' (audit), all encrypted with the logs key and under one prefix.

use super::{Context, FINDINGS_LOG_GROUP, OPS_LOG_GROUP, TRAIL_LOG_GROUP, addr, log_prefix};
use crate::model::{Kind, Resource, Value};

/// The three log groups, with the spec's retention.
pub(super) fn log_groups(context: &Context<'_>) -> Vec<Resource> {
    let observability = &context.spec.observability;
    vec![
        log_group(
            context,
            TRAIL_LOG_GROUP,
            "audit/cloudtrail",
            observability.audit_log_retention_days,
        )
        .from_spec("retention_days", "observability.audit_log_retention_days"),
        log_group(
            context,
            OPS_LOG_GROUP,
            "operations",
            observability.log_retention_days,
        )
        .from_spec("retention_days", "observability.log_retention_days"),
        log_group(
            context,
            FINDINGS_LOG_GROUP,
            "security/guardduty-findings",
            observability.audit_log_retention_days,
        )
        .from_spec("retention_days", "observability.audit_log_retention_days"),
    ]
}

fn log_group(context: &Context<'_>, id: &str, suffix: &str, retention_days: i32) -> Resource {
    let name = format!("{}{suffix}", log_prefix(context));
    let logs_key = addr::logs_key();
    Resource::new(id, Kind::LogGroup, name.clone())
        .prop("group_name", name)
        .prop("name_prefix", log_prefix(context))
        .prop("retention_days", retention_days)
        .prop("kms_key", Value::reference(&logs_key, "arn"))
        .prop("tags", context.tags(id))
        .after(&logs_key)
        .replace_on(&["group_name"])
}
