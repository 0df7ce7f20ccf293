//! The environment's four CloudWatch dashboards: `nc-{env}-platform-health`,
//! `-security-posture`, `-cost` and `-application-performance`.
//!
//! Each dashboard is a short list of [`Widget`]s, placed on CloudWatch's 24-column grid with
//! explicit `x`/`y`/`width`/`height` (so the body compares as a set of widgets, see
//! [`crate::model::DashboardBody`]) and names the region of its metrics (dashboards are
//! account-wide, not regional). The first widget is a text header that says what a red widget
//! means and ends with the ownership marker of the environment.
//!
//! Metrics (CloudWatch user guide, "Dashboard Body Structure and Syntax" and "CloudWatch search
//! expression syntax"):
//! - Lambda errors, throttles, invocations and duration of the `svc-*-{env}` functions, by
//!   metric-math `SEARCH` over `{AWS/Lambda,FunctionName}` with the partial terms
//!   `FunctionName=svc FunctionName={env}` (both tokens of the name: an unquoted term is a
//!   partial match, as `InstanceType=micro` matches `t2.micro` in the user guide's "CloudWatch
//!   search expression examples"), so a new function appears without a re-apply;
//! - API Gateway `5XXError` and `Latency` of `observability.api_gateway_name` (and stage), only
//!   when the spec names the API;
//! - the documents table's read/write throttles, latency (`SuccessfulRequestLatency` per
//!   operation, by `SEARCH`) and consumed capacity;
//! - NAT gateway `ErrorPortAllocation`, `PacketsDropCount` and bytes (by `SEARCH` over every NAT
//!   gateway of the region: their ids are only known after the vpc module creates them);
//! - the environment's own security metrics (`NC/{env}/Security`): rejected flow-log traffic,
//!   GuardDuty high/critical findings, KMS and S3 access denied, Config non-compliance and the
//!   CIS 4.x counts, as published by the module's metric filters;
//! - alarm-status widgets of the critical, warning, security and CIS alarms, by ARN;
//! - `AWS/Billing` `EstimatedCharges` (published in us-east-1 only, which the widgets name).
//!
//! Dashboards are made from the environment's primary region only: they are account-wide,
//! and the DR region's plan leaves them alone.

use serde_json::{Value as Json, json};

use super::cis::CIS_FILTERS;
use super::{Context, namespace};
use crate::model::{DashboardBody, Kind, Resource, Value, dashboard_owner_line};

/// The region AWS publishes billing metrics in (CloudWatch user guide, "Create a billing alarm
/// to monitor your estimated AWS charges": "Billing metric data is stored in the US East
/// (N. Virginia) Region").
const BILLING_REGION: &str = "us-east-1";

/// One line of a graph: a metric, or a metric-math `SEARCH` expression.
enum Row {
    /// Namespace, metric name, dimensions, and a statistic other than the graph's.
    Metric(
        String,
        String,
        Vec<(&'static str, String)>,
        Option<&'static str>,
    ),
    /// A `SEARCH(...)` expression and its label.
    Search(String, &'static str),
}

/// One widget before it is placed on the grid.
enum Widget {
    /// Markdown (the header).
    Text(String),
    /// Alarm status of these alarm ARNs, under a title.
    Alarms(&'static str, Vec<String>),
    /// A time-series graph: title, rows, statistic, period in seconds, region.
    Graph(String, Vec<Row>, &'static str, u32, String),
}

/// One dashboard: its name suffix, its heading (what red means), its time range, its widgets.
struct Board {
    suffix: &'static str,
    heading: String,
    start: &'static str,
    widgets: Vec<Widget>,
}

/// The four dashboards of the environment (none outside the primary region). `alarms` are the
/// module's expanded resources: the alarm-status widgets list the alarms among them.
pub(super) fn dashboards(context: &Context<'_>, alarms: &[Resource]) -> Vec<Resource> {
    if !context.target.primary_region {
        return Vec::new();
    }
    boards(context, alarms)
        .into_iter()
        .map(|board| dashboard(context, board, alarms))
        .collect()
}

fn boards(context: &Context<'_>, alarms: &[Resource]) -> Vec<Board> {
    let on = On {
        context,
        env: context.env(),
        region: context.target.region.clone(),
    };
    vec![
        platform_health(&on, alarms),
        security_posture(&on, alarms),
        cost(&on),
        application_performance(&on),
    ]
}

/// The environment and region the widgets show.
struct On<'a> {
    context: &'a Context<'a>,
    env: &'a str,
    region: String,
}

impl On<'_> {
    /// A graph of this region with the given period.
    fn graph(
        &self,
        title: impl Into<String>,
        rows: Vec<Row>,
        stat: &'static str,
        period: u32,
    ) -> Widget {
        Widget::Graph(title.into(), rows, stat, period, self.region.clone())
    }

    /// A 5-minute graph of this region.
    fn five_minutes(&self, title: impl Into<String>, rows: Vec<Row>, stat: &'static str) -> Widget {
        self.graph(title, rows, stat, 300)
    }

    /// A 5-minute graph of the environment's security metrics (sums).
    fn security(&self, title: &str, metrics: &[&str]) -> Widget {
        let rows = metrics
            .iter()
            .map(|metric| security(self.context, metric))
            .collect();
        self.five_minutes(title, rows, "Sum")
    }

    /// The API Gateway graphs, when the spec names the API: `platform_health` gets the 5xx
    /// graph only.
    fn api(&self, all: bool) -> Vec<Widget> {
        let Some((dimensions, title)) = api_rows(self.context) else {
            return Vec::new();
        };
        let row = |metric: &str, stat| {
            Row::Metric(
                "AWS/ApiGateway".into(),
                metric.into(),
                dimensions.clone(),
                stat,
            )
        };
        if !all {
            return vec![self.five_minutes(
                format!("API Gateway 5xx ({title})"),
                vec![row("5XXError", None)],
                "Sum",
            )];
        }
        vec![
            self.five_minutes(
                format!("API Gateway 4xx and 5xx ({title})"),
                vec![row("5XXError", None), row("4XXError", None)],
                "Sum",
            ),
            self.five_minutes(
                format!("API Gateway latency ({title})"),
                vec![row("Latency", None), row("Latency", Some("p99"))],
                "Average",
            ),
        ]
    }
}

/// `nc-{env}-platform-health`: alarm status, then where a failure shows first.
fn platform_health(on: &On<'_>, alarms: &[Resource]) -> Board {
    let (context, env) = (on.context, on.env);
    let mut widgets = vec![
        Widget::Alarms("Critical alarms", alarm_arns(context, alarms, "Critical:")),
        Widget::Alarms("Warning alarms", alarm_arns(context, alarms, "Warning:")),
        on.five_minutes(
            format!("Lambda errors (svc-*-{env})"),
            vec![lambda(env, "Errors", "Sum")],
            "Sum",
        ),
        on.five_minutes(
            format!("Lambda throttles (svc-*-{env})"),
            vec![lambda(env, "Throttles", "Sum")],
            "Sum",
        ),
        on.five_minutes(
            "Documents table throttles",
            table_rows(env, &["ReadThrottleEvents", "WriteThrottleEvents"]),
            "Sum",
        ),
        on.five_minutes(
            "NAT gateway errors",
            vec![
                nat("ErrorPortAllocation", "port allocation errors"),
                nat("PacketsDropCount", "packets dropped"),
            ],
            "Sum",
        ),
        on.security("Rejected VPC flow-log traffic", &["rejected-flow-traffic"]),
    ];
    widgets.extend(on.api(false));
    Board {
        suffix: "platform-health",
        heading: "Platform health. Red: a critical alarm is in ALARM (security-alerts has been \
                  notified: act now), or a warning alarm (operations topic: act today). The \
                  graphs show where: Lambda errors or throttles, documents table throttling, \
                  NAT gateway port exhaustion or drops, a spike of rejected traffic."
            .into(),
        start: "-PT3H",
        widgets,
    }
}

/// `nc-{env}-security-posture`: the security alarms and the metric filters' counts.
fn security_posture(on: &On<'_>, alarms: &[Resource]) -> Board {
    let context = on.context;
    let cis_rows: Vec<Row> = CIS_FILTERS
        .iter()
        .map(|(control, slug, _)| security(context, &cis_metric(control, slug)))
        .collect();
    let security_namespace = namespace(context);
    let security_alarms = alarm_arns_where(context, alarms, |alarm| {
        alarm.str_prop("namespace") == Some(security_namespace.as_str())
            && !described_as(alarm, CIS)
    });
    Board {
        suffix: "security-posture",
        heading: "Security posture. Red: a CIS 4.x alarm or a security alarm is in ALARM — a \
                  GuardDuty finding of severity 7 or more, KMS or S3 access denied, an AWS \
                  Config rule found NON_COMPLIANT, or one of the audited changes (root use, \
                  IAM, CloudTrail, network). Read the trail log group for who and what."
            .into(),
        start: "-PT24H",
        widgets: vec![
            Widget::Alarms("CIS 4.x alarms", alarm_arns(context, alarms, CIS)),
            Widget::Alarms("Security alarms", security_alarms),
            on.security(
                "GuardDuty high and critical findings",
                &["guardduty-high-findings"],
            ),
            on.security(
                "KMS and S3 access denied",
                &["kms-access-denied", "s3-access-denied"],
            ),
            on.security("AWS Config non-compliance", &["config-noncompliant"]),
            on.graph("CIS 4.x events (trail log group)", cis_rows, "Sum", 3600),
        ],
    }
}

/// `nc-{env}-cost`: estimated charges (us-east-1) and the platform's cost drivers.
fn cost(on: &On<'_>) -> Board {
    let billing = |title: &str, row: Row| {
        Widget::Graph(
            title.into(),
            vec![row],
            "Maximum",
            21600,
            BILLING_REGION.into(),
        )
    };
    Board {
        suffix: "cost",
        heading: "Cost. Estimated charges are account-wide, in USD, published in us-east-1 \
                  about every 6 hours once billing alerts are enabled in the account's \
                  billing preferences. A step up that is not a planned change is the thing \
                  to explain: by service, then the documents table's capacity and NAT data."
            .into(),
        start: "-P14D",
        widgets: vec![
            billing(
                "Estimated charges (account, USD)",
                Row::Metric(
                    "AWS/Billing".into(),
                    "EstimatedCharges".into(),
                    vec![("Currency", "USD".into())],
                    None,
                ),
            ),
            billing(
                "Estimated charges by service (USD)",
                Row::Search(
                    "SEARCH('{AWS/Billing,Currency,ServiceName} MetricName=\"EstimatedCharges\"', 'Maximum', 21600)".into(),
                    "",
                ),
            ),
            on.graph(
                "Documents table consumed capacity",
                table_rows(on.env, &["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"]),
                "Sum",
                3600,
            ),
            on.graph(
                "NAT gateway data processed (bytes)",
                vec![
                    nat("BytesOutToDestination", "out to destination"),
                    nat("BytesInFromDestination", "in from destination"),
                ],
                "Sum",
                3600,
            ),
        ],
    }
}

/// `nc-{env}-application-performance`: latency, duration and throughput.
fn application_performance(on: &On<'_>) -> Board {
    let env = on.env;
    let mut widgets = vec![
        on.five_minutes(
            format!("Lambda duration (svc-*-{env})"),
            vec![lambda(env, "Duration", "Average"), lambda(env, "Duration", "p99")],
            "Average",
        ),
        on.five_minutes(
            format!("Lambda invocations and errors (svc-*-{env})"),
            vec![lambda(env, "Invocations", "Sum"), lambda(env, "Errors", "Sum")],
            "Sum",
        ),
        on.five_minutes(
            "Documents table latency",
            vec![Row::Search(
                format!(
                    "SEARCH('{{AWS/DynamoDB,Operation,TableName}} MetricName=\"SuccessfulRequestLatency\" TableName=\"{}\"', 'Average', 300)",
                    table_name(env)
                ),
                "latency (ms)",
            )],
            "Average",
        ),
        on.five_minutes(
            "Documents table throttles",
            table_rows(env, &["ReadThrottleEvents", "WriteThrottleEvents"]),
            "Sum",
        ),
    ];
    widgets.extend(on.api(true));
    Board {
        suffix: "application-performance",
        heading: "Application performance. Nothing here alarms by itself: a Lambda p99 near \
                  its timeout, a latency step or errors rising with invocations is what the \
                  critical and warning alarms on platform-health fire on next."
            .into(),
        start: "-PT3H",
        widgets,
    }
}

/// The dashboard resource of `board`: its widgets placed, the header first.
fn dashboard(context: &Context<'_>, board: Board, alarms: &[Resource]) -> Resource {
    let env = context.env();
    let name = format!("nc-{env}-{}", board.suffix);
    let header = format!(
        "# {name}\n{}\n\n{}",
        board.heading,
        dashboard_owner_line(env)
    );
    // An alarm-status widget needs at least one alarm.
    let widgets: Vec<Widget> = std::iter::once(Widget::Text(header))
        .chain(board.widgets)
        .filter(|widget| !matches!(widget, Widget::Alarms(_, arns) if arns.is_empty()))
        .collect();
    let body = json!({
        "start": board.start,
        "periodOverride": "inherit",
        "widgets": place(&widgets),
    });
    // Built from literals: always an object with a `widgets` array.
    let body = DashboardBody::from_json(&body).unwrap_or(DashboardBody {
        widgets: Vec::new(),
        settings: "{}".into(),
    });
    let id = format!("observability.dashboard.{}", board.suffix);
    let mut resource = Resource::new(&id, Kind::CloudWatchDashboard, name)
        .prop(
            "widgets",
            Value::List(body.widgets.into_iter().map(Value::Str).collect()),
        )
        .prop("settings", body.settings);
    // An alarm-status widget lists alarms that exist: the dashboard comes after them.
    for alarm in alarms.iter().filter(|r| r.kind == Kind::CloudWatchAlarm) {
        resource = resource.after(&alarm.id);
    }
    resource
}

/// The widgets as CloudWatch JSON, placed left to right, top to bottom on the 24-column grid:
/// text and alarm widgets take a full row, graphs half of one.
fn place(widgets: &[Widget]) -> Vec<Json> {
    let (mut x, mut y, mut row_height) = (0, 0, 0);
    let mut placed = Vec::new();
    for widget in widgets {
        let (kind, width, height, properties) = match widget {
            Widget::Text(markdown) => ("text", 24, 3, json!({ "markdown": markdown })),
            Widget::Alarms(title, arns) => (
                "alarm",
                24,
                3,
                json!({ "title": title, "alarms": arns, "sortBy": "stateUpdatedTimestamp" }),
            ),
            Widget::Graph(title, rows, stat, period, region) => (
                "metric",
                12,
                6,
                json!({
                    "title": title,
                    "view": "timeSeries",
                    "stat": stat,
                    "period": period,
                    "region": region,
                    "metrics": rows.iter().enumerate().map(|(n, row)| row_json(n, row)).collect::<Vec<_>>(),
                }),
            ),
        };
        if x + width > 24 {
            (x, y, row_height) = (0, y + row_height, 0);
        }
        placed.push(json!({
            "type": kind, "x": x, "y": y, "width": width, "height": height,
            "properties": properties,
        }));
        x += width;
        row_height = row_height.max(height);
    }
    placed
}

/// A graph row in the dashboard's metrics-array format.
fn row_json(index: usize, row: &Row) -> Json {
    match row {
        Row::Metric(namespace, metric, dimensions, stat) => {
            let mut items = vec![json!(namespace), json!(metric)];
            for (name, value) in dimensions {
                items.extend([json!(name), json!(value)]);
            }
            if let Some(stat) = stat {
                items.push(json!({ "stat": stat }));
            }
            Json::Array(items)
        }
        Row::Search(expression, label) => json!([{
            "expression": expression,
            "id": format!("e{}", index + 1),
            "label": label,
        }]),
    }
}

/// A Lambda metric of every `svc-*-{env}` function, by `SEARCH`.
fn lambda(env: &str, metric: &'static str, stat: &'static str) -> Row {
    Row::Search(
        format!(
            "SEARCH('{{AWS/Lambda,FunctionName}} MetricName=\"{metric}\" FunctionName=svc FunctionName={env}', '{stat}', 300)"
        ),
        if stat == "p99" { "p99" } else { "" },
    )
}

/// A NAT gateway metric of every NAT gateway of the region, by `SEARCH`.
fn nat(metric: &'static str, label: &'static str) -> Row {
    Row::Search(
        format!("SEARCH('{{AWS/NATGateway,NatGatewayId}} MetricName=\"{metric}\"', 'Sum', 300)"),
        label,
    )
}

/// One of the environment's security metrics (published by the module's metric filters).
fn security(context: &Context<'_>, metric: &str) -> Row {
    Row::Metric(namespace(context), metric.into(), Vec::new(), None)
}

/// The documents table's `metrics`.
fn table_rows(env: &str, metrics: &[&str]) -> Vec<Row> {
    metrics
        .iter()
        .map(|metric| {
            Row::Metric(
                "AWS/DynamoDB".into(),
                (*metric).into(),
                vec![("TableName", table_name(env))],
                None,
            )
        })
        .collect()
}

/// The documents table of the data module.
fn table_name(env: &str) -> String {
    format!("nc-dp-{env}-documents")
}

/// The API's dimensions and its display name, when the spec names the API.
fn api_rows(context: &Context<'_>) -> Option<(Vec<(&'static str, String)>, String)> {
    let observability = &context.spec.observability;
    let api = observability.api_gateway_name.clone()?;
    let mut dimensions = vec![("ApiName", api.clone())];
    let mut title = api;
    if let Some(stage) = &observability.api_gateway_stage {
        dimensions.push(("Stage", stage.clone()));
        title = format!("{title} {stage}");
    }
    Some((dimensions, title))
}

/// The CIS 4.x metric of a control (the alarms module's naming: `cis-4-1-<slug>`).
fn cis_metric(control: &str, slug: &str) -> String {
    format!("cis-{}-{slug}", control.replace('.', "-"))
}

/// The description prefix of the CIS 4.x alarms (the alarms module's: `CIS 4.1: ...`).
const CIS: &str = "CIS ";

/// Whether an alarm's description starts with `class` (`Critical:`, `Warning:`, [`CIS`]).
fn described_as(alarm: &Resource, class: &str) -> bool {
    alarm
        .str_prop("description")
        .is_some_and(|text| text.starts_with(class))
}

/// The ARNs of the alarms whose description starts with `class`.
fn alarm_arns(context: &Context<'_>, alarms: &[Resource], class: &str) -> Vec<String> {
    alarm_arns_where(context, alarms, |alarm| described_as(alarm, class))
}

/// The ARNs (`arn:aws:cloudwatch:{region}:{account}:alarm:{name}`, computed from the target:
/// an alarm's ARN is known before it exists) of the alarms among `resources` that pass `test`.
fn alarm_arns_where(
    context: &Context<'_>,
    resources: &[Resource],
    test: impl Fn(&Resource) -> bool,
) -> Vec<String> {
    let target = context.target;
    resources
        .iter()
        .filter(|resource| resource.kind == Kind::CloudWatchAlarm && test(resource))
        .map(|alarm| {
            format!(
                "arn:aws:cloudwatch:{}:{}:alarm:{}",
                target.region, target.account_id, alarm.name
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
