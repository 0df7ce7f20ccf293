//! S3 replication into the DR region's standby: S3 assumes the replication role, reads the
//! source bucket's configuration and object versions, writes the replicas, decrypts with the
//! source bucket's key and encrypts with the replica key.
//!
//! As the S3 user guide states them:
//! - *Setting up permissions for live replication*
//!   (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html>):
//!   the role trusts `s3.amazonaws.com`; it may `s3:GetReplicationConfiguration` and
//!   `s3:ListBucket` on the source bucket, `s3:GetObjectVersionForReplication`,
//!   `s3:GetObjectVersionAcl` and `s3:GetObjectVersionTagging` on its objects, and
//!   `s3:ReplicateObject`, `s3:ReplicateDelete` (delete markers) and `s3:ReplicateTags` on the
//!   destination's objects.
//! - *Replicating encrypted objects*
//!   (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html>):
//!   the role decrypts source objects with `kms:Decrypt` on the source key and encrypts
//!   replicas with `kms:Encrypt` on the replica key, each through S3 in the key's region
//!   (`kms:ViaService` `s3.<region>.amazonaws.com`, encryption context `aws:s3:arn` = the
//!   bucket's ARN with S3 Bucket Keys); both key policies must allow it (here they delegate
//!   to IAM through the account root statement) and so must the role's identity policy.
//! - *S3 Replication Time Control*
//!   (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-time-control.html>)
//!   needs no permission beyond these.

use super::keys::dynamodb_key_use;
use super::{Out, REPLICATION, identity, key_grant, service};
use crate::model::Kind;
use crate::policy::eval::{Principal, Request};

/// Every requirement of the replication into the DR region: the buckets' and the table's.
pub(super) fn replication(out: &mut Out<'_>) {
    buckets(out);
    table_replicas(out);
}

/// A global table's replica is encrypted with `replica_kms_key` by DynamoDB in the key's
/// region, which creates a grant and uses the key on behalf of the caller (as for the table's
/// own key, `table_keys`), through `dynamodb.<replica region>.amazonaws.com`.
fn table_replicas(out: &mut Out<'_>) {
    let graph = out.graph;
    let (_, region) = out.place();
    for table in graph.of_kind(Kind::DynamoDbTable) {
        let Some((key, grant)) = key_grant(graph, table, "replica_kms_key") else {
            continue;
        };
        let key_region = graph
            .referenced(table, "replica_kms_key")
            .and_then(|key| key.region.clone())
            .unwrap_or_else(|| region.clone());
        dynamodb_key_use(out, table, &key, &grant, &key_region);
    }
}

/// Every requirement of each bucket's replication configuration.
fn buckets(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = out.place();
    for (configuration, role) in graph.linked(Kind::S3BucketReplication, "role_arn") {
        let context = [("aws:SourceAccount", account.clone())];
        let s3 = (service("s3.amazonaws.com"), role);
        out.require_assume(&REPLICATION, configuration, true, s3, &context);
        let principal = Principal::Aws(graph.arn(role));
        let mut grants = identity(graph, role);
        if let Some(boundary) = graph.boundary(role) {
            grants.push(super::at(boundary, "policy"));
        }
        let source = graph.bucket(&configuration.name);
        let replica = graph.referenced(configuration, "destination_bucket");
        let mut requests = Vec::new();
        if let Some(source) = source {
            let arn = graph.arn(source);
            let object = format!("{arn}/documents/x.json");
            for action in ["s3:GetReplicationConfiguration", "s3:ListBucket"] {
                requests.push(Request::new(principal.clone(), action, arn.clone()));
            }
            for action in [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ] {
                requests.push(Request::new(principal.clone(), action, object.clone()));
            }
        }
        if let Some(replica) = replica {
            let object = format!("{}/documents/x.json", graph.arn(replica));
            for action in [
                "s3:ReplicateObject",
                "s3:ReplicateDelete",
                "s3:ReplicateTags",
            ] {
                requests.push(Request::new(principal.clone(), action, object.clone()));
            }
        }
        for request in requests {
            out.require(&REPLICATION, configuration, true, request, grants.clone());
        }
        // The keys: the source bucket's (decrypt, in the primary region) and the replica key
        // (encrypt, in the replica bucket's region).
        let keys = [
            source.and_then(|bucket| {
                let (key, policy) = key_grant(graph, bucket, "sse_kms_key")?;
                Some(("kms:Decrypt", key, policy, bucket))
            }),
            replica.and_then(|bucket| {
                let (key, policy) = key_grant(graph, configuration, "replica_kms_key")?;
                Some(("kms:Encrypt", key, policy, bucket))
            }),
        ];
        for (action, key, policy, bucket) in keys.into_iter().flatten() {
            let bucket_region = bucket.region.as_deref().unwrap_or(&region);
            let request = Request::new(principal.clone(), action, key)
                .with(
                    "kms:ViaService",
                    format!("s3.{bucket_region}.amazonaws.com"),
                )
                .with("kms:CallerAccount", account.clone())
                .with("kms:EncryptionContext:aws:s3:arn", graph.arn(bucket));
            out.require(
                &REPLICATION,
                configuration,
                true,
                request.clone(),
                vec![policy],
            );
            out.require(&REPLICATION, configuration, true, request, grants.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{DesiredGraph, Resource, Value};
    use crate::policy::integrations::{Denial, prove};
    use crate::spec::Spec;

    fn prod() -> (Spec, crate::plan::Target, Vec<Resource>) {
        let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
        let spec = crate::spec::load(&specs, "prod").expect("the repository's specs are valid");
        let target = crate::engine::offline_target(&spec, Some("us-east-1"), Some("123456789012"));
        let resources = crate::modules::expand(&spec, &target)
            .expect("a well-formed graph")
            .resources()
            .to_vec();
        (spec, target, resources)
    }

    fn proven(spec: &Spec, target: &crate::plan::Target, resources: Vec<Resource>) -> Vec<Denial> {
        prove(
            &DesiredGraph::new(resources).expect("a graph"),
            target,
            spec,
        )
    }

    /// `resources` with the statement `sid` of `holder`'s `attribute` removed.
    fn without(
        mut resources: Vec<Resource>,
        holder: &str,
        attribute: &str,
        sid: &str,
    ) -> Vec<Resource> {
        let resource = resources
            .iter_mut()
            .find(|r| r.id.as_str() == holder)
            .unwrap_or_else(|| panic!("{holder} is in the graph"));
        let Some(Value::Policy(document)) = resource.props.get_mut(attribute) else {
            panic!("{holder} {attribute} is a policy");
        };
        let statements = document["Statement"].as_array_mut().expect("statements");
        let before = statements.len();
        statements.retain(|s| s["Sid"] != sid);
        assert_eq!(statements.len(), before - 1, "{sid} removed");
        resources
    }

    #[test]
    fn prod_replication_is_allowed_as_the_modules_write_it() {
        let (spec, target, resources) = prod();
        let found = crate::policy::integrations::requirements(&resources, &target, &spec);
        let replication: Vec<_> = found
            .iter()
            .filter(|r| std::ptr::eq(r.integration, &super::REPLICATION))
            .collect();
        // Per bucket: trust, 8 S3 actions, 2 keys × (key policy, identity).
        assert_eq!(replication.len(), 2 * (1 + 8 + 4), "{replication:#?}");
        let denials = proven(&spec, &target, resources);
        assert!(denials.is_empty(), "{denials:#?}");
    }

    #[test]
    fn each_missing_permission_of_the_replication_role_is_denied() {
        let role = "data.replication.role";
        let policy = "inline_policy.replicate-to-dr-region";
        let cases = [
            (
                policy,
                "ReadSourceBuckets",
                "s3:GetReplicationConfiguration",
            ),
            (
                policy,
                "ReadSourceObjectVersions",
                "s3:GetObjectVersionForReplication",
            ),
            (policy, "WriteReplicas", "s3:ReplicateObject"),
            (policy, "DecryptSourceObjects", "kms:Decrypt"),
            (policy, "EncryptReplicas", "kms:Encrypt"),
        ];
        for (attribute, sid, action) in cases {
            let (spec, target, resources) = prod();
            let denials = proven(&spec, &target, without(resources, role, attribute, sid));
            let texts: Vec<String> = denials.iter().map(ToString::to_string).collect();
            assert!(
                texts
                    .iter()
                    .any(|text| text.contains("data.replication.raw")
                        && text.contains(action)
                        && text.contains(super::REPLICATION.source)),
                "{sid}: no denial of {action} among {texts:#?}"
            );
        }
        let (spec, target, mut resources) = prod();
        let role = resources
            .iter_mut()
            .find(|r| r.id.as_str() == role)
            .expect("the role");
        role.props.insert(
            "assume_role_policy".into(),
            Value::Policy(serde_json::json!({"Version": "2012-10-17", "Statement": []})),
        );
        let denials = proven(&spec, &target, resources);
        assert!(
            denials.iter().any(|d| d
                .to_string()
                .contains("sts:AssumeRole by service s3.amazonaws.com")),
            "{denials:#?}"
        );
    }

    #[test]
    fn the_table_replica_waits_for_the_dr_key_policy_that_lets_dynamodb_use_it() {
        let (_, _, resources) = prod();
        let table = resources
            .iter()
            .find(|r| r.id.as_str() == "data.table.documents")
            .expect("the table");
        assert!(
            table
                .depends_on
                .iter()
                .any(|id| id.as_str() == "dr.kms.key_policy.data"),
            "{:?}",
            table.depends_on
        );
    }

    #[test]
    fn the_dr_key_policy_must_let_the_account_delegate_the_encrypt() {
        let (spec, target, resources) = prod();
        let resources = without(
            resources,
            "dr.kms.key_policy.data",
            "policy",
            "EnableRootAccountPermissions",
        );
        let denials = proven(&spec, &target, resources);
        assert!(
            denials.iter().any(|d| {
                let text = d.to_string();
                text.contains("data.replication.norm")
                    && text.contains("kms:Encrypt")
                    && text.contains("dr.kms.key_policy.data")
            }),
            "{denials:#?}"
        );
    }
}
