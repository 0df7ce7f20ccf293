//! The observability module: log groups (operational and audit), the audit trail with its
//! Object-Lock bucket, GuardDuty, AWS Config, Security Hub, SNS topics and CloudWatch alarms,
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

use std::collections::BTreeMap;

use serde_json::json;

use super::{Context, addr};
use crate::model::Kind;
use crate::model::{LogicalId, Resource, Value};
use crate::spec::LockRetention;

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
    resources.extend(trail_buckets(context));
    resources.extend(services(context));
    resources.extend(topics(context));
    resources.extend(alarms(context));
    resources
}

pub use super::addr::FLOW_LOG_PREFIX;
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
        .retained()
}

/// Logical id of the security-alerts topic (critical alarms; the alert e-mail).
pub const ALERT_TOPIC: &str = "observability.topic.security-alerts";
pub use super::addr::OPS_TOPIC;
/// Logical id of the log group GuardDuty findings are delivered to.
pub const FINDINGS_LOG_GROUP: &str = "observability.log.guardduty-findings";

/// The CIS AWS Foundations v1.5 section 4 metric filters: (control, slug, pattern). Patterns are
/// the benchmark's, with every event name it lists; 4.15 also has `CancelHandshake`,
/// `CreateOrganization` and `EnableAllFeatures`, which newer benchmark versions and common
/// scanners (Security Hub CloudWatch.15) require.
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
        r#"{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CancelHandshake") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganization") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnableAllFeatures") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }"#,
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
    let logs_key = addr::logs_key();
    Resource::new(id, Kind::SnsTopic, format!("nc-{}-{suffix}", context.env()))
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
    Resource::new(
        id,
        Kind::LogMetricFilter,
        format!("nc-{}-{metric}", context.env()),
    )
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
        Kind::CloudWatchAlarm,
        format!("nc-{}-{}", context.env(), def.slug),
    )
    .prop(
        "description",
        format!(
            "{} {}",
            def.description,
            crate::model::alarm_owner_marker(context.env())
        ),
    )
    .prop("namespace", def.namespace)
    .prop("metric_name", def.metric)
    .prop("statistic", def.statistic)
    .prop("period", def.period)
    .prop("evaluation_periods", def.evaluation_periods)
    .prop(
        "threshold",
        crate::model::alarm_threshold_text(def.threshold),
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
    let mut critical = vec![
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
    // API Gateway publishes 5XXError per ApiName (and Stage): without the API the alarm would
    // never get data, so it exists only when the spec names the API.
    if let Some(api) = &context.spec.observability.api_gateway_name {
        let mut dimensions = BTreeMap::from([("ApiName".to_string(), api.clone())]);
        if let Some(stage) = &context.spec.observability.api_gateway_stage {
            dimensions.insert("Stage".to_string(), stage.clone());
        }
        critical.push(AlarmDef {
            namespace: "AWS/ApiGateway".into(),
            statistic: "Average",
            threshold: 0.01,
            comparison: "GreaterThanThreshold",
            dimensions,
            ..AlarmDef::count(
                context,
                "apigateway-5xx-rate",
                "5XXError",
                format!("Critical: API Gateway 5xx rate of {api} above 1% for 5 minutes"),
            )
        });
    }
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
/// Logical id of the trail bucket (Object Lock, COMPLIANCE).
pub const TRAIL_BUCKET: &str = "observability.bucket.trail";
/// Logical id of the server-access-log bucket of the trail bucket (CIS 3.6).
pub const ACCESS_LOG_BUCKET: &str = "observability.bucket.access-logs";
/// Logical id of the AWS Config delivery bucket.
pub const CONFIG_BUCKET: &str = "observability.bucket.config";
/// The prefix AWS Config delivers under in its bucket.
pub const CONFIG_PREFIX: &str = "config";

/// The trail's name (one per account and environment).
#[must_use]
pub fn trail_name(context: &Context<'_>) -> String {
    format!("nc-dp-{}-trail", context.env())
}

/// The trail's ARN, as CloudTrail will name it (the bucket policy's SourceArn condition): the
/// trail of this region, whose name carries the regional suffix outside the primary region.
fn trail_arn(context: &Context<'_>) -> String {
    format!(
        "arn:aws:cloudtrail:{}:{}:trail/{}",
        context.target.region,
        context.target.account_id,
        context.global_name(&trail_name(context))
    )
}

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

/// TLS only; CloudTrail may check the ACL and write its logs (conditioned on the trail's ARN).
fn trail_bucket_policy(context: &Context<'_>, bucket: &str) -> serde_json::Value {
    let (arn, _) = bucket_arns(bucket);
    let account = &context.target.account_id;
    let trail = trail_arn(context);
    json!({
        "Version": "2012-10-17",
        "Statement": [
            deny_insecure_transport(bucket),
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": arn,
                "Condition": {"StringEquals": {"aws:SourceArn": trail}}
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": format!("{arn}/AWSLogs/{account}/*"),
                "Condition": {"StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": trail
                }}
            }
        ]
    })
}

/// TLS only; AWS Config may check the bucket and deliver under `config/` (Config developer
/// guide, s3-bucket-policy: the statements for `config.amazonaws.com`, conditioned on this
/// account). The recorder delivers through its role (iamrole-permissions); these statements
/// keep delivery working should it move to the service-linked role.
fn config_bucket_policy(context: &Context<'_>, bucket: &str) -> serde_json::Value {
    let (arn, _) = bucket_arns(bucket);
    let account = &context.target.account_id;
    json!({
        "Version": "2012-10-17",
        "Statement": [
            deny_insecure_transport(bucket),
            {
                "Sid": "AWSConfigBucketCheck",
                "Effect": "Allow",
                "Principal": {"Service": "config.amazonaws.com"},
                "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
                "Resource": arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account}}
            },
            {
                "Sid": "AWSConfigDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "config.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": format!("{arn}/{CONFIG_PREFIX}/AWSLogs/{account}/Config/*"),
                "Condition": {"StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceAccount": account
                }}
            }
        ]
    })
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
fn trail_buckets(context: &Context<'_>) -> Vec<Resource> {
    let trail_bucket = trail_bucket_name(context);
    let log_bucket = access_log_bucket_name(context);
    let logs_key = addr::logs_key();
    let retention = match context.spec.observability.trail_retention {
        LockRetention::Days(days) => format!("{days} days"),
        LockRetention::Years(years) => format!("{years} years"),
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
    .prop("tags", context.tags(ACCESS_LOG_BUCKET))
    .retained();
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
    .prop("logging_target", log_bucket)
    .prop("logging_prefix", format!("{trail_bucket}/"))
    .prop(
        "policy",
        Value::Policy(trail_bucket_policy(context, &trail_bucket)),
    )
    .prop("tags", context.tags(TRAIL_BUCKET))
    .after(&logs_key)
    .after(&LogicalId::new(ACCESS_LOG_BUCKET))
    .retained();
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
    .after(&logs_key)
    .retained();
    vec![access_logs, trail, config]
}

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

/// The managed Config rules of REFERENCE.md: (rule, managed rule identifier, parameters).
/// AWS has no managed rule with the identifier `IAM_USER_NO_ACCESS_KEY`: the platform's
/// `iam-user-no-access-key` is AWS's `iam-user-unused-credentials-check` with CIS 1.12's 45 days
/// (the tool creates no users and no access keys, so any key is out of band and flagged).
pub const CONFIG_RULES: [(&str, &str, &str); 7] = [
    (
        "iam-user-no-access-key",
        "IAM_USER_UNUSED_CREDENTIALS_CHECK",
        r#"{"maxCredentialUsageAge":"45"}"#,
    ),
    (
        "iam-password-policy",
        "IAM_PASSWORD_POLICY",
        r#"{"MaxPasswordAge":"90","MinimumPasswordLength":"14","PasswordReusePrevention":"24","RequireLowercaseCharacters":"true","RequireNumbers":"true","RequireSymbols":"true","RequireUppercaseCharacters":"true"}"#,
    ),
    (
        "s3-bucket-public-read-prohibited",
        "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        "",
    ),
    (
        "s3-bucket-server-side-encryption-enabled",
        "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
        "",
    ),
    ("vpc-flow-logs-enabled", "VPC_FLOW_LOGS_ENABLED", ""),
    ("cloudtrail-enabled", "CLOUD_TRAIL_ENABLED", ""),
    ("iam-root-access-key-check", "IAM_ROOT_ACCESS_KEY_CHECK", ""),
];

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
    let mut role = Resource::new(id, Kind::IamRole, name)
        .prop("path", "/nc/")
        .prop(
            "assume_role_policy",
            Value::Policy(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": context.target.account_id}}
                }]
            })),
        )
        .prop("max_session_seconds", 3600)
        .prop("permissions_boundary", "")
        .prop("managed_policies", Value::List(managed))
        .prop(
            "inline_policy_names",
            Value::List(vec![Value::str(inline.0)]),
        )
        .prop(
            &format!("inline_policy.{}", inline.0),
            Value::Policy(inline.1),
        )
        .prop(
            "description",
            format!("{description} ({}; managed by nc-provision)", context.env()),
        )
        .prop("tags", context.tags(id))
        .replace_on(&["path"]);
    role.global = true;
    role
}

/// The roles CloudTrail (delivery to the trail log group) and AWS Config (recording, delivery
/// to the trail bucket) assume. IAM is global: the policies cover every region of the
/// environment (the DR region's trail bucket carries a regional suffix), so that a plan in
/// any region sees the same role.
fn roles(context: &Context<'_>) -> Vec<Resource> {
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
fn trail(context: &Context<'_>) -> Resource {
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

fn detector(context: &Context<'_>) -> Resource {
    Resource::new(DETECTOR, Kind::GuardDutyDetector, "detector")
        .prop("enabled", true)
        .prop(
            "frequency",
            context
                .spec
                .observability
                .guardduty_finding_publishing_frequency
                .clone(),
        )
        .prop("tags", context.tags(DETECTOR))
}

/// The recorder (all supported resources; global resources in the primary region only), its
/// delivery channel into the Config bucket's `config/` prefix, and the managed rules.
fn config(context: &Context<'_>) -> Vec<Resource> {
    let role = LogicalId::new(CONFIG_ROLE);
    let recorder = Resource::new(RECORDER, Kind::ConfigRecorder, "default")
        .prop("role_arn", Value::reference(&role, "arn"))
        .prop("all_supported", true)
        .prop("include_global", context.target.primary_region)
        .prop("delivery_bucket", config_bucket_name(context))
        .prop("delivery_prefix", CONFIG_PREFIX)
        .prop("recording", true)
        .after(&role)
        .after(&LogicalId::new(CONFIG_BUCKET));
    let mut resources = vec![recorder];
    if context.spec.observability.enable_config_rules {
        for (rule, identifier, parameters) in CONFIG_RULES {
            let id = format!("observability.config.rule.{rule}");
            resources.push(
                Resource::new(
                    &id,
                    Kind::ConfigRule,
                    format!("nc-{}-{rule}", context.env()),
                )
                .prop("source_identifier", identifier)
                .prop("input_parameters", parameters)
                .prop(
                    "description",
                    format!("{rule} (CIS baseline; managed by nc-provision)"),
                )
                .create_input("tags", context.tags(&id))
                .after(&LogicalId::new(RECORDER)),
            );
        }
    }
    resources
}

/// The Security Hub standards of the region: CIS AWS Foundations (v1.4.0, the newest Security
/// Hub offers at or below the benchmark's v1.5) and AWS Foundational Security Best Practices.
#[must_use]
pub fn hub_standards(region: &str) -> Vec<String> {
    vec![
        format!(
            "arn:aws:securityhub:{region}::standards/aws-foundational-security-best-practices/v/1.0.0"
        ),
        format!("arn:aws:securityhub:{region}::standards/cis-aws-foundations-benchmark/v/1.4.0"),
    ]
}

fn security_hub(context: &Context<'_>) -> Resource {
    Resource::new(HUB, Kind::SecurityHubHub, "hub")
        .prop(
            "standards",
            Value::List(
                hub_standards(&context.target.region)
                    .into_iter()
                    .map(Value::Str)
                    .collect(),
            ),
        )
        .create_input("tags", context.tags(HUB))
}

/// The audit and detection services: roles, trail, detector, Config, Security Hub.
/// Logical id of the EventBridge rule delivering GuardDuty findings to their log group.
pub const FINDINGS_RULE: &str = "observability.events.guardduty-findings";

/// GuardDuty findings → EventBridge → the findings log group, where the high/critical metric
/// filter and its alarm read them; with the Logs resource policy that lets EventBridge write
/// to this environment's security log groups.
fn findings_rule(context: &Context<'_>) -> Resource {
    let env = context.env();
    let region = &context.target.region;
    let account = &context.target.account_id;
    let group = format!("{}security/guardduty-findings", log_prefix(context));
    let group_arn = format!("arn:aws:logs:{region}:{account}:log-group:{group}");
    let rule = format!("nc-{env}-guardduty-findings");
    let pattern = serde_json::json!({
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
    });
    // Two statements: EventBridge sends `aws:SourceArn` only with PutLogEvents, so a condition
    // on it would deny CreateLogStream (CloudWatch Logs resource policies for EventBridge;
    // AWS's serverless-patterns eventbridge-cloudwatch sample splits them the same way).
    let streams = format!(
        "arn:aws:logs:{region}:{account}:log-group:{}security/*:*",
        log_prefix(context)
    );
    let services = ["events.amazonaws.com", "delivery.logs.amazonaws.com"];
    let delivery = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EventBridgeCreatesStreams",
                "Effect": "Allow",
                "Principal": {"Service": services},
                "Action": "logs:CreateLogStream",
                "Resource": streams,
            },
            {
                "Sid": "EventBridgePutsEvents",
                "Effect": "Allow",
                "Principal": {"Service": services},
                "Action": "logs:PutLogEvents",
                "Resource": streams,
                "Condition": {"ArnEquals": {"aws:SourceArn": format!("arn:aws:events:{region}:{account}:rule/{rule}")}},
            }
        ],
    });
    Resource::new(FINDINGS_RULE, Kind::EventBridgeRule, rule.clone())
        .prop("event_pattern", crate::policy::canonical_text(&pattern))
        .prop("state", "ENABLED")
        .prop(
            "description",
            format!("GuardDuty findings of {env} into {group} (nc-provision)"),
        )
        .prop("target_arn", group_arn)
        .prop(
            "delivery_policy_name",
            format!("nc-{env}-events-to-security-logs"),
        )
        .prop("delivery_policy", Value::Policy(delivery))
        .prop("tags", context.tags(FINDINGS_RULE))
        .after(&LogicalId::new(FINDINGS_LOG_GROUP))
}

fn services(context: &Context<'_>) -> Vec<Resource> {
    let observability = &context.spec.observability;
    let mut resources = roles(context);
    resources.push(trail(context));
    if observability.enable_guardduty {
        resources.push(detector(context));
        resources.push(findings_rule(context));
    }
    resources.extend(config(context));
    if observability.enable_security_hub {
        resources.push(security_hub(context));
    }
    resources
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Target;

    fn expanded(env: &str, region: &str) -> Vec<Resource> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
        let spec = crate::spec::load(&dir, env).expect("shipped spec");
        let target = Target {
            env: env.to_string(),
            region: region.to_string(),
            account_id: "123456789012".to_string(),
            primary_region: region == spec.environment.region,
            availability_zones: Vec::new(),
        };
        expand(&Context {
            spec: &spec,
            target: &target,
        })
    }

    fn find<'a>(resources: &'a [Resource], id: &str) -> &'a Resource {
        resources
            .iter()
            .find(|resource| resource.id.as_str() == id)
            .unwrap_or_else(|| panic!("{id} is expanded"))
    }

    fn count(resources: &[Resource], kind: Kind) -> usize {
        resources.iter().filter(|r| r.kind == kind).count()
    }

    #[test]
    fn stg_has_every_piece_of_the_baseline() {
        let resources = expanded("stg", "us-east-1");
        assert_eq!(count(&resources, Kind::LogGroup), 3);
        assert_eq!(count(&resources, Kind::SnsTopic), 2);
        assert_eq!(
            count(&resources, Kind::LogMetricFilter),
            19,
            "15 CIS + 4 platform filters"
        );
        assert_eq!(
            count(&resources, Kind::CloudWatchAlarm),
            25,
            "15 CIS + 6 critical + 4 warnings (no API Gateway alarm without an API)"
        );
        assert_eq!(count(&resources, Kind::ConfigRule), 7);
        assert_eq!(
            count(&resources, Kind::S3Bucket),
            3,
            "trail, access logs, Config"
        );
        assert_eq!(count(&resources, Kind::IamRole), 2);
        for kind in [
            Kind::CloudTrailTrail,
            Kind::GuardDutyDetector,
            Kind::ConfigRecorder,
            Kind::SecurityHubHub,
        ] {
            assert_eq!(count(&resources, kind), 1, "{kind}");
        }
        let bucket = find(&resources, TRAIL_BUCKET);
        assert_eq!(bucket.name, "nc-dp-stg-trail-123456789012");
        assert_eq!(bucket.str_prop("object_lock_retention"), Some("30 days"));
        assert_eq!(bucket.str_prop("object_lock_mode"), Some("COMPLIANCE"));
        assert!(bucket.retain, "the trail bucket is never deleted");
        assert!(find(&resources, TRAIL_LOG_GROUP).retain);
        let recorder = find(&resources, RECORDER);
        assert_eq!(recorder.bool_prop("include_global"), Some(true));
    }

    #[test]
    fn prod_keeps_seven_years_pages_security_and_sends_warnings_to_ops() {
        let resources = expanded("prod", "us-east-1");
        let bucket = find(&resources, TRAIL_BUCKET);
        assert_eq!(bucket.str_prop("object_lock_retention"), Some("7 years"));
        assert_eq!(
            find(&resources, DETECTOR).str_prop("frequency"),
            Some("FIFTEEN_MINUTES")
        );
        assert_eq!(
            find(&resources, TRAIL_LOG_GROUP).int_prop("retention_days"),
            Some(731)
        );
        assert_eq!(
            find(&resources, OPS_LOG_GROUP).int_prop("retention_days"),
            Some(90)
        );
        let target = |id: &str| match find(&resources, id).props.get("alarm_actions") {
            Some(Value::List(items)) => items.clone(),
            other => panic!("{id}: {other:?}"),
        };
        let alerts = vec![Value::reference(&LogicalId::new(ALERT_TOPIC), "arn")];
        let ops = vec![Value::reference(&LogicalId::new(OPS_TOPIC), "arn")];
        assert_eq!(
            target("observability.alarm.cis-4-3-root-account-usage"),
            alerts
        );
        assert_eq!(target("observability.alarm.lambda-error-rate"), alerts);
        assert_eq!(
            target("observability.alarm.lambda-duration-near-timeout"),
            ops
        );
        assert_eq!(target("observability.alarm.log-ingestion-lag"), ops);
    }

    #[test]
    fn dev_has_no_ops_topic_and_no_config_rules() {
        let resources = expanded("dev", "us-east-1");
        assert_eq!(count(&resources, Kind::SnsTopic), 1);
        assert_eq!(count(&resources, Kind::ConfigRule), 0);
        assert_eq!(
            count(&resources, Kind::ConfigRecorder),
            1,
            "the recorder runs everywhere"
        );
        let warning = find(&resources, "observability.alarm.s3-access-denied");
        assert_eq!(
            warning.props.get("alarm_actions"),
            Some(&Value::List(vec![Value::reference(
                &LogicalId::new(ALERT_TOPIC),
                "arn"
            )]))
        );
    }

    #[test]
    fn the_api_gateway_alarm_exists_only_for_a_named_api_and_carries_its_dimensions() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
        let text = std::fs::read_to_string(dir.join("stg.toml")).expect("stg spec");
        let named = text
            .replacen("# api_gateway_name", "api_gateway_name", 1)
            .replacen("# api_gateway_stage", "api_gateway_stage", 1);
        let spec = crate::spec::parse(std::path::Path::new("specs/stg.toml"), &named)
            .expect("valid with the API named");
        let target = Target {
            env: "stg".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            primary_region: true,
            availability_zones: Vec::new(),
        };
        let resources = expand(&Context {
            spec: &spec,
            target: &target,
        });
        let alarm = find(&resources, "observability.alarm.apigateway-5xx-rate");
        assert_eq!(
            alarm.props.get("dimensions"),
            Some(&Value::Map(BTreeMap::from([
                ("ApiName".to_string(), "nc-stg-api".to_string()),
                ("Stage".to_string(), "stg".to_string()),
            ])))
        );
        assert_eq!(count(&resources, Kind::CloudWatchAlarm), 26);
        let unnamed = expanded("stg", "us-east-1");
        assert!(
            unnamed
                .iter()
                .all(|r| r.id.as_str() != "observability.alarm.apigateway-5xx-rate"),
            "no alarm that could never get data"
        );
    }

    #[test]
    fn the_dr_region_records_no_global_resources_and_names_its_buckets_regionally() {
        let resources = expanded("prod", "ca-central-1");
        assert_eq!(
            find(&resources, RECORDER).bool_prop("include_global"),
            Some(false)
        );
        assert_eq!(
            find(&resources, TRAIL_BUCKET).name,
            "nc-dp-prod-trail-123456789012-cac1"
        );
        assert_eq!(find(&resources, TRAIL).name, "nc-dp-prod-trail-cac1");
        assert_eq!(
            find(&resources, CONFIG_BUCKET).name,
            "nc-dp-prod-config-123456789012-cac1"
        );
        let policy = find(&resources, TRAIL_BUCKET).props["policy"].to_json();
        assert!(
            policy.to_string().contains(
                "arn:aws:cloudtrail:ca-central-1:123456789012:trail/nc-dp-prod-trail-cac1"
            ),
            "the DR bucket policy names the DR trail: {policy}"
        );
    }

    #[test]
    fn the_rejected_traffic_filter_goes_on_the_vpc_flow_log_group() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
        let spec = crate::spec::load(&dir, "stg").expect("shipped spec");
        let target = Target {
            env: "stg".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            primary_region: true,
            availability_zones: Vec::new(),
        };
        let context = Context {
            spec: &spec,
            target: &target,
        };
        let name = Value::Concat(vec![
            Value::str(FLOW_LOG_PREFIX),
            Value::reference(&LogicalId::new("vpc.vpc"), "id"),
        ]);
        let mut resources = vec![
            Resource::new("vpc.flow_logs.group", Kind::LogGroup, "pending")
                .prop("group_name", name.clone())
                .prop("name_prefix", FLOW_LOG_PREFIX),
        ];
        link(&context, &mut resources);
        let filter = find(&resources, "observability.filter.rejected-flow-traffic");
        assert_eq!(filter.props.get("log_group"), Some(&name));
        assert!(
            filter
                .depends_on
                .contains(&LogicalId::new("vpc.flow_logs.group"))
        );
        assert_eq!(filter.str_prop("metric_namespace"), Some("NC/stg/Security"));
    }

    #[test]
    fn every_cis_filter_lists_the_benchmark_event_names() {
        let patterns: BTreeMap<&str, &str> = CIS_FILTERS
            .iter()
            .map(|(control, _, pattern)| (*control, *pattern))
            .collect();
        for (control, names) in [
            ("4.4", 16),
            ("4.5", 5),
            ("4.8", 9),
            ("4.10", 6),
            ("4.11", 6),
            ("4.12", 6),
            ("4.13", 7),
            ("4.14", 11),
            ("4.15", 21),
        ] {
            assert_eq!(
                patterns[control].matches("$.eventName =").count(),
                names,
                "CIS {control}"
            );
        }
    }
}
