//! The VPC's flow log, its log group and the role it delivers through.

use serde_json::json;

use crate::model::{FLOW_LOG_AGGREGATION_SECONDS, Kind, Resource, Value, policy_ref};
use crate::modules::{Context, addr, id, region_code, role};

use super::{FLOW_LOG, FLOW_LOG_GROUP, FLOW_LOG_ROLE, FLOW_LOG_ROLE_DR, VPC, tags};

/// The flow-log service's principal.
const FLOW_LOG_SERVICE: &str = "vpc-flow-logs.amazonaws.com";
/// The name of the flow-log role's one inline policy.
pub(super) const FLOW_LOG_POLICY: &str = "deliver-to-flow-log-group";

/// The flow log of the VPC, its log group `/aws/vpc/flow-logs/{vpc-id}` (retention from the
/// spec, encrypted with the logs key; kind `log_group` of the observability provider) and the
/// IAM role it delivers through (kind `iam_role`), which trusts only the flow-log service of
/// this account and may write only to that group.
///
/// Each region's role is its own, `nc-{env}-vpc-flow-logs-{region code}`: the primary's names
/// its VPC's group; the DR region's (made by the primary apply, verified read-only by a
/// rebuild, so a rebuild writes no IAM) may write to that region's flow-log groups.
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
    .from_spec("retention_days", "vpc.flow_logs_retention_days")
    .prop(
        "tags",
        tags(context, &group_id, &format!("nc-{env}-vpc-flow-logs"), None),
    )
    .after(&logs_key)
    .replace_on(&["group_name"]);

    // In the primary region the role names this VPC's group. The DR region's role is made
    // by the primary apply (IAM is global and its control plane is in us-east-1, the region
    // that is down when a rebuild is needed) and only verified by the rebuild.
    let (role_id, mut roles) = if context.target.primary_region {
        let group_arn = format!(
            "arn:aws:logs:{region}:{account}:log-group:{}{}",
            addr::FLOW_LOG_PREFIX,
            policy_ref(&vpc, "id")
        );
        let mut roles = vec![role(context, FLOW_LOG_ROLE, region, group_arn).regional()];
        if let Some(dr) = dr_region(context) {
            roles.push(dr_role(context, &dr));
        }
        (role_id, roles)
    } else {
        (id(FLOW_LOG_ROLE_DR), vec![dr_role(context, region)])
    };
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
    roles.extend([group, flow_log]);
    roles
}

/// The role the flow log of `region` delivers through, trusting only the flow-log service of
/// this account in that region and allowed to write only to `group_arn`.
fn role(context: &Context<'_>, role_id: &str, region: &str, group_arn: String) -> Resource {
    let env = context.env();
    let account = &context.target.account_id;
    let role_name = format!("nc-{env}-vpc-flow-logs-{}", region_code(region));
    let condition = json!({
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": format!("arn:aws:ec2:{region}:{account}:vpc-flow-log/*")}
    });
    let role = role::service_role(
        role_id,
        role_name.clone(),
        role::trust(FLOW_LOG_SERVICE, Some(condition)),
    );
    // The VPC user guide (flow-logs-iam-role) lists logs:DescribeLogGroups among the
    // role's permissions; it names no group, so it gets this region's groups.
    // logs:CreateLogGroup is not needed: the tool creates the group.
    let permissions = json!({
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
    });
    role::with_inline_policy(role, FLOW_LOG_POLICY, permissions)
        .prop(
            "description",
            format!("Delivers the VPC flow logs of {env} in {region} (managed by nc-provision)"),
        )
        .prop("tags", tags(context, &id(role_id), &role_name, None))
}

/// The environment's DR region, when it has one other than the primary.
fn dr_region(context: &Context<'_>) -> Option<String> {
    context
        .spec
        .environment
        .dr_region
        .clone()
        .filter(|dr| *dr != context.spec.environment.region)
}

/// The DR region's flow-log role. Its VPC does not exist before a rebuild, so the role may
/// write to any flow-log group of that region (`/aws/vpc/flow-logs/*`); both the primary
/// region (which creates it) and the DR region (which verifies it) expand it the same way.
fn dr_role(context: &Context<'_>, region: &str) -> Resource {
    let group_arn = format!(
        "arn:aws:logs:{region}:{}:log-group:{}*",
        context.target.account_id,
        addr::FLOW_LOG_PREFIX
    );
    role(context, FLOW_LOG_ROLE_DR, region, group_arn)
}
