//! Markdown for pull-request comments and CI step summaries: the target, the risk, a table of
//! changes by action and risk class, and one collapsible section per changed resource.
//!
//! Values are shortened (long policies are cut) and `|` is escaped so that tables stay tables;
//! nothing the tool manages is a secret (no passwords or keys are ever in a plan).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::human::render_value;
use crate::plan::{Action, Plan, PlanMode, RiskClass, risk_of};

/// Longest value shown in a cell.
const CELL: usize = 160;

/// Renders a plan (or drift report) as GitHub-flavoured Markdown.
#[must_use]
pub fn render_plan(plan: &Plan) -> String {
    let mut out = String::new();
    let target = &plan.target;
    let title = match plan.mode {
        PlanMode::Normal => "plan",
        PlanMode::Drift => "drift",
    };
    let _ = writeln!(
        out,
        "### nc-provision {title}: `{}` ({}, account {})\n",
        target.env, target.region, target.account_id
    );
    let summary = plan.summary();
    let risk = plan
        .risk()
        .map_or_else(|| "none".to_string(), |class| class.name().to_uppercase());
    let (changes, stays) = super::summary_counts(&summary);
    let not_checked = if summary.skip > 0 {
        format!(", **{} not checked**", summary.skip)
    } else {
        String::new()
    };
    let _ = writeln!(out, "**Risk: {risk}** · {changes} · {stays}{not_checked}\n");
    let mut table: BTreeMap<Action, BTreeMap<RiskClass, usize>> = BTreeMap::new();
    for change in &plan.changes {
        if let Some(risk) = risk_of(change) {
            *table
                .entry(change.action)
                .or_default()
                .entry(risk.class)
                .or_insert(0) += 1;
        }
    }
    if table.is_empty() {
        let _ = writeln!(out, "No changes.");
    } else {
        let _ = writeln!(
            out,
            "| action | high | medium | low |\n|---|---:|---:|---:|"
        );
        for action in Action::ALL {
            if let Some(counts) = table.get(&action) {
                let count = |class| counts.get(&class).copied().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    action.name(),
                    count(RiskClass::High),
                    count(RiskClass::Medium),
                    count(RiskClass::Low)
                );
            }
        }
        let _ = writeln!(out);
    }
    for change in plan
        .changes
        .iter()
        .filter(|change| !matches!(change.action, Action::NoOp | Action::Skip))
    {
        let risk = risk_of(change)
            .map(|risk| format!(" — risk **{}** ({})", risk.class.name(), risk.rule))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<details><summary><code>{}</code> {} <code>{}</code> ({}){risk}</summary>\n",
            change.action.symbol(),
            change.action.name(),
            change.id,
            cell(&format!("{} {}", change.kind, change.name))
        );
        if let Some(reason) = &change.reason {
            let _ = writeln!(out, "_{}_\n", cell(reason));
        }
        let causes = super::causes_lines(change);
        if !causes.is_empty() {
            for cause in causes {
                let _ = writeln!(out, "- {}", cell(&cause));
            }
            let _ = writeln!(out);
        }
        if !change.attributes.is_empty() {
            let _ = writeln!(out, "| attribute | before | after |\n|---|---|---|");
            for attribute in &change.attributes {
                let show = |value: Option<&crate::model::Value>| {
                    value.map_or_else(
                        || "–".to_string(),
                        |v| format!("`{}`", cell(&render_value(v))),
                    )
                };
                let _ = writeln!(
                    out,
                    "| {}{} | {} | {} |",
                    attribute.name,
                    if attribute.forces_replace {
                        " (forces replacement)"
                    } else {
                        ""
                    },
                    show(attribute.before.as_ref()),
                    show(attribute.after.as_ref())
                );
            }
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    let not_checked = plan.not_checked();
    if !not_checked.is_empty() {
        let _ = writeln!(
            out,
            "**Not checked** (their API is not available at this endpoint): {}",
            not_checked
                .iter()
                .map(|change| format!("`{}`", change.id))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

/// A value safe for a table cell: one line, `|` escaped, cut to [`CELL`] characters.
fn cell(text: &str) -> String {
    let flat = text
        .replace('\n', " ")
        .replace('|', "\\|")
        .replace('`', "'");
    if flat.chars().count() > CELL {
        let cut: String = flat.chars().take(CELL).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_in_their_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        let long = "x".repeat(500);
        assert_eq!(cell(&long).chars().count(), CELL + 1);
    }
}
