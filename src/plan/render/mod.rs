//! Renderers: plans and apply reports as text for people or JSON for machines.
//!
//! Renderers only format; they never decide anything.

mod dot;
mod human;
mod json;
mod markdown;

pub use dot::render_graph as dot_graph;
pub use human::{render_plan as human_plan, render_value};
pub use json::{JSON_FORMAT_VERSION, plan_json};
pub use markdown::render_plan as markdown_plan;

/// A plan summary's counts as text: what changes (`N to add, N to change, N to replace, N to
/// destroy, N to adopt`) and what stays (`N unchanged, N retained, N conflicts`).
fn summary_counts(summary: &crate::plan::Summary) -> (String, String) {
    let changes = format!(
        "{} to add, {} to change, {} to replace, {} to destroy, {} to adopt",
        summary.create, summary.update, summary.replace, summary.delete, summary.adopt
    );
    let stays = format!(
        "{} unchanged, {} retained, {} conflicts",
        summary.no_op, summary.retain, summary.conflict
    );
    (changes, stays)
}

/// Most causes a human or Markdown plan lists per change (JSON lists them all).
const SHOWN_CAUSES: usize = 3;

/// A change's causes as lines for people: `from specs/prod.toml:41
/// observability.log_retention_days` or `drift: live differs from the spec (versioning)`, at
/// most [`SHOWN_CAUSES`], then `+N more (see --format json)`.
fn causes_lines(change: &crate::plan::ResourceChange) -> Vec<String> {
    let mut lines: Vec<String> = change
        .causes
        .iter()
        .take(SHOWN_CAUSES)
        .map(ToString::to_string)
        .collect();
    if change.causes.len() > SHOWN_CAUSES {
        lines.push(format!(
            "+{} more (see --format json)",
            change.causes.len() - SHOWN_CAUSES
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use crate::plan::Summary;

    #[test]
    fn summary_counts_name_every_action_in_order() {
        let summary = Summary {
            create: 1,
            update: 2,
            replace: 3,
            delete: 4,
            adopt: 5,
            conflict: 6,
            retain: 7,
            no_op: 8,
            skip: 9,
        };
        assert_eq!(
            super::summary_counts(&summary),
            (
                "1 to add, 2 to change, 3 to replace, 4 to destroy, 5 to adopt".to_string(),
                "8 unchanged, 7 retained, 6 conflicts".to_string()
            )
        );
    }

    #[test]
    fn a_change_shows_at_most_three_causes_then_how_many_more() {
        use crate::model::{Kind, LogicalId, SpecLine};
        use crate::plan::{Action, Cause, ResourceChange};
        let line = |number: usize| {
            Cause::Spec(SpecLine {
                file: "specs/stg.toml".into(),
                line: number,
                key: format!("k{number}"),
            })
        };
        let mut change = ResourceChange {
            id: LogicalId::new("vpc.vpc"),
            kind: Kind::Vpc,
            name: "nc-stg-vpc".into(),
            action: Action::Update,
            reason: None,
            attributes: Vec::new(),
            depends_on: Vec::new(),
            live_references: Vec::new(),
            global: false,
            causes: (1..=5).map(line).collect(),
        };
        assert_eq!(
            super::causes_lines(&change),
            vec![
                "from specs/stg.toml:1 k1",
                "from specs/stg.toml:2 k2",
                "from specs/stg.toml:3 k3",
                "+2 more (see --format json)",
            ]
        );
        change.causes.truncate(1);
        assert_eq!(
            super::causes_lines(&change),
            vec!["from specs/stg.toml:1 k1"]
        );
    }
}
