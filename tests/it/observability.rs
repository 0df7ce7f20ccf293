//! Issue 6 — the observability and audit baseline, applied on LocalStack (and moto for
//! CloudTrail, GuardDuty and Security Hub), read back with the SDK directly.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{ObjectLockEnabled, ObjectLockRetentionMode, ServerSideEncryption};

use crate::common::{World, change, changed_attributes, trail_bucket};

async fn logs_client(world: &World) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&world.sdk("us-east-1").await)
}

async fn logs_key_arn(world: &World, env: &str) -> String {
    let kms = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await);
    kms.describe_key()
        .key_id(format!("alias/nc-dp-logs-{env}"))
        .send()
        .await
        .expect("describe logs key")
        .key_metadata()
        .and_then(|m| m.arn())
        .expect("arn")
        .to_string()
}

/// Reads back one log group: retention, KMS key (the logs key), tags.
async fn check_log_group(world: &World, env: &str, name: &str, id: &str, retention: i32) {
    let logs = logs_client(world).await;
    let listed = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .expect("describe log groups");
    let group = listed
        .log_groups()
        .iter()
        .find(|group| group.log_group_name() == Some(name))
        .unwrap_or_else(|| panic!("log group {name} exists"));
    assert_eq!(
        group.retention_in_days(),
        Some(retention),
        "{name} retention"
    );
    assert_eq!(
        group.kms_key_id(),
        Some(logs_key_arn(world, env).await.as_str()),
        "{name} is encrypted with the logs key"
    );
    let arn = group.log_group_arn().expect("log group arn");
    let tags: BTreeMap<String, String> = logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("log group tags")
        .tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    assert_eq!(
        tags.get("ManagedBy").map(String::as_str),
        Some("nc-provision")
    );
    assert_eq!(tags.get("nc:env").map(String::as_str), Some(env));
    assert_eq!(tags.get("nc:id").map(String::as_str), Some(id));
}

/// Applies prod the reviewed way: a saved plan, then apply --plan.
fn apply_prod(world: &World) {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("prod.plan");
    let plan = plan.to_str().expect("utf-8 path");
    world
        .run(&["plan", "--env", "prod", "--out", plan])
        .expect_code(0);
    world
        .run(&["apply", "--env", "prod", "--plan", plan])
        .expect_code(0);
}

/// The alarm names of an environment, by name, with their actions.
async fn alarms(world: &World, env: &str) -> BTreeMap<String, Vec<String>> {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&world.sdk("us-east-1").await);
    let mut alarms = BTreeMap::new();
    let mut token = None;
    loop {
        let page = cloudwatch
            .describe_alarms()
            .alarm_name_prefix(format!("nc-{env}-"))
            .set_next_token(token)
            .send()
            .await
            .expect("describe alarms");
        for alarm in page.metric_alarms() {
            alarms.insert(
                alarm.alarm_name().expect("name").to_string(),
                alarm.alarm_actions().to_vec(),
            );
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return alarms;
        }
    }
}

/// Topic name → (ARN, KMS key, subscribed endpoints).
async fn topics(world: &World) -> BTreeMap<String, (String, String, Vec<String>)> {
    let sns = aws_sdk_sns::Client::new(&world.sdk("us-east-1").await);
    let listed = sns.list_topics().send().await.expect("list topics");
    let mut topics = BTreeMap::new();
    for topic in listed.topics() {
        let arn = topic.topic_arn().expect("arn").to_string();
        let name = arn.rsplit(':').next().expect("name").to_string();
        let attributes = sns
            .get_topic_attributes()
            .topic_arn(&arn)
            .send()
            .await
            .expect("topic attributes");
        let key = attributes
            .attributes()
            .and_then(|a| a.get("KmsMasterKeyId").cloned())
            .unwrap_or_default();
        let subscriptions = sns
            .list_subscriptions_by_topic()
            .topic_arn(&arn)
            .send()
            .await
            .expect("subscriptions")
            .subscriptions()
            .iter()
            .map(|s| {
                format!(
                    "{}:{}",
                    s.protocol().unwrap_or_default(),
                    s.endpoint().unwrap_or_default()
                )
            })
            .collect();
        topics.insert(name, (arn, key, subscriptions));
    }
    topics
}

/// Reads back the trail bucket: Object Lock COMPLIANCE with the env's retention, versioning,
/// SSE-KMS with the logs key, public access blocked, the CloudTrail policy, access logging.
async fn check_trail_bucket(world: &World, env: &str, days: Option<i32>, years: Option<i32>) {
    let s3 = world.s3().await;
    let bucket = trail_bucket(env, &world.account);
    let lock = s3
        .get_object_lock_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("object lock");
    let lock = lock.object_lock_configuration().expect("configuration");
    assert_eq!(
        lock.object_lock_enabled(),
        Some(&ObjectLockEnabled::Enabled)
    );
    let retention = lock
        .rule()
        .and_then(|rule| rule.default_retention())
        .expect("default retention");
    assert_eq!(retention.mode(), Some(&ObjectLockRetentionMode::Compliance));
    assert_eq!(retention.days(), days, "{bucket} retention days");
    assert_eq!(retention.years(), years, "{bucket} retention years");
    let encryption = s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .expect("encryption");
    let default = encryption
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .expect("default encryption");
    assert_eq!(default.sse_algorithm(), &ServerSideEncryption::AwsKms);
    assert_eq!(
        default.kms_master_key_id(),
        Some(logs_key_arn(world, env).await.as_str())
    );
    let blocks = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .expect("public access block");
    let blocks = blocks.public_access_block_configuration().expect("blocks");
    assert_eq!(blocks.block_public_acls(), Some(true));
    assert_eq!(blocks.restrict_public_buckets(), Some(true));
    let policy = s3
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("policy");
    let policy = policy.policy().expect("policy text");
    for needle in [
        "aws:SecureTransport",
        "s3:GetBucketAcl",
        &format!("AWSLogs/{}/*", world.account),
        "bucket-owner-full-control",
        "aws:SourceArn",
    ] {
        assert!(
            policy.contains(needle),
            "{bucket} policy has {needle}: {policy}"
        );
    }
    let logging = s3
        .get_bucket_logging()
        .bucket(&bucket)
        .send()
        .await
        .expect("logging");
    let access_logs = format!("nc-dp-{env}-access-logs-{}", world.account);
    assert_eq!(
        logging.logging_enabled().map(|l| l.target_bucket()),
        Some(access_logs.as_str()),
        "CIS 3.6: access logging into the access-log bucket"
    );
    let log_encryption = s3
        .get_bucket_encryption()
        .bucket(&access_logs)
        .send()
        .await
        .expect("access-log bucket encryption");
    assert!(
        log_encryption
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .is_some_and(|d| d.sse_algorithm() == &ServerSideEncryption::Aes256)
    );
}

/// Reads back AWS Config's own bucket: versioned, SSE-KMS with the logs key, public access
/// blocked, no Object Lock (Config cannot deliver into one), and a TLS-only policy that lets
/// `config.amazonaws.com` of this account check the bucket and deliver under `config/`.
async fn check_config_bucket(world: &World, env: &str) {
    let s3 = world.s3().await;
    let bucket = format!("nc-dp-{env}-config-{}", world.account);
    let versioning = s3
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .expect("the Config bucket exists");
    assert_eq!(
        versioning.status().map(|s| s.as_str()),
        Some("Enabled"),
        "{bucket}"
    );
    let lock = s3
        .get_object_lock_configuration()
        .bucket(&bucket)
        .send()
        .await;
    assert!(
        lock.as_ref()
            .ok()
            .and_then(|l| l.object_lock_configuration())
            .and_then(|c| c.object_lock_enabled())
            .is_none(),
        "{bucket}: no Object Lock: {lock:?}"
    );
    let encryption = s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .expect("encryption");
    let default = encryption
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .expect("default encryption");
    assert_eq!(default.sse_algorithm(), &ServerSideEncryption::AwsKms);
    assert_eq!(
        default.kms_master_key_id(),
        Some(logs_key_arn(world, env).await.as_str())
    );
    let blocks = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .expect("public access block");
    let blocks = blocks.public_access_block_configuration().expect("blocks");
    assert_eq!(blocks.block_public_policy(), Some(true));
    assert_eq!(blocks.restrict_public_buckets(), Some(true));
    let policy = s3
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("policy");
    let policy = policy.policy().expect("policy text");
    for needle in [
        "aws:SecureTransport",
        "config.amazonaws.com",
        "s3:GetBucketAcl",
        &format!("config/AWSLogs/{}/Config/*", world.account),
        "bucket-owner-full-control",
        "aws:SourceAccount",
    ] {
        assert!(
            policy.contains(needle),
            "{bucket} policy has {needle}: {policy}"
        );
    }
}

/// Reads back the trail on moto: flags, KMS, log group, data events, logging.
async fn check_trail(world: &World, env: &str) -> String {
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&world.moto_sdk("us-east-1").await);
    let trails = cloudtrail.describe_trails().send().await.expect("trails");
    let trail = trails
        .trail_list()
        .iter()
        .find(|t| t.name() == Some(format!("nc-dp-{env}-trail").as_str()))
        .expect("the trail exists");
    assert_eq!(trail.is_multi_region_trail(), Some(true));
    assert_eq!(trail.include_global_service_events(), Some(true));
    assert_eq!(trail.log_file_validation_enabled(), Some(true));
    assert_eq!(
        trail.s3_bucket_name(),
        Some(trail_bucket(env, &world.account).as_str())
    );
    assert_eq!(
        trail.kms_key_id(),
        Some(logs_key_arn(world, env).await.as_str())
    );
    assert!(
        trail
            .cloud_watch_logs_log_group_arn()
            .is_some_and(|arn| arn.ends_with(&format!("/nc/{env}/audit/cloudtrail:*"))),
        "{trail:?}"
    );
    assert!(
        trail
            .cloud_watch_logs_role_arn()
            .is_some_and(|arn| arn.contains("cloudtrail-logs"))
    );
    let arn = trail.trail_arn().expect("arn").to_string();
    let status = cloudtrail
        .get_trail_status()
        .name(&arn)
        .send()
        .await
        .expect("status");
    assert_eq!(status.is_logging(), Some(true), "logging started");
    let selectors = cloudtrail
        .get_event_selectors()
        .trail_name(&arn)
        .send()
        .await
        .expect("selectors");
    let advanced = selectors.advanced_event_selectors();
    let has =
        |selector: &aws_sdk_cloudtrail::types::AdvancedEventSelector, field: &str, value: &str| {
            selector
                .field_selectors()
                .iter()
                .any(|f| f.field() == field && f.equals().iter().any(|v| v == value))
        };
    assert!(
        advanced
            .iter()
            .any(|s| has(s, "eventCategory", "Management")),
        "management events: {advanced:?}"
    );
    let data = advanced
        .iter()
        .find(|s| has(s, "eventCategory", "Data") && has(s, "resources.type", "AWS::S3::Object"))
        .unwrap_or_else(|| panic!("CIS 3.10/3.11 S3 data events: {advanced:?}"));
    let excluded: Vec<String> = data
        .field_selectors()
        .iter()
        .filter(|f| f.field() == "resources.ARN")
        .flat_map(|f| f.not_starts_with().iter().cloned())
        .collect();
    assert_eq!(
        excluded,
        [
            format!("arn:aws:s3:::nc-dp-{env}-access-logs-{}/", world.account),
            format!("arn:aws:s3:::{}/", trail_bucket(env, &world.account)),
        ],
        "the trail's own deliveries and their access logs are not data events"
    );
    arn
}

async fn detector(world: &World) -> (String, String, BTreeMap<String, String>) {
    let guardduty = aws_sdk_guardduty::Client::new(&world.moto_sdk("us-east-1").await);
    let ids = guardduty.list_detectors().send().await.expect("detectors");
    assert_eq!(ids.detector_ids().len(), 1, "one detector per region");
    let id = ids.detector_ids()[0].clone();
    let detector = guardduty
        .get_detector()
        .detector_id(&id)
        .send()
        .await
        .expect("detector");
    let frequency = detector
        .finding_publishing_frequency()
        .map(|f| f.as_str().to_string())
        .unwrap_or_default();
    let tags = detector
        .tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    (id, frequency, tags)
}

async fn config_rules(world: &World) -> Vec<String> {
    let config = aws_sdk_config::Client::new(&world.sdk("us-east-1").await);
    let mut names: Vec<String> = config
        .describe_config_rules()
        .send()
        .await
        .expect("rules")
        .config_rules()
        .iter()
        .filter_map(|r| r.config_rule_name().map(str::to_string))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn stg_observability_applies_reads_back_replans_and_repairs_drift() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    let (code, report, stderr) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");

    check_trail_bucket(&world, "stg", Some(30), None).await;
    check_trail(&world, "stg").await;
    let (_, frequency, tags) = detector(&world).await;
    assert_eq!(frequency, "SIX_HOURS");
    assert_eq!(
        tags.get("nc:id").map(String::as_str),
        Some("observability.guardduty.detector")
    );

    let config = aws_sdk_config::Client::new(&world.sdk("us-east-1").await);
    let recorders = config
        .describe_configuration_recorders()
        .send()
        .await
        .expect("recorders");
    let recorder = recorders
        .configuration_recorders()
        .first()
        .expect("recorder");
    let group = recorder.recording_group().expect("recording group");
    assert!(group.all_supported());
    assert!(
        group.include_global_resource_types(),
        "global resources in the primary region"
    );
    let status = config
        .describe_configuration_recorder_status()
        .send()
        .await
        .expect("status");
    assert!(
        status
            .configuration_recorders_status()
            .iter()
            .all(|s| s.recording())
    );
    let channels = config
        .describe_delivery_channels()
        .send()
        .await
        .expect("channels");
    assert_eq!(
        channels
            .delivery_channels()
            .first()
            .and_then(|c| c.s3_bucket_name()),
        Some(format!("nc-dp-stg-config-{}", world.account).as_str()),
        "Config delivers into its own bucket, not the Object Lock trail bucket"
    );
    check_config_bucket(&world, "stg").await;
    let rules = config_rules(&world).await;
    assert_eq!(rules.len(), 7, "{rules:?}");
    assert!(rules.contains(&"nc-stg-cloudtrail-enabled".to_string()));

    check_log_group(
        &world,
        "stg",
        "/nc/stg/audit/cloudtrail",
        "observability.log.trail",
        30,
    )
    .await;
    check_log_group(
        &world,
        "stg",
        "/nc/stg/operations",
        "observability.log.operations",
        30,
    )
    .await;

    let logs_key = logs_key_arn(&world, "stg").await;
    let live_topics = topics(&world).await;
    let (alerts, alerts_key, alerts_subs) = &live_topics["nc-stg-security-alerts"];
    let (ops, ops_key, ops_subs) = &live_topics["nc-stg-operations"];
    assert_eq!(alerts_key, &logs_key);
    assert_eq!(ops_key, &logs_key);
    assert_eq!(
        alerts_subs,
        &vec!["email:stg-alerts@neurocipher.io".to_string()]
    );
    assert_eq!(ops_subs, &vec!["email:ops@neurocipher.io".to_string()]);

    let live_alarms = alarms(&world, "stg").await;
    assert_eq!(
        live_alarms.len(),
        25,
        "no API Gateway alarm without an API: {live_alarms:#?}"
    );
    let cis: Vec<&String> = live_alarms
        .keys()
        .filter(|name| name.starts_with("nc-stg-cis-4-"))
        .collect();
    assert_eq!(cis.len(), 15, "one alarm per CIS 4.x filter");
    for name in cis {
        assert_eq!(
            &live_alarms[name],
            &vec![alerts.clone()],
            "{name} pages security"
        );
    }
    assert_eq!(
        &live_alarms["nc-stg-kms-access-denied"],
        &vec![alerts.clone()]
    );
    assert_eq!(
        &live_alarms["nc-stg-guardduty-high-findings"],
        &vec![alerts.clone()]
    );
    assert_eq!(
        &live_alarms["nc-stg-s3-access-denied"],
        &vec![ops.clone()],
        "warnings to ops"
    );
    assert_eq!(
        &live_alarms["nc-stg-config-compliance-drift"],
        &vec![ops.clone()]
    );
    let logs = logs_client(&world).await;
    let filters = logs
        .describe_metric_filters()
        .log_group_name("/nc/stg/audit/cloudtrail")
        .send()
        .await
        .expect("filters");
    assert_eq!(
        filters.metric_filters().len(),
        18,
        "15 CIS + 3 platform filters"
    );
    let root = filters
        .metric_filters()
        .iter()
        .find(|f| f.filter_name() == Some("nc-stg-cis-4-3-root-account-usage"))
        .expect("CIS 4.3 filter");
    assert!(
        root.filter_pattern()
            .is_some_and(|p| p.contains("$.userIdentity.type = \"Root\""))
    );
    let organizations = filters
        .metric_filters()
        .iter()
        .find(|f| f.filter_name() == Some("nc-stg-cis-4-15-organizations-changes"))
        .and_then(|f| f.filter_pattern())
        .expect("CIS 4.15 filter");
    for event in ["CancelHandshake", "CreateOrganization", "EnableAllFeatures"] {
        assert!(
            organizations.contains(&format!("($.eventName = \"{event}\")")),
            "CIS 4.15 filter has {event}: {organizations}"
        );
    }

    // Re-plan: no change; a second apply writes nothing.
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
    let (code, again, _) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0);
    assert_eq!(again["api_calls"]["writes"], 0, "{again:#}");

    // Drift, out of band: trail logging stopped, detector frequency changed, a Config rule
    // deleted, the audit log group's retention shortened, an alarm's action removed.
    let trail_arn = check_trail(&world, "stg").await;
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&world.moto_sdk("us-east-1").await);
    cloudtrail
        .stop_logging()
        .name(&trail_arn)
        .send()
        .await
        .expect("stop logging");
    let guardduty = aws_sdk_guardduty::Client::new(&world.moto_sdk("us-east-1").await);
    let (detector_id, _, _) = detector(&world).await;
    guardduty
        .update_detector()
        .detector_id(&detector_id)
        .finding_publishing_frequency(aws_sdk_guardduty::types::FindingPublishingFrequency::OneHour)
        .send()
        .await
        .expect("change frequency");
    config
        .delete_config_rule()
        .config_rule_name("nc-stg-cloudtrail-enabled")
        .send()
        .await
        .expect("delete rule");
    logs.put_retention_policy()
        .log_group_name("/nc/stg/audit/cloudtrail")
        .retention_in_days(7)
        .send()
        .await
        .expect("shorten retention");
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&world.sdk("us-east-1").await);
    let alarm = cloudwatch
        .describe_alarms()
        .alarm_names("nc-stg-kms-access-denied")
        .send()
        .await
        .expect("alarm");
    let alarm = alarm.metric_alarms().first().expect("alarm").clone();
    cloudwatch
        .put_metric_alarm()
        .alarm_name("nc-stg-kms-access-denied")
        .set_alarm_description(alarm.alarm_description().map(str::to_string))
        .set_namespace(alarm.namespace().map(str::to_string))
        .set_metric_name(alarm.metric_name().map(str::to_string))
        .set_statistic(alarm.statistic().cloned())
        .set_period(alarm.period())
        .set_evaluation_periods(alarm.evaluation_periods())
        .set_threshold(alarm.threshold())
        .set_comparison_operator(alarm.comparison_operator().cloned())
        .set_treat_missing_data(alarm.treat_missing_data().map(str::to_string))
        .set_alarm_actions(Some(Vec::new()))
        .send()
        .await
        .expect("remove the alarm's action");

    let sns = aws_sdk_sns::Client::new(&world.sdk("us-east-1").await);
    let intruder = sns
        .subscribe()
        .topic_arn(alerts)
        .protocol("email")
        .endpoint("intruder@example.com")
        .return_subscription_arn(true)
        .send()
        .await
        .expect("extra subscription");
    let confirmed = intruder
        .subscription_arn()
        .is_some_and(|arn| arn.starts_with("arn:"));

    let (code, plan, stderr) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    if confirmed {
        let topic = change(&plan, "observability.topic.security-alerts");
        assert_eq!(
            changed_attributes(topic),
            vec!["subscriptions"],
            "{topic:#}"
        );
    }
    let expect = [
        ("observability.trail", "update", vec!["logging"]),
        (
            "observability.guardduty.detector",
            "update",
            vec!["frequency"],
        ),
        ("observability.log.trail", "update", vec!["retention_days"]),
        (
            "observability.alarm.kms-access-denied",
            "update",
            vec!["alarm_actions"],
        ),
    ];
    for (id, action, attributes) in expect {
        let drift = change(&plan, id);
        assert_eq!(drift["action"], action, "{drift:#}");
        assert_eq!(changed_attributes(drift), attributes, "{drift:#}");
    }
    let rule = change(&plan, "observability.config.rule.cloudtrail-enabled");
    assert_eq!(rule["action"], "create", "{rule:#}");

    let (code, report, stderr) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
    check_trail(&world, "stg").await;
    assert_eq!(detector(&world).await.1, "SIX_HOURS");
    assert_eq!(config_rules(&world).await.len(), 7);
    check_log_group(
        &world,
        "stg",
        "/nc/stg/audit/cloudtrail",
        "observability.log.trail",
        30,
    )
    .await;
    assert_eq!(
        alarms(&world, "stg").await["nc-stg-kms-access-denied"],
        vec![alerts.clone()]
    );
    assert_eq!(
        topics(&world).await["nc-stg-security-alerts"].2,
        vec!["email:stg-alerts@neurocipher.io".to_string()],
        "the out-of-band subscription was removed (confirmed: {confirmed})"
    );
}

#[tokio::test]
async fn prod_keeps_trail_logs_seven_years_and_refuses_a_shorter_retention() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    apply_prod(&world);
    check_trail_bucket(&world, "prod", None, Some(7)).await;
    check_trail(&world, "prod").await;
    assert_eq!(detector(&world).await.1, "FIFTEEN_MINUTES");
    check_log_group(
        &world,
        "prod",
        "/nc/prod/audit/cloudtrail",
        "observability.log.trail",
        731,
    )
    .await;
    check_log_group(
        &world,
        "prod",
        "/nc/prod/operations",
        "observability.log.operations",
        90,
    )
    .await;
    let topics = topics(&world).await;
    assert_eq!(
        topics["nc-prod-security-alerts"].2,
        vec!["email:security@neurocipher.io".to_string()]
    );
    world
        .run(&["plan", "--env", "prod", "--detailed-exitcode"])
        .expect_code(0);

    // COMPLIANCE retention can never be shortened: the plan says so and apply refuses.
    world.edit_spec("prod", |text| {
        text.replace("trail_retention_years = 7", "trail_retention_years = 5")
    });
    let (code, plan, stderr) = world.json(&["plan", "--env", "prod", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    let refused = change(&plan, "observability.bucket.trail");
    assert_eq!(refused["action"], "conflict", "{refused:#}");
    assert!(
        refused["reason"].as_str().is_some_and(
            |reason| reason.contains("cannot be shortened") && reason.contains("COMPLIANCE")
        ),
        "{refused:#}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let saved = dir.path().join("prod.plan");
    let saved = saved.to_str().expect("utf-8");
    world.run(&["plan", "--env", "prod", "--out", saved]);
    world
        .run(&["apply", "--env", "prod", "--plan", saved])
        .expect_code(1);
    check_trail_bucket(&world, "prod", None, Some(7)).await;

    // A longer retention is an in-place update.
    world.edit_spec("prod", |text| {
        text.replace("trail_retention_years = 5", "trail_retention_years = 10")
    });
    apply_prod(&world);
    check_trail_bucket(&world, "prod", None, Some(10)).await;
}

#[tokio::test]
async fn object_lock_turns_on_in_place_the_detector_is_reused_and_dev_warnings_page_alerts() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    // The dev trail bucket exists without Object Lock (created before the tool managed it).
    let s3 = world.s3().await;
    let bucket = trail_bucket("dev", &world.account);
    let tags = [
        ("Environment", "dev"),
        ("Project", "neurocipher-platform"),
        ("ManagedBy", "nc-provision"),
        ("Owner", "platform-engineering"),
        ("nc:env", "dev"),
    ];
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    s3.put_bucket_tagging()
        .bucket(&bucket)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .set_tag_set(Some(
                    tags.iter()
                        .chain([("nc:id", "observability.bucket.trail")].iter())
                        .map(|(k, v)| {
                            aws_sdk_s3::types::Tag::builder()
                                .key(*k)
                                .value(*v)
                                .build()
                                .expect("tag")
                        })
                        .collect(),
                ))
                .build()
                .expect("tagging"),
        )
        .send()
        .await
        .expect("tags");
    // The region already has a GuardDuty detector (AWS allows one): it is found, never
    // duplicated; not tagged as ours, it is a conflict until --adopt.
    let guardduty = aws_sdk_guardduty::Client::new(&world.moto_sdk("us-east-1").await);
    let foreign = guardduty
        .create_detector()
        .enable(true)
        .send()
        .await
        .expect("existing detector")
        .detector_id()
        .expect("id")
        .to_string();
    let (code, plan, stderr) = world.json(&["plan", "--env", "dev", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    let bucket_change = change(&plan, "observability.bucket.trail");
    assert_eq!(
        bucket_change["action"], "update",
        "never a replacement: {bucket_change:#}"
    );
    assert!(changed_attributes(bucket_change).contains(&"object_lock".to_string()));
    let detector_change = change(&plan, "observability.guardduty.detector");
    assert_eq!(detector_change["action"], "conflict", "{detector_change:#}");
    assert!(
        detector_change["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains(&foreign)),
        "{detector_change:#}"
    );
    // moto has no GuardDuty TagResource (404), so --adopt cannot tag it here: the test swaps
    // in a detector that is already ours, with another frequency, and checks it is reused.
    guardduty
        .delete_detector()
        .detector_id(&foreign)
        .send()
        .await
        .expect("delete the foreign detector");
    let mut ours = guardduty
        .create_detector()
        .enable(true)
        .finding_publishing_frequency(
            aws_sdk_guardduty::types::FindingPublishingFrequency::OneHour,
        );
    for (key, value) in tags {
        ours = ours.tags(key, value);
    }
    let ours = ours
        .tags("nc:id", "observability.guardduty.detector")
        .send()
        .await
        .expect("our detector")
        .detector_id()
        .expect("id")
        .to_string();
    let (code, plan, stderr) = world.json(&["plan", "--env", "dev", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    let detector_change = change(&plan, "observability.guardduty.detector");
    assert_eq!(detector_change["action"], "update", "{detector_change:#}");
    assert_eq!(changed_attributes(detector_change), vec!["frequency"]);
    let (code, report, stderr) = world.json(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let (id, frequency, _) = detector(&world).await;
    assert_eq!(id, ours, "the region's detector was reused");
    assert_eq!(frequency, "SIX_HOURS");
    check_trail_bucket(&world, "dev", Some(7), None).await;
    world
        .run(&["plan", "--env", "dev", "--detailed-exitcode"])
        .expect_code(0);

    // dev has no ops e-mail: no operations topic, warnings go to the alert topic.
    let topics = topics(&world).await;
    assert!(!topics.contains_key("nc-dev-operations"), "{topics:?}");
    let alerts = topics["nc-dev-security-alerts"].0.clone();
    let alarms = alarms(&world, "dev").await;
    assert_eq!(alarms["nc-dev-s3-access-denied"], vec![alerts]);
    // dev keeps Config rules off.
    assert!(config_rules(&world).await.is_empty());
}
