//! Replication of the data buckets into the DR region's standby, applied by the primary apply
//! (`data.replicate_to_dr_region`): one replication configuration per data bucket and the IAM
//! role S3 replicates through.
//!
//! Each configuration has one rule, enabled, for the whole bucket: objects encrypted with the
//! data key are selected (`SourceSelectionCriteria.SseKmsEncryptedObjects`, without which S3
//! skips SSE-KMS objects), written to the bucket's replica in the DR region
//! ([`addr::dr_data_bucket`]) and encrypted there with the DR data key
//! ([`addr::dr_data_key`], `ReplicaKmsKeyID`), under S3 Replication Time Control (15 minutes,
//! the environment's RPO) with replication metrics (15 minutes).
//!
//! Delete markers are replicated: the standby shows what the primary shows, so a failover does
//! not bring deleted objects back. S3 never replicates the deletion of an object *version*, so a
//! deletion in the primary (mistaken or malicious) stays recoverable from the replica's
//! versions.
//!
//! The role follows the S3 user guide, *Setting up permissions for live replication*
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html>)
//! and *Replicating encrypted objects*
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html>):
//! trust for `s3.amazonaws.com` only; reads of the source buckets' configuration and object
//! versions; replicate, delete-marker and tag writes on the replica buckets' objects only;
//! `kms:Decrypt` on the data key through S3 in the primary region and `kms:Encrypt` on the DR
//! data key through S3 in the DR region, each for its own buckets' encryption context. IAM is
//! global, so the primary apply makes the role (`nc-<env>-s3-replication-<primary code>`, kept
//! as the primary region's own); a DR rebuild never needs it (replication runs from the
//! primary).
//! RTC: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-time-control.html>.

use serde_json::json;

use crate::model::{Kind, LogicalId, Resource, Value, policy_ref};
use crate::modules::{Context, addr, region_code, role};

/// Logical id of the replication role.
pub(super) const ROLE: &str = "data.replication.role";
/// The name of the role's one inline policy.
pub(super) const ROLE_POLICY: &str = "replicate-to-dr-region";
/// The id of the one rule of each configuration.
pub(super) const RULE_ID: &str = "replicate-to-dr-region";
/// S3 Replication Time Control's threshold and the metrics' event threshold (the only value
/// S3 accepts): the RPO of the data buckets.
pub(super) const RTC_MINUTES: i64 = 15;

/// The DR region the data replicates to: set only in the primary region of an environment with
/// `data.replicate_to_dr_region` and a DR region other than the primary.
pub(super) fn dr_region<'a>(context: &Context<'a>) -> Option<&'a str> {
    let environment = &context.spec.environment;
    let dr = environment.dr_region.as_deref()?;
    (context.target.primary_region
        && context.spec.data.replicate_to_dr_region
        && dr != environment.region)
        .then_some(dr)
}

/// The replication role and one replication configuration per data bucket (nothing unless
/// [`dr_region`] is set).
pub(super) fn expand(context: &Context<'_>) -> Vec<Resource> {
    let Some(dr) = dr_region(context) else {
        return Vec::new();
    };
    let suffixes = &context.spec.data.buckets;
    let mut resources = vec![role(context, dr)];
    resources.extend(suffixes.iter().map(|suffix| configuration(context, suffix)));
    resources
}

/// The replication configuration of data bucket `suffix` (named as the source bucket).
fn configuration(context: &Context<'_>, suffix: &str) -> Resource {
    let id = format!("data.replication.{suffix}");
    let source = addr::data_bucket(suffix);
    let replica = addr::dr_data_bucket(suffix);
    Resource::new(
        &id,
        Kind::S3BucketReplication,
        super::bucket_name(context, suffix),
    )
    .prop("role_arn", Value::reference(&LogicalId::new(ROLE), "arn"))
    .prop("rule_id", RULE_ID)
    .prop("rule_status", "Enabled")
    .prop("rule_priority", 1)
    .prop("rule_count", 1)
    .prop("filter_prefix", "")
    .prop("delete_marker_replication", "Enabled")
    .prop("sse_kms_encrypted_objects", "Enabled")
    .prop("destination_bucket", Value::reference(&replica, "arn"))
    .prop(
        "replica_kms_key",
        Value::reference(&addr::dr_data_key(), "arn"),
    )
    .prop("replication_time_minutes", RTC_MINUTES)
    .prop("metrics_minutes", RTC_MINUTES)
    // Replication needs versioning on the source (set by its bucket) and the replica.
    .after(&source)
    .after(&replica)
    .declared_by("data.replicate_to_dr_region")
}

/// The role S3 assumes to replicate the data buckets into the DR region.
/// The statement allowing `action` on `key` through S3 in `region`, for objects of the
/// buckets whose ARNs (and objects' ARNs) are `context`: S3 Bucket Keys make the encryption
/// context the bucket's ARN.
fn through_s3(
    sid: &str,
    action: &str,
    key: &LogicalId,
    region: &str,
    context: &[String],
) -> serde_json::Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": action,
        "Resource": policy_ref(key, "arn"),
        "Condition": {
            "StringEquals": {"kms:ViaService": format!("s3.{region}.amazonaws.com")},
            "StringLike": {"kms:EncryptionContext:aws:s3:arn": context}
        }
    })
}

fn role(context: &Context<'_>, dr: &str) -> Resource {
    let env = context.env();
    let primary = &context.target.region;
    let suffixes = &context.spec.data.buckets;
    let arns = |id: fn(&str) -> LogicalId, objects: bool| -> Vec<String> {
        suffixes
            .iter()
            .map(|suffix| {
                let arn = policy_ref(&id(suffix), "arn");
                if objects { format!("{arn}/*") } else { arn }
            })
            .collect()
    };
    let sources = arns(addr::data_bucket, false);
    let source_objects = arns(addr::data_bucket, true);
    let replicas = arns(addr::dr_data_bucket, false);
    let replica_objects = arns(addr::dr_data_bucket, true);
    // With S3 Bucket Keys the encryption context is the bucket's ARN, else the object's.
    let source_context = [sources.clone(), source_objects.clone()].concat();
    let replica_context = [replicas, replica_objects.clone()].concat();
    let name = format!("nc-{env}-s3-replication-{}", region_code(primary));
    let role = role::service_role(ROLE, name, role::trust("s3.amazonaws.com", None));
    let permissions = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSourceBuckets",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": sources.clone()
            },
            {
                "Sid": "ReadSourceObjectVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging"
                ],
                "Resource": source_objects.clone()
            },
            {
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                "Resource": replica_objects.clone()
            },
            through_s3(
                "DecryptSourceObjects",
                "kms:Decrypt",
                &addr::data_key(),
                primary,
                &source_context
            ),
            through_s3(
                "EncryptReplicas",
                "kms:Encrypt",
                &addr::dr_data_key(),
                dr,
                &replica_context
            )
        ]
    });
    role::with_inline_policy(role, ROLE_POLICY, permissions)
        .prop(
            "description",
            format!("Replicates the {env} data buckets into {dr} (managed by nc-provision)"),
        )
        .prop("tags", context.tags(ROLE))
        // The primary region's replication role (its name carries the region): made by the
        // primary apply, never expanded elsewhere; a DR rebuild does not need it.
        .regional()
}

#[cfg(test)]
mod tests {
    use crate::model::{Kind, LogicalId, Value};
    use crate::modules::tests::graph_for;

    #[test]
    fn prod_replicates_each_data_bucket_to_its_replica_under_rtc() {
        let graph = graph_for("prod", &["us-east-1a", "us-east-1b"]);
        let configurations: Vec<_> = graph
            .resources()
            .iter()
            .filter(|r| r.kind == Kind::S3BucketReplication)
            .collect();
        assert_eq!(configurations.len(), 2, "one per data bucket");
        let raw = graph
            .get(&LogicalId::new("data.replication.raw"))
            .expect("raw's configuration");
        assert_eq!(raw.name, "nc-dp-prod-raw", "named as the source bucket");
        assert_eq!(
            raw.props["destination_bucket"],
            Value::reference(&LogicalId::new("dr.data.bucket.raw"), "arn")
        );
        assert_eq!(
            raw.props["replica_kms_key"],
            Value::reference(&LogicalId::new("dr.kms.key.data"), "arn")
        );
        assert_eq!(
            raw.props["role_arn"],
            Value::reference(&LogicalId::new("data.replication.role"), "arn")
        );
        assert_eq!(raw.str_prop("rule_status"), Some("Enabled"));
        assert_eq!(raw.str_prop("sse_kms_encrypted_objects"), Some("Enabled"));
        assert_eq!(raw.int_prop("replication_time_minutes"), Some(15));
        assert_eq!(raw.int_prop("metrics_minutes"), Some(15));
        for dependency in ["data.bucket.raw", "dr.data.bucket.raw"] {
            assert!(
                raw.depends_on.contains(&LogicalId::new(dependency)),
                "waits for {dependency} (versioned on both sides)"
            );
        }
        let role = graph
            .get(&LogicalId::new("data.replication.role"))
            .expect("the replication role");
        assert_eq!(role.name, "nc-prod-s3-replication-use1");
        assert!(role.region.is_none(), "IAM is made by the primary apply");
        assert!(
            !role.global,
            "the primary region's own role, not expanded in DR"
        );
    }

    #[test]
    fn nothing_replicates_without_the_flag_or_outside_the_primary() {
        for (env, zones) in [
            ("stg", &["us-east-1a"][..]),
            ("prod", &["ca-central-1a"][..]),
            ("dev", &["us-east-1a"][..]),
        ] {
            let graph = graph_for(env, zones);
            assert!(
                graph.resources().iter().all(|r| {
                    r.kind != Kind::S3BucketReplication && r.id.as_str() != "data.replication.role"
                }),
                "{env} in {zones:?}"
            );
        }
    }
}
