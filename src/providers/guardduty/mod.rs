//! GuardDuty: the region's detector, enabled, with the spec's finding publishing frequency and
//! tags.
//!
//! AWS allows one detector per account and region ("you can have only one detector per
//! account per Region",
//! <https://docs.aws.amazon.com/guardduty/latest/APIReference/API_CreateDetector.html>), so the
//! provider never creates a second one: observe lists the region's detectors (ListDetectors)
//! and reads the first (GetDetector, tags included). A detector that exists but is not tagged
//! as ours is a conflict until `--adopt`, like any resource; the adopting update tags it.
//! Create re-lists before CreateDetector: a detector that appeared since the plan is reused
//! only when it is tagged as this environment's (a retried create of our own), otherwise the
//! step fails and the next plan shows the conflict, never a silent, untagged reuse.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::operation::get_detector::GetDetectorOutput;
use aws_sdk_guardduty::types::{DetectorStatus, FindingPublishingFrequency};

use super::aws::observe_singleton;
use super::aws::{
    Live, found, gone_is_done, keys_as_they_are, sent, sync_tags, tag_api, tag_map_of, tag_pairs,
};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::{Kind, Observation, Observed, Outputs, Owner, Props, Resource, Value};
use crate::providers::Change;

#[cfg(test)]
mod tests;

const KINDS: &[Kind] = &[Kind::GuardDutyDetector];

/// The GuardDuty provider.
pub struct GuardDutyProvider {
    client: Client,
    sts: aws_sdk_sts::Client,
    region: String,
}

tag_api! {
    /// A detector's TagResource / UntagResource (by its ARN; errors name the detector id).
    DetectorTags(Client) by resource_arn;
    "guardduty:TagResource": tag_resource.set_tags(tag_map_of);
    "guardduty:UntagResource": untag_resource.set_tag_keys(keys_as_they_are);
}

impl GuardDutyProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> GuardDutyProvider {
        GuardDutyProvider {
            client: aws.guardduty(),
            sts: aws.sts(),
            region: aws.region(),
        }
    }

    /// A provider over given clients (tests use mocked clients).
    #[cfg(test)]
    #[must_use]
    pub fn from_clients(
        client: Client,
        sts: aws_sdk_sts::Client,
        region: &str,
    ) -> GuardDutyProvider {
        GuardDutyProvider {
            client,
            sts,
            region: region.to_string(),
        }
    }

    /// The id of the region's detector, if there is one.
    async fn detector_id(&self) -> Result<Option<String>, ProviderError> {
        let call = self.client.list_detectors();
        let listed = sent("guardduty:ListDetectors", "detectors", call.send()).await?;
        Ok(listed.detector_ids().first().cloned())
    }

    /// Detector `id` (`None` when it vanished).
    async fn detector(&self, id: &str) -> Result<Option<GetDetectorOutput>, ProviderError> {
        let call = self.client.get_detector().detector_id(id);
        found(sent("guardduty:GetDetector", id, call.send()).await)
    }

    async fn update_detector(&self, id: &str, resource: &Resource) -> Result<(), ProviderError> {
        let call = self
            .client
            .update_detector()
            .detector_id(id)
            .enable(resource.bool_prop("enabled").unwrap_or(true))
            .finding_publishing_frequency(frequency(resource));
        sent("guardduty:UpdateDetector", id, call.send()).await?;
        Ok(())
    }

    /// The detector's ARN (TagResource needs it; GetDetector does not return it).
    async fn arn(&self, id: &str) -> Result<String, ProviderError> {
        let call = self.sts.get_caller_identity();
        let identity = sent("sts:GetCallerIdentity", id, call.send()).await?;
        Ok(format!(
            "arn:aws:guardduty:{}:{}:detector/{id}",
            self.region,
            identity.account().unwrap_or_default()
        ))
    }
}

/// A detector's tags (empty when it has none).
fn detector_tags(detector: &GetDetectorOutput) -> BTreeMap<String, String> {
    detector
        .tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// The live detector `id` as the desired one's observation (pure).
fn observe_detector(
    resource: &Resource,
    id: &str,
    detector: &GetDetectorOutput,
    env: &str,
) -> Observed {
    let props = Props::from([
        (
            "enabled".to_string(),
            Value::Bool(detector.status() == Some(&DetectorStatus::Enabled)),
        ),
        (
            "frequency".to_string(),
            Value::str(
                detector
                    .finding_publishing_frequency()
                    .map_or("", FindingPublishingFrequency::as_str),
            ),
        ),
    ]);
    Live::new(KINDS[0], id, resource.name.clone())
        .tags(detector_tags(detector))
        .props(props)
        .outputs(outputs(id))
        .observed(resource.id.clone(), env)
}

impl GuardDutyProvider {
    /// The region's detector as `resource` (`None`: the region has none).
    async fn read_detector(
        &self,
        resource: &Resource,
        env: &str,
    ) -> Result<Option<Observed>, ProviderError> {
        let Some(id) = self.detector_id().await? else {
            return Ok(None);
        };
        let detector = self.detector(&id).await?;
        Ok(detector.map(|detector| observe_detector(resource, &id, &detector, env)))
    }
}

fn frequency(resource: &Resource) -> FindingPublishingFrequency {
    FindingPublishingFrequency::from(resource.str_prop("frequency").unwrap_or("SIX_HOURS"))
}

fn outputs(id: &str) -> Outputs {
    Outputs::from([("id".to_string(), id.to_string())])
}

#[async_trait]
impl Provider for GuardDutyProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        observe_singleton(desired, |resource| self.read_detector(resource, env)).await
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        // One detector per region: one that appeared since the plan is reused only if ours.
        if let Some(id) = self.detector_id().await? {
            let tags = self
                .detector(&id)
                .await?
                .map(|detector| detector_tags(&detector))
                .unwrap_or_default();
            if Owner::from_tags(&tags, &ctx.env) != Owner::Ours {
                return Err(ProviderError::local(
                    "guardduty:CreateDetector",
                    &id,
                    format!(
                        "the region's detector {id} appeared after the plan and is not tagged \
                         as nc-provision's for {} (AWS allows one per region); make a new \
                         plan, and apply --adopt to take it over",
                        ctx.env
                    ),
                ));
            }
            ctx.note(&format!("reusing the region's detector {id}"));
            self.update_detector(&id, resource).await?;
            return Ok(outputs(&id));
        }
        let tags: HashMap<String, String> = tag_pairs(resource).into_iter().collect();
        let call = self
            .client
            .create_detector()
            .enable(resource.bool_prop("enabled").unwrap_or(true))
            .finding_publishing_frequency(frequency(resource))
            .set_tags(Some(tags));
        let created = sent("guardduty:CreateDetector", &resource.name, call.send()).await?;
        Ok(outputs(created.detector_id().unwrap_or_default()))
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let id = change.observed.physical_id.as_str();
        if change.delta.touches_any(&["enabled", "frequency"]) {
            self.update_detector(id, change.resource).await?;
        }
        if change.touches("tags") {
            let arn = self.arn(id).await?;
            let api = DetectorTags::new(&self.client, &arn, id);
            sync_tags(&api, change.resource, change.observed).await?;
        }
        Ok(change.observed.outputs.clone())
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let id = observed.physical_id.as_str();
        let call = self.client.delete_detector().detector_id(id);
        gone_is_done("guardduty:DeleteDetector", id, call.send()).await
    }
}
