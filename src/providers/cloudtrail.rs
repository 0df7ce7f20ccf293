//! CloudTrail trails: multi-region, management events, log-file validation, KMS, delivery to S3
//! and CloudWatch Logs, S3 data events, logging kept started.
//!
//! Observe: one DescribeTrails for all trails, then for a desired trail GetTrailStatus,
//! GetEventSelectors and ListTags, concurrently. A trail that stopped logging is drift
//! (`logging = false`) that apply repairs with StartLogging.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, ReadWriteType, Tag,
    Trail,
};

use super::aws::{aws_error, found};
use super::{Aws, Provider, ProviderError, StepCtx, tag_delta, tags_value};
use crate::model::Delta;
use crate::model::Kind;
use crate::model::{Observation, Observed, Outputs, Owner, Resource, Value};

const KINDS: &[Kind] = &[Kind::CloudTrailTrail];

/// The trail attributes UpdateTrail changes.
const TRAIL_ATTRIBUTES: [&str; 7] = [
    "s3_bucket",
    "multi_region",
    "global_service_events",
    "log_file_validation",
    "kms_key",
    "cloudwatch_log_group_arn",
    "cloudwatch_role_arn",
];

/// The CloudTrail provider.
pub struct CloudTrailProvider {
    client: Client,
}

fn list_prop(resource: &Resource, name: &str) -> Vec<String> {
    match resource.props.get(name) {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// `management_events` and `data_events` from event selectors: the read/write type of the
/// management selector, and `type=value` entries of every data resource.
fn selectors_props(selectors: &[EventSelector]) -> (String, Vec<String>) {
    let mut management = "None".to_string();
    let mut data = Vec::new();
    for selector in selectors {
        if selector.include_management_events().unwrap_or(true) {
            management = selector
                .read_write_type()
                .map_or("All", ReadWriteType::as_str)
                .to_string();
        }
        let read_write = selector
            .read_write_type()
            .map_or("All", ReadWriteType::as_str);
        for resource in selector.data_resources() {
            for value in resource.values() {
                data.push(format!(
                    "{}={value}:{read_write}",
                    resource.r#type().unwrap_or_default()
                ));
            }
        }
    }
    data.sort();
    data.dedup();
    (management, data)
}

/// The event selectors a resource wants: one selector with management events of the wanted
/// type and every data resource (`type=value:ReadWriteType`).
fn desired_selectors(resource: &Resource) -> Vec<EventSelector> {
    let management = resource.str_prop("management_events").unwrap_or("All");
    let mut selector = EventSelector::builder()
        .include_management_events(management != "None")
        .read_write_type(ReadWriteType::from(if management == "None" {
            "All"
        } else {
            management
        }));
    for entry in list_prop(resource, "data_events") {
        let Some((kind, rest)) = entry.split_once('=') else {
            continue;
        };
        let value = rest.rsplit_once(':').map_or(rest, |(value, _)| value);
        selector =
            selector.data_resources(DataResource::builder().r#type(kind).values(value).build());
    }
    vec![selector.build()]
}

/// The value of a data resource meaning "every object of every bucket".
const ALL_S3_OBJECTS: &str = "arn:aws:s3";

/// A data event entry `type=value:ReadWriteType` as (type, value).
fn data_entry(entry: &str) -> Option<(&str, &str)> {
    let (kind, rest) = entry.split_once('=')?;
    Some((kind, rest.rsplit_once(':').map_or(rest, |(value, _)| value)))
}

/// The advanced event selectors a trail with `data_events_excluded` wants: one for management
/// events, one per data resource type, each data one excluding the listed ARN prefixes
/// (`resources.ARN NotStartsWith`). Basic selectors cannot exclude a bucket; CloudTrail's
/// user guide advises excluding the trail's own bucket (and its access-log bucket) from S3
/// data events, or every delivery logs another event (logging-data-events-with-cloudtrail).
fn desired_advanced_selectors(
    resource: &Resource,
) -> Result<Vec<AdvancedEventSelector>, ProviderError> {
    let failed = |error: aws_sdk_cloudtrail::error::BuildError| {
        ProviderError::local(
            "cloudtrail:PutEventSelectors",
            &resource.name,
            error.to_string(),
        )
    };
    let field = |name: &str| AdvancedFieldSelector::builder().field(name);
    let management = resource.str_prop("management_events").unwrap_or("All");
    let mut selectors = Vec::new();
    if management != "None" {
        let mut builder = AdvancedEventSelector::builder()
            .name("Management events")
            .field_selectors(
                field("eventCategory")
                    .equals("Management")
                    .build()
                    .map_err(failed)?,
            );
        if management != "All" {
            let read_only = if management == "ReadOnly" {
                "true"
            } else {
                "false"
            };
            builder = builder.field_selectors(
                field("readOnly")
                    .equals(read_only)
                    .build()
                    .map_err(failed)?,
            );
        }
        selectors.push(builder.build().map_err(failed)?);
    }
    let excluded = list_prop(resource, "data_events_excluded");
    for entry in list_prop(resource, "data_events") {
        let Some((kind, value)) = data_entry(&entry) else {
            continue;
        };
        let mut builder = AdvancedEventSelector::builder()
            .name(format!("{kind} data events"))
            .field_selectors(
                field("eventCategory")
                    .equals("Data")
                    .build()
                    .map_err(failed)?,
            )
            .field_selectors(
                field("resources.type")
                    .equals(kind)
                    .build()
                    .map_err(failed)?,
            );
        if value != ALL_S3_OBJECTS {
            builder = builder.field_selectors(
                field("resources.ARN")
                    .starts_with(value)
                    .build()
                    .map_err(failed)?,
            );
        }
        if !excluded.is_empty() {
            builder = builder.field_selectors(
                field("resources.ARN")
                    .set_not_starts_with(Some(excluded.clone()))
                    .build()
                    .map_err(failed)?,
            );
        }
        selectors.push(builder.build().map_err(failed)?);
    }
    Ok(selectors)
}

/// `management_events`, `data_events` and `data_events_excluded` from advanced selectors.
fn advanced_props(selectors: &[AdvancedEventSelector]) -> (String, Vec<String>, Vec<String>) {
    let mut management = "None".to_string();
    let mut data = Vec::new();
    let mut excluded = Vec::new();
    for selector in selectors {
        let fields = selector.field_selectors();
        let equals = |name: &str| -> Vec<String> {
            fields
                .iter()
                .filter(|f| f.field() == name)
                .flat_map(|f| f.equals().iter().cloned())
                .collect()
        };
        let category = equals("eventCategory");
        if category.iter().any(|c| c == "Management") {
            management = match equals("readOnly").as_slice() {
                [only] if only == "true" => "ReadOnly",
                [only] if only == "false" => "WriteOnly",
                _ => "All",
            }
            .to_string();
        }
        if category.iter().any(|c| c == "Data") {
            let arns = fields.iter().filter(|f| f.field() == "resources.ARN");
            let starts: Vec<String> = arns
                .clone()
                .flat_map(|f| f.starts_with().iter().cloned())
                .collect();
            excluded.extend(arns.flat_map(|f| f.not_starts_with().iter().cloned()));
            for kind in equals("resources.type") {
                if starts.is_empty() {
                    data.push(format!("{kind}={ALL_S3_OBJECTS}:All"));
                }
                for value in &starts {
                    data.push(format!("{kind}={value}:All"));
                }
            }
        }
    }
    for list in [&mut data, &mut excluded] {
        list.sort();
        list.dedup();
    }
    (management, data, excluded)
}

fn trail_tags(pairs: Vec<(String, String)>, trail: &str) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .into_iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| {
                    ProviderError::local("cloudtrail:AddTags", trail, error.to_string())
                })
        })
        .collect()
}

impl CloudTrailProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> CloudTrailProvider {
        CloudTrailProvider {
            client: aws.cloudtrail(),
        }
    }

    async fn observe_trail(
        &self,
        resource: &Resource,
        trail: &Trail,
        env: &str,
    ) -> Result<Observed, ProviderError> {
        let arn = trail.trail_arn().unwrap_or_default().to_string();
        let client = &self.client;
        let status = async {
            client
                .get_trail_status()
                .name(&arn)
                .send()
                .await
                .map_err(|error| aws_error("cloudtrail:GetTrailStatus", &arn, error))
        };
        let selectors = async {
            client
                .get_event_selectors()
                .trail_name(&arn)
                .send()
                .await
                .map_err(|error| aws_error("cloudtrail:GetEventSelectors", &arn, error))
        };
        let tags = async {
            client
                .list_tags()
                .resource_id_list(&arn)
                .send()
                .await
                .map_err(|error| aws_error("cloudtrail:ListTags", &arn, error))
        };
        let (status, selectors, tags) = tokio::join!(status, selectors, tags);
        let logging = status?.is_logging().unwrap_or(false);
        let selectors = selectors?;
        let (management, data, excluded) = if selectors.advanced_event_selectors().is_empty() {
            let (management, data) = selectors_props(selectors.event_selectors());
            (management, data, Vec::new())
        } else {
            advanced_props(selectors.advanced_event_selectors())
        };
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
        let mut props = BTreeMap::new();
        let text = |value: Option<&str>| Value::str(value.unwrap_or_default());
        props.insert("s3_bucket".into(), text(trail.s3_bucket_name()));
        props.insert(
            "multi_region".into(),
            Value::Bool(trail.is_multi_region_trail().unwrap_or(false)),
        );
        props.insert(
            "global_service_events".into(),
            Value::Bool(trail.include_global_service_events().unwrap_or(false)),
        );
        props.insert(
            "log_file_validation".into(),
            Value::Bool(trail.log_file_validation_enabled().unwrap_or(false)),
        );
        props.insert("kms_key".into(), text(trail.kms_key_id()));
        props.insert(
            "cloudwatch_log_group_arn".into(),
            text(trail.cloud_watch_logs_log_group_arn()),
        );
        props.insert(
            "cloudwatch_role_arn".into(),
            text(trail.cloud_watch_logs_role_arn()),
        );
        props.insert("logging".into(), Value::Bool(logging));
        props.insert("management_events".into(), Value::Str(management));
        props.insert(
            "data_events".into(),
            Value::List(data.into_iter().map(Value::Str).collect()),
        );
        props.insert(
            "data_events_excluded".into(),
            Value::List(excluded.into_iter().map(Value::Str).collect()),
        );
        let owner = Owner::from_tags(&tags, env);
        props.insert("tags".into(), tags_value(tags));
        Ok(Observed {
            id: resource.id.clone(),
            kind: KINDS[0],
            physical_id: arn.clone(),
            props,
            outputs: outputs(&resource.name, &arn),
            owner,
            retain: false,
            refused: None,
        })
    }

    async fn put_selectors(&self, resource: &Resource, trail: &str) -> Result<(), ProviderError> {
        let request = self.client.put_event_selectors().trail_name(trail);
        let request = if list_prop(resource, "data_events_excluded").is_empty() {
            request.set_event_selectors(Some(desired_selectors(resource)))
        } else {
            request.set_advanced_event_selectors(Some(desired_advanced_selectors(resource)?))
        };
        request
            .send()
            .await
            .map_err(|error| aws_error("cloudtrail:PutEventSelectors", trail, error))?;
        Ok(())
    }

    async fn set_logging(&self, trail: &str, on: bool) -> Result<(), ProviderError> {
        if on {
            self.client
                .start_logging()
                .name(trail)
                .send()
                .await
                .map_err(|error| aws_error("cloudtrail:StartLogging", trail, error))?;
        } else {
            self.client
                .stop_logging()
                .name(trail)
                .send()
                .await
                .map_err(|error| aws_error("cloudtrail:StopLogging", trail, error))?;
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
        error.class = super::ErrorClass::Propagation;
    }
    error
}

fn outputs(name: &str, arn: &str) -> Outputs {
    let mut outputs = Outputs::new();
    outputs.insert("name".into(), name.to_string());
    outputs.insert("arn".into(), arn.to_string());
    outputs
}

fn non_empty(resource: &Resource, name: &str) -> Option<String> {
    resource
        .str_prop(name)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
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
        let trails = self
            .client
            .describe_trails()
            .include_shadow_trails(false)
            .send()
            .await
            .map_err(|error| aws_error("cloudtrail:DescribeTrails", "trails", error))?;
        let reads = desired.iter().filter_map(|resource| {
            trails
                .trail_list()
                .iter()
                .find(|trail| trail.name() == Some(resource.name.as_str()))
                .map(|trail| self.observe_trail(resource, trail, env))
        });
        let mut observation = Observation::default();
        for observed in futures::future::try_join_all(reads).await? {
            observation.insert(observed);
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let name = resource.name.as_str();
        let flag = |attribute: &str| resource.bool_prop(attribute).unwrap_or(true);
        let created = self
            .client
            .create_trail()
            .name(name)
            .s3_bucket_name(resource.str_prop("s3_bucket").unwrap_or_default())
            .is_multi_region_trail(flag("multi_region"))
            .include_global_service_events(flag("global_service_events"))
            .enable_log_file_validation(flag("log_file_validation"))
            .set_kms_key_id(non_empty(resource, "kms_key"))
            .set_cloud_watch_logs_log_group_arn(non_empty(resource, "cloudwatch_log_group_arn"))
            .set_cloud_watch_logs_role_arn(non_empty(resource, "cloudwatch_role_arn"))
            .set_tags_list(Some(trail_tags(super::tag_pairs(resource), name)?))
            .send()
            .await;
        let arn = match created {
            Ok(output) => output.trail_arn().unwrap_or_default().to_string(),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_trail_already_exists_exception()) =>
            {
                name.to_string()
            }
            Err(error) => {
                return Err(propagation(aws_error(
                    "cloudtrail:CreateTrail",
                    name,
                    error,
                )));
            }
        };
        self.put_selectors(resource, name).await?;
        if resource.bool_prop("logging") != Some(false) {
            self.set_logging(name, true).await?;
        }
        Ok(outputs(name, &arn))
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        let trail = observed.physical_id.as_str();
        if TRAIL_ATTRIBUTES.iter().any(|name| delta.touches(name)) {
            let flag = |attribute: &str| resource.bool_prop(attribute).unwrap_or(true);
            self.client
                .update_trail()
                .name(trail)
                .s3_bucket_name(resource.str_prop("s3_bucket").unwrap_or_default())
                .is_multi_region_trail(flag("multi_region"))
                .include_global_service_events(flag("global_service_events"))
                .enable_log_file_validation(flag("log_file_validation"))
                .kms_key_id(resource.str_prop("kms_key").unwrap_or_default())
                .cloud_watch_logs_log_group_arn(
                    resource
                        .str_prop("cloudwatch_log_group_arn")
                        .unwrap_or_default(),
                )
                .cloud_watch_logs_role_arn(
                    resource.str_prop("cloudwatch_role_arn").unwrap_or_default(),
                )
                .send()
                .await
                .map_err(|error| propagation(aws_error("cloudtrail:UpdateTrail", trail, error)))?;
        }
        if delta.touches("management_events")
            || delta.touches("data_events")
            || delta.touches("data_events_excluded")
        {
            self.put_selectors(resource, trail).await?;
        }
        if delta.touches("logging") {
            self.set_logging(trail, resource.bool_prop("logging") != Some(false))
                .await?;
        }
        if delta.touches("tags") {
            let (remove, set) = tag_delta(resource, observed);
            if !remove.is_empty() {
                let keys = remove.into_iter().map(|key| (key, String::new())).collect();
                self.client
                    .remove_tags()
                    .resource_id(trail)
                    .set_tags_list(Some(trail_tags(keys, trail)?))
                    .send()
                    .await
                    .map_err(|error| aws_error("cloudtrail:RemoveTags", trail, error))?;
            }
            if !set.is_empty() {
                self.client
                    .add_tags()
                    .resource_id(trail)
                    .set_tags_list(Some(trail_tags(set, trail)?))
                    .send()
                    .await
                    .map_err(|error| aws_error("cloudtrail:AddTags", trail, error))?;
            }
        }
        Ok(observed.outputs.clone())
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let result = self
            .client
            .delete_trail()
            .name(&observed.physical_id)
            .send()
            .await
            .map_err(|error| aws_error("cloudtrail:DeleteTrail", &observed.physical_id, error));
        found(result)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_round_trip_through_the_props() {
        let resource = Resource::new("t", Kind::CloudTrailTrail, "t")
            .prop("management_events", "All")
            .prop(
                "data_events",
                Value::List(vec![Value::str("AWS::S3::Object=arn:aws:s3:::x/:All")]),
            );
        let selectors = desired_selectors(&resource);
        let (management, data) = selectors_props(&selectors);
        assert_eq!(management, "All");
        assert_eq!(data, vec!["AWS::S3::Object=arn:aws:s3:::x/:All"]);
    }

    #[test]
    fn advanced_selectors_exclude_buckets_and_round_trip_through_the_props() {
        let excluded = vec![
            Value::str("arn:aws:s3:::access-logs/"),
            Value::str("arn:aws:s3:::trail/"),
        ];
        let resource = Resource::new("t", Kind::CloudTrailTrail, "t")
            .prop("management_events", "All")
            .prop(
                "data_events",
                Value::List(vec![Value::str("AWS::S3::Object=arn:aws:s3:All")]),
            )
            .prop("data_events_excluded", Value::List(excluded));
        let selectors = desired_advanced_selectors(&resource).expect("selectors");
        assert_eq!(selectors.len(), 2, "management, S3 objects");
        let data = &selectors[1];
        let not_starts: Vec<&str> = data
            .field_selectors()
            .iter()
            .flat_map(|f| f.not_starts_with())
            .map(String::as_str)
            .collect();
        assert_eq!(
            not_starts,
            ["arn:aws:s3:::access-logs/", "arn:aws:s3:::trail/"]
        );
        let (management, data, excluded) = advanced_props(&selectors);
        assert_eq!(management, "All");
        assert_eq!(data, vec!["AWS::S3::Object=arn:aws:s3:All"]);
        assert_eq!(
            excluded,
            ["arn:aws:s3:::access-logs/", "arn:aws:s3:::trail/"]
        );
    }
}
