//! Tests of the iam-baseline module.
use std::path::Path;

use super::*;
use crate::model::DesiredGraph;
use crate::model::Target;
use crate::modules::addr::{FARGATE_TASK_ROLE, LAMBDA_ETL_ROLE};

fn expand_env(env: &str, primary: bool) -> DesiredGraph {
    let spec = crate::spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("specs"), env)
        .expect("shipped spec");
    let target = Target {
        env: env.into(),
        region: if primary { "us-east-1" } else { "ca-central-1" }.into(),
        account_id: "123456789012".into(),
        primary_region: primary,
        availability_zones: vec!["us-east-1a".into(), "us-east-1b".into()],
    };
    crate::modules::expand(&spec, &target).expect("graph")
}

fn role_names(graph: &DesiredGraph) -> Vec<&str> {
    graph
        .resources()
        .iter()
        .filter(|r| r.kind == Kind::IamRole)
        .map(|r| r.name.as_str())
        .collect()
}

#[test]
fn each_environment_gets_its_roles_sessions_and_providers() {
    let cases = [
        (
            "dev: no DeveloperRole, no OIDC, 8 h humans",
            "dev",
            false,
            false,
            8 * HOUR,
        ),
        (
            "stg: DeveloperRole, OIDC, 4 h humans",
            "stg",
            true,
            true,
            4 * HOUR,
        ),
        (
            "prod: no DeveloperRole, OIDC, 1 h humans",
            "prod",
            false,
            true,
            HOUR,
        ),
    ];
    for (reason, env, developer, oidc, human) in cases {
        let graph = expand_env(env, true);
        let names = role_names(&graph);
        assert_eq!(names.contains(&"DeveloperRole"), developer, "{reason}");
        assert_eq!(names.contains(&"GitHubDeployRole"), oidc, "{reason}");
        assert_eq!(
            graph.get(&id("iam.oidc.github")).is_some(),
            oidc,
            "{reason}"
        );
        let weaviate = graph.get(&id("iam.role.weaviate-admin")).expect("weaviate");
        assert_eq!(
            weaviate.int_prop("max_session_seconds"),
            Some(human),
            "{reason}"
        );
        let etl = graph.get(&id(LAMBDA_ETL_ROLE)).expect("etl");
        assert_eq!(
            etl.int_prop("max_session_seconds"),
            Some(12 * HOUR),
            "{reason}"
        );
        for resource in graph.resources() {
            // IAM and the account-wide settings are global; everything else is regional,
            // the primary's flow-log role included (it names this region's VPC). The DR
            // region's flow-log role is global: the primary apply makes it. The primary's
            // replication role (prod) is its own too: replication runs from the primary only.
            let global_kind = resource.kind.service() == crate::model::Service::Iam
                || resource.kind == Kind::S3AccountPublicAccessBlock;
            let regional = !global_kind
                || ["vpc.flow_logs.role", "data.replication.role"].contains(&resource.id.as_str());
            assert_eq!(resource.global, !regional, "{reason}: {}", resource.id);
        }
        assert!(
            graph
                .resources()
                .iter()
                .all(|r| !r.kind.as_str().contains("user")),
            "no IAM users ever"
        );
    }
}

#[test]
fn the_graph_orders_key_then_boundary_then_role_then_key_policy() {
    let graph = expand_env("stg", true);
    let position = |text: &str| {
        graph
            .resources()
            .iter()
            .position(|r| r.id.as_str() == text)
            .unwrap_or_else(|| panic!("{text}"))
    };
    assert!(position("kms.key.data") < position("iam.policy.pb-etl"));
    assert!(position("iam.policy.pb-etl") < position(LAMBDA_ETL_ROLE));
    assert!(position(LAMBDA_ETL_ROLE) < position("kms.key_policy.data"));
    assert!(position(FARGATE_TASK_ROLE) < position("kms.key_policy.data"));
    assert!(position("iam.oidc.github") < position("iam.role.github-deploy"));
}

#[test]
fn global_documents_are_the_same_whichever_region_expands_them() {
    let primary = expand_env("prod", true);
    let dr = expand_env("prod", false);
    for resource in primary.resources().iter().filter(|r| r.global) {
        let other = dr.get(&resource.id).expect("same resources in DR");
        assert_eq!(resource.props, other.props, "{}", resource.id);
    }
    let boundary = primary.get(&id("iam.policy.pb-etl")).expect("pb-etl");
    let text = boundary.props["policy"].to_json().to_string();
    // The DR region's buckets and data key, named from the primary region too.
    for dr_part in [
        "nc-dp-prod-raw-cac1/ingest/*",
        "arn:aws:kms:ca-central-1:123456789012:key/*",
    ] {
        assert!(text.contains(dr_part), "{dr_part} in {text}");
    }
}

#[test]
fn the_analyzer_is_regional_and_can_be_turned_off() {
    let graph = expand_env("stg", true);
    let analyzer = graph
        .get(&id("iam.access_analyzer"))
        .expect("on by default");
    assert!(!analyzer.global);
    assert_eq!(analyzer.name, "nc-stg-account");

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let text = std::fs::read_to_string(root.join("stg.toml")).expect("stg spec");
    let path = Path::new("specs/stg.toml");
    let off = text.replacen(
        "# enable_access_analyzer = true",
        "enable_access_analyzer = false",
        1,
    );
    let spec = crate::spec::parse(path, &off).expect("valid");
    let target = crate::modules::tests::target_for("stg", &["us-east-1a", "us-east-1b"]);
    let graph = crate::modules::expand(&spec, &target).expect("graph");
    assert!(graph.get(&id("iam.access_analyzer")).is_none());
    let wrong = text.replacen(
        "# enable_access_analyzer = true",
        "enable_access_analyzer = \"no\"",
        1,
    );
    let errors = crate::spec::parse(path, &wrong).expect_err("a string is refused");
    assert!(
        errors.to_string().contains("enable_access_analyzer"),
        "{errors}"
    );
}
