//! The apply lease and the audit trail, in one small DynamoDB table per account and region.
//!
//! One apply per environment and region at a time: a lease item written with a conditional put
//! (free, or expired), holding its owner and expiry, extended by a heartbeat while the apply
//! runs, and deleted (only by its owner) when it ends. A lease whose holder died expires on its
//! own; one whose holder ran on this host and whose process is gone is taken over at once.
//!
//! The lease fences: when a heartbeat fails, or the lease comes within one heartbeat of its
//! expiry without being extended, the lease's [`Fence`] trips and the executor starts no new
//! step, so a second apply that takes over an expired lease never runs alongside this one.
//!
//! Every apply, reconcile and rebuild that changes something also leaves an audit item: who
//! (STS), when, the plan digest, the steps and the outcome, written with retries.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus, Tag,
};
use tokio::task::JoinHandle;

use super::aws::{NO_RETRY_DELAY_ENV, found, sent, sent_or_none};
use super::{Aws, ProviderError};
use crate::fence::Fence;

mod annotate;
mod owner;
mod validated;
pub use owner::{holder_process_is_gone, owner_id};
pub use validated::ConvergedReader;

/// The table holding leases and audit records.
pub const TABLE: &str = "nc-provision-locks";
/// How long a lease lasts without a heartbeat.
pub const LEASE: Duration = Duration::from_secs(90);
/// Overrides [`LEASE`] in seconds (tests use a short lease; the heartbeat is a third of it).
pub const LEASE_ENV: &str = "NC_PROVISION_LEASE_SECONDS";
/// How often a waiting apply retries a held lease.
const RETRY: Duration = Duration::from_secs(5);
/// Attempts to write an audit record before the run reports it could not.
const AUDIT_ATTEMPTS: u32 = 5;

/// The lease length in effect: [`LEASE`], or [`LEASE_ENV`] (at least 3 s).
#[must_use]
pub fn lease_length() -> Duration {
    std::env::var(LEASE_ENV)
        .ok()
        .and_then(|seconds| seconds.trim().parse::<u64>().ok())
        .map_or(LEASE, |seconds| Duration::from_secs(seconds.max(3)))
}

/// How often the holder of a `lease`-long lease extends it: a third of the lease, so that one
/// failed or late heartbeat still leaves a heartbeat's time before expiry to stop starting
/// steps.
#[must_use]
pub fn heartbeat_interval(lease: Duration) -> Duration {
    lease / 3
}

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
    fence: Fence,
    /// The previous holder, when this lease was taken over from a process that died on this
    /// host.
    pub took_over: Option<Holder>,
}

/// The lock table of an account and region.
#[derive(Clone)]
pub struct LockTable {
    client: Client,
    lease: Duration,
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

/// A consistent GetItem of the item `pk` of `table` (the lock table of some account and
/// region); a failure names `named`.
pub(super) async fn get_item(
    client: &Client,
    table: &str,
    pk: &str,
    named: &str,
) -> Result<GetItemOutput, ProviderError> {
    let call = client.get_item().table_name(table);
    let call = call.key("pk", AttributeValue::S(pk.to_string()));
    sent("dynamodb:GetItem", named, call.consistent_read(true).send()).await
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
        LockTable::with_client(aws.dynamodb())
    }

    /// The table behind `client`, with the lease length in effect ([`lease_length`]).
    #[must_use]
    pub fn with_client(client: Client) -> LockTable {
        LockTable {
            client,
            lease: lease_length(),
        }
    }

    /// The same table with leases of `lease` (at least 3 s).
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> LockTable {
        self.lease = lease.max(Duration::from_secs(3));
        self
    }

    /// The DynamoDB client of the table (approvals share it).
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the table if it does not exist, and waits until it is usable.
    ///
    /// # Errors
    /// An AWS failure, or a table that never becomes ACTIVE.
    pub async fn ensure(&self) -> Result<(), ProviderError> {
        let describe = || async {
            let call = self.client.describe_table().table_name(TABLE);
            found(sent("dynamodb:DescribeTable", TABLE, call.send()).await)
        };
        if describe().await?.is_none() {
            let local = |error: aws_smithy_types::error::operation::BuildError| {
                ProviderError::local("dynamodb:CreateTable", TABLE, error.to_string())
            };
            let call = self
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
                );
            // Made meanwhile by another run: ResourceInUseException.
            let made_meanwhile = CreateTableError::is_resource_in_use_exception;
            sent_or_none("dynamodb:CreateTable", TABLE, call.send(), made_meanwhile).await?;
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
    /// A lease held by a process of this host that is gone (`kill -9`) is taken over at once.
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
        let mut took_over = None;
        loop {
            let now = now();
            let lease = self.lease;
            let mut put = self
                .client
                .put_item()
                .table_name(TABLE)
                .item("pk", AttributeValue::S(format!("lock#{key}")))
                .item("owner", AttributeValue::S(owner.to_string()))
                .item("acquired_at", AttributeValue::N(now.to_string()))
                .item(
                    "expires_at",
                    AttributeValue::N((now + lease.as_secs()).to_string()),
                )
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":owner", AttributeValue::S(owner.to_string()));
            put = match &took_over {
                // Only the dead holder's lease is replaced, never one taken meanwhile.
                Some(Holder { owner: dead, .. }) => put
                    .condition_expression("#owner = :dead OR #owner = :owner")
                    .expression_attribute_values(":dead", AttributeValue::S(dead.clone())),
                None => put
                    .condition_expression(
                        "attribute_not_exists(pk) OR expires_at < :now OR #owner = :owner",
                    )
                    .expression_attribute_values(":now", AttributeValue::N(now.to_string())),
            };
            let written_at = std::time::Instant::now();
            let taken = PutItemError::is_conditional_check_failed_exception;
            let written = sent_or_none("dynamodb:PutItem", TABLE, put.send(), taken).await?;
            if written.is_some() {
                let fence = Fence::new();
                fence.extend_until(written_at + lease.saturating_sub(heartbeat_interval(lease)));
                let heartbeat = tokio::spawn(heartbeat(
                    self.client.clone(),
                    key.to_string(),
                    owner.to_string(),
                    fence.clone(),
                    lease,
                ));
                return Ok(Lease {
                    client: self.client.clone(),
                    key: key.to_string(),
                    owner: owner.to_string(),
                    heartbeat,
                    fence,
                    took_over,
                });
            }
            let holder = self.holder(key).await?;
            if let Some(dead) = holder
                .as_ref()
                .filter(|holder| holder_process_is_gone(&holder.owner) && took_over.is_none())
            {
                tracing::warn!(
                    key,
                    "taking over the lease of {}: that process is gone from this host",
                    dead.owner
                );
                took_over = Some(dead.clone());
                continue;
            }
            took_over = None;
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
    }

    /// The current holder of `key`, if any.
    ///
    /// # Errors
    /// An AWS failure.
    pub async fn holder(&self, key: &str) -> Result<Option<Holder>, ProviderError> {
        let pk = format!("lock#{key}");
        let item = found(get_item(&self.client, TABLE, &pk, TABLE).await)?;
        Ok(item
            .as_ref()
            .and_then(|output| output.item())
            .map(|item| Holder {
                owner: text(item, "owner"),
                expires_at: number(item, "expires_at"),
            }))
    }

    /// Deletes the lease `key` if `holder` still holds it (`nc-provision unlock`). Returns
    /// whether it was deleted (false: it changed hands or was released meanwhile).
    ///
    /// # Errors
    /// An AWS failure.
    pub async fn break_lease(&self, key: &str, holder: &Holder) -> Result<bool, ProviderError> {
        let call = self
            .client
            .delete_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(format!("lock#{key}")))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", AttributeValue::S(holder.owner.clone()));
        let changed_hands = DeleteItemError::is_conditional_check_failed_exception;
        let deleted = sent_or_none("dynamodb:DeleteItem", TABLE, call.send(), changed_hands);
        Ok(deleted.await?.is_some())
    }

    /// Writes an audit record of one run, retrying transient failures (five attempts with
    /// back-off). The run is not reported as successful until this has succeeded.
    ///
    /// # Errors
    /// The last failure, once the attempts are exhausted or the failure is not transient.
    pub async fn audit(&self, key: &str, record: &serde_json::Value) -> Result<(), ProviderError> {
        self.audit_keyed(key, record).await.map(|_| ())
    }

    /// [`LockTable::audit`], returning the audit item's key (`audit#<env>/<region>#<ms>#<pid>`)
    /// for a later [`LockTable::annotate_audit`].
    ///
    /// # Errors
    /// As [`LockTable::audit`].
    pub async fn audit_keyed(
        &self,
        key: &str,
        record: &serde_json::Value,
    ) -> Result<String, ProviderError> {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        let pk = format!("audit#{key}#{at}#{}", std::process::id());
        let write = || async {
            let call = self
                .client
                .put_item()
                .table_name(TABLE)
                .item("pk", AttributeValue::S(pk.clone()))
                .item("at", AttributeValue::S(format_epoch(now())))
                .item("record", AttributeValue::S(record.to_string()));
            sent("dynamodb:PutItem", TABLE, call.send()).await
        };
        let outcome = (
            "audit record not written yet",
            "the audit record was not written",
        );
        audit_retried(outcome, write).await?;
        Ok(pk)
    }
}

/// Runs one operation on an audit record (`once`) until it succeeds, retrying any failure but
/// a fatal one, [`AUDIT_ATTEMPTS`] times at most, with a back-off that doubles from 500 ms (none
/// when [`NO_RETRY_DELAY_ENV`] is set). `(waiting, failed)` say what is logged at a retry
/// (`waiting: <error>`) and what the last failure's message ends with (`failed after N
/// attempts`).
///
/// # Errors
/// The last failure, once the attempts are exhausted or the failure is fatal.
async fn audit_retried<T, F>(
    (waiting, failed): (&str, &str),
    mut once: impl FnMut() -> F,
) -> Result<T, ProviderError>
where
    F: Future<Output = Result<T, ProviderError>>,
{
    let mut backoff = if std::env::var_os(NO_RETRY_DELAY_ENV).is_some() {
        Duration::ZERO
    } else {
        Duration::from_millis(500)
    };
    let mut attempt = 1;
    loop {
        match once().await {
            Ok(done) => return Ok(done),
            Err(error)
                if attempt < AUDIT_ATTEMPTS && !matches!(error.class, super::ErrorClass::Fatal) =>
            {
                tracing::warn!(attempt, "{waiting}: {error}");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
            Err(mut error) => {
                error.message = format!("{} ({failed} after {attempt} attempts)", error.message);
                return Err(error);
            }
        }
    }
}

/// Extends the lease every heartbeat; trips `fence` as soon as an extension fails or does not
/// answer within a heartbeat (the lease may then expire and be taken by another run).
async fn heartbeat(client: Client, key: String, owner: String, fence: Fence, lease: Duration) {
    let interval = heartbeat_interval(lease);
    loop {
        tokio::time::sleep(interval).await;
        let sent_at = std::time::Instant::now();
        let call = client
            .update_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(format!("lock#{key}")))
            .update_expression("SET expires_at = :expires")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(
                ":expires",
                AttributeValue::N((now() + lease.as_secs()).to_string()),
            )
            .expression_attribute_values(":owner", AttributeValue::S(owner.clone()));
        let taken = UpdateItemError::is_conditional_check_failed_exception;
        let extend = sent_or_none("dynamodb:UpdateItem", TABLE, call.send(), taken);
        let reason = match tokio::time::timeout(interval, extend).await {
            Ok(Ok(Some(_))) => {
                fence.extend_until(sent_at + lease.saturating_sub(interval));
                continue;
            }
            Ok(Ok(None)) => "the lease is no longer ours (it expired and another run took it, or \
                             it was broken with `nc-provision unlock`)"
                .to_string(),
            Ok(Err(error)) => format!("could not extend the lease: {error}"),
            Err(_) => format!(
                "could not extend the lease: dynamodb:UpdateItem on {TABLE} did not answer within {}s",
                interval.as_secs()
            ),
        };
        tracing::error!(key, "{reason}; no new step starts");
        fence.trip(reason);
        return;
    }
}

impl Lease {
    /// The fence this lease trips when it can no longer be sure it holds the lease.
    #[must_use]
    pub fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// Stops the heartbeat and deletes the lease (only if still ours).
    pub async fn release(self) {
        self.heartbeat.abort();
        let call = self
            .client
            .delete_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(format!("lock#{}", self.key)))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", AttributeValue::S(self.owner.clone()));
        if let Err(error) = sent("dynamodb:DeleteItem", TABLE, call.send()).await {
            tracing::warn!(key = %self.key, "could not release the lease: {error}");
        }
    }
}

#[cfg(test)]
mod tests;
