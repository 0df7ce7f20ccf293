//! Why a change is planned: the spec lines that cause it, or drift when no spec line does.
//!
//! There is no state file, so a plan cannot know whether the spec or the live account moved
//! since the last apply. The rule is therefore about what the spec says, not about history:
//! - a **create** (and a skip, an adoption, a conflict with a resource that is not ours) is
//!   caused by the lines that make the resource exist: its list entry, the flag that turns it
//!   on, or its module's table;
//! - an **update** or **replace** is caused, per changed attribute, by the lines its desired
//!   value comes from (`observability.log_retention_days`; for tags, the `[tags]` entry);
//!   an attribute that follows a resource created or replaced in the same plan (a reference
//!   that is only known after apply) by that resource's causes;
//! - a changed attribute (or tag) that no spec line sets — a value the tool always sets the
//!   same way, such as a bucket's encryption or the `nc:id` tag — is **drift**: the live
//!   side differs from the spec, whoever changed it;
//! - a live resource of the environment that the spec does not declare (a delete or retain)
//!   is drift too: **not in the spec**.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Action, AttrChange, ResourceChange};
use crate::model::{LogicalId, Resource, SpecLine, Value};

/// What a drift cause says when a changed attribute has no spec line.
pub const LIVE_DIFFERS: &str = "live differs from the spec";

/// What a drift cause says for a live resource the spec does not declare.
pub const NOT_IN_SPEC: &str = "not in the spec";

/// One cause of a planned change. In JSON, a spec line is `{"file", "line", "key"}` and drift
/// is `{"drift": "...", "attributes": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cause {
    /// A spec line whose value the change applies.
    Spec(SpecLine),
    /// No spec line: the live side differs from the spec.
    Drift(Drift),
}

/// A change (or the part of it) that no spec line causes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// [`LIVE_DIFFERS`] or [`NOT_IN_SPEC`].
    pub drift: String,
    /// The changed attributes (`tags.nc:id` for one tag) that no spec line sets; empty for a
    /// resource not in the spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Spec(line) => write!(f, "from {line}"),
            Cause::Drift(drift) if drift.attributes.is_empty() => {
                write!(f, "drift: {}", drift.drift)
            }
            Cause::Drift(drift) => write!(
                f,
                "drift: {} ({})",
                drift.drift,
                drift.attributes.join(", ")
            ),
        }
    }
}

/// The cause of a change to a live resource the spec does not declare.
#[must_use]
pub fn not_in_spec() -> Vec<Cause> {
    vec![Cause::Drift(Drift {
        drift: NOT_IN_SPEC.to_string(),
        attributes: Vec::new(),
    })]
}

/// The causes of `change`, planned for the desired `resource`. `ours`: the live resource is
/// this environment's (a conflict with one that is not is caused by the resource's existence
/// in the spec). `upstream`: the causes of the resources created or replaced earlier in the
/// plan, which the attributes referencing them follow.
#[must_use]
pub fn causes_of(
    resource: &Resource,
    change: &ResourceChange,
    ours: bool,
    upstream: &BTreeMap<LogicalId, Vec<Cause>>,
) -> Vec<Cause> {
    match change.action {
        Action::NoOp => Vec::new(),
        Action::Delete | Action::Retain => not_in_spec(),
        Action::Create | Action::Skip | Action::Adopt => declared(resource),
        Action::Conflict if !ours => declared(resource),
        Action::Conflict | Action::Update | Action::Replace => {
            attribute_causes(resource, &change.attributes, upstream)
        }
    }
}

fn declared(resource: &Resource) -> Vec<Cause> {
    resource
        .origins
        .resource_lines()
        .into_iter()
        .map(Cause::Spec)
        .collect()
}

fn attribute_causes(
    resource: &Resource,
    attributes: &[AttrChange],
    upstream: &BTreeMap<LogicalId, Vec<Cause>>,
) -> Vec<Cause> {
    let origins = &resource.origins;
    let mut causes: Vec<Cause> = Vec::new();
    let mut drifted: Vec<String> = Vec::new();
    for attribute in attributes {
        let name = &attribute.name;
        let followed = followed(resource, name, upstream);
        let mut lines = followed.clone();
        if origins.has_entries(name) {
            for entry in changed_entries(attribute) {
                let mut entry_lines = origins.entry_lines(name, &entry);
                if entry_lines.is_empty() {
                    entry_lines = origins.attribute_lines(name);
                }
                if entry_lines.is_empty() && followed.is_empty() {
                    drifted.push(format!("{name}.{entry}"));
                }
                lines.extend(entry_lines);
            }
        } else {
            let own = origins.attribute_lines(name);
            if own.is_empty() && followed.is_empty() {
                drifted.push(name.clone());
            }
            lines.extend(own);
        }
        for line in lines {
            let cause = Cause::Spec(line);
            if !causes.contains(&cause) {
                causes.push(cause);
            }
        }
    }
    if !drifted.is_empty() {
        causes.push(Cause::Drift(Drift {
            drift: LIVE_DIFFERS.to_string(),
            attributes: drifted,
        }));
    }
    causes
}

/// The spec lines of the resources created or replaced earlier in the plan that attribute
/// `name` of `resource` references.
fn followed(
    resource: &Resource,
    name: &str,
    upstream: &BTreeMap<LogicalId, Vec<Cause>>,
) -> Vec<SpecLine> {
    let mut ids = BTreeSet::new();
    if let Some(value) = resource.props.get(name) {
        value.referenced_ids(&mut ids);
    }
    ids.iter()
        .filter_map(|id| upstream.get(id))
        .flatten()
        .filter_map(|cause| match cause {
            Cause::Spec(line) => Some(line.clone()),
            Cause::Drift(_) => None,
        })
        .collect()
}

/// The entries of a map attribute that differ between its live and desired values.
fn changed_entries(attribute: &AttrChange) -> Vec<String> {
    let map = |value: Option<&Value>| match value {
        Some(Value::Map(map)) => map.clone(),
        _ => BTreeMap::new(),
    };
    let (before, after) = (
        map(attribute.before.as_ref()),
        map(attribute.after.as_ref()),
    );
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
