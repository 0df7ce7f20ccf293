//! CloudTrail trails: multi-region, management events, log-file validation, KMS, delivery to S3
//! and CloudWatch Logs, S3 data events, logging kept started.
//!
//! Observe: one DescribeTrails for all trails, then for a desired trail GetTrailStatus,
//! GetEventSelectors and ListTags, concurrently. A trail that stopped logging is drift
//! (`logging = false`) that apply repairs with StartLogging.

mod selectors;

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::operation::create_trail::CreateTrailError;
use aws_sdk_cloudtrail::types::{Tag, Trail};

use super::aws::{
    Live, gone_is_done, name_and_arn, non_empty_prop, read_all, sdk_tags_of, sent, sent_or_none,
    tag_api, tag_pairs,
};
use super::{Aws, ErrorClass, Provider, ProviderError, StepCtx};
use crate::model::{Kind, Observation, Observed, Outputs, Props, Resource, Value};
use crate::providers::Change;
use selectors::Selectors;

const KINDS: &[Kind] = &[Kind::CloudTrailTrail];

/// The trail attributes UpdateTrail changes.
const TRAIL_ATTRIBUTES: &[&str] = &[
    "s3_bucket",
    "multi_region",
    "global_service_events",
    "log_file_validation",
    "kms_key",
    "cloudwatch_log_group_arn",
    "cloudwatch_role_arn",
];

/// The trail attributes PutEventSelectors changes.
const SELECTOR_ATTRIBUTES: &[&str] = &["management_events", "data_events", "data_events_excluded"];

/// The CloudTrail provider.
pub struct CloudTrailProvider {
    client: Client,
    /// The region observed: a trail whose home region differs is a shadow of a multi-region
    /// trail made elsewhere.
    region: String,
}

/// The action that tags a trail.
const ADD_TAGS: &str = "cloudtrail:AddTags";

/// CloudTrail's tags as SDK tags (RemoveTags takes keys with empty values).
fn trail_tags(pairs: Vec<(String, String)>, trail: &str) -> Result<Vec<Tag>, ProviderError> {
    sdk_tags_of(pairs, ADD_TAGS, trail)
}

tag_api! {
    /// A trail's AddTags / RemoveTags.
    TrailTags(Client) by resource_id;
    "cloudtrail:AddTags": add_tags.set_tags_list(trail_tags);
    "cloudtrail:RemoveTags": remove_tags.set_tags_list(trail_keys);
}

/// Tag keys as RemoveTags takes them: tags with empty values.
fn trail_keys(keys: Vec<String>, trail: &str) -> Result<Vec<Tag>, ProviderError> {
    trail_tags(
        keys.into_iter().map(|key| (key, String::new())).collect(),
        trail,
    )
}

/// A trail's attributes from DescribeTrails (without logging, selectors and tags).
fn trail_props(trail: &Trail) -> Props {
    let text = |value: Option<&str>| Value::str(value.unwrap_or_default());
    let flag = |value: Option<bool>| Value::Bool(value.unwrap_or(false));
    Props::from([
        ("s3_bucket".into(), text(trail.s3_bucket_name())),
        ("multi_region".into(), flag(trail.is_multi_region_trail())),
        (
            "global_service_events".into(),
            flag(trail.include_global_service_events()),
        ),
        (
            "log_file_validation".into(),
            flag(trail.log_file_validation_enabled()),
        ),
        ("kms_key".into(), text(trail.kms_key_id())),
        (
            "cloudwatch_log_group_arn".into(),
            text(trail.cloud_watch_logs_log_group_arn()),
        ),
        (
            "cloudwatch_role_arn".into(),
            text(trail.cloud_watch_logs_role_arn()),
        ),
    ])
}

/// A list of strings as an attribute value.
fn str_list(items: Vec<String>) -> Value {
    Value::List(items.into_iter().map(Value::Str).collect())
}

impl CloudTrailProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> CloudTrailProvider {
        CloudTrailProvider {
            client: aws.cloudtrail(),
            region: aws.region(),
        }
    }

    /// Reads the shadow, in this region, of a multi-region trail whose home is another region
    /// (the primary region's trail, seen from the DR region): what DescribeTrails shows and
    /// whether it logs. Its selectors and tags belong to its home region and are not read; it
    /// is verified, never changed from here, so its owner stays untracked.
    async fn observe_shadow(
        &self,
        resource: &Resource,
        trail: &Trail,
    ) -> Result<Observed, ProviderError> {
        let arn = trail.trail_arn().unwrap_or_default().to_string();
        let call = self.client.get_trail_status().name(&arn);
        let status = sent("cloudtrail:GetTrailStatus", &arn, call.send()).await?;
        let mut props = trail_props(trail);
        props.insert(
            "logging".into(),
            Value::Bool(status.is_logging().unwrap_or(false)),
        );
        let live = Live::new(Kind::CloudTrailTrail, &arn, &arn)
            .props(props)
            .outputs(name_and_arn(&resource.name, &arn));
        Ok(live.owned_by(resource.id.clone(), crate::model::Owner::Untracked))
    }

    /// Reads a desired trail's status, selectors and tags (concurrently).
    async fn observe_trail(
        &self,
        resource: &Resource,
        trail: &Trail,
        env: &str,
    ) -> Result<Observed, ProviderError> {
        let arn = trail.trail_arn().unwrap_or_default().to_string();
        let client = &self.client;
        let status = async {
            let call = client.get_trail_status().name(&arn);
            sent("cloudtrail:GetTrailStatus", &arn, call.send()).await
        };
        let selectors = async {
            let call = client.get_event_selectors().trail_name(&arn);
            sent("cloudtrail:GetEventSelectors", &arn, call.send()).await
        };
        let tags = async {
            let call = client.list_tags().resource_id_list(&arn);
            sent("cloudtrail:ListTags", &arn, call.send()).await
        };
        let (status, selectors, tags) = tokio::join!(status, selectors, tags);
        let logging = status?.is_logging().unwrap_or(false);
        let selectors = selectors?;
        let selectors = selectors::live(
            selectors.event_selectors(),
            selectors.advanced_event_selectors(),
        );
        let tags: BTreeMap<String, String> = tags?
            .resource_tag_list()
            .iter()
            .flat_map(|entry| entry.tags_list().iter())
            .map(|tag| {
                (
                    tag.key().to_string(),
                    tag.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let mut props = trail_props(trail);
        props.insert("logging".into(), Value::Bool(logging));
        props.insert("management_events".into(), Value::Str(selectors.management));
        props.insert("data_events".into(), str_list(selectors.data));
        props.insert("data_events_excluded".into(), str_list(selectors.excluded));
        Ok(Live::new(KINDS[0], arn.clone(), resource.name.clone())
            .tags(tags)
            .props(props)
            .outputs(name_and_arn(&resource.name, &arn))
            .observed(resource.id.clone(), env))
    }

    async fn put_selectors(&self, resource: &Resource, trail: &str) -> Result<(), ProviderError> {
        let request = self.client.put_event_selectors().trail_name(trail);
        let request = match selectors::desired(resource)? {
            Selectors::Basic(basic) => request.set_event_selectors(Some(basic)),
            Selectors::Advanced(advanced) => request.set_advanced_event_selectors(Some(advanced)),
        };
        let call = request;
        sent("cloudtrail:PutEventSelectors", trail, call.send()).await?;
        Ok(())
    }

    async fn set_logging(&self, trail: &str, on: bool) -> Result<(), ProviderError> {
        if on {
            let call = self.client.start_logging().name(trail);
            sent("cloudtrail:StartLogging", trail, call.send()).await?;
        } else {
            let call = self.client.stop_logging().name(trail);
            sent("cloudtrail:StopLogging", trail, call.send()).await?;
        }
        Ok(())
    }
}

/// CloudTrail checks the delivery role, the bucket policy and the key policy when the trail is
/// created or changed; right after those were written, IAM and the policies may not have
/// propagated yet: those refusals are retried as propagation delays.
fn propagation(mut error: ProviderError) -> ProviderError {
    if matches!(
        error.code.as_deref(),
        Some(
            "InvalidCloudWatchLogsRoleArnException"
                | "InvalidCloudWatchLogsLogGroupArnException"
                | "InsufficientS3BucketPolicyException"
                | "InsufficientEncryptionPolicyException"
        )
    ) {
        error.class = ErrorClass::Propagation;
    }
    error
}

/// A boolean attribute of a trail; unset means on.
fn flag(resource: &Resource, attribute: &str) -> bool {
    resource.bool_prop(attribute).unwrap_or(true)
}

#[async_trait]
impl Provider for CloudTrailProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        // Shadows too: from the DR region, the primary's multi-region trail is verified.
        let call = self.client.describe_trails().include_shadow_trails(true);
        let trails = sent("cloudtrail:DescribeTrails", "trails", call.send()).await?;
        // Collected first: a lazy iterator of futures would not be `Send` for every lifetime.
        let mut reads = Vec::new();
        let mut shadows = Vec::new();
        for resource in desired {
            let named = |trail: &&Trail| trail.name() == Some(resource.name.as_str());
            let Some(trail) = trails.trail_list().iter().find(named) else {
                continue;
            };
            if trail.home_region().is_some_and(|home| home != self.region) {
                shadows.push(self.observe_shadow(resource, trail));
            } else {
                reads.push(self.observe_trail(resource, trail, env));
            }
        }
        let mut observation = Observation::default();
        for observed in read_all(reads).await? {
            observation.insert(observed);
        }
        for observed in read_all(shadows).await? {
            observation.insert(observed);
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let name = resource.name.as_str();
        let tags = trail_tags(tag_pairs(resource), name)?;
        let call = self
            .client
            .create_trail()
            .name(name)
            .s3_bucket_name(resource.str_prop("s3_bucket").unwrap_or_default())
            .is_multi_region_trail(flag(resource, "multi_region"))
            .include_global_service_events(flag(resource, "global_service_events"))
            .enable_log_file_validation(flag(resource, "log_file_validation"))
            .set_kms_key_id(non_empty_prop(resource, "kms_key"))
            .set_cloud_watch_logs_log_group_arn(non_empty_prop(
                resource,
                "cloudwatch_log_group_arn",
            ))
            .set_cloud_watch_logs_role_arn(non_empty_prop(resource, "cloudwatch_role_arn"))
            .set_tags_list(Some(tags));
        let exists = |e: &CreateTrailError| e.is_trail_already_exists_exception();
        let created = sent_or_none("cloudtrail:CreateTrail", name, call.send(), exists)
            .await
            .map_err(propagation)?;
        let arn = created.map_or_else(
            || name.to_string(),
            |output| output.trail_arn().unwrap_or_default().to_string(),
        );
        self.put_selectors(resource, name).await?;
        if resource.bool_prop("logging") != Some(false) {
            self.set_logging(name, true).await?;
        }
        Ok(name_and_arn(name, &arn))
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let trail = change.observed.physical_id.as_str();
        let text = |attribute: &str| change.resource.str_prop(attribute).unwrap_or_default();
        if change.delta.touches_any(TRAIL_ATTRIBUTES) {
            let call = self
                .client
                .update_trail()
                .name(trail)
                .s3_bucket_name(text("s3_bucket"))
                .is_multi_region_trail(flag(change.resource, "multi_region"))
                .include_global_service_events(flag(change.resource, "global_service_events"))
                .enable_log_file_validation(flag(change.resource, "log_file_validation"))
                .kms_key_id(text("kms_key"))
                .cloud_watch_logs_log_group_arn(text("cloudwatch_log_group_arn"))
                .cloud_watch_logs_role_arn(text("cloudwatch_role_arn"));
            sent("cloudtrail:UpdateTrail", trail, call.send())
                .await
                .map_err(propagation)?;
        }
        if change.delta.touches_any(SELECTOR_ATTRIBUTES) {
            self.put_selectors(change.resource, trail).await?;
        }
        if change.touches("logging") {
            self.set_logging(trail, change.resource.bool_prop("logging") != Some(false))
                .await?;
        }
        let api = TrailTags::new(&self.client, trail, trail);
        change.sync_tags(&api).await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let call = self.client.delete_trail().name(&observed.physical_id);
        gone_is_done("cloudtrail:DeleteTrail", &observed.physical_id, call.send()).await
    }
}
