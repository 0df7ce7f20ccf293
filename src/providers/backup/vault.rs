//! The backup vault (`backup_vault`): its encryption key and tags. Retained: it holds the
//! recovery points, so the tool never deletes it, and its key cannot change (AWS sets it at
//! CreateBackupVault only,
//! <https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html>).

use std::collections::BTreeMap;

use aws_sdk_backup::Client;
use aws_sdk_backup::operation::create_backup_vault::CreateBackupVaultOutput;
use aws_sdk_backup::types::BackupVaultListMember;

use super::{BackupTags, Create, read_tags, wanted};
use crate::model::{Kind, Observation, Outputs, Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{
    Change, Live, Sorter, found, name_and_arn, output, read_all, sent, tag_pairs,
};

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

/// CreateBackupVault with the key, the tags and the step's `CreatorRequestId`. A vault of
/// that name made since the plan (before the create, or by this create's own first send whose
/// answer was lost: the re-send then meets `AlreadyExistsException`) is reused only when it is
/// tagged as this environment's.
pub(super) async fn create(create: &Create<'_>) -> Result<Outputs, ProviderError> {
    if let Some(outputs) = reuse(create).await? {
        return Ok(outputs);
    }
    let created = match send_create(create).await {
        Err(error) if super::already_exists(&error) => {
            return reuse(create).await?.ok_or(error);
        }
        other => other?,
    };
    Ok(name_and_arn(
        created.backup_vault_name().unwrap_or(create.name()),
        created.backup_vault_arn().unwrap_or_default(),
    ))
}

/// The vault of that name when it exists and is this environment's; an error when it exists
/// and is not.
async fn reuse(create: &Create<'_>) -> Result<Option<Outputs>, ProviderError> {
    let name = create.name();
    let call = create
        .client
        .describe_backup_vault()
        .backup_vault_name(name);
    let existing = found(sent("backup:DescribeBackupVault", name, call.send()).await)?;
    let Some(vault) = existing else {
        return Ok(None);
    };
    let arn = vault.backup_vault_arn().unwrap_or_default().to_string();
    let appeared = format!("the vault {name} appeared after the plan");
    create
        .reuse_if_ours("backup:CreateBackupVault", &arn, &appeared, "vault")
        .await?;
    Ok(Some(name_and_arn(name, &arn)))
}

/// CreateBackupVault.
async fn send_create(create: &Create<'_>) -> Result<CreateBackupVaultOutput, ProviderError> {
    let (resource, name) = (create.resource, create.name());
    let key = resource
        .str_prop("encryption_key")
        .filter(|key| !key.is_empty());
    let call = create
        .client
        .create_backup_vault()
        .backup_vault_name(name)
        .creator_request_id(&create.request_id)
        .set_encryption_key_arn(key.map(str::to_string))
        .set_backup_vault_tags(Some(tag_pairs(resource).into_iter().collect()));
    sent("backup:CreateBackupVault", name, call.send()).await
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
