//! `[observability]`: log and trail retention, alert addresses, and the detection services.

use super::document::retention;
use super::error::SpecErrorKind;
use super::model::{LockRetention, ObservabilitySpec};
use super::reader::{Reader, Table};
use super::rules;

/// Reads `[observability]`; `None` after recording its problems.
pub(super) fn read(r: &mut Reader, t: &Table<'_, '_>) -> Option<ObservabilitySpec> {
    r.unknown_keys(
        t,
        &[
            "log_retention_days",
            "audit_log_retention_days",
            "trail_retention_days",
            "trail_retention_years",
            "logs_bucket_name",
            "alert_email",
            "ops_email",
            "enable_guardduty",
            "guardduty_finding_publishing_frequency",
            "enable_config_rules",
            "enable_security_hub",
            "api_gateway_name",
            "api_gateway_stage",
        ],
    );
    let log_retention_days = retention(r, t, "log_retention_days");
    let audit_log_retention_days = retention(r, t, "audit_log_retention_days");
    let trail_retention = trail_retention(r, t);
    let logs_bucket_name = r.string(t, "logs_bucket_name", true).and_then(|b| {
        r.check(&b, |s| rules::s3_bucket_name(s))?;
        Some(b.value)
    });
    let email = |r: &mut Reader, key: &str, required: bool| {
        let v = r.string(t, key, required)?;
        r.check(&v, |s| rules::email(s)).map(|()| v.value)
    };
    let alert_email = email(r, "alert_email", true);
    let ops_present = t.has("ops_email");
    let ops_email = email(r, "ops_email", false);
    let enable_guardduty = r.boolean(t, "enable_guardduty", true);
    let frequency = r
        .string(t, "guardduty_finding_publishing_frequency", true)
        .and_then(|f| {
            r.check(&f, |s| rules::guardduty_frequency(s))?;
            Some(f.value)
        });
    let enable_config_rules = r.boolean(t, "enable_config_rules", true);
    let enable_security_hub = r.boolean(t, "enable_security_hub", true);
    let api_gateway_name = r.string(t, "api_gateway_name", false).map(|v| v.value);
    let api_gateway_stage = r.string(t, "api_gateway_stage", false).map(|v| v.value);
    if ops_present && ops_email.is_none() {
        return None;
    }
    Some(ObservabilitySpec {
        log_retention_days: log_retention_days?,
        audit_log_retention_days: audit_log_retention_days?,
        trail_retention: trail_retention?,
        logs_bucket_name: logs_bucket_name?,
        alert_email: alert_email?,
        ops_email,
        enable_guardduty: enable_guardduty?.value,
        guardduty_finding_publishing_frequency: frequency?,
        enable_config_rules: enable_config_rules?.value,
        enable_security_hub: enable_security_hub?.value,
        api_gateway_name,
        api_gateway_stage,
    })
}

/// Exactly one of `trail_retention_days` (1..=36500) and `trail_retention_years` (1..=100),
/// the S3 Object Lock limits.
fn trail_retention(r: &mut Reader, t: &Table<'_, '_>) -> Option<LockRetention> {
    let lock = |unit: &str| format!("S3 Object Lock default retention is 1 to {unit}");
    let days = r.int_in::<i32>(
        t,
        "trail_retention_days",
        false,
        (1, 36500),
        &lock("36500 days"),
    );
    let years = r.int_in::<i32>(
        t,
        "trail_retention_years",
        false,
        (1, 100),
        &lock("100 years"),
    );
    match (
        t.key_span("trail_retention_days"),
        t.key_span("trail_retention_years"),
    ) {
        (Some(d), Some(y)) => {
            // Point at whichever of the two comes second in the file.
            let span = if d.start > y.start { d } else { y };
            r.error(
                SpecErrorKind::InvalidValue,
                span,
                "second retention",
                "both trail_retention_days and trail_retention_years are set: expected exactly \
                 one",
                Some(
                    "keep one: trail_retention_years for whole years (prod: 7), \
                     trail_retention_days otherwise"
                        .to_string(),
                ),
            );
            None
        }
        (None, None) => {
            r.error(
                SpecErrorKind::MissingKey,
                t.span.clone(),
                "trail retention is missing here",
                "missing key \"observability.trail_retention_days\" or \
                 \"observability.trail_retention_years\" (integer) in [observability]",
                Some(
                    "the trail bucket's Object Lock retention: add trail_retention_days = <days> \
                     or trail_retention_years = <years> (prod keeps CloudTrail logs 7 years)"
                        .to_string(),
                ),
            );
            None
        }
        (Some(_), None) => days.map(|d| LockRetention::Days(d.value)),
        (None, Some(_)) => years.map(|y| LockRetention::Years(y.value)),
    }
}
