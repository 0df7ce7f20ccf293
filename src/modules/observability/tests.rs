//! The module's expansion of the shipped specs.

use std::collections::BTreeMap;

use super::cis::CIS_FILTERS;
use super::*;
use crate::model::Target;

/// Account 123456789012 in `region` for `env`.
fn target(env: &str, region: &str, primary_region: bool) -> Target {
    Target {
        env: env.to_string(),
        region: region.to_string(),
        account_id: "123456789012".to_string(),
        primary_region,
        availability_zones: Vec::new(),
    }
}

fn expanded(env: &str, region: &str) -> Vec<Resource> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let spec = crate::spec::load(&dir, env).expect("shipped spec");
    let target = target(env, region, region == spec.environment.region);
    expand(&Context {
        spec: &spec,
        target: &target,
    })
}

fn find<'a>(resources: &'a [Resource], id: &str) -> &'a Resource {
    resources
        .iter()
        .find(|resource| resource.id.as_str() == id)
        .unwrap_or_else(|| panic!("{id} is expanded"))
}

fn count(resources: &[Resource], kind: Kind) -> usize {
    resources.iter().filter(|r| r.kind == kind).count()
}

/// Asserts how many resources of each kind there are: (kind, count, why).
fn assert_counts(resources: &[Resource], expected: &[(Kind, usize, &str)]) {
    for (kind, expected, why) in expected {
        assert_eq!(count(resources, *kind), *expected, "{kind}: {why}");
    }
}

#[test]
fn stg_has_every_piece_of_the_baseline() {
    let resources = expanded("stg", "us-east-1");
    let cis = "15 CIS + 6 critical + 4 warnings (no API Gateway alarm without an API)";
    assert_counts(
        &resources,
        &[
            (Kind::LogGroup, 3, ""),
            (Kind::SnsTopic, 2, ""),
            (Kind::LogMetricFilter, 19, "15 CIS + 4 platform filters"),
            (Kind::CloudWatchAlarm, 25, cis),
            (Kind::ConfigRule, 7, ""),
            (Kind::S3Bucket, 3, "trail, access logs, Config"),
            (Kind::IamRole, 2, ""),
            (Kind::CloudTrailTrail, 1, ""),
            (Kind::GuardDutyDetector, 1, ""),
            (Kind::ConfigRecorder, 1, ""),
            (Kind::SecurityHubHub, 1, ""),
        ],
    );
    let bucket = find(&resources, TRAIL_BUCKET);
    assert_eq!(bucket.name, "nc-dp-stg-trail-123456789012");
    assert_eq!(bucket.str_prop("object_lock_retention"), Some("30 days"));
    assert_eq!(bucket.str_prop("object_lock_mode"), Some("COMPLIANCE"));
    assert!(bucket.retain, "the trail bucket is never deleted");
    assert!(find(&resources, TRAIL_LOG_GROUP).retain);
    let recorder = find(&resources, RECORDER);
    assert_eq!(recorder.bool_prop("include_global"), Some(true));
}

#[test]
fn prod_keeps_seven_years_pages_security_and_sends_warnings_to_ops() {
    let resources = expanded("prod", "us-east-1");
    let bucket = find(&resources, TRAIL_BUCKET);
    assert_eq!(bucket.str_prop("object_lock_retention"), Some("7 years"));
    assert_eq!(
        find(&resources, DETECTOR).str_prop("frequency"),
        Some("FIFTEEN_MINUTES")
    );
    assert_eq!(
        find(&resources, TRAIL_LOG_GROUP).int_prop("retention_days"),
        Some(731)
    );
    assert_eq!(
        find(&resources, OPS_LOG_GROUP).int_prop("retention_days"),
        Some(90)
    );
    let target = |id: &str| match find(&resources, id).props.get("alarm_actions") {
        Some(Value::List(items)) => items.clone(),
        other => panic!("{id}: {other:?}"),
    };
    let alerts = vec![Value::reference(&LogicalId::new(ALERT_TOPIC), "arn")];
    let ops = vec![Value::reference(&LogicalId::new(OPS_TOPIC), "arn")];
    assert_eq!(
        target("observability.alarm.cis-4-3-root-account-usage"),
        alerts
    );
    assert_eq!(target("observability.alarm.lambda-error-rate"), alerts);
    assert_eq!(
        target("observability.alarm.lambda-duration-near-timeout"),
        ops
    );
    assert_eq!(target("observability.alarm.log-ingestion-lag"), ops);
}

#[test]
fn dev_has_no_ops_topic_and_no_config_rules() {
    let resources = expanded("dev", "us-east-1");
    assert_counts(
        &resources,
        &[
            (Kind::SnsTopic, 1, ""),
            (Kind::ConfigRule, 0, ""),
            (Kind::ConfigRecorder, 1, "the recorder runs everywhere"),
        ],
    );
    let warning = find(&resources, "observability.alarm.s3-access-denied");
    assert_eq!(
        warning.props.get("alarm_actions"),
        Some(&Value::List(vec![Value::reference(
            &LogicalId::new(ALERT_TOPIC),
            "arn"
        )]))
    );
}

#[test]
fn the_api_gateway_alarm_exists_only_for_a_named_api_and_carries_its_dimensions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let text = std::fs::read_to_string(dir.join("stg.toml")).expect("stg spec");
    let named = text
        .replacen("# api_gateway_name", "api_gateway_name", 1)
        .replacen("# api_gateway_stage", "api_gateway_stage", 1);
    let spec = crate::spec::parse(std::path::Path::new("specs/stg.toml"), &named)
        .expect("valid with the API named");
    let target = target("stg", "us-east-1", true);
    let resources = expand(&Context {
        spec: &spec,
        target: &target,
    });
    let alarm = find(&resources, "observability.alarm.apigateway-5xx-rate");
    assert_eq!(
        alarm.props.get("dimensions"),
        Some(&Value::Map(BTreeMap::from([
            ("ApiName".to_string(), "nc-stg-api".to_string()),
            ("Stage".to_string(), "stg".to_string()),
        ])))
    );
    assert_eq!(count(&resources, Kind::CloudWatchAlarm), 26);
    let unnamed = expanded("stg", "us-east-1");
    assert!(
        unnamed
            .iter()
            .all(|r| r.id.as_str() != "observability.alarm.apigateway-5xx-rate"),
        "no alarm that could never get data"
    );
}

#[test]
fn the_dr_region_records_no_global_resources_and_names_its_buckets_regionally() {
    let resources = expanded("prod", "ca-central-1");
    assert_eq!(
        find(&resources, RECORDER).bool_prop("include_global"),
        Some(false)
    );
    assert_eq!(
        find(&resources, TRAIL_BUCKET).name,
        "nc-dp-prod-trail-123456789012-cac1"
    );
    // No second multi-region trail: the primary's is verified through its shadow.
    let trail = find(&resources, TRAIL);
    assert_eq!(trail.name, "nc-dp-prod-trail");
    assert!(
        trail.global,
        "only checked from the DR region, never created there"
    );
    assert_eq!(
        trail.str_prop("s3_bucket"),
        Some("nc-dp-prod-trail-123456789012")
    );
    assert_eq!(trail.bool_prop("multi_region"), Some(true));
    assert!(
        !trail.props.contains_key("tags"),
        "its tags live in its home region"
    );
    assert_eq!(
        find(&resources, CONFIG_BUCKET).name,
        "nc-dp-prod-config-123456789012-cac1"
    );
    let policy = find(&resources, TRAIL_BUCKET).props["policy"].to_json();
    assert!(
        policy
            .to_string()
            .contains("arn:aws:cloudtrail:ca-central-1:123456789012:trail/nc-dp-prod-trail-cac1"),
        "the DR bucket policy still names a DR trail of its own: {policy}"
    );
}

#[test]
fn the_rejected_traffic_filter_goes_on_the_vpc_flow_log_group() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let spec = crate::spec::load(&dir, "stg").expect("shipped spec");
    let target = target("stg", "us-east-1", true);
    let context = Context {
        spec: &spec,
        target: &target,
    };
    let name = Value::Concat(vec![
        Value::str(FLOW_LOG_PREFIX),
        Value::reference(&LogicalId::new("vpc.vpc"), "id"),
    ]);
    let mut resources = vec![
        Resource::new("vpc.flow_logs.group", Kind::LogGroup, "pending")
            .prop("group_name", name.clone())
            .prop("name_prefix", FLOW_LOG_PREFIX),
    ];
    link(&context, &mut resources);
    let filter = find(&resources, "observability.filter.rejected-flow-traffic");
    assert_eq!(filter.props.get("log_group"), Some(&name));
    assert!(
        filter
            .depends_on
            .contains(&LogicalId::new("vpc.flow_logs.group"))
    );
    assert_eq!(filter.str_prop("metric_namespace"), Some("NC/stg/Security"));
}

#[test]
fn every_cis_filter_lists_the_benchmark_event_names() {
    let patterns: BTreeMap<&str, &str> = CIS_FILTERS
        .iter()
        .map(|(control, _, pattern)| (*control, *pattern))
        .collect();
    for (control, names) in [
        ("4.4", 16),
        ("4.5", 5),
        ("4.8", 9),
        ("4.10", 6),
        ("4.11", 6),
        ("4.12", 6),
        ("4.13", 7),
        ("4.14", 11),
        ("4.15", 21),
    ] {
        assert_eq!(
            patterns[control].matches("$.eventName =").count(),
            names,
            "CIS {control}"
        );
    }
}

/// The delivery policies written by one helper are the documents CloudTrail's and AWS
/// Config's guides give (cloudtrail/create-s3-bucket-policy-for-cloudtrail, config/
/// s3-bucket-policy), statement for statement.
#[test]
fn the_trail_and_config_buckets_let_only_their_service_deliver() {
    let resources = expanded("stg", "us-east-1");
    // The statements after the TLS-only one.
    let grants = |id: &str| {
        let policy = find(&resources, id).props["policy"].to_json();
        let statements = policy["Statement"].as_array().expect("statements").clone();
        serde_json::Value::Array(statements[1..].to_vec())
    };
    let trail = "arn:aws:cloudtrail:us-east-1:123456789012:trail/nc-dp-stg-trail";
    let bucket = "arn:aws:s3:::nc-dp-stg-trail-123456789012";
    assert_eq!(
        grants(TRAIL_BUCKET),
        serde_json::json!([
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": bucket,
                "Condition": {"StringEquals": {"aws:SourceArn": trail}}
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": format!("{bucket}/AWSLogs/123456789012/*"),
                "Condition": {"StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": trail
                }}
            }
        ])
    );
    let bucket = "arn:aws:s3:::nc-dp-stg-config-123456789012";
    assert_eq!(
        grants(CONFIG_BUCKET),
        serde_json::json!([
            {
                "Sid": "AWSConfigBucketCheck",
                "Effect": "Allow",
                "Principal": {"Service": "config.amazonaws.com"},
                "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
                "Resource": bucket,
                "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}
            },
            {
                "Sid": "AWSConfigDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "config.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": format!("{bucket}/config/AWSLogs/123456789012/Config/*"),
                "Condition": {"StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceAccount": "123456789012"
                }}
            }
        ])
    );
}
