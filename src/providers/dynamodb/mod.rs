//! DynamoDB tables: on-demand billing, SSE with a customer key, point-in-time recovery,
//! deletion protection and tags; for a global table, its replicas ([`replica`]).
//!
//! Observe: per table DescribeTable, then DescribeContinuousBackups and ListTagsOfResource
//! concurrently, at most [`READS_IN_FLIGHT`](super::aws::READS_IN_FLIGHT) requests of each kind
//! in flight; a table that declares replicas also has each replica's settings read in its
//! region. Tables are data-bearing: never deleted or replaced.

mod replica;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_continuous_backups::DescribeContinuousBackupsOutput;
use aws_sdk_dynamodb::operation::update_continuous_backups::UpdateContinuousBackupsError;
use aws_sdk_dynamodb::operation::update_table::builders::UpdateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, ScalarAttributeType, SseSpecification, SseType, TableDescription,
    TableStatus,
};

use super::aws::{
    Live, Sorter, found, keys_as_they_are, name_and_arn, output, read_all, sdk_tags_of, sent,
    sent_or_none, tag_api, tags_from,
};
use super::{Aws, Provider, ProviderError, StepCtx, wait};
use crate::model::Kind;
use crate::model::{Observation, Observed, Outputs, Props, Resource, Value};
use crate::providers::Change;

const KINDS: &[Kind] = &[Kind::DynamoDbTable];
/// How often a table's status is polled while it is created or updated.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The DynamoDB provider.
pub struct DynamoDbProvider {
    client: Client,
    /// The configuration, for clients of a replica's region.
    aws: Aws,
}

impl DynamoDbProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> DynamoDbProvider {
        DynamoDbProvider {
            client: aws.dynamodb(),
            aws: aws.clone(),
        }
    }

    async fn describe(&self, table: &str) -> Result<Option<TableDescription>, ProviderError> {
        describe_in(&self.client, table).await
    }

    /// Everything about one desired table; `None` when there is no such table.
    async fn read_table(&self, resource: &Resource) -> Result<Option<Live>, ProviderError> {
        let table = resource.name.as_str();
        let Some(description) = self.describe(table).await? else {
            return Ok(None);
        };
        let arn = description.table_arn().unwrap_or_default();
        let (backups, tags) = tokio::join!(
            backups_in(&self.client, table),
            tags_in(&self.client, arn, arn)
        );
        let mut props = Props::new();
        props.insert(
            "billing_mode".into(),
            Value::str(
                description
                    .billing_mode_summary()
                    .and_then(|summary| summary.billing_mode())
                    .map_or("PROVISIONED", BillingMode::as_str),
            ),
        );
        props.insert(
            "partition_key".into(),
            Value::Str(key_attribute(&description, &KeyType::Hash)),
        );
        props.insert(
            "sort_key".into(),
            Value::Str(key_attribute(&description, &KeyType::Range)),
        );
        let sse = description.sse_description();
        props.insert(
            "sse_type".into(),
            Value::str(
                sse.and_then(|sse| sse.sse_type())
                    .map_or("DEFAULT", SseType::as_str),
            ),
        );
        props.insert(
            "sse_kms_key".into(),
            Value::str(
                sse.and_then(|sse| sse.kms_master_key_arn())
                    .unwrap_or_default(),
            ),
        );
        if sse.is_none() && !description.replicas().is_empty() && self.aws.emulator {
            props.extend(self.emulated_replica_encryption(resource).await?);
        }
        let replicas = replica::declared(resource);
        if let Some(region) = replicas.first() {
            let described = replica::described(&description, Some(region));
            let present = matches!(described.get("replicas"),
                Some(Value::List(items)) if items.contains(&Value::str(region.as_str())));
            props.extend(described);
            if present {
                props.extend(self.read_replica(resource, region).await?);
            }
        }
        props.extend(RECOVERY.observed(resource, &backups?));
        props.insert(
            "deletion_protection".into(),
            Value::Bool(description.deletion_protection_enabled().unwrap_or(false)),
        );
        Ok(Some(
            Live::new(resource.kind, table, table)
                .tags(tags?)
                .props(props)
                .outputs(name_and_arn(table, arn)),
        ))
    }

    /// Waits until the table is ACTIVE; returns its description.
    async fn wait_active(
        &self,
        table: &str,
        ctx: &StepCtx,
    ) -> Result<TableDescription, ProviderError> {
        wait::until(
            ctx,
            "dynamodb:DescribeTable",
            &format!("table {table} to become ACTIVE"),
            POLL_INTERVAL,
            || async {
                let description = self.describe(table).await?;
                Ok(description.filter(|d| d.table_status() == Some(&TableStatus::Active)))
            },
        )
        .await
    }

    /// One UpdateTable of `table` (`build` adds the one change it makes), then the wait until
    /// the table is ACTIVE again.
    async fn update_table(
        &self,
        table: &str,
        ctx: &StepCtx,
        build: impl FnOnce(UpdateTableFluentBuilder) -> UpdateTableFluentBuilder,
    ) -> Result<(), ProviderError> {
        let call = build(self.client.update_table().table_name(table));
        sent("dynamodb:UpdateTable", table, call.send()).await?;
        self.wait_active(table, ctx).await?;
        Ok(())
    }

    /// The table's point-in-time recovery as `resource` declares it, set in its region.
    async fn put_recovery(&self, resource: &Resource, ctx: &StepCtx) -> Result<(), ProviderError> {
        self.put_recovery_with(&self.client, resource, RECOVERY, ctx)
            .await
    }

    /// UpdateContinuousBackups with `client` (the table's region or a replica's), the
    /// settings read from `resource`'s `attributes`. Right after creation AWS may answer
    /// ContinuousBackupsUnavailableException for a while.
    async fn put_recovery_with(
        &self,
        client: &Client,
        resource: &Resource,
        attributes: Recovery,
        ctx: &StepCtx,
    ) -> Result<(), ProviderError> {
        let table = resource.name.as_str();
        let enabled = resource.bool_prop(attributes.enabled).unwrap_or(false);
        let specification = PointInTimeRecoverySpecification::builder()
            .point_in_time_recovery_enabled(enabled)
            .set_recovery_period_in_days(
                resource
                    .int_prop(attributes.days)
                    .and_then(|days| i32::try_from(days).ok())
                    .filter(|_| enabled),
            )
            .build()
            .map_err(|error| {
                ProviderError::local("dynamodb:UpdateContinuousBackups", table, error.to_string())
            })?;
        wait::until(
            ctx,
            "dynamodb:UpdateContinuousBackups",
            "continuous backups to become available",
            POLL_INTERVAL,
            || async {
                let call = client
                    .update_continuous_backups()
                    .table_name(table)
                    .point_in_time_recovery_specification(specification.clone());
                let unavailable = |e: &UpdateContinuousBackupsError| {
                    e.is_continuous_backups_unavailable_exception()
                };
                let action = "dynamodb:UpdateContinuousBackups";
                let put = sent_or_none(action, table, call.send(), unavailable).await?;
                Ok(put.map(drop))
            },
        )
        .await
    }
}

/// DescribeTable with `client` (the table's region or a replica's); `None` when there is no
/// such table.
async fn describe_in(
    client: &Client,
    table: &str,
) -> Result<Option<TableDescription>, ProviderError> {
    let call = client.describe_table().table_name(table);
    let output = found(sent("dynamodb:DescribeTable", table, call.send()).await)?;
    Ok(output.and_then(|output| output.table().cloned()))
}

/// DescribeContinuousBackups with `client` (the table's region or a replica's).
async fn backups_in(
    client: &Client,
    table: &str,
) -> Result<DescribeContinuousBackupsOutput, ProviderError> {
    let call = client.describe_continuous_backups().table_name(table);
    sent("dynamodb:DescribeContinuousBackups", table, call.send()).await
}

/// A table's tags with `client` (the table's region or a replica's); a failure names `named`.
/// ListTagsOfResource has no SDK paginator: the pages are followed by hand, stopping at an
/// absent or empty token.
async fn tags_in(
    client: &Client,
    arn: &str,
    named: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let mut tags = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let call = client.list_tags_of_resource().resource_arn(arn);
        let call = call.set_next_token(token.take());
        let page = sent("dynamodb:ListTagsOfResource", named, call.send()).await?;
        tags.extend(tags_from(page.tags(), |tag| (tag.key(), tag.value())));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(tags),
        }
    }
}

/// The action that tags a table.
const TAGGING: &str = "dynamodb:TagResource";

tag_api! {
    /// Tags a table with TagResource / UntagResource (by ARN; errors name the table).
    TableTags(Client) by resource_arn;
    "dynamodb:TagResource": tag_resource.set_tags(|tags, table| sdk_tags_of(tags, TAGGING, table));
    "dynamodb:UntagResource": untag_resource.set_tag_keys(keys_as_they_are);
}

/// The attributes a table's (or its replica's) point-in-time recovery is declared and
/// observed under.
#[derive(Clone, Copy)]
struct Recovery {
    /// Whether PITR is on.
    enabled: &'static str,
    /// The recovery period in days.
    days: &'static str,
}

/// The table's own point-in-time recovery.
const RECOVERY: Recovery = Recovery {
    enabled: "point_in_time_recovery",
    days: "pitr_recovery_period_days",
};

impl Recovery {
    /// The observed attributes, from DescribeContinuousBackups's answer.
    fn observed(self, resource: &Resource, backups: &DescribeContinuousBackupsOutput) -> Props {
        let recovery = backups
            .continuous_backups_description()
            .and_then(|backups| backups.point_in_time_recovery_description());
        let enabled = recovery.and_then(|r| r.point_in_time_recovery_status())
            == Some(&PointInTimeRecoveryStatus::Enabled);
        let mut props = Props::new();
        props.insert(self.enabled.into(), Value::Bool(enabled));
        match recovery.and_then(|r| r.recovery_period_in_days()) {
            Some(days) => {
                props.insert(self.days.into(), Value::from(days));
            }
            // AWS always reports the period when PITR is on; LocalStack never does. Absent,
            // it cannot differ from what was set, so it is taken as desired.
            None if enabled => {
                if let Some(days) = resource.props.get(self.days) {
                    props.insert(self.days.into(), days.clone());
                }
            }
            None => {}
        }
        props
    }
}

/// `name:type` of the key attribute with `key_type`, or empty when the table has none.
fn key_attribute(description: &TableDescription, key_type: &KeyType) -> String {
    description
        .key_schema()
        .iter()
        .find(|element| element.key_type() == key_type)
        .map(|element| {
            let name = element.attribute_name();
            let kind = description
                .attribute_definitions()
                .iter()
                .find(|definition| definition.attribute_name() == name)
                .map_or("S", |definition| definition.attribute_type().as_str());
            format!("{name}:{kind}")
        })
        .unwrap_or_default()
}

fn sse(resource: &Resource) -> SseSpecification {
    SseSpecification::builder()
        .enabled(true)
        .sse_type(SseType::Kms)
        .set_kms_master_key_id(resource.str_prop("sse_kms_key").map(str::to_string))
        .build()
}

/// Key schema and attribute definitions from `name:type` attributes.
fn key_schema(
    resource: &Resource,
) -> Result<(Vec<KeySchemaElement>, Vec<AttributeDefinition>), ProviderError> {
    let mut schema = Vec::new();
    let mut definitions = Vec::new();
    for (attribute, key_type) in [
        ("partition_key", KeyType::Hash),
        ("sort_key", KeyType::Range),
    ] {
        let Some((name, kind)) = resource
            .str_prop(attribute)
            .and_then(|text| text.split_once(':'))
        else {
            continue;
        };
        let local = |error: aws_smithy_types::error::operation::BuildError| {
            ProviderError::local("dynamodb:CreateTable", &resource.name, error.to_string())
        };
        schema.push(
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .map_err(local)?,
        );
        definitions.push(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::from(kind))
                .build()
                .map_err(local)?,
        );
    }
    Ok((schema, definitions))
}

#[async_trait]
impl Provider for DynamoDbProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let reads: Vec<_> = desired.iter().map(|r| self.read_table(r)).collect();
        let mut sorter = Sorter::new(desired, env);
        for live in read_all(reads).await?.into_iter().flatten() {
            sorter.add(live);
        }
        Ok(sorter.finish())
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let table = resource.name.as_str();
        let (schema, definitions) = key_schema(resource)?;
        let call = self
            .client
            .create_table()
            .table_name(table)
            .set_key_schema(Some(schema))
            .set_attribute_definitions(Some(definitions))
            .billing_mode(BillingMode::PayPerRequest)
            .sse_specification(sse(resource))
            .deletion_protection_enabled(resource.bool_prop("deletion_protection").unwrap_or(false))
            .set_tags(Some(sdk_tags_of(
                super::tag_pairs(resource),
                TAGGING,
                table,
            )?));
        let in_use = |e: &CreateTableError| e.is_resource_in_use_exception();
        let created = sent_or_none("dynamodb:CreateTable", table, call.send(), in_use).await?;
        if created.is_none() {
            ctx.note("table already exists; waiting for it");
        }
        let description = self.wait_active(table, ctx).await?;
        if resource.bool_prop("point_in_time_recovery") == Some(true) {
            self.put_recovery(resource, ctx).await?;
        }
        if !replica::declared(resource).is_empty() {
            self.sync_replicas(resource, None, None, ctx).await?;
        }
        Ok(name_and_arn(
            table,
            description.table_arn().unwrap_or_default(),
        ))
    }

    async fn update(&self, change: &Change<'_>, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let table = change.resource.name.as_str();
        // One kind of change per UpdateTable call, as DynamoDB requires.
        if change.touches("billing_mode") {
            self.update_table(table, ctx, |call| {
                call.billing_mode(BillingMode::PayPerRequest)
            })
            .await?;
        }
        if change.touches("sse_type") || change.touches("sse_kms_key") {
            let specification = sse(change.resource);
            self.update_table(table, ctx, |call| call.sse_specification(specification))
                .await?;
        }
        if change.touches("deletion_protection") {
            let protect = change
                .resource
                .bool_prop("deletion_protection")
                .unwrap_or(false);
            self.update_table(table, ctx, |call| call.deletion_protection_enabled(protect))
                .await?;
        }
        if change.touches("point_in_time_recovery") || change.touches("pitr_recovery_period_days") {
            self.put_recovery(change.resource, ctx).await?;
        }
        if change.delta.touches_any(&replica::ATTRIBUTES) {
            self.sync_replicas(
                change.resource,
                Some(change.observed),
                Some(change.delta),
                ctx,
            )
            .await?;
        }
        let api = TableTags::new(&self.client, output(change.observed, "arn"), table);
        change.sync_tags(&api).await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        Err(ProviderError::local(
            "dynamodb:DeleteTable",
            &observed.physical_id,
            "tables are data-bearing and never deleted by nc-provision",
        ))
    }
}
