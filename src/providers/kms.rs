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
use super::{Aws, Provider, ProviderError, StepCtx, tag_delta, tags_value};
use crate::model::Delta;
use crate::model::Kind;
use crate::model::{Observation, Observed, Outputs, Owner, Resource, TAG_ENV, TAG_ID, Value};
const KINDS: &[Kind] = &[Kind::KmsKey, Kind::KmsKeyPolicy];

/// The KMS provider.
pub struct KmsProvider {
    client: Client,
    /// For CreateKey, which has no idempotency token: the SDK never re-sends it blind.
    creates: Client,
}

impl KmsProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> KmsProvider {
        KmsProvider {
            client: aws.kms(),
            creates: aws.kms_without_resend(),
        }
    }

    /// A provider over a given client (tests use mocked clients).
    #[cfg(test)]
    #[must_use]
    pub fn with_client(client: Client) -> KmsProvider {
        KmsProvider {
            creates: client.clone(),
            client,
        }
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
    /// Keys that some alias names (AWS-managed keys' `alias/aws/*` among them) are not read,
    /// and a key whose tags this caller may not read (another team's key policy, a key pending
    /// deletion) is passed over instead of failing the plan.
    async fn unaliased_keys(
        &self,
        env: &str,
        aliased: &std::collections::BTreeSet<&str>,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
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
                if aliased.contains(key_id) {
                    continue;
                }
                let tags = match found(self.tags(key_id).await) {
                    Ok(Some(tags)) => tags,
                    Ok(None) => continue,
                    Err(error) if error.class == super::ErrorClass::Fatal => {
                        tracing::debug!(
                            key_id,
                            "passing over a key whose tags cannot be read: {error}"
                        );
                        continue;
                    }
                    Err(error) => return Err(error),
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
            refused: None,
        }))
    }

    /// Points `alias` at `key_id`. An alias that already exists — an earlier CreateAlias whose
    /// answer was lost, then retried by the SDK — is moved to the key with UpdateAlias, which
    /// "associates an existing KMS alias with a different KMS key" (AWS KMS API Reference,
    /// CreateAlias: `AlreadyExistsException`; UpdateAlias): the alias this step wants is
    /// exactly the one it then has.
    async fn create_alias(&self, alias: &str, key_id: &str) -> Result<(), ProviderError> {
        let created = self
            .client
            .create_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_already_exists_exception()) =>
            {
                self.client
                    .update_alias()
                    .alias_name(alias)
                    .target_key_id(key_id)
                    .send()
                    .await
                    .map_err(|error| aws_error("kms:UpdateAlias", alias, error))?;
                Ok(())
            }
            Err(error) => Err(aws_error("kms:CreateAlias", alias, error)),
        }
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

fn policy_text(props: &crate::model::Props) -> Option<String> {
    props
        .get("policy")
        .and_then(Value::as_policy)
        .map(serde_json::Value::to_string)
}

impl KmsProvider {
    async fn put_policy(&self, key_id: &str, policy: String) -> Result<(), ProviderError> {
        self.client
            .put_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .policy(policy)
            .send()
            .await
            .map_err(|error| aws_error("kms:PutKeyPolicy", key_id, error))?;
        Ok(())
    }

    /// Puts a `kms_key_policy` on the key its `key_id` names.
    async fn apply_key_policy(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        let key_id = resource.str_prop("key_id").ok_or_else(|| {
            ProviderError::local("kms:PutKeyPolicy", resource.id.as_str(), "no key_id")
        })?;
        let policy = policy_text(&resource.props).ok_or_else(|| {
            ProviderError::local("kms:PutKeyPolicy", resource.id.as_str(), "no policy")
        })?;
        self.put_policy(key_id, policy).await?;
        let mut outputs = Outputs::new();
        outputs.insert("key_id".into(), key_id.to_string());
        Ok(outputs)
    }
}

/// The `kms_key_policy` observation of a key already observed (same GetKeyPolicy answer).
fn observe_policy(resource: &Resource, key: &Observed) -> Observed {
    let mut props = BTreeMap::new();
    props.insert("key_id".to_string(), Value::str(key.physical_id.clone()));
    if let Some(policy) = key.props.get("policy") {
        props.insert("policy".to_string(), policy.clone());
    }
    let mut outputs = Outputs::new();
    outputs.insert("key_id".into(), key.physical_id.clone());
    Observed {
        id: resource.id.clone(),
        kind: Kind::KmsKeyPolicy,
        physical_id: key.physical_id.clone(),
        props,
        outputs,
        owner: key.owner.clone(),
        retain: false,
        refused: None,
    }
}

#[async_trait]
impl Provider for KmsProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let aliases = self.aliases().await?;
        let policies: Vec<&Resource> = desired
            .iter()
            .copied()
            .filter(|resource| resource.kind == Kind::KmsKeyPolicy)
            .collect();
        let desired: Vec<&Resource> = desired
            .iter()
            .copied()
            .filter(|resource| resource.kind == Kind::KmsKey)
            .collect();
        let missing = desired
            .iter()
            .any(|resource| !aliases.contains_key(&resource.name));
        let unaliased = if missing {
            let aliased = aliases.values().map(String::as_str).collect();
            self.unaliased_keys(env, &aliased).await?
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
        // Each key policy is read from its key's observation (the key it references).
        for policy in policies {
            let key = match policy.props.get("key_id") {
                Some(Value::Ref(reference)) => observation.found.get(&reference.id),
                _ => None,
            };
            if let Some(key) = key {
                let observed = observe_policy(policy, key);
                observation.insert(observed);
            }
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        if resource.kind == Kind::KmsKeyPolicy {
            return self.apply_key_policy(resource).await;
        }
        let alias = resource.name.as_str();
        let tags = kms_tags(super::tag_pairs(resource), alias)?;
        // CreateKey has no idempotency token: sent once. A lost answer comes back as a
        // transient error, and the retried step finds the key by its `nc:id` tag
        // (`unaliased_keys`) instead of making a second one.
        let created = self
            .creates
            .create_key()
            .set_policy(policy_text(&resource.create_inputs))
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
        delta: &Delta,
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        if resource.kind == Kind::KmsKeyPolicy {
            return self.apply_key_policy(resource).await;
        }
        let key_id = observed.physical_id.as_str();
        if delta.touches("key_state") {
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
        if delta.touches("alias") {
            self.create_alias(&resource.name, key_id).await?;
        }
        if delta.touches("description") {
            self.client
                .update_key_description()
                .key_id(key_id)
                .description(resource.str_prop("description").unwrap_or_default())
                .send()
                .await
                .map_err(|error| aws_error("kms:UpdateKeyDescription", key_id, error))?;
        }
        if delta.touches("policy")
            && let Some(policy) = policy_text(&resource.props)
        {
            self.put_policy(key_id, policy).await?;
        }
        if delta.touches("rotation") {
            self.set_rotation(key_id, resource.bool_prop("rotation") == Some(true))
                .await?;
        }
        if delta.touches("tags") {
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
        if observed.kind == Kind::KmsKeyPolicy {
            // A key always has a policy; dropping it from the spec leaves the key's as it is.
            return Ok(());
        }
        Err(ProviderError::local(
            "kms:ScheduleKeyDeletion",
            &observed.physical_id,
            "KMS keys are data-bearing and never deleted by nc-provision",
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use aws_sdk_kms::operation::create_alias::CreateAliasOutput;
    use aws_sdk_kms::operation::create_key::CreateKeyOutput;
    use aws_sdk_kms::operation::enable_key_rotation::EnableKeyRotationOutput;
    use aws_sdk_kms::operation::put_key_policy::PutKeyPolicyOutput;
    use aws_sdk_kms::operation::update_alias::UpdateAliasOutput;
    use aws_sdk_kms::types::KeyMetadata;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;
    use crate::exec::retry::{RetryPolicy, with_retry};
    use crate::model::LogicalId;
    use crate::providers::ErrorClass;

    /// What KMS answers while a role named in the policy has not propagated yet.
    const NOT_YET: &str = r#"{"__type":"MalformedPolicyDocumentException","message":"Policy contains a statement with one or more invalid principals."}"#;

    fn ctx() -> StepCtx {
        StepCtx {
            id: LogicalId::new("kms.key_policy.data"),
            env: "stg".into(),
            progress: Arc::new(|_| {}),
            wait_timeout: Duration::from_secs(60),
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(16),
            deadline: Duration::from_secs(180),
        }
    }

    fn key_policy() -> Resource {
        Resource::new(
            "kms.key_policy.data",
            Kind::KmsKeyPolicy,
            "alias/nc-dp-data-stg",
        )
        .prop("key_id", "key-1")
        .prop(
            "policy",
            Value::Policy(serde_json::json!({"Statement": [{"Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:role/nc/LambdaETLRole"},
                    "Action": "kms:Decrypt", "Resource": "*"}]})),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn put_key_policy_is_retried_until_the_new_role_propagates() {
        let put = mock!(aws_sdk_kms::Client::put_key_policy)
            .sequence()
            .http_status(400, Some(NOT_YET.to_string()))
            .times(2)
            .output(|| PutKeyPolicyOutput::builder().build())
            .build();
        let provider =
            KmsProvider::with_client(mock_client!(aws_sdk_kms, RuleMode::Sequential, [&put]));
        let resource = key_policy();
        let context = ctx();
        let (result, attempts) =
            with_retry(policy(), || provider.create(&resource, &context)).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(attempts, 3);
        assert_eq!(put.num_calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn create_key_is_retried_until_the_principal_propagates() {
        let create = mock!(aws_sdk_kms::Client::create_key)
            .sequence()
            .http_status(400, Some(NOT_YET.to_string()))
            .times(2)
            .output(|| {
                CreateKeyOutput::builder()
                    .key_metadata(
                        KeyMetadata::builder()
                            .key_id("key-1")
                            .arn("arn:aws:kms:us-east-1:123456789012:key/key-1")
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .build();
        let rotation = mock!(aws_sdk_kms::Client::enable_key_rotation)
            .then_output(|| EnableKeyRotationOutput::builder().build());
        let alias = mock!(aws_sdk_kms::Client::create_alias)
            .then_output(|| CreateAliasOutput::builder().build());
        let provider = KmsProvider::with_client(mock_client!(
            aws_sdk_kms,
            RuleMode::MatchAny,
            [&create, &rotation, &alias]
        ));
        let resource = Resource::new("kms.key.data", Kind::KmsKey, "alias/nc-dp-data-stg")
            .prop("rotation", true)
            .create_input("policy", key_policy().props["policy"].clone());
        let context = ctx();
        let (result, attempts) =
            with_retry(policy(), || provider.create(&resource, &context)).await;
        assert_eq!(result.unwrap()["key_id"], "key-1");
        assert_eq!(attempts, 3);
        assert_eq!(create.num_calls(), 3);
        assert_eq!(alias.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_principal_that_never_propagates_gives_up_in_bounded_time_with_a_clear_message() {
        let put = mock!(aws_sdk_kms::Client::put_key_policy)
            .sequence()
            .http_status(400, Some(NOT_YET.to_string()))
            .repeatedly()
            .build();
        let provider =
            KmsProvider::with_client(mock_client!(aws_sdk_kms, RuleMode::Sequential, [&put]));
        let resource = key_policy();
        let context = ctx();
        let started = tokio::time::Instant::now();
        let (result, attempts) =
            with_retry(policy(), || provider.create(&resource, &context)).await;
        let error = result.unwrap_err();
        assert_eq!(error.class, ErrorClass::Propagation);
        assert_eq!(attempts, 8, "bounded by max_attempts");
        assert!(
            started.elapsed() <= Duration::from_secs(180),
            "bounded by the deadline"
        );
        assert!(
            error.message.contains("invalid principals"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("gave up after 8 attempts"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("never became visible"),
            "{}",
            error.message
        );
        assert!(
            error
                .to_string()
                .starts_with("kms:PutKeyPolicy on key-1 failed"),
            "{error}"
        );
    }

    /// What KMS answers to CreateAlias for a name that is taken.
    const ALIAS_TAKEN: &str = r#"{"__type":"AlreadyExistsException","message":"An alias with the name alias/nc-dp-data-stg already exists"}"#;

    /// The alias an earlier CreateAlias made before its answer was lost (the SDK then sent it
    /// again): no emulator stages that moment, so this runs over a mocked client.
    #[tokio::test]
    async fn an_alias_that_already_exists_is_moved_to_the_key() {
        let create = mock!(aws_sdk_kms::Client::create_alias)
            .sequence()
            .http_status(400, Some(ALIAS_TAKEN.to_string()))
            .build();
        let update = mock!(aws_sdk_kms::Client::update_alias)
            .match_requests(|request| {
                request.alias_name() == Some("alias/nc-dp-data-stg")
                    && request.target_key_id() == Some("key-1")
            })
            .then_output(|| UpdateAliasOutput::builder().build());
        let provider = KmsProvider::with_client(mock_client!(
            aws_sdk_kms,
            RuleMode::MatchAny,
            [&create, &update]
        ));
        provider
            .create_alias("alias/nc-dp-data-stg", "key-1")
            .await
            .expect("already there is success");
        assert_eq!(create.num_calls(), 1);
        assert_eq!(update.num_calls(), 1, "the alias now names the key");
    }

    /// No emulator refuses to show one key's tags, so the scan's tolerance of a key it may not
    /// read is shown over a mocked client: an aliased key is not read at all, a denied one is
    /// passed over, and ours is found by its `nc:id`.
    #[tokio::test]
    async fn the_unaliased_key_scan_skips_aliased_and_unreadable_keys() {
        use aws_sdk_kms::operation::list_keys::ListKeysOutput;
        use aws_sdk_kms::operation::list_resource_tags::ListResourceTagsOutput;
        use aws_sdk_kms::types::{KeyListEntry, Tag as KmsTag};
        const DENIED: &str = r#"{"__type":"AccessDeniedException","message":"not allowed"}"#;
        let keys = mock!(aws_sdk_kms::Client::list_keys).then_output(|| {
            ListKeysOutput::builder()
                .keys(KeyListEntry::builder().key_id("aws-managed").build())
                .keys(KeyListEntry::builder().key_id("other-team").build())
                .keys(KeyListEntry::builder().key_id("ours").build())
                .build()
        });
        let denied = mock!(aws_sdk_kms::Client::list_resource_tags)
            .match_requests(|request| request.key_id() == Some("other-team"))
            .then_http_response(|| {
                aws_smithy_runtime_api::http::Response::new(
                    aws_smithy_runtime_api::http::StatusCode::try_from(400).expect("status"),
                    aws_smithy_types::body::SdkBody::from(DENIED),
                )
            });
        let ours = mock!(aws_sdk_kms::Client::list_resource_tags)
            .match_requests(|request| request.key_id() == Some("ours"))
            .then_output(|| {
                ListResourceTagsOutput::builder()
                    .tags(
                        KmsTag::builder()
                            .tag_key("nc:env")
                            .tag_value("stg")
                            .build()
                            .unwrap(),
                    )
                    .tags(
                        KmsTag::builder()
                            .tag_key("nc:id")
                            .tag_value("kms.key.data")
                            .build()
                            .unwrap(),
                    )
                    .build()
            });
        let managed = mock!(aws_sdk_kms::Client::list_resource_tags)
            .match_requests(|request| request.key_id() == Some("aws-managed"))
            .then_output(|| ListResourceTagsOutput::builder().build());
        let provider = KmsProvider::with_client(mock_client!(
            aws_sdk_kms,
            RuleMode::MatchAny,
            [&keys, &denied, &ours, &managed]
        ));
        let aliased = std::collections::BTreeSet::from(["aws-managed"]);
        let found = provider
            .unaliased_keys("stg", &aliased)
            .await
            .expect("a denied key does not fail the scan");
        assert_eq!(found.get("kms.key.data").map(String::as_str), Some("ours"));
        assert_eq!(managed.num_calls(), 0, "an aliased key is not read");
        assert_eq!(denied.num_calls(), 1);
    }
}
