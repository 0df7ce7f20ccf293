//! The pure diff: desired graph + observation → one change per resource.
//!
//! Two rules beyond comparing attributes:
//! - Replacement propagates: while a resource is replaced, every reference to it resolves to
//!   "known after apply", because its outputs (the VPC id, the subnet id) change. A dependent
//!   whose immutable attribute references it is therefore replaced too, and one whose mutable
//!   attribute does is updated: the plan shows everything a replacement drags along.
//! - Live references: the resources a live resource names in its attributes (by physical id or
//!   ARN) are recorded, so that deletions can run in the order AWS requires (see
//!   [`crate::exec`]). A resource no longer in the spec depends on what it names.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    DesiredGraph, LogicalId, Observation, Observed, Owner, Props, Ref, Resource, Value,
};

use super::cause::{Cause, causes_of};
use super::{Action, AttrChange, ResourceChange};

/// The DynamoDB table where ownership records of untaggable singletons are kept (named here
/// for the plan's reasons; the providers own it).
const AUDIT_TABLE: &str = "nc-provision-locks";

/// Choices that change how differences become actions.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions {
    /// Take over same-named resources that are not ours (`apply --adopt`).
    pub adopt: bool,
}

/// Replaces every reference whose target exists with the target's output; references to
/// resources still to be created, or to the `replaced` ones (their outputs change), become
/// [`Value::Unknown`].
fn resolve(props: &Props, observation: &Observation, replaced: &BTreeSet<LogicalId>) -> Props {
    let lookup = |reference: &Ref| {
        if replaced.contains(&reference.id) {
            return None;
        }
        observation
            .found
            .get(&reference.id)
            .and_then(|observed| observed.outputs.get(&reference.output))
            .cloned()
    };
    props
        .iter()
        .map(|(name, value)| (name.clone(), value.resolve_or_unknown(&lookup)))
        .collect()
}

/// The replaced resources that the attributes `names` of `resource` reference.
fn dragged_by(
    resource: &Resource,
    names: &[&str],
    replaced: &BTreeSet<LogicalId>,
) -> BTreeSet<LogicalId> {
    let mut found = BTreeSet::new();
    for name in names {
        if let Some(value) = resource.props.get(*name) {
            value.referenced_ids(&mut found);
        }
    }
    found.retain(|id| replaced.contains(id));
    found
}

fn id_list(ids: &BTreeSet<LogicalId>) -> String {
    ids.iter()
        .map(LogicalId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Computes the plan's changes, in the graph's dependency order, followed by orphans.
#[must_use]
pub fn diff(
    graph: &DesiredGraph,
    observation: &Observation,
    options: DiffOptions,
) -> Vec<ResourceChange> {
    let index = PhysicalIndex::new(observation);
    let mut replaced: BTreeSet<LogicalId> = BTreeSet::new();
    // The causes of what is created or replaced, for the attributes that follow them.
    let mut upstream: BTreeMap<LogicalId, Vec<Cause>> = BTreeMap::new();
    let mut changes: Vec<ResourceChange> = Vec::with_capacity(graph.len());
    for resource in graph.resources() {
        let mut change = diff_resource(resource, observation, &replaced, options);
        change.causes = causes_of(resource, &change, ours(observation, resource), &upstream);
        if let Some(observed) = observation.found.get(&resource.id) {
            change.live_references = index.references(observed);
        }
        if change.action == Action::Replace {
            replaced.insert(resource.id.clone());
        }
        if matches!(change.action, Action::Create | Action::Replace) {
            upstream.insert(resource.id.clone(), change.causes.clone());
        }
        changes.push(change);
    }
    changes.extend(
        observation
            .orphans
            .iter()
            .map(|observed| orphan_change(observed, &index)),
    );
    changes
}

/// The change for one resource against an observation, on its own: no replacement elsewhere
/// drags it along, no `--adopt`, no live references. The executor uses it to continue a
/// create whose outcome was unknown from what it then finds (see `exec::recover`).
#[must_use]
pub fn diff_one(resource: &Resource, observation: &Observation) -> ResourceChange {
    let mut change = diff_resource(
        resource,
        observation,
        &BTreeSet::new(),
        DiffOptions::default(),
    );
    change.causes = causes_of(
        resource,
        &change,
        ours(observation, resource),
        &BTreeMap::new(),
    );
    change
}

/// Whether the live resource matched to `resource` is this environment's.
fn ours(observation: &Observation, resource: &Resource) -> bool {
    observation
        .found
        .get(&resource.id)
        .is_some_and(|observed| observed.owner == Owner::Ours)
}

/// Physical ids and ARNs of every observed resource, to find which resources a live
/// resource's attributes name.
struct PhysicalIndex<'a> {
    by_handle: BTreeMap<&'a str, &'a LogicalId>,
}

impl<'a> PhysicalIndex<'a> {
    /// Shortest handle considered: shorter strings are too likely to match by accident.
    const MIN_HANDLE: usize = 4;

    fn new(observation: &'a Observation) -> PhysicalIndex<'a> {
        let mut by_handle = BTreeMap::new();
        for observed in observation.found.values().chain(&observation.orphans) {
            let handles = std::iter::once(observed.physical_id.as_str())
                .chain(observed.outputs.get("arn").map(String::as_str));
            for handle in handles {
                if handle.len() >= Self::MIN_HANDLE {
                    by_handle.entry(handle).or_insert(&observed.id);
                }
            }
        }
        PhysicalIndex { by_handle }
    }

    /// The other resources `observed` names in its attributes: a string attribute equal to
    /// their physical id or ARN, or containing it as a whitespace-separated word (a route
    /// `0.0.0.0/0 -> nat-0abc`). Tags and policy documents are not looked into.
    fn references(&self, observed: &Observed) -> Vec<LogicalId> {
        fn walk<'v>(value: &'v Value, strings: &mut Vec<&'v str>) {
            match value {
                Value::Str(text) => strings.push(text),
                Value::List(items) => items.iter().for_each(|item| walk(item, strings)),
                _ => {}
            }
        }
        let mut strings = Vec::new();
        observed
            .props
            .values()
            .for_each(|value| walk(value, &mut strings));
        let mut found = BTreeSet::new();
        for text in strings {
            let words = std::iter::once(text).chain(text.split_whitespace());
            for word in words {
                if let Some(id) = self.by_handle.get(word)
                    && **id != observed.id
                {
                    found.insert((*id).clone());
                }
            }
        }
        found.into_iter().collect()
    }
}

fn diff_resource(
    resource: &Resource,
    observation: &Observation,
    replaced: &BTreeSet<LogicalId>,
    options: DiffOptions,
) -> ResourceChange {
    let desired = resolve(&resource.props, observation, replaced);
    let mut change = ResourceChange {
        id: resource.id.clone(),
        kind: resource.kind,
        name: resource.name.clone(),
        action: Action::NoOp,
        reason: None,
        attributes: Vec::new(),
        depends_on: resource.depends_on.clone(),
        live_references: Vec::new(),
        global: resource.global,
        causes: Vec::new(),
    };
    if let Some(why) = observation.unsupported.get(&resource.id) {
        change.action = Action::Skip;
        change.reason = Some(format!("not available at this endpoint: {why}"));
        return change;
    }
    let Some(observed) = observation.found.get(&resource.id) else {
        change.action = Action::Create;
        change.attributes = created_attributes(desired);
        return change;
    };
    change.attributes = attribute_changes(resource, &desired, observed);
    match &observed.owner {
        Owner::Ours => {}
        // An untracked singleton that matches the spec: nothing would be overwritten,
        // whoever set it up (environments applied before ownership records existed too).
        Owner::Untracked if change.attributes.is_empty() => return change,
        Owner::Untracked => {
            untracked_change(&mut change, observed, options);
            return change;
        }
        owner => {
            let whose = match owner {
                Owner::OtherEnv(env) => format!("is managed by nc-provision for environment {env}"),
                _ => "is not tagged ManagedBy=nc-provision for this environment".to_string(),
            };
            if options.adopt && !matches!(owner, Owner::OtherEnv(_)) {
                change.action = Action::Adopt;
                change.reason = Some(format!(
                    "{} exists and {whose}; --adopt takes it over",
                    observed.physical_id
                ));
            } else {
                change.action = Action::Conflict;
                let hint = match owner {
                    Owner::OtherEnv(_) => "it cannot be adopted across environments",
                    _ => "re-run apply with --adopt to take it over",
                };
                change.reason = Some(format!(
                    "{} exists and {whose}; {hint}",
                    observed.physical_id
                ));
            }
            return change;
        }
    }
    if change.attributes.is_empty() {
        return change;
    }
    if let Some(reason) = &observed.refused {
        change.action = Action::Conflict;
        change.reason = Some(format!("{}: {reason}", observed.physical_id));
        return change;
    }
    let forced_names: Vec<String> = change
        .attributes
        .iter()
        .filter(|attribute| attribute.forces_replace)
        .map(|attribute| attribute.name.clone())
        .collect();
    let forced: Vec<&str> = forced_names.iter().map(String::as_str).collect();
    if forced.is_empty() {
        change.action = Action::Update;
    } else if resource.retain {
        let dragged = dragged_by(resource, &forced, replaced);
        let every_forced_is_dragged = forced
            .iter()
            .all(|name| !dragged_by(resource, &[name], replaced).is_empty());
        if every_forced_is_dragged {
            // Its identity follows a replaced resource (a flow-log group named after the VPC
            // id): a new one is made for the new upstream; the old one keeps its data.
            change.action = Action::Create;
            change.reason = Some(format!(
                "{} follows {}, which is replaced: a new one is created and {} is data-bearing, so it is kept",
                forced.join(", "),
                id_list(&dragged),
                observed.physical_id
            ));
            change.attributes = created_attributes(desired);
        } else {
            change.action = Action::Conflict;
            change.reason = Some(format!(
                "{} cannot change in place and {} is data-bearing, so the tool never replaces it",
                forced.join(", "),
                observed.physical_id
            ));
        }
    } else {
        change.action = Action::Replace;
        let dragged = dragged_by(resource, &forced, replaced);
        change.reason = Some(if dragged.is_empty() {
            format!("{} cannot change in place", forced.join(", "))
        } else {
            format!(
                "{} cannot change in place: replaced along with {}",
                forced.join(", "),
                id_list(&dragged)
            )
        });
    }
    change
}

/// The rule for an account-level singleton that differs from the spec and that no record of
/// the tool's says it set up (see [`Owner::Untracked`]): a conflict, or with `--adopt` an
/// adoption that the provider records in the audit table.
fn untracked_change(change: &mut ResourceChange, observed: &Observed, options: DiffOptions) {
    let what = format!(
        "{} exists and was not set up by nc-provision (it has no ownership tags and no \
         ownership record in the audit table {AUDIT_TABLE})",
        observed.physical_id
    );
    if options.adopt {
        change.action = Action::Adopt;
        change.reason = Some(format!(
            "{what}; --adopt takes it over and records the adoption in {AUDIT_TABLE}"
        ));
    } else {
        // A global singleton's record lives in the primary region's table, where it is
        // applied (elsewhere it is only verified, see `pin_global`).
        let from = if change.global {
            " (in the environment's primary region)"
        } else {
            ""
        };
        change.action = Action::Conflict;
        change.reason = Some(format!(
            "{what}; applying would overwrite it: re-run apply{from} with --adopt to take it over"
        ));
    }
}

/// Every desired attribute as set by a create: no value before.
fn created_attributes(desired: Props) -> Vec<AttrChange> {
    desired
        .into_iter()
        .map(|(name, after)| AttrChange {
            name,
            before: None,
            after: Some(after),
            forces_replace: false,
        })
        .collect()
}

/// The attributes whose desired value differs from the live one.
fn attribute_changes(resource: &Resource, desired: &Props, observed: &Observed) -> Vec<AttrChange> {
    desired
        .iter()
        .filter_map(|(name, after)| {
            let before = observed.props.get(name);
            let same = match before {
                Some(before) => !after.is_unknown() && after.equivalent(before),
                None => false,
            };
            (!same).then(|| AttrChange {
                name: name.clone(),
                before: before.cloned(),
                after: Some(after.clone()),
                forces_replace: resource.replace_on.contains(&name.as_str()),
            })
        })
        .collect()
}

fn orphan_change(observed: &Observed, index: &PhysicalIndex<'_>) -> ResourceChange {
    let live_references = index.references(observed);
    let (action, reason) = if observed.retain {
        (
            Action::Retain,
            "no longer in the spec; data-bearing, so the tool never deletes it",
        )
    } else {
        (Action::Delete, "no longer in the spec")
    };
    ResourceChange {
        id: observed.id.clone(),
        kind: observed.kind,
        name: observed.physical_id.clone(),
        action,
        reason: Some(reason.to_string()),
        attributes: observed
            .props
            .iter()
            .map(|(name, before)| AttrChange {
                name: name.clone(),
                before: Some(before.clone()),
                after: None,
                forces_replace: false,
            })
            .collect(),
        depends_on: live_references.clone(),
        live_references,
        global: false,
        causes: super::cause::not_in_spec(),
    }
}

#[cfg(test)]
mod tests;
