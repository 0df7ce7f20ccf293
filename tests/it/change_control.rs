//! Change control on the local AWS: a prod plan with a high-risk change is refused until
//! platform-lead, security-lead and cto approvals by distinct principals exist for its digest;
//! an approver outside the spec's principals is refused; one person cannot fill two roles; a
//! changed plan needs new approvals; `reconcile --env prod --once` repairs nothing, exits 2 and
//! publishes the drift summary.

use aws_sdk_sts::types::Credentials as StsCredentials;

use crate::common::{Run, World, repo, tag};

/// The shipped prod spec's `[change_control]` table (the test worlds strip it).
fn shipped_change_control() -> String {
    let text = std::fs::read_to_string(repo().join("specs/prod.toml")).expect("prod spec");
    let start = text
        .find("\n[change_control]")
        .expect("prod has change control");
    text[start..].to_string()
}

/// Credentials of an assumed role `name` in the world's account (LocalStack STS).
async fn assume(world: &World, name: &str) -> StsCredentials {
    let sdk = world.sdk("us-east-1").await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#,
        world.account
    );
    let _ = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await;
    let assumed = aws_sdk_sts::Client::new(&sdk)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{}:role/{name}", world.account))
        .role_session_name(format!("{}-session", name.to_lowercase()))
        .send()
        .await
        .expect("assume role");
    assumed.credentials().expect("credentials").clone()
}

fn as_role(world: &World, credentials: &StsCredentials, args: &[&str]) -> Run {
    let mut command = world.command(args);
    command
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .env("AWS_SESSION_TOKEN", credentials.session_token());
    Run::from(command.output().expect("run nc-provision"))
}

#[tokio::test]
async fn prod_plans_need_distinct_approvers_and_reconcile_only_reports() {
    let world = World::with_bucket_tag(Some(&tag()));
    // security-lead may also be held by the platform lead's role here, to show that one
    // person still cannot fill two roles.
    let control = shipped_change_control().replace(
        "security-lead = [\"arn:aws:sts::*:assumed-role/SecurityEngineeringLead/*\"]",
        "security-lead = [\"arn:aws:sts::*:assumed-role/SecurityEngineeringLead/*\", \"arn:aws:sts::*:assumed-role/PlatformEngineeringLead/*\"]",
    );
    world.edit_spec("prod", |text| format!("{text}{control}"));
    let platform = assume(&world, "PlatformEngineeringLead").await;
    let security = assume(&world, "SecurityEngineeringLead").await;
    let cto = assume(&world, "CTO").await;
    let intern = assume(&world, "Intern").await;

    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("prod-1.plan");
    let first = first.to_str().expect("utf-8");
    world
        .run(&["plan", "--env", "prod", "--out", first])
        .expect_code(0);
    let (_, plan, _) = world.json(&["plan", "--env", "prod"]);
    assert_eq!(plan["risk"], "high", "a first apply creates IAM roles");
    let vpc_risk = &crate::common::change(&plan, "vpc.main")["risk"];
    assert_eq!(vpc_risk["class"], "medium", "{vpc_risk}");

    // No approvals: refused, naming every missing role.
    let refused = world.run(&["apply", "--env", "prod", "--plan", first]);
    refused.expect_code(1);
    for role in ["platform-lead", "security-lead", "cto"] {
        assert!(refused.stderr.contains(role), "{}", refused.stderr);
    }

    // The platform lead approves as platform-lead and (allowed by the spec) as security-lead:
    // still refused, one person cannot fill two roles.
    as_role(
        &world,
        &platform,
        &["approve", "--plan", first, "--as", "platform-lead"],
    )
    .expect_code(0);
    as_role(
        &world,
        &platform,
        &["approve", "--plan", first, "--as", "security-lead"],
    )
    .expect_code(0);
    // Someone outside the spec's principals cannot approve at all.
    let outsider = as_role(
        &world,
        &intern,
        &["approve", "--plan", first, "--as", "cto"],
    );
    outsider.expect_code(1);
    assert!(
        outsider.stderr.contains("does not hold cto"),
        "{}",
        outsider.stderr
    );
    as_role(
        &world,
        &cto,
        &["approve", "--plan", first, "--as", "cto", "--comment", "ok"],
    )
    .expect_code(0);
    let refused = world.run(&["apply", "--env", "prod", "--plan", first]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("already approved as"),
        "{}",
        refused.stderr
    );

    // A copy of the plan file is the same plan: the same approvals, still incomplete.
    let second = dir.path().join("prod-2.plan");
    let second = second.to_str().expect("utf-8");
    std::fs::copy(first, second).expect("copy");
    let listed = world.run(&["approvals", "--plan", second]);
    listed.expect_code(2);
    assert!(listed.stdout.contains("cto"), "{}", listed.stdout);

    // A fresh plan: three distinct principals approve, and it applies.
    let third = dir.path().join("prod-3.plan");
    let third = third.to_str().expect("utf-8");
    world
        .run(&[
            "plan",
            "--env",
            "prod",
            "--out",
            third,
            "--detailed-exitcode",
        ])
        .expect_code(2);
    for (who, role) in [
        (&platform, "platform-lead"),
        (&security, "security-lead"),
        (&cto, "cto"),
    ] {
        as_role(&world, who, &["approve", "--plan", third, "--as", role]).expect_code(0);
    }
    let (code, approvals, _) = world.json(&["approvals", "--plan", third]);
    assert_eq!(code, 0, "{approvals:#}");
    assert_eq!(approvals["complete"], true);
    assert_ne!(
        approvals["plan_digest"],
        world.json(&["approvals", "--plan", first]).1["plan_digest"],
        "every plan is its own artifact"
    );
    let applied = world.run(&["apply", "--env", "prod", "--plan", third]);
    applied.expect_code(0);

    // Drift: a changed plan needs new approvals.
    aws_sdk_kms::Client::new(&world.sdk("us-east-1").await)
        .disable_key_rotation()
        .key_id("alias/nc-dp-data-prod")
        .send()
        .await
        .expect("drift");
    let fourth = dir.path().join("prod-4.plan");
    let fourth = fourth.to_str().expect("utf-8");
    world
        .run(&["plan", "--env", "prod", "--out", fourth])
        .expect_code(0);
    let refused = world.run(&["apply", "--env", "prod", "--plan", fourth]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("no approval of this plan"),
        "{}",
        refused.stderr
    );

    // Scheduled repair is not allowed in prod: reported, published, nothing repaired.
    let (code, line, stderr) = world.json(&["reconcile", "--env", "prod", "--once"]);
    assert_eq!(code, 2, "{line:#}\n{stderr}");
    assert_eq!(line["repaired"], 0, "{line:#}");
    assert!(
        line["notified"]["message_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{line:#}"
    );
    let rotation = aws_sdk_kms::Client::new(&world.sdk("us-east-1").await)
        .get_key_rotation_status()
        .key_id("alias/nc-dp-data-prod")
        .send()
        .await
        .expect("rotation");
    assert!(!rotation.key_rotation_enabled(), "nothing was repaired");
}
