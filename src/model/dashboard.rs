//! CloudWatch dashboard bodies in canonical form, and the ownership of a dashboard.
//!
//! A dashboard body is JSON text (CloudWatch user guide, "Dashboard Body Structure and
//! Syntax"): a `widgets` array and a few top-level settings (`start`, `periodOverride`, ...).
//! Desired and observed bodies are compared as [`DashboardBody`]: every object's keys sorted,
//! whole-number floats written as integers, formatting gone, and the widgets a sorted list of
//! their canonical texts. Every widget carries its own `x`/`y`/`width`/`height`, so the order
//! of the array means nothing and is never a difference.
//!
//! Ownership: dashboards carry no tags the tool reads (they are account-wide, not regional, and
//! were untaggable when this was written), so, like alarms, they carry the
//! [`alarm_owner_marker`] of their environment — at the end of the markdown of a text widget
//! of the body. A dashboard named `nc-{env}-…` without that marker is not the tool's: it is
//! never deleted as an orphan, and a desired one of the same name is a conflict (or adopted
//! with `--adopt`).

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use super::{MANAGER, Owner, alarm_owner_marker};

/// A dashboard body in canonical form: the sorted canonical texts of its widgets, and the
/// canonical text of everything else in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardBody {
    /// One canonical JSON text per widget, sorted.
    pub widgets: Vec<String>,
    /// The canonical JSON text of the body without its `widgets` (an object, `{}` if empty).
    pub settings: String,
}

impl DashboardBody {
    /// The canonical form of a body document.
    ///
    /// # Errors
    /// The document is not an object, or its `widgets` is not an array.
    pub fn from_json(document: &Value) -> Result<DashboardBody, String> {
        let Value::Object(fields) = document else {
            return Err("a dashboard body is a JSON object".to_string());
        };
        let mut settings = fields.clone();
        let widgets = match settings.remove("widgets") {
            None => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => return Err("the dashboard body's `widgets` is not an array".to_string()),
        };
        let mut widgets: Vec<String> = widgets
            .iter()
            .map(|widget| canonical_json(widget).to_string())
            .collect();
        widgets.sort();
        Ok(DashboardBody {
            widgets,
            settings: canonical_json(&Value::Object(settings)).to_string(),
        })
    }

    /// The canonical form of a body as AWS returns it (JSON text).
    ///
    /// # Errors
    /// The text is not JSON, or not a dashboard body.
    pub fn parse(text: &str) -> Result<DashboardBody, String> {
        let document: Value =
            serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))?;
        DashboardBody::from_json(&document)
    }

    /// The body as JSON text for PutDashboard: the settings with the widgets, in reading order
    /// (top to bottom, left to right).
    ///
    /// # Errors
    /// A widget or the settings are not JSON (not the output of [`DashboardBody::from_json`]).
    pub fn to_text(&self) -> Result<String, String> {
        body_text(&self.widgets, &self.settings)
    }

    /// Who owns the dashboard, read from the [`alarm_owner_marker`] at the end of one of its
    /// text widgets: this environment's, another environment's, or not the tool's.
    #[must_use]
    pub fn owner(&self, env: &str) -> Owner {
        owner_of(&self.widgets, env)
    }
}

/// Rebuilds a body's JSON text from its canonical widget texts and settings text.
///
/// # Errors
/// A widget or the settings are not JSON, or the settings are not an object.
pub fn body_text(widgets: &[String], settings: &str) -> Result<String, String> {
    let mut body = match serde_json::from_str(settings) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => return Err("the dashboard settings are not a JSON object".to_string()),
        Err(error) => return Err(format!("the dashboard settings are not JSON: {error}")),
    };
    let mut widgets = widgets
        .iter()
        .map(|text| serde_json::from_str(text))
        .collect::<Result<Vec<Value>, _>>()
        .map_err(|error| format!("a dashboard widget is not JSON: {error}"))?;
    // In reading order (top to bottom, left to right), for whoever reads the JSON.
    let position = |widget: &Value| {
        let at = |key: &str| widget.get(key).and_then(Value::as_u64).unwrap_or(0);
        (at("y"), at("x"))
    };
    widgets.sort_by_key(position);
    body.insert("widgets".to_string(), Value::Array(widgets));
    Ok(Value::Object(body).to_string())
}

/// Who owns a dashboard with these canonical widget texts, for environment `env`.
#[must_use]
pub fn owner_of(widgets: &[String], env: &str) -> Owner {
    let prefix = format!("[{MANAGER}:");
    let mut owner = Owner::Foreign;
    for widget in widgets {
        let Ok(document) = serde_json::from_str::<Value>(widget) else {
            continue;
        };
        if document.get("type").and_then(Value::as_str) != Some("text") {
            continue;
        }
        let markdown = document
            .pointer("/properties/markdown")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim_end();
        if !markdown.contains(&prefix) {
            continue;
        }
        match Owner::from_marker(markdown, env) {
            Owner::Ours => return Owner::Ours,
            other @ Owner::OtherEnv(_) => owner = other,
            _ => {}
        }
    }
    owner
}

/// The text widget's markdown line that marks a dashboard as environment `env`'s.
#[must_use]
pub fn dashboard_owner_line(env: &str) -> String {
    format!(
        "Managed by {MANAGER} (specs/{env}.toml): edits made here are reverted by the next apply. {}",
        alarm_owner_marker(env)
    )
}

/// A JSON document with every object's keys sorted and every whole-number float written as an
/// integer (`6.0` → `6`), so that documents that mean the same compare equal as text.
#[must_use]
pub fn canonical_json(value: &Value) -> Value {
    sorted_json(value, &whole_number)
}

/// A JSON document with every object's keys sorted and every number written as `number`
/// answers.
#[must_use]
pub fn sorted_json(value: &Value, number: &dyn Fn(&Number) -> Number) -> Value {
    match value {
        Value::Object(fields) => {
            let sorted: BTreeMap<&String, Value> = fields
                .iter()
                .map(|(key, item)| (key, sorted_json(item, number)))
                .collect();
            let mut map = Map::new();
            for (key, item) in sorted {
                map.insert(key.clone(), item);
            }
            Value::Object(map)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| sorted_json(item, number)).collect())
        }
        Value::Number(found) => Value::Number(number(found)),
        other => other.clone(),
    }
}

/// `6.0` as `6`; any other number unchanged.
fn whole_number(number: &Number) -> Number {
    if number.is_f64()
        && let Some(float) = number.as_f64()
        && float.fract() == 0.0
        && float.abs() < 9.0e15
    {
        // Exact: a whole float below 2^53 converts without loss.
        #[allow(clippy::cast_possible_truncation)]
        return Number::from(float as i64);
    }
    number.clone()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body() -> Value {
        json!({
            "start": "-PT3H",
            "widgets": [
                {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2,
                 "properties": {"markdown": format!("# stg\n{}", dashboard_owner_line("stg"))}},
                {"type": "metric", "x": 0, "y": 2, "width": 12, "height": 6,
                 "properties": {"title": "Lambda errors", "region": "us-east-1", "stat": "Sum",
                                "period": 300, "metrics": [["AWS/Lambda", "Errors"]]}},
                {"type": "metric", "x": 12, "y": 2, "width": 12, "height": 6,
                 "properties": {"title": "Throttles", "region": "us-east-1", "stat": "Sum",
                                "period": 300, "metrics": [["AWS/Lambda", "Throttles"]]}}
            ]
        })
    }

    #[test]
    fn widget_order_key_order_and_whitespace_are_no_difference() {
        let desired = DashboardBody::from_json(&body()).expect("body");
        // The same widgets in another order, keys reordered, pretty-printed, 6 as 6.0.
        let mut reordered = body();
        let widgets = reordered["widgets"].as_array_mut().expect("widgets");
        widgets.reverse();
        widgets[0]["height"] = json!(6.0);
        let text = serde_json::to_string_pretty(&json!({
            "widgets": reordered["widgets"],
            "start": "-PT3H",
        }))
        .expect("text");
        assert_eq!(DashboardBody::parse(&text).expect("parsed"), desired);
    }

    #[test]
    fn a_changed_a_missing_or_an_added_widget_is_a_difference() {
        let desired = DashboardBody::from_json(&body()).expect("body");
        let mut changed = body();
        changed["widgets"][1]["properties"]["period"] = json!(60);
        assert_ne!(DashboardBody::from_json(&changed).expect("b"), desired);
        let mut fewer = body();
        fewer["widgets"].as_array_mut().expect("w").pop();
        assert_ne!(DashboardBody::from_json(&fewer).expect("b"), desired);
        let mut moved = body();
        moved["widgets"][2]["x"] = json!(0);
        assert_ne!(DashboardBody::from_json(&moved).expect("b"), desired);
        let mut settings = body();
        settings["start"] = json!("-PT6H");
        assert_ne!(DashboardBody::from_json(&settings).expect("b"), desired);
    }

    #[test]
    fn the_text_for_put_dashboard_reads_back_as_the_same_body() {
        let desired = DashboardBody::from_json(&body()).expect("body");
        let text = desired.to_text().expect("text");
        assert_eq!(DashboardBody::parse(&text).expect("parsed"), desired);
        let document: Value = serde_json::from_str(&text).expect("json");
        let places: Vec<(u64, u64)> = document["widgets"]
            .as_array()
            .expect("widgets")
            .iter()
            .map(|w| (w["y"].as_u64().expect("y"), w["x"].as_u64().expect("x")))
            .collect();
        assert_eq!(places, [(0, 0), (2, 0), (2, 12)], "in reading order");
        assert!(DashboardBody::parse("not json").is_err());
        assert!(DashboardBody::parse("[1]").is_err());
        assert!(DashboardBody::parse(r#"{"widgets": 3}"#).is_err());
        assert_eq!(
            DashboardBody::parse("{}").expect("empty").widgets,
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_marker_widget_names_the_owner() {
        let ours = DashboardBody::from_json(&body()).expect("body");
        assert_eq!(ours.owner("stg"), Owner::Ours);
        assert_eq!(ours.owner("prod"), Owner::OtherEnv("stg".into()));
        let mut foreign = body();
        foreign["widgets"][0]["properties"]["markdown"] = json!("# someone's dashboard");
        assert_eq!(
            DashboardBody::from_json(&foreign).expect("b").owner("stg"),
            Owner::Foreign
        );
        // The marker only counts in a text widget.
        let mut in_title = body();
        in_title["widgets"][0]["type"] = json!("metric");
        assert_eq!(
            DashboardBody::from_json(&in_title).expect("b").owner("stg"),
            Owner::Foreign
        );
    }
}
