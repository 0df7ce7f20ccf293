//! KMS: customer-managed keys with their alias, rotation, key policy and tags.
//!
//! Observe: one ListAliases for all keys, then per key DescribeKey, GetKeyRotationStatus,
//! GetKeyPolicy and ListResourceTags, concurrently. A key whose alias is missing (a crash
//! between CreateKey and CreateAlias) is found by its `nc:id` tag before anything is created.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};

use super::aws::{aws_error, found};
use super::{Aws, Provider, ProviderError, StepCtx, tag_delta, tags_value, touches};
use crate::model::{Observation, Observed, Outputs, Owner, Resource, TAG_ENV, TAG_ID, Value};
use crate::plan::AttrChange;

const KINDS: &[&str] = &["kms_key"];

/// The KMS provider.
pub struct KmsProvider {
    client: Client,
}

impl KmsProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> KmsProvider {
        KmsProvider { client: aws.kms() }
    }

    /// Alias name → target key id, for every alias of the account and region.
    async fn aliases(&self) -> Result<BTreeMap<String, String>, ProviderError> {
        let mut aliases = BTreeMap::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_aliases()
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|error| aws_error("kms:ListAliases", "aliases", error))?;
            for alias in page.aliases() {
                if let (Some(name), Some(target)) = (alias.alias_name(), alias.target_key_id()) {
                    aliases.insert(name.to_string(), target.to_string());
                }
            }
            match (page.truncated(), page.next_marker()) {
                (true, Some(next)) => marker = Some(next.to_string()),
                _ => return Ok(aliases),
            }
        }
    }

    async fn tags(&self, key_id: &str) -> Result<Vec<(String, String)>, ProviderError> {
        let mut tags = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_resource_tags()
                .key_id(key_id)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|error| aws_error("kms:ListResourceTags", key_id, error))?;
            tags.extend(
                page.tags()
                    .iter()
                    .map(|tag| (tag.tag_key().to_string(), tag.tag_value().to_string())),
            );
            match (page.truncated(), page.next_marker()) {
                (true, Some(next)) => marker = Some(next.to_string()),
                _ => return Ok(tags),
            }
        }
    }

    /// Keys of this environment that lost (or never got) their alias, by `nc:id` tag.
    /// Called only when a desired alias is missing, so a no-change plan never pays for it.
    async fn unaliased_keys(&self, env: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let mut by_id = BTreeMap::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_keys()
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|error| aws_error("kms:ListKeys", "keys", error))?;
            for key in page.keys() {
                let Some(key_id) = key.key_id() else { continue };
                let Some(tags) = found(self.tags(key_id).await)? else {
                    continue;
                };
                let tags: BTreeMap<String, String> = tags.into_iter().collect();
                if tags.get(TAG_ENV).map(String::as_str) == Some(env)
                    && let Some(logical) = tags.get(TAG_ID)
                {
                    by_id.insert(logical.clone(), key_id.to_string());
                }
            }
            match (page.truncated(), page.next_marker()) {
                (true, Some(next)) => marker = Some(next.to_string()),
                _ => return Ok(by_id),
            }
        }
    }

    async fn observe_key(
        &self,
        resource: &Resource,
        key_id: &str,
        alias: Option<&str>,
        env: &str,
    ) -> Result<Option<Observed>, ProviderError> {
        let client = &self.client;
        let describe = async {
            client
                .describe_key()
                .key_id(key_id)
                .send()
                .await
                .map_err(|error| aws_error("kms:DescribeKey", key_id, error))
        };
        let rotation = async {
            client
                .get_key_rotation_status()
                .key_id(key_id)
                .send()
                .await
                .map(|output| output.key_rotation_enabled())
                .map_err(|error| aws_error("kms:GetKeyRotationStatus", key_id, error))
        };
        let policy = async {
            client
                .get_key_policy()
                .key_id(key_id)
                .policy_name("default")
                .send()
                .await
                .map(|output| output.policy().map(str::to_string))
                .map_err(|error| aws_error("kms:GetKeyPolicy", key_id, error))
        };
        let (describe, rotation, policy, tags) =
            tokio::join!(describe, rotation, policy, self.tags(key_id));
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
        let tags: BTreeMap<String, String> = tags?.into_iter().collect();
        let mut props = BTreeMap::new();
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
        let mut outputs = Outputs::new();
        outputs.insert("key_id".into(), metadata.key_id().to_string());
        if let Some(arn) = metadata.arn() {
            outputs.insert("arn".into(), arn.to_string());
        }
        Ok(Some(Observed {
            id: resource.id.clone(),
            kind: resource.kind,
            physical_id: metadata.key_id().to_string(),
            props,
            outputs,
            owner,
            retain: true,
        }))
    }

    async fn create_alias(&self, alias: &str, key_id: &str) -> Result<(), ProviderError> {
        self.client
            .create_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
            .await
            .map_err(|error| aws_error("kms:CreateAlias", alias, error))?;
        Ok(())
    }

    async fn set_rotation(&self, key_id: &str, enabled: bool) -> Result<(), ProviderError> {
        if enabled {
            self.client
                .enable_key_rotation()
                .key_id(key_id)
                .send()
                .await
                .map_err(|error| aws_error("kms:EnableKeyRotation", key_id, error))?;
        } else {
            self.client
                .disable_key_rotation()
                .key_id(key_id)
                .send()
                .await
                .map_err(|error| aws_error("kms:DisableKeyRotation", key_id, error))?;
        }
        Ok(())
    }
}

fn kms_tags(pairs: Vec<(String, String)>, key: &str) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .into_iter()
        .map(|(tag_key, tag_value)| {
            Tag::builder()
                .tag_key(tag_key)
                .tag_value(tag_value)
                .build()
                .map_err(|error| ProviderError::local("kms:TagResource", key, error.to_string()))
        })
        .collect()
}

fn policy_text(resource: &Resource) -> Option<String> {
    resource
        .props
        .get("policy")
        .and_then(Value::as_policy)
        .map(serde_json::Value::to_string)
}

#[async_trait]
impl Provider for KmsProvider {
    fn kinds(&self) -> &'static [&'static str] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let aliases = self.aliases().await?;
        let missing = desired
            .iter()
            .any(|resource| !aliases.contains_key(&resource.name));
        let unaliased = if missing {
            self.unaliased_keys(env).await?
        } else {
            BTreeMap::new()
        };
        let lookups = desired.iter().filter_map(|resource| {
            let by_alias = aliases
                .get(&resource.name)
                .map(|key| (key, Some(resource.name.as_str())));
            let by_tag = || unaliased.get(resource.id.as_str()).map(|key| (key, None));
            by_alias
                .or_else(by_tag)
                .map(|(key, alias)| self.observe_key(resource, key, alias, env))
        });
        let mut observation = Observation::default();
        for observed in futures::future::try_join_all(lookups)
            .await?
            .into_iter()
            .flatten()
        {
            observation.insert(observed);
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let alias = resource.name.as_str();
        let tags = kms_tags(super::tag_pairs(resource), alias)?;
        let created = self
            .client
            .create_key()
            .set_policy(policy_text(resource))
            .description(resource.str_prop("description").unwrap_or_default())
            .key_usage(KeyUsageType::EncryptDecrypt)
            .key_spec(KeySpec::SymmetricDefault)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|error| aws_error("kms:CreateKey", alias, error))?;
        let metadata = created.key_metadata().ok_or_else(|| {
            ProviderError::local("kms:CreateKey", alias, "no key metadata in the answer")
        })?;
        let key_id = metadata.key_id().to_string();
        ctx.note(&format!("created key {key_id}"));
        if resource.bool_prop("rotation") == Some(true) {
            self.set_rotation(&key_id, true).await?;
        }
        self.create_alias(alias, &key_id).await?;
        let mut outputs = Outputs::new();
        outputs.insert("key_id".into(), key_id);
        if let Some(arn) = metadata.arn() {
            outputs.insert("arn".into(), arn.to_string());
        }
        Ok(outputs)
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        changes: &[AttrChange],
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        let key_id = observed.physical_id.as_str();
        if touches(changes, "key_state") {
            let state = observed.props.get("key_state").and_then(Value::as_str);
            if state == Some(KeyState::PendingDeletion.as_str()) {
                self.client
                    .cancel_key_deletion()
                    .key_id(key_id)
                    .send()
                    .await
                    .map_err(|error| aws_error("kms:CancelKeyDeletion", key_id, error))?;
            }
            self.client
                .enable_key()
                .key_id(key_id)
                .send()
                .await
                .map_err(|error| aws_error("kms:EnableKey", key_id, error))?;
        }
        if touches(changes, "alias") {
            self.create_alias(&resource.name, key_id).await?;
        }
        if touches(changes, "description") {
            self.client
                .update_key_description()
                .key_id(key_id)
                .description(resource.str_prop("description").unwrap_or_default())
                .send()
                .await
                .map_err(|error| aws_error("kms:UpdateKeyDescription", key_id, error))?;
        }
        if touches(changes, "policy")
            && let Some(policy) = policy_text(resource)
        {
            self.client
                .put_key_policy()
                .key_id(key_id)
                .policy_name("default")
                .policy(policy)
                .send()
                .await
                .map_err(|error| aws_error("kms:PutKeyPolicy", key_id, error))?;
        }
        if touches(changes, "rotation") {
            self.set_rotation(key_id, resource.bool_prop("rotation") == Some(true))
                .await?;
        }
        if touches(changes, "tags") {
            let (remove, set) = tag_delta(resource, observed);
            if !remove.is_empty() {
                self.client
                    .untag_resource()
                    .key_id(key_id)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|error| aws_error("kms:UntagResource", key_id, error))?;
            }
            if !set.is_empty() {
                self.client
                    .tag_resource()
                    .key_id(key_id)
                    .set_tags(Some(kms_tags(set, key_id)?))
                    .send()
                    .await
                    .map_err(|error| aws_error("kms:TagResource", key_id, error))?;
            }
        }
        Ok(observed.outputs.clone())
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        Err(ProviderError::local(
            "kms:ScheduleKeyDeletion",
            &observed.physical_id,
            "KMS keys are data-bearing and never deleted by nc-provision",
        ))
    }
}
