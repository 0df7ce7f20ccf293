//! `kms_key`: a customer-managed key with its alias, rotation, default policy and tags.
//!
//! Props: `alias`, `description`, `key_state`, `key_spec`, `rotation`, `policy` (Policy),
//! `tags`; create input `policy`. Outputs `key_id`, `arn`. Keys are data-bearing: never
//! deleted by the tool.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_kms::Client;
use aws_sdk_kms::operation::create_alias::CreateAliasError;
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType};

use super::{KmsProvider, policy_text, put_policy};
use crate::model::{Observed, Outputs, Owner, Props, Resource, TAG_ENV, TAG_ID, Value};
use crate::providers::aws::{
    Change, Done, ErrorClass, Live, found, keys_as_they_are, outputs_of, read_all, sdk_tags_of,
    sent, sent_or_none, tag_api, tag_pairs, tags_from, tags_value,
};
use crate::providers::{ProviderError, StepCtx};

/// Alias name → target key id, for every alias of the account and region.
pub(super) async fn aliases(client: &Client) -> Result<BTreeMap<String, String>, ProviderError> {
    let call = client.list_aliases().into_paginator().items();
    let aliases: Vec<_> = sent("kms:ListAliases", "aliases", call.send().try_collect()).await?;
    Ok(aliases
        .iter()
        .filter_map(|alias| alias.alias_name().zip(alias.target_key_id()))
        .map(|(alias, key_id)| (alias.to_string(), key_id.to_string()))
        .collect())
}

/// The tags of one key.
async fn tags(client: &Client, key_id: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let call = client.list_resource_tags().key_id(key_id);
    let call = call.into_paginator().items();
    let tags: Vec<_> = sent("kms:ListResourceTags", key_id, call.send().try_collect()).await?;
    Ok(tags_from(&tags, |tag| (tag.tag_key(), tag.tag_value())))
}

/// Keys of this environment that lost (or never got) their alias, by `nc:id` tag.
/// Called only when a desired alias is missing, so a no-change plan never pays for it.
/// Keys that some alias names (AWS-managed keys' `alias/aws/*` among them) are not read,
/// and a key whose tags this caller may not read (another team's key policy, a key pending
/// deletion) is passed over instead of failing the plan.
pub(super) async fn unaliased_keys(
    client: &Client,
    env: &str,
    aliased: &BTreeSet<&str>,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let call = client.list_keys().into_paginator().items();
    let keys: Vec<_> = sent("kms:ListKeys", "keys", call.send().try_collect()).await?;
    let unaliased: Vec<&str> = keys
        .iter()
        .filter_map(|key| key.key_id())
        .filter(|key_id| !aliased.contains(key_id))
        .collect();
    let reads: Vec<_> = unaliased
        .iter()
        .map(|key_id| async move {
            match found(tags(client, key_id).await) {
                Ok(tags) => Ok(tags),
                Err(error) if error.class == ErrorClass::Fatal => {
                    tracing::debug!(
                        key_id,
                        "passing over a key whose tags cannot be read: {error}"
                    );
                    Ok(None)
                }
                Err(error) => Err(error),
            }
        })
        .collect();
    let mut by_id = BTreeMap::new();
    for (key_id, tags) in unaliased.iter().zip(read_all(reads).await?) {
        let Some(tags) = tags else { continue };
        if tags.get(TAG_ENV).map(String::as_str) == Some(env)
            && let Some(logical) = tags.get(TAG_ID)
        {
            by_id.insert(logical.clone(), (*key_id).to_string());
        }
    }
    Ok(by_id)
}

/// Reads one key (DescribeKey, GetKeyRotationStatus, GetKeyPolicy, ListResourceTags,
/// concurrently) as `resource`; `None` when it is gone.
pub(super) async fn observe(
    client: &Client,
    resource: &Resource,
    key_id: &str,
    alias: Option<&str>,
    env: &str,
) -> Result<Option<Observed>, ProviderError> {
    let describe = async {
        let call = client.describe_key().key_id(key_id);
        sent("kms:DescribeKey", key_id, call.send()).await
    };
    let rotation = async {
        let call = client.get_key_rotation_status().key_id(key_id);
        let output = sent("kms:GetKeyRotationStatus", key_id, call.send()).await?;
        Ok(output.key_rotation_enabled())
    };
    let policy = async {
        let call = client
            .get_key_policy()
            .key_id(key_id)
            .policy_name("default");
        let output = sent("kms:GetKeyPolicy", key_id, call.send()).await?;
        Ok::<_, ProviderError>(output.policy().map(str::to_string))
    };
    let (describe, rotation, policy, tags) =
        tokio::join!(describe, rotation, policy, tags(client, key_id));
    let Some(describe) = found(describe)? else {
        return Ok(None);
    };
    let Some(metadata) = describe.key_metadata() else {
        return Ok(None);
    };
    let state = metadata.key_state().cloned();
    // A key pending deletion or disabled refuses some reads: those are drift, not errors.
    let usable = matches!(state, Some(KeyState::Enabled));
    let rotation = match rotation {
        Ok(enabled) => enabled,
        Err(_) if !usable => false,
        Err(error) => return Err(error),
    };
    let policy = policy?;
    let tags = tags?;
    let mut props = Props::new();
    if let Some(alias) = alias {
        props.insert("alias".to_string(), Value::str(alias));
    }
    props.insert(
        "description".into(),
        Value::str(metadata.description().unwrap_or_default()),
    );
    props.insert(
        "key_state".into(),
        Value::str(state.as_ref().map_or("Unknown", KeyState::as_str)),
    );
    props.insert(
        "key_spec".into(),
        Value::str(
            metadata
                .key_spec()
                .map_or("SYMMETRIC_DEFAULT", KeySpec::as_str),
        ),
    );
    props.insert("rotation".into(), Value::Bool(rotation));
    if let Some(policy) = policy {
        let document = crate::policy::parse(&policy).map_err(|error| {
            ProviderError::local(
                "kms:GetKeyPolicy",
                key_id,
                format!("unreadable key policy: {error}"),
            )
        })?;
        props.insert("policy".into(), Value::Policy(document));
    }
    let owner = Owner::from_tags(&tags, env);
    props.insert("tags".into(), tags_value(tags));
    let key_id = metadata.key_id();
    let live = Live::new(resource.kind, key_id, key_id)
        .props(props)
        .outputs(outputs(metadata));
    Ok(Some(live.owned_by(resource.id.clone(), owner)))
}

/// Points `alias` at `key_id`. An alias that already exists — an earlier CreateAlias whose
/// answer was lost, then retried by the SDK — is moved to the key with UpdateAlias, which
/// "associates an existing KMS alias with a different KMS key" (AWS KMS API Reference,
/// CreateAlias: `AlreadyExistsException`; UpdateAlias): the alias this step wants is
/// exactly the one it then has.
pub(super) async fn create_alias(client: &Client, alias: &str, key_id: &str) -> Done {
    let call = client
        .create_alias()
        .alias_name(alias)
        .target_key_id(key_id);
    let exists = |e: &CreateAliasError| e.is_already_exists_exception();
    if sent_or_none("kms:CreateAlias", alias, call.send(), exists)
        .await?
        .is_none()
    {
        let call = client
            .update_alias()
            .alias_name(alias)
            .target_key_id(key_id);
        sent("kms:UpdateAlias", alias, call.send()).await?;
    }
    Ok(())
}

async fn set_rotation(client: &Client, key_id: &str, enabled: bool) -> Done {
    if enabled {
        let call = client.enable_key_rotation().key_id(key_id);
        sent("kms:EnableKeyRotation", key_id, call.send()).await?;
    } else {
        let call = client.disable_key_rotation().key_id(key_id);
        sent("kms:DisableKeyRotation", key_id, call.send()).await?;
    }
    Ok(())
}

/// The action that tags a key.
const TAGGING: &str = "kms:TagResource";

tag_api! {
    /// Tags of one key: TagResource / UntagResource.
    KeyTags(Client) by key_id;
    "kms:TagResource": tag_resource.set_tags(|pairs, key| sdk_tags_of(pairs, TAGGING, key));
    "kms:UntagResource": untag_resource.set_tag_keys(keys_as_they_are);
}

/// A key's outputs: its `key_id`, and its `arn` when the answer has one.
fn outputs(metadata: &KeyMetadata) -> Outputs {
    let mut outputs = outputs_of([("key_id", metadata.key_id())]);
    if let Some(arn) = metadata.arn() {
        outputs.insert("arn".into(), arn.to_string());
    }
    outputs
}

impl KmsProvider {
    /// Creates the key (tagged, sent once: `creates` never re-sends), turns rotation on when
    /// asked, and points its alias at it.
    pub(super) async fn create_key(
        &self,
        resource: &Resource,
        ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        // CreateKey has no idempotency token: sent once. A lost answer comes back as a
        // transient error, and the retried step finds the key by its `nc:id` tag
        // (`unaliased_keys`) instead of making a second one.
        let call = self
            .creates
            .create_key()
            .set_policy(policy_text(&resource.create_inputs))
            .description(resource.str_prop("description").unwrap_or_default())
            .key_usage(KeyUsageType::EncryptDecrypt)
            .key_spec(KeySpec::SymmetricDefault)
            .set_tags(Some(sdk_tags_of(
                tag_pairs(resource),
                TAGGING,
                &resource.name,
            )?));
        let alias = resource.name.as_str();
        let created = sent("kms:CreateKey", alias, call.send()).await?;
        let metadata = created.key_metadata().ok_or_else(|| {
            ProviderError::local("kms:CreateKey", alias, "no key metadata in the answer")
        })?;
        let key_id = metadata.key_id();
        ctx.note(&format!("created key {key_id}"));
        if resource.bool_prop("rotation") == Some(true) {
            set_rotation(&self.client, key_id, true).await?;
        }
        create_alias(&self.client, alias, key_id).await?;
        Ok(outputs(metadata))
    }

    /// Changes the attributes in `change`: a disabled or pending-deletion key is enabled
    /// again.
    pub(super) async fn update_key(&self, change: &Change<'_>) -> Result<Outputs, ProviderError> {
        let (client, key_id) = (&self.client, change.physical_id());
        if change.touches("key_state") {
            let state = change
                .observed
                .props
                .get("key_state")
                .and_then(Value::as_str);
            if state == Some(KeyState::PendingDeletion.as_str()) {
                let call = client.cancel_key_deletion().key_id(key_id);
                sent("kms:CancelKeyDeletion", key_id, call.send()).await?;
            }
            let call = client.enable_key().key_id(key_id);
            sent("kms:EnableKey", key_id, call.send()).await?;
        }
        if change.touches("alias") {
            create_alias(client, &change.resource.name, key_id).await?;
        }
        if change.touches("description") {
            let call = client
                .update_key_description()
                .key_id(key_id)
                .description(change.resource.str_prop("description").unwrap_or_default());
            sent("kms:UpdateKeyDescription", key_id, call.send()).await?;
        }
        if change.touches("policy")
            && let Some(policy) = policy_text(&change.resource.props)
        {
            put_policy(client, key_id, policy).await?;
        }
        if change.touches("rotation") {
            let enabled = change.resource.bool_prop("rotation") == Some(true);
            set_rotation(client, key_id, enabled).await?;
        }
        let api = KeyTags::new(client, key_id, key_id);
        change.sync_tags(&api).await
    }
}
