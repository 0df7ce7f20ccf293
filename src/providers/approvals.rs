//! Recorded approvals of saved plans, in the environment's `nc-provision-locks` table: one item
//! per (plan digest, approver role), written with a conditional put so that a role approves a
//! plan once, and read back in one BatchGetItem when the plan is applied.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::aws::{aws_error, sent_or_none};
use super::lock::{LockTable, TABLE};
use super::{Aws, ProviderError};
use crate::control::Approval;

/// The approvals of one environment and region.
pub struct Approvals {
    table: LockTable,
    key: String,
}

fn item_key(key: &str, digest: &str, role: &str) -> String {
    format!("approval#{key}#{digest}#{role}")
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name).and_then(|value| value.as_s().ok()).cloned()
}

impl Approvals {
    /// The approvals of `env/region` (`key`) in `aws`'s account and region.
    #[must_use]
    pub fn new(aws: &Aws, key: &str) -> Approvals {
        Approvals {
            table: LockTable::new(aws),
            key: key.to_string(),
        }
    }

    /// Records `approval`; `Ok(Some(existing))` when its role already approved this plan.
    ///
    /// # Errors
    /// An AWS failure.
    pub async fn record(&self, approval: &Approval) -> Result<Option<Approval>, ProviderError> {
        self.table.ensure().await?;
        let pk = item_key(&self.key, &approval.plan_digest, &approval.role);
        let mut put = self
            .table
            .client()
            .put_item()
            .table_name(TABLE)
            .item("pk", AttributeValue::S(pk.clone()))
            .item(
                "plan_digest",
                AttributeValue::S(approval.plan_digest.clone()),
            )
            .item("role", AttributeValue::S(approval.role.clone()))
            .item("principal", AttributeValue::S(approval.principal.clone()))
            .item("at", AttributeValue::S(approval.at.clone()))
            .condition_expression("attribute_not_exists(pk)");
        if let Some(comment) = &approval.comment {
            put = put.item("comment", AttributeValue::S(comment.clone()));
        }
        let taken = |e: &PutItemError| e.is_conditional_check_failed_exception();
        if sent_or_none("dynamodb:PutItem", &pk, put.send(), taken)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let existing = self
            .list(&approval.plan_digest, std::slice::from_ref(&approval.role))
            .await?;
        Ok(existing.into_iter().next())
    }

    /// The approvals of the plan `digest` by any of `roles` (one BatchGetItem; none when the
    /// table does not exist yet).
    ///
    /// # Errors
    /// An AWS failure.
    pub async fn list(
        &self,
        digest: &str,
        roles: &[String],
    ) -> Result<Vec<Approval>, ProviderError> {
        if roles.is_empty() {
            return Ok(Vec::new());
        }
        let mut keys = KeysAndAttributes::builder().consistent_read(true);
        for role in roles {
            let mut key = HashMap::new();
            key.insert(
                "pk".to_string(),
                AttributeValue::S(item_key(&self.key, digest, role)),
            );
            keys = keys.keys(key);
        }
        let keys = keys.build().map_err(|error| {
            ProviderError::local("dynamodb:BatchGetItem", TABLE, error.to_string())
        })?;
        let answer = self
            .table
            .client()
            .batch_get_item()
            .request_items(TABLE, keys)
            .send()
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => {
                let error = aws_error("dynamodb:BatchGetItem", TABLE, error);
                if error.is_not_found() {
                    return Ok(Vec::new());
                }
                return Err(error);
            }
        };
        let mut approvals: Vec<Approval> = answer
            .responses()
            .and_then(|responses| responses.get(TABLE))
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| {
                        Some(Approval {
                            plan_digest: text(item, "plan_digest")?,
                            role: text(item, "role")?,
                            principal: text(item, "principal")?,
                            at: text(item, "at").unwrap_or_default(),
                            comment: text(item, "comment"),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        approvals.sort_by(|left, right| left.role.cmp(&right.role));
        Ok(approvals)
    }
}
