//! The backup plan (`backup_plan`): its rules, one attribute each per setting
//! (`rule.<name>.schedule`, `.target_vault`, `.delete_after_days`, `.continuous`, `.copy_to`,
//! `.copy_delete_after_days`), and its tags. A changed rule is put back with UpdateBackupPlan,
//! which replaces the plan's whole rule set
//! (<https://docs.aws.amazon.com/aws-backup/latest/devguide/API_UpdateBackupPlan.html>).

use std::collections::BTreeMap;

use aws_sdk_backup::Client;
use aws_sdk_backup::types::{
    BackupPlanInput, BackupPlansListMember, BackupRule, BackupRuleInput, CopyAction, Lifecycle,
};

use super::{BackupTags, Create, lacking, read_tags, selection, wanted};
use crate::model::{Kind, Observation, Observed, Outputs, Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{
    Change, ErrorClass, Live, Sorter, found, gone_is_done, list_prop, output, read_all, sent,
    tag_pairs,
};

/// A plan as read: its list entry, rules and tags.
pub(super) struct LivePlan {
    /// The plan's id.
    pub(super) id: String,
    /// Its name.
    pub(super) name: String,
    arn: String,
    version_id: String,
    rules: Vec<BackupRule>,
    tags: BTreeMap<String, String>,
}

fn outputs(id: &str, name: &str, arn: &str, version_id: &str) -> Outputs {
    Outputs::from([
        ("id".to_string(), id.to_string()),
        ("name".to_string(), name.to_string()),
        ("arn".to_string(), arn.to_string()),
        ("version_id".to_string(), version_id.to_string()),
    ])
}

/// The region's live plans (ListBackupPlans, all pages; deleted plans are not listed); a
/// failure names `named`.
pub(super) async fn list(
    client: &Client,
    named: &str,
) -> Result<Vec<BackupPlansListMember>, ProviderError> {
    let call = client.list_backup_plans().into_paginator().items();
    sent("backup:ListBackupPlans", named, call.send().try_collect()).await
}

/// The plans that are desired or named like this environment's, each with its rules
/// (GetBackupPlan) and tags (ListTags). Read when a plan or a selection is desired.
pub(super) async fn read(
    client: &Client,
    desired: &[&Resource],
    env: &str,
) -> Result<Vec<LivePlan>, ProviderError> {
    if !desired
        .iter()
        .any(|r| matches!(r.kind, Kind::BackupPlan | Kind::BackupSelection))
    {
        return Ok(Vec::new());
    }
    let wanted = wanted(desired, Kind::BackupPlan, env);
    let reads = list(client, "plans")
        .await?
        .into_iter()
        .filter(|plan| plan.backup_plan_name().is_some_and(&wanted))
        .map(|plan| async move {
            let id = plan.backup_plan_id().unwrap_or_default().to_string();
            let name = plan.backup_plan_name().unwrap_or_default().to_string();
            let arn = plan.backup_plan_arn().unwrap_or_default().to_string();
            let call = client.get_backup_plan().backup_plan_id(&id);
            let got = found(sent("backup:GetBackupPlan", &name, call.send()).await)?;
            let Some(got) = got else {
                return Ok(None);
            };
            let tags = read_tags(client, &name, &arn).await?;
            Ok(Some(LivePlan {
                version_id: got.version_id().unwrap_or_default().to_string(),
                rules: got
                    .backup_plan()
                    .map(|plan| plan.rules().to_vec())
                    .unwrap_or_default(),
                id,
                name,
                arn,
                tags,
            }))
        });
    Ok(read_all(reads).await?.into_iter().flatten().collect())
}

/// A live plan's rules as attributes (pure); lists sorted, as the module writes them.
pub(super) fn rule_props(rules: &[BackupRule]) -> Props {
    let mut props = Props::new();
    let mut names: Vec<&str> = rules.iter().map(BackupRule::rule_name).collect();
    names.sort_unstable();
    props.insert(
        "rules".to_string(),
        Value::List(names.into_iter().map(Value::str).collect()),
    );
    for rule in rules {
        let attribute = |name: &str| format!("rule.{}.{name}", rule.rule_name());
        let days = |lifecycle: Option<&Lifecycle>| {
            Value::Int(
                lifecycle
                    .and_then(Lifecycle::delete_after_days)
                    .unwrap_or(0),
            )
        };
        props.insert(
            attribute("schedule"),
            Value::str(rule.schedule_expression().unwrap_or_default()),
        );
        props.insert(
            attribute("target_vault"),
            Value::str(rule.target_backup_vault_name()),
        );
        props.insert(attribute("delete_after_days"), days(rule.lifecycle()));
        props.insert(
            attribute("continuous"),
            Value::Bool(rule.enable_continuous_backup().unwrap_or(false)),
        );
        let mut copies: Vec<&str> = rule
            .copy_actions()
            .iter()
            .map(CopyAction::destination_backup_vault_arn)
            .collect();
        copies.sort_unstable();
        props.insert(
            attribute("copy_to"),
            Value::List(copies.into_iter().map(Value::str).collect()),
        );
        if let Some(copy) = rule.copy_actions().first() {
            props.insert(attribute("copy_delete_after_days"), days(copy.lifecycle()));
        }
    }
    props
}

/// The live plans as matches and orphans (pure).
pub(super) fn observe(desired: &[&Resource], live: Vec<LivePlan>, env: &str) -> Observation {
    let mut sorter = Sorter::new(desired, env);
    for plan in live {
        sorter.add(
            Live::new(Kind::BackupPlan, plan.id.clone(), plan.name.clone())
                .tags(plan.tags)
                .props(rule_props(&plan.rules))
                .outputs(outputs(&plan.id, &plan.name, &plan.arn, &plan.version_id)),
        );
    }
    sorter.finish()
}

/// The plan the desired resource describes: its rules from the `rule.<name>.*` attributes.
pub(super) fn plan_input(resource: &Resource) -> Result<BackupPlanInput, ProviderError> {
    let name = resource.name.as_str();
    let local = |error: aws_smithy_types::error::operation::BuildError| {
        ProviderError::local("backup:CreateBackupPlan", name, error.to_string())
    };
    let rule_names = list_prop(resource, "rules");
    let mut rules = Vec::new();
    for rule in rule_names {
        let attribute = |name: &str| format!("rule.{rule}.{name}");
        let lifecycle =
            |days: Option<i64>| Lifecycle::builder().set_delete_after_days(days).build();
        let mut copies = Vec::new();
        if let Some(Value::List(targets)) = resource.props.get(&attribute("copy_to")) {
            for target in targets.iter().filter_map(Value::as_str) {
                copies.push(
                    CopyAction::builder()
                        .destination_backup_vault_arn(target)
                        .lifecycle(lifecycle(
                            resource.int_prop(&attribute("copy_delete_after_days")),
                        ))
                        .build()
                        .map_err(local)?,
                );
            }
        }
        rules.push(
            BackupRuleInput::builder()
                .rule_name(&rule)
                .target_backup_vault_name(
                    resource
                        .str_prop(&attribute("target_vault"))
                        .unwrap_or_default(),
                )
                .set_schedule_expression(
                    resource
                        .str_prop(&attribute("schedule"))
                        .map(str::to_string),
                )
                .lifecycle(lifecycle(
                    resource.int_prop(&attribute("delete_after_days")),
                ))
                .enable_continuous_backup(
                    resource
                        .bool_prop(&attribute("continuous"))
                        .unwrap_or(false),
                )
                .set_copy_actions((!copies.is_empty()).then_some(copies))
                .build()
                .map_err(local)?,
        );
    }
    BackupPlanInput::builder()
        .backup_plan_name(name)
        .set_rules(Some(rules))
        .build()
        .map_err(local)
}

/// UpdateBackupPlan: the plan's rules as the spec has them.
async fn put_rules(
    client: &Client,
    id: &str,
    resource: &Resource,
) -> Result<String, ProviderError> {
    let updated = client
        .update_backup_plan()
        .backup_plan_id(id)
        .backup_plan(plan_input(resource)?)
        .send()
        .await
        .map_err(|error| lacking("backup:UpdateBackupPlan", &resource.name, error))?;
    Ok(updated.version_id().unwrap_or_default().to_string())
}

/// CreateBackupPlan with the rules, the tags and the step's `CreatorRequestId`. A plan of
/// that name made since the plan was computed (before the create, or by this create's own
/// first send whose answer was lost: the re-send then meets `AlreadyExistsException`) is
/// reused (its rules put back) only when it is tagged as this environment's.
pub(super) async fn create(create: &Create<'_>) -> Result<Outputs, ProviderError> {
    if let Some(outputs) = reuse(create, true).await? {
        return Ok(outputs);
    }
    let (resource, name) = (create.resource, create.name());
    let call = create
        .client
        .create_backup_plan()
        .backup_plan(plan_input(resource)?)
        .creator_request_id(&create.request_id)
        .set_backup_plan_tags(Some(tag_pairs(resource).into_iter().collect()));
    let created = match sent("backup:CreateBackupPlan", name, call.send()).await {
        // The list a moment ago had no such plan: this is the one the first send made (AWS
        // answers a re-send with its `CreatorRequestId` by returning it; moto, which keeps no
        // such record, says AlreadyExists). It holds the rules just sent.
        Err(error) if super::already_exists(&error) => {
            return reuse(create, false).await?.ok_or(error);
        }
        other => other?,
    };
    Ok(outputs(
        created.backup_plan_id().unwrap_or_default(),
        name,
        created.backup_plan_arn().unwrap_or_default(),
        created.version_id().unwrap_or_default(),
    ))
}

/// The plan of that name, with its rules put back when `put_back`, when it exists and is this
/// environment's; an error when it exists and is not.
async fn reuse(create: &Create<'_>, put_back: bool) -> Result<Option<Outputs>, ProviderError> {
    let name = create.name();
    let Some(plan) = list(create.client, "plans")
        .await?
        .into_iter()
        .find(|plan| plan.backup_plan_name() == Some(name))
    else {
        return Ok(None);
    };
    let id = plan.backup_plan_id().unwrap_or_default().to_string();
    let arn = plan.backup_plan_arn().unwrap_or_default().to_string();
    let appeared = format!("the plan {name} appeared after the plan was computed");
    create
        .reuse_if_ours("backup:CreateBackupPlan", &arn, &appeared, "backup plan")
        .await?;
    let version = if put_back {
        put_rules(create.client, &id, create.resource).await?
    } else {
        plan.version_id().unwrap_or_default().to_string()
    };
    Ok(Some(outputs(&id, name, &arn, &version)))
}

/// Puts the rules back (UpdateBackupPlan) when any of them differs, and syncs the tags.
pub(super) async fn update(client: &Client, change: &Change<'_>) -> Result<Outputs, ProviderError> {
    let mut outputs = change.observed.outputs.clone();
    if change.delta.names().any(|name| name != "tags") {
        let version = put_rules(client, &change.observed.physical_id, change.resource).await?;
        outputs.insert("version_id".to_string(), version);
    }
    let api = BackupTags::new(
        client,
        output(change.observed, "arn"),
        &change.resource.name,
    );
    change.sync_tags(&api).await?;
    Ok(outputs)
}

/// Deletes the plan's selections (AWS refuses to delete a plan that has any), then the plan;
/// one already gone is done.
pub(super) async fn delete(client: &Client, observed: &Observed) -> Result<(), ProviderError> {
    let id = observed.physical_id.as_str();
    // An endpoint without the selection API (moto) has no selections to delete.
    let selections = match selection::ids_of(client, id).await {
        Err(error) if error.class == ErrorClass::Unsupported => Vec::new(),
        other => other?,
    };
    for selection_id in selections {
        selection::delete_by_id(client, id, &selection_id).await?;
    }
    let call = client.delete_backup_plan().backup_plan_id(id);
    gone_is_done("backup:DeleteBackupPlan", id, call.send()).await
}
