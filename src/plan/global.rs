//! Global resources (IAM) outside the primary region: verified read-only, never created,
//! changed or deleted there.
//!
//! A DR rebuild runs in another region of the same account, where IAM is the same. If a global
//! resource is missing or differs there, the primary region has not been applied (or has
//! drifted): the plan shows a `conflict` that says to apply the primary region first, so apply
//! refuses instead of duplicating or rewriting shared IAM from the DR side. Attributes whose
//! desired value names a regional resource (a boundary naming this region's data key) cannot
//! match in another region and are not compared there.

use crate::model::Kind;
use crate::model::{DesiredGraph, Value};

use super::{Action, ResourceChange};

/// Turns every change of a global resource into a read-only check for a region that is not
/// the environment's `primary_region`.
pub fn pin_global(changes: &mut [ResourceChange], graph: &DesiredGraph, primary_region: &str) {
    let global_kinds: Vec<Kind> = graph
        .resources()
        .iter()
        .filter(|resource| resource.global)
        .map(|resource| resource.kind)
        .collect();
    for change in changes.iter_mut() {
        if !change.global {
            // An orphan of a global kind (deletion) is global too.
            if matches!(change.action, Action::Delete) && global_kinds.contains(&change.kind) {
                change.global = true;
                change.action = Action::NoOp;
                change.causes.clear();
                change.reason = Some(format!(
                    "global resource {} is no longer in the spec; it is deleted from the primary \
                     region {primary_region}, never from here",
                    change.name
                ));
            }
            continue;
        }
        let regional = |name: &str| {
            graph
                .get(&change.id)
                .and_then(|resource| resource.props.get(name))
                .is_some_and(|value| names_regional(value, graph))
        };
        match change.action {
            Action::NoOp | Action::Conflict | Action::Retain | Action::Delete | Action::Skip => {}
            Action::Create => {
                change.action = Action::Conflict;
                change.reason = Some(format!(
                    "global resource {} is missing; it is managed from the primary region \
                     {primary_region}; apply there first",
                    change.name
                ));
            }
            Action::Update | Action::Replace | Action::Adopt => {
                let adopt = change.action == Action::Adopt;
                change
                    .attributes
                    .retain(|attribute| !regional(&attribute.name));
                if change.attributes.is_empty() && !adopt {
                    change.action = Action::NoOp;
                    change.reason = None;
                    change.causes.clear();
                    continue;
                }
                let names: Vec<&str> = change
                    .attributes
                    .iter()
                    .map(|attribute| attribute.name.as_str())
                    .collect();
                let what = if adopt {
                    "is not tagged as this environment's".to_string()
                } else {
                    format!("differs ({})", names.join(", "))
                };
                change.action = Action::Conflict;
                change.reason = Some(format!(
                    "global resource {} {what}; it is managed from the primary region \
                     {primary_region}; apply there first",
                    change.name
                ));
            }
        }
    }
}

/// Whether a desired value references a resource that is not global.
fn names_regional(value: &Value, graph: &DesiredGraph) -> bool {
    value.references_any(&|id| graph.get(id).is_some_and(|r| !r.global))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogicalId, Observation, Observed, Outputs, Owner, Props, Resource};
    use crate::plan::{DiffOptions, diff};

    fn graph() -> DesiredGraph {
        let key = Resource::new("kms.key.data", Kind::KmsKey, "alias/k").prop("rotation", true);
        let boundary = Resource::new("iam.policy.pb", Kind::IamPolicy, "pb")
            .prop(
                "policy",
                Value::Policy(serde_json::json!({"Statement": [{"Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": crate::model::policy_ref(&key.id, "arn")}]})),
            )
            .prop("tags", Value::Map(Default::default()))
            .global();
        let role = Resource::new("iam.role.etl", Kind::IamRole, "EtlRole")
            .prop("max_session_seconds", 43_200)
            .global();
        DesiredGraph::new(vec![key, boundary, role]).unwrap()
    }

    fn observed(id: &str, kind: Kind, props: Props) -> Observed {
        let mut outputs = Outputs::new();
        outputs.insert("arn".into(), format!("arn:{id}:dr"));
        Observed {
            id: LogicalId::new(id),
            kind,
            physical_id: id.into(),
            props,
            outputs,
            owner: Owner::Ours,
            retain: false,
            refused: None,
        }
    }

    fn plan(live: Vec<Observed>) -> Vec<ResourceChange> {
        let graph = graph();
        let mut observation = Observation::default();
        live.into_iter().for_each(|o| observation.insert(o));
        let mut changes = diff(&graph, &observation, DiffOptions::default());
        pin_global(&mut changes, &graph, "us-east-1");
        changes
    }

    fn action(changes: &[ResourceChange], id: &str) -> (Action, String) {
        let change = changes.iter().find(|c| c.id.as_str() == id).unwrap();
        (change.action, change.reason.clone().unwrap_or_default())
    }

    #[test]
    fn outside_the_primary_region_global_resources_are_never_created_or_changed() {
        let key = observed(
            "kms.key.data",
            Kind::KmsKey,
            [("rotation".to_string(), Value::Bool(true))].into(),
        );
        // The DR boundary names the DR key: that attribute is regional, not compared here.
        let boundary = observed(
            "iam.policy.pb",
            Kind::IamPolicy,
            [
                (
                    "policy".to_string(),
                    Value::Policy(serde_json::json!({"Statement": [{"Effect": "Allow",
                    "Action": "kms:Decrypt", "Resource": "arn:primary-key"}]})),
                ),
                ("tags".to_string(), Value::Map(Default::default())),
            ]
            .into(),
        );
        let role_ok = observed(
            "iam.role.etl",
            Kind::IamRole,
            [("max_session_seconds".to_string(), Value::Int(43_200))].into(),
        );
        let role_drifted = observed(
            "iam.role.etl",
            Kind::IamRole,
            [("max_session_seconds".to_string(), Value::Int(3600))].into(),
        );
        let cases: Vec<(&str, Vec<Observed>, Action, Action, &str)> = vec![
            (
                "nothing global exists: conflicts, never creates",
                vec![key.clone()],
                Action::Conflict,
                Action::Conflict,
                "missing; it is managed from the primary region us-east-1; apply there first",
            ),
            (
                "everything exists: the regional policy reference is not compared",
                vec![key.clone(), boundary.clone(), role_ok],
                Action::NoOp,
                Action::NoOp,
                "",
            ),
            (
                "a drifted role is a conflict naming the attribute",
                vec![key, boundary, role_drifted],
                Action::NoOp,
                Action::Conflict,
                "differs (max_session_seconds); it is managed from the primary region us-east-1",
            ),
        ];
        for (reason, live, boundary_action, role_action, role_reason) in cases {
            let changes = plan(live);
            assert_eq!(
                action(&changes, "iam.policy.pb").0,
                boundary_action,
                "{reason}: boundary"
            );
            let (role, why) = action(&changes, "iam.role.etl");
            assert_eq!(role, role_action, "{reason}: role");
            assert!(why.contains(role_reason), "{reason}: {why}");
            assert!(
                changes
                    .iter()
                    .all(|c| !c.global || c.action != Action::Create),
                "{reason}"
            );
        }
    }

    #[test]
    fn global_orphans_are_not_deleted_outside_the_primary_region() {
        let graph = graph();
        let mut observation = Observation::default();
        observation
            .orphans
            .push(observed("iam.role.gone", Kind::IamRole, Props::new()));
        let mut changes = diff(&graph, &observation, DiffOptions::default());
        pin_global(&mut changes, &graph, "us-east-1");
        let (action, reason) = action(&changes, "iam.role.gone");
        assert_eq!(action, Action::NoOp);
        assert!(reason.contains("primary region us-east-1"), "{reason}");
    }
}
