//! The kms module: a data key and a logs key per environment, rotation on, aliases, key policy.

use serde_json::json;

use super::{Context, id};
use crate::model::{LogicalId, Resource, Value};

/// Logical id of the data key (`alias/nc-dp-data-{env}`).
pub const DATA_KEY: &str = "kms.key.data";
/// Logical id of the logs key (`alias/nc-dp-logs-{env}`).
pub const LOGS_KEY: &str = "kms.key.logs";

/// Kind of a customer-managed KMS key with its alias.
pub const KIND: &str = "kms_key";

pub(super) fn expand(context: &Context<'_>) -> Vec<Resource> {
    [(DATA_KEY, "data"), (LOGS_KEY, "logs")]
        .into_iter()
        .map(|(key_id, purpose)| key(context, key_id, purpose))
        .collect()
}

fn key(context: &Context<'_>, key_id: &str, purpose: &str) -> Resource {
    let env = context.env();
    let alias = format!("alias/nc-dp-{purpose}-{env}");
    Resource::new(key_id, KIND, alias.clone())
        .prop("alias", alias)
        .prop(
            "description",
            format!("Neurocipher {env} {purpose} key (managed by nc-provision)"),
        )
        .prop("key_state", "Enabled")
        .prop("key_spec", "SYMMETRIC_DEFAULT")
        .prop("rotation", context.spec.kms.enable_key_rotation)
        .prop("policy", Value::Policy(key_policy(context, purpose)))
        .prop("tags", context.tags(key_id))
        .create_input(
            "deletion_window_days",
            context.spec.kms.deletion_window_days,
        )
        .replace_on(&["key_spec"])
        .retained()
}

/// The key policy: the account root may administer and use the key (service-role and
/// cross-account grants come with the iam-baseline module).
fn key_policy(context: &Context<'_>, purpose: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Id": format!("nc-dp-{purpose}-{}", context.env()),
        "Statement": [{
            "Sid": "EnableRootAccountPermissions",
            "Effect": "Allow",
            "Principal": {"AWS": context.account_root()},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
}

/// The logical id of the data key.
#[must_use]
pub fn data_key() -> LogicalId {
    id(DATA_KEY)
}
