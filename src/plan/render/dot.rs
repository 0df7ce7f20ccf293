//! Graphviz DOT of the desired resource graph: one node per resource (logical id and kind),
//! an edge from each dependency to its dependent, and, given a plan's actions, nodes coloured
//! by action.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::{DesiredGraph, LogicalId};
use crate::plan::Action;

/// The fill colour of an action.
fn colour(action: Action) -> &'static str {
    match action {
        Action::Create => "palegreen",
        Action::Update => "khaki",
        Action::Replace => "salmon",
        Action::Delete => "tomato",
        Action::Adopt => "lightblue",
        Action::Conflict => "plum",
        Action::Retain => "lightgoldenrod",
        Action::Skip => "lightgrey",
        Action::NoOp => "white",
    }
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Renders `graph` as DOT; `actions` (from a saved plan) colours the nodes and adds orphans.
#[must_use]
pub fn render_graph(graph: &DesiredGraph, actions: &BTreeMap<LogicalId, Action>) -> String {
    let mut out = String::from(
        "digraph nc_provision {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\"];\n",
    );
    for resource in graph.resources() {
        let action = actions.get(&resource.id).copied();
        let label = format!(
            "{}\\n{}{}",
            resource.id,
            resource.kind,
            action
                .filter(|action| *action != Action::NoOp)
                .map(|action| format!(" ({})", action.name()))
                .unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "  {} [label=\"{}\", fillcolor={}];",
            quoted(resource.id.as_str()),
            label.replace('"', "\\\""),
            action.map_or("white", colour)
        );
    }
    for (id, action) in actions {
        if graph.get(id).is_none() {
            let _ = writeln!(
                out,
                "  {} [label=\"{}\\n({})\", fillcolor={}, style=\"rounded,filled,dashed\"];",
                quoted(id.as_str()),
                id,
                action.name(),
                colour(*action)
            );
        }
    }
    for resource in graph.resources() {
        for dependency in &resource.depends_on {
            let _ = writeln!(
                out,
                "  {} -> {};",
                quoted(dependency.as_str()),
                quoted(resource.id.as_str())
            );
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use crate::model::Resource;

    #[test]
    fn nodes_edges_and_colours() {
        let key = Resource::new("kms.key.data", Kind::KmsKey, "alias/k");
        let bucket = Resource::new("data.bucket.raw", Kind::S3Bucket, "b").after(&key.id);
        let graph = DesiredGraph::new(vec![key, bucket]).expect("graph");
        let mut actions = BTreeMap::new();
        actions.insert(LogicalId::new("data.bucket.raw"), Action::Update);
        actions.insert(LogicalId::new("old.topic"), Action::Delete);
        let dot = render_graph(&graph, &actions);
        assert!(dot.starts_with("digraph"));
        assert!(
            dot.contains("\"kms.key.data\" -> \"data.bucket.raw\";"),
            "{dot}"
        );
        assert!(dot.contains("fillcolor=khaki"), "{dot}");
        assert!(
            dot.contains("\"old.topic\"") && dot.contains("tomato"),
            "{dot}"
        );
    }
}
