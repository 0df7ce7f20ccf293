//! The addresses modules share: the logical ids and names one module's resources are
//! referenced by from another's. Modules never import each other; like a root module wiring
//! one module's outputs into another's inputs, every cross-module reference goes through here.

use crate::model::LogicalId;

/// Logical id of the data key (`alias/nc-dp-data-{env}`), from the kms module.
pub const DATA_KEY: &str = "kms.key.data";
/// Logical id of the logs key (`alias/nc-dp-logs-{env}`), from the kms module.
pub const LOGS_KEY: &str = "kms.key.logs";
/// The path every role and policy of the tool lives under (iam module).
pub const IAM_PATH: &str = "/nc/";
/// Logical id of the Lambda ETL role (iam module), named in the data key's policy.
pub const LAMBDA_ETL_ROLE: &str = "iam.role.lambda-etl";
/// Logical id of the Fargate task role (iam module), named in the data key's policy.
pub const FARGATE_TASK_ROLE: &str = "iam.role.fargate-task";
/// The name prefix of the vpc module's flow-log groups, by which the observability module
/// finds them to watch their REJECT records.
pub const FLOW_LOG_PREFIX: &str = "/aws/vpc/flow-logs/";
/// Logical id of the operations topic (observability module; absent in dev).
pub const OPS_TOPIC: &str = "observability.topic.operations";

/// The logical id of the data key.
#[must_use]
pub fn data_key() -> LogicalId {
    LogicalId::new(DATA_KEY)
}

/// The logical id of the logs key.
#[must_use]
pub fn logs_key() -> LogicalId {
    LogicalId::new(LOGS_KEY)
}

pub use crate::model::STANDBY_PREFIX;

/// The logical id of the standby copy of resource `id` in the DR region.
#[must_use]
pub fn standby(id: &str) -> LogicalId {
    LogicalId::new(format!("{STANDBY_PREFIX}{id}"))
}

/// The logical id of the DR region's data key, kept by the primary apply (replicas are
/// encrypted with it).
#[must_use]
pub fn dr_data_key() -> LogicalId {
    standby(DATA_KEY)
}

/// The logical id of the data bucket `suffix`'s replica bucket in the DR region, kept by the
/// primary apply.
#[must_use]
pub fn dr_data_bucket(suffix: &str) -> LogicalId {
    standby(&data_bucket(suffix).0)
}

/// The logical id of the data bucket `suffix` (data module).
#[must_use]
pub fn data_bucket(suffix: &str) -> LogicalId {
    LogicalId::new(format!("data.bucket.{suffix}"))
}

/// Logical id of the documents table (data module), which the backup module selects.
pub const DOCUMENTS_TABLE: &str = "data.table.documents";

/// Logical id of the backup vault (backup module); in the DR region, the vault the copies go to.
pub const BACKUP_VAULT: &str = "backup.vault";

/// The logical id of the DR region's backup vault, kept by the primary apply (each recovery
/// point is copied to it).
#[must_use]
pub fn dr_backup_vault() -> LogicalId {
    standby(BACKUP_VAULT)
}
