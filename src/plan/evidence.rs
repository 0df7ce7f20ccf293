//! Recovery evidence for DR readiness: how far behind the standby is, judged from what AWS
//! measured rather than from configuration. Pure: the SDK edge (`providers::recovery`) reads
//! the figures, these functions turn them into readiness checks.
//!
//! - **Replication latency.** S3 publishes `ReplicationLatency` (seconds, `AWS/S3`, by
//!   `SourceBucket`, `DestinationBucket` and `RuleId`) for rules with replication metrics on;
//!   the rule's Replication Time Control promises 15 minutes (S3 User Guide, *Meeting
//!   compliance requirements with S3 Replication Time Control*; *Monitoring progress with
//!   replication metrics*). The largest value of the last hour above the RPO is not ready; no
//!   datapoint at all (nothing was written, or the metrics are not published yet) is not
//!   checked, never ready.
//! - **The newest recovery point in the DR vault.** With `copy_to_dr_region`, each recovery
//!   point is copied to the DR region's vault (AWS Backup Developer Guide, *Creating backup
//!   copies across AWS Regions*). A rebuild restores from there, so the newest one must be
//!   younger than two schedule periods (one missed run is tolerated: a job may start late in
//!   its window); none at all is not ready.

use std::time::{Duration, SystemTime};

use super::readiness::{Check, CheckState};
use crate::spec::BackupSchedule;

/// The RPO replication must meet: S3 Replication Time Control's 15 minutes.
pub const REPLICATION_RPO: Duration = Duration::from_secs(15 * 60);

/// What the edge read for one replication rule's latency.
#[derive(Debug, Clone, PartialEq)]
pub enum Latency {
    /// The largest `ReplicationLatency` of the last hour, in seconds.
    Max(f64),
    /// No datapoint in the last hour.
    NoData,
    /// The read failed (the action and error).
    Unreadable(String),
    /// The endpoint does not serve the API (emulator mode only).
    Unsupported(String),
}

/// What the edge read for a vault's newest recovery point.
#[derive(Debug, Clone, PartialEq)]
pub enum NewestPoint {
    /// The newest recovery point: its ARN and creation time.
    Found {
        /// The recovery point's ARN.
        arn: String,
        /// When AWS Backup made it.
        created: SystemTime,
    },
    /// The vault holds none.
    None,
    /// The read failed (the action and error).
    Unreadable(String),
    /// The endpoint does not serve the API (emulator mode only).
    Unsupported(String),
}

/// The readiness check of one replication rule (`source` → `destination`).
#[must_use]
pub fn latency_check(id: &str, source: &str, destination: &str, latency: &Latency) -> Check {
    let rpo = REPLICATION_RPO.as_secs();
    let (state, detail) = match latency {
        Latency::Max(seconds) if *seconds > rpo as f64 => (
            CheckState::NotReady,
            format!(
                "replication to {destination} lags: ReplicationLatency reached {seconds:.0} s \
                 in the last hour, above the {rpo} s RPO"
            ),
        ),
        Latency::Max(seconds) => (
            CheckState::Ready,
            format!(
                "replication to {destination}: ReplicationLatency at most {seconds:.0} s in the \
                 last hour (RPO {rpo} s)"
            ),
        ),
        Latency::NoData => (
            CheckState::NotChecked,
            format!(
                "no ReplicationLatency datapoint for {source} -> {destination} in the last hour \
                 (nothing written, or the metrics are not published yet)"
            ),
        ),
        Latency::Unreadable(error) => (CheckState::NotReady, error.clone()),
        Latency::Unsupported(error) => (CheckState::NotChecked, error.clone()),
    };
    Check {
        component: "recovery evidence",
        id: format!("{id}.latency"),
        name: source.to_string(),
        state,
        detail,
    }
}

/// How old the newest recovery point may be under `schedule`: two periods.
#[must_use]
pub fn max_point_age(schedule: BackupSchedule) -> Duration {
    let period = match schedule {
        BackupSchedule::Hourly => Duration::from_secs(3600),
        BackupSchedule::Daily => Duration::from_secs(24 * 3600),
        BackupSchedule::Weekly => Duration::from_secs(7 * 24 * 3600),
    };
    period * 2
}

/// The readiness check of the DR vault's newest recovery point at `now`.
#[must_use]
pub fn recovery_point_check(
    vault: &str,
    schedule: BackupSchedule,
    newest: &NewestPoint,
    now: SystemTime,
) -> Check {
    let limit = max_point_age(schedule);
    let (state, detail) = match newest {
        NewestPoint::Found { arn, created } => {
            let age = now.duration_since(*created).unwrap_or_default();
            let shown = humantime::format_duration(Duration::from_secs(age.as_secs()));
            if age > limit {
                (
                    CheckState::NotReady,
                    format!(
                        "the newest recovery point ({arn}) is {shown} old, more than two {} \
                         periods",
                        schedule.as_str()
                    ),
                )
            } else {
                (
                    CheckState::Ready,
                    format!("newest recovery point {arn}, {shown} old"),
                )
            }
        }
        NewestPoint::None => (
            CheckState::NotReady,
            "no recovery point has been copied to this vault yet (the first copy follows the \
             first scheduled backup)"
                .to_string(),
        ),
        NewestPoint::Unreadable(error) => (CheckState::NotReady, error.clone()),
        NewestPoint::Unsupported(error) => (CheckState::NotChecked, error.clone()),
    };
    Check {
        component: "recovery evidence",
        id: "backup.vault.newest-recovery-point".to_string(),
        name: vault.to_string(),
        state,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_above_the_rpo_is_not_ready_and_no_data_is_never_ready() {
        let check = |latency: Latency| latency_check("data.replication.raw", "a", "b", &latency);
        assert_eq!(check(Latency::Max(30.0)).state, CheckState::Ready);
        assert_eq!(check(Latency::Max(900.0)).state, CheckState::Ready);
        let lagging = check(Latency::Max(1200.0));
        assert_eq!(lagging.state, CheckState::NotReady);
        assert!(lagging.detail.contains("1200 s"), "{}", lagging.detail);
        assert_eq!(check(Latency::NoData).state, CheckState::NotChecked);
        assert_eq!(
            check(Latency::Unreadable(
                "cloudwatch:GetMetricStatistics: denied".into()
            ))
            .state,
            CheckState::NotReady
        );
        assert_eq!(
            check(Latency::Unsupported("not served".into())).state,
            CheckState::NotChecked
        );
        assert_eq!(lagging.id, "data.replication.raw.latency");
    }

    #[test]
    fn the_newest_recovery_point_must_be_younger_than_two_periods() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10 * 24 * 3600);
        let point = |hours: u64| NewestPoint::Found {
            arn: "arn:aws:backup:ca-central-1:1:recovery-point:x".into(),
            created: now - Duration::from_secs(hours * 3600),
        };
        let daily = |newest: &NewestPoint| {
            recovery_point_check("nc-prod-backup-vault", BackupSchedule::Daily, newest, now)
        };
        assert_eq!(daily(&point(20)).state, CheckState::Ready);
        assert_eq!(daily(&point(47)).state, CheckState::Ready);
        let stale = daily(&point(49));
        assert_eq!(stale.state, CheckState::NotReady);
        assert!(stale.detail.contains("2days 1h"), "{}", stale.detail);
        assert_eq!(daily(&NewestPoint::None).state, CheckState::NotReady);
        assert_eq!(
            daily(&NewestPoint::Unsupported("not served".into())).state,
            CheckState::NotChecked
        );
        let hourly = recovery_point_check("v", BackupSchedule::Hourly, &point(3), now);
        assert_eq!(hourly.state, CheckState::NotReady);
    }
}
