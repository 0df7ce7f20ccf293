//! The VPC's flow log, its log group and the role it delivers through.

use serde_json::json;

use crate::model::{FLOW_LOG_AGGREGATION_SECONDS, Kind, Resource, Value, policy_ref};
use crate::modules::{Context, addr, id, region_code};

use super::{FLOW_LOG, FLOW_LOG_GROUP, FLOW_LOG_ROLE, VPC, tags};

/// The flow-log service's principal.
const FLOW_LOG_SERVICE: &str = "vpc-flow-logs.amazonaws.com";
/// The name of the flow-log role's one inline policy.
pub(super) const FLOW_LOG_POLICY: &str = "deliver-to-flow-log-group";

/// The flow log of the VPC, its log group `/aws/vpc/flow-logs/{vpc-id}` (retention from the
/// spec, encrypted with the logs key; kind `log_group` of the observability provider) and the
/// IAM role it delivers through (kind `iam_role`), which trusts only the flow-log service of
/// this account and may write only to that group.
///
/// The role is regional, unlike the iam-baseline's: its policy names this region's group, so
/// each region (the DR region too) gets its own, `nc-{env}-vpc-flow-logs-{region code}`.
pub(super) fn flow_logs(context: &Context<'_>) -> Vec<Resource> {
    let env = context.env();
    let region = &context.target.region;
    let account = &context.target.account_id;
    let vpc = id(VPC);
    let group_id = id(FLOW_LOG_GROUP);
    let role_id = id(FLOW_LOG_ROLE);
    let logs_key = addr::logs_key();
    let group_name = Value::Concat(vec![
        Value::str(addr::FLOW_LOG_PREFIX),
        Value::reference(&vpc, "id"),
    ]);
    let group = Resource::new(
        FLOW_LOG_GROUP,
        Kind::LogGroup,
        format!("{}<vpc id>", addr::FLOW_LOG_PREFIX),
    )
    .prop("group_name", group_name)
    .prop("name_prefix", addr::FLOW_LOG_PREFIX)
    .prop(
        "retention_days",
        i64::from(context.spec.vpc.flow_logs_retention_days),
    )
    .prop("kms_key", Value::reference(&logs_key, "arn"))
    .prop(
        "tags",
        tags(context, &group_id, &format!("nc-{env}-vpc-flow-logs"), None),
    )
    .after(&logs_key)
    .replace_on(&["group_name"]);

    // The group's ARN, built from the VPC id (the group itself may not exist yet).
    let group_arn = format!(
        "arn:aws:logs:{region}:{account}:log-group:{}{}",
        addr::FLOW_LOG_PREFIX,
        policy_ref(&vpc, "id")
    );
    let role_name = format!("nc-{env}-vpc-flow-logs-{}", region_code(region));
    let role = Resource::new(FLOW_LOG_ROLE, Kind::IamRole, role_name.clone())
        .regional()
        .prop("path", addr::IAM_PATH)
        .prop(
            "assume_role_policy",
            Value::Policy(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": FLOW_LOG_SERVICE},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {"aws:SourceArn": format!("arn:aws:ec2:{region}:{account}:vpc-flow-log/*")}
                    }
                }]
            })),
        )
        .prop("max_session_seconds", 3600)
        .prop("permissions_boundary", "")
        .prop("managed_policies", Value::List(Vec::new()))
        .prop(
            "inline_policy_names",
            Value::List(vec![Value::str(FLOW_LOG_POLICY)]),
        )
        .prop(
            &format!("inline_policy.{FLOW_LOG_POLICY}"),
            // The VPC user guide (flow-logs-iam-role) lists logs:DescribeLogGroups among the
            // role's permissions; it names no group, so it gets this region's groups.
            // logs:CreateLogGroup is not needed: the tool creates the group.
            Value::Policy(json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DeliverToTheFlowLogGroupOnly",
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogStreams"
                        ],
                        "Resource": [group_arn.clone(), format!("{group_arn}:log-stream:*")]
                    },
                    {
                        "Sid": "DescribeLogGroups",
                        "Effect": "Allow",
                        "Action": "logs:DescribeLogGroups",
                        "Resource": format!("arn:aws:logs:{region}:{account}:log-group:*")
                    }
                ]
            })),
        )
        .prop(
            "description",
            format!("Delivers the VPC flow logs of {env} in {region} (managed by nc-provision)"),
        )
        .prop("tags", tags(context, &role_id, &role_name, None))
        .replace_on(&["path"]);

    let flow_log_id = id(FLOW_LOG);
    let flow_log = Resource::new(FLOW_LOG, Kind::FlowLog, format!("nc-{env}-vpc-flow-logs"))
        .prop("resource_id", Value::reference(&vpc, "id"))
        .prop("traffic_type", "ALL")
        .prop("log_destination_type", "cloud-watch-logs")
        .prop("log_group_name", Value::reference(&group_id, "name"))
        .prop(
            "deliver_logs_permission_arn",
            Value::reference(&role_id, "arn"),
        )
        .prop("max_aggregation_interval", FLOW_LOG_AGGREGATION_SECONDS)
        .prop(
            "tags",
            tags(
                context,
                &flow_log_id,
                &format!("nc-{env}-vpc-flow-logs"),
                None,
            ),
        )
        .replace_on(&[
            "resource_id",
            "traffic_type",
            "log_destination_type",
            "log_group_name",
            "deliver_logs_permission_arn",
            "max_aggregation_interval",
        ]);
    vec![group, role, flow_log]
}
