//! `[data.backup]` (optional): the AWS Backup plan of the data stores (schedule, retention,
//! continuous backup, the copy to the DR region).

use super::document::lacks_dr_region;
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
    if lacks_dr_region(r, copy.as_ref(), "copy_to_dr_region", dr_region_set) {
        return None;
    }
    Some(BackupSpec {
        schedule: schedule?,
        retention_days: retention?.value,
        continuous: continuous.is_some_and(|flag| flag.value),
        copy_to_dr_region: copy.is_some_and(|flag| flag.value),
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::spec::tests::StgEdit;
    use crate::spec::{BackupSchedule, BackupSpec, load};

    fn manifest_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn the_shipped_specs_back_up_per_the_seeds() {
        let specs = manifest_dir().join("specs");
        let backup = |env: &str| load(&specs, env).expect("valid spec").data.backup;
        assert_eq!(backup("dev"), None, "REF: dev has no backups");
        assert_eq!(
            backup("stg"),
            Some(BackupSpec {
                schedule: BackupSchedule::Daily,
                retention_days: 7,
                continuous: false,
                copy_to_dr_region: false,
            }),
            "seed stg: daily, 7-day retention"
        );
        assert_eq!(
            backup("prod"),
            Some(BackupSpec {
                schedule: BackupSchedule::Daily,
                retention_days: 30,
                continuous: true,
                copy_to_dr_region: true,
            }),
            "seed prod: continuous, 30-day retention, copied to the DR region"
        );
    }

    #[test]
    fn edits_of_the_backup_table_give_located_errors() {
        let cases = [
            StgEdit {
                reason: "unknown schedule names the valid ones",
                from: "schedule = \"daily\"",
                to: "schedule = \"monthly\"",
                want: &[
                    "invalid backup schedule \"monthly\": expected one of hourly, daily, weekly",
                ],
            },
            StgEdit {
                reason: "continuous backup keeps at most 35 days",
                from: "schedule = \"daily\"\nretention_days = 7\n",
                to: "schedule = \"daily\"\nretention_days = 36\ncontinuous = true\n",
                want: &["retention_days 36 is too long for continuous backup"],
            },
            StgEdit {
                reason: "a retention of zero days",
                from: "schedule = \"daily\"\nretention_days = 7\n",
                to: "schedule = \"daily\"\nretention_days = 0\n",
                want: &["data.backup.retention_days 0 is out of range: expected 1..=36500"],
            },
            StgEdit {
                reason: "a copy needs a DR region",
                from: "dr_region = \"ca-central-1\"\n",
                to: "",
                want: &["copy_to_dr_region = true needs a DR region"],
            },
            StgEdit {
                reason: "unknown key",
                from: "schedule = \"daily\"\nretention_days = 7\n",
                to: "schedule = \"daily\"\nretention_days = 7\nvault = \"x\"\n",
                want: &["unknown key \"vault\" in [data.backup]"],
            },
            StgEdit {
                reason: "missing schedule",
                from: "schedule = \"daily\"\n",
                to: "",
                want: &["data.backup.schedule"],
            },
        ];
        for edit in cases {
            let mut edited = edit.edited();
            if edit.reason == "a copy needs a DR region" {
                edited = edited.replacen(
                    "schedule = \"daily\"\n",
                    "schedule = \"daily\"\ncopy_to_dr_region = true\n",
                    1,
                );
            }
            edit.check(&edited);
        }
    }
}
