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

/// The VPC `vpc.main` with `cidr`, replaced when its CIDR changes.
fn vpc(cidr: &str) -> Resource {
    Resource::new("vpc.main", Kind::Vpc, "vpc")
        .prop("cidr", cidr)
        .replace_on(&["cidr"])
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
    // The key (with `rotation`, owned by `key_owner`) and the bucket (with `versioning` and
    // `name`, its key resolved) as read.
    let live = |rotation: bool, key_owner: Owner, versioning: &str, name: &str| {
        let bucket_props = props(&[
            ("versioning", versioning.into()),
            ("kms_key", "arn:kms.key.data".into()),
            ("name", name.into()),
        ]);
        vec![
            observed(&key, props(&[("rotation", rotation.into())]), key_owner),
            observed(&bucket, bucket_props, Owner::Ours),
        ]
    };
    let cases: Vec<(&str, Vec<Observed>, Action, Action)> = vec![
        (
            "nothing exists: create both, the ref is unknown",
            vec![],
            Action::Create,
            Action::Create,
        ),
        (
            "all in sync",
            live(true, Owner::Ours, "Enabled", "b"),
            Action::NoOp,
            Action::NoOp,
        ),
        (
            "rotation off and versioning suspended: in-place updates",
            live(false, Owner::Ours, "Suspended", "b"),
            Action::Update,
            Action::Update,
        ),
        (
            "foreign key is a conflict; an immutable change on a retained bucket is refused",
            live(true, Owner::Foreign, "Enabled", "other"),
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
    assert!(!observation.differs(&recorder), "same role, resolved");
    observation.insert(live_recorder("arn:someone-else"));
    assert!(observation.differs(&recorder));
    assert!(!Observation::default().differs(&role), "not observed");
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
    let vpc = vpc("10.1.0.0/16");
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
    let vpc = vpc("10.3.0.0/16");
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
