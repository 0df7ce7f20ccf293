//! The region's configuration recorder with its delivery channel and recording status
//! (`config_recorder`): an account-and-region singleton without tags, owned as the tool's
//! ownership record says.

use aws_sdk_config::Client;
use aws_sdk_config::types::{
    ConfigurationRecorder, ConfigurationRecorderStatus, DeliveryChannel, RecordingGroup,
};

use super::{ConfigProvider, propagation};
use crate::model::{Kind, Observed, Outputs, Owner, Props, Resource, Value};
use crate::providers::aws::{Change, Done, Live, non_empty_prop, outputs_of, sent};
use crate::providers::ownership::How;
use crate::providers::{ProviderError, StepCtx};

/// The recorder's attributes PutConfigurationRecorder changes.
const RECORDER_ATTRIBUTES: [&str; 3] = ["role_arn", "all_supported", "include_global"];
/// The recorder's attributes PutDeliveryChannel changes.
const CHANNEL_ATTRIBUTES: [&str; 2] = ["delivery_bucket", "delivery_prefix"];

/// The recorder's outputs: its name and its delivery channel's (`channel`).
fn outputs(recorder: &str, channel: &str) -> Outputs {
    outputs_of([("name", recorder), ("channel", channel)])
}

/// The region's recorders (DescribeConfigurationRecorders); errors name `resource`.
async fn recorders(
    client: &Client,
    resource: &str,
) -> Result<Vec<ConfigurationRecorder>, ProviderError> {
    let call = client.describe_configuration_recorders();
    let described = sent(
        "config:DescribeConfigurationRecorders",
        resource,
        call.send(),
    )
    .await?;
    Ok(described.configuration_recorders().to_vec())
}

/// The region's delivery channels (DescribeDeliveryChannels); errors name `resource`.
async fn channels(client: &Client, resource: &str) -> Result<Vec<DeliveryChannel>, ProviderError> {
    let call = client.describe_delivery_channels();
    let described = sent("config:DescribeDeliveryChannels", resource, call.send()).await?;
    Ok(described.delivery_channels().to_vec())
}

/// The recording status of the region's recorders (DescribeConfigurationRecorderStatus).
async fn statuses(client: &Client) -> Result<Vec<ConfigurationRecorderStatus>, ProviderError> {
    let call = client.describe_configuration_recorder_status();
    let described = sent(
        "config:DescribeConfigurationRecorderStatus",
        "recorder",
        call.send(),
    )
    .await?;
    Ok(described.configuration_recorders_status().to_vec())
}

/// Reads the region's recorder, its status and its channel (one call each, concurrently) and
/// observes them as `resource`.
pub(super) async fn read(
    client: &Client,
    resource: &Resource,
) -> Result<Option<Observed>, ProviderError> {
    let (recorders, status, channels) = tokio::join!(
        recorders(client, "recorder"),
        statuses(client),
        channels(client, "channel")
    );
    observe(resource, &recorders?, &channels?, status)
}

/// The region's recorder and channel as `resource`'s observation (pure): `None` when neither
/// exists. The status is only needed (and its error only reported) when one does.
fn observe(
    resource: &Resource,
    recorders: &[ConfigurationRecorder],
    channels: &[DeliveryChannel],
    status: Result<Vec<ConfigurationRecorderStatus>, ProviderError>,
) -> Result<Option<Observed>, ProviderError> {
    let recorder = recorders.first();
    let channel = channels.first();
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
        .iter()
        .any(|status| status.name() == Some(name.as_str()) && status.recording());
    let group = recorder.and_then(ConfigurationRecorder::recording_group);
    let text = |value: Option<&str>| Value::str(value.unwrap_or_default());
    let props = Props::from([
        (
            "role_arn".to_string(),
            text(recorder.and_then(ConfigurationRecorder::role_arn)),
        ),
        (
            "all_supported".to_string(),
            Value::Bool(group.is_some_and(RecordingGroup::all_supported)),
        ),
        (
            "include_global".to_string(),
            Value::Bool(group.is_some_and(RecordingGroup::include_global_resource_types)),
        ),
        (
            "delivery_bucket".to_string(),
            text(channel.and_then(DeliveryChannel::s3_bucket_name)),
        ),
        (
            "delivery_prefix".to_string(),
            text(channel.and_then(DeliveryChannel::s3_key_prefix)),
        ),
        ("recording".to_string(), Value::Bool(recording)),
    ]);
    let live = Live::new(Kind::ConfigRecorder, name.clone(), name.clone())
        .props(props)
        .outputs(outputs(&name, &channel_name));
    Ok(Some(live.owned_by(resource.id.clone(), Owner::Untracked)))
}

async fn put_recorder(client: &Client, resource: &Resource, name: &str) -> Done {
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
    let call = client
        .put_configuration_recorder()
        .configuration_recorder(recorder);
    sent("config:PutConfigurationRecorder", name, call.send())
        .await
        .map_err(propagation)?;
    Ok(())
}

async fn put_channel(client: &Client, resource: &Resource, name: &str) -> Done {
    let channel = DeliveryChannel::builder()
        .name(name)
        .s3_bucket_name(resource.str_prop("delivery_bucket").unwrap_or_default())
        .set_s3_key_prefix(non_empty_prop(resource, "delivery_prefix"))
        .build();
    let call = client.put_delivery_channel().delivery_channel(channel);
    sent("config:PutDeliveryChannel", name, call.send())
        .await
        .map_err(propagation)?;
    Ok(())
}

async fn set_recording(client: &Client, name: &str, on: bool) -> Result<(), ProviderError> {
    if on {
        let call = client
            .start_configuration_recorder()
            .configuration_recorder_name(name);
        sent("config:StartConfigurationRecorder", name, call.send()).await?;
    } else {
        let call = client
            .stop_configuration_recorder()
            .configuration_recorder_name(name);
        sent("config:StopConfigurationRecorder", name, call.send()).await?;
    }
    Ok(())
}

impl ConfigProvider {
    /// Sets the recorder and channel up. One of each per region: the region is looked at
    /// again (the plan saw neither); existing ones are taken only when the tool's record says
    /// they are ours, and keep their names.
    pub(super) async fn create_recorder(
        &self,
        resource: &Resource,
        ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        let (client, registry) = (&self.client, &self.registry);
        let name = resource.name.as_str();
        let (recorders, channels) = tokio::join!(recorders(client, name), channels(client, name));
        let existing_recorder = recorders?
            .first()
            .and_then(ConfigurationRecorder::name)
            .map(str::to_string);
        let existing_channel = channels?
            .first()
            .and_then(DeliveryChannel::name)
            .map(str::to_string);
        let existing = existing_recorder.is_some() || existing_channel.is_some();
        let recorder = existing_recorder.unwrap_or_else(|| name.to_string());
        let channel = existing_channel.unwrap_or_else(|| recorder.clone());
        let ours = existing
            && registry
                .owner(Kind::ConfigRecorder, &recorder, &ctx.env)
                .await?
                == Owner::Ours;
        if existing && !ours {
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
        put_recorder(client, resource, &recorder).await?;
        if !ours {
            registry
                .record(Kind::ConfigRecorder, &recorder, ctx, How::Created)
                .await?;
        }
        put_channel(client, resource, &channel).await?;
        if resource.bool_prop("recording") != Some(false) {
            set_recording(client, &recorder, true).await?;
        }
        Ok(outputs(&recorder, &channel))
    }

    /// Changes the recorder, its channel and its recording in place. An adoption is recorded
    /// as soon as the first change went through, so that a step that fails half-way is not a
    /// conflict again on the next plan.
    pub(super) async fn update_recorder(
        &self,
        change: &Change<'_>,
        ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        let (client, resource, observed) = (&self.client, change.resource, change.observed);
        let name = observed.physical_id.as_str();
        let channel = observed.outputs.get("channel").map_or(name, String::as_str);
        let mut recorded = false;
        let mut record = async || -> Result<(), ProviderError> {
            if !recorded {
                self.registry.record_adoption(observed, ctx).await?;
                recorded = true;
            }
            Ok(())
        };
        if change.delta.touches_any(&RECORDER_ATTRIBUTES) {
            put_recorder(client, resource, name).await?;
            record().await?;
        }
        if change.delta.touches_any(&CHANNEL_ATTRIBUTES) {
            put_channel(client, resource, channel).await?;
            record().await?;
        }
        if change.touches("recording") {
            set_recording(client, name, resource.bool_prop("recording") != Some(false)).await?;
            record().await?;
        }
        Ok(observed.outputs.clone())
    }
}

/// "Deletes" the recorder: stops recording (the recorder and channel stay).
pub(super) async fn delete(client: &Client, observed: &Observed) -> Result<(), ProviderError> {
    set_recording(client, &observed.physical_id, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder() -> Resource {
        Resource::new(
            "observability.config.recorder",
            Kind::ConfigRecorder,
            "default",
        )
    }

    #[test]
    fn no_recorder_and_no_channel_is_nothing_and_the_status_is_not_needed() {
        let failed = Err(ProviderError::local("status", "recorder", "unreadable"));
        let observed = observe(&recorder(), &[], &[], failed).expect("no status needed");
        assert!(observed.is_none());
    }

    #[test]
    fn a_channel_without_its_recorder_keeps_its_name_and_the_recorder_takes_the_specs() {
        let channel = DeliveryChannel::builder()
            .name("control-tower")
            .s3_bucket_name("bucket")
            .build();
        let observed = observe(&recorder(), &[], &[channel], Ok(Vec::new()))
            .expect("observed")
            .expect("a channel");
        assert_eq!(observed.physical_id, "default");
        assert_eq!(observed.outputs["channel"], "control-tower");
        assert_eq!(observed.owner, Owner::Untracked);
        assert_eq!(observed.props["recording"], Value::Bool(false));
        assert_eq!(observed.props["delivery_bucket"], Value::str("bucket"));
    }
}
