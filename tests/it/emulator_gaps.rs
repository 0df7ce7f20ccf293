//! The shipped specs as they are (Access Analyzer and Security Hub on) apply on the emulators:
//! in emulator mode, what an emulator does not implement at all is planned and reported as
//! skipped (and listed as not checked), never failed, and everything else converges; outside
//! emulator mode the same answer is an error.

use crate::common::{World, count_actions, repo};

#[test]
fn shipped_stg_spec_applies_on_the_emulators_with_unimplemented_apis_skipped() {
    let tag = crate::common::tag();
    let world = World::with_bucket_tag(Some(&tag));
    // Undo the world's emulator-friendly switches: the spec as shipped, bucket names tagged.
    let text = std::fs::read_to_string(repo().join("specs/stg.toml")).expect("spec");
    let text = text.replace(
        "buckets = [\"raw\", \"norm\"]",
        &format!("buckets = [\"raw-{tag}\", \"norm-{tag}\"]"),
    );
    assert!(text.contains("enable_security_hub = true"));
    std::fs::write(world.specs.join("stg.toml"), text).expect("write");

    let (code, report, stderr) = world.json(&["apply", "--env", "stg", "--auto-approve"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    // LocalStack answers 501 for Access Analyzer: skipped at plan time.
    assert_eq!(
        count_actions(&report, "skip", &["iam.access_analyzer"]),
        1,
        "{report:#}"
    );
    // moto has Security Hub but no standards API (an HTML 404 page): the step is skipped.
    let securityhub = report["steps"]
        .as_array()
        .and_then(|steps| {
            steps
                .iter()
                .find(|step| step["id"] == "observability.securityhub")
        })
        .expect("security hub step");
    assert_eq!(securityhub["status"], "skipped", "{securityhub:#}");
    assert!(
        securityhub["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not available at this endpoint"),
        "{securityhub:#}"
    );
    assert_eq!(report["result"]["failed"], 0, "{report:#}");

    // moto has Backup vaults and plans but no selection API (an HTML 500 page): the
    // selection's step is skipped too.
    let selection = report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|step| step["id"] == "backup.selection"))
        .expect("backup selection step");
    assert_eq!(selection["status"], "skipped", "{selection:#}");

    // A re-plan is no-change; the two services and the backup selection show as skipped.
    let (code, plan, _) = world.json(&["plan", "--env", "stg", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{plan:#}");
    assert_eq!(plan["summary"]["skip"], 3, "{plan:#}");
    assert_eq!(plan["all_checked"], false, "{plan:#}");
    assert_eq!(
        plan["not_checked"].as_array().map(Vec::len),
        Some(3),
        "{plan:#}"
    );
    // Outside emulator mode, the same endpoint is an error naming the service: never a skip.
    let mut command = world.command(&["plan", "--env", "stg"]);
    command.env_remove("NC_PROVISION_EMULATOR");
    let run = crate::common::Run::from(command.output().expect("run"));
    run.expect_code(1);
    assert!(
        run.stderr.contains("access-analyzer:") || run.stderr.contains("accessanalyzer"),
        "{}",
        run.stderr
    );
}
