//! The entries of the catalogue: for each integration, the requests the acting service makes
//! (as its AWS documentation states them) and the policies of the desired graph that decide
//! them.

mod access;
mod delivery;
mod keys;
mod replication;

use super::resolve::Graph;
use super::{Integration, PolicyAt, Requirement};
use crate::model::Kind;
use crate::model::Resource;
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

/// S3 replication → its role → the source and replica buckets and both keys.
pub static REPLICATION: Integration = Integration {
    name: "S3 replication → role → replica bucket and keys",
    source: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html",
    failure: "objects stay in the source bucket with replication status FAILED; the DR region misses its RPO",
};

/// Every integration of the catalogue.
pub static CATALOGUE: [&Integration; 16] = [
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
    &REPLICATION,
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

    /// `principal` assuming `role`, with the condition keys `context`: the role's trust policy
    /// decides.
    fn require_assume(
        &mut self,
        integration: &'static Integration,
        consumer: &Resource,
        waits: bool,
        (principal, role): (Principal, &Resource),
        context: &[(&str, String)],
    ) {
        let request = context.iter().fold(
            Request::new(principal, "sts:AssumeRole", self.graph.arn(role)),
            |request, (key, value)| request.with(key, value.clone()),
        );
        let trust = vec![at(role, "assume_role_policy")];
        self.require(integration, consumer, waits, request, trust);
    }

    /// The target's account and region.
    fn place(&self) -> (String, String) {
        let target = self.graph.target;
        (target.account_id.clone(), target.region.clone())
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

/// The policy deciding the use of `key`: its `kms_key_policy` resource, or the key's own
/// initial policy when there is none.
fn key_policy(graph: &Graph<'_>, key: &Resource) -> PolicyAt {
    match graph.key_policy(&key.id) {
        Some(policy) => at(policy, "policy"),
        None => at(key, "policy"),
    }
}

/// The key a resource's attribute references, as its ARN and the policy deciding its use.
fn key_grant(
    graph: &Graph<'_>,
    resource: &Resource,
    attribute: &str,
) -> Option<(String, PolicyAt)> {
    let key = graph.referenced(resource, attribute)?;
    Some((graph.arn(key), key_policy(graph, key)))
}

/// Each resource of `kind` whose `attribute` references a key, with the key's ARN and the
/// policy deciding its use.
fn encrypted<'g>(
    graph: &'g Graph<'g>,
    kind: Kind,
    attribute: &'g str,
) -> impl Iterator<Item = (&'g Resource, String, PolicyAt)> + 'g {
    graph.of_kind(kind).filter_map(move |resource| {
        let (key, grant) = key_grant(graph, resource, attribute)?;
        Some((resource, key, grant))
    })
}

/// The bucket policy of the graph's bucket `name`, as grants (none when the bucket is not in
/// the graph).
fn bucket_policy(graph: &Graph<'_>, name: &str) -> Vec<PolicyAt> {
    graph
        .bucket(name)
        .map(|bucket| at(bucket, "policy"))
        .into_iter()
        .collect()
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
    keys::log_group_keys(&mut out);
    keys::topic_keys(&mut out);
    delivery::trails(&mut out);
    delivery::config_delivery(&mut out);
    delivery::event_rules(&mut out);
    delivery::flow_logs(&mut out);
    delivery::access_logging(&mut out);
    keys::bucket_keys(&mut out);
    keys::table_keys(&mut out);
    access::endpoints(&mut out);
    access::cross_account(&mut out, spec);
    replication::replication(&mut out);
    out.found
}
