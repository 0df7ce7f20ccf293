//! The backup vault (`backup_vault`): its encryption key and tags. Retained: it holds the
//! recovery points, so the tool never deletes it, and its key cannot change (AWS sets it at
//! CreateBackupVault only,
//! <https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html>).

use std::collections::BTreeMap;

use aws_sdk_backup::Client;
use aws_sdk_backup::types::BackupVaultListMember;

use super::{BackupTags, read_tags, reuse_if_ours, wanted};
use crate::model::{Kind, Observation, Outputs, Props, Resource, Value};
use crate::providers::aws::{
    Change, Live, Sorter, aws_error, found, name_and_arn, output, read_all, sent, tag_pairs,
};
use crate::providers::{ProviderError, StepCtx};

/// A vault as read: its list entry and tags.
pub(super) struct LiveVault {
    name: String,
    arn: String,
    encryption_key: String,
    tags: BTreeMap<String, String>,
}

/// The region's vaults that are desired or named like this environment's (ListBackupVaults,
/// all pages), each with its tags (ListTags).
pub(super) async fn read(
    client: &Client,
    desired: &[&Resource],
    env: &str,
) -> Result<Vec<LiveVault>, ProviderError> {
    if !desired.iter().any(|r| r.kind == Kind::BackupVault) {
        return Ok(Vec::new());
    }
    let call = client.list_backup_vaults().into_paginator().items();
    let listed: Vec<BackupVaultListMember> = sent(
        "backup:ListBackupVaults",
        "vaults",
        call.send().try_collect(),
    )
    .await?;
    let wanted = wanted(desired, Kind::BackupVault, env);
    let reads = listed
        .into_iter()
        .filter(|vault| vault.backup_vault_name().is_some_and(&wanted))
        .map(|vault| async move {
            let name = vault.backup_vault_name().unwrap_or_default().to_string();
            let arn = vault.backup_vault_arn().unwrap_or_default().to_string();
            let tags = read_tags(client, &name, &arn).await?;
            Ok(LiveVault {
                encryption_key: vault.encryption_key_arn().unwrap_or_default().to_string(),
                name,
                arn,
                tags,
            })
        });
    read_all(reads).await
}

/// The live vaults as matches and orphans (pure).
pub(super) fn observe(desired: &[&Resource], live: Vec<LiveVault>, env: &str) -> Observation {
    let mut sorter = Sorter::new(desired, env);
    for vault in live {
        let props = Props::from([(
            "encryption_key".to_string(),
            Value::str(vault.encryption_key),
        )]);
        sorter.add(
            Live::new(Kind::BackupVault, vault.name.clone(), vault.name.clone())
                .tags(vault.tags)
                .props(props)
                .outputs(name_and_arn(&vault.name, &vault.arn)),
        );
    }
    sorter.finish()
}

/// CreateBackupVault with the key and the tags. A vault of that name made since the plan is
/// reused only when it is tagged as this environment's (a create whose answer was lost).
pub(super) async fn create(
    client: &Client,
    resource: &Resource,
    ctx: &StepCtx,
) -> Result<Outputs, ProviderError> {
    let name = resource.name.as_str();
    let call = client.describe_backup_vault().backup_vault_name(name);
    let existing = found(sent("backup:DescribeBackupVault", name, call.send()).await)?;
    if let Some(vault) = existing {
        let arn = vault.backup_vault_arn().unwrap_or_default().to_string();
        let appeared = format!("the vault {name} appeared after the plan");
        let action = "backup:CreateBackupVault";
        reuse_if_ours(client, action, name, &arn, &appeared, ctx).await?;
        ctx.note(&format!("reusing the vault {name}"));
        return Ok(name_and_arn(name, &arn));
    }
    let created = client
        .create_backup_vault()
        .backup_vault_name(name)
        .set_encryption_key_arn(
            resource
                .str_prop("encryption_key")
                .filter(|key| !key.is_empty())
                .map(str::to_string),
        )
        .set_backup_vault_tags(Some(tag_pairs(resource).into_iter().collect()))
        .send()
        .await
        .map_err(|error| aws_error("backup:CreateBackupVault", name, error))?;
    Ok(name_and_arn(
        created.backup_vault_name().unwrap_or(name),
        created.backup_vault_arn().unwrap_or_default(),
    ))
}

/// Only the tags change in place (the key forces a replacement, which a retained vault never
/// gets).
pub(super) async fn update(client: &Client, change: &Change<'_>) -> Result<Outputs, ProviderError> {
    let api = BackupTags::new(
        client,
        output(change.observed, "arn"),
        &change.observed.physical_id,
    );
    change.sync_tags(&api).await
}
