//! Adding to an audit record after the run that wrote it (the post-deployment watch's
//! verdict): a read, then a conditional update that succeeds only if the record is unchanged.

use super::*;

impl LockTable {
    /// Adds `field` = `value` to the JSON record of the audit item `pk` (written by
    /// [`LockTable::audit_keyed`]), e.g. the verdict of the watch that followed an apply: a
    /// consistent GetItem, then an UpdateItem conditioned on the record being unchanged,
    /// retried like the audit write (a concurrent change of the record is re-read).
    ///
    /// # Errors
    /// The item does not exist, or the last failure once the attempts are exhausted.
    pub async fn annotate_audit(
        &self,
        pk: &str,
        field: &str,
        value: serde_json::Value,
    ) -> Result<(), ProviderError> {
        let failed = format!("the audit record {pk} was not annotated with {field}");
        let annotate = || self.annotate_once(pk, field, &value);
        audit_retried(("audit record not annotated yet", &failed), annotate).await
    }

    async fn annotate_once(
        &self,
        pk: &str,
        field: &str,
        value: &serde_json::Value,
    ) -> Result<(), ProviderError> {
        let item = get_item(&self.client, TABLE, pk, pk).await?;
        let Some(old) = item
            .item()
            .and_then(|item| item.get("record"))
            .and_then(|record| record.as_s().ok())
        else {
            return Err(ProviderError::local(
                "dynamodb:GetItem",
                pk,
                format!("no audit record {pk} in {TABLE}"),
            ));
        };
        let mut record: serde_json::Value = serde_json::from_str(old).map_err(|error| {
            ProviderError::local(
                "dynamodb:GetItem",
                pk,
                format!("the audit record is not JSON: {error}"),
            )
        })?;
        if let Some(fields) = record.as_object_mut() {
            fields.insert(field.to_string(), value.clone());
        }
        let call = self
            .client
            .update_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(pk.to_string()))
            .update_expression("SET #record = :new")
            .condition_expression("#record = :old")
            .expression_attribute_names("#record", "record")
            .expression_attribute_values(":new", AttributeValue::S(record.to_string()))
            .expression_attribute_values(":old", AttributeValue::S(old.to_string()));
        let changed = UpdateItemError::is_conditional_check_failed_exception;
        if sent_or_none("dynamodb:UpdateItem", pk, call.send(), changed)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let mut error = ProviderError::local(
            "dynamodb:UpdateItem",
            pk,
            "the audit record changed meanwhile",
        );
        error.class = crate::providers::ErrorClass::Transient;
        Err(error)
    }
}
