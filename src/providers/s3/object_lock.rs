//! S3 Object Lock: the live configuration, its default retention, and the one change AWS
//! forbids — shortening a COMPLIANCE default retention — which the plan shows as refused.
//! (Amazon S3 User Guide, "Locking objects with Object Lock": "no user, including the root
//! user, can ... shorten its retention period" in compliance mode.)

use aws_sdk_s3::operation::get_object_lock_configuration::GetObjectLockConfigurationError;
use aws_sdk_s3::types::{
    DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::S3Provider;
use crate::model::Resource;
use crate::providers::ProviderError;
use crate::providers::aws::{sent, sent_or_none};

/// A bucket's Object Lock configuration as the attributes show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LockState {
    /// `Enabled` or `Disabled`.
    pub enabled: String,
    /// The default retention mode (`COMPLIANCE`, `GOVERNANCE`) or empty.
    pub mode: String,
    /// The default retention (`"30 days"`, `"7 years"`) or empty.
    pub retention: String,
}

/// Why the desired default retention cannot be applied: it would shorten a live COMPLIANCE
/// retention, which AWS never allows.
pub(super) fn refusal(live: &LockState, desired: Option<&Resource>) -> Option<String> {
    let wanted = desired
        .and_then(|r| r.str_prop("object_lock_retention"))
        .and_then(retention_days)?;
    let current = retention_days(&live.retention)?;
    (live.mode == "COMPLIANCE" && wanted < current).then(|| {
        format!(
            "object_lock_retention {} cannot be shortened: the live default \
             retention is COMPLIANCE, which AWS never lets anyone shorten",
            live.retention
        )
    })
}

impl S3Provider {
    /// A bucket's Object Lock configuration.
    pub(super) async fn object_lock(&self, bucket: &str) -> Result<LockState, ProviderError> {
        let call = self.client.get_object_lock_configuration().bucket(bucket);
        let unset = |error: &GetObjectLockConfigurationError| {
            error.code() == Some("ObjectLockConfigurationNotFoundError")
        };
        let action = "s3:GetObjectLockConfiguration";
        let Some(output) = sent_or_none(action, bucket, call.send(), unset).await? else {
            return Ok(LockState {
                enabled: "Disabled".into(),
                mode: String::new(),
                retention: String::new(),
            });
        };
        let configuration = output.object_lock_configuration();
        let enabled = configuration
            .and_then(ObjectLockConfiguration::object_lock_enabled)
            .map_or("Disabled", ObjectLockEnabled::as_str)
            .to_string();
        let retention = configuration
            .and_then(ObjectLockConfiguration::rule)
            .and_then(ObjectLockRule::default_retention);
        let mode = retention
            .and_then(DefaultRetention::mode)
            .map_or("", ObjectLockRetentionMode::as_str)
            .to_string();
        let period = match (
            retention.and_then(DefaultRetention::days),
            retention.and_then(DefaultRetention::years),
        ) {
            (Some(days), _) => format!("{days} days"),
            (None, Some(years)) => format!("{years} years"),
            _ => String::new(),
        };
        Ok(LockState {
            enabled,
            mode,
            retention: period,
        })
    }

    /// Turns Object Lock on with the desired default retention.
    pub(super) async fn put_object_lock(&self, resource: &Resource) -> Result<(), ProviderError> {
        let bucket = resource.name.as_str();
        let retention = resource
            .str_prop("object_lock_retention")
            .unwrap_or_default();
        let mut default = DefaultRetention::builder().mode(ObjectLockRetentionMode::from(
            resource
                .str_prop("object_lock_mode")
                .unwrap_or("COMPLIANCE"),
        ));
        match retention.split_once(' ') {
            Some((count, unit)) if unit.starts_with("year") => {
                default = default.years(count.parse().unwrap_or(1));
            }
            Some((count, _)) => default = default.days(count.parse().unwrap_or(1)),
            None => {}
        }
        let configuration = ObjectLockConfiguration::builder()
            .object_lock_enabled(ObjectLockEnabled::Enabled)
            .rule(
                ObjectLockRule::builder()
                    .default_retention(default.build())
                    .build(),
            )
            .build();
        let call = self.client.put_object_lock_configuration().bucket(bucket);
        let call = call.object_lock_configuration(configuration);
        sent("s3:PutObjectLockConfiguration", bucket, call.send()).await?;
        Ok(())
    }
}

/// A retention text (`"30 days"`, `"7 years"`) in days, years counted as 365 days.
fn retention_days(text: &str) -> Option<i64> {
    let (count, unit) = text.split_once(' ')?;
    let count: i64 = count.parse().ok()?;
    Some(if unit.starts_with("year") {
        count * 365
    } else {
        count
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    #[test]
    fn retention_compares_in_days() {
        assert_eq!(retention_days("30 days"), Some(30));
        assert_eq!(retention_days("7 years"), Some(2555));
        assert_eq!(retention_days("1 year"), Some(365));
        assert_eq!(retention_days(""), None);
    }

    #[test]
    fn only_a_shorter_compliance_retention_is_refused() {
        let live = LockState {
            enabled: "Enabled".into(),
            mode: "COMPLIANCE".into(),
            retention: "7 years".into(),
        };
        let wanting = |retention: &str| {
            Resource::new("obs.bucket.trail", Kind::S3Bucket, "nc-dp-prod-trail")
                .prop("object_lock_retention", retention)
        };
        assert!(refusal(&live, Some(&wanting("30 days"))).is_some());
        assert_eq!(refusal(&live, Some(&wanting("8 years"))), None);
        let governance = LockState {
            mode: "GOVERNANCE".into(),
            ..live
        };
        assert_eq!(refusal(&governance, Some(&wanting("30 days"))), None);
    }
}
