//! Terraform-style text: `+` create, `~` update, `-/+` replace, `-` delete, a summary line.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::calls::CallStats;
use crate::model::Value;
use crate::plan::{Action, AttrChange, Plan, PlanMode, ResourceChange};

/// Renders a plan (or drift report) as text.
#[must_use]
pub fn render_plan(plan: &Plan, calls: &CallStats) -> String {
    let mut out = String::new();
    let target = &plan.target;
    let _ = writeln!(
        out,
        "nc-provision {}: environment {}, region {}, account {}",
        match plan.mode {
            PlanMode::Normal => "plan",
            PlanMode::Drift => "drift",
        },
        target.env,
        target.region,
        target.account_id
    );
    let shown: Vec<&ResourceChange> = plan
        .changes
        .iter()
        .filter(|change| !matches!(change.action, Action::NoOp | Action::Skip))
        .collect();
    let not_checked = plan.not_checked();
    if shown.is_empty() && not_checked.is_empty() {
        let _ = writeln!(
            out,
            "\nNo changes. The account matches the spec ({} resources).",
            plan.changes.len()
        );
    } else if shown.is_empty() {
        let _ = writeln!(
            out,
            "\nNo changes in the {} resources checked. {} resources were NOT CHECKED (listed below): their state is unknown.",
            plan.changes.len() - not_checked.len(),
            not_checked.len()
        );
    } else {
        if plan.mode == PlanMode::Drift {
            let _ = writeln!(
                out,
                "\nDrift detected: the live account differs from the spec."
            );
        }
        let _ = writeln!(
            out,
            "\nResource actions are indicated with the following symbols:"
        );
        let used: BTreeSet<Action> = shown.iter().map(|change| change.action).collect();
        for action in Action::ALL {
            if used.contains(&action) {
                let _ = writeln!(out, "  {:<3} {}", action.symbol(), describe_action(action));
            }
        }
        for change in &shown {
            render_change(&mut out, change, plan.mode);
        }
    }
    let summary = plan.summary();
    let title = match plan.mode {
        PlanMode::Normal => "Plan",
        PlanMode::Drift => "Drift",
    };
    let (changes, stays) = super::summary_counts(&summary);
    let _ = writeln!(out, "\n{title}: {changes}; {stays}.");
    if summary.skip > 0 {
        out.pop();
        let _ = writeln!(out, " {} NOT CHECKED.", summary.skip);
    }
    if let Some(highest) = plan.risk() {
        let counts: Vec<String> = plan
            .risk_counts()
            .iter()
            .rev()
            .map(|(class, count)| format!("{count} {}", class.name()))
            .collect();
        let _ = writeln!(
            out,
            "Risk: {} ({}).",
            highest.name().to_uppercase(),
            counts.join(", ")
        );
    }
    if !not_checked.is_empty() {
        let _ = writeln!(
            out,
            "\nNot checked ({}): their API is not available at this endpoint (emulator mode), so they were neither read nor changed:",
            not_checked.len()
        );
        for change in &not_checked {
            let _ = writeln!(out, "  ? {} ({} {})", change.id, change.kind, change.name);
        }
    }
    let _ = writeln!(out, "AWS API calls: {}", calls.total());
    out
}

fn describe_action(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update in-place",
        Action::Replace => "destroy and then create replacement",
        Action::Delete => "destroy",
        Action::Adopt => "adopt (tag as managed, or record it in the audit table; then update)",
        Action::Conflict => "conflict: exists but is not ours (apply refuses)",
        Action::Retain => "retain: data-bearing, never deleted",
        Action::Skip => "skip: not available at this endpoint (emulator)",
        Action::NoOp => "no change",
    }
}

fn headline(change: &ResourceChange, mode: PlanMode) -> String {
    let verb = match (change.action, mode) {
        (Action::Create, PlanMode::Drift) => "is missing and will be created",
        (Action::Create, _) => "will be created",
        (Action::Update, PlanMode::Drift) => "has drifted and will be updated in-place",
        (Action::Update, _) => "will be updated in-place",
        (Action::Replace, _) => "must be replaced",
        (Action::Delete, _) => "will be destroyed (only with --allow-destroy)",
        (Action::Adopt, _) => "will be adopted",
        (Action::Conflict, _) => "is in conflict",
        (Action::Retain, _) => "will be retained",
        (Action::Skip, _) => "is skipped",
        (Action::NoOp, _) => "is unchanged",
    };
    let global = if change.global { ", global" } else { "" };
    let risk = crate::plan::risk_of(change)
        .map(|risk| format!(" [risk: {} ({})]", risk.class.name(), risk.rule))
        .unwrap_or_default();
    format!(
        "  # {} ({} {}{global}) {verb}{risk}",
        change.id, change.kind, change.name
    )
}

fn render_change(out: &mut String, change: &ResourceChange, mode: PlanMode) {
    let _ = writeln!(out, "\n{}", headline(change, mode));
    if let Some(reason) = &change.reason {
        let _ = writeln!(out, "  # ({reason})");
    }
    for line in super::causes_lines(change) {
        let _ = writeln!(out, "  # {line}");
    }
    let _ = writeln!(
        out,
        "  {} {} \"{}\" {{",
        change.action.symbol(),
        change.kind,
        change.id
    );
    let width = change
        .attributes
        .iter()
        .map(|attribute| attribute.name.len())
        .max()
        .unwrap_or(0);
    for attribute in &change.attributes {
        render_attribute(out, attribute, width);
    }
    let _ = writeln!(out, "    }}");
}

fn render_attribute(out: &mut String, attribute: &AttrChange, width: usize) {
    let name = &attribute.name;
    let forces = if attribute.forces_replace {
        " # forces replacement"
    } else {
        ""
    };
    match (&attribute.before, &attribute.after) {
        (None, Some(after)) => {
            let _ = writeln!(out, "      + {name:<width$} = {}", render_value(after));
        }
        (Some(before), None) => {
            let _ = writeln!(out, "      - {name:<width$} = {}", render_value(before));
        }
        (Some(Value::Map(before)), Some(Value::Map(after))) => {
            let _ = writeln!(out, "      ~ {name:<width$} = {{{forces}");
            let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
            for key in keys {
                match (before.get(key), after.get(key)) {
                    (Some(old), Some(new)) if old != new => {
                        let _ = writeln!(out, "          ~ {key} = {old:?} -> {new:?}");
                    }
                    (Some(old), None) => {
                        let _ = writeln!(out, "          - {key} = {old:?}");
                    }
                    (None, Some(new)) => {
                        let _ = writeln!(out, "          + {key} = {new:?}");
                    }
                    _ => {}
                }
            }
            let _ = writeln!(out, "        }}");
        }
        (Some(Value::List(before)), Some(Value::List(after)))
            if !after.iter().any(Value::is_unknown) =>
        {
            // Rules and routes: name the items that go and come.
            let _ = writeln!(out, "      ~ {name:<width$} = [{forces}");
            for item in before {
                if !after.iter().any(|other| other.equivalent(item)) {
                    let _ = writeln!(out, "          - {}", render_value(item));
                }
            }
            for item in after {
                if !before.iter().any(|other| other.equivalent(item)) {
                    let _ = writeln!(out, "          + {}", render_value(item));
                }
            }
            let _ = writeln!(out, "        ]");
        }
        (Some(Value::Policy(before)), Some(Value::Policy(after))) => {
            let _ = writeln!(out, "      ~ {name:<width$} = policy statements{forces}");
            render_policy_diff(out, before, after);
        }
        (Some(before), Some(after)) => {
            let _ = writeln!(
                out,
                "      ~ {name:<width$} = {} -> {}{forces}",
                render_value(before),
                render_value(after)
            );
        }
        (None, None) => {}
    }
}

/// Statement-level difference of two policies, after normalisation: statements only in the
/// live policy (`-`), only in the desired one (`+`), and pairs that differ in a few fields
/// (`~`, with per-field and per-element changes such as one added action).
fn render_policy_diff(out: &mut String, before: &serde_json::Value, after: &serde_json::Value) {
    let statements = |document: &serde_json::Value| -> Vec<serde_json::Value> {
        crate::policy::normalize(document)
            .get("Statement")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let old = statements(before);
    let new = statements(after);
    let mut removed: Vec<&serde_json::Value> = old.iter().filter(|s| !new.contains(s)).collect();
    let added: Vec<&serde_json::Value> = new.iter().filter(|s| !old.contains(s)).collect();
    let mut unpaired_added = Vec::new();
    for statement in added {
        // Pair with the removed statement that differs in the fewest fields (at most two).
        let best = removed
            .iter()
            .enumerate()
            .map(|(index, candidate)| (index, differing_fields(candidate, statement).len()))
            .filter(|(_, count)| *count <= 2)
            .min_by_key(|(_, count)| *count);
        match best {
            Some((index, _)) => {
                let previous = removed.remove(index);
                render_statement_change(out, previous, statement);
            }
            None => unpaired_added.push(statement),
        }
    }
    for statement in removed {
        let _ = writeln!(out, "          - statement {statement}");
    }
    for statement in unpaired_added {
        let _ = writeln!(out, "          + statement {statement}");
    }
}

fn differing_fields<'a>(left: &'a serde_json::Value, right: &'a serde_json::Value) -> Vec<&'a str> {
    let keys: BTreeSet<&str> = left
        .as_object()
        .into_iter()
        .chain(right.as_object())
        .flat_map(|fields| fields.keys().map(String::as_str))
        .collect();
    keys.into_iter()
        .filter(|key| left.get(*key) != right.get(*key))
        .collect()
}

/// One statement's summary line: effect, actions and resources, shortened.
fn statement_summary(statement: &serde_json::Value) -> String {
    let field = |name: &str| {
        let text = statement.get(name).map(ids_text).unwrap_or_default();
        if text.len() > 60 {
            format!("{}...", text.chars().take(57).collect::<String>())
        } else {
            text
        }
    };
    let mut summary = format!("{} {}", field("Effect"), field("Action"));
    let resource = field("Resource");
    if !resource.is_empty() {
        summary.push_str(&format!(" on {resource}"));
    }
    let principal = statement
        .get("Principal")
        .and_then(serde_json::Value::as_object)
        .map(|kinds| {
            kinds
                .iter()
                .map(|(kind, ids)| format!("{kind} {}", ids_text(ids)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    if !principal.is_empty() {
        summary.push_str(&format!(" for {principal}"));
    }
    summary
}

/// A JSON string as it is, an array's items joined with `, `, anything else as JSON.
fn ids_text(ids: &serde_json::Value) -> String {
    match ids {
        serde_json::Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map_or_else(|| item.to_string(), str::to_string)
            })
            .collect::<Vec<_>>()
            .join(", "),
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn render_statement_change(
    out: &mut String,
    before: &serde_json::Value,
    after: &serde_json::Value,
) {
    let _ = writeln!(out, "          ~ statement ({})", statement_summary(before));
    for field in differing_fields(before, after) {
        match (before.get(field), after.get(field)) {
            (Some(serde_json::Value::Array(old)), Some(serde_json::Value::Array(new))) => {
                for item in old.iter().filter(|item| !new.contains(item)) {
                    let _ = writeln!(out, "              - {field} {item}");
                }
                for item in new.iter().filter(|item| !old.contains(item)) {
                    let _ = writeln!(out, "              + {field} {item}");
                }
            }
            (Some(old), Some(new)) => {
                let _ = writeln!(out, "              ~ {field} = {old} -> {new}");
            }
            (Some(old), None) => {
                let _ = writeln!(out, "              - {field} = {old}");
            }
            (None, Some(new)) => {
                let _ = writeln!(out, "              + {field} = {new}");
            }
            (None, None) => {}
        }
    }
}

/// One value as shown in human output.
#[must_use]
pub fn render_value(value: &Value) -> String {
    match value {
        Value::Bool(flag) => flag.to_string(),
        Value::Int(number) => number.to_string(),
        Value::Str(text) => format!("{text:?}"),
        Value::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(render_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Map(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(key, value)| format!("{key} = {value:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Policy(document) => document.to_string(),
        Value::Ref(_) | Value::Concat(_) | Value::Unknown => "(known after apply)".to_string(),
    }
}

#[cfg(test)]
mod policy_diff_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_added_action_is_shown_as_one_line_of_a_changed_statement() {
        let before = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]});
        let after = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"},
            {"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Action": "logs:PutLogEvents", "Principal": {"Service": "logs.amazonaws.com"}, "Resource": "*"}]});
        let mut out = String::new();
        render_policy_diff(&mut out, &before, &after);
        assert!(
            out.contains("~ statement (Allow s3:getobject on arn:aws:s3:::b/*)"),
            "{out}"
        );
        assert!(out.contains("+ Action \"s3:putobject\""), "{out}");
        assert!(out.contains("+ statement "), "{out}");
        assert!(
            !out.contains("Deny"),
            "the unchanged statement is not shown: {out}"
        );
    }
}
