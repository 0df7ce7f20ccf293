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
use aws_sdk_guardduty::types::{DetectorStatus, FindingPublishingFrequency};

use super::aws::{aws_error, found};
use super::{Aws, Provider, ProviderError, StepCtx, tag_delta, tags_value};
use crate::model::Delta;
use crate::model::Kind;
use crate::model::{Observation, Observed, Outputs, Owner, Resource, Value};

const KINDS: &[Kind] = &[Kind::GuardDutyDetector];

/// The GuardDuty provider.
pub struct GuardDutyProvider {
    client: Client,
    sts: aws_sdk_sts::Client,
    region: String,
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

    async fn detector_id(&self) -> Result<Option<String>, ProviderError> {
        let listed = self
            .client
            .list_detectors()
            .send()
            .await
            .map_err(|error| aws_error("guardduty:ListDetectors", "detectors", error))?;
        Ok(listed.detector_ids().first().cloned())
    }

    async fn update_detector(&self, id: &str, resource: &Resource) -> Result<(), ProviderError> {
        self.client
            .update_detector()
            .detector_id(id)
            .enable(resource.bool_prop("enabled").unwrap_or(true))
            .finding_publishing_frequency(frequency(resource))
            .send()
            .await
            .map_err(|error| aws_error("guardduty:UpdateDetector", id, error))?;
        Ok(())
    }

    /// The tags of detector `id` (empty when it vanished).
    async fn detector_tags(&self, id: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let detector = found(
            self.client
                .get_detector()
                .detector_id(id)
                .send()
                .await
                .map_err(|error| aws_error("guardduty:GetDetector", id, error)),
        )?;
        Ok(detector
            .and_then(|detector| detector.tags().cloned())
            .unwrap_or_default()
            .into_iter()
            .collect())
    }

    /// The detector's ARN (TagResource needs it; GetDetector does not return it).
    async fn arn(&self, id: &str) -> Result<String, ProviderError> {
        let identity = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|error| aws_error("sts:GetCallerIdentity", id, error))?;
        Ok(format!(
            "arn:aws:guardduty:{}:{}:detector/{id}",
            self.region,
            identity.account().unwrap_or_default()
        ))
    }
}

fn frequency(resource: &Resource) -> FindingPublishingFrequency {
    FindingPublishingFrequency::from(resource.str_prop("frequency").unwrap_or("SIX_HOURS"))
}

fn outputs(id: &str) -> Outputs {
    let mut outputs = Outputs::new();
    outputs.insert("id".into(), id.to_string());
    outputs
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
        let mut observation = Observation::default();
        let Some(resource) = desired.first() else {
            return Ok(observation);
        };
        let Some(id) = self.detector_id().await? else {
            return Ok(observation);
        };
        let detector = found(
            self.client
                .get_detector()
                .detector_id(&id)
                .send()
                .await
                .map_err(|error| aws_error("guardduty:GetDetector", &id, error)),
        )?;
        let Some(detector) = detector else {
            return Ok(observation);
        };
        let tags: BTreeMap<String, String> = detector
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut props = BTreeMap::new();
        props.insert(
            "enabled".into(),
            Value::Bool(detector.status() == Some(&DetectorStatus::Enabled)),
        );
        props.insert(
            "frequency".into(),
            Value::str(
                detector
                    .finding_publishing_frequency()
                    .map_or("", FindingPublishingFrequency::as_str),
            ),
        );
        let owner = Owner::from_tags(&tags, env);
        props.insert("tags".into(), tags_value(tags));
        observation.insert(Observed {
            id: resource.id.clone(),
            kind: KINDS[0],
            physical_id: id.clone(),
            props,
            outputs: outputs(&id),
            owner,
            retain: false,
            refused: None,
        });
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        // One detector per region: one that appeared since the plan is reused only if ours.
        if let Some(id) = self.detector_id().await? {
            let tags = self.detector_tags(&id).await?;
            let owner = Owner::from_tags(&tags, &ctx.env);
            if owner != Owner::Ours {
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
        let tags: HashMap<String, String> = super::tag_pairs(resource).into_iter().collect();
        let created = self
            .client
            .create_detector()
            .enable(resource.bool_prop("enabled").unwrap_or(true))
            .finding_publishing_frequency(frequency(resource))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|error| aws_error("guardduty:CreateDetector", &resource.name, error))?;
        Ok(outputs(created.detector_id().unwrap_or_default()))
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        let id = observed.physical_id.as_str();
        if delta.touches("enabled") || delta.touches("frequency") {
            self.update_detector(id, resource).await?;
        }
        if delta.touches("tags") {
            let arn = self.arn(id).await?;
            let (remove, set) = tag_delta(resource, observed);
            if !remove.is_empty() {
                self.client
                    .untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|error| aws_error("guardduty:UntagResource", id, error))?;
            }
            if !set.is_empty() {
                self.client
                    .tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(set.into_iter().collect()))
                    .send()
                    .await
                    .map_err(|error| aws_error("guardduty:TagResource", id, error))?;
            }
        }
        Ok(observed.outputs.clone())
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let result = self
            .client
            .delete_detector()
            .detector_id(&observed.physical_id)
            .send()
            .await
            .map_err(|error| aws_error("guardduty:DeleteDetector", &observed.physical_id, error));
        found(result)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_guardduty::operation::get_detector::GetDetectorOutput;
    use aws_sdk_guardduty::operation::list_detectors::ListDetectorsOutput;
    use aws_sdk_guardduty::operation::tag_resource::TagResourceOutput;
    use aws_sdk_guardduty::operation::update_detector::UpdateDetectorOutput;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
    use aws_smithy_mocks::{mock, mock_client};

    fn detector() -> Resource {
        let tags = BTreeMap::from([
            ("ManagedBy".to_string(), "nc-provision".to_string()),
            ("nc:env".to_string(), "prod".to_string()),
            (
                "nc:id".to_string(),
                "observability.guardduty.detector".to_string(),
            ),
        ]);
        Resource::new(
            "observability.guardduty.detector",
            Kind::GuardDutyDetector,
            "detector",
        )
        .prop("enabled", true)
        .prop("frequency", "FIFTEEN_MINUTES")
        .prop("tags", Value::Map(tags))
    }

    fn ctx() -> StepCtx {
        StepCtx {
            id: crate::model::LogicalId::new("observability.guardduty.detector"),
            env: "prod".into(),
            progress: std::sync::Arc::new(|_: &str| {}),
            wait_timeout: std::time::Duration::from_secs(1),
        }
    }

    /// moto has no GuardDuty TagResource (404): adopting the region's existing, untagged
    /// detector is covered here. It is observed as foreign, and the update tags it by its ARN
    /// and sets the frequency, without creating a second detector.
    #[tokio::test]
    async fn the_existing_detector_is_reused_and_adopted_by_tagging_it() {
        let list = mock!(Client::list_detectors)
            .then_output(|| ListDetectorsOutput::builder().detector_ids("d-1").build());
        let get = mock!(Client::get_detector).then_output(|| {
            GetDetectorOutput::builder()
                .status(DetectorStatus::Enabled)
                .finding_publishing_frequency(FindingPublishingFrequency::SixHours)
                .build()
        });
        let update = mock!(Client::update_detector)
            .match_requests(|request| {
                request.detector_id() == Some("d-1")
                    && request.finding_publishing_frequency()
                        == Some(&FindingPublishingFrequency::FifteenMinutes)
            })
            .then_output(|| UpdateDetectorOutput::builder().build());
        let tag = mock!(Client::tag_resource)
            .match_requests(|request| {
                request.resource_arn()
                    == Some("arn:aws:guardduty:ca-central-1:123456789012:detector/d-1")
                    && request
                        .tags()
                        .is_some_and(|tags| tags.get("nc:env").map(String::as_str) == Some("prod"))
            })
            .then_output(|| TagResourceOutput::builder().build());
        let identity = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
            GetCallerIdentityOutput::builder()
                .account("123456789012")
                .build()
        });
        let provider = GuardDutyProvider::from_clients(
            mock_client!(aws_sdk_guardduty, [&list, &get, &update, &tag]),
            mock_client!(aws_sdk_sts, [&identity]),
            "ca-central-1",
        );
        let resource = detector();
        let observation = provider
            .observe(&[&resource], "prod")
            .await
            .expect("observe");
        let observed = observation.found[&resource.id].clone();
        assert_eq!(observed.owner, Owner::Foreign);
        assert_eq!(observed.physical_id, "d-1");
        let graph = crate::model::DesiredGraph::new(vec![resource.clone()]).expect("graph");
        let options = crate::plan::DiffOptions { adopt: true };
        let changes = crate::plan::diff(&graph, &observation, options);
        assert_eq!(changes[0].action, crate::plan::Action::Adopt);
        provider
            .update(&resource, &observed, &changes[0].delta(), &ctx())
            .await
            .expect("adopt");
        assert_eq!(
            update.num_calls(),
            1,
            "frequency set on the existing detector"
        );
        assert_eq!(tag.num_calls(), 1, "tagged as ours");
    }

    /// moto lets a second detector be created per region, which AWS refuses, so the race of
    /// a detector appearing between the plan and CreateDetector cannot be staged there. A
    /// detector someone else made is never reused silently (it would stay untagged and be a
    /// conflict on the next plan); one tagged as ours (a retried step) is reused.
    #[tokio::test]
    async fn create_reuses_only_a_detector_tagged_as_ours() {
        for (tags, reused) in [
            (vec![("team", "security")], false),
            (
                vec![
                    ("ManagedBy", "nc-provision"),
                    ("nc:env", "prod"),
                    ("nc:id", "observability.guardduty.detector"),
                ],
                true,
            ),
        ] {
            let list = mock!(Client::list_detectors)
                .then_output(|| ListDetectorsOutput::builder().detector_ids("d-1").build());
            let live: HashMap<String, String> = tags
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect();
            let get = mock!(Client::get_detector).then_output(move || {
                GetDetectorOutput::builder()
                    .status(DetectorStatus::Enabled)
                    .set_tags(Some(live.clone()))
                    .build()
            });
            let update = mock!(Client::update_detector)
                .then_output(|| UpdateDetectorOutput::builder().build());
            let create = mock!(Client::create_detector).then_output(|| {
                aws_sdk_guardduty::operation::create_detector::CreateDetectorOutput::builder()
                    .detector_id("d-2")
                    .build()
            });
            let provider = GuardDutyProvider::from_clients(
                mock_client!(
                    aws_sdk_guardduty,
                    aws_smithy_mocks::RuleMode::MatchAny,
                    [&list, &get, &update, &create]
                ),
                mock_client!(aws_sdk_sts, []),
                "ca-central-1",
            );
            let result = provider.create(&detector(), &ctx()).await;
            assert_eq!(create.num_calls(), 0, "never a second detector");
            if reused {
                assert_eq!(result.expect("reused")["id"], "d-1");
                assert_eq!(update.num_calls(), 1);
            } else {
                let error = result.expect_err("refused");
                assert!(error.message.contains("--adopt"), "{error}");
                assert_eq!(update.num_calls(), 0, "someone else's detector untouched");
            }
        }
    }
}
