//! The data stores named by the environment: the raw and norm buckets and the documents table.

use serde_json::json;

use super::{Context, addr};
use crate::model::Kind;
use crate::model::{Resource, Value};

mod replication;

pub(super) fn expand(context: &Context<'_>) -> Vec<Resource> {
    let mut resources: Vec<Resource> = context
        .spec
        .data
        .buckets
        .iter()
        .enumerate()
        .map(|(index, suffix)| {
            bucket(context, suffix).declared_by(&format!("data.buckets[{index}]"))
        })
        .collect();
    resources.push(documents_table(context));
    resources.extend(replication::expand(context));
    resources
}

/// The name of data bucket `suffix` in the context's region.
fn bucket_name(context: &Context<'_>, suffix: &str) -> String {
    context.global_name(&format!("nc-dp-{}-{suffix}", context.env()))
}

fn bucket(context: &Context<'_>, suffix: &str) -> Resource {
    let id = addr::data_bucket(suffix).0;
    let name = bucket_name(context, suffix);
    let data_key = addr::data_key();
    Resource::new(&id, Kind::S3Bucket, name.clone())
        .prop("versioning", "Enabled")
        .prop("sse_algorithm", "aws:kms")
        .prop("sse_kms_key", Value::reference(&data_key, "arn"))
        .prop("bucket_key", true)
        .prop("block_public_acls", true)
        .prop("ignore_public_acls", true)
        .prop("block_public_policy", true)
        .prop("restrict_public_buckets", true)
        .prop("policy", Value::Policy(tls_only_policy(&name)))
        .prop("tags", context.tags(&id))
}

/// Denies every request that does not use TLS.
fn tls_only_policy(bucket: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    })
}

fn documents_table(context: &Context<'_>) -> Resource {
    let id = "data.table.documents";
    let table = &context.spec.data.documents_table;
    let mut resource = Resource::new(
        id,
        Kind::DynamoDbTable,
        format!("nc-dp-{}-documents", context.env()),
    )
    .prop("billing_mode", "PAY_PER_REQUEST")
    .prop("partition_key", "pk:S")
    .prop("sort_key", "sk:S")
    .prop("sse_type", "KMS")
    .prop("sse_kms_key", Value::reference(&addr::data_key(), "arn"))
    .prop("point_in_time_recovery", table.point_in_time_recovery)
    .prop("deletion_protection", table.deletion_protection)
    .prop("tags", context.tags(id))
    .replace_on(&["partition_key", "sort_key"])
    .declared_by("data.documents_table")
    .from_spec(
        "point_in_time_recovery",
        "data.documents_table.point_in_time_recovery",
    )
    .from_spec(
        "pitr_recovery_period_days",
        "data.documents_table.backup_retention_days",
    )
    .from_spec(
        "deletion_protection",
        "data.documents_table.deletion_protection",
    );
    if table.point_in_time_recovery
        && let Some(days) = table.backup_retention_days
    {
        resource = resource.prop("pitr_recovery_period_days", days);
    }
    if let Some(dr) = replication::dr_region(context) {
        resource = global_table_replica(context, resource, dr);
    }
    resource
}

/// The documents table as a global table (version 2019.11.21) with a replica in the DR region:
/// encrypted with the DR data key, with the table's own point-in-time recovery, deletion
/// protection and tags (a replica does not inherit them; they are set in the DR region). The
/// replica is added to the live table by UpdateTable (never a replacement), and it is what a
/// DR rebuild finds as the DR region's own documents table.
fn global_table_replica(context: &Context<'_>, table: Resource, dr: &str) -> Resource {
    let id = table.id.as_str().to_string();
    let recovery = table.bool_prop("point_in_time_recovery").unwrap_or(false);
    let protection = table.bool_prop("deletion_protection").unwrap_or(false);
    let mut table = table
        .prop("replicas", Value::List(vec![Value::str(dr)]))
        .prop(
            "replica_kms_key",
            Value::reference(&addr::dr_data_key(), "arn"),
        )
        .prop("replica_point_in_time_recovery", recovery)
        .prop("replica_deletion_protection", protection)
        .prop("replica_tags", context.tags(&id))
        .from_spec("replicas", "data.replicate_to_dr_region")
        .from_spec("replicas", "environment.dr_region")
        // The replica key must exist (and allow DynamoDB) before the replica is made.
        .after(&addr::dr_data_key());
    if let Some(days) = table.int_prop("pitr_recovery_period_days") {
        table = table.prop("replica_pitr_recovery_period_days", days);
    }
    table
}
