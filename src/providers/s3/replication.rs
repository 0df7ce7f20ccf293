//! `s3_bucket_replication`: the replication configuration of a bucket (the resource's name),
//! read with GetBucketReplication (`ReplicationConfigurationNotFoundError`: absent), written
//! whole with PutBucketReplication (create and update alike) and removed with
//! DeleteBucketReplication. It has no tags: its owner is its bucket's.
//!
//! Props (one rule): `role_arn`, `rule_id`, `rule_status`, `rule_priority`,
//! `delete_marker_replication`, `sse_kms_encrypted_objects`, `destination_bucket` (an ARN),
//! `replica_kms_key` (an ARN), `replication_time_minutes` and `metrics_minutes` (0 when off),
//! plus, observed, `rule_count` and `filter_prefix` (a desired configuration has one rule over
//! the whole bucket; more rules or a narrower filter are drift).
//! API: <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketReplication.html>.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination, EncryptionConfiguration,
    Metrics, MetricsStatus, ReplicationConfiguration, ReplicationRule, ReplicationRuleFilter,
    ReplicationRuleStatus, ReplicationTime, ReplicationTimeStatus, ReplicationTimeValue,
    SourceSelectionCriteria, SseKmsEncryptedObjects, SseKmsEncryptedObjectsStatus,
};

use crate::model::{Kind, Observed, Outputs, Owner, Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::sent;

/// The error code of GetBucketReplication on a bucket without a configuration.
const NOT_FOUND: &str = "ReplicationConfigurationNotFoundError";

/// The live configuration of `resource`'s bucket, as props; `None` when it has none.
pub(super) async fn read(
    client: &Client,
    resource: &Resource,
) -> Result<Option<Props>, ProviderError> {
    let bucket = resource.name.as_str();
    let call = client.get_bucket_replication().bucket(bucket);
    let read = none_is_absent(sent("s3:GetBucketReplication", bucket, call.send()).await)?;
    Ok(read.and_then(|output| {
        let configuration = output.replication_configuration()?;
        Some(props_of(configuration, resource.str_prop("rule_id")))
    }))
}

/// A call's answer, with "no configuration" (NotFound, or [`NOT_FOUND`]) as `None`.
fn none_is_absent<T>(sent: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match sent {
        Ok(output) => Ok(Some(output)),
        Err(error) if error.code.as_deref() == Some(NOT_FOUND) || error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

/// The observation of `resource` from its live props, owned as its bucket is.
pub(super) fn observed(resource: &Resource, props: Props, owner: Owner) -> Observed {
    Observed {
        id: resource.id.clone(),
        kind: Kind::S3BucketReplication,
        physical_id: resource.name.clone(),
        props,
        outputs: outputs(&resource.name),
        owner,
        retain: false,
        refused: None,
    }
}

/// Puts the whole configuration (create and update alike).
pub(super) async fn put(client: &Client, resource: &Resource) -> Result<Outputs, ProviderError> {
    let bucket = resource.name.as_str();
    let configuration = configuration_of(resource)?;
    let call = client.put_bucket_replication().bucket(bucket);
    let call = call.replication_configuration(configuration);
    sent("s3:PutBucketReplication", bucket, call.send()).await?;
    Ok(outputs(bucket))
}

/// Removes the bucket's configuration; none left counts as done.
pub(super) async fn delete(client: &Client, bucket: &str) -> Result<(), ProviderError> {
    let call = client.delete_bucket_replication().bucket(bucket);
    none_is_absent(sent("s3:DeleteBucketReplication", bucket, call.send()).await).map(drop)
}

fn outputs(bucket: &str) -> Outputs {
    let mut outputs = Outputs::new();
    outputs.insert("name".into(), bucket.to_string());
    outputs
}

/// A live configuration as props: the rule `rule_id` (or the first), with the count of rules.
pub(super) fn props_of(configuration: &ReplicationConfiguration, rule_id: Option<&str>) -> Props {
    let rules = configuration.rules();
    let rule = rules
        .iter()
        .find(|rule| rule.id().is_some() && rule.id() == rule_id)
        .or_else(|| rules.first());
    let mut props = Props::new();
    props.insert("role_arn".into(), Value::str(configuration.role()));
    props.insert("rule_count".into(), Value::from(rules.len() as i64));
    let Some(rule) = rule else {
        return props;
    };
    let text =
        |name: &str, value: Option<&str>| (name.to_string(), Value::str(value.unwrap_or_default()));
    let destination = rule.destination();
    let rtc = destination
        .and_then(Destination::replication_time)
        .filter(|time| time.status() == &ReplicationTimeStatus::Enabled)
        .and_then(|time| time.time())
        .and_then(ReplicationTimeValue::minutes);
    let metrics = destination
        .and_then(Destination::metrics)
        .filter(|metrics| metrics.status() == &MetricsStatus::Enabled)
        .map(|metrics| {
            metrics
                .event_threshold()
                .and_then(ReplicationTimeValue::minutes)
                .unwrap_or(0)
        });
    props.extend([
        text("rule_id", rule.id()),
        text("rule_status", Some(rule.status().as_str())),
        text(
            "delete_marker_replication",
            Some(
                rule.delete_marker_replication()
                    .and_then(DeleteMarkerReplication::status)
                    .map_or("Disabled", DeleteMarkerReplicationStatus::as_str),
            ),
        ),
        text(
            "sse_kms_encrypted_objects",
            Some(
                rule.source_selection_criteria()
                    .and_then(SourceSelectionCriteria::sse_kms_encrypted_objects)
                    .map_or("Disabled", |objects| objects.status().as_str()),
            ),
        ),
        text("destination_bucket", destination.map(Destination::bucket)),
        text(
            "replica_kms_key",
            destination
                .and_then(Destination::encryption_configuration)
                .and_then(EncryptionConfiguration::replica_kms_key_id),
        ),
        text("filter_prefix", Some(filter_prefix(rule.filter()))),
    ]);
    props.insert(
        "rule_priority".into(),
        Value::from(i64::from(rule.priority().unwrap_or(0))),
    );
    props.insert(
        "replication_time_minutes".into(),
        Value::from(i64::from(rtc.unwrap_or(0))),
    );
    props.insert(
        "metrics_minutes".into(),
        Value::from(i64::from(metrics.unwrap_or(0))),
    );
    props
}

/// A rule's filter as a prefix: a filter by tag (or none at all, a V1 rule with its deprecated
/// prefix) is never the whole bucket, so it reads as a marker that differs from any prefix.
fn filter_prefix(filter: Option<&ReplicationRuleFilter>) -> &str {
    match filter {
        Some(filter) if filter.tag().is_none() && filter.and().is_none() => {
            filter.prefix().unwrap_or_default()
        }
        Some(_) => "(a filter by tag)",
        None => "(no filter: a V1 rule)",
    }
}

/// The one-rule configuration `resource` declares: the whole bucket (an empty prefix filter,
/// so delete-marker replication may be set), SSE-KMS objects selected, replicas encrypted with
/// `replica_kms_key`, RTC and metrics on when their minutes are set.
pub(super) fn configuration_of(
    resource: &Resource,
) -> Result<ReplicationConfiguration, ProviderError> {
    let bucket = resource.name.as_str();
    let local = |error: aws_smithy_types::error::operation::BuildError| {
        ProviderError::local("s3:PutBucketReplication", bucket, error.to_string())
    };
    let text = |name: &str| resource.str_prop(name).unwrap_or_default();
    // A time in minutes, when it is set (0 is off).
    let minutes = |name: &str| {
        let minutes = resource
            .int_prop(name)
            .and_then(|minutes| i32::try_from(minutes).ok());
        let minutes = minutes.filter(|minutes| *minutes > 0)?;
        Some(ReplicationTimeValue::builder().minutes(minutes).build())
    };
    let mut destination = Destination::builder().bucket(text("destination_bucket"));
    if !text("replica_kms_key").is_empty() {
        destination = destination.encryption_configuration(
            EncryptionConfiguration::builder()
                .replica_kms_key_id(text("replica_kms_key"))
                .build(),
        );
    }
    if let Some(time) = minutes("replication_time_minutes") {
        let rtc = ReplicationTime::builder().status(ReplicationTimeStatus::Enabled);
        destination = destination.replication_time(rtc.time(time).build().map_err(local)?);
    }
    if let Some(threshold) = minutes("metrics_minutes") {
        let metrics = Metrics::builder().status(MetricsStatus::Enabled);
        destination =
            destination.metrics(metrics.event_threshold(threshold).build().map_err(local)?);
    }
    let rule = ReplicationRule::builder()
        .id(text("rule_id"))
        .priority(
            resource
                .int_prop("rule_priority")
                .and_then(|priority| i32::try_from(priority).ok())
                .unwrap_or(1),
        )
        .status(ReplicationRuleStatus::from(text("rule_status")))
        .filter(ReplicationRuleFilter::builder().prefix("").build())
        .delete_marker_replication(
            DeleteMarkerReplication::builder()
                .status(DeleteMarkerReplicationStatus::from(
                    resource
                        .str_prop("delete_marker_replication")
                        .unwrap_or("Disabled"),
                ))
                .build(),
        )
        .source_selection_criteria(
            SourceSelectionCriteria::builder()
                .sse_kms_encrypted_objects(
                    SseKmsEncryptedObjects::builder()
                        .status(SseKmsEncryptedObjectsStatus::from(
                            resource
                                .str_prop("sse_kms_encrypted_objects")
                                .unwrap_or("Disabled"),
                        ))
                        .build()
                        .map_err(local)?,
                )
                .build(),
        )
        .destination(destination.build().map_err(local)?)
        .build()
        .map_err(local)?;
    ReplicationConfiguration::builder()
        .role(text("role_arn"))
        .rules(rule)
        .build()
        .map_err(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> Resource {
        Resource::new(
            "data.replication.raw",
            Kind::S3BucketReplication,
            "nc-dp-prod-raw",
        )
        .prop(
            "role_arn",
            "arn:aws:iam::123456789012:role/nc/nc-prod-s3-replication",
        )
        .prop("rule_id", "replicate-to-dr-region")
        .prop("rule_status", "Enabled")
        .prop("rule_priority", 1)
        .prop("delete_marker_replication", "Enabled")
        .prop("sse_kms_encrypted_objects", "Enabled")
        .prop("destination_bucket", "arn:aws:s3:::nc-dp-prod-raw-cac1")
        .prop(
            "replica_kms_key",
            "arn:aws:kms:ca-central-1:123456789012:key/abc",
        )
        .prop("replication_time_minutes", 15_i64)
        .prop("metrics_minutes", 15_i64)
    }

    #[test]
    fn the_put_configuration_reads_back_as_the_desired_props() {
        let resource = desired();
        let configuration = configuration_of(&resource).expect("a valid configuration");
        let rule = &configuration.rules()[0];
        let destination = rule.destination().expect("a destination");
        assert_eq!(
            destination
                .replication_time()
                .map(|time| time.status().as_str()),
            Some("Enabled")
        );
        assert_eq!(
            destination
                .metrics()
                .and_then(|m| m.event_threshold())
                .and_then(|t| t.minutes()),
            Some(15)
        );
        assert_eq!(rule.filter().and_then(|f| f.prefix()), Some(""));
        let props = props_of(&configuration, Some("replicate-to-dr-region"));
        for (name, value) in &resource.props {
            assert_eq!(props.get(name), Some(value), "{name}");
        }
        assert_eq!(props["rule_count"], Value::from(1_i64));
        assert_eq!(props["filter_prefix"], Value::str(""));
    }

    #[test]
    fn rtc_and_metrics_turned_off_read_as_zero_minutes() {
        let resource = desired()
            .prop("replication_time_minutes", 0_i64)
            .prop("metrics_minutes", 0_i64);
        let configuration = configuration_of(&resource).expect("a valid configuration");
        assert!(
            configuration.rules()[0]
                .destination()
                .is_some_and(|d| d.replication_time().is_none() && d.metrics().is_none())
        );
        let props = props_of(&configuration, None);
        assert_eq!(props["replication_time_minutes"], Value::from(0_i64));
        assert_eq!(props["metrics_minutes"], Value::from(0_i64));
    }
}
