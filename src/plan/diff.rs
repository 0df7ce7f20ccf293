//! The pure diff: desired graph + observation → one change per resource.

use crate::model::{DesiredGraph, Observation, Observed, Owner, Props, Resource, Value};

use super::{Action, AttrChange, ResourceChange};

/// An observed attribute a provider sets when the desired change is one AWS refuses (e.g.
/// shortening a COMPLIANCE Object Lock retention): its text is the reason, and the plan shows a
/// conflict instead of an update.
pub const REFUSED: &str = "nc:refused";

/// Choices that change how differences become actions.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions {
    /// Take over same-named resources that are not ours (`apply --adopt`).
    pub adopt: bool,
}

/// Replaces every reference whose target exists with the target's output; references to
/// resources still to be created become [`Value::Unknown`].
#[must_use]
pub fn resolve(props: &Props, observation: &Observation) -> Props {
    props
        .iter()
        .map(|(name, value)| (name.clone(), resolve_value(value, observation)))
        .collect()
}

fn resolve_value(value: &Value, observation: &Observation) -> Value {
    match value {
        Value::Ref(reference) => observation
            .found
            .get(&reference.id)
            .and_then(|observed| observed.outputs.get(&reference.output))
            .map_or(Value::Unknown, |output| Value::Str(output.clone())),
        Value::List(items) => Value::List(
            items
                .iter()
                .map(|item| resolve_value(item, observation))
                .collect(),
        ),
        Value::Concat(parts) => {
            let mut joined = String::new();
            for part in parts {
                match resolve_value(part, observation) {
                    Value::Str(text) => joined.push_str(&text),
                    _ => return Value::Unknown,
                }
            }
            Value::Str(joined)
        }
        Value::Policy(document) => {
            let lookup = |reference: &crate::model::Ref| {
                observation
                    .found
                    .get(&reference.id)
                    .and_then(|observed| observed.outputs.get(&reference.output))
                    .cloned()
            };
            crate::model::substitute_refs(document, &lookup).map_or(Value::Unknown, Value::Policy)
        }
        other => other.clone(),
    }
}

/// Computes the plan's changes, in the graph's dependency order, followed by orphans.
#[must_use]
pub fn diff(
    graph: &DesiredGraph,
    observation: &Observation,
    options: DiffOptions,
) -> Vec<ResourceChange> {
    let mut changes: Vec<ResourceChange> = graph
        .resources()
        .iter()
        .map(|resource| diff_resource(resource, observation, options))
        .collect();
    changes.extend(observation.orphans.iter().map(orphan_change));
    changes
}

fn diff_resource(
    resource: &Resource,
    observation: &Observation,
    options: DiffOptions,
) -> ResourceChange {
    let desired = resolve(&resource.props, observation);
    let mut change = ResourceChange {
        id: resource.id.clone(),
        kind: resource.kind,
        name: resource.name.clone(),
        action: Action::NoOp,
        reason: None,
        attributes: Vec::new(),
        depends_on: resource.depends_on.clone(),
        global: resource.global,
    };
    if let Some(why) = observation.unsupported.get(&resource.id) {
        change.action = Action::Skip;
        change.reason = Some(format!("not available at this endpoint: {why}"));
        return change;
    }
    let Some(observed) = observation.found.get(&resource.id) else {
        change.action = Action::Create;
        change.attributes = desired
            .into_iter()
            .map(|(name, after)| AttrChange {
                name,
                before: None,
                after: Some(after),
                forces_replace: false,
            })
            .collect();
        return change;
    };
    change.attributes = attribute_changes(resource, &desired, observed);
    match &observed.owner {
        Owner::Ours => {}
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
    if let Some(Value::Str(reason)) = observed.props.get(REFUSED) {
        change.action = Action::Conflict;
        change.reason = Some(format!("{}: {reason}", observed.physical_id));
        return change;
    }
    let forced: Vec<&str> = change
        .attributes
        .iter()
        .filter(|attribute| attribute.forces_replace)
        .map(|attribute| attribute.name.as_str())
        .collect();
    if forced.is_empty() {
        change.action = Action::Update;
    } else if resource.retain {
        change.action = Action::Conflict;
        change.reason = Some(format!(
            "{} cannot change in place and {} is data-bearing, so the tool never replaces it",
            forced.join(", "),
            observed.physical_id
        ));
    } else {
        change.action = Action::Replace;
        change.reason = Some(format!("{} cannot change in place", forced.join(", ")));
    }
    change
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

fn orphan_change(observed: &Observed) -> ResourceChange {
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
        depends_on: Vec::new(),
        global: false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{LogicalId, Outputs};

    fn key() -> Resource {
        Resource::new("kms.key.data", "kms_key", "alias/k").prop("rotation", true)
    }

    fn bucket(key: &Resource) -> Resource {
        Resource::new("data.bucket.raw", "s3_bucket", "b")
            .prop("versioning", "Enabled")
            .prop("kms_key", Value::reference(&key.id, "arn"))
            .prop("name", "b")
            .replace_on(&["name"])
            .retained()
    }

    fn observed(resource: &Resource, props: Props, owner: Owner) -> Observed {
        let mut outputs = Outputs::new();
        outputs.insert("arn".into(), format!("arn:{}", resource.id));
        Observed {
            id: resource.id.clone(),
            kind: resource.kind,
            physical_id: resource.name.clone(),
            props,
            outputs,
            owner,
            retain: resource.retain,
        }
    }

    fn props(pairs: &[(&str, Value)]) -> Props {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_string(), value.clone()))
            .collect()
    }

    #[test]
    fn actions_follow_the_observation() {
        let key = key();
        let bucket = bucket(&key);
        let graph = DesiredGraph::new(vec![key.clone(), bucket.clone()]).unwrap();
        let good_bucket = props(&[
            ("versioning", "Enabled".into()),
            ("kms_key", "arn:kms.key.data".into()),
            ("name", "b".into()),
        ]);
        let cases: Vec<(&str, Vec<Observed>, Action, Action)> = vec![
            (
                "nothing exists: create both, the ref is unknown",
                vec![],
                Action::Create,
                Action::Create,
            ),
            (
                "all in sync",
                vec![
                    observed(&key, props(&[("rotation", true.into())]), Owner::Ours),
                    observed(&bucket, good_bucket.clone(), Owner::Ours),
                ],
                Action::NoOp,
                Action::NoOp,
            ),
            (
                "rotation off and versioning suspended: in-place updates",
                vec![
                    observed(&key, props(&[("rotation", false.into())]), Owner::Ours),
                    observed(
                        &bucket,
                        props(&[
                            ("versioning", "Suspended".into()),
                            ("kms_key", "arn:kms.key.data".into()),
                            ("name", "b".into()),
                        ]),
                        Owner::Ours,
                    ),
                ],
                Action::Update,
                Action::Update,
            ),
            (
                "foreign key is a conflict; an immutable change on a retained bucket is refused",
                vec![
                    observed(&key, props(&[("rotation", true.into())]), Owner::Foreign),
                    observed(
                        &bucket,
                        props(&[
                            ("versioning", "Enabled".into()),
                            ("kms_key", "arn:kms.key.data".into()),
                            ("name", "other".into()),
                        ]),
                        Owner::Ours,
                    ),
                ],
                Action::Conflict,
                Action::Conflict,
            ),
        ];
        for (reason, live, key_action, bucket_action) in cases {
            let mut observation = Observation::default();
            live.into_iter().for_each(|o| observation.insert(o));
            let changes = diff(&graph, &observation, DiffOptions::default());
            assert_eq!(changes[0].action, key_action, "{reason}: key");
            assert_eq!(changes[1].action, bucket_action, "{reason}: bucket");
        }
    }

    #[test]
    fn update_names_only_changed_attributes_with_before_and_after() {
        let key = key();
        let graph = DesiredGraph::new(vec![key.clone()]).unwrap();
        let mut observation = Observation::default();
        observation.insert(observed(
            &key,
            props(&[("rotation", false.into())]),
            Owner::Ours,
        ));
        let changes = diff(&graph, &observation, DiffOptions::default());
        assert_eq!(changes[0].attributes.len(), 1);
        assert_eq!(changes[0].attributes[0].name, "rotation");
        assert_eq!(changes[0].attributes[0].before, Some(Value::Bool(false)));
        assert_eq!(changes[0].attributes[0].after, Some(Value::Bool(true)));
    }

    #[test]
    fn adopt_turns_a_foreign_conflict_into_adopt_but_never_across_envs() {
        let key = key();
        let graph = DesiredGraph::new(vec![key.clone()]).unwrap();
        for (reason, owner, expected) in [
            ("foreign", Owner::Foreign, Action::Adopt),
            (
                "other env",
                Owner::OtherEnv("prod".into()),
                Action::Conflict,
            ),
        ] {
            let mut observation = Observation::default();
            observation.insert(observed(&key, props(&[("rotation", true.into())]), owner));
            let changes = diff(&graph, &observation, DiffOptions { adopt: true });
            assert_eq!(changes[0].action, expected, "{reason}");
        }
    }

    #[test]
    fn resources_of_an_unimplemented_api_are_skipped_not_created() {
        let key = key();
        let graph = DesiredGraph::new(vec![key.clone()]).unwrap();
        let mut observation = Observation::default();
        observation
            .unsupported
            .insert(key.id.clone(), "kms:ListAliases: 501".into());
        let changes = diff(&graph, &observation, DiffOptions::default());
        assert_eq!(changes[0].action, Action::Skip);
        assert!(!changes[0].action.is_change());
        assert!(
            changes[0]
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("501")
        );
    }

    #[test]
    fn orphans_are_deleted_unless_data_bearing() {
        let graph = DesiredGraph::new(vec![]).unwrap();
        let mut observation = Observation::default();
        for (id, retain) in [("gone.bucket", true), ("gone.role", false)] {
            observation.orphans.push(Observed {
                id: LogicalId::new(id),
                kind: "test",
                physical_id: id.into(),
                props: BTreeMap::new(),
                outputs: Outputs::new(),
                owner: Owner::Ours,
                retain,
            });
        }
        let changes = diff(&graph, &observation, DiffOptions::default());
        assert_eq!(changes[0].action, Action::Retain);
        assert_eq!(changes[1].action, Action::Delete);
    }

    #[test]
    fn a_change_the_provider_says_aws_refuses_is_a_conflict_with_its_reason() {
        let resource = Resource::new("observability.bucket.trail", "s3_bucket", "t")
            .prop("object_lock_retention", "5 years")
            .retained();
        let graph = DesiredGraph::new(vec![resource.clone()]).expect("graph");
        let mut live = props(&[("object_lock_retention", "7 years".into())]);
        live.insert(REFUSED.into(), Value::str("cannot be shortened"));
        let mut observation = Observation::default();
        observation.insert(observed(&resource, live, Owner::Ours));
        let changes = diff(&graph, &observation, DiffOptions::default());
        assert_eq!(changes[0].action, Action::Conflict);
        assert_eq!(changes[0].reason.as_deref(), Some("t: cannot be shortened"));
    }
}
