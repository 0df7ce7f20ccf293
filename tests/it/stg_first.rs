//! The "validated in stg first" rule (`[change_control.validated_in]`) on the local AWS, with
//! stg and prod in two accounts as in the seeds (two worlds; on one account prod's account
//! singletons would belong to stg). prod reads stg's audit as a role of stg's account: with no
//! stg apply a prod plan is refused naming what is missing; after an ok stg apply of the same
//! modules digest it is refused while `min_hours` have not passed and applied with
//! `min_hours = 0`, its audit record naming the stg apply; a prod plan of another module
//! structure (`[data.backup]` added) is refused naming what differs.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::common::{World, repo, tag};

const READER: &str = "NcProvisionAuditReader";

/// prod's `[change_control]` in the test world: no approver roles (tests/it/change_control.rs
/// covers approvals), the rule on with `min_hours`, reading stg's audit as `role`.
fn control(min_hours: u32, role: &str) -> String {
    format!(
        "\n[change_control]\nscheduled_repair = true\n[change_control.required_approvals]\nlow = []\nmedium = []\nhigh = []\n[change_control.approvers]\n[change_control.validated_in]\nenv = \"stg\"\nmin_hours = {min_hours}\naudit_role_arn = \"{role}\"\n"
    )
}

/// The world's prod spec with `control` as its `[change_control]`.
fn set_control(world: &World, control: &str) {
    world.edit_spec("prod", |text| {
        let start = text.find("\n[change_control]").unwrap_or(text.len());
        format!("{}{control}", &text[..start])
    });
}

/// The shipped prod spec's `[data.backup]` table (the worlds run without it).
fn shipped_backup_table() -> String {
    let shipped = std::fs::read_to_string(repo().join("specs/prod.toml")).expect("prod spec");
    let start = shipped.find("\n[data.backup]\n").expect("[data.backup]") + 1;
    let rest = &shipped[start..];
    let end = rest.find("\n[").map_or(rest.len(), |offset| offset + 1);
    rest[..end].to_string()
}

/// The item `pk` of `world`'s lock table, read back with the SDK (`None` also when the table
/// does not exist).
async fn item(
    world: &World,
    pk: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&world.sdk("us-east-1").await);
    let answer = dynamodb
        .get_item()
        .table_name("nc-provision-locks")
        .key("pk", AttributeValue::S(pk.to_string()))
        .consistent_read(true)
        .send()
        .await;
    match answer {
        Ok(answer) => answer.item().cloned(),
        // No table yet: no item.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|error| error.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(error) => panic!("get item {pk}: {error:?}"),
    }
}

/// Every audit record in `world`'s lock table (a Scan: the test reads back independently).
async fn audit_records(world: &World) -> Vec<serde_json::Value> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&world.sdk("us-east-1").await);
    let scan = dynamodb
        .scan()
        .table_name("nc-provision-locks")
        .send()
        .await
        .expect("scan");
    scan.items()
        .iter()
        .filter(|item| {
            item.get("pk")
                .and_then(|pk| pk.as_s().ok())
                .is_some_and(|pk| pk.starts_with("audit#"))
        })
        .filter_map(|item| item.get("record")?.as_s().ok().cloned())
        .map(|record| serde_json::from_str(&record).expect("a JSON audit record"))
        .collect()
}

fn text(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn prod_applies_only_modules_that_ran_in_stg_long_enough_ago() {
    let tag = tag();
    let stg = World::with_bucket_tag(Some(&tag));
    let prod = World::with_bucket_tag(Some(&tag));
    // prod's specs directory knows stg's account (stg's spec pins it, as a real stg spec
    // would), and a role there that may read stg's audit.
    prod.edit_spec("stg", |text| {
        text.replacen(
            "[environment]\n",
            &format!("[environment]\naccount_id = \"{}\"\n", stg.account),
            1,
        )
    });
    let iam = aws_sdk_iam::Client::new(&stg.sdk("us-east-1").await);
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#,
        prod.account
    );
    iam.create_role()
        .role_name(READER)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("reader role in stg's account");
    let role = format!("arn:aws:iam::{}:role/{READER}", stg.account);
    let dir = tempfile::tempdir().expect("tempdir");
    let plan_file = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_string();

    // No stg apply at all: refused, naming stg, the digest and that nothing is recorded.
    set_control(&prod, &control(0, &role));
    let first = plan_file("prod-1.plan");
    prod.run(&["plan", "--env", "prod", "--out", &first])
        .expect_code(0);
    let refused = prod.run(&["apply", "--env", "prod", "--plan", &first]);
    refused.expect_code(1);
    for want in [
        "apply refuses",
        "stg",
        "no ok apply at all",
        "sha256:",
        "Nothing was changed",
    ] {
        assert!(refused.stderr.contains(want), "{want}: {}", refused.stderr);
    }
    assert!(
        item(&prod, "lock#prod/us-east-1").await.is_none(),
        "refused before the lease"
    );
    // `approvals` lists the rule as what is missing (exit 2).
    let (code, listed, _) = prod.json(&["approvals", "--plan", &first]);
    assert_eq!(code, 2, "{listed:#}");
    assert_eq!(listed["validated_in"]["ok"], false, "{listed:#}");
    assert_eq!(listed["complete"], false);

    // stg applies: its audit records the modules digest, and that stg converged under it.
    stg.run(&["apply", "--env", "stg", "--auto-approve"])
        .expect_code(0);
    let latest = item(&stg, "converged#stg/us-east-1#latest")
        .await
        .expect("stg's newest ok apply is recorded");
    let modules: serde_json::Value =
        serde_json::from_str(&text(&latest, "modules")).expect("modules JSON");
    let digest = modules["digest"].as_str().expect("digest").to_string();
    let records = audit_records(&stg).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["modules_digest"], digest.as_str());
    assert_eq!(records[0]["outcome"], "ok");
    assert!(
        item(&stg, &format!("converged#stg/us-east-1#{digest}"))
            .await
            .is_some()
    );

    // Too recent for `min_hours = 1`: refused, saying when it was and what is needed.
    set_control(&prod, &control(1, &role));
    let second = plan_file("prod-2.plan");
    prod.run(&["plan", "--env", "prod", "--out", &second])
        .expect_code(0);
    let refused = prod.run(&["apply", "--env", "prod", "--plan", &second]);
    refused.expect_code(1);
    for want in [
        digest.as_str(),
        "was first applied in stg",
        "at least 1 h",
        "ago",
    ] {
        assert!(refused.stderr.contains(want), "{want}: {}", refused.stderr);
    }

    // `min_hours = 0`: the same modules ran in stg, so prod applies; its audit names stg's.
    set_control(&prod, &control(0, &role));
    let third = plan_file("prod-3.plan");
    prod.run(&["plan", "--env", "prod", "--out", &third])
        .expect_code(0);
    let (code, listed, _) = prod.json(&["approvals", "--plan", &third]);
    assert_eq!(code, 0, "{listed:#}");
    assert_eq!(listed["validated_in"]["ok"], true, "{listed:#}");
    prod.run(&["apply", "--env", "prod", "--plan", &third])
        .expect_code(0);
    let records = audit_records(&prod).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    let record = &records[0];
    assert_eq!(record["modules_digest"], digest.as_str(), "{record:#}");
    assert_eq!(record["validated_in"]["env"], "stg", "{record:#}");
    assert_eq!(record["validated_in"]["modules_digest"], digest.as_str());
    assert_eq!(
        record["validated_in"]["audit_key"],
        text(&latest, "audit_key").as_str()
    );

    // Another module structure in prod ([data.backup] added): not what stg ran.
    let backup = shipped_backup_table();
    prod.edit_spec("prod", |text| {
        text.replacen(
            "\n[observability]\n",
            &format!("\n{backup}\n[observability]\n"),
            1,
        )
    });
    let fourth = plan_file("prod-4.plan");
    prod.run(&["plan", "--env", "prod", "--out", &fourth])
        .expect_code(0);
    let refused = prod.run(&["apply", "--env", "prod", "--plan", &fourth]);
    refused.expect_code(1);
    for want in [
        "has not been applied in stg",
        digest.as_str(),
        "modules only here: [data.backup]",
    ] {
        assert!(refused.stderr.contains(want), "{want}: {}", refused.stderr);
    }
}
