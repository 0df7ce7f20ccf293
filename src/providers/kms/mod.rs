//! KMS: customer-managed keys ([`key`]) with their alias, rotation, key policy and tags, and
//! separately managed key policies ([`key_policy`]).
//!
//! Observe: one ListAliases for all keys, then per key DescribeKey, GetKeyRotationStatus,
//! GetKeyPolicy and ListResourceTags, concurrently. A key whose alias is missing (a crash
//! between CreateKey and CreateAlias) is found by its `nc:id` tag before anything is created.

mod key;
mod key_policy;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_kms::Client;

use super::aws::{Change, read_all, sent};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::{Kind, Observation, Observed, Outputs, Props, Resource, Value};

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
}

/// The `policy` of a prop map as JSON text.
fn policy_text(props: &Props) -> Option<String> {
    props
        .get("policy")
        .and_then(Value::as_policy)
        .map(serde_json::Value::to_string)
}

/// Puts a key's default policy.
async fn put_policy(client: &Client, key_id: &str, policy: String) -> Result<(), ProviderError> {
    let call = client
        .put_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .policy(policy);
    sent("kms:PutKeyPolicy", key_id, call.send()).await?;
    Ok(())
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
        let client = &self.client;
        let aliases = key::aliases(client).await?;
        let of_kind = |kind: Kind| desired.iter().copied().filter(move |r| r.kind == kind);
        let missing = of_kind(Kind::KmsKey).any(|resource| !aliases.contains_key(&resource.name));
        let unaliased = if missing {
            let aliased = aliases.values().map(String::as_str).collect();
            key::unaliased_keys(client, env, &aliased).await?
        } else {
            BTreeMap::new()
        };
        let reads: Vec<_> = of_kind(Kind::KmsKey)
            .filter_map(|resource| {
                let by_alias = aliases
                    .get(&resource.name)
                    .map(|key| (key, Some(resource.name.as_str())));
                let by_tag = || unaliased.get(resource.id.as_str()).map(|key| (key, None));
                by_alias
                    .or_else(by_tag)
                    .map(|(key, alias)| key::observe(client, resource, key, alias, env))
            })
            .collect();
        let mut observation = Observation::default();
        for observed in read_all(reads).await?.into_iter().flatten() {
            observation.insert(observed);
        }
        // Each key policy is read from its key's observation (the key it references).
        for policy in of_kind(Kind::KmsKeyPolicy) {
            let key = match policy.props.get("key_id") {
                Some(Value::Ref(reference)) => observation.found.get(&reference.id),
                _ => None,
            };
            if let Some(key) = key {
                let observed = key_policy::observe(policy, key);
                observation.insert(observed);
            }
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match resource.kind {
            Kind::KmsKeyPolicy => self.apply_policy(resource).await,
            _ => self.create_key(resource, ctx).await,
        }
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match change.resource.kind {
            Kind::KmsKeyPolicy => self.apply_policy(change.resource).await,
            _ => self.update_key(change).await,
        }
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
