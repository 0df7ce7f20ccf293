//! Security Hub: enabled in the region, with the standards the spec names (CIS AWS Foundations
//! and AWS Foundational Security Best Practices).
//!
//! Observe: DescribeHub (is it enabled?) and GetEnabledStandards. Only the standards the spec
//! names are compared: one enabled by someone else besides them is left alone and is not drift
//! (the tool only ever enables standards).
//!
//! The hub is a regional singleton whose ARN (`arn:aws:securityhub:<region>:<account>:hub/default`)
//! takes tags (EnableSecurityHub `Tags`, TagResource, ListTagsForResource:
//! <https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_EnableSecurityHub.html>).
//! DescribeHub does not return them, so the hub is observed as [`Owner::Untracked`] and its
//! tags are read (ListTagsForResource) only when it differs from the spec: a hub that already
//! has the wanted standards is a no-op whoever enabled it; one that lacks some and is not
//! tagged as ours is a conflict until `--adopt`, whose update tags it. Create tags the hub in
//! EnableSecurityHub; a hub enabled by someone else since the plan is never taken over there.
//!
//! moto answers EnableSecurityHub and DescribeHub but not the standards calls (404): this
//! provider is covered by the mocked-client tests below.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::operation::enable_security_hub::EnableSecurityHubError;
use aws_sdk_securityhub::types::{
    StandardsStatus, StandardsSubscription, StandardsSubscriptionRequest,
};

use super::aws::observe_singleton;
use super::aws::{Live, aws_error, list_prop, sent, sent_or_none};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::{Kind, Observation, Observed, Outputs, Owner, Resource, Value};
use crate::providers::Change;

#[cfg(test)]
mod tests;

const KINDS: &[Kind] = &[Kind::SecurityHubHub];

/// The Security Hub provider.
pub struct SecurityHubProvider {
    client: Client,
}

fn standards(resource: &Resource) -> Vec<String> {
    list_prop(resource, "standards")
}

/// The tags the hub is created (or adopted) with.
fn hub_tags(resource: &Resource) -> BTreeMap<String, String> {
    resource
        .create_inputs
        .get("tags")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default()
}

impl SecurityHubProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> SecurityHubProvider {
        SecurityHubProvider {
            client: aws.securityhub(),
        }
    }

    /// A provider over a given client (tests use mocked clients).
    #[must_use]
    pub fn from_client(client: Client) -> SecurityHubProvider {
        SecurityHubProvider { client }
    }

    /// The hub's ARN, or `None` when Security Hub is not enabled.
    async fn hub(&self) -> Result<Option<String>, ProviderError> {
        match self.client.describe_hub().send().await {
            Ok(output) => Ok(Some(output.hub_arn().unwrap_or_default().to_string())),
            Err(error) => {
                let error = aws_error("securityhub:DescribeHub", "hub", error);
                let not_enabled = error.is_not_found()
                    || matches!(
                        error.code.as_deref(),
                        Some("InvalidAccessException" | "ResourceNotFoundException")
                    );
                if not_enabled { Ok(None) } else { Err(error) }
            }
        }
    }

    /// The ARNs of the standards enabled (or being enabled): GetEnabledStandards, all pages.
    async fn enabled_standards(&self) -> Result<BTreeSet<String>, ProviderError> {
        let call = self.client.get_enabled_standards().into_paginator().items();
        let subscriptions: Vec<StandardsSubscription> = sent(
            "securityhub:GetEnabledStandards",
            "hub",
            call.send().try_collect(),
        )
        .await?;
        Ok(subscriptions
            .iter()
            .filter(|subscription| {
                !matches!(
                    subscription.standards_status(),
                    Some(StandardsStatus::Deleting | StandardsStatus::Failed)
                )
            })
            .filter_map(StandardsSubscription::standards_arn)
            .map(str::to_string)
            .collect())
    }

    /// The hub's tags.
    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let call = self.client.list_tags_for_resource().resource_arn(arn);
        let listed = sent("securityhub:ListTagsForResource", arn, call.send()).await?;
        Ok(listed
            .tags()
            .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Tags the hub as the spec's (an adoption).
    async fn tag(&self, arn: &str, resource: &Resource) -> Result<(), ProviderError> {
        let call = self
            .client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(hub_tags(resource).into_iter().collect()));
        sent("securityhub:TagResource", arn, call.send()).await?;
        Ok(())
    }

    /// The region's hub as `resource`, with the desired standards it has enabled (`None`: Security
    /// Hub is not enabled).
    async fn read_hub(&self, resource: &Resource) -> Result<Option<Observed>, ProviderError> {
        let Some(arn) = self.hub().await? else {
            return Ok(None);
        };
        let enabled = self.enabled_standards().await?;
        // The desired subset, in the spec's order: other enabled standards are not drift.
        let wanted: Vec<Value> = standards(resource)
            .into_iter()
            .filter(|arn| enabled.contains(arn))
            .map(Value::Str)
            .collect();
        let mut props = BTreeMap::new();
        props.insert("standards".into(), Value::List(wanted));
        let outputs = Outputs::from([("arn".to_string(), arn.clone())]);
        let live = Live::new(KINDS[0], arn.clone(), arn)
            .props(props)
            .outputs(outputs);
        Ok(Some(live.owned_by(resource.id.clone(), Owner::Untracked)))
    }

    /// Enables every wanted standard not enabled yet.
    async fn enable_missing(
        &self,
        resource: &Resource,
        enabled: &BTreeSet<String>,
    ) -> Result<(), ProviderError> {
        let missing: Vec<StandardsSubscriptionRequest> = standards(resource)
            .into_iter()
            .filter(|arn| !enabled.contains(arn))
            .map(|arn| {
                StandardsSubscriptionRequest::builder()
                    .standards_arn(arn)
                    .build()
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let call = self
            .client
            .batch_enable_standards()
            .set_standards_subscription_requests(Some(missing));
        sent("securityhub:BatchEnableStandards", "hub", call.send()).await?;
        Ok(())
    }
}

#[async_trait]
impl Provider for SecurityHubProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        _env: &str,
    ) -> Result<Observation, ProviderError> {
        observe_singleton(desired, |resource| self.read_hub(resource)).await
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let mut request = self
            .client
            .enable_security_hub()
            .enable_default_standards(false);
        for (key, value) in hub_tags(resource) {
            request = request.tags(key, value);
        }
        let conflict = |e: &EnableSecurityHubError| e.is_resource_conflict_exception();
        let action = "securityhub:EnableSecurityHub";
        if sent_or_none(action, "hub", request.send(), conflict)
            .await?
            .is_none()
        {
            // Already enabled: ours only if tagged so (a retried create of our own).
            let arn = self.hub().await?.unwrap_or_default();
            let owner = Owner::from_tags(&self.tags(&arn).await?, &ctx.env);
            if owner != Owner::Ours {
                return Err(ProviderError::local(
                    "securityhub:EnableSecurityHub",
                    &arn,
                    format!(
                        "Security Hub was enabled after the plan by someone else (the hub \
                             is not tagged as nc-provision's for {}); make a new plan, and \
                             apply --adopt to take it over",
                        ctx.env
                    ),
                ));
            }
        }
        let enabled = self.enabled_standards().await?;
        self.enable_missing(resource, &enabled).await?;
        let arn = self.hub().await?.unwrap_or_default();
        Ok(Outputs::from([("arn".to_string(), arn)]))
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        if change.observed.owner != Owner::Ours {
            // An adoption: the hub is tagged as the spec's first.
            self.tag(&change.observed.physical_id, change.resource)
                .await?;
        }
        if change.touches("standards") {
            let enabled = self.enabled_standards().await?;
            self.enable_missing(change.resource, &enabled).await?;
        }
        Ok(change.observed.outputs.clone())
    }

    async fn look_up_owner(&self, observed: &Observed, env: &str) -> Result<Owner, ProviderError> {
        Ok(Owner::from_tags(
            &self.tags(&observed.physical_id).await?,
            env,
        ))
    }

    async fn delete(&self, _observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let call = self.client.disable_security_hub();
        sent("securityhub:DisableSecurityHub", "hub", call.send()).await?;
        Ok(())
    }
}
