//! The apply lease and the audit trail, in one small DynamoDB table per account and region.
//!
//! One apply per environment and region at a time: a lease item written with a conditional put
//! (free, or expired), holding its owner and expiry, extended by a heartbeat while the apply
//! runs, and deleted (only by its owner) when it ends. A lease whose holder died expires on its
//! own. Every apply, reconcile and rebuild that changes something also leaves an audit item:
//! who (STS), when, the plan digest, the steps and the outcome.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus, Tag,
};
use tokio::task::JoinHandle;

use super::aws::{aws_error, found};
use super::{Aws, ProviderError};

/// The table holding leases and audit records.
pub const TABLE: &str = "nc-provision-locks";
/// How long a lease lasts without a heartbeat.
pub const LEASE: Duration = Duration::from_secs(90);
/// How often the holder extends its lease.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// How often a waiting apply retries a held lease.
const RETRY: Duration = Duration::from_secs(5);

/// Who holds a lease, as shown to someone who has to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The holder's identity (STS ARN, host, pid).
    pub owner: String,
    /// Seconds since the epoch when the lease expires unless extended.
    pub expires_at: u64,
}

/// Why a lease could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it, and the wait (if any) ran out.
    #[error("environment {key} is locked by {} until {} (another apply is running); retry later or pass --lock-timeout", .holder.owner, format_epoch(.holder.expires_at))]
    Held {
        /// `env/region`.
        key: String,
        /// The holder.
        holder: Holder,
    },
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] ProviderError),
}

/// A held lease; the heartbeat stops and the item is deleted on [`Lease::release`].
pub struct Lease {
    client: Client,
    key: String,
    owner: String,
    heartbeat: JoinHandle<()>,
}

/// The lock table of an account and region.
#[derive(Clone)]
pub struct LockTable {
    client: Client,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn format_epoch(seconds: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(seconds)).to_string()
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item.get(name)
        .and_then(|value| value.as_n().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

impl LockTable {
    /// The table in `aws`'s account and region (created on first use).
    #[must_use]
    pub fn new(aws: &Aws) -> LockTable {
        LockTable {
            client: aws.dynamodb(),
        }
    }

    /// Creates the table if it does not exist, and waits until it is usable.
    async fn ensure(&self) -> Result<(), ProviderError> {
        let describe = || async {
            found(
                self.client
                    .describe_table()
                    .table_name(TABLE)
                    .send()
                    .await
                    .map_err(|error| aws_error("dynamodb:DescribeTable", TABLE, error)),
            )
        };
        if describe().await?.is_none() {
            let local = |error: aws_smithy_types::error::operation::BuildError| {
                ProviderError::local("dynamodb:CreateTable", TABLE, error.to_string())
            };
            let created = self
                .client
                .create_table()
                .table_name(TABLE)
                .billing_mode(BillingMode::PayPerRequest)
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("pk")
                        .key_type(KeyType::Hash)
                        .build()
                        .map_err(local)?,
                )
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("pk")
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(local)?,
                )
                .tags(
                    Tag::builder()
                        .key(crate::model::TAG_MANAGED_BY)
                        .value(crate::model::MANAGER)
                        .build()
                        .map_err(local)?,
                )
                .send()
                .await;
            match created {
                Ok(_) => {}
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_in_use_exception()) => {}
                Err(error) => return Err(aws_error("dynamodb:CreateTable", TABLE, error)),
            }
        }
        for _ in 0..120 {
            let active = describe().await?.and_then(|output| {
                output
                    .table()
                    .and_then(|table| table.table_status().cloned())
            }) == Some(TableStatus::Active);
            if active {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(ProviderError::local(
            "dynamodb:DescribeTable",
            TABLE,
            "the lock table never became ACTIVE",
        ))
    }

    /// Takes the lease `key` for `owner`, waiting up to `timeout` while someone else holds it.
    ///
    /// # Errors
    /// Held by someone else past the timeout, or an AWS failure.
    pub async fn acquire(
        &self,
        key: &str,
        owner: &str,
        timeout: Duration,
    ) -> Result<Lease, LockError> {
        self.ensure().await?;
        let started = std::time::Instant::now();
        loop {
            let now = now();
            let put = self
                .client
                .put_item()
                .table_name(TABLE)
                .item("pk", AttributeValue::S(format!("lock#{key}")))
                .item("owner", AttributeValue::S(owner.to_string()))
                .item("acquired_at", AttributeValue::N(now.to_string()))
                .item(
                    "expires_at",
                    AttributeValue::N((now + LEASE.as_secs()).to_string()),
                )
                .condition_expression(
                    "attribute_not_exists(pk) OR expires_at < :now OR #owner = :owner",
                )
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .expression_attribute_values(":owner", AttributeValue::S(owner.to_string()))
                .send()
                .await;
            match put {
                Ok(_) => {
                    let heartbeat = tokio::spawn(heartbeat(
                        self.client.clone(),
                        key.to_string(),
                        owner.to_string(),
                    ));
                    return Ok(Lease {
                        client: self.client.clone(),
                        key: key.to_string(),
                        owner: owner.to_string(),
                        heartbeat,
                    });
                }
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    let holder = self.holder(key).await?;
                    if started.elapsed() + RETRY > timeout {
                        return Err(LockError::Held {
                            key: key.to_string(),
                            holder: holder.unwrap_or(Holder {
                                owner: "unknown".into(),
                                expires_at: now,
                            }),
                        });
                    }
                    tracing::warn!(
                        key,
                        "waiting for the lease held by {}",
                        holder.map(|h| h.owner).unwrap_or_default()
                    );
                    tokio::time::sleep(RETRY).await;
                }
                Err(error) => return Err(aws_error("dynamodb:PutItem", TABLE, error).into()),
            }
        }
    }

    /// The current holder of `key`, if any.
    ///
    /// # Errors
    /// An AWS failure.
    pub async fn holder(&self, key: &str) -> Result<Option<Holder>, ProviderError> {
        let item = self
            .client
            .get_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(format!("lock#{key}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| aws_error("dynamodb:GetItem", TABLE, error))?;
        Ok(item.item().map(|item| Holder {
            owner: text(item, "owner"),
            expires_at: number(item, "expires_at"),
        }))
    }

    /// Writes an audit record of one run.
    ///
    /// # Errors
    /// An AWS failure.
    pub async fn audit(&self, key: &str, record: &serde_json::Value) -> Result<(), ProviderError> {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        self.client
            .put_item()
            .table_name(TABLE)
            .item(
                "pk",
                AttributeValue::S(format!("audit#{key}#{at}#{}", std::process::id())),
            )
            .item("at", AttributeValue::S(format_epoch(now())))
            .item("record", AttributeValue::S(record.to_string()))
            .send()
            .await
            .map_err(|error| aws_error("dynamodb:PutItem", TABLE, error))?;
        Ok(())
    }
}

async fn heartbeat(client: Client, key: String, owner: String) {
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        let extended = client
            .update_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(format!("lock#{key}")))
            .update_expression("SET expires_at = :expires")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(
                ":expires",
                AttributeValue::N((now() + LEASE.as_secs()).to_string()),
            )
            .expression_attribute_values(":owner", AttributeValue::S(owner.clone()))
            .send()
            .await;
        if let Err(error) = extended {
            tracing::warn!(
                key,
                "could not extend the lease: {}",
                aws_error("dynamodb:UpdateItem", TABLE, error)
            );
        }
    }
}

impl Lease {
    /// Stops the heartbeat and deletes the lease (only if still ours).
    pub async fn release(self) {
        self.heartbeat.abort();
        let deleted = self
            .client
            .delete_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(format!("lock#{}", self.key)))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", AttributeValue::S(self.owner.clone()))
            .send()
            .await;
        if let Err(error) = deleted {
            tracing::warn!(key = %self.key, "could not release the lease: {}", aws_error("dynamodb:DeleteItem", TABLE, error));
        }
    }
}

/// A lease identity: the caller's ARN, the host and the process.
#[must_use]
pub fn owner_id(caller_arn: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "unknown-host".into());
    format!("{caller_arn} on {host} pid {}", std::process::id())
}
