//! Issue 5: the iam-baseline module and the complete key policies, applied to stg on LocalStack
//! in a fresh account (one run), read back with the SDK directly (trust and boundary documents
//! decoded), re-planned as no-change, drifted out of band and repaired.
//!
//! IAM Access Analyzer has no emulator: it is off in these specs (see `World`) and covered by
//! unit tests over a mocked client.

use std::collections::BTreeMap;

use aws_sdk_iam::types::{EntityType, ManagedPolicyDetail, RoleDetail};

use crate::common::{World, change, changed_attributes};

/// Roles of stg: (name, max session seconds, boundary policy name or "").
const STG_ROLES: [(&str, i32, &str); 10] = [
    ("LambdaETLRole", 43_200, "pb-etl"),
    ("FargateTaskRole", 43_200, "pb-fargate"),
    ("GlueJobRole", 43_200, "pb-etl"),
    ("PipelineExecutionRole", 43_200, "pb-etl"),
    ("SecurityAuditorRole", 14_400, "pb-admin"),
    ("LogArchiverRole", 3_600, ""),
    ("DeveloperRole", 14_400, "pb-admin"),
    ("WeaviateAdminRole", 14_400, "pb-admin"),
    ("SupportRole", 14_400, ""),
    ("GitHubDeployRole", 3_600, "pb-admin"),
];

fn decode(text: &str) -> serde_json::Value {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    serde_json::from_str(&decoded).expect("policy JSON")
}

struct Live {
    roles: BTreeMap<String, RoleDetail>,
    policies: BTreeMap<String, ManagedPolicyDetail>,
}

async fn live(world: &World) -> Live {
    let iam = aws_sdk_iam::Client::new(&world.sdk("us-east-1").await);
    let details = iam
        .get_account_authorization_details()
        .filter(EntityType::Role)
        .filter(EntityType::LocalManagedPolicy)
        .send()
        .await
        .expect("authorization details");
    Live {
        roles: details
            .role_detail_list()
            .iter()
            .map(|role| {
                (
                    role.role_name().unwrap_or_default().to_string(),
                    role.clone(),
                )
            })
            .collect(),
        policies: details
            .policies()
            .iter()
            .map(|policy| {
                (
                    policy.policy_name().unwrap_or_default().to_string(),
                    policy.clone(),
                )
            })
            .collect(),
    }
}

fn default_document(policy: &ManagedPolicyDetail) -> serde_json::Value {
    let version = policy
        .policy_version_list()
        .iter()
        .find(|version| version.is_default_version())
        .expect("default version");
    decode(version.document().expect("document"))
}

fn trust(role: &RoleDetail) -> serde_json::Value {
    decode(role.assume_role_policy_document().expect("trust"))
}

fn statement<'a>(document: &'a serde_json::Value, sid: &str) -> &'a serde_json::Value {
    document["Statement"]
        .as_array()
        .and_then(|statements| statements.iter().find(|s| s["Sid"] == sid))
        .unwrap_or_else(|| panic!("no statement {sid} in {document:#}"))
}

async fn key_arn(world: &World, alias: &str) -> String {
    let kms = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await);
    kms.describe_key()
        .key_id(alias)
        .send()
        .await
        .expect("describe key")
        .key_metadata()
        .and_then(|m| m.arn())
        .expect("arn")
        .to_string()
}

async fn key_policy(world: &World, alias: &str) -> serde_json::Value {
    let kms = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await);
    let policy = kms
        .get_key_policy()
        .key_id(alias_target(world, alias).await)
        .policy_name("default")
        .send()
        .await
        .expect("key policy");
    serde_json::from_str(policy.policy().expect("text")).expect("json")
}

async fn alias_target(world: &World, alias: &str) -> String {
    let kms = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await);
    kms.describe_key()
        .key_id(alias)
        .send()
        .await
        .expect("describe key")
        .key_metadata()
        .map(|m| m.key_id().to_string())
        .expect("key id")
}

/// Everything the iam-baseline module makes for stg, read back with the SDK.
async fn check_stg(world: &World, tag: &str) {
    let account = &world.account;
    let live = live(world).await;
    let iam = aws_sdk_iam::Client::new(&world.sdk("us-east-1").await);

    // Roles: path, session length, boundary, required tags.
    let listed = iam
        .list_roles()
        .path_prefix("/nc/")
        .send()
        .await
        .expect("roles");
    let sessions: BTreeMap<&str, i32> = listed
        .roles()
        .iter()
        // The other modules' roles (observability's delivery roles, the vpc module's flow-log
        // role) are named `nc-{env}-...`.
        .filter(|role| !role.role_name().starts_with("nc-"))
        .map(|role| (role.role_name(), role.max_session_duration().unwrap_or(0)))
        .collect();
    assert_eq!(sessions.len(), 10, "{sessions:?}");
    for (name, seconds, boundary) in STG_ROLES {
        let role = live
            .roles
            .get(name)
            .unwrap_or_else(|| panic!("role {name}"));
        assert_eq!(role.path(), Some("/nc/"), "{name}");
        assert_eq!(sessions.get(name), Some(&seconds), "{name} session");
        let live_boundary = role
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .unwrap_or_default();
        let expected = if boundary.is_empty() {
            String::new()
        } else {
            format!("arn:aws:iam::{account}:policy/nc/{boundary}")
        };
        assert_eq!(live_boundary, expected, "{name} boundary");
        let tags: BTreeMap<&str, &str> = role.tags().iter().map(|t| (t.key(), t.value())).collect();
        assert_eq!(tags.get("ManagedBy"), Some(&"nc-provision"), "{name}");
        assert_eq!(tags.get("nc:env"), Some(&"stg"), "{name}");
    }

    // Trust documents, decoded.
    let etl = trust(&live.roles["LambdaETLRole"]);
    assert_eq!(
        etl["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );
    assert_eq!(
        trust(&live.roles["FargateTaskRole"])["Statement"][0]["Principal"]["Service"],
        "ecs-tasks.amazonaws.com"
    );
    let auditor = trust(&live.roles["SecurityAuditorRole"]);
    assert_eq!(
        auditor["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::111111111111:root"
    );
    assert_eq!(
        auditor["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        "nc-provision-stg-security-audit"
    );
    assert_eq!(
        trust(&live.roles["LogArchiverRole"])["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::222222222222:root"
    );
    for human in ["DeveloperRole", "WeaviateAdminRole", "SupportRole"] {
        let document = trust(&live.roles[human]);
        assert_eq!(
            document["Statement"][0]["Condition"]["Bool"]["aws:MultiFactorAuthPresent"], "true",
            "{human} requires MFA: {document:#}"
        );
    }
    let deploy = trust(&live.roles["GitHubDeployRole"]);
    let deploy = &deploy["Statement"][0];
    assert_eq!(
        deploy["Principal"]["Federated"],
        format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com")
    );
    assert_eq!(deploy["Action"], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(
        deploy["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
    assert_eq!(
        deploy["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"],
        "repo:neurocipher-io/neurocipher-platform:*"
    );

    // Attached and inline policies.
    let attached = |name: &str| -> Vec<String> {
        live.roles[name]
            .attached_managed_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect()
    };
    assert!(
        attached("SupportRole").contains(&"arn:aws:iam::aws:policy/AWSSupportAccess".to_string()),
        "CIS 1.17 support role"
    );
    assert!(
        attached("LambdaETLRole").contains(&format!("arn:aws:iam::{account}:policy/nc/pb-etl"))
    );
    let archiver = &live.roles["LogArchiverRole"];
    let inline = archiver.role_policy_list();
    assert_eq!(inline.len(), 1);
    let write = decode(inline[0].policy_document().expect("inline"));
    assert_eq!(statement(&write, "WriteOnly")["Action"], "s3:PutObject");
    assert_eq!(
        statement(&write, "WriteOnly")["Resource"],
        "arn:aws:s3:::nc-dp-logs-central/*"
    );

    // Boundaries, decoded: designated prefixes, the data key, the tag condition, the deny.
    let data_key = key_arn(world, "alias/nc-dp-data-stg").await;
    let etl = default_document(&live.policies["pb-etl"]);
    assert_eq!(statement(&etl, "DataKey")["Resource"], data_key.as_str());
    let read = &statement(&etl, "ReadRawIngest")["Resource"];
    assert!(
        read.to_string()
            .contains(&format!("arn:aws:s3:::nc-dp-stg-raw-{tag}/ingest/*")),
        "{read}"
    );
    assert_eq!(
        statement(&etl, "PipelineResources")["Condition"]["StringEquals"]["aws:ResourceTag/app"],
        "neurocipher-pipeline"
    );
    let fargate = default_document(&live.policies["pb-fargate"]);
    assert_eq!(
        statement(&fargate, "Secrets")["Action"],
        "secretsmanager:GetSecretValue"
    );
    assert_eq!(
        statement(&fargate, "DocumentsQuery")["Action"],
        "dynamodb:Query"
    );
    let admin = default_document(&live.policies["pb-admin"]);
    let deny = statement(&admin, "DenyData");
    assert_eq!(deny["Effect"], "Deny");
    assert!(
        deny["Resource"]
            .to_string()
            .contains(&format!("arn:aws:s3:::nc-dp-stg-norm-{tag}/*")),
        "{deny}"
    );

    // OIDC provider.
    let providers = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .expect("oidc");
    let arn = providers.open_id_connect_provider_list()[0]
        .arn()
        .expect("arn")
        .to_string();
    let provider = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .expect("provider");
    assert!(
        provider
            .url()
            .unwrap_or_default()
            .contains("token.actions.githubusercontent.com")
    );
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);

    // CIS: password policy and account-level Block Public Access.
    let password = iam
        .get_account_password_policy()
        .send()
        .await
        .expect("password policy");
    let password = password.password_policy().expect("policy");
    assert_eq!(password.minimum_password_length(), Some(14));
    assert_eq!(password.password_reuse_prevention(), Some(24));
    assert_eq!(password.max_password_age(), Some(90));
    assert!(
        password.require_symbols()
            && password.require_numbers()
            && password.require_uppercase_characters()
            && password.require_lowercase_characters()
    );
    let control = aws_sdk_s3control::Client::from_conf(
        aws_sdk_s3control::config::Builder::from(&world.sdk("us-east-1").await)
            .endpoint_resolver(nc_provision::providers::s3control::KeepHostResolver::default())
            .build(),
    );
    let block = control
        .get_public_access_block()
        .account_id(account)
        .send()
        .await
        .expect("account public access block");
    let block = block.public_access_block_configuration().expect("config");
    assert_eq!(
        [
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ],
        [Some(true); 4]
    );

    // No IAM users, no access keys.
    assert!(
        iam.list_users()
            .send()
            .await
            .expect("users")
            .users()
            .is_empty()
    );

    // Key policies: root, service roles with the pipeline context, logs, CloudTrail, accounts.
    let data = key_policy(world, "alias/nc-dp-data-stg").await;
    assert!(
        data.to_string()
            .contains(&format!("arn:aws:iam::{account}:root"))
    );
    let roles = statement(&data, "ServiceRolesWithPipelineContext");
    let principals = roles["Principal"]["AWS"].to_string();
    for role in ["LambdaETLRole", "FargateTaskRole"] {
        assert!(
            principals.contains(&format!("arn:aws:iam::{account}:role/nc/{role}")),
            "{principals}"
        );
    }
    assert_eq!(
        roles["Condition"]["StringEquals"]["kms:EncryptionContext:app"],
        "neurocipher-pipeline"
    );
    let logs = key_policy(world, "alias/nc-dp-logs-stg").await;
    let cloudwatch = statement(&logs, "CloudWatchLogsThisRegion");
    assert_eq!(
        cloudwatch["Principal"]["Service"],
        "logs.us-east-1.amazonaws.com"
    );
    assert_eq!(
        cloudwatch["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"],
        format!("arn:aws:logs:us-east-1:{account}:log-group:*")
    );
    assert_eq!(
        statement(&logs, "CloudTrailEncryptLogs")["Principal"]["Service"],
        "cloudtrail.amazonaws.com"
    );
    assert_eq!(
        statement(&logs, "LogsAccountReadArchive")["Principal"]["AWS"],
        "arn:aws:iam::222222222222:root"
    );
    assert_eq!(
        statement(&data, "SecurityAccountAudit")["Principal"]["AWS"],
        "arn:aws:iam::111111111111:root"
    );
}

#[tokio::test]
async fn stg_iam_baseline_applies_in_one_run_reads_back_and_replans_as_no_change() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    // A fresh account: everything, keys to key policies, in a single run.
    let (code, report, stderr) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["result"]["ok"], true, "{report:#}");
    assert_eq!(
        report["summary"]["create"],
        crate::common::resource_count("stg"),
        "{report:#}"
    );
    assert_eq!(
        crate::common::count_actions(&report, "create", &["iam.", "s3.account"]),
        crate::common::iam_resources("stg"),
        "{report:#}"
    );
    for id in [
        "iam.policy.pb-etl",
        "iam.role.lambda-etl",
        "iam.oidc.github",
        "iam.password_policy",
        "s3.account_public_access_block",
        "kms.key_policy.data",
    ] {
        assert_eq!(
            change(&report["plan"], id)["global"],
            !id.starts_with("kms"),
            "{id}"
        );
    }
    check_stg(&world, &tag).await;

    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
    let (code, again, _) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0);
    assert_eq!(again["api_calls"]["writes"], 0, "{again:#}");
}

#[tokio::test]
async fn iam_drift_shows_with_attribute_detail_and_apply_repairs_it() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    world
        .run(&["apply", "--env", "stg", "--auto-approve"])
        .expect_code(0);
    let account = world.account.clone();
    let iam = aws_sdk_iam::Client::new(&world.sdk("us-east-1").await);

    // Drift: a shorter session, an action added to a boundary, a trust policy without its
    // ExternalId, an extra inline policy.
    iam.update_role()
        .role_name("LambdaETLRole")
        .max_session_duration(3600)
        .send()
        .await
        .expect("update role");
    let before = live(&world).await;
    let mut boundary = default_document(&before.policies["pb-etl"]);
    boundary["Statement"][0]["Action"]
        .as_array_mut()
        .expect("actions")
        .push(serde_json::json!("s3:DeleteObject"));
    iam.create_policy_version()
        .policy_arn(format!("arn:aws:iam::{account}:policy/nc/pb-etl"))
        .policy_document(boundary.to_string())
        .set_as_default(true)
        .send()
        .await
        .expect("policy version");
    iam.update_assume_role_policy()
        .role_name("SecurityAuditorRole")
        .policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .expect("trust");
    iam.put_role_policy()
        .role_name("FargateTaskRole")
        .policy_name("backdoor")
        .policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": "*", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .expect("inline");

    let (code, plan, stderr) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    for (id, attribute) in [
        ("iam.role.lambda-etl", "max_session_seconds"),
        ("iam.policy.pb-etl", "policy"),
        ("iam.role.security-auditor", "assume_role_policy"),
        ("iam.role.fargate-task", "inline_policy_names"),
    ] {
        let change = change(&plan, id);
        assert_eq!(change["action"], "update", "{id}: {change:#}");
        assert_eq!(
            changed_attributes(change),
            vec![attribute.to_string()],
            "{id}"
        );
    }
    let session = &change(&plan, "iam.role.lambda-etl")["attributes"][0];
    assert_eq!(session["before"], 3600);
    assert_eq!(session["after"], 43_200);
    assert_eq!(plan["summary"]["update"], 4, "nothing else shows: {plan:#}");

    let human = world.run(&["drift", "--env", "stg"]);
    human.expect_code(2);
    assert!(
        human.stdout.contains("~ max_session_seconds") && human.stdout.contains("3600 -> 43200"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("~ statement (Allow s3:deleteobject, s3:getobject")
            && human.stdout.contains("- Action \"s3:deleteobject\""),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("+ Condition"),
        "the removed ExternalId condition: {}",
        human.stdout
    );

    let (code, report, stderr) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["summary"]["update"], 4, "{report:#}");
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
    check_stg(&world, &tag).await;
    let fargate = &live(&world).await.roles["FargateTaskRole"];
    assert!(
        fargate.role_policy_list().is_empty(),
        "the extra inline policy is gone"
    );
}

/// IAM (and LocalStack) keep five versions of a managed policy in total, the default one
/// included: a boundary already holding five takes its next change only if the oldest
/// non-default version is deleted first (issue 13, item 7).
#[tokio::test]
async fn a_boundary_holding_five_versions_takes_its_next_change() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    world
        .run(&["apply", "--env", "stg", "--auto-approve"])
        .expect_code(0);
    let iam = aws_sdk_iam::Client::new(&world.sdk("us-east-1").await);
    let arn = format!("arn:aws:iam::{}:policy/nc/pb-fargate", world.account);
    let desired = default_document(&live(&world).await.policies["pb-fargate"]);
    // Out of band: three more versions of the same document, then a drifted default: five.
    let mut drifted = desired.clone();
    drifted["Statement"][0]["Action"]
        .as_array_mut()
        .expect("actions")
        .push(serde_json::json!("s3:DeleteObject"));
    for (document, default) in [
        (&desired, false),
        (&desired, false),
        (&desired, false),
        (&drifted, true),
    ] {
        iam.create_policy_version()
            .policy_arn(&arn)
            .policy_document(document.to_string())
            .set_as_default(default)
            .send()
            .await
            .expect("policy version");
    }
    let versions = |iam: aws_sdk_iam::Client, arn: String| async move {
        iam.list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .expect("versions")
            .versions()
            .len()
    };
    assert_eq!(versions(iam.clone(), arn.clone()).await, 5);

    let (code, report, stderr) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0, "the sixth version fits: {report:#}\n{stderr}");
    assert_eq!(
        versions(iam.clone(), arn.clone()).await,
        5,
        "never above five"
    );
    assert_eq!(
        default_document(&live(&world).await.policies["pb-fargate"]),
        desired,
        "the desired document is the default again"
    );
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test]
async fn turning_github_oidc_off_deletes_its_provider_and_role_only_with_allow_destroy() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    world
        .run(&["apply", "--env", "stg", "--auto-approve"])
        .expect_code(0);
    world.edit_spec("stg", |text| {
        text.replace("enable_github_oidc = true", "enable_github_oidc = false")
    });
    let (code, plan, stderr) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan:#}\n{stderr}");
    for id in ["iam.oidc.github", "iam.role.github-deploy"] {
        assert_eq!(change(&plan, id)["action"], "delete", "{id}: {plan:#}");
    }
    assert_eq!(plan["summary"]["delete"], 2, "{plan:#}");

    // Without --allow-destroy nothing is deleted.
    world
        .run(&["apply", "--env", "stg", "--auto-approve"])
        .expect_code(0);
    let iam = aws_sdk_iam::Client::new(&world.sdk("us-east-1").await);
    let providers = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .expect("oidc");
    assert_eq!(providers.open_id_connect_provider_list().len(), 1);

    let (code, report, stderr) =
        world.json(&["apply", "--env", "stg", "--auto-approve", "--allow-destroy"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let providers = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .expect("oidc");
    assert!(providers.open_id_connect_provider_list().is_empty());
    assert!(
        iam.get_role()
            .role_name("GitHubDeployRole")
            .send()
            .await
            .is_err(),
        "the deploy role is gone"
    );
    world
        .run(&["plan", "--env", "stg", "--detailed-exitcode"])
        .expect_code(0);
}
