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
        .filter(|change| change.action != Action::NoOp)
        .collect();
    if shown.is_empty() {
        let _ = writeln!(
            out,
            "\nNo changes. The account matches the spec ({} resources).",
            plan.changes.len()
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
    let _ = writeln!(
        out,
        "\n{}: {} to add, {} to change, {} to replace, {} to destroy, {} to adopt; {} unchanged, {} retained, {} conflicts.",
        match plan.mode {
            PlanMode::Normal => "Plan",
            PlanMode::Drift => "Drift",
        },
        summary.create,
        summary.update,
        summary.replace,
        summary.delete,
        summary.adopt,
        summary.no_op,
        summary.retain,
        summary.conflict
    );
    let _ = writeln!(out, "AWS API calls: {}", calls.total());
    out
}

fn describe_action(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update in-place",
        Action::Replace => "destroy and then create replacement",
        Action::Delete => "destroy",
        Action::Adopt => "adopt (tag as managed, then update)",
        Action::Conflict => "conflict: exists but is not ours (apply refuses)",
        Action::Retain => "retain: data-bearing, never deleted",
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
        (Action::NoOp, _) => "is unchanged",
    };
    let global = if change.global { ", global" } else { "" };
    format!(
        "  # {} ({} {}{global}) {verb}",
        change.id, change.kind, change.name
    )
}

fn render_change(out: &mut String, change: &ResourceChange, mode: PlanMode) {
    let _ = writeln!(out, "\n{}", headline(change, mode));
    if let Some(reason) = &change.reason {
        let _ = writeln!(out, "  # ({reason})");
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

/// Statement-level difference of two policies, after normalisation.
fn render_policy_diff(out: &mut String, before: &serde_json::Value, after: &serde_json::Value) {
    let statements = |document: &serde_json::Value| -> Vec<String> {
        crate::policy::normalize(document)
            .get("Statement")
            .and_then(serde_json::Value::as_array)
            .map(|items| items.iter().map(serde_json::Value::to_string).collect())
            .unwrap_or_default()
    };
    let old = statements(before);
    let new = statements(after);
    for statement in &old {
        if !new.contains(statement) {
            let _ = writeln!(out, "          - {statement}");
        }
    }
    for statement in &new {
        if !old.contains(statement) {
            let _ = writeln!(out, "          + {statement}");
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
