//! The recovery evidence of a DR command (see [`crate::plan::evidence`]): the replication
//! latency of each rule of the primary's graph, and the DR vault's newest recovery point.

use std::time::SystemTime;

use crate::engine::Session;
use crate::model::{Kind, LogicalId, Value};
use crate::plan::evidence::{self, Latency, NewestPoint};
use crate::plan::readiness::Check;
use crate::providers::{ErrorClass, ProviderError, recovery};

/// One latency check per S3 replication rule of the primary region's `session`.
pub(super) async fn latency_checks(session: &Session) -> Vec<Check> {
    let mut checks = Vec::new();
    let rules = session
        .graph
        .resources()
        .iter()
        .filter(|resource| resource.kind == Kind::S3BucketReplication);
    for rule in rules {
        let destination = match rule.props.get("destination_bucket") {
            Some(Value::Ref(reference)) => session
                .graph
                .get(&reference.id)
                .map(|bucket| bucket.name.clone())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let rule_id = rule.str_prop("rule_id").unwrap_or_default();
        let read =
            recovery::replication_latency(&session.aws, &rule.name, &destination, rule_id).await;
        let latency = match read {
            Ok(Some(seconds)) => Latency::Max(seconds),
            Ok(None) => Latency::NoData,
            Err(error) if skipped(&error, session) => Latency::Unsupported(error.to_string()),
            Err(error) => Latency::Unreadable(error.to_string()),
        };
        checks.push(evidence::latency_check(
            rule.id.as_str(),
            &rule.name,
            &destination,
            &latency,
        ));
    }
    checks
}

/// The newest recovery point of the DR region's vault, when the spec copies recovery points
/// there (`session` is the DR region's).
pub(super) async fn recovery_point_check(session: &Session) -> Option<Check> {
    let backup = session.spec.data.backup.as_ref()?;
    if !backup.copy_to_dr_region {
        return None;
    }
    let vault = session
        .graph
        .get(&LogicalId::new(crate::modules::addr::BACKUP_VAULT))?;
    let newest = match recovery::newest_recovery_point(&session.aws, &vault.name).await {
        Ok(Some((arn, created))) => NewestPoint::Found { arn, created },
        Ok(None) => NewestPoint::None,
        Err(error) if skipped(&error, session) => NewestPoint::Unsupported(error.to_string()),
        Err(error) => NewestPoint::Unreadable(error.to_string()),
    };
    Some(evidence::recovery_point_check(
        &vault.name,
        backup.schedule,
        &newest,
        SystemTime::now(),
    ))
}

/// An API the endpoint lacks is skipped (not checked) only in emulator mode.
fn skipped(error: &ProviderError, session: &Session) -> bool {
    error.class == ErrorClass::Unsupported && session.aws.emulator
}
