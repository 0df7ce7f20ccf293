//! AWS Config: the region's configuration recorder with its delivery channel and recording
//! status (`config_recorder`), and managed rules (`config_rule`).
//!
//! Observe: DescribeConfigurationRecorders, DescribeConfigurationRecorderStatus and
//! DescribeDeliveryChannels (one each, for the recorder), DescribeConfigRules (one for every
//! rule). Rules are named `nc-<env>-...`; a rule of that prefix that the spec no longer has is
//! deleted.
//!
//! The recorder and its delivery channel are account-and-region singletons: "You can have only
//! one customer managed configuration recorder [and] one delivery channel for each AWS account
//! for each AWS Region"
//! (<https://docs.aws.amazon.com/config/latest/developerguide/gs-cli-subscribe.html>). The
//! region's existing recorder and channel are therefore observed whatever their names (Control
//! Tower names them its own way) and their names are kept: a second one would fail on the
//! quota (`MaxNumberOf...ExceededException`). Neither takes tags, so they are observed as
//! [`Owner::Untracked`]: a no-op while they match the spec; when they differ, the tool's
//! ownership record ([`super::ownership`]) says whether the tool set them up (an update) or not
//! (a conflict until `--adopt`). Create and an adopting update write the record.

mod recorder;
mod rule;

use async_trait::async_trait;
use aws_sdk_config::Client;

use super::ownership::OwnershipRegistry;
use super::{Aws, ErrorClass, Provider, ProviderError, StepCtx};
use crate::model::{Kind, Observation, Observed, Outputs, Owner, Resource};
use crate::providers::Change;

const KINDS: &[Kind] = &[Kind::ConfigRecorder, Kind::ConfigRule];

/// The AWS Config provider.
pub struct ConfigProvider {
    client: Client,
    registry: OwnershipRegistry,
}

/// Config checks the recorder's role and the bucket policy when they are set; right after they
/// were written they may not have propagated yet: those refusals are retried.
fn propagation(mut error: ProviderError) -> ProviderError {
    if matches!(
        error.code.as_deref(),
        Some("InvalidRoleException" | "InsufficientDeliveryPolicyException")
    ) {
        error.class = ErrorClass::Propagation;
    }
    error
}

impl ConfigProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> ConfigProvider {
        ConfigProvider {
            client: aws.config_service(),
            registry: OwnershipRegistry::new(aws),
        }
    }
}

#[async_trait]
impl Provider for ConfigProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let recorder = desired.iter().find(|r| r.kind == Kind::ConfigRecorder);
        let read_recorder = async {
            match recorder {
                Some(resource) => recorder::read(&self.client, resource).await,
                None => Ok(None),
            }
        };
        let (recorder, live_rules) = tokio::join!(read_recorder, rule::read(&self.client));
        let mut observation = Observation::default();
        if let Some(observed) = recorder? {
            observation.insert(observed);
        }
        rule::observe(desired, &live_rules?, env, &mut observation);
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match resource.kind {
            Kind::ConfigRule => rule::create(&self.client, resource).await,
            _ => self.create_recorder(resource, ctx).await,
        }
    }

    async fn update(&self, change: &Change<'_>, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match change.resource.kind {
            Kind::ConfigRule => rule::update(&self.client, change.resource, change.observed).await,
            _ => self.update_recorder(change, ctx).await,
        }
    }

    async fn look_up_owner(&self, observed: &Observed, env: &str) -> Result<Owner, ProviderError> {
        self.registry
            .owner(Kind::ConfigRecorder, &observed.physical_id, env)
            .await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        match observed.kind {
            Kind::ConfigRule => rule::delete(&self.client, observed).await,
            _ => recorder::delete(&self.client, observed).await,
        }
    }
}
