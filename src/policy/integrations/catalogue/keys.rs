//! Services that use the account's KMS keys: CloudWatch Logs, CloudWatch alarms (through an
//! encrypted topic), S3 default encryption and DynamoDB.

use super::super::resolve::Graph;
use super::{
    ALARM_TOPIC_KEY, BUCKET_KEY, LOGS_KEY, Out, PolicyAt, TABLE_KEY, at, encrypted, identity,
    service,
};
use crate::model::Kind;
use crate::model::{Resource, Value};
use crate::policy::eval::{Principal, Request};

/// CloudWatch Logs encrypts and decrypts a group's data with `kms:EncryptionContext:aws:logs:arn`
/// set to the group's ARN.
pub(super) fn log_group_keys(out: &mut Out<'_>) {
    let graph = out.graph;
    let (_, region) = out.place();
    let principal = service(&format!("logs.{region}.amazonaws.com"));
    for (group, key, grant) in encrypted(graph, Kind::LogGroup, "kms_key") {
        let group_arn = graph.arn(group);
        for action in ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"] {
            let request = Request::new(principal.clone(), action, key.clone())
                .with("kms:EncryptionContext:aws:logs:arn", group_arn.clone());
            out.require(&LOGS_KEY, group, true, request, vec![grant.clone()]);
        }
    }
}

/// CloudWatch publishes an alarm to an encrypted topic with kms:GenerateDataKey* and
/// kms:Decrypt on the topic's key, as `cloudwatch.amazonaws.com`.
pub(super) fn topic_keys(out: &mut Out<'_>) {
    let graph = out.graph;
    for (topic, key, grant) in encrypted(graph, Kind::SnsTopic, "kms_key") {
        let notified = graph.of_kind(Kind::CloudWatchAlarm).any(|alarm| {
            matches!(alarm.props.get("alarm_actions"), Some(Value::List(actions))
                if actions.iter().any(|a| matches!(a, Value::Ref(r) if r.id == topic.id)))
        });
        if !notified {
            continue;
        }
        for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
            let request = Request::new(service("cloudwatch.amazonaws.com"), action, key.clone());
            out.require(&ALARM_TOPIC_KEY, topic, true, request, vec![grant.clone()]);
        }
    }
}

/// A role writing an SSE-KMS bucket makes S3 call kms:GenerateDataKey (and kms:Decrypt) on the
/// bucket's key as that role, through S3 (`kms:ViaService`), with the bucket's ARN as
/// encryption context (S3 Bucket Keys). The key policy must allow it (directly or by
/// delegating to IAM through the account root), the role's policies must allow it, and so must
/// its permission boundary.
pub(super) fn bucket_keys(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = out.place();
    for (bucket, key, grant) in encrypted(graph, Kind::S3Bucket, "sse_kms_key") {
        // A standby bucket lives in the DR region: S3 calls KMS there.
        let region = bucket.region.as_deref().unwrap_or(&region);
        // KMS sets kms:ResourceAliases to the key's aliases on every request for a key
        // (AWS KMS developer guide, conditions-kms: kms:ResourceAliases).
        let aliases: Vec<&str> = match bucket.props.get("sse_kms_key") {
            Some(Value::Ref(reference)) => graph
                .get(&reference.id)
                .and_then(|key| key.str_prop("alias"))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        for role in graph.of_kind(Kind::IamRole) {
            if written_objects(graph, role, &bucket.name).is_empty() {
                continue;
            }
            for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
                let request = Request::new(Principal::Aws(graph.arn(role)), action, key.clone())
                    .with("kms:ViaService", format!("s3.{region}.amazonaws.com"))
                    .with("kms:CallerAccount", account.clone())
                    .with("kms:EncryptionContext:aws:s3:arn", graph.arn(bucket))
                    .with_values("kms:ResourceAliases", &aliases);
                out.require(
                    &BUCKET_KEY,
                    bucket,
                    false,
                    request.clone(),
                    vec![grant.clone()],
                );
                out.require(
                    &BUCKET_KEY,
                    bucket,
                    false,
                    request.clone(),
                    identity(graph, role),
                );
                if let Some(boundary) = graph.boundary(role) {
                    out.require(
                        &BUCKET_KEY,
                        bucket,
                        false,
                        request,
                        vec![at(boundary, "policy")],
                    );
                }
            }
        }
    }
}

/// Object ARNs under `bucket` that a role's own policies name with s3:PutObject (its probes):
/// each pattern whose bucket part matches the bucket, with its wildcards filled in.
fn written_objects(graph: &Graph<'_>, role: &Resource, bucket: &str) -> Vec<String> {
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let probe = |pattern: &str| {
        let (bucket_part, key) = pattern.split_once('/')?;
        crate::policy::eval::glob(bucket_part, &bucket_arn)
            .then(|| format!("{bucket_arn}/{}", key.replace(['*', '?'], "x")))
    };
    let mut objects = Vec::new();
    for (holder, attribute) in graph.identity_policies(role) {
        let Some(document) = graph.get(&holder).and_then(|h| graph.policy(h, &attribute)) else {
            continue;
        };
        let statements = match document.get("Statement") {
            Some(serde_json::Value::Array(items)) => items.clone(),
            Some(single) => vec![single.clone()],
            None => Vec::new(),
        };
        for statement in statements {
            let allows_put = statement.get("Effect").and_then(|e| e.as_str()) == Some("Allow")
                && json_strings(statement.get("Action")).iter().any(|action| {
                    crate::policy::eval::glob(&action.to_lowercase(), "s3:putobject")
                });
            if !allows_put {
                continue;
            }
            objects.extend(
                json_strings(statement.get("Resource"))
                    .iter()
                    .filter_map(|resource| probe(resource)),
            );
        }
    }
    objects.sort();
    objects.dedup();
    objects
}

fn json_strings(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::String(text)) => vec![text.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Creating a table with a customer managed key makes DynamoDB create a grant and describe the
/// key on behalf of the caller (`kms:ViaService` dynamodb, `kms:CallerAccount`); the key policy
/// must allow the account's principals that.
pub(super) fn table_keys(out: &mut Out<'_>) {
    let graph = out.graph;
    let (_, region) = out.place();
    for (table, key, grant) in encrypted(graph, Kind::DynamoDbTable, "sse_kms_key") {
        dynamodb_key_use(out, table, &key, &grant, &region);
    }
}

/// What DynamoDB does with a table's key (its own, or a replica's) on behalf of the caller,
/// through DynamoDB in the key's region `key_region`: it creates a grant, describes the key,
/// decrypts and makes data keys.
pub(super) fn dynamodb_key_use(
    out: &mut Out<'_>,
    table: &Resource,
    key: &str,
    grant: &PolicyAt,
    key_region: &str,
) {
    let (account, _) = out.place();
    let caller = Principal::Aws(format!("arn:aws:iam::{account}:role/nc-provision-caller"));
    for action in [
        "kms:CreateGrant",
        "kms:DescribeKey",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    ] {
        let request = Request::new(caller.clone(), action, key)
            .with(
                "kms:ViaService",
                format!("dynamodb.{key_region}.amazonaws.com"),
            )
            .with("kms:CallerAccount", account.clone());
        out.require(&TABLE_KEY, table, true, request, vec![grant.clone()]);
    }
}
