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
    let mut changes: Vec<ResourceChange> = Vec::with_capacity(graph.len());
    for resource in graph.resources() {
        let mut change = diff_resource(resource, observation, &replaced, options);
        if let Some(observed) = observation.found.get(&resource.id) {
            change.live_references = index.references(observed);
        }
        if change.action == Action::Replace {
            replaced.insert(resource.id.clone());
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
    diff_resource(
        resource,
        observation,
        &BTreeSet::new(),
        DiffOptions::default(),
    )
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
            change.attributes = desired
                .into_iter()
                .map(|(name, after)| AttrChange {
                    name,
                    before: None,
                    after: Some(after),
                    forces_replace: false,
                })
                .collect();
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

/// Whether the live state of `resource` differs from the spec, with references resolved
/// against `observation`. False when it is not observed at all.
#[must_use]
pub fn differs(resource: &Resource, observation: &Observation) -> bool {
    observation.found.get(&resource.id).is_some_and(|observed| {
        let desired = resolve(&resource.props, observation, &BTreeSet::new());
        !attribute_changes(resource, &desired, observed).is_empty()
    })
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
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Kind;
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{LogicalId, Outputs};

    fn key() -> Resource {
        Resource::new("kms.key.data", Kind::KmsKey, "alias/k").prop("rotation", true)
    }

    fn bucket(key: &Resource) -> Resource {
        Resource::new("data.bucket.raw", Kind::S3Bucket, "b")
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
            refused: None,
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
    fn an_untracked_singleton_is_left_alone_while_it_matches_and_else_needs_adopt() {
        let policy = Resource::new("iam.password_policy", Kind::IamPasswordPolicy, "account")
            .prop("minimum_password_length", 14);
        let graph = DesiredGraph::new(vec![policy.clone()]).unwrap();
        let cases = [
            (
                "matches the spec: nothing is overwritten",
                14,
                false,
                Action::NoOp,
            ),
            (
                "differs: applying would overwrite it",
                8,
                false,
                Action::Conflict,
            ),
            ("differs, --adopt: taken over", 8, true, Action::Adopt),
        ];
        for (reason, length, adopt, expected) in cases {
            let mut observation = Observation::default();
            observation.insert(observed(
                &policy,
                props(&[("minimum_password_length", length.into())]),
                Owner::Untracked,
            ));
            let changes = diff(&graph, &observation, DiffOptions { adopt });
            assert_eq!(changes[0].action, expected, "{reason}");
            let why = changes[0].reason.clone().unwrap_or_default();
            match expected {
                Action::Conflict => assert!(
                    why.contains("not set up by nc-provision") && why.contains("--adopt"),
                    "{why}"
                ),
                Action::Adopt => assert!(why.contains("records the adoption"), "{why}"),
                _ => assert!(changes[0].reason.is_none(), "{why}"),
            }
        }
    }

    #[test]
    fn differs_resolves_references_before_comparing() {
        let role = Resource::new("observability.role.config", Kind::IamRole, "ConfigRole");
        let recorder = Resource::new("observability.config.recorder", Kind::ConfigRecorder, "r")
            .prop("role_arn", Value::reference(&role.id, "arn"));
        let mut observation = Observation::default();
        observation.insert(observed(&role, Props::new(), Owner::Ours));
        let live_recorder = |arn: &str| {
            observed(
                &recorder,
                props(&[("role_arn", arn.into())]),
                Owner::Untracked,
            )
        };
        observation.insert(live_recorder("arn:observability.role.config"));
        assert!(!differs(&recorder, &observation), "same role, resolved");
        observation.insert(live_recorder("arn:someone-else"));
        assert!(differs(&recorder, &observation));
        assert!(!differs(&role, &Observation::default()), "not observed");
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
                kind: Kind::S3Bucket,
                physical_id: id.into(),
                props: BTreeMap::new(),
                outputs: Outputs::new(),
                owner: Owner::Ours,
                retain,
                refused: None,
            });
        }
        let changes = diff(&graph, &observation, DiffOptions::default());
        assert_eq!(changes[0].action, Action::Retain);
        assert_eq!(changes[1].action, Action::Delete);
    }

    #[test]
    fn a_replaced_resource_drags_its_dependents_along() {
        let vpc = Resource::new("vpc.main", Kind::Vpc, "vpc")
            .prop("cidr", "10.1.0.0/16")
            .replace_on(&["cidr"]);
        let subnet = Resource::new("vpc.subnet.a", Kind::Subnet, "subnet")
            .prop("vpc_id", Value::reference(&vpc.id, "id"))
            .prop("cidr", "10.1.0.0/19")
            .replace_on(&["vpc_id", "cidr"]);
        let igw = Resource::new("vpc.igw", Kind::InternetGateway, "igw")
            .prop("vpc_id", Value::reference(&vpc.id, "id"));
        let other = Resource::new("kms.key", Kind::KmsKey, "k").prop("rotation", true);
        let graph = DesiredGraph::new(vec![
            vpc.clone(),
            subnet.clone(),
            igw.clone(),
            other.clone(),
        ])
        .unwrap();
        let with_id = |resource: &Resource, props: Props, id: &str| {
            let mut live = observed(resource, props, Owner::Ours);
            live.outputs.insert("id".into(), id.into());
            live
        };
        let mut observation = Observation::default();
        observation.insert(with_id(
            &vpc,
            props(&[("cidr", "10.9.0.0/16".into())]),
            "vpc-1",
        ));
        observation.insert(with_id(
            &subnet,
            props(&[("vpc_id", "vpc-1".into()), ("cidr", "10.1.0.0/19".into())]),
            "subnet-1",
        ));
        observation.insert(with_id(&igw, props(&[("vpc_id", "vpc-1".into())]), "igw-1"));
        observation.insert(observed(
            &other,
            props(&[("rotation", true.into())]),
            Owner::Ours,
        ));
        let changes = diff(&graph, &observation, DiffOptions::default());
        let by_id = |id: &str| changes.iter().find(|c| c.id.as_str() == id).unwrap();
        let cases = [
            ("the VPC's CIDR changed", "vpc.main", Action::Replace),
            (
                "the subnet's VPC id is immutable",
                "vpc.subnet.a",
                Action::Replace,
            ),
            ("the gateway moves in place", "vpc.igw", Action::Update),
            ("unrelated resources stay", "kms.key", Action::NoOp),
        ];
        for (reason, id, action) in cases {
            assert_eq!(by_id(id).action, action, "{reason}");
        }
        let subnet_change = by_id("vpc.subnet.a");
        assert!(
            subnet_change
                .reason
                .as_deref()
                .unwrap()
                .contains("replaced along with vpc.main"),
            "{:?}",
            subnet_change.reason
        );
        let vpc_id = &subnet_change.attributes[0];
        assert_eq!(vpc_id.name, "vpc_id");
        assert_eq!(vpc_id.after, Some(Value::Unknown));
        assert!(vpc_id.forces_replace);
    }

    #[test]
    fn a_kept_resource_named_after_a_replaced_one_is_made_anew() {
        let vpc = Resource::new("vpc.main", Kind::Vpc, "vpc")
            .prop("cidr", "10.3.0.0/16")
            .replace_on(&["cidr"]);
        let group = Resource::new("vpc.flow_logs.group", Kind::LogGroup, "group")
            .prop(
                "group_name",
                Value::Concat(vec![
                    Value::str("/aws/vpc/flow-logs/"),
                    Value::reference(&vpc.id, "id"),
                ]),
            )
            .prop("retention_days", 7)
            .replace_on(&["group_name"])
            .retained();
        let graph = DesiredGraph::new(vec![vpc.clone(), group.clone()]).unwrap();
        let cases = [
            (
                "the VPC is replaced: a new group, the old one kept",
                "10.0.0.0/16",
                "/aws/vpc/flow-logs/vpc-1",
                Action::Create,
            ),
            (
                "the group was renamed out of band: refused, never replaced",
                "10.3.0.0/16",
                "/aws/vpc/flow-logs/other",
                Action::Conflict,
            ),
        ];
        for (reason, live_cidr, live_name, expected) in cases {
            let mut observation = Observation::default();
            let mut live_vpc = observed(&vpc, props(&[("cidr", live_cidr.into())]), Owner::Ours);
            live_vpc.outputs.insert("id".into(), "vpc-1".into());
            observation.insert(live_vpc);
            observation.insert(observed(
                &group,
                props(&[
                    ("group_name", live_name.into()),
                    ("retention_days", 7.into()),
                ]),
                Owner::Ours,
            ));
            let changes = diff(&graph, &observation, DiffOptions::default());
            assert_eq!(changes[1].action, expected, "{reason}: {:?}", changes[1]);
        }
    }

    #[test]
    fn live_references_order_orphans_after_what_they_name() {
        let orphan = |id: &str, physical: &str, props: Props| Observed {
            id: LogicalId::new(id),
            kind: Kind::S3Bucket,
            physical_id: physical.into(),
            props,
            outputs: Outputs::new(),
            owner: Owner::Ours,
            retain: false,
            refused: None,
        };
        let mut observation = Observation::default();
        observation
            .orphans
            .push(orphan("vpc.main", "vpc-1", Props::new()));
        observation.orphans.push(orphan(
            "vpc.subnet.a",
            "subnet-1",
            props(&[("vpc_id", "vpc-1".into())]),
        ));
        observation.orphans.push(orphan(
            "vpc.rt.a",
            "rtb-1",
            props(&[
                ("vpc_id", "vpc-1".into()),
                ("routes", Value::List(vec!["0.0.0.0/0 -> nat-1".into()])),
            ]),
        ));
        observation
            .orphans
            .push(orphan("vpc.nat.a", "nat-1", Props::new()));
        let changes = diff(
            &DesiredGraph::new(vec![]).unwrap(),
            &observation,
            DiffOptions::default(),
        );
        let deps = |id: &str| {
            changes
                .iter()
                .find(|c| c.id.as_str() == id)
                .unwrap()
                .depends_on
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
        };
        assert!(deps("vpc.main").is_empty());
        assert_eq!(deps("vpc.subnet.a"), ["vpc.main"]);
        assert_eq!(deps("vpc.rt.a"), ["vpc.main", "vpc.nat.a"]);
    }

    #[test]
    fn a_change_the_provider_says_aws_refuses_is_a_conflict_with_its_reason() {
        let resource = Resource::new("observability.bucket.trail", Kind::S3Bucket, "t")
            .prop("object_lock_retention", "5 years")
            .retained();
        let graph = DesiredGraph::new(vec![resource.clone()]).expect("graph");
        let live = props(&[("object_lock_retention", "7 years".into())]);
        let mut observation = Observation::default();
        let mut refused = observed(&resource, live, Owner::Ours);
        refused.refused = Some("cannot be shortened".into());
        observation.insert(refused);
        let changes = diff(&graph, &observation, DiffOptions::default());
        assert_eq!(changes[0].action, Action::Conflict);
        assert_eq!(changes[0].reason.as_deref(), Some("t: cannot be shortened"));
    }
}
