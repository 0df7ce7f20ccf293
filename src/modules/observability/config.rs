//! AWS Config: the recorder with its delivery channel, and the managed rules.

use super::buckets::config_bucket_name;
use super::{CONFIG_BUCKET, CONFIG_PREFIX, CONFIG_ROLE, Context, RECORDER};
use crate::model::{Kind, LogicalId, Resource, Value};

/// The managed Config rules of REFERENCE.md: (rule, managed rule identifier, parameters).
/// AWS has no managed rule with the identifier `IAM_USER_NO_ACCESS_KEY`: the platform's
/// `iam-user-no-access-key` is AWS's `iam-user-unused-credentials-check` with CIS 1.12's 45 days
/// (the tool creates no users and no access keys, so any key is out of band and flagged).
pub const CONFIG_RULES: [(&str, &str, &str); 7] = [
    (
        "iam-user-no-access-key",
        "IAM_USER_UNUSED_CREDENTIALS_CHECK",
        r#"{"maxCredentialUsageAge":"45"}"#,
    ),
    (
        "iam-password-policy",
        "IAM_PASSWORD_POLICY",
        r#"{"MaxPasswordAge":"90","MinimumPasswordLength":"14","PasswordReusePrevention":"24","RequireLowercaseCharacters":"true","RequireNumbers":"true","RequireSymbols":"true","RequireUppercaseCharacters":"true"}"#,
    ),
    (
        "s3-bucket-public-read-prohibited",
        "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        "",
    ),
    (
        "s3-bucket-server-side-encryption-enabled",
        "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
        "",
    ),
    ("vpc-flow-logs-enabled", "VPC_FLOW_LOGS_ENABLED", ""),
    ("cloudtrail-enabled", "CLOUD_TRAIL_ENABLED", ""),
    ("iam-root-access-key-check", "IAM_ROOT_ACCESS_KEY_CHECK", ""),
];

/// The recorder (all supported resources; global resources in the primary region only), its
/// delivery channel into the Config bucket's `config/` prefix, and the managed rules.
pub(super) fn config(context: &Context<'_>) -> Vec<Resource> {
    let role = LogicalId::new(CONFIG_ROLE);
    let recorder = Resource::new(RECORDER, Kind::ConfigRecorder, "default")
        .prop("role_arn", Value::reference(&role, "arn"))
        .prop("all_supported", true)
        .prop("include_global", context.target.primary_region)
        .prop("delivery_bucket", config_bucket_name(context))
        .prop("delivery_prefix", CONFIG_PREFIX)
        .prop("recording", true)
        .after(&role)
        .after(&LogicalId::new(CONFIG_BUCKET));
    let mut resources = vec![recorder];
    if context.spec.observability.enable_config_rules {
        for (rule, identifier, parameters) in CONFIG_RULES {
            let id = format!("observability.config.rule.{rule}");
            resources.push(
                Resource::new(
                    &id,
                    Kind::ConfigRule,
                    format!("nc-{}-{rule}", context.env()),
                )
                .prop("source_identifier", identifier)
                .prop("input_parameters", parameters)
                .prop(
                    "description",
                    format!("{rule} (CIS baseline; managed by nc-provision)"),
                )
                .create_input("tags", context.tags(&id))
                .after(&LogicalId::new(RECORDER))
                .declared_by("observability.enable_config_rules"),
            );
        }
    }
    resources
}
