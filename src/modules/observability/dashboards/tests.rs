//! The dashboards' unit tests.
use serde_json::Value as Json;

use super::*;
use crate::model::{Owner, Target};

fn spec_text(env: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("specs")
        .join(format!("{env}.toml"));
    std::fs::read_to_string(path).expect("shipped spec")
}

/// The dashboards of `env`'s spec text (as edited) in `region`, account 123456789012.
fn boards_of(env: &str, text: &str, region: &str) -> Vec<Resource> {
    let path = format!("specs/{env}.toml");
    let spec = crate::spec::parse(std::path::Path::new(&path), text).expect("spec");
    let target = Target {
        env: env.to_string(),
        region: region.to_string(),
        account_id: "123456789012".to_string(),
        primary_region: region == spec.environment.region,
        availability_zones: Vec::new(),
    };
    super::super::expand(&Context {
        spec: &spec,
        target: &target,
    })
    .into_iter()
    .filter(|resource| resource.kind == Kind::CloudWatchDashboard)
    .collect()
}

fn widgets(resource: &Resource) -> Vec<Json> {
    match resource.props.get("widgets") {
        Some(Value::List(items)) => items
            .iter()
            .map(|item| serde_json::from_str(item.as_str().expect("text")).expect("json"))
            .collect(),
        other => panic!("no widgets: {other:?}"),
    }
}

fn board<'a>(boards: &'a [Resource], suffix: &str) -> &'a Resource {
    boards
        .iter()
        .find(|b| b.name.ends_with(suffix))
        .unwrap_or_else(|| panic!("{suffix}"))
}

/// Every widget of `resource` whose title is `title`.
fn titled(resource: &Resource, title: &str) -> Json {
    widgets(resource)
        .into_iter()
        .find(|w| w["properties"]["title"] == title)
        .unwrap_or_else(|| panic!("{title} in {}", resource.name))
}

#[test]
fn four_dashboards_in_the_primary_region_owned_by_their_marker() {
    let boards = boards_of("stg", &spec_text("stg"), "us-east-1");
    let names: Vec<&str> = boards.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "nc-stg-platform-health",
            "nc-stg-security-posture",
            "nc-stg-cost",
            "nc-stg-application-performance"
        ]
    );
    for resource in &boards {
        let body = DashboardBody {
            widgets: widgets(resource).iter().map(Json::to_string).collect(),
            settings: resource.str_prop("settings").expect("settings").into(),
        };
        assert_eq!(body.owner("stg"), Owner::Ours, "{}", resource.name);
        assert!(body.to_text().is_ok());
    }
    assert!(
        boards_of("prod", &spec_text("prod"), "ca-central-1").is_empty(),
        "the DR region makes no dashboards"
    );
}

#[test]
fn every_widget_is_placed_on_the_grid_without_overlap() {
    for resource in boards_of("prod", &spec_text("prod"), "us-east-1") {
        let mut cells = std::collections::BTreeSet::new();
        for widget in widgets(&resource) {
            let n = |key: &str| widget[key].as_u64().expect(key);
            assert!(n("x") + n("width") <= 24, "{widget}");
            for x in n("x")..n("x") + n("width") {
                for y in n("y")..n("y") + n("height") {
                    assert!(
                        cells.insert((x, y)),
                        "overlap at {x},{y} in {}",
                        resource.name
                    );
                }
            }
        }
    }
}

#[test]
fn the_widgets_show_the_platforms_metrics_and_alarms() {
    let boards = boards_of("stg", &spec_text("stg"), "us-east-1");
    let health = board(&boards, "platform-health");
    let critical = titled(health, "Critical alarms");
    let arns = critical["properties"]["alarms"].as_array().expect("alarms");
    assert!(arns.contains(&Json::from(
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:nc-stg-lambda-error-rate"
    )));
    assert_eq!(arns.len(), 6, "{arns:?}");
    let warning = titled(health, "Warning alarms");
    assert_eq!(
        warning["properties"]["alarms"].as_array().expect("w").len(),
        4
    );
    let errors = titled(health, "Lambda errors (svc-*-stg)");
    let expression = errors["properties"]["metrics"][0][0]["expression"]
        .as_str()
        .expect("a SEARCH");
    assert!(
        expression.starts_with("SEARCH('{AWS/Lambda,FunctionName} MetricName=\"Errors\"")
            && expression.contains("FunctionName=svc FunctionName=stg"),
        "{expression}"
    );
    assert_eq!(errors["properties"]["region"], "us-east-1");
    let nat = titled(health, "NAT gateway errors").to_string();
    assert!(nat.contains("ErrorPortAllocation") && nat.contains("PacketsDropCount"));
    let rejected = titled(health, "Rejected VPC flow-log traffic");
    assert_eq!(
        rejected["properties"]["metrics"][0],
        serde_json::json!(["NC/stg/Security", "rejected-flow-traffic"])
    );

    let security = board(&boards, "security-posture");
    let cis = titled(security, "CIS 4.x events (trail log group)");
    assert_eq!(
        cis["properties"]["metrics"].as_array().expect("m").len(),
        15
    );
    assert_eq!(
        titled(security, "CIS 4.x alarms")["properties"]["alarms"]
            .as_array()
            .expect("a")
            .len(),
        15
    );
    let security_alarms = titled(security, "Security alarms").to_string();
    for alarm in [
        "guardduty-high-findings",
        "kms-access-denied",
        "config-compliance-drift",
    ] {
        assert!(
            security_alarms.contains(&format!("alarm:nc-stg-{alarm}\"")),
            "{alarm}"
        );
    }

    let cost = board(&boards, "cost");
    let charges = titled(cost, "Estimated charges (account, USD)");
    assert_eq!(charges["properties"]["region"], "us-east-1");
    assert_eq!(
        charges["properties"]["metrics"][0],
        serde_json::json!(["AWS/Billing", "EstimatedCharges", "Currency", "USD"])
    );

    let performance = board(&boards, "application-performance");
    let table = titled(performance, "Documents table throttles");
    assert_eq!(
        table["properties"]["metrics"][0],
        serde_json::json!([
            "AWS/DynamoDB",
            "ReadThrottleEvents",
            "TableName",
            "nc-dp-stg-documents"
        ])
    );
    assert!(
        !performance
            .props
            .get("widgets")
            .expect("w")
            .to_json()
            .to_string()
            .contains("ApiGateway"),
        "no API widgets without the API"
    );
}

#[test]
fn billing_widgets_name_us_east_1_whatever_the_region() {
    // The primary region in Canada, the DR region in us-east-1.
    let text = spec_text("stg")
        .replace("dr_region = \"ca-central-1\"", "dr_region = \"us-east-1\"")
        .replacen("region = \"us-east-1\"", "region = \"ca-central-1\"", 1);
    let boards = boards_of("stg", &text, "ca-central-1");
    let cost = board(&boards, "cost");
    for title in [
        "Estimated charges (account, USD)",
        "Estimated charges by service (USD)",
    ] {
        assert_eq!(titled(cost, title)["properties"]["region"], "us-east-1");
    }
    let health = board(&boards, "platform-health");
    assert_eq!(
        titled(health, "Lambda errors (svc-*-stg)")["properties"]["region"],
        "ca-central-1"
    );
}

#[test]
fn api_gateway_widgets_exist_only_for_a_named_api() {
    let text = spec_text("stg")
        .replacen("# api_gateway_name", "api_gateway_name", 1)
        .replacen("# api_gateway_stage", "api_gateway_stage", 1);
    let boards = boards_of("stg", &text, "us-east-1");
    let latency = titled(
        board(&boards, "application-performance"),
        "API Gateway latency (nc-stg-api stg)",
    );
    assert_eq!(
        latency["properties"]["metrics"][1],
        serde_json::json!(["AWS/ApiGateway", "Latency", "ApiName", "nc-stg-api", "Stage", "stg", {"stat": "p99"}])
    );
    titled(
        board(&boards, "platform-health"),
        "API Gateway 5xx (nc-stg-api stg)",
    );
}
