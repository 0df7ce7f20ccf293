//! `[data.backup]` (optional): the AWS Backup plan of the data stores (schedule, retention,
//! continuous backup, the copy to the DR region).

use super::model::{BackupSchedule, BackupSpec};
use super::reader::{Reader, Table};
use super::rules::Problem;

/// AWS Backup keeps a continuous backup (point-in-time restore) 1 to 35 days
/// (<https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html>).
const CONTINUOUS_MAX_DAYS: i64 = 35;

/// Reads `[data.backup]`; `None` after recording its problems. `dr_region_set`: whether
/// `environment.dr_region` is set (a copy to the DR region needs one).
pub(super) fn read(r: &mut Reader, t: &Table<'_, '_>, dr_region_set: bool) -> Option<BackupSpec> {
    r.unknown_keys(
        t,
        &[
            "schedule",
            "retention_days",
            "continuous",
            "copy_to_dr_region",
        ],
    );
    let schedule = r.string(t, "schedule", true).and_then(|name| {
        let schedule = BackupSchedule::parse(&name.value);
        if schedule.is_none() {
            let names: Vec<&str> = BackupSchedule::ALL.iter().map(|s| s.as_str()).collect();
            r.problem(
                name.span.clone(),
                Problem::new(
                    format!(
                        "invalid backup schedule {:?}: expected one of {}",
                        name.value,
                        names.join(", ")
                    ),
                    Some("REFERENCE: stg and prod take daily snapshots".to_string()),
                ),
            );
        }
        schedule
    });
    let hint = "an AWS Backup lifecycle deletes a recovery point 1 to 36500 days after it is made \
                (REFERENCE: stg 7, prod 30)";
    let retention = r.int_in::<i64>(t, "retention_days", true, (1, 36_500), hint);
    let continuous = r.boolean(t, "continuous", false);
    let copy = r.boolean(t, "copy_to_dr_region", false);
    if let (Some(flag), Some(days)) = (&continuous, &retention)
        && flag.value
        && days.value > CONTINUOUS_MAX_DAYS
    {
        r.problem(
            days.span.clone(),
            Problem::new(
                format!(
                    "retention_days {} is too long for continuous backup: AWS Backup keeps a \
                     continuous backup at most {CONTINUOUS_MAX_DAYS} days",
                    days.value
                ),
                Some("set retention_days = 1..=35, or continuous = false".to_string()),
            ),
        );
        return None;
    }
    if let Some(flag) = &copy
        && flag.value
        && !dr_region_set
    {
        r.problem(
            flag.span.clone(),
            Problem::new(
                "copy_to_dr_region = true needs a DR region",
                Some("set environment.dr_region, or remove this key".to_string()),
            ),
        );
        return None;
    }
    Some(BackupSpec {
        schedule: schedule?,
        retention_days: retention?.value,
        continuous: continuous.is_some_and(|flag| flag.value),
        copy_to_dr_region: copy.is_some_and(|flag| flag.value),
    })
}
