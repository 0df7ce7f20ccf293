//! The catalogue over the shipped specs: every integration allowed as the modules write it, and
//! each one denied, with a clear error, once the statement granting it is removed.

use super::catalogue::{
    ACCESS_LOGS, ALARM_TOPIC_KEY, BUCKET_KEY, CONFIG_DELIVERY, CROSS_ACCOUNT_KEY,
    CROSS_ACCOUNT_ROLE, ECR_LAYERS, ENDPOINT, EVENTS_LOGS, FLOW_LOGS, LOGS_KEY, REPLICATION,
    TABLE_KEY, TRAIL_BUCKET, TRAIL_KEY, TRAIL_LOGS,
};
use super::*;
use crate::model::Value;

fn spec(env: &str) -> Spec {
    let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    crate::spec::load(&specs, env).expect("the repository's specs are valid")
}

fn target(spec: &Spec, region: &str) -> Target {
    crate::engine::offline_target(spec, Some(region), Some("123456789012"))
}

fn resources(spec: &Spec, target: &Target) -> Vec<Resource> {
    crate::modules::expand(spec, target)
        .expect("a well-formed graph")
        .resources()
        .to_vec()
}

fn proven(spec: &Spec, target: &Target, resources: Vec<Resource>) -> Vec<Denial> {
    let graph = DesiredGraph::new(resources).expect("still a well-formed graph");
    prove(&graph, target, spec)
}

#[test]
fn every_shipped_spec_proves_clean_in_every_region() {
    for env in ["dev", "stg", "prod"] {
        let spec = spec(env);
        let mut regions = vec![spec.environment.region.clone()];
        regions.extend(spec.environment.dr_region.clone());
        for region in regions {
            let target = target(&spec, &region);
            let resources = resources(&spec, &target);
            let found = requirements(&resources, &target, &spec);
            let denials = proven(&spec, &target, resources);
            let text: Vec<String> = denials.iter().map(ToString::to_string).collect();
            assert!(text.is_empty(), "{env} in {region}:\n{}", text.join("\n"));
            // Outside the primary region the trail is the primary's, only verified there:
            // its deliveries were proven in its home region.
            let primary = region == spec.environment.region;
            // Replication runs only from the primary of an environment that replicates.
            let replicates = primary && spec.data.replicate_to_dr_region;
            for integration in CATALOGUE
                .iter()
                .filter(|integration| primary || !integration.name.starts_with("CloudTrail"))
                .filter(|integration| replicates || !std::ptr::eq(**integration, &REPLICATION))
            {
                assert!(
                    found
                        .iter()
                        .any(|r| std::ptr::eq(r.integration, *integration)),
                    "{env} in {region}: no requirement of {}",
                    integration.name
                );
            }
        }
    }
}

/// Which statement of which policy to remove.
enum Statement {
    Sid(&'static str),
    Index(usize),
}

fn remove(resources: &mut [Resource], holder: &str, attribute: &str, which: &Statement) {
    let resource = resources
        .iter_mut()
        .find(|r| r.id.as_str() == holder)
        .unwrap_or_else(|| panic!("{holder} is in the graph"));
    let value = resource
        .props
        .get_mut(attribute)
        .unwrap_or_else(|| panic!("{holder} has {attribute}"));
    let Value::Policy(document) = value else {
        panic!("{holder} {attribute} is a policy");
    };
    let statements = document["Statement"]
        .as_array_mut()
        .expect("a statement list");
    let before = statements.len();
    match which {
        Statement::Sid(sid) => statements.retain(|s| s["Sid"] != *sid),
        Statement::Index(index) => {
            statements.remove(*index);
        }
    }
    assert_eq!(
        statements.len(),
        before - 1,
        "{holder} {attribute}: one statement removed"
    );
}

/// For every entry: remove the statement granting it, and the proof names the consumer, the
/// integration, the request and the policy.
#[test]
fn each_integration_is_denied_without_its_grant() {
    use Statement::{Index, Sid};
    let cases: Vec<(&Integration, &str, &str, Statement, &str, &str)> = vec![
        (
            &LOGS_KEY,
            "kms.key_policy.logs",
            "policy",
            Sid("CloudWatchLogsThisRegion"),
            "observability.log.trail",
            "kms:Encrypt by service logs.us-east-1.amazonaws.com on arn:aws:kms:us-east-1:123456789012:key/kms.key.logs with kms:encryptioncontext:aws:logs:arn=arn:aws:logs:us-east-1:123456789012:log-group:/nc/stg/audit/cloudtrail",
        ),
        (
            &ALARM_TOPIC_KEY,
            "kms.key_policy.logs",
            "policy",
            Sid("CloudWatchAlarmsPublishToEncryptedTopics"),
            "observability.topic.security-alerts",
            "kms:GenerateDataKey by service cloudwatch.amazonaws.com",
        ),
        (
            &TRAIL_BUCKET,
            "observability.bucket.trail",
            "policy",
            Sid("AWSCloudTrailWrite"),
            "observability.trail",
            "s3:PutObject by service cloudtrail.amazonaws.com on arn:aws:s3:::nc-dp-stg-trail-123456789012/AWSLogs/123456789012/",
        ),
        (
            &TRAIL_KEY,
            "kms.key_policy.logs",
            "policy",
            Sid("CloudTrailEncryptLogs"),
            "observability.trail",
            "kms:GenerateDataKey by service cloudtrail.amazonaws.com",
        ),
        (
            &TRAIL_LOGS,
            "observability.role.cloudtrail-logs",
            "inline_policy.deliver-to-cloudwatch-logs",
            Sid("DeliverTrailEvents"),
            "observability.trail",
            "logs:CreateLogStream by arn:aws:iam::123456789012:role/nc/nc-stg-cloudtrail-logs",
        ),
        (
            &CONFIG_DELIVERY,
            "observability.role.config",
            "inline_policy.deliver-to-config-bucket",
            Sid("DeliverConfigHistory"),
            "observability.config.recorder",
            "s3:PutObject by arn:aws:iam::123456789012:role/nc/nc-stg-config-recorder on arn:aws:s3:::nc-dp-stg-config-123456789012/config/AWSLogs/123456789012/Config/",
        ),
        (
            &EVENTS_LOGS,
            "observability.events.guardduty-findings",
            "delivery_policy",
            Sid("EventBridgeCreatesStreams"),
            "observability.events.guardduty-findings",
            "logs:CreateLogStream by service events.amazonaws.com",
        ),
        (
            &FLOW_LOGS,
            "vpc.flow_logs.role",
            "inline_policy.deliver-to-flow-log-group",
            Sid("DescribeLogGroups"),
            "vpc.flow_logs",
            "logs:DescribeLogGroups by arn:aws:iam::123456789012:role/nc/nc-stg-vpc-flow-logs-use1",
        ),
        (
            &ACCESS_LOGS,
            "observability.bucket.access-logs",
            "policy",
            Sid("S3ServerAccessLogsPolicy"),
            "observability.bucket.trail",
            "s3:PutObject by service logging.s3.amazonaws.com",
        ),
        (
            &BUCKET_KEY,
            "iam.policy.pb-etl",
            "policy",
            Sid("DataKey"),
            "data.bucket.norm",
            "kms:GenerateDataKey by arn:aws:iam::123456789012:role/nc/LambdaETLRole on arn:aws:kms:us-east-1:123456789012:key/kms.key.data",
        ),
        (
            &TABLE_KEY,
            "kms.key_policy.data",
            "policy",
            Sid("EnableRootAccountPermissions"),
            "data.table.documents",
            "kms:CreateGrant by arn:aws:iam::123456789012:role/nc-provision-caller",
        ),
        (
            &ENDPOINT,
            "vpc.endpoint.s3",
            "policy",
            Sid("AccountPrincipalsOnly"),
            "vpc.endpoint.s3",
            "s3:GetObject by arn:aws:iam::123456789012:role/nc/FargateTaskRole on arn:aws:s3:::nc-dp-stg-raw/object",
        ),
        (
            &ECR_LAYERS,
            "vpc.endpoint.s3",
            "policy",
            Sid("EcrImageLayers"),
            "vpc.endpoint.s3",
            "s3:GetObject by arn:aws:iam::123456789012:role/nc/FargateTaskRole on arn:aws:s3:::prod-us-east-1-starport-layer-bucket/layer",
        ),
        (
            &CROSS_ACCOUNT_ROLE,
            "iam.role.security-auditor",
            "assume_role_policy",
            Index(0),
            "iam.role.security-auditor",
            "sts:AssumeRole by arn:aws:iam::111111111111:role/security-audit",
        ),
        (
            &CROSS_ACCOUNT_KEY,
            "kms.key_policy.logs",
            "policy",
            Sid("LogsAccountReadArchive"),
            "kms.key.logs",
            "kms:Decrypt by arn:aws:iam::222222222222:role/log-archive",
        ),
    ];
    // Replication (prod only) has its cases in catalogue/replication.rs.
    assert_eq!(
        cases.len() + 1,
        CATALOGUE.len(),
        "one case per catalogue entry"
    );
    let spec = spec("stg");
    let target = target(&spec, "us-east-1");
    for (integration, holder, attribute, which, consumer, request) in cases {
        let mut resources = resources(&spec, &target);
        remove(&mut resources, holder, attribute, &which);
        let denials = proven(&spec, &target, resources);
        let denial = denials
            .iter()
            .find(|d| {
                std::ptr::eq(d.integration, integration)
                    && d.consumer.as_str() == consumer
                    && d.to_string().contains(request)
            })
            .unwrap_or_else(|| {
                panic!(
                    "{}: no denial for {consumer} among {:#?}",
                    integration.name,
                    denials.iter().map(ToString::to_string).collect::<Vec<_>>()
                )
            });
        let text = denial.to_string();
        for expected in [
            consumer,
            integration.name,
            request,
            holder,
            "would be denied on AWS",
            "no statement allows",
            integration.source,
        ] {
            assert!(
                text.contains(expected),
                "{}: {expected:?} not in\n{text}",
                integration.name
            );
        }
    }
}

#[test]
fn an_explicit_deny_is_named() {
    let spec = spec("stg");
    let target = target(&spec, "us-east-1");
    let mut resources = resources(&spec, &target);
    let bucket = resources
        .iter_mut()
        .find(|r| r.id.as_str() == "observability.bucket.access-logs")
        .expect("access-log bucket");
    if let Some(Value::Policy(document)) = bucket.props.get_mut("policy") {
        document["Statement"]
            .as_array_mut()
            .expect("statements")
            .push(serde_json::json!({"Sid": "NoLogDelivery", "Effect": "Deny",
                "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:*", "Resource": "*"}));
    }
    let graph = DesiredGraph::new(resources).expect("graph");
    let error = crate::engine::expand_and_prove(&spec, &target).map(|_| ());
    assert!(error.is_ok(), "the shipped spec proves clean: {error:?}");
    let denials = prove(&graph, &target, &spec);
    assert_eq!(denials.len(), 1, "{denials:#?}");
    let text = denials[0].to_string();
    assert!(
        text.contains("statement \"NoLogDelivery\" denies it explicitly"),
        "{text}"
    );
}

#[test]
fn the_dr_region_proves_no_trail_delivery_of_its_own() {
    let spec = spec("prod");
    let target = target(&spec, "ca-central-1");
    let resources = resources(&spec, &target);
    let trail_requirements = requirements(&resources, &target, &spec)
        .into_iter()
        .filter(|r| r.integration.name.starts_with("CloudTrail"))
        .count();
    assert_eq!(
        trail_requirements, 0,
        "the primary's trail is only verified here"
    );
    assert!(proven(&spec, &target, resources).is_empty());
}

#[test]
fn consumers_wait_for_the_policies_that_permit_them() {
    let spec = spec("stg");
    let target = target(&spec, "us-east-1");
    let graph = crate::modules::expand(&spec, &target).expect("graph");
    let after = |consumer: &str, holder: &str| {
        graph
            .get(&LogicalId::new(consumer))
            .unwrap_or_else(|| panic!("{consumer}"))
            .depends_on
            .contains(&LogicalId::new(holder))
    };
    for group in [
        "observability.log.trail",
        "observability.log.operations",
        "observability.log.guardduty-findings",
        "vpc.flow_logs.group",
    ] {
        assert!(after(group, "kms.key_policy.logs"), "{group}");
    }
    assert!(after("observability.trail", "kms.key_policy.logs"));
    assert!(after(
        "observability.topic.security-alerts",
        "kms.key_policy.logs"
    ));
    assert!(after(
        "observability.config.recorder",
        "observability.bucket.config"
    ));
    assert!(after("data.table.documents", "kms.key_policy.data"));
    assert!(after("vpc.flow_logs", "vpc.flow_logs.role"));
}
