//! The IAM account-settings provider: OpenID Connect providers ([`super::oidc_provider`]) and
//! the account password policy ([`super::password_policy`]).
//!
//! Observe: ListOpenIDConnectProviders, then GetOpenIDConnectProvider for each provider (url,
//! client ids, tags: the desired ones, and any other to find ours the spec dropped);
//! GetAccountPasswordPolicy. The password policy is observed as [`Owner::Untracked`], a no-op
//! while it matches the spec. When it differs, the tool's ownership record
//! ([`crate::providers::ownership`]) says whether the tool set it up (an update) or not (a
//! conflict until `--adopt`). Create and an adopting update write the record.

use async_trait::async_trait;
use aws_sdk_iam::Client;

use super::password_policy::PASSWORD_ID;
use super::{oidc_provider, password_policy};
use crate::model::{Kind, Observation, Observed, Outputs, Owner, Resource};
use crate::providers::aws::{Change, Live, Sorter, read_all};
use crate::providers::ownership::{How, OwnershipRegistry};
use crate::providers::{Aws, Provider, ProviderError, StepCtx};

const KINDS: &[Kind] = &[Kind::IamOidcProvider, Kind::IamPasswordPolicy];

/// The IAM account-settings provider.
pub struct IamAccountProvider {
    client: Client,
    registry: OwnershipRegistry,
}

impl IamAccountProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> IamAccountProvider {
        IamAccountProvider {
            client: aws.iam(),
            registry: OwnershipRegistry::new(aws),
        }
    }

    /// Every OpenID Connect provider, each named as the desired one for its host calls it.
    async fn oidc_providers(&self, desired: &[&Resource]) -> Result<Vec<Live>, ProviderError> {
        // Listed even when none is desired, so that one the spec dropped is found (orphan).
        let arns = oidc_provider::list(&self.client).await?;
        let reads: Vec<_> = arns
            .iter()
            .map(|arn| oidc_provider::read(&self.client, arn))
            .collect();
        let read = read_all(reads).await?;
        let mut live: Vec<_> = read.into_iter().flatten().collect();
        for one in &mut live {
            if let Some(resource) = desired.iter().find(|resource| {
                resource.kind == Kind::IamOidcProvider
                    && oidc_provider::is_for(&one.physical_id, oidc_provider::host(resource))
            }) {
                one.name.clone_from(&resource.name);
            }
        }
        Ok(live)
    }
}

#[async_trait]
impl Provider for IamAccountProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let password = async {
            match desired
                .iter()
                .find(|resource| resource.kind == Kind::IamPasswordPolicy)
            {
                Some(resource) => password_policy::observe(&self.client, resource).await,
                None => Ok(None),
            }
        };
        let (oidc, password) = tokio::join!(self.oidc_providers(desired), password);
        let mut oidc = oidc?;
        // The ones named as the spec names them first, so that a leftover copy carrying the
        // same `nc:id` tag is the orphan, never the named one.
        oidc.sort_by_key(|live| !desired.iter().any(|r| r.name == live.name));
        let mut sorter = Sorter::new(desired, env);
        for live in oidc {
            sorter.add(live);
        }
        if let Some(observed) = password? {
            sorter.insert(observed);
        }
        Ok(sorter.finish())
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match resource.kind {
            Kind::IamPasswordPolicy => {
                let outputs = password_policy::put(&self.client, resource).await?;
                self.registry
                    .record(Kind::IamPasswordPolicy, PASSWORD_ID, ctx, How::Created)
                    .await?;
                Ok(outputs)
            }
            _ => oidc_provider::create(&self.client, resource).await,
        }
    }

    async fn update(&self, change: &Change<'_>, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match change.resource.kind {
            Kind::IamPasswordPolicy => {
                let outputs = password_policy::put(&self.client, change.resource).await?;
                self.registry.record_adoption(change.observed, ctx).await?;
                Ok(outputs)
            }
            _ => {
                oidc_provider::update(
                    &self.client,
                    &Change::new(change.resource, change.observed, change.delta),
                )
                .await
            }
        }
    }

    async fn look_up_owner(&self, observed: &Observed, env: &str) -> Result<Owner, ProviderError> {
        self.registry
            .owner(observed.kind, &observed.physical_id, env)
            .await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        match observed.kind {
            Kind::IamPasswordPolicy => password_policy::delete(&self.client).await,
            _ => oidc_provider::delete(&self.client, observed).await,
        }
    }
}
