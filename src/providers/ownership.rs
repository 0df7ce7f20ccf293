//! Ownership records of the account-level singletons that take no tags: the AWS Config
//! recorder with its delivery channel, the IAM account password policy and the account-level
//! S3 Block Public Access. Nothing on these resources can say who set them up, so the tool
//! keeps a record of the ones it created or adopted in the audit table of the account and
//! region ([`super::lock::TABLE`]), one item per singleton:
//!
//! `pk = "owner#<kind>#<physical id>"`, with `env`, `kind`, `physical_id`, `logical_id`,
//! `how` (`created` | `adopted`), `who` (the caller's ARN) and `at` (RFC 3339).
//!
//! The key has no environment in it: a singleton has one owner per account and region, and a
//! record of another environment makes the singleton that environment's (a conflict that
//! cannot be adopted across environments). Records are written with a conditional put (new,
//! or already this environment's), after the AWS call that set the singleton up succeeded.
//!
//! Records are read only when the live singleton differs from the spec (see
//! [`super::Provider::look_up_owner`]), so a plan without changes makes no extra call. A
//! missing table means no record.

use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use tokio::sync::OnceCell;

use super::aws::{found, sent, sent_or_none};
use super::lock::{TABLE, get_item};
use super::{Aws, ProviderError, StepCtx};
use crate::model::Kind;
use crate::model::{Observed, Owner};

/// How the tool came to own a singleton.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The tool set it up where there was none.
    Created,
    /// It existed, set up by someone else, and `apply --adopt` took it over.
    Adopted,
}

impl How {
    fn as_str(self) -> &'static str {
        match self {
            How::Created => "created",
            How::Adopted => "adopted",
        }
    }
}

/// The ownership records of one account and region.
#[derive(Clone)]
pub struct OwnershipRegistry {
    client: Client,
    sts: aws_sdk_sts::Client,
    caller: Arc<OnceCell<String>>,
}

/// The record key of a singleton.
#[must_use]
pub fn record_key(kind: Kind, physical_id: &str) -> String {
    format!("owner#{kind}#{physical_id}")
}

fn text(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

impl OwnershipRegistry {
    /// The registry in `aws`'s account and region.
    #[must_use]
    pub fn new(aws: &Aws) -> OwnershipRegistry {
        OwnershipRegistry::from_clients(aws.dynamodb(), aws.sts())
    }

    /// A registry over given clients (tests use mocked clients).
    #[must_use]
    pub fn from_clients(client: Client, sts: aws_sdk_sts::Client) -> OwnershipRegistry {
        OwnershipRegistry {
            client,
            sts,
            caller: Arc::new(OnceCell::new()),
        }
    }

    /// Who owns the singleton `kind` / `physical_id`, for environment `env`: this environment
    /// ([`Owner::Ours`]), another one, or nobody on record ([`Owner::Untracked`]). One
    /// consistent GetItem; a missing table is no record.
    ///
    /// # Errors
    /// A DynamoDB failure other than a missing table.
    pub async fn owner(
        &self,
        kind: Kind,
        physical_id: &str,
        env: &str,
    ) -> Result<Owner, ProviderError> {
        let key = record_key(kind, physical_id);
        let named = format!("{TABLE} {key}");
        let answer = found(get_item(&self.client, TABLE, &key, &named).await)?;
        let Some(item) = answer.as_ref().and_then(|answer| answer.item()) else {
            return Ok(Owner::Untracked);
        };
        let recorded = text(item, "env");
        Ok(if recorded == env {
            Owner::Ours
        } else {
            Owner::OtherEnv(recorded)
        })
    }

    /// Records that environment `ctx.env` owns the singleton, unless a record of another
    /// environment exists (then nothing is written and the call fails). Writing the record of
    /// a singleton already this environment's refreshes it.
    ///
    /// # Errors
    /// The singleton is recorded for another environment, or a DynamoDB/STS failure.
    pub async fn record(
        &self,
        kind: Kind,
        physical_id: &str,
        ctx: &StepCtx,
        how: How,
    ) -> Result<(), ProviderError> {
        let key = record_key(kind, physical_id);
        let who = self.caller().await?;
        let at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let resource = format!("{TABLE} {key}");
        let conflict = PutItemError::is_conditional_check_failed_exception;
        let put = || {
            let call = self
                .client
                .put_item()
                .table_name(TABLE)
                .item("pk", AttributeValue::S(key.clone()))
                .item("env", AttributeValue::S(ctx.env.clone()))
                .item("kind", AttributeValue::S(kind.to_string()))
                .item("physical_id", AttributeValue::S(physical_id.to_string()))
                .item("logical_id", AttributeValue::S(ctx.id.to_string()))
                .item("how", AttributeValue::S(how.as_str().to_string()))
                .item("who", AttributeValue::S(who.clone()))
                .item("at", AttributeValue::S(at.clone()))
                .condition_expression("attribute_not_exists(pk) OR #env = :env")
                .expression_attribute_names("#env", "env")
                .expression_attribute_values(":env", AttributeValue::S(ctx.env.clone()));
            sent_or_none("dynamodb:PutItem", &resource, call.send(), conflict)
        };
        let mut written = put().await;
        let table_missing = written
            .as_ref()
            .err()
            .and_then(|error| error.code.as_deref())
            == Some("ResourceNotFoundException");
        if table_missing {
            self.ensure_table().await?;
            written = put().await;
        }
        if written?.is_some() {
            return Ok(());
        }
        let owner = self.owner(kind, physical_id, &ctx.env).await?;
        Err(ProviderError::local(
            "dynamodb:PutItem",
            &resource,
            format!(
                "{physical_id} ({kind}) is recorded as set up by nc-provision for \
                 another environment ({owner:?}); it was not recorded for {}",
                ctx.env
            ),
        ))
    }

    /// Records an adoption when `observed` was untracked (the step runs an `--adopt`); a
    /// singleton already ours needs no new record.
    ///
    /// # Errors
    /// As [`OwnershipRegistry::record`].
    pub async fn record_adoption(
        &self,
        observed: &Observed,
        ctx: &StepCtx,
    ) -> Result<(), ProviderError> {
        if observed.owner == Owner::Ours {
            return Ok(());
        }
        self.record(observed.kind, &observed.physical_id, ctx, How::Adopted)
            .await
    }

    /// The caller's ARN (one STS call per registry).
    async fn caller(&self) -> Result<String, ProviderError> {
        self.caller
            .get_or_try_init(|| async {
                let call = self.sts.get_caller_identity().send();
                let identity = sent("sts:GetCallerIdentity", "caller", call).await?;
                Ok(identity.arn().unwrap_or("unknown").to_string())
            })
            .await
            .cloned()
    }

    /// Creates the audit table (the lease table) if it does not exist yet.
    async fn ensure_table(&self) -> Result<(), ProviderError> {
        super::lock::LockTable::with_client(self.client.clone())
            .ensure()
            .await
    }
}
