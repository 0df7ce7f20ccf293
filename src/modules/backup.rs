//! Backups of the data stores (`[data.backup]`): an AWS Backup vault encrypted with the data
//! key, a plan whose rules follow the spec (schedule, retention, continuous backup, a copy of
//! each recovery point to the DR region's vault), the selection of the data buckets and the
//! documents table, and the role AWS Backup assumes.
//!
//! In the primary region the module expands all four. In another region (the DR expansion)
//! it expands the global role (as every region does) and, with `copy_to_dr_region`, the vault
//! the copies go to, encrypted with that region's data key; the primary apply keeps that vault
//! as a standby copy (see [`super::standby`]).
//!
//! AWS rules followed here:
//! - a rule's `DeleteAfterDays` and a copy's lifecycle
//!   (<https://docs.aws.amazon.com/aws-backup/latest/devguide/API_Lifecycle.html>);
//! - continuous backup (point-in-time restore) for S3, kept at most 35 days, with DynamoDB
//!   not among the resources that support it, so the table keeps its own PITR
//!   (<https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html>);
//! - a copy action names the destination vault by ARN
//!   (<https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CopyAction.html>);
//! - the service role AWS Backup assumes, with the AWS managed policies for backup and restore,
//!   S3's two included (<https://docs.aws.amazon.com/aws-backup/latest/devguide/iam-service-roles.html>,
//!   <https://docs.aws.amazon.com/aws-backup/latest/devguide/s3-backups.html>).

use super::{Context, addr, role};
use crate::model::{Kind, LogicalId, Resource, Value};
use crate::spec::BackupSpec;

/// Logical id of the backup plan.
pub const PLAN: &str = "backup.plan";
/// Logical id of the backup selection.
pub const SELECTION: &str = "backup.selection";
/// Logical id of the role AWS Backup assumes.
pub const ROLE: &str = "backup.role";

/// The service principal of AWS Backup.
const SERVICE: &str = "backup.amazonaws.com";

/// The AWS managed policies of the backup role: backup and restore, and S3's own (S3 backups
/// need both pairs).
pub const MANAGED_POLICIES: [&str; 4] = [
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
];

/// The rule name of the continuous-backup rule.
pub const CONTINUOUS_RULE: &str = "continuous";

pub(super) fn expand(context: &Context<'_>) -> Vec<Resource> {
    let Some(backup) = &context.spec.data.backup else {
        return Vec::new();
    };
    if !context.target.primary_region {
        // The role is global: every region expands it alike (it is changed only from the
        // primary). The DR region's vault is where the copies go (kept by the primary apply).
        let mut resources = vec![role(context)];
        if backup.copy_to_dr_region {
            resources.push(vault(context));
        }
        return resources;
    }
    vec![
        vault(context),
        role(context),
        plan(context, backup),
        selection(context),
    ]
}

/// The vault's name (vault names are per region: the DR region's has the same name).
fn vault_name(context: &Context<'_>) -> String {
    format!("nc-{}-backup-vault", context.env())
}

fn vault(context: &Context<'_>) -> Resource {
    Resource::new(addr::BACKUP_VAULT, Kind::BackupVault, vault_name(context))
        .prop("encryption_key", Value::reference(&addr::data_key(), "arn"))
        .prop("tags", context.tags(addr::BACKUP_VAULT))
        .replace_on(&["encryption_key"])
}

fn role_name(context: &Context<'_>) -> String {
    format!("nc-{}-backup", context.env())
}

fn role_arn(context: &Context<'_>) -> String {
    format!(
        "arn:aws:iam::{}:role{}{}",
        context.target.account_id,
        addr::IAM_PATH,
        role_name(context)
    )
}

fn role(context: &Context<'_>) -> Resource {
    let managed = MANAGED_POLICIES
        .iter()
        .map(|arn| Value::str(*arn))
        .collect();
    role::service_role(ROLE, role_name(context), role::trust(SERVICE, None))
        .prop("managed_policies", Value::List(managed))
        .prop(
            "description",
            format!(
                "AWS Backup of the data stores ({}; managed by nc-provision)",
                context.env()
            ),
        )
        .prop("tags", context.tags(ROLE))
}

/// One rule of the plan, as the plan's attributes name it (`rule.<name>.<attribute>`).
struct Rule {
    name: &'static str,
    schedule: &'static str,
    continuous: bool,
}

/// The cron expression of a schedule (UTC; 05:00 is AWS Backup's default start time).
fn cron(schedule: crate::spec::BackupSchedule) -> &'static str {
    match schedule {
        crate::spec::BackupSchedule::Hourly => "cron(0 * ? * * *)",
        crate::spec::BackupSchedule::Daily => "cron(0 5 ? * * *)",
        crate::spec::BackupSchedule::Weekly => "cron(0 5 ? * SUN *)",
    }
}

fn rules(backup: &BackupSpec) -> Vec<Rule> {
    let mut rules = Vec::new();
    if backup.continuous {
        // A continuous rule still has a schedule: AWS Backup snapshots on it whatever does not
        // support continuous backup (the table), and the copy to the DR region runs from it.
        rules.push(Rule {
            name: CONTINUOUS_RULE,
            schedule: cron(backup.schedule),
            continuous: true,
        });
    }
    rules.push(Rule {
        name: backup.schedule.as_str(),
        schedule: cron(backup.schedule),
        continuous: false,
    });
    rules.sort_by_key(|rule| rule.name);
    rules
}

fn plan(context: &Context<'_>, backup: &BackupSpec) -> Resource {
    let rules = rules(backup);
    let vault = LogicalId::new(addr::BACKUP_VAULT);
    let mut resource = Resource::new(
        PLAN,
        Kind::BackupPlan,
        format!("nc-{}-backup", context.env()),
    )
    .prop(
        "rules",
        Value::List(rules.iter().map(|rule| Value::str(rule.name)).collect()),
    )
    .from_spec("rules", "data.backup.schedule")
    .from_spec("rules", "data.backup.continuous")
    .prop("tags", context.tags(PLAN))
    .after(&vault);
    let dr_vault = addr::dr_backup_vault();
    for rule in &rules {
        let attribute = |name: &str| format!("rule.{}.{name}", rule.name);
        resource = resource
            .prop(&attribute("schedule"), rule.schedule)
            .prop(&attribute("target_vault"), vault_name(context))
            .prop(&attribute("delete_after_days"), backup.retention_days)
            .prop(&attribute("continuous"), rule.continuous)
            .from_spec(&attribute("schedule"), "data.backup.schedule")
            .from_spec(
                &attribute("delete_after_days"),
                "data.backup.retention_days",
            )
            .from_spec(&attribute("continuous"), "data.backup.continuous")
            .from_spec(&attribute("copy_to"), "data.backup.copy_to_dr_region")
            .from_spec(
                &attribute("copy_delete_after_days"),
                "data.backup.retention_days",
            );
        let copies = if backup.copy_to_dr_region {
            resource = resource.prop(&attribute("copy_delete_after_days"), backup.retention_days);
            vec![Value::reference(&dr_vault, "arn")]
        } else {
            Vec::new()
        };
        resource = resource.prop(&attribute("copy_to"), Value::List(copies));
    }
    resource
}

/// The ARNs of the resources the plan backs up: the data buckets and the documents table
/// (named as the data module names them; the unit tests hold the two together).
fn selected_arns(context: &Context<'_>) -> Vec<String> {
    let env = context.env();
    let mut arns: Vec<String> = context
        .spec
        .data
        .buckets
        .iter()
        .map(|suffix| {
            format!(
                "arn:aws:s3:::{}",
                context.global_name(&format!("nc-dp-{env}-{suffix}"))
            )
        })
        .collect();
    arns.push(format!(
        "arn:aws:dynamodb:{}:{}:table/nc-dp-{env}-documents",
        context.target.region, context.target.account_id
    ));
    arns.sort();
    arns
}

fn selection(context: &Context<'_>) -> Resource {
    let mut resource = Resource::new(
        SELECTION,
        Kind::BackupSelection,
        format!("nc-{}-backup-data", context.env()),
    )
    .prop("plan", format!("nc-{}-backup", context.env()))
    .prop("iam_role", role_arn(context))
    .prop(
        "resources",
        Value::List(selected_arns(context).into_iter().map(Value::str).collect()),
    )
    .replace_on(&["plan", "iam_role", "resources"])
    .from_spec("resources", "data.buckets")
    .after(&LogicalId::new(PLAN))
    .after(&LogicalId::new(ROLE))
    .after(&LogicalId::new(addr::DOCUMENTS_TABLE));
    for suffix in &context.spec.data.buckets {
        resource = resource.after(&addr::data_bucket(suffix));
    }
    resource
}

#[cfg(test)]
mod tests;
