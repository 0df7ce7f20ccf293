//! The entries of the catalogue: for each integration, the requests the acting service makes
//! (as its AWS documentation states them) and the policies of the desired graph that decide
//! them.

use super::resolve::Graph;
use super::{Integration, PolicyAt, Requirement};
use crate::model::Kind;
use crate::model::{LogicalId, Resource, Value};
use crate::policy::eval::{Principal, Request};
use crate::spec::Spec;

/// CloudWatch Logs → the KMS key of an encrypted log group.
pub static LOGS_KEY: Integration = Integration {
    name: "CloudWatch Logs → KMS key of the log group",
    source: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
    failure: "CreateLogGroup fails with AccessDeniedException: the key is not allowed to be used with the log group's ARN",
};
/// CloudWatch alarms → the KMS key of the encrypted SNS topic they notify.
pub static ALARM_TOPIC_KEY: Integration = Integration {
    name: "CloudWatch alarms → KMS key of the encrypted SNS topic",
    source: "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services",
    failure: "the alarm fires but its notification is dropped: CloudWatch cannot encrypt into the topic",
};
/// CloudTrail → the trail's bucket.
pub static TRAIL_BUCKET: Integration = Integration {
    name: "CloudTrail → trail bucket",
    source: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html",
    failure: "CreateTrail fails with InsufficientS3BucketPolicyException",
};
/// CloudTrail → the trail's KMS key.
pub static TRAIL_KEY: Integration = Integration {
    name: "CloudTrail → KMS key of the trail",
    source: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html",
    failure: "CreateTrail fails with InsufficientEncryptionPolicyException",
};
/// CloudTrail → its role → the trail's log group.
pub static TRAIL_LOGS: Integration = Integration {
    name: "CloudTrail → role → trail log group",
    source: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html",
    failure: "CreateTrail fails with InvalidCloudWatchLogsRoleArnException, or no event reaches the log group",
};
/// AWS Config → its role → the delivery bucket.
pub static CONFIG_DELIVERY: Integration = Integration {
    name: "AWS Config → role → delivery bucket",
    source: "https://docs.aws.amazon.com/config/latest/developerguide/iamrole-permissions.html",
    failure: "PutDeliveryChannel fails with InsufficientDeliveryPolicyException",
};
/// EventBridge → a CloudWatch Logs log group target.
pub static EVENTS_LOGS: Integration = Integration {
    name: "EventBridge → log group (Logs resource policy)",
    source: "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-cloudwatchlogs-permissions",
    failure: "the rule's invocations fail (FailedInvocations): no event reaches the log group",
};
/// VPC flow logs → their role → the flow-log group.
pub static FLOW_LOGS: Integration = Integration {
    name: "VPC flow logs → role → flow-log group",
    source: "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html",
    failure: "the flow log reports an access error and delivers no record",
};
/// S3 server access logging → the target bucket.
pub static ACCESS_LOGS: Integration = Integration {
    name: "S3 server access logging → target bucket",
    source: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general",
    failure: "access logs are silently not delivered",
};
/// S3 default encryption (SSE-KMS) → the bucket's key, for a role that writes the bucket.
pub static BUCKET_KEY: Integration = Integration {
    name: "S3 SSE-KMS → bucket key, for a role writing the bucket",
    source: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms",
    failure: "PutObject fails with AccessDenied on kms:GenerateDataKey",
};
/// DynamoDB encryption at rest → the table's key.
pub static TABLE_KEY: Integration = Integration {
    name: "DynamoDB → KMS key of the table",
    source: "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html#dynamodb-kms-authz",
    failure: "CreateTable fails, or the table becomes INACCESSIBLE_ENCRYPTION_CREDENTIALS",
};
/// Workloads → the S3 and DynamoDB gateway endpoints' policies.
pub static ENDPOINT: Integration = Integration {
    name: "workloads → gateway endpoint policy",
    source: "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html#edit-vpc-endpoint-policy-s3",
    failure: "requests through the endpoint get AccessDenied",
};
/// Workloads → ECR image layers through the S3 gateway endpoint.
pub static ECR_LAYERS: Integration = Integration {
    name: "workloads → ECR image layers through the S3 gateway endpoint",
    source: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-minimum-s3-perms",
    failure: "image pulls fail with CannotPullContainerError",
};
/// The security and logs accounts → the cross-account roles.
pub static CROSS_ACCOUNT_ROLE: Integration = Integration {
    name: "security/logs account → cross-account role",
    source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html",
    failure: "AssumeRole from the other account fails with AccessDenied",
};
/// The security and logs accounts → the keys.
pub static CROSS_ACCOUNT_KEY: Integration = Integration {
    name: "security/logs account → KMS key",
    source: "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html",
    failure: "the other account's DescribeKey or Decrypt fails with AccessDenied",
};

/// Every integration of the catalogue.
pub static CATALOGUE: [&Integration; 15] = [
    &LOGS_KEY,
    &ALARM_TOPIC_KEY,
    &TRAIL_BUCKET,
    &TRAIL_KEY,
    &TRAIL_LOGS,
    &CONFIG_DELIVERY,
    &EVENTS_LOGS,
    &FLOW_LOGS,
    &ACCESS_LOGS,
    &BUCKET_KEY,
    &TABLE_KEY,
    &ENDPOINT,
    &ECR_LAYERS,
    &CROSS_ACCOUNT_ROLE,
    &CROSS_ACCOUNT_KEY,
];

/// The ECR layer bucket of a region (AWS-owned).
#[must_use]
pub fn ecr_layer_bucket(region: &str) -> String {
    format!("prod-{region}-starport-layer-bucket")
}

/// Collects requirements.
struct Out<'g> {
    graph: &'g Graph<'g>,
    found: Vec<Requirement>,
}

impl Out<'_> {
    fn require(
        &mut self,
        integration: &'static Integration,
        consumer: &Resource,
        waits: bool,
        request: Request,
        grants: Vec<PolicyAt>,
    ) {
        self.found.push(Requirement {
            integration,
            consumer: consumer.id.clone(),
            waits,
            request,
            grants,
        });
    }

    fn account(&self) -> &str {
        &self.graph.target.account_id
    }

    fn region(&self) -> &str {
        &self.graph.target.region
    }
}

fn at(resource: &Resource, attribute: &str) -> PolicyAt {
    PolicyAt {
        holder: resource.id.clone(),
        attribute: attribute.to_string(),
    }
}

fn service(name: &str) -> Principal {
    Principal::Service(name.to_string())
}

/// The key a resource's attribute references, as its ARN and the policy deciding its use: the
/// key's `kms_key_policy` resource, or the key's own initial policy when there is none.
fn key_grant(
    graph: &Graph<'_>,
    resource: &Resource,
    attribute: &str,
) -> Option<(String, PolicyAt)> {
    let key = graph.referenced(resource, attribute)?;
    let grant = match graph.key_policy(&key.id) {
        Some(policy) => at(policy, "policy"),
        None => at(key, "policy"),
    };
    Some((graph.arn(key), grant))
}

/// The identity policies of a role, as grants.
fn identity(graph: &Graph<'_>, role: &Resource) -> Vec<PolicyAt> {
    graph
        .identity_policies(role)
        .into_iter()
        .map(|(holder, attribute)| PolicyAt { holder, attribute })
        .collect()
}

/// Every requirement of the integrations the graph configures.
pub(super) fn requirements(graph: &Graph<'_>, spec: &Spec) -> Vec<Requirement> {
    let mut out = Out {
        graph,
        found: Vec::new(),
    };
    log_group_keys(&mut out);
    topic_keys(&mut out);
    trails(&mut out);
    config_delivery(&mut out);
    event_rules(&mut out);
    flow_logs(&mut out);
    access_logging(&mut out);
    bucket_keys(&mut out);
    table_keys(&mut out);
    endpoints(&mut out);
    cross_account(&mut out, spec);
    out.found
}

/// CloudWatch Logs encrypts and decrypts a group's data with `kms:EncryptionContext:aws:logs:arn`
/// set to the group's ARN.
fn log_group_keys(out: &mut Out<'_>) {
    let graph = out.graph;
    let principal = service(&format!("logs.{}.amazonaws.com", out.region()));
    for group in graph.of_kind(Kind::LogGroup) {
        let Some((key, grant)) = key_grant(graph, group, "kms_key") else {
            continue;
        };
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
fn topic_keys(out: &mut Out<'_>) {
    let graph = out.graph;
    for topic in graph.of_kind(Kind::SnsTopic) {
        let notified = graph.of_kind(Kind::CloudWatchAlarm).any(|alarm| {
            matches!(alarm.props.get("alarm_actions"), Some(Value::List(actions))
                if actions.iter().any(|a| matches!(a, Value::Ref(r) if r.id == topic.id)))
        });
        let Some((key, grant)) = key_grant(graph, topic, "kms_key") else {
            continue;
        };
        if !notified {
            continue;
        }
        for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
            let request = Request::new(service("cloudwatch.amazonaws.com"), action, key.clone());
            out.require(&ALARM_TOPIC_KEY, topic, true, request, vec![grant.clone()]);
        }
    }
}

/// CloudTrail checks the bucket ACL and writes under `AWSLogs/{account}/` with the trail's
/// ARN as `aws:SourceArn`; encrypts with the trail's key (`kms:EncryptionContext:aws:cloudtrail:arn`);
/// and assumes its role to write to the log group.
fn trails(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = (out.account().to_string(), out.region().to_string());
    for trail in graph.of_kind(Kind::CloudTrailTrail) {
        let trail_arn = format!("arn:aws:cloudtrail:{region}:{account}:trail/{}", trail.name);
        let cloudtrail = service("cloudtrail.amazonaws.com");
        let from_trail = |request: Request| {
            request
                .with("aws:SourceArn", trail_arn.clone())
                .with("aws:SourceAccount", account.clone())
                .with("aws:SecureTransport", "true")
        };
        if let Some(bucket_name) = graph.text(trail, "s3_bucket") {
            let grants: Vec<PolicyAt> = graph
                .bucket(&bucket_name)
                .map(|bucket| at(bucket, "policy"))
                .into_iter()
                .collect();
            let bucket_arn = format!("arn:aws:s3:::{bucket_name}");
            let acl = Request::new(cloudtrail.clone(), "s3:GetBucketAcl", bucket_arn.clone());
            out.require(&TRAIL_BUCKET, trail, true, from_trail(acl), grants.clone());
            let object = format!(
                "{bucket_arn}/AWSLogs/{account}/CloudTrail/{region}/2026/01/01/{account}_CloudTrail_{region}_x.json.gz"
            );
            let put = Request::new(cloudtrail.clone(), "s3:PutObject", object)
                .with("s3:x-amz-acl", "bucket-owner-full-control");
            out.require(&TRAIL_BUCKET, trail, true, from_trail(put), grants);
        }
        if let Some((key, grant)) = key_grant(graph, trail, "kms_key") {
            let data_key = Request::new(cloudtrail.clone(), "kms:GenerateDataKey", key.clone())
                .with(
                    "kms:EncryptionContext:aws:cloudtrail:arn",
                    trail_arn.clone(),
                )
                .with("aws:SourceArn", trail_arn.clone());
            out.require(&TRAIL_KEY, trail, true, data_key, vec![grant.clone()]);
            let describe = Request::new(cloudtrail.clone(), "kms:DescribeKey", key)
                .with("aws:SourceArn", trail_arn.clone());
            out.require(&TRAIL_KEY, trail, true, describe, vec![grant]);
        }
        if let Some(role) = graph.referenced(trail, "cloudwatch_role_arn") {
            let assume = Request::new(cloudtrail.clone(), "sts:AssumeRole", graph.arn(role))
                .with("aws:SourceAccount", account.clone())
                .with("aws:SourceArn", trail_arn.clone());
            out.require(
                &TRAIL_LOGS,
                trail,
                true,
                assume,
                vec![at(role, "assume_role_policy")],
            );
            let group = graph
                .text(trail, "cloudwatch_log_group_arn")
                .map(|arn| arn.trim_end_matches(":*").to_string())
                .unwrap_or_default();
            let stream = format!("{group}:log-stream:{account}_CloudTrail_{region}");
            let role_arn = Principal::Aws(graph.arn(role));
            for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
                let request = Request::new(role_arn.clone(), action, stream.clone());
                out.require(&TRAIL_LOGS, trail, true, request, identity(graph, role));
            }
        }
    }
}

/// AWS Config assumes its role (trust: `config.amazonaws.com`), then checks the bucket ACL and
/// writes under `{prefix}/AWSLogs/{account}/Config/` with `bucket-owner-full-control`.
fn config_delivery(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = (out.account().to_string(), out.region().to_string());
    for recorder in graph.of_kind(Kind::ConfigRecorder) {
        let Some(role) = graph.referenced(recorder, "role_arn") else {
            continue;
        };
        let assume = Request::new(
            service("config.amazonaws.com"),
            "sts:AssumeRole",
            graph.arn(role),
        )
        .with("aws:SourceAccount", account.clone());
        out.require(
            &CONFIG_DELIVERY,
            recorder,
            true,
            assume,
            vec![at(role, "assume_role_policy")],
        );
        let Some(bucket_name) = graph.text(recorder, "delivery_bucket") else {
            continue;
        };
        let mut grants = identity(graph, role);
        grants.extend(
            graph
                .bucket(&bucket_name)
                .map(|bucket| at(bucket, "policy")),
        );
        let prefix = graph
            .text(recorder, "delivery_prefix")
            .filter(|prefix| !prefix.is_empty())
            .map(|prefix| format!("{prefix}/"))
            .unwrap_or_default();
        let bucket_arn = format!("arn:aws:s3:::{bucket_name}");
        let principal = Principal::Aws(graph.arn(role));
        let acl = Request::new(principal.clone(), "s3:GetBucketAcl", bucket_arn.clone())
            .with("aws:SecureTransport", "true");
        out.require(&CONFIG_DELIVERY, recorder, true, acl, grants.clone());
        let object = format!(
            "{bucket_arn}/{prefix}AWSLogs/{account}/Config/{region}/2026/1/1/ConfigSnapshot/x.json.gz"
        );
        let put = Request::new(principal, "s3:PutObject", object)
            .with("s3:x-amz-acl", "bucket-owner-full-control")
            .with("aws:SecureTransport", "true");
        out.require(&CONFIG_DELIVERY, recorder, true, put, grants);
    }
}

/// EventBridge creates a stream in the target group (no `aws:SourceArn`), then puts events
/// (with the rule's ARN as `aws:SourceArn`), as `events.amazonaws.com`, under the Logs resource
/// policy the rule holds.
fn event_rules(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = (out.account().to_string(), out.region().to_string());
    for rule in graph.of_kind(Kind::EventBridgeRule) {
        let Some(target) = graph.text(rule, "target_arn") else {
            continue;
        };
        if !target.starts_with("arn:aws:logs:") {
            continue;
        }
        let rule_arn = format!("arn:aws:events:{region}:{account}:rule/{}", rule.name);
        let stream = format!("{}:log-stream:x", target.trim_end_matches(":*"));
        let events = service("events.amazonaws.com");
        let grants = vec![at(rule, "delivery_policy")];
        let create = Request::new(events.clone(), "logs:CreateLogStream", stream.clone());
        out.require(&EVENTS_LOGS, rule, true, create, grants.clone());
        let put = Request::new(events, "logs:PutLogEvents", stream).with("aws:SourceArn", rule_arn);
        out.require(&EVENTS_LOGS, rule, true, put, grants);
    }
}

/// The flow-log service assumes the role (`aws:SourceAccount`, `aws:SourceArn` of the flow
/// log), which must create streams, put events and describe the group and its streams. The
/// group is created by the tool, so `logs:CreateLogGroup` is not needed.
fn flow_logs(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = (out.account().to_string(), out.region().to_string());
    for flow_log in graph.of_kind(Kind::FlowLog) {
        let Some(role) = graph.referenced(flow_log, "deliver_logs_permission_arn") else {
            continue;
        };
        let assume = Request::new(
            service("vpc-flow-logs.amazonaws.com"),
            "sts:AssumeRole",
            graph.arn(role),
        )
        .with("aws:SourceAccount", account.clone())
        .with(
            "aws:SourceArn",
            format!("arn:aws:ec2:{region}:{account}:vpc-flow-log/fl-0123456789abcdef0"),
        );
        out.require(
            &FLOW_LOGS,
            flow_log,
            true,
            assume,
            vec![at(role, "assume_role_policy")],
        );
        let Some(group) = graph.referenced(flow_log, "log_group_name") else {
            continue;
        };
        let group_arn = graph.arn(group);
        let stream = format!("{group_arn}:log-stream:eni-0123456789abcdef0-all");
        let principal = Principal::Aws(graph.arn(role));
        for (action, resource) in [
            ("logs:CreateLogStream", stream.clone()),
            ("logs:PutLogEvents", stream),
            ("logs:DescribeLogStreams", group_arn),
            (
                "logs:DescribeLogGroups",
                format!("arn:aws:logs:{region}:{account}:log-group:*"),
            ),
        ] {
            let request = Request::new(principal.clone(), action, resource);
            out.require(&FLOW_LOGS, flow_log, true, request, identity(graph, role));
        }
    }
}

/// S3's logging service writes into the target bucket as `logging.s3.amazonaws.com`, with the
/// source bucket as `aws:SourceArn` and its owner as `aws:SourceAccount`.
fn access_logging(out: &mut Out<'_>) {
    let graph = out.graph;
    let account = out.account().to_string();
    for source in graph.of_kind(Kind::S3Bucket) {
        let Some(target) = graph.text(source, "logging_target") else {
            continue;
        };
        let prefix = graph.text(source, "logging_prefix").unwrap_or_default();
        let grants: Vec<PolicyAt> = graph
            .bucket(&target)
            .map(|bucket| at(bucket, "policy"))
            .into_iter()
            .collect();
        let request = Request::new(
            service("logging.s3.amazonaws.com"),
            "s3:PutObject",
            format!("arn:aws:s3:::{target}/{prefix}2026-01-01-00-00-00-0123456789ABCDEF"),
        )
        .with("aws:SourceArn", format!("arn:aws:s3:::{}", source.name))
        .with("aws:SourceAccount", account.clone())
        .with("aws:SecureTransport", "true");
        out.require(&ACCESS_LOGS, source, true, request, grants);
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

/// A role writing an SSE-KMS bucket makes S3 call kms:GenerateDataKey (and kms:Decrypt) on the
/// bucket's key as that role, through S3 (`kms:ViaService`), with the bucket's ARN as
/// encryption context (S3 Bucket Keys). The key policy must allow it (directly or by
/// delegating to IAM through the account root), the role's policies must allow it, and so must
/// its permission boundary.
fn bucket_keys(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = (out.account().to_string(), out.region().to_string());
    for bucket in graph.of_kind(Kind::S3Bucket) {
        let Some((key, grant)) = key_grant(graph, bucket, "sse_kms_key") else {
            continue;
        };
        for role in graph.of_kind(Kind::IamRole) {
            if written_objects(graph, role, &bucket.name).is_empty() {
                continue;
            }
            for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
                let request = Request::new(Principal::Aws(graph.arn(role)), action, key.clone())
                    .with("kms:ViaService", format!("s3.{region}.amazonaws.com"))
                    .with("kms:CallerAccount", account.clone())
                    .with("kms:EncryptionContext:aws:s3:arn", graph.arn(bucket));
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

/// Creating a table with a customer managed key makes DynamoDB create a grant and describe the
/// key on behalf of the caller (`kms:ViaService` dynamodb, `kms:CallerAccount`); the key policy
/// must allow the account's principals that.
fn table_keys(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = (out.account().to_string(), out.region().to_string());
    let caller = Principal::Aws(format!("arn:aws:iam::{account}:role/nc-provision-caller"));
    for table in graph.of_kind(Kind::DynamoDbTable) {
        let Some((key, grant)) = key_grant(graph, table, "sse_kms_key") else {
            continue;
        };
        for action in [
            "kms:CreateGrant",
            "kms:DescribeKey",
            "kms:Decrypt",
            "kms:GenerateDataKey",
        ] {
            let request = Request::new(caller.clone(), action, key.clone())
                .with("kms:ViaService", format!("dynamodb.{region}.amazonaws.com"))
                .with("kms:CallerAccount", account.clone());
            out.require(&TABLE_KEY, table, true, request, vec![grant.clone()]);
        }
    }
}

/// Workloads of the account reach the account's buckets and tables through the gateway
/// endpoints, and ECR's layer bucket (AWS-owned) through the S3 one.
fn endpoints(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = (out.account().to_string(), out.region().to_string());
    let workload = Principal::Aws(format!("arn:aws:iam::{account}:role/nc/FargateTaskRole"));
    let ours = |request: Request| {
        request
            .with("aws:PrincipalAccount", account.clone())
            .with("aws:ResourceAccount", account.clone())
    };
    for endpoint in graph.of_kind(Kind::VpcEndpoint) {
        if endpoint.str_prop("endpoint_type") != Some("Gateway") {
            continue;
        }
        let service_name = graph.text(endpoint, "service_name").unwrap_or_default();
        let grants = vec![at(endpoint, "policy")];
        if service_name.ends_with(".s3") {
            for bucket in graph.of_kind(Kind::S3Bucket) {
                let object = format!("arn:aws:s3:::{}/object", bucket.name);
                for action in ["s3:GetObject", "s3:PutObject"] {
                    let request = ours(Request::new(workload.clone(), action, object.clone()));
                    out.require(&ENDPOINT, endpoint, false, request, grants.clone());
                }
            }
            let layer = Request::new(
                workload.clone(),
                "s3:GetObject",
                format!("arn:aws:s3:::{}/layer", ecr_layer_bucket(&region)),
            )
            .with("aws:PrincipalAccount", account.clone())
            .with("aws:ResourceAccount", "<AWS-owned account>");
            out.require(&ECR_LAYERS, endpoint, false, layer, grants);
        } else if service_name.ends_with(".dynamodb") {
            for table in graph.of_kind(Kind::DynamoDbTable) {
                let arn = format!("arn:aws:dynamodb:{region}:{account}:table/{}", table.name);
                for action in ["dynamodb:PutItem", "dynamodb:Query"] {
                    let request = ours(Request::new(workload.clone(), action, arn.clone()));
                    out.require(&ENDPOINT, endpoint, false, request, grants.clone());
                }
            }
        }
    }
}

/// The security account assumes SecurityAuditorRole with the agreed ExternalId and audits every
/// key; the logs account assumes LogArchiverRole and decrypts the archive with the logs key.
/// (The other account's own policies must allow its side: outside this account's graph.)
fn cross_account(out: &mut Out<'_>, spec: &Spec) {
    let graph = out.graph;
    let security = Principal::Aws(format!(
        "arn:aws:iam::{}:role/security-audit",
        spec.iam.security_account_id
    ));
    let logs = Principal::Aws(format!(
        "arn:aws:iam::{}:role/log-archive",
        spec.iam.logs_account_id
    ));
    let context = crate::modules::Context {
        spec,
        target: graph.target,
    };
    let roles = [
        (
            "iam.role.security-auditor",
            security.clone(),
            Some(crate::modules::security_external_id(&context)),
        ),
        ("iam.role.log-archiver", logs.clone(), None),
    ];
    for (id, principal, external_id) in roles {
        let Some(role) = graph.get(&LogicalId::new(id)) else {
            continue;
        };
        let mut request = Request::new(principal, "sts:AssumeRole", graph.arn(role));
        if let Some(external_id) = external_id {
            request = request.with("sts:ExternalId", external_id);
        }
        out.require(
            &CROSS_ACCOUNT_ROLE,
            role,
            false,
            request,
            vec![at(role, "assume_role_policy")],
        );
    }
    for key in graph.of_kind(Kind::KmsKey) {
        let grant = match graph.key_policy(&key.id) {
            Some(policy) => at(policy, "policy"),
            None => at(key, "policy"),
        };
        let mut requests: Vec<(Principal, &str)> = vec![
            (security.clone(), "kms:DescribeKey"),
            (security.clone(), "kms:GetKeyPolicy"),
        ];
        if key.id.as_str() == crate::modules::LOGS_KEY {
            requests.push((logs.clone(), "kms:Decrypt"));
        }
        for (principal, action) in requests {
            let request = Request::new(principal, action, graph.arn(key));
            out.require(&CROSS_ACCOUNT_KEY, key, false, request, vec![grant.clone()]);
        }
    }
}
