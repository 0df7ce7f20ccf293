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

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_config::Client;
use aws_sdk_config::types::{
    ConfigRule, ConfigurationRecorder, DeliveryChannel, Owner as RuleOwner, RecordingGroup, Source,
    Tag,
};

use super::aws::{aws_error, found};
use super::ownership::{How, OwnershipRegistry};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::Delta;
use crate::model::Kind;
use crate::model::{LogicalId, Observation, Observed, Outputs, Owner, Resource, Value};
const KINDS: &[Kind] = &[Kind::ConfigRecorder, Kind::ConfigRule];

/// The AWS Config provider.
pub struct ConfigProvider {
    client: Client,
    registry: OwnershipRegistry,
}

/// The region's recorder and delivery channel names, as they exist.
#[derive(Debug, Default)]
struct Existing {
    recorder: Option<String>,
    channel: Option<String>,
}

impl Existing {
    fn any(&self) -> bool {
        self.recorder.is_some() || self.channel.is_some()
    }
}

/// Config checks the recorder's role and the bucket policy when they are set; right after they
/// were written they may not have propagated yet: those refusals are retried.
fn propagation(mut error: ProviderError) -> ProviderError {
    if matches!(
        error.code.as_deref(),
        Some("InvalidRoleException" | "InsufficientDeliveryPolicyException")
    ) {
        error.class = super::ErrorClass::Propagation;
    }
    error
}

fn outputs(name: &str) -> Outputs {
    let mut outputs = Outputs::new();
    outputs.insert("name".into(), name.to_string());
    outputs
}

/// The recorder's outputs: its name and its delivery channel's (`channel`).
fn recorder_outputs(recorder: &str, channel: &str) -> Outputs {
    let mut outputs = outputs(recorder);
    outputs.insert("channel".into(), channel.to_string());
    outputs
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

    /// The names of the region's recorder and delivery channel, if they exist.
    async fn existing(&self, resource: &str) -> Result<Existing, ProviderError> {
        let recorders = async {
            self.client
                .describe_configuration_recorders()
                .send()
                .await
                .map_err(|error| {
                    aws_error("config:DescribeConfigurationRecorders", resource, error)
                })
        };
        let channels = async {
            self.client
                .describe_delivery_channels()
                .send()
                .await
                .map_err(|error| aws_error("config:DescribeDeliveryChannels", resource, error))
        };
        let (recorders, channels) = tokio::join!(recorders, channels);
        Ok(Existing {
            recorder: recorders?
                .configuration_recorders()
                .first()
                .and_then(ConfigurationRecorder::name)
                .map(str::to_string),
            channel: channels?
                .delivery_channels()
                .first()
                .and_then(DeliveryChannel::name)
                .map(str::to_string),
        })
    }

    async fn observe_recorder(
        &self,
        resource: &Resource,
    ) -> Result<Option<Observed>, ProviderError> {
        let client = &self.client;
        let recorders = async {
            client
                .describe_configuration_recorders()
                .send()
                .await
                .map_err(|error| {
                    aws_error("config:DescribeConfigurationRecorders", "recorder", error)
                })
        };
        let status = async {
            client
                .describe_configuration_recorder_status()
                .send()
                .await
                .map_err(|error| {
                    aws_error(
                        "config:DescribeConfigurationRecorderStatus",
                        "recorder",
                        error,
                    )
                })
        };
        let channels = async {
            client
                .describe_delivery_channels()
                .send()
                .await
                .map_err(|error| aws_error("config:DescribeDeliveryChannels", "channel", error))
        };
        let (recorders, status, channels) = tokio::join!(recorders, status, channels);
        let recorders = recorders?;
        let channels = channels?;
        let recorder = recorders.configuration_recorders().first();
        let channel = channels.delivery_channels().first();
        if recorder.is_none() && channel.is_none() {
            return Ok(None);
        }
        // A channel without a recorder (its recorder was deleted): the recorder is made under
        // the spec's name, the channel keeps its own.
        let name = recorder
            .and_then(ConfigurationRecorder::name)
            .unwrap_or(&resource.name)
            .to_string();
        let channel_name = channel
            .and_then(DeliveryChannel::name)
            .unwrap_or(&name)
            .to_string();
        let recording = status?
            .configuration_recorders_status()
            .iter()
            .any(|status| status.name() == Some(name.as_str()) && status.recording());
        let group = recorder.and_then(ConfigurationRecorder::recording_group);
        let mut props = BTreeMap::new();
        props.insert(
            "role_arn".into(),
            Value::str(
                recorder
                    .and_then(ConfigurationRecorder::role_arn)
                    .unwrap_or_default(),
            ),
        );
        props.insert(
            "all_supported".into(),
            Value::Bool(group.is_some_and(RecordingGroup::all_supported)),
        );
        props.insert(
            "include_global".into(),
            Value::Bool(group.is_some_and(RecordingGroup::include_global_resource_types)),
        );
        props.insert(
            "delivery_bucket".into(),
            Value::str(
                channel
                    .and_then(DeliveryChannel::s3_bucket_name)
                    .unwrap_or_default(),
            ),
        );
        props.insert(
            "delivery_prefix".into(),
            Value::str(
                channel
                    .and_then(DeliveryChannel::s3_key_prefix)
                    .unwrap_or_default(),
            ),
        );
        props.insert("recording".into(), Value::Bool(recording));
        Ok(Some(Observed {
            id: resource.id.clone(),
            kind: Kind::ConfigRecorder,
            physical_id: name.clone(),
            props,
            outputs: recorder_outputs(&name, &channel_name),
            owner: Owner::Untracked,
            retain: false,
            refused: None,
        }))
    }

    async fn rules(&self) -> Result<Vec<ConfigRule>, ProviderError> {
        let mut rules = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_config_rules()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|error| aws_error("config:DescribeConfigRules", "rules", error))?;
            rules.extend(page.config_rules().iter().cloned());
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(rules),
            }
        }
    }

    async fn put_recorder(&self, resource: &Resource, name: &str) -> Result<(), ProviderError> {
        let recorder = ConfigurationRecorder::builder()
            .name(name)
            .role_arn(resource.str_prop("role_arn").unwrap_or_default())
            .recording_group(
                RecordingGroup::builder()
                    .all_supported(resource.bool_prop("all_supported").unwrap_or(true))
                    .include_global_resource_types(
                        resource.bool_prop("include_global").unwrap_or(false),
                    )
                    .build(),
            )
            .build();
        self.client
            .put_configuration_recorder()
            .configuration_recorder(recorder)
            .send()
            .await
            .map_err(|error| {
                propagation(aws_error("config:PutConfigurationRecorder", name, error))
            })?;
        Ok(())
    }

    async fn put_channel(&self, resource: &Resource, name: &str) -> Result<(), ProviderError> {
        let prefix = resource
            .str_prop("delivery_prefix")
            .filter(|prefix| !prefix.is_empty())
            .map(str::to_string);
        self.client
            .put_delivery_channel()
            .delivery_channel(
                DeliveryChannel::builder()
                    .name(name)
                    .s3_bucket_name(resource.str_prop("delivery_bucket").unwrap_or_default())
                    .set_s3_key_prefix(prefix)
                    .build(),
            )
            .send()
            .await
            .map_err(|error| propagation(aws_error("config:PutDeliveryChannel", name, error)))?;
        Ok(())
    }

    async fn set_recording(&self, name: &str, on: bool) -> Result<(), ProviderError> {
        if on {
            self.client
                .start_configuration_recorder()
                .configuration_recorder_name(name)
                .send()
                .await
                .map_err(|error| aws_error("config:StartConfigurationRecorder", name, error))?;
        } else {
            self.client
                .stop_configuration_recorder()
                .configuration_recorder_name(name)
                .send()
                .await
                .map_err(|error| aws_error("config:StopConfigurationRecorder", name, error))?;
        }
        Ok(())
    }

    async fn put_rule(&self, resource: &Resource, with_tags: bool) -> Result<(), ProviderError> {
        let name = resource.name.as_str();
        let local = |error: aws_smithy_types::error::operation::BuildError| {
            ProviderError::local("config:PutConfigRule", name, error.to_string())
        };
        let source = Source::builder()
            .owner(RuleOwner::Aws)
            .source_identifier(resource.str_prop("source_identifier").unwrap_or_default())
            .build()
            .map_err(local)?;
        let parameters = resource
            .str_prop("input_parameters")
            .filter(|text| !text.is_empty())
            .map(str::to_string);
        let rule = ConfigRule::builder()
            .config_rule_name(name)
            .description(resource.str_prop("description").unwrap_or_default())
            .source(source)
            .set_input_parameters(parameters)
            .build();
        let mut request = self.client.put_config_rule().config_rule(rule);
        if with_tags {
            for (key, value) in resource
                .create_inputs
                .get("tags")
                .and_then(Value::as_map)
                .cloned()
                .unwrap_or_default()
            {
                request = request.tags(Tag::builder().key(key).value(value).build());
            }
        }
        request
            .send()
            .await
            .map_err(|error| aws_error("config:PutConfigRule", name, error))?;
        Ok(())
    }
}

fn rule_props(rule: &ConfigRule) -> BTreeMap<String, Value> {
    let mut props = BTreeMap::new();
    props.insert(
        "source_identifier".into(),
        Value::str(
            rule.source()
                .and_then(Source::source_identifier)
                .unwrap_or_default(),
        ),
    );
    props.insert(
        "input_parameters".into(),
        Value::str(
            rule.input_parameters()
                .filter(|text| *text != "{}")
                .unwrap_or_default(),
        ),
    );
    props.insert(
        "description".into(),
        Value::str(rule.description().unwrap_or_default()),
    );
    props
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
        let rules: Vec<&Resource> = desired
            .iter()
            .copied()
            .filter(|r| r.kind == Kind::ConfigRule)
            .collect();
        let observe_recorder = async {
            match recorder {
                Some(resource) => self.observe_recorder(resource).await,
                None => Ok(None),
            }
        };
        let (recorder, live_rules) = tokio::join!(observe_recorder, self.rules());
        let mut observation = Observation::default();
        if let Some(observed) = recorder? {
            observation.insert(observed);
        }
        let by_name: BTreeMap<&str, &Resource> =
            rules.iter().map(|r| (r.name.as_str(), *r)).collect();
        let ours = format!("nc-{env}-");
        for rule in live_rules? {
            let Some(name) = rule.config_rule_name() else {
                continue;
            };
            let (id, orphan) = match by_name.get(name) {
                Some(resource) => (resource.id.clone(), false),
                None if name.starts_with(&ours) => (LogicalId::new(format!("rule:{name}")), true),
                None => continue,
            };
            let observed = Observed {
                id,
                kind: Kind::ConfigRule,
                physical_id: name.to_string(),
                props: rule_props(&rule),
                outputs: outputs(name),
                owner: Owner::Ours,
                retain: false,
                refused: None,
            };
            if orphan {
                observation.orphans.push(observed);
            } else {
                observation.insert(observed);
            }
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let name = resource.name.as_str();
        if resource.kind == Kind::ConfigRule {
            self.put_rule(resource, true).await?;
            return Ok(outputs(name));
        }
        // One recorder and one channel per region: look again, since the plan saw none.
        let existing = self.existing(name).await?;
        let recorder = existing
            .recorder
            .clone()
            .unwrap_or_else(|| name.to_string());
        let channel = existing.channel.clone().unwrap_or_else(|| recorder.clone());
        let ours = existing.any()
            && self
                .registry
                .owner(Kind::ConfigRecorder, &recorder, &ctx.env)
                .await?
                == Owner::Ours;
        if existing.any() && !ours {
            // Not ours: never overwritten here. The next plan shows it as a conflict.
            return Err(ProviderError::local(
                "config:PutConfigurationRecorder",
                &recorder,
                format!(
                    "the region's configuration recorder {recorder} / delivery channel \
                     {channel} appeared after the plan and was not set up by nc-provision; \
                     make a new plan, and apply --adopt to take it over"
                ),
            ));
        }
        self.put_recorder(resource, &recorder).await?;
        if !ours {
            self.registry
                .record(Kind::ConfigRecorder, &recorder, ctx, How::Created)
                .await?;
        }
        self.put_channel(resource, &channel).await?;
        if resource.bool_prop("recording") != Some(false) {
            self.set_recording(&recorder, true).await?;
        }
        Ok(recorder_outputs(&recorder, &channel))
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
        ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        let name = observed.physical_id.as_str();
        if resource.kind == Kind::ConfigRule {
            self.put_rule(resource, false).await?;
            return Ok(observed.outputs.clone());
        }
        let channel = observed.outputs.get("channel").map_or(name, String::as_str);
        let recorder_changed = ["role_arn", "all_supported", "include_global"]
            .iter()
            .any(|attribute| delta.touches(attribute));
        let channel_changed = delta.touches("delivery_bucket") || delta.touches("delivery_prefix");
        // An adoption is recorded as soon as the first change went through, so that a step
        // that fails half-way is not a conflict again on the next plan.
        let mut recorded = false;
        if recorder_changed {
            self.put_recorder(resource, name).await?;
            self.registry.record_adoption(observed, ctx).await?;
            recorded = true;
        }
        if channel_changed {
            self.put_channel(resource, channel).await?;
            if !recorded {
                self.registry.record_adoption(observed, ctx).await?;
                recorded = true;
            }
        }
        if delta.touches("recording") {
            self.set_recording(name, resource.bool_prop("recording") != Some(false))
                .await?;
            if !recorded {
                self.registry.record_adoption(observed, ctx).await?;
            }
        }
        Ok(observed.outputs.clone())
    }

    async fn look_up_owner(&self, observed: &Observed, env: &str) -> Result<Owner, ProviderError> {
        self.registry
            .owner(Kind::ConfigRecorder, &observed.physical_id, env)
            .await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let name = observed.physical_id.as_str();
        if observed.kind == Kind::ConfigRule {
            let result = self
                .client
                .delete_config_rule()
                .config_rule_name(name)
                .send()
                .await
                .map_err(|error| aws_error("config:DeleteConfigRule", name, error));
            found(result)?;
            return Ok(());
        }
        self.set_recording(name, false).await?;
        Ok(())
    }
}
