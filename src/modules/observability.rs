//! The observability module: log groups (operational and audit), the audit trail with its
//! Object-Lock bucket, GuardDuty, AWS Config, Security Hub, SNS topics and CloudWatch alarms.

use std::collections::BTreeMap;

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
    let mut resources = vec![
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
        log_group(
            context,
            FINDINGS_LOG_GROUP,
            "security/guardduty-findings",
            observability.audit_log_retention_days,
        ),
    ];
    resources.extend(topics(context));
    resources.extend(alarms(context));
    resources
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

/// Kind of an SNS topic with its KMS key, subscriptions and tags.
pub const TOPIC_KIND: &str = "sns_topic";
/// Kind of a CloudWatch Logs metric filter.
pub const FILTER_KIND: &str = "log_metric_filter";
/// Kind of a CloudWatch metric alarm.
pub const ALARM_KIND: &str = "cloudwatch_alarm";

/// Logical id of the security-alerts topic (critical alarms; the alert e-mail).
pub const ALERT_TOPIC: &str = "observability.topic.security-alerts";
/// Logical id of the operations topic (warnings; the ops e-mail; absent in dev).
pub const OPS_TOPIC: &str = "observability.topic.operations";
/// Logical id of the log group GuardDuty findings are delivered to.
pub const FINDINGS_LOG_GROUP: &str = "observability.log.guardduty-findings";

/// The CIS AWS Foundations v1.5 section 4 metric filters: (control, slug, pattern). Patterns are
/// the benchmark's, with every event name it lists.
pub const CIS_FILTERS: [(&str, &str, &str); 15] = [
    (
        "4.1",
        "unauthorized-api-calls",
        r#"{ (($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")) && ($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }"#,
    ),
    (
        "4.2",
        "console-signin-without-mfa",
        r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#,
    ),
    (
        "4.3",
        "root-account-usage",
        r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#,
    ),
    (
        "4.4",
        "iam-policy-changes",
        r#"{ ($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) || ($.eventName = DeleteUserPolicy) || ($.eventName = PutGroupPolicy) || ($.eventName = PutRolePolicy) || ($.eventName = PutUserPolicy) || ($.eventName = CreatePolicy) || ($.eventName = DeletePolicy) || ($.eventName = CreatePolicyVersion) || ($.eventName = DeletePolicyVersion) || ($.eventName = AttachRolePolicy) || ($.eventName = DetachRolePolicy) || ($.eventName = AttachUserPolicy) || ($.eventName = DetachUserPolicy) || ($.eventName = AttachGroupPolicy) || ($.eventName = DetachGroupPolicy) }"#,
    ),
    (
        "4.5",
        "cloudtrail-config-changes",
        r#"{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }"#,
    ),
    (
        "4.6",
        "console-auth-failures",
        r#"{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }"#,
    ),
    (
        "4.7",
        "cmk-disable-or-deletion",
        r#"{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }"#,
    ),
    (
        "4.8",
        "s3-bucket-policy-changes",
        r#"{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }"#,
    ),
    (
        "4.9",
        "config-changes",
        r#"{ ($.eventSource = config.amazonaws.com) && (($.eventName = StopConfigurationRecorder) || ($.eventName = DeleteDeliveryChannel) || ($.eventName = PutDeliveryChannel) || ($.eventName = PutConfigurationRecorder)) }"#,
    ),
    (
        "4.10",
        "security-group-changes",
        r#"{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }"#,
    ),
    (
        "4.11",
        "nacl-changes",
        r#"{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }"#,
    ),
    (
        "4.12",
        "network-gateway-changes",
        r#"{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || ($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || ($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }"#,
    ),
    (
        "4.13",
        "route-table-changes",
        r#"{ ($.eventSource = ec2.amazonaws.com) && (($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable)) }"#,
    ),
    (
        "4.14",
        "vpc-changes",
        r#"{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || ($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || ($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || ($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || ($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }"#,
    ),
    (
        "4.15",
        "organizations-changes",
        r#"{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }"#,
    ),
];

/// The metric filters of the platform's own alarms on the trail log group: (slug, pattern).
const TRAIL_FILTERS: [(&str, &str); 3] = [
    (
        "kms-access-denied",
        r#"{ ($.eventSource = kms.amazonaws.com) && (($.errorCode = "AccessDenied*") || ($.errorCode = "*UnauthorizedOperation")) }"#,
    ),
    (
        "s3-access-denied",
        r#"{ ($.eventSource = s3.amazonaws.com) && (($.errorCode = "AccessDenied*") || ($.errorCode = "*UnauthorizedOperation")) }"#,
    ),
    (
        "config-noncompliant",
        r#"{ ($.eventSource = config.amazonaws.com) && ($.eventName = PutEvaluations) && ($.requestParameters.evaluations[0].complianceType = NON_COMPLIANT) }"#,
    ),
];

/// The custom metric namespace of the environment's security metrics.
fn namespace(context: &Context<'_>) -> String {
    format!("NC/{}/Security", context.env())
}

fn topics(context: &Context<'_>) -> Vec<Resource> {
    let observability = &context.spec.observability;
    let mut topics = vec![topic(
        context,
        ALERT_TOPIC,
        "security-alerts",
        &observability.alert_email,
    )];
    if let Some(ops) = &observability.ops_email {
        topics.push(topic(context, OPS_TOPIC, "operations", ops));
    }
    topics
}

fn topic(context: &Context<'_>, id: &str, suffix: &str, email: &str) -> Resource {
    let logs_key = LogicalId::new(kms::LOGS_KEY);
    Resource::new(id, TOPIC_KIND, format!("nc-{}-{suffix}", context.env()))
        .prop("kms_key", Value::reference(&logs_key, "arn"))
        .prop("display_name", format!("nc {} {suffix}", context.env()))
        .prop(
            "subscriptions",
            Value::List(vec![Value::Str(format!("email:{email}"))]),
        )
        .prop("tags", context.tags(id))
        .after(&logs_key)
}

fn metric_filter(
    context: &Context<'_>,
    id: &str,
    group: &str,
    group_id: &str,
    metric: &str,
    pattern: &str,
) -> Resource {
    Resource::new(id, FILTER_KIND, format!("nc-{}-{metric}", context.env()))
        .prop("log_group", group)
        .prop("pattern", pattern)
        .prop("metric_name", metric)
        .prop("metric_namespace", namespace(context))
        .prop("metric_value", "1")
        .after(&LogicalId::new(group_id))
}

/// One alarm's definition.
struct AlarmDef<'a> {
    slug: &'a str,
    description: String,
    namespace: String,
    metric: &'a str,
    statistic: &'a str,
    period: i64,
    evaluation_periods: i64,
    threshold: f64,
    comparison: &'a str,
    treat_missing_data: &'a str,
    dimensions: BTreeMap<String, String>,
    expression: &'a str,
    denominator: &'a str,
}

impl<'a> AlarmDef<'a> {
    /// A `Sum >= 1 in 5 minutes` alarm on one of the environment's security metrics.
    fn count(context: &Context<'_>, slug: &'a str, metric: &'a str, description: String) -> Self {
        AlarmDef {
            slug,
            description,
            namespace: namespace(context),
            metric,
            statistic: "Sum",
            period: 300,
            evaluation_periods: 1,
            threshold: 1.0,
            comparison: "GreaterThanOrEqualToThreshold",
            treat_missing_data: "notBreaching",
            dimensions: BTreeMap::new(),
            expression: "",
            denominator: "",
        }
    }
}

fn alarm(context: &Context<'_>, def: AlarmDef<'_>, topic_id: &str) -> Resource {
    let id = format!("observability.alarm.{}", def.slug);
    let topic = LogicalId::new(topic_id);
    Resource::new(
        &id,
        ALARM_KIND,
        format!("nc-{}-{}", context.env(), def.slug),
    )
    .prop(
        "description",
        format!(
            "{} {}",
            def.description,
            crate::providers::alarm_owner_marker(context.env())
        ),
    )
    .prop("namespace", def.namespace)
    .prop("metric_name", def.metric)
    .prop("statistic", def.statistic)
    .prop("period", def.period)
    .prop("evaluation_periods", def.evaluation_periods)
    .prop(
        "threshold",
        crate::providers::alarm_threshold_text(def.threshold),
    )
    .prop("comparison", def.comparison)
    .prop("treat_missing_data", def.treat_missing_data)
    .prop("dimensions", Value::Map(def.dimensions))
    .prop("expression", def.expression)
    .prop("denominator_metric", def.denominator)
    .prop("actions_enabled", true)
    .prop(
        "alarm_actions",
        Value::List(vec![Value::reference(&topic, "arn")]),
    )
    // Written in the create call, not diffed: ownership is the description's marker.
    .create_input("tags", context.tags(&id))
    .after(&topic)
}

/// Metric filters and alarms: CIS 4.1–4.15 and the platform's critical and warning alarms.
fn alarms(context: &Context<'_>) -> Vec<Resource> {
    let env = context.env();
    let trail_group = format!("{}audit/cloudtrail", log_prefix(context));
    let findings_group = format!("{}security/guardduty-findings", log_prefix(context));
    let warnings = if context.spec.observability.ops_email.is_some() {
        OPS_TOPIC
    } else {
        ALERT_TOPIC
    };
    let mut resources = Vec::new();
    for (control, slug, pattern) in CIS_FILTERS {
        let metric = format!("cis-{}-{slug}", control.replace('.', "-"));
        resources.push(metric_filter(
            context,
            &format!("observability.filter.{metric}"),
            &trail_group,
            TRAIL_LOG_GROUP,
            &metric,
            pattern,
        ));
        let description = format!("CIS {control}: {slug} (trail log group)");
        let def = AlarmDef::count(context, "", "", description);
        resources.push(alarm(
            context,
            AlarmDef {
                slug: &metric,
                metric: &metric,
                ..def
            },
            ALERT_TOPIC,
        ));
    }
    for (slug, pattern) in TRAIL_FILTERS {
        resources.push(metric_filter(
            context,
            &format!("observability.filter.{slug}"),
            &trail_group,
            TRAIL_LOG_GROUP,
            slug,
            pattern,
        ));
    }
    resources.push(metric_filter(
        context,
        "observability.filter.guardduty-high-findings",
        &findings_group,
        FINDINGS_LOG_GROUP,
        "guardduty-high-findings",
        "{ $.detail.severity >= 7 }",
    ));
    let table = BTreeMap::from([("TableName".to_string(), format!("nc-dp-{env}-documents"))]);
    let trail_dims = BTreeMap::from([("LogGroupName".to_string(), trail_group.clone())]);
    let critical = [
        AlarmDef {
            namespace: "AWS/Lambda".into(),
            statistic: "Sum",
            threshold: 5.0,
            comparison: "GreaterThanThreshold",
            expression: "100 * m1 / MAX([m1, m2])",
            denominator: "Invocations",
            ..AlarmDef::count(
                context,
                "lambda-error-rate",
                "Errors",
                "Critical: Lambda error rate above 5% for 5 minutes".into(),
            )
        },
        AlarmDef {
            namespace: "AWS/ApiGateway".into(),
            statistic: "Average",
            threshold: 0.01,
            comparison: "GreaterThanThreshold",
            ..AlarmDef::count(
                context,
                "apigateway-5xx-rate",
                "5XXError",
                "Critical: API Gateway 5xx rate above 1% for 5 minutes".into(),
            )
        },
        AlarmDef {
            namespace: "AWS/DynamoDB".into(),
            period: 60,
            dimensions: table.clone(),
            ..AlarmDef::count(
                context,
                "dynamodb-read-throttles",
                "ReadThrottleEvents",
                "Critical: DynamoDB read throttling on the documents table".into(),
            )
        },
        AlarmDef {
            namespace: "AWS/DynamoDB".into(),
            period: 60,
            dimensions: table,
            ..AlarmDef::count(
                context,
                "dynamodb-write-throttles",
                "WriteThrottleEvents",
                "Critical: DynamoDB write throttling on the documents table".into(),
            )
        },
        AlarmDef::count(
            context,
            "guardduty-high-findings",
            "guardduty-high-findings",
            "Critical: GuardDuty high or critical finding (severity >= 7)".into(),
        ),
        AlarmDef::count(
            context,
            "kms-access-denied",
            "kms-access-denied",
            "Critical: KMS access denied (trail log group)".into(),
        ),
        AlarmDef {
            threshold: 100.0,
            ..AlarmDef::count(
                context,
                "rejected-flow-traffic",
                "rejected-flow-traffic",
                "Critical: spike in rejected VPC flow-log traffic (REJECT records in 5 minutes; the filter sits on the vpc module's flow-log group)".into(),
            )
        },
    ];
    let warning = [
        AlarmDef {
            namespace: "AWS/Lambda".into(),
            statistic: "Maximum",
            threshold: 240_000.0,
            comparison: "GreaterThanThreshold",
            ..AlarmDef::count(
                context,
                "lambda-duration-near-timeout",
                "Duration",
                "Warning: Lambda duration above 80% of a 300 s timeout".into(),
            )
        },
        AlarmDef::count(
            context,
            "s3-access-denied",
            "s3-access-denied",
            "Warning: S3 access denied (trail log group)".into(),
        ),
        AlarmDef {
            namespace: "AWS/Logs".into(),
            period: 3600,
            threshold: 1.0,
            comparison: "LessThanThreshold",
            treat_missing_data: "breaching",
            dimensions: trail_dims,
            ..AlarmDef::count(
                context,
                "log-ingestion-lag",
                "IncomingLogEvents",
                "Warning: no CloudTrail events ingested into the trail log group for an hour"
                    .into(),
            )
        },
        AlarmDef::count(
            context,
            "config-compliance-drift",
            "config-noncompliant",
            "Warning: an AWS Config rule evaluated a resource NON_COMPLIANT".into(),
        ),
    ];
    resources.extend(
        critical
            .into_iter()
            .map(|def| alarm(context, def, ALERT_TOPIC)),
    );
    resources.extend(warning.into_iter().map(|def| alarm(context, def, warnings)));
    resources
}
