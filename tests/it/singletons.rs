//! Account-level singletons without tags (the password policy, account S3 Block Public
//! Access, the Config recorder and its delivery channel): one set up by someone else is a
//! conflict until `--adopt` when applying would overwrite it, the adoption is recorded in the
//! audit table, and one the tool set up drifts as a plain update. Read back with the SDK.
//!
//! GuardDuty, Security Hub and Access Analyzer take tags; their ownership is covered by the
//! GuardDuty test in observability.rs (moto) and by mocked-client tests where no emulator
//! serves the calls (providers/securityhub.rs, accessanalyzer.rs, guardduty.rs).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3control::types::PublicAccessBlockConfiguration;

use crate::common::{World, change, changed_attributes};

const CT_RECORDER: &str = "aws-controltower-BaselineConfigRecorder";
const CT_CHANNEL: &str = "aws-controltower-BaselineConfigDeliveryChannel";

async fn s3control(world: &World) -> aws_sdk_s3control::Client {
    aws_sdk_s3control::Client::from_conf(
        aws_sdk_s3control::config::Builder::from(&world.sdk("us-east-1").await)
            .endpoint_resolver(nc_provision::providers::s3control::KeepHostResolver::default())
            .build(),
    )
}

async fn put_account_block(world: &World, ignore_public_acls: bool) {
    s3control(world)
        .await
        .put_public_access_block()
        .account_id(&world.account)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(ignore_public_acls)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("account public access block");
}

async fn iam(world: &World) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&world.sdk("us-east-1").await)
}

async fn config(world: &World) -> aws_sdk_config::Client {
    aws_sdk_config::Client::new(&world.sdk("us-east-1").await)
}

async fn minimum_password_length(world: &World) -> Option<i32> {
    iam(world)
        .await
        .get_account_password_policy()
        .send()
        .await
        .expect("password policy")
        .password_policy()
        .and_then(|policy| policy.minimum_password_length())
}

/// The ownership record of a singleton, as the audit table holds it (None: no record).
async fn record(world: &World, kind: &str, physical_id: &str) -> Option<HashMap<String, String>> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&world.sdk("us-east-1").await);
    let item = dynamodb
        .get_item()
        .table_name("nc-provision-locks")
        .key(
            "pk",
            AttributeValue::S(format!("owner#{kind}#{physical_id}")),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("get the ownership record");
    item.item().map(|item| {
        item.iter()
            .filter_map(|(name, value)| value.as_s().ok().map(|text| (name.clone(), text.clone())))
            .collect()
    })
}

fn assert_recorded(
    record: Option<HashMap<String, String>>,
    logical_id: &str,
    how: &str,
    account: &str,
) {
    let record = record.unwrap_or_else(|| panic!("no ownership record for {logical_id}"));
    assert_eq!(record["env"], "dev", "{record:?}");
    assert_eq!(record["logical_id"], logical_id, "{record:?}");
    assert_eq!(record["how"], how, "{record:?}");
    assert!(record["who"].contains(account), "{record:?}");
    assert!(!record["at"].is_empty(), "{record:?}");
}

#[tokio::test]
async fn singletons_someone_else_set_up_are_conflicts_until_adopted_and_the_adoption_is_recorded() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    // Set up out of band, as Control Tower or a console click would: a weaker password
    // policy, the account Block Public Access exactly as the spec wants it, and the region's
    // one Config recorder and delivery channel under Control Tower's names, not recording.
    iam(&world)
        .await
        .update_account_password_policy()
        .minimum_password_length(8)
        .send()
        .await
        .expect("password policy");
    put_account_block(&world, true).await;
    let config = config(&world).await;
    config
        .put_configuration_recorder()
        .configuration_recorder(
            aws_sdk_config::types::ConfigurationRecorder::builder()
                .name(CT_RECORDER)
                .role_arn(format!(
                    "arn:aws:iam::{}:role/aws-controltower-ConfigRecorderRole",
                    world.account
                ))
                .build(),
        )
        .send()
        .await
        .expect("recorder");
    let ct_bucket = format!("ct-logs-{}", world.account);
    world
        .s3()
        .await
        .create_bucket()
        .bucket(&ct_bucket)
        .send()
        .await
        .expect("Control Tower's bucket");
    config
        .put_delivery_channel()
        .delivery_channel(
            aws_sdk_config::types::DeliveryChannel::builder()
                .name(CT_CHANNEL)
                .s3_bucket_name(&ct_bucket)
                .build(),
        )
        .send()
        .await
        .expect("channel");

    let (code, plan, stderr) = world.json(&["plan", "--env", "dev", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    for (id, physical) in [
        ("iam.password_policy", "account"),
        ("observability.config.recorder", CT_RECORDER),
    ] {
        let conflict = change(&plan, id);
        assert_eq!(conflict["action"], "conflict", "{conflict:#}");
        let reason = conflict["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains(physical)
                && reason.contains("not set up by nc-provision")
                && reason.contains("--adopt"),
            "{conflict:#}"
        );
    }
    let block = change(&plan, "s3.account_public_access_block");
    assert_eq!(
        block["action"], "no_op",
        "in line with the spec: nothing to overwrite, whoever set it: {block:#}"
    );

    let run = world.run(&["apply", "--env", "dev", "--auto-approve"]);
    run.expect_code(1);
    assert!(run.stderr.contains("conflict"), "{}", run.stderr);
    assert_eq!(
        minimum_password_length(&world).await,
        Some(8),
        "the refused apply overwrote nothing"
    );

    let (code, plan, stderr) = world.json(&["plan", "--env", "dev", "--adopt"]);
    assert_eq!(code, 0, "{stderr}");
    let adopt = change(&plan, "iam.password_policy");
    assert_eq!(adopt["action"], "adopt", "{adopt:#}");
    assert!(
        adopt["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("records the adoption in nc-provision-locks"),
        "the plan says where the adoption is recorded: {adopt:#}"
    );

    let (code, report, stderr) =
        world.json(&["apply", "--env", "dev", "--auto-approve", "--adopt"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["summary"]["adopt"], 2, "{report:#}");
    assert_eq!(minimum_password_length(&world).await, Some(14));
    // The region's one recorder and channel kept their names (a second one would fail on the
    // quota) and now record into the spec's bucket with the tool's role.
    let recorders = config
        .describe_configuration_recorders()
        .send()
        .await
        .expect("recorders");
    let names: Vec<&str> = recorders
        .configuration_recorders()
        .iter()
        .filter_map(|recorder| recorder.name())
        .collect();
    assert_eq!(names, [CT_RECORDER]);
    let role = recorders.configuration_recorders()[0]
        .role_arn()
        .unwrap_or_default();
    assert!(role.contains("nc-dev-config-recorder"), "{role}");
    let channels = config
        .describe_delivery_channels()
        .send()
        .await
        .expect("channels");
    let channel = channels.delivery_channels();
    assert_eq!(channel.len(), 1, "{channel:?}");
    assert_eq!(channel[0].name(), Some(CT_CHANNEL));
    // Config delivers into its own bucket: it cannot deliver into the Object Lock trail bucket.
    assert_eq!(
        channel[0].s3_bucket_name(),
        Some(format!("nc-dp-dev-config-{}", world.account).as_str())
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
            .any(|s| s.name() == Some(CT_RECORDER) && s.recording()),
        "{status:?}"
    );

    assert_recorded(
        record(&world, "iam_password_policy", "account").await,
        "iam.password_policy",
        "adopted",
        &world.account,
    );
    assert_recorded(
        record(&world, "config_recorder", CT_RECORDER).await,
        "observability.config.recorder",
        "adopted",
        &world.account,
    );
    assert!(
        record(&world, "s3_account_public_access_block", &world.account)
            .await
            .is_none(),
        "the block matched the spec: nothing was adopted"
    );
    world
        .run(&["plan", "--env", "dev", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test]
async fn singletons_the_tool_set_up_drift_as_plain_updates() {
    let world = World::with_bucket_tag(Some(&crate::common::tag()));
    let (code, report, stderr) = world.json(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let singletons = [
        (
            "iam.password_policy",
            "iam_password_policy",
            "account".to_string(),
        ),
        (
            "s3.account_public_access_block",
            "s3_account_public_access_block",
            world.account.clone(),
        ),
        (
            "observability.config.recorder",
            "config_recorder",
            "default".to_string(),
        ),
    ];
    for (id, kind, physical) in &singletons {
        assert_recorded(
            record(&world, kind, physical).await,
            id,
            "created",
            &world.account,
        );
    }

    // Changed out of band afterwards: drift of the tool's own singletons, not a conflict.
    iam(&world)
        .await
        .update_account_password_policy()
        .minimum_password_length(8)
        .send()
        .await
        .expect("weaken the password policy");
    put_account_block(&world, false).await;
    config(&world)
        .await
        .stop_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .expect("stop recording");

    let (code, plan, stderr) = world.json(&["plan", "--env", "dev", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    for (id, attribute) in [
        ("iam.password_policy", "minimum_password_length"),
        ("s3.account_public_access_block", "ignore_public_acls"),
        ("observability.config.recorder", "recording"),
    ] {
        let drift = change(&plan, id);
        assert_eq!(drift["action"], "update", "{drift:#}");
        // UpdateAccountPasswordPolicy resets what it is not given: other attributes differ too.
        assert!(
            changed_attributes(drift).contains(&attribute.to_string()),
            "{drift:#}"
        );
    }
    let (code, report, stderr) = world.json(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(minimum_password_length(&world).await, Some(14));
    world
        .run(&["plan", "--env", "dev", "--detailed-exitcode"])
        .expect_code(0);
}
