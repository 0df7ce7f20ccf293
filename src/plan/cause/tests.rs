//! The causes the diff gives each change: spec lines for creates and for attributes the spec
//! sets, drift for what no spec line sets and for resources not in the spec.

use std::collections::BTreeMap;

use super::*;
use crate::model::{
    DesiredGraph, Kind, Observation, Observed, Outputs, Owner, Props, Resource, SpecLine,
};
use crate::plan::{DiffOptions, diff};

/// Locates every key `resource` names on a line of its own (its position in the key list).
fn located(mut resource: Resource) -> Resource {
    let keys: Vec<String> = resource
        .origins
        .keys()
        .into_iter()
        .map(str::to_string)
        .collect();
    for (index, key) in keys.into_iter().enumerate() {
        let line = line(&key, 10 + index);
        resource.origins.lines.insert(key, line);
    }
    resource
}

fn line(key: &str, line: usize) -> SpecLine {
    SpecLine {
        file: "specs/stg.toml".into(),
        line,
        key: key.into(),
    }
}

fn tags(owner: &str, id: &str) -> Value {
    Value::Map(BTreeMap::from([
        ("Owner".to_string(), owner.to_string()),
        ("nc:id".to_string(), id.to_string()),
    ]))
}

fn group() -> Resource {
    located(
        Resource::new("observability.log_group.ops", Kind::LogGroup, "ops")
            .prop("retention_days", 30)
            .prop("class", "STANDARD")
            .prop("tags", tags("platform", "observability.log_group.ops"))
            .declared_by("observability")
            .from_spec("retention_days", "observability.log_retention_days")
            .entry_from_spec("tags", "Owner", "tags.Owner"),
    )
}

fn vpc() -> Resource {
    located(
        Resource::new("vpc.vpc", Kind::Vpc, "nc-stg-vpc")
            .prop("cidr", "10.1.0.0/16")
            .replace_on(&["cidr"])
            .declared_by("vpc")
            .from_spec("cidr", "vpc.cidr"),
    )
}

fn subnet(vpc: &Resource) -> Resource {
    located(
        Resource::new("vpc.subnet.app-a", Kind::Subnet, "nc-stg-app-a")
            .prop("vpc_id", Value::reference(&vpc.id, "id"))
            .replace_on(&["vpc_id"])
            .declared_by("vpc.az_count"),
    )
}

fn observed(resource: &Resource, props: Props, owner: Owner) -> Observed {
    Observed {
        id: resource.id.clone(),
        kind: resource.kind,
        physical_id: resource.name.clone(),
        props,
        outputs: Outputs::from([("id".to_string(), format!("id-{}", resource.id))]),
        owner,
        retain: resource.retain,
        refused: None,
    }
}

/// The causes of the single change of `resource` against `live`.
fn causes(resource: &Resource, live: Option<(Props, Owner)>) -> (Action, Vec<Cause>) {
    let graph = DesiredGraph::new(vec![resource.clone()]).expect("graph");
    let mut observation = Observation::default();
    if let Some((props, owner)) = live {
        observation.insert(observed(resource, props, owner));
    }
    let changes = diff(&graph, &observation, DiffOptions::default());
    (changes[0].action, changes[0].causes.clone())
}

fn group_props(retention: i64, class: &str, owner: &str, id: &str) -> Props {
    Props::from([
        ("retention_days".to_string(), Value::Int(retention)),
        ("class".to_string(), Value::str(class)),
        ("tags".to_string(), tags(owner, id)),
    ])
}

/// Why, the live state (none: missing), the action, the causes.
type Case = (&'static str, Option<(Props, Owner)>, Action, Vec<Cause>);

fn drift(attributes: &[&str]) -> Cause {
    Cause::Drift(Drift {
        drift: LIVE_DIFFERS.to_string(),
        attributes: attributes.iter().map(ToString::to_string).collect(),
    })
}

#[test]
fn each_change_names_its_spec_lines_or_drift() {
    let group = group();
    let id = group.id.as_str();
    let spec = |key: &str| Cause::Spec(group.origins.lines[key].clone());
    let cases: Vec<Case> = vec![
        (
            "a create is caused by the line that declares the resource",
            None,
            Action::Create,
            vec![spec("observability")],
        ),
        (
            "in sync: no cause",
            Some((group_props(30, "STANDARD", "platform", id), Owner::Ours)),
            Action::NoOp,
            vec![],
        ),
        (
            "the retention the spec sets: its line",
            Some((group_props(7, "STANDARD", "platform", id), Owner::Ours)),
            Action::Update,
            vec![spec("observability.log_retention_days")],
        ),
        (
            "an attribute no spec line sets: drift, naming it",
            Some((
                group_props(30, "INFREQUENT_ACCESS", "platform", id),
                Owner::Ours,
            )),
            Action::Update,
            vec![drift(&["class"])],
        ),
        (
            "a tag from [tags]: its line; the tool's own tag: drift",
            Some((group_props(30, "STANDARD", "someone", "other"), Owner::Ours)),
            Action::Update,
            vec![spec("tags.Owner"), drift(&["tags.nc:id"])],
        ),
        (
            "both: the spec line first, then drift",
            Some((
                group_props(7, "INFREQUENT_ACCESS", "platform", id),
                Owner::Ours,
            )),
            Action::Update,
            vec![spec("observability.log_retention_days"), drift(&["class"])],
        ),
        (
            "a resource in the way that is not ours: the line that declares ours",
            Some((group_props(7, "STANDARD", "platform", id), Owner::Foreign)),
            Action::Conflict,
            vec![spec("observability")],
        ),
    ];
    for (reason, live, action, want) in cases {
        let (got_action, got) = causes(&group, live);
        assert_eq!(got_action, action, "{reason}");
        assert_eq!(got, want, "{reason}");
    }
}

#[test]
fn an_orphan_is_not_in_the_spec() {
    let topic = Resource::new("observability.topic.old", Kind::SnsTopic, "nc-stg-old");
    let mut observation = Observation::default();
    observation
        .orphans
        .push(observed(&topic, Props::new(), Owner::Ours));
    let graph = DesiredGraph::new(Vec::new()).expect("graph");
    let changes = diff(&graph, &observation, DiffOptions::default());
    assert_eq!(changes[0].action, Action::Delete);
    assert_eq!(changes[0].causes, not_in_spec());
    assert_eq!(
        changes[0].causes[0].to_string(),
        "drift: not in the spec",
        "as the human plan shows it"
    );
}

#[test]
fn a_replacement_drags_its_dependents_with_its_causes() {
    let vpc = vpc();
    let subnet = subnet(&vpc);
    let graph = DesiredGraph::new(vec![vpc.clone(), subnet.clone()]).expect("graph");
    let mut observation = Observation::default();
    observation.insert(observed(
        &vpc,
        Props::from([("cidr".to_string(), Value::str("10.9.0.0/16"))]),
        Owner::Ours,
    ));
    observation.insert(observed(
        &subnet,
        Props::from([("vpc_id".to_string(), Value::str("id-vpc.vpc"))]),
        Owner::Ours,
    ));
    let changes = diff(&graph, &observation, DiffOptions::default());
    let cidr = Cause::Spec(vpc.origins.lines["vpc.cidr"].clone());
    assert_eq!(changes[0].action, Action::Replace);
    assert_eq!(changes[0].causes, vec![cidr.clone()]);
    assert_eq!(changes[1].action, Action::Replace, "{:?}", changes[1]);
    assert_eq!(
        changes[1].causes,
        vec![cidr],
        "the subnet follows the VPC the spec's CIDR replaces"
    );
}

#[test]
fn causes_serialize_as_the_json_documents_them() {
    let spec = Cause::Spec(line("observability.log_retention_days", 92));
    assert_eq!(
        serde_json::to_value(&spec).expect("json"),
        serde_json::json!({"file": "specs/stg.toml", "line": 92, "key": "observability.log_retention_days"})
    );
    assert_eq!(
        serde_json::to_value(drift(&["class"])).expect("json"),
        serde_json::json!({"drift": "live differs from the spec", "attributes": ["class"]})
    );
    assert_eq!(
        serde_json::to_value(&not_in_spec()[0]).expect("json"),
        serde_json::json!({"drift": "not in the spec"})
    );
    assert_eq!(
        spec.to_string(),
        "from specs/stg.toml:92 observability.log_retention_days"
    );
}
