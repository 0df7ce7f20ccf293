//! The observability module: log groups (operational and audit), the audit trail with its
//! Object-Lock bucket, GuardDuty, AWS Config, Security Hub, SNS topics, CloudWatch alarms and
//! the four CloudWatch dashboards (`dashboards.rs`),
//! with the CIS v1.5 extras of REFERENCE.md (3.6 access logging, 3.10/3.11 S3 data events,
//! 4.1–4.15 metric filters and alarms).
//!
//! Names and choices:
//! - log groups `/nc/{env}/audit/cloudtrail` (audit retention), `/nc/{env}/operations`
//!   (operational), `/nc/{env}/security/guardduty-findings` (audit), all with the logs key;
//! - trail bucket `nc-dp-{env}-trail-{account}` and access-log bucket
//!   `nc-dp-{env}-access-logs-{account}` (regional suffix in the DR region): bucket names are
//!   global and an Object-Lock bucket can never be deleted early, so the account id keeps the
//!   name from ever colliding. The access-log bucket uses SSE-S3: S3 server access logging
//!   cannot deliver to an SSE-KMS bucket;
//! - trail `nc-dp-{env}-trail`, topics `nc-{env}-security-alerts` / `nc-{env}-operations`,
//!   alarms, metric filters and Config rules `nc-{env}-…` (one prefix each: one batched read);
//! - critical alarms and the CIS alarms go to the security-alerts topic, warnings to the
//!   operations topic (to security-alerts where there is no ops e-mail, i.e. dev);
//! - AWS Config delivers into its own bucket `nc-dp-{env}-config-{account}` (Config does not
//!   support delivery into an Object Lock bucket);
//! - GuardDuty findings reach their log group through an EventBridge rule and a Logs resource
//!   policy.

mod alarms;
mod buckets;
mod cis;
mod config;
mod dashboards;
mod findings;
mod hub;
mod logs;
#[cfg(test)]
mod tests;
mod trail;

use super::{Context, addr};
use crate::model::{Kind, LogicalId, Resource, Value};

pub use super::addr::{FLOW_LOG_PREFIX, OPS_TOPIC};

/// Logical id of the trail's (audit) log group.
pub const TRAIL_LOG_GROUP: &str = "observability.log.trail";
/// Logical id of the operational log group.
pub const OPS_LOG_GROUP: &str = "observability.log.operations";
/// Logical id of the log group GuardDuty findings are delivered to.
pub const FINDINGS_LOG_GROUP: &str = "observability.log.guardduty-findings";
/// Logical id of the security-alerts topic (critical alarms; the alert e-mail).
pub const ALERT_TOPIC: &str = "observability.topic.security-alerts";
/// Logical id of the trail bucket (Object Lock, COMPLIANCE).
pub const TRAIL_BUCKET: &str = "observability.bucket.trail";
/// Logical id of the server-access-log bucket of the trail bucket (CIS 3.6).
pub const ACCESS_LOG_BUCKET: &str = "observability.bucket.access-logs";
/// Logical id of the AWS Config delivery bucket.
pub const CONFIG_BUCKET: &str = "observability.bucket.config";
/// The prefix AWS Config delivers under in its bucket.
pub const CONFIG_PREFIX: &str = "config";
/// Logical id of the trail.
pub const TRAIL: &str = "observability.trail";
/// Logical id of the role CloudTrail delivers to CloudWatch Logs with.
pub const TRAIL_ROLE: &str = "observability.role.cloudtrail-logs";
/// Logical id of the role AWS Config records with.
pub const CONFIG_ROLE: &str = "observability.role.config";
/// Logical id of the GuardDuty detector.
pub const DETECTOR: &str = "observability.guardduty.detector";
/// Logical id of the Config recorder.
pub const RECORDER: &str = "observability.config.recorder";
/// Logical id of Security Hub.
pub const HUB: &str = "observability.securityhub";
/// Logical id of the EventBridge rule delivering GuardDuty findings to their log group.
pub const FINDINGS_RULE: &str = "observability.events.guardduty-findings";

/// Everything the module expands to, in a stable order: log groups, buckets, the audit and
/// detection services, topics, metric filters, alarms and dashboards.
pub(super) fn expand(context: &Context<'_>) -> Vec<Resource> {
    let mut resources = logs::log_groups(context);
    resources.extend(buckets::trail_buckets(context));
    resources.extend(services(context));
    resources.extend(alarms::topics(context));
    let alarms = alarms::alarms(context);
    let dashboards = dashboards::dashboards(context, &alarms);
    resources.extend(alarms);
    resources.extend(dashboards);
    resources
}

/// The audit and detection services: roles, trail, detector, Config, Security Hub.
fn services(context: &Context<'_>) -> Vec<Resource> {
    let observability = &context.spec.observability;
    let mut resources = trail::roles(context);
    resources.push(trail::trail(context));
    if observability.enable_guardduty {
        resources.push(findings::detector(context));
        resources.push(findings::findings_rule(context));
    }
    resources.extend(config::config(context));
    if observability.enable_security_hub {
        resources.push(hub::security_hub(context));
    }
    resources
}

/// The metric filter counting REJECT records of the default flow-log format.
pub const REJECT_PATTERN: &str = "[version, account, eni, source, destination, srcport, destport, protocol, packets, bytes, windowstart, windowend, action=\"REJECT\", flowlogstatus]";

/// Links the module to the other modules' resources once every module has expanded: the
/// rejected-traffic metric filter goes on each flow-log group of the vpc module (a `log_group`
/// whose `name_prefix` is [`FLOW_LOG_PREFIX`]; its name may only be known at apply time, as it
/// carries the VPC id).
pub fn link(context: &Context<'_>, resources: &mut Vec<Resource>) {
    let groups: Vec<(LogicalId, Value)> = resources
        .iter()
        .filter(|r| r.kind == Kind::LogGroup && r.str_prop("name_prefix") == Some(FLOW_LOG_PREFIX))
        .filter_map(|r| {
            r.props
                .get("group_name")
                .map(|name| (r.id.clone(), name.clone()))
        })
        .collect();
    for (index, (group_id, group_name)) in groups.into_iter().enumerate() {
        let suffix = if index == 0 {
            String::new()
        } else {
            format!("-{index}")
        };
        let id = format!("observability.filter.rejected-flow-traffic{suffix}");
        let filter = Resource::new(
            &id,
            Kind::LogMetricFilter,
            format!("nc-{}-rejected-flow-traffic{suffix}", context.env()),
        )
        .prop("log_group", group_name)
        .prop("pattern", REJECT_PATTERN)
        .prop("metric_name", "rejected-flow-traffic")
        .prop("metric_namespace", namespace(context))
        .prop("metric_value", "1")
        .after(&group_id);
        resources.push(filter);
    }
}

/// The prefix of every log group of the module: one DescribeLogGroups lists them all.
fn log_prefix(context: &Context<'_>) -> String {
    format!("/nc/{}/", context.env())
}

/// The custom metric namespace of the environment's security metrics.
fn namespace(context: &Context<'_>) -> String {
    format!("NC/{}/Security", context.env())
}
