//! The audit's record of which modules digest each environment converged under, for the
//! "validated in stg first" rule ([`crate::control::stg_first`]).
//!
//! Next to its audit record, every ok apply or reconcile that changed something updates two
//! items of the lock table of its account and region:
//!
//! - `converged#<env>/<region>#<modules digest>`: `first_at` (set once, `if_not_exists`),
//!   `last_at`, `audit_key` and `who` of the newest such run, and the digest's parts;
//! - `converged#<env>/<region>#latest`: the same for the newest ok run, whatever its digest.
//!
//! The rule reads both with consistent GetItems: one per item instead of a Scan of every audit
//! record. The validating environment is usually another account (stg and prod are separate
//! accounts): its table is then read either as the role `audit_role_arn` of that account
//! (STS AssumeRole, then GetItem by table name) or by the table's ARN, which DynamoDB accepts
//! as `TableName` for cross-account access when the table's resource-based policy allows the
//! caller `dynamodb:GetItem`
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/rbac-cross-account-access.html>).

use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_dynamodb::types::AttributeValue;

use super::*;
use crate::control::modules_digest::ModulesDigest;
use crate::control::stg_first::Converged;

/// The item key of `env/region`'s record of `digest` (or `latest`).
fn item_key(key: &str, digest: &str) -> String {
    format!("converged#{key}#{digest}")
}

/// Where the validating environment's audit is read from.
pub struct ConvergedReader {
    client: Client,
    table: String,
}

impl LockTable {
    /// Records that `key` (`env/region`) converged under `modules` in the run audited as
    /// `audit_key` by `who`: the digest's item (its first time kept) and the `latest` item.
    ///
    /// # Errors
    /// An AWS failure (the audit record itself is already written).
    pub async fn record_converged(
        &self,
        key: &str,
        modules: &ModulesDigest,
        audit_key: &str,
        who: &str,
    ) -> Result<(), ProviderError> {
        let parts = serde_json::to_string(modules).unwrap_or_default();
        let now = now().to_string();
        for (item, first) in [
            (
                item_key(key, &modules.digest),
                "if_not_exists(first_at, :now)",
            ),
            (item_key(key, "latest"), ":now"),
        ] {
            let call = self
                .client
                .update_item()
                .table_name(TABLE)
                .key("pk", AttributeValue::S(item.clone()))
                .update_expression(format!(
                    "SET first_at = {first}, last_at = :now, modules = :modules, audit_key = :audit, who = :who"
                ))
                .expression_attribute_values(":now", AttributeValue::N(now.clone()))
                .expression_attribute_values(":modules", AttributeValue::S(parts.clone()))
                .expression_attribute_values(":audit", AttributeValue::S(audit_key.to_string()))
                .expression_attribute_values(":who", AttributeValue::S(who.to_string()));
            sent("dynamodb:UpdateItem", &item, call.send()).await?;
        }
        Ok(())
    }
}

impl ConvergedReader {
    /// The lock table of `account` in `aws`'s region read with `aws`'s credentials: by name in
    /// the caller's own account, by ARN in another.
    #[must_use]
    pub fn new(aws: &Aws, caller_account: &str, account: &str) -> ConvergedReader {
        let table = if account == caller_account {
            TABLE.to_string()
        } else {
            format!("arn:aws:dynamodb:{}:{account}:table/{TABLE}", aws.region())
        };
        ConvergedReader {
            client: aws.dynamodb(),
            table,
        }
    }

    /// The lock table in `aws`'s region of the account of `role_arn`, read as that role
    /// (STS AssumeRole with the caller's credentials).
    ///
    /// # Errors
    /// STS refused the role.
    pub async fn as_role(aws: &Aws, role_arn: &str) -> Result<ConvergedReader, ProviderError> {
        let action = "sts:AssumeRole";
        let call = aws
            .sts()
            .assume_role()
            .role_arn(role_arn)
            .role_session_name("nc-provision-validated-in")
            .duration_seconds(900);
        let assumed = sent(action, role_arn, call.send()).await?;
        let Some(credentials) = assumed.credentials() else {
            return Err(ProviderError::local(
                action,
                role_arn,
                "no credentials in the answer",
            ));
        };
        let credentials = Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_string()),
            None,
            "nc-provision-validated-in",
        );
        let mut other = aws.clone();
        other.config = aws
            .config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        Ok(ConvergedReader {
            client: other.dynamodb(),
            table: TABLE.to_string(),
        })
    }

    /// The table read (name or ARN), for messages.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.table
    }

    /// `key`'s record of `digest` and its newest record (`None`: none; a missing table has
    /// none).
    ///
    /// # Errors
    /// A read failed (AccessDenied included): the error names `dynamodb:GetItem` and the table.
    pub async fn read(
        &self,
        key: &str,
        digest: &str,
    ) -> Result<(Option<Converged>, Option<Converged>), ProviderError> {
        let matching = self.get(&item_key(key, digest)).await?;
        let newest = self.get(&item_key(key, "latest")).await?;
        Ok((matching, newest))
    }

    async fn get(&self, pk: &str) -> Result<Option<Converged>, ProviderError> {
        let answer = found(get_item(&self.client, &self.table, pk, &self.table).await)?;
        let Some(item) = answer.as_ref().and_then(|answer| answer.item()) else {
            return Ok(None);
        };
        let modules: ModulesDigest =
            serde_json::from_str(&text(item, "modules")).map_err(|error| {
                ProviderError::local(
                    "dynamodb:GetItem",
                    &self.table,
                    format!("the item {pk} does not hold a modules digest: {error}"),
                )
            })?;
        Ok(Some(Converged {
            modules,
            first_at: number(item, "first_at"),
            last_at: number(item, "last_at"),
            audit_key: text(item, "audit_key"),
            who: text(item, "who"),
        }))
    }
}
