//! The plan's selection (`backup_selection`): the resources it backs up (by ARN) and the role
//! AWS Backup assumes for them. A selection takes no tags and cannot be changed in place
//! (there is no UpdateBackupSelection,
//! <https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupSelection.html>):
//! every attribute forces a replacement. One belongs to us when its plan does.

use aws_sdk_backup::Client;
use aws_sdk_backup::types::{BackupPlansListMember, BackupSelection, BackupSelectionsListMember};

use super::plan::LivePlan;
use super::{Create, lacking};
use crate::model::{
    Kind, LogicalId, Observation, Observed, Outputs, Owner, Props, Resource, Value,
};
use crate::providers::ProviderError;
use crate::providers::aws::{found, list_prop, read_all};

/// A selection as read, with the name of its plan.
pub(super) struct LiveSelection {
    id: String,
    plan_id: String,
    plan_name: String,
    selection: BackupSelection,
}

/// A selection's outputs: its id and its plan's.
fn outputs(id: &str, plan_id: &str) -> Outputs {
    let output = |name: &str, value: &str| (name.to_string(), value.to_string());
    Outputs::from([output("id", id), output("plan_id", plan_id)])
}

/// The selections of plan `plan_id` (ListBackupSelections, all pages).
async fn list(
    client: &Client,
    plan_id: &str,
) -> Result<Vec<BackupSelectionsListMember>, ProviderError> {
    let call = client.list_backup_selections().backup_plan_id(plan_id);
    let call = call.into_paginator().items();
    call.send()
        .try_collect()
        .await
        .map_err(|error| lacking("backup:ListBackupSelections", plan_id, error))
}

/// The ids of plan `plan_id`'s selections.
pub(super) async fn ids_of(client: &Client, plan_id: &str) -> Result<Vec<String>, ProviderError> {
    Ok(list(client, plan_id)
        .await?
        .iter()
        .filter_map(|member| member.selection_id().map(str::to_string))
        .collect())
}

/// Every selection of the live plans (ListBackupSelections, GetBackupSelection each). Read
/// when a selection is desired.
pub(super) async fn read(
    client: &Client,
    desired: &[&Resource],
    plans: &[LivePlan],
) -> Result<Vec<LiveSelection>, ProviderError> {
    if !desired.iter().any(|r| r.kind == Kind::BackupSelection) {
        return Ok(Vec::new());
    }
    let mut members = Vec::new();
    for plan in plans {
        for member in list(client, &plan.id).await? {
            members.push((plan.id.clone(), plan.name.clone(), member));
        }
    }
    let reads = members
        .into_iter()
        .map(|(plan_id, plan_name, member)| async move {
            let id = member.selection_id().unwrap_or_default().to_string();
            let name = member.selection_name().unwrap_or_default().to_string();
            let got = found(
                client
                    .get_backup_selection()
                    .backup_plan_id(&plan_id)
                    .selection_id(&id)
                    .send()
                    .await
                    .map_err(|error| lacking("backup:GetBackupSelection", &name, error)),
            )?;
            Ok(got.and_then(|got| {
                got.backup_selection()
                    .cloned()
                    .map(|selection| LiveSelection {
                        id,
                        plan_id,
                        plan_name,
                        selection,
                    })
            }))
        });
    Ok(read_all(reads).await?.into_iter().flatten().collect())
}

/// A live selection's attributes (pure): its plan's name, role and sorted resource ARNs.
fn props(live: &LiveSelection) -> Props {
    let mut resources: Vec<&str> = live
        .selection
        .resources()
        .iter()
        .map(String::as_str)
        .collect();
    resources.sort_unstable();
    Props::from([
        ("plan".to_string(), Value::str(&live.plan_name)),
        (
            "iam_role".to_string(),
            Value::str(live.selection.iam_role_arn()),
        ),
        (
            "resources".to_string(),
            Value::List(resources.into_iter().map(Value::str).collect()),
        ),
    ])
}

/// The live selections as matches (by plan and name) and orphans (any other selection of one
/// of our plans), into `observation` (pure).
pub(super) fn observe(
    desired: &[&Resource],
    live: &[LiveSelection],
    observation: &mut Observation,
) {
    for selection in live {
        let name = selection.selection.selection_name();
        let wanted = desired.iter().find(|r| {
            r.kind == Kind::BackupSelection
                && r.name == name
                && r.str_prop("plan") == Some(selection.plan_name.as_str())
        });
        let repeated = wanted.is_some_and(|r| observation.found.contains_key(&r.id));
        let id = match wanted {
            Some(resource) if !repeated => resource.id.clone(),
            _ => LogicalId::new(format!("selection:{}/{name}", selection.plan_name)),
        };
        let observed = Observed {
            id,
            kind: Kind::BackupSelection,
            physical_id: selection.id.clone(),
            props: props(selection),
            outputs: outputs(&selection.id, &selection.plan_id),
            owner: Owner::Ours,
            retain: Kind::BackupSelection.retained(),
            refused: None,
        };
        if wanted.is_some() && !repeated {
            observation.insert(observed);
        } else {
            observation.orphans.push(observed);
        }
    }
}

/// The id of the live plan named `name` (ListBackupPlans).
async fn plan_id(client: &Client, name: &str, selection: &str) -> Result<String, ProviderError> {
    let plans = super::plan::list(client, selection).await?;
    let named = plans
        .iter()
        .find(|plan| plan.backup_plan_name() == Some(name));
    if let Some(id) = named.and_then(BackupPlansListMember::backup_plan_id) {
        return Ok(id.to_string());
    }
    let missing = format!("its backup plan {name} does not exist");
    Err(ProviderError::local(
        "backup:CreateBackupSelection",
        selection,
        missing,
    ))
}

/// CreateBackupSelection in the plan the selection names, with the step's
/// `CreatorRequestId`. One of that name already in the plan (a create whose answer was lost,
/// in an earlier run) is the one asked for; within the step, the SDK's re-send after a lost
/// answer carries the same `CreatorRequestId`, so AWS answers it with the selection the first
/// send made (selection names are not unique in a plan: without the id, a re-send would add a
/// second one).
pub(super) async fn create(create: &Create<'_>) -> Result<Outputs, ProviderError> {
    let (client, resource, name) = (create.client, create.resource, create.name());
    let plan_name = resource.str_prop("plan").unwrap_or_default();
    let plan_id = plan_id(client, plan_name, name).await?;
    if let Some(existing) = list(client, &plan_id)
        .await?
        .into_iter()
        .find(|member| member.selection_name() == Some(name))
    {
        create
            .ctx
            .note(&format!("reusing the backup selection {name}"));
        return Ok(outputs(
            existing.selection_id().unwrap_or_default(),
            &plan_id,
        ));
    }
    let resources = list_prop(resource, "resources");
    let selection = BackupSelection::builder()
        .selection_name(name)
        .iam_role_arn(resource.str_prop("iam_role").unwrap_or_default())
        .set_resources(Some(resources))
        .build()
        .map_err(|error| {
            ProviderError::local("backup:CreateBackupSelection", name, error.to_string())
        })?;
    let created = client
        .create_backup_selection()
        .backup_plan_id(&plan_id)
        .creator_request_id(&create.request_id)
        .backup_selection(selection)
        .send()
        .await
        .map_err(|error| lacking("backup:CreateBackupSelection", name, error))?;
    Ok(outputs(
        created.selection_id().unwrap_or_default(),
        &plan_id,
    ))
}

/// DeleteBackupSelection; one already gone is done.
pub(super) async fn delete_by_id(
    client: &Client,
    plan_id: &str,
    selection_id: &str,
) -> Result<(), ProviderError> {
    found(
        client
            .delete_backup_selection()
            .backup_plan_id(plan_id)
            .selection_id(selection_id)
            .send()
            .await
            .map_err(|error| lacking("backup:DeleteBackupSelection", selection_id, error)),
    )?;
    Ok(())
}

/// Deletes a live selection (its plan's id is an output).
pub(super) async fn delete(client: &Client, observed: &Observed) -> Result<(), ProviderError> {
    let plan_id = observed.outputs.get("plan_id").cloned().unwrap_or_default();
    delete_by_id(client, &plan_id, &observed.physical_id).await
}
