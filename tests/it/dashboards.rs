//! Issue 16, part 1 — the environment's four CloudWatch dashboards on LocalStack: applied with
//! the expected widgets, read back with the SDK directly; a body rewritten out of band in
//! another widget order and format is no drift, a changed body is drift that `reconcile --once`
//! repairs; a left-over dashboard with this environment's marker is an orphan, one without is
//! left alone.

use serde_json::Value;

use crate::common::{World, change, changed_attributes, count_actions};

const BOARDS: [&str; 4] = [
    "platform-health",
    "security-posture",
    "cost",
    "application-performance",
];

async fn cloudwatch(world: &World) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&world.sdk("us-east-1").await)
}

/// The names of the account's dashboards starting with `prefix`.
async fn dashboard_names(client: &aws_sdk_cloudwatch::Client, prefix: &str) -> Vec<String> {
    let listed = client
        .list_dashboards()
        .dashboard_name_prefix(prefix)
        .send()
        .await
        .expect("ListDashboards");
    let mut names: Vec<String> = listed
        .dashboard_entries()
        .iter()
        .filter_map(|entry| entry.dashboard_name().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// A dashboard's body as JSON.
async fn body(client: &aws_sdk_cloudwatch::Client, name: &str) -> Value {
    let answer = client
        .get_dashboard()
        .dashboard_name(name)
        .send()
        .await
        .unwrap_or_else(|error| panic!("GetDashboard {name}: {error:?}"));
    serde_json::from_str(answer.dashboard_body().expect("a body")).expect("JSON body")
}

async fn put(client: &aws_sdk_cloudwatch::Client, name: &str, body: &str) {
    client
        .put_dashboard()
        .dashboard_name(name)
        .dashboard_body(body)
        .send()
        .await
        .unwrap_or_else(|error| panic!("PutDashboard {name}: {error:?}"));
}

fn widgets(body: &Value) -> Vec<Value> {
    body["widgets"].as_array().expect("widgets").clone()
}

/// The widget titled `title`.
fn titled(body: &Value, title: &str) -> Value {
    widgets(body)
        .into_iter()
        .find(|widget| widget["properties"]["title"] == title)
        .unwrap_or_else(|| panic!("a widget {title:?} in {body:#}"))
}

/// The widgets as a sorted list of their texts (order-free comparison).
fn widget_set(body: &Value) -> Vec<String> {
    let mut texts: Vec<String> = widgets(body).iter().map(Value::to_string).collect();
    texts.sort();
    texts
}

/// Reads back the four dashboards of `env` in `account` and checks their widgets.
async fn check_dashboards(world: &World, env: &str) {
    let client = cloudwatch(world).await;
    let mut expected: Vec<String> = BOARDS.iter().map(|b| format!("nc-{env}-{b}")).collect();
    expected.sort();
    assert_eq!(
        dashboard_names(&client, &format!("nc-{env}-")).await,
        expected
    );
    for board in BOARDS {
        let name = format!("nc-{env}-{board}");
        let body = body(&client, &name).await;
        for widget in widgets(&body) {
            for key in ["x", "y", "width", "height"] {
                assert!(widget[key].is_u64(), "{name}: {key} of {widget}");
            }
        }
        let header = &widgets(&body)[0];
        let markdown = header["properties"]["markdown"]
            .as_str()
            .unwrap_or_default();
        assert!(
            header["type"] == "text" && markdown.ends_with(&format!("[nc-provision:{env}]")),
            "{name}: the first widget is the header with the marker: {header}"
        );
    }
    let account = &world.account;
    let health = body(&client, &format!("nc-{env}-platform-health")).await;
    let critical = titled(&health, "Critical alarms");
    assert_eq!(critical["type"], "alarm");
    assert!(
        critical["properties"]["alarms"]
            .as_array()
            .expect("alarms")
            .contains(&Value::from(format!(
                "arn:aws:cloudwatch:us-east-1:{account}:alarm:nc-{env}-lambda-error-rate"
            ))),
        "{critical}"
    );
    let errors = titled(&health, &format!("Lambda errors (svc-*-{env})"));
    let expression = errors["properties"]["metrics"][0][0]["expression"]
        .as_str()
        .expect("a SEARCH expression");
    assert!(
        expression.starts_with("SEARCH(") && expression.contains(&format!("FunctionName={env}")),
        "{expression}"
    );
    let nat = titled(&health, "NAT gateway errors").to_string();
    assert!(nat.contains("ErrorPortAllocation") && nat.contains("PacketsDropCount"));
    let security = body(&client, &format!("nc-{env}-security-posture")).await;
    let cis = titled(&security, "CIS 4.x events (trail log group)");
    assert_eq!(
        cis["properties"]["metrics"].as_array().map(Vec::len),
        Some(15)
    );
    assert!(
        titled(&security, "GuardDuty high and critical findings")
            .to_string()
            .contains(&format!("NC/{env}/Security"))
    );
    let cost = body(&client, &format!("nc-{env}-cost")).await;
    let charges = titled(&cost, "Estimated charges (account, USD)");
    assert_eq!(charges["properties"]["region"], "us-east-1");
    assert_eq!(charges["properties"]["metrics"][0][1], "EstimatedCharges");
    let performance = body(&client, &format!("nc-{env}-application-performance")).await;
    assert!(
        titled(&performance, "Documents table latency")
            .to_string()
            .contains(&format!("nc-dp-{env}-documents"))
    );
}

#[tokio::test]
async fn stg_dashboards_read_back_and_drift_in_a_body_is_repaired() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    let (code, report, stderr) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(
        count_actions(&report, "create", &["observability.dashboard."]),
        4,
        "{report:#}"
    );
    check_dashboards(&world, "stg").await;

    // A no-change plan reads the dashboards with one ListDashboards and a GetDashboard each.
    let (code, plan, _) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{plan:#}");
    let calls = &plan["api_calls"]["by_operation"];
    assert_eq!(calls["CloudWatch.ListDashboards"], 1, "{calls:#}");
    assert_eq!(calls["CloudWatch.GetDashboard"], 4, "{calls:#}");
    eprintln!("stg no-change plan: {} calls", plan["api_calls"]["total"]);

    let client = cloudwatch(&world).await;
    // The same body in another widget order, pretty-printed: no drift.
    let health = body(&client, "nc-stg-platform-health").await;
    let mut reordered = health.clone();
    reordered["widgets"]
        .as_array_mut()
        .expect("widgets")
        .reverse();
    let pretty = serde_json::to_string_pretty(&reordered).expect("text");
    put(&client, "nc-stg-platform-health", &pretty).await;
    let (code, drift, _) = world.json(&["drift", "--env", "stg"]);
    assert_eq!(code, 0, "widget order and format are no drift: {drift:#}");

    // A widget retitled and one removed: drift, repaired by reconcile.
    let cost = body(&client, "nc-stg-cost").await;
    let mut changed = cost.clone();
    let list = changed["widgets"].as_array_mut().expect("widgets");
    list.pop();
    list[1]["properties"]["title"] = Value::from("retitled by hand");
    put(&client, "nc-stg-cost", &changed.to_string()).await;
    let (code, drift, _) = world.json(&["drift", "--env", "stg"]);
    assert_eq!(code, 2, "{drift:#}");
    let drifted = change(&drift, "observability.dashboard.cost");
    assert_eq!(drifted["action"], "update", "{drift:#}");
    assert_eq!(changed_attributes(drifted), vec!["widgets".to_string()]);
    assert_eq!(drift["summary"]["update"], 1, "{drift:#}");
    let human = world.run(&["drift", "--env", "stg"]);
    human.expect_code(2);
    assert!(
        human.stdout.contains("retitled by hand"),
        "the widget that changed is shown: {}",
        human.stdout
    );

    let (code, line, stderr) = world.json(&["reconcile", "--env", "stg", "--once"]);
    assert_eq!(code, 2, "{line:#}\n{stderr}");
    assert_eq!(
        line["drifted"],
        serde_json::json!(["observability.dashboard.cost"])
    );
    assert_eq!(line["repaired"], 1);
    let repaired = body(&client, "nc-stg-cost").await;
    assert_eq!(widget_set(&repaired), widget_set(&cost));
    let (code, line, _) = world.json(&["reconcile", "--env", "stg", "--once"]);
    assert_eq!(code, 0, "{line:#}");
}

#[tokio::test]
async fn a_left_over_dashboard_with_the_marker_is_an_orphan_and_a_foreign_one_is_left_alone() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    world
        .run(&["apply", "--env", "stg", "--auto-approve"])
        .expect_code(0);
    let client = cloudwatch(&world).await;
    let text = |markdown: &str| {
        serde_json::json!({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 24,
            "height": 3, "properties": {"markdown": markdown}}]})
        .to_string()
    };
    put(
        &client,
        "nc-stg-old-board",
        &text("# retired\nManaged by nc-provision [nc-provision:stg]"),
    )
    .await;
    put(&client, "nc-stg-team-board", &text("# the team's own")).await;
    put(
        &client,
        "nc-stg-prod-copy",
        &text("# prod's [nc-provision:prod]"),
    )
    .await;

    let (code, plan, stderr) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    assert_eq!(
        change(&plan, "dashboard:nc-stg-old-board")["action"],
        "delete",
        "{plan:#}"
    );
    assert_eq!(
        count_actions(&plan, "delete", &[""]),
        1,
        "only the marked left-over: {plan:#}"
    );
    let (code, report, stderr) =
        world.json(&["apply", "--env", "stg", "--auto-approve", "--allow-destroy"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let names = dashboard_names(&client, "nc-stg-").await;
    assert!(
        !names.contains(&"nc-stg-old-board".to_string()),
        "{names:?}"
    );
    for kept in ["nc-stg-team-board", "nc-stg-prod-copy", "nc-stg-cost"] {
        assert!(names.contains(&kept.to_string()), "{kept}: {names:?}");
    }

    // A desired name taken by a dashboard without the marker: a conflict, never overwritten.
    put(&client, "nc-stg-cost", &text("# someone else's cost board")).await;
    let (code, plan, _) = world.json(&["plan", "--env", "stg"]);
    assert_eq!(code, 0, "{plan:#}");
    assert_eq!(
        change(&plan, "observability.dashboard.cost")["action"],
        "conflict",
        "{plan:#}"
    );
}

#[tokio::test]
async fn prod_has_the_four_dashboards() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    // prod applies a reviewed (saved) plan only.
    let plan_file = world.specs.join("prod.plan").to_string_lossy().to_string();
    world
        .run(&["plan", "--env", "prod", "--out", &plan_file])
        .expect_code(0);
    world
        .run(&["apply", "--env", "prod", "--plan", &plan_file])
        .expect_code(0);
    check_dashboards(&world, "prod").await;
    world
        .run(&["plan", "--env", "prod", "--detailed-exitcode"])
        .expect_code(0);
}
