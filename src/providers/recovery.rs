//! Recovery evidence for `dr drill` and `dr rebuild` (see `plan::evidence` for the rules): the
//! largest S3 `ReplicationLatency` of the last hour for a replication rule (CloudWatch, in the
//! source bucket's region) and the newest recovery point in a backup vault (AWS Backup, in
//! the vault's region — the DR region, readable while the primary is down). Reads only.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use aws_smithy_types::DateTime;

use super::aws::sent;
use super::{Aws, ProviderError};

/// How far back the latency is read.
const LATENCY_WINDOW: Duration = Duration::from_secs(3600);

/// The largest `ReplicationLatency` (seconds) of the last hour for the rule `rule_id` from
/// `source` to `destination` (bucket names); `None` when there is no datapoint
/// (GetMetricStatistics, `AWS/S3`, one-minute Maximum).
///
/// # Errors
/// The CloudWatch error, naming the action and the source bucket.
pub async fn replication_latency(
    aws: &Aws,
    source: &str,
    destination: &str,
    rule_id: &str,
) -> Result<Option<f64>, ProviderError> {
    let end = SystemTime::now();
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let call = aws
        .cloudwatch()
        .get_metric_statistics()
        .namespace("AWS/S3")
        .metric_name("ReplicationLatency")
        .dimensions(dimension("SourceBucket", source))
        .dimensions(dimension("DestinationBucket", destination))
        .dimensions(dimension("RuleId", rule_id))
        .start_time(DateTime::from(end - LATENCY_WINDOW))
        .end_time(DateTime::from(end))
        .period(60)
        .statistics(Statistic::Maximum);
    let answer = sent("cloudwatch:GetMetricStatistics", source, call.send()).await?;
    Ok(answer
        .datapoints()
        .iter()
        .filter_map(|point| point.maximum())
        .reduce(f64::max))
}

/// The newest recovery point in `vault` (ListRecoveryPointsByBackupVault, all pages): its ARN
/// and creation time; `None` when the vault holds none.
///
/// # Errors
/// The AWS Backup error, naming the action and the vault (an endpoint without the operation
/// is classified as unsupported).
pub async fn newest_recovery_point(
    aws: &Aws,
    vault: &str,
) -> Result<Option<(String, SystemTime)>, ProviderError> {
    let client = aws.backup_single_attempt_in_emulator();
    let mut pages = client
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(vault)
        .into_paginator()
        .send();
    let mut newest: Option<(String, SystemTime)> = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| {
            super::backup::lacking("backup:ListRecoveryPointsByBackupVault", vault, error)
        })?;
        for point in page.recovery_points() {
            let Some(created) = point
                .creation_date()
                .and_then(|date| SystemTime::try_from(*date).ok())
            else {
                continue;
            };
            if newest.as_ref().is_none_or(|(_, time)| created > *time) {
                let arn = point.recovery_point_arn().unwrap_or_default().to_string();
                newest = Some((arn, created));
            }
        }
    }
    Ok(newest)
}
