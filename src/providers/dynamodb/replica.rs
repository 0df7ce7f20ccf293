//! The documents table as a global table (version 2019.11.21): its replicas in other regions.
//!
//! Props (only on a table that declares `replicas`): `replicas` (region names),
//! `replica_kms_key` (the replica's key ARN), and the replica's own settings, read and set in
//! the replica's region: `replica_point_in_time_recovery`, `replica_pitr_recovery_period_days`,
//! `replica_deletion_protection`, `replica_tags`. A table with one replica region is assumed
//! (the environment's DR region); its settings are those of the first declared region.
//!
//! Adding a replica is UpdateTable `ReplicaUpdates: Create` on the live table — it is never
//! replaced or emptied: DynamoDB copies the existing items into the new replica
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_versions.html>:
//! version 2019.11.21 adds replicas to a table that already holds data, with UpdateTable). The
//! table's stream (NEW_AND_OLD_IMAGES, which replication reads) is turned on first when it is
//! off. Progress is reported while the replica is CREATING. A replica the spec does not declare
//! is never deleted (that deletes the table's data in that region): the update refuses.
//! Point-in-time recovery, deletion protection and tags are per replica, so they are set with a
//! client of the replica's region.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    CreateReplicationGroupMemberAction, ReplicaDescription, ReplicaStatus, ReplicationGroupUpdate,
    StreamSpecification, StreamViewType, TableDescription, UpdateReplicationGroupMemberAction,
};

use super::{
    DynamoDbProvider, POLL_INTERVAL, Recovery, TableTags, backups_in, describe_in, tags_in,
};
use crate::model::{Delta, Observed, Props, Resource, TAG_ENV, TAG_ID, Value};
use crate::providers::aws::{TagApi, list_of, list_prop, sent};
use crate::providers::{ProviderError, StepCtx, tags_value, wait};

/// The replica's own point-in-time recovery.
const REPLICA_RECOVERY: Recovery = Recovery {
    enabled: "replica_point_in_time_recovery",
    days: "replica_pitr_recovery_period_days",
};

/// The replica attributes an update may touch.
pub(super) const ATTRIBUTES: [&str; 6] = [
    "replicas",
    "replica_kms_key",
    "replica_point_in_time_recovery",
    "replica_pitr_recovery_period_days",
    "replica_deletion_protection",
    "replica_tags",
];

/// The regions of `resource`'s declared replicas.
pub(super) fn declared(resource: &Resource) -> Vec<String> {
    list_prop(resource, "replicas")
}

/// The replica props the table's own description shows: the regions and the first declared
/// region's replica key.
pub(super) fn described(description: &TableDescription, region: Option<&str>) -> Props {
    let replicas = description.replicas();
    let mut regions: Vec<String> = replicas
        .iter()
        .filter_map(|replica| replica.region_name().map(str::to_string))
        .collect();
    regions.sort();
    let mut props = Props::new();
    props.insert(
        "replicas".into(),
        Value::List(regions.into_iter().map(Value::Str).collect()),
    );
    let key = replicas
        .iter()
        .find(|replica| replica.region_name() == region)
        .and_then(ReplicaDescription::kms_master_key_id);
    props.insert(
        "replica_kms_key".into(),
        Value::str(key.unwrap_or_default()),
    );
    props
}

impl DynamoDbProvider {
    /// A client of `region` (the replica's).
    fn client_in(&self, region: &str) -> Client {
        self.aws.in_region(region).dynamodb()
    }

    /// A replica's encryption on the emulator. AWS describes a replica's encryption in its own
    /// region (SSEDescription); LocalStack describes none for a replica made by UpdateTable and
    /// keeps the key only in the primary region's Replicas list, which a DR rebuild must not
    /// call. On the emulator only, the replica is taken to use what its primary apply set
    /// through ReplicaUpdates: the desired key, found in this region by its `nc:id` and
    /// `nc:env` tags (ListKeys, ListResourceTags). Nothing when it is not found.
    pub(super) async fn emulated_replica_encryption(
        &self,
        resource: &Resource,
    ) -> Result<Props, ProviderError> {
        let mut props = Props::new();
        let Some(Value::Ref(reference)) = resource.props.get("sse_kms_key") else {
            return Ok(props);
        };
        let env = resource.tags().get(TAG_ENV).cloned().unwrap_or_default();
        let kms = self.aws.kms();
        let call = kms.list_keys().into_paginator().items();
        let keys: Vec<_> = sent("kms:ListKeys", &resource.name, call.send().try_collect()).await?;
        for key in keys {
            let Some(arn) = key.key_arn() else {
                continue;
            };
            let call = kms.list_resource_tags().key_id(arn);
            let tags = sent("kms:ListResourceTags", arn, call.send()).await?;
            let tagged = |name: &str, value: &str| {
                tags.tags()
                    .iter()
                    .any(|tag| tag.tag_key() == name && tag.tag_value() == value)
            };
            if tagged(TAG_ID, reference.id.as_str()) && tagged(TAG_ENV, &env) {
                props.insert("sse_type".into(), Value::str("KMS"));
                props.insert("sse_kms_key".into(), Value::str(arn));
                break;
            }
        }
        Ok(props)
    }

    /// The replica's own settings, read in its region: nothing when it does not exist there.
    pub(super) async fn read_replica(
        &self,
        resource: &Resource,
        region: &str,
    ) -> Result<Props, ProviderError> {
        let table = resource.name.as_str();
        let client = self.client_in(region);
        let mut props = Props::new();
        let Some(description) = describe_in(&client, table).await? else {
            return Ok(props);
        };
        let arn = description.table_arn().unwrap_or_default();
        let (backups, tags) =
            tokio::join!(backups_in(&client, table), tags_in(&client, arn, table));
        props.extend(REPLICA_RECOVERY.observed(resource, &backups?));
        props.insert(
            "replica_deletion_protection".into(),
            Value::Bool(description.deletion_protection_enabled().unwrap_or(false)),
        );
        props.insert("replica_tags".into(), tags_value(tags?));
        Ok(props)
    }

    /// Brings the replicas to what `resource` declares: adds a missing replica (stream first),
    /// changes a replica's key, then sets its settings in its region.
    pub(super) async fn sync_replicas(
        &self,
        resource: &Resource,
        observed: Option<&Observed>,
        delta: Option<&Delta>,
        ctx: &StepCtx,
    ) -> Result<(), ProviderError> {
        let table = resource.name.as_str();
        let live = list_of(observed.and_then(|o| o.props.get("replicas")));
        let wanted = declared(resource);
        if let Some(extra) = live.iter().find(|region| !wanted.contains(region)) {
            return Err(ProviderError::local(
                "dynamodb:UpdateTable",
                table,
                format!(
                    "the replica in {extra} is not in the spec; removing it would delete the \
                     table's data there, which nc-provision never does"
                ),
            ));
        }
        let key = resource.str_prop("replica_kms_key").map(str::to_string);
        let local = |error: aws_smithy_types::error::operation::BuildError| {
            ProviderError::local("dynamodb:UpdateTable", table, error.to_string())
        };
        for region in &wanted {
            let added = !live.contains(region);
            let group_update = if added {
                self.ensure_stream(table, ctx).await?;
                let create = CreateReplicationGroupMemberAction::builder()
                    .region_name(region)
                    .set_kms_master_key_id(key.clone())
                    .build()
                    .map_err(local)?;
                ctx.note(&format!("adding the replica in {region}"));
                Some(ReplicationGroupUpdate::builder().create(create).build())
            } else if delta.is_some_and(|delta| delta.touches("replica_kms_key")) {
                let update = UpdateReplicationGroupMemberAction::builder()
                    .region_name(region)
                    .set_kms_master_key_id(key.clone())
                    .build()
                    .map_err(local)?;
                Some(ReplicationGroupUpdate::builder().update(update).build())
            } else {
                None
            };
            if let Some(group_update) = group_update {
                self.replica_update(table, region, group_update, ctx)
                    .await?;
            }
            self.set_replica_settings(resource, region, delta, added, ctx)
                .await?;
        }
        Ok(())
    }

    /// Turns the table's stream on (NEW_AND_OLD_IMAGES) when it is off: global-table
    /// replication reads it.
    async fn ensure_stream(&self, table: &str, ctx: &StepCtx) -> Result<(), ProviderError> {
        let description = self.describe(table).await?;
        let enabled = description
            .as_ref()
            .and_then(TableDescription::stream_specification)
            .is_some_and(|stream| stream.stream_enabled());
        if enabled {
            return Ok(());
        }
        let stream = StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::NewAndOldImages)
            .build()
            .map_err(|e| ProviderError::local("dynamodb:UpdateTable", table, e.to_string()))?;
        self.update_table(table, ctx, |call| call.stream_specification(stream))
            .await
    }

    /// Sends one replica update and waits, with progress, until the table and the replica in
    /// `region` are ACTIVE.
    ///
    /// A `Create` whose answer was lost has taken effect: the SDK's re-send (or a re-run) then
    /// meets a table that is UPDATING (`ResourceInUseException`) or a replica that exists
    /// (`ValidationException`). Whatever the error, when the table already lists a replica in
    /// `region`, the create is done and the step goes on to wait for it; it never adds a
    /// second one.
    async fn replica_update(
        &self,
        table: &str,
        region: &str,
        update: ReplicationGroupUpdate,
        ctx: &StepCtx,
    ) -> Result<(), ProviderError> {
        let creating = update.create().is_some();
        let call = self.client.update_table().table_name(table);
        let call = call.replica_updates(update);
        if let Err(error) = sent("dynamodb:UpdateTable", table, call.send()).await {
            if !(creating && self.lists_replica(table, region).await?) {
                return Err(error);
            }
            ctx.note(&format!(
                "the replica of {table} in {region} exists (an earlier create took effect)"
            ));
        }
        wait::until(
            ctx,
            "dynamodb:DescribeTable",
            &format!("the replica of {table} in {region} to become ACTIVE"),
            POLL_INTERVAL,
            || async {
                let description = self.describe(table).await?;
                let status = description.as_ref().and_then(|d| {
                    d.replicas()
                        .iter()
                        .find(|replica| replica.region_name() == Some(region))
                        .and_then(ReplicaDescription::replica_status)
                        .cloned()
                });
                if let Some(status) = &status
                    && status != &ReplicaStatus::Active
                {
                    ctx.note(&format!("replica in {region}: {}", status.as_str()));
                }
                Ok(description.filter(|_| status == Some(ReplicaStatus::Active)))
            },
        )
        .await?;
        self.wait_active(table, ctx).await?;
        Ok(())
    }

    /// Whether DescribeTable lists a replica of `table` in `region` (in any status).
    async fn lists_replica(&self, table: &str, region: &str) -> Result<bool, ProviderError> {
        Ok(self.describe(table).await?.is_some_and(|description| {
            description
                .replicas()
                .iter()
                .any(|replica| replica.region_name() == Some(region))
        }))
    }

    /// The replica's PITR, deletion protection and tags, set in its region (all of them for a
    /// replica just added).
    async fn set_replica_settings(
        &self,
        resource: &Resource,
        region: &str,
        delta: Option<&Delta>,
        added: bool,
        ctx: &StepCtx,
    ) -> Result<(), ProviderError> {
        let table = resource.name.as_str();
        let client = self.client_in(region);
        let touched = |name: &str| added || delta.is_none_or(|delta| delta.touches(name));
        if touched("replica_deletion_protection") {
            let protect = resource
                .bool_prop("replica_deletion_protection")
                .unwrap_or(false);
            let call = client.update_table().table_name(table);
            let call = call.deletion_protection_enabled(protect);
            sent("dynamodb:UpdateTable", table, call.send()).await?;
        }
        if touched("replica_point_in_time_recovery") || touched("replica_pitr_recovery_period_days")
        {
            self.put_recovery_with(&client, resource, REPLICA_RECOVERY, ctx)
                .await?;
        }
        if touched("replica_tags") {
            let call = client.describe_table().table_name(table);
            let described = sent("dynamodb:DescribeTable", table, call.send()).await?;
            let arn = described.table().and_then(TableDescription::table_arn);
            let arn = arn.unwrap_or_default();
            let pairs: Vec<(String, String)> = resource
                .props
                .get("replica_tags")
                .and_then(Value::as_map)
                .map(|tags| tags.clone().into_iter().collect())
                .unwrap_or_default();
            TableTags::new(&client, arn, table).tag(pairs).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::{ReplicaDescription, TableDescription, TableStatus};

    #[test]
    fn the_description_shows_the_replica_regions_and_the_declared_regions_key() {
        let description = TableDescription::builder()
            .replicas(
                ReplicaDescription::builder()
                    .region_name("eu-west-1")
                    .build(),
            )
            .replicas(
                ReplicaDescription::builder()
                    .region_name("ca-central-1")
                    .kms_master_key_id("arn:aws:kms:ca-central-1:1:key/k")
                    .replica_status(ReplicaStatus::Active)
                    .build(),
            )
            .build();
        let props = described(&description, Some("ca-central-1"));
        assert_eq!(
            props["replicas"],
            Value::List(vec![Value::str("ca-central-1"), Value::str("eu-west-1")])
        );
        assert_eq!(
            props["replica_kms_key"],
            Value::str("arn:aws:kms:ca-central-1:1:key/k")
        );
        let none = described(&TableDescription::builder().build(), Some("ca-central-1"));
        assert_eq!(none["replicas"], Value::List(Vec::new()));
        assert_eq!(none["replica_kms_key"], Value::str(""));
    }

    /// A provider over a mocked client (no emulator loses an answer on purpose).
    fn mocked(client: Client) -> DynamoDbProvider {
        DynamoDbProvider {
            client,
            aws: crate::providers::Aws {
                config: aws_config::SdkConfig::builder().build(),
                counter: crate::providers::aws::CallCounter::default(),
                endpoint_overridden: false,
                emulator: false,
            },
        }
    }

    fn ctx() -> StepCtx {
        StepCtx {
            id: crate::model::LogicalId::new("data.documents"),
            env: "prod".into(),
            progress: std::sync::Arc::new(|_: &str| {}),
            wait_timeout: std::time::Duration::from_secs(5),
        }
    }

    fn in_use() -> aws_smithy_runtime_api::http::Response {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).expect("status"),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceInUseException","message":"Attempt to change a resource which is still in use: Table is being updated"}"#,
            ),
        )
    }

    /// DescribeTable answering `table()` every time.
    fn describe_as(table: fn() -> TableDescription) -> aws_smithy_mocks::Rule {
        aws_smithy_mocks::mock!(Client::describe_table)
            .sequence()
            .output(move || {
                aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput::builder()
                    .table(table())
                    .build()
            })
            .repeatedly()
            .build()
    }

    /// One replica create for ca-central-1 through a provider whose client answers
    /// UpdateTable "in use" and DescribeTable with `table()`: its outcome, and the number of
    /// UpdateTable and DescribeTable calls made.
    async fn create_replica_after_in_use(
        table: fn() -> TableDescription,
    ) -> (Result<(), ProviderError>, usize, usize) {
        let update = aws_smithy_mocks::mock!(Client::update_table).then_http_response(in_use);
        let describe = describe_as(table);
        let provider = mocked(aws_smithy_mocks::mock_client!(
            aws_sdk_dynamodb,
            aws_smithy_mocks::RuleMode::MatchAny,
            [&update, &describe]
        ));
        let outcome = provider
            .replica_update(
                "nc-prod-documents",
                "ca-central-1",
                create_in("ca-central-1"),
                &ctx(),
            )
            .await;
        (outcome, update.num_calls(), describe.num_calls())
    }

    fn create_in(region: &str) -> ReplicationGroupUpdate {
        ReplicationGroupUpdate::builder()
            .create(
                CreateReplicationGroupMemberAction::builder()
                    .region_name(region)
                    .build()
                    .expect("create action"),
            )
            .build()
    }

    /// The create's answer was lost and the re-send meets the table UPDATING: the replica the
    /// first send made is listed, so the step waits for it instead of failing or adding one.
    #[tokio::test(start_paused = true)]
    async fn a_replica_create_whose_answer_was_lost_is_done_when_the_replica_is_listed() {
        let (outcome, updates, describes) = create_replica_after_in_use(|| {
            TableDescription::builder()
                .table_status(TableStatus::Active)
                .replicas(
                    ReplicaDescription::builder()
                        .region_name("ca-central-1")
                        .replica_status(ReplicaStatus::Active)
                        .build(),
                )
                .build()
        })
        .await;
        outcome.expect("the listed replica is the one asked for");
        assert_eq!(updates, 1, "never sent again");
        assert!(describes >= 2);
    }

    /// The same error with no replica listed is a real failure, named with its action.
    #[tokio::test(start_paused = true)]
    async fn a_failed_replica_create_with_no_replica_listed_is_an_error() {
        let updating = || {
            let table = TableDescription::builder();
            table.table_status(TableStatus::Updating).build()
        };
        let (outcome, _, _) = create_replica_after_in_use(updating).await;
        let error = outcome.expect_err("nothing was created");
        assert_eq!(error.action, "dynamodb:UpdateTable");
        assert_eq!(error.code.as_deref(), Some("ResourceInUseException"));
    }

    #[test]
    fn the_declared_regions_are_read_from_the_replicas_list() {
        let resource = Resource::new("t", crate::model::Kind::DynamoDbTable, "t")
            .prop("replicas", Value::List(vec![Value::str("ca-central-1")]));
        assert_eq!(declared(&resource), ["ca-central-1"]);
        let plain = Resource::new("t", crate::model::Kind::DynamoDbTable, "t");
        assert!(declared(&plain).is_empty());
    }
}
