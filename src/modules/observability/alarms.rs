//! The SNS topics alarms notify, the metric filters on the module's log groups, and the
//! CloudWatch alarms: CIS 4.1–4.15 and the platform's critical and warning alarms.

use std::collections::BTreeMap;

use super::cis::{CIS_FILTERS, TRAIL_FILTERS};
use super::{
    ALERT_TOPIC, Context, FINDINGS_LOG_GROUP, OPS_TOPIC, TRAIL_LOG_GROUP, addr, log_prefix,
    namespace,
};
use crate::model::{Kind, LogicalId, Resource, Value};

pub(super) fn topics(context: &Context<'_>) -> Vec<Resource> {
    let observability = &context.spec.observability;
    let mut topics = vec![
        topic(
            context,
            ALERT_TOPIC,
            "security-alerts",
            &observability.alert_email,
        )
        .from_spec("subscriptions", "observability.alert_email"),
    ];
    if let Some(ops) = &observability.ops_email {
        topics.push(
            topic(context, OPS_TOPIC, "operations", ops)
                .declared_by("observability.ops_email")
                .from_spec("subscriptions", "observability.ops_email"),
        );
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
pub(super) fn alarms(context: &Context<'_>) -> Vec<Resource> {
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
    resources.extend(warning.into_iter().map(|def| {
        alarm(context, def, warnings).from_spec("alarm_actions", "observability.ops_email")
    }));
    resources
}
