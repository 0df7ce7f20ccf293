//! Issue 17 item 3: a DR rebuild needs nothing from the failed region. After a normal prod
//! apply, `dr rebuild --env prod` runs with us-east-1 down: the callcount proxies in front of
//! LocalStack and of moto answer every request signed for us-east-1 with a 503, except IAM's
//! (IAM's one endpoint is global and signs for us-east-1 whatever the caller's region). The
//! rebuild still ends READY, sends no request at all into the failed region (no outage fault is
//! even drawn), and writes nothing to IAM: every role the DR region needs was made by the
//! primary apply.

use crate::common::{Run, World, endpoint, tag};
use crate::proxy::Callcount;

/// Every request signed for us-east-1 fails, except IAM's global endpoint.
const OUTAGE: [&str; 4] = ["--down-region", "us-east-1", "--down-except", "iam"];

#[tokio::test]
async fn a_rebuild_succeeds_while_us_east_1_is_down_and_writes_no_iam() {
    let world = World::with_bucket_tag(Some(&tag()));
    world.apply_saved("prod");

    let local = Callcount::start(&endpoint(), &OUTAGE);
    let moto = Callcount::start(&world.moto_url(), &OUTAGE);
    let mut command = world.command(&["dr", "rebuild", "--env", "prod", "--format", "json"]);
    command
        .env("AWS_ENDPOINT_URL", local.url())
        .env("AWS_ENDPOINT_URL_CLOUDTRAIL", moto.url())
        .env("AWS_ENDPOINT_URL_GUARDDUTY", moto.url())
        .env("AWS_ENDPOINT_URL_SECURITYHUB", moto.url());
    let run = Run::from(command.output().expect("run nc-provision"));
    let report: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", run.stdout, run.stderr));
    assert_eq!(run.code, 0, "{report:#}\n{}", run.stderr);
    assert_eq!(report["ready"], true, "{report:#}");
    // What lives in the failed region is listed as not checked, never as ready.
    let primary = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|check| check["id"] == "primary-region")
        .unwrap_or_else(|| panic!("no primary-region check: {report:#}"));
    assert_eq!(primary["state"], "not_checked", "{report:#}");

    for proxy in [&local, &moto] {
        let refused = proxy.faults_of("outage");
        assert!(
            refused.is_empty(),
            "requests signed for the failed region: {refused:?}"
        );
    }
    let calls = local.calls();
    assert!(!calls.is_empty(), "the rebuild went through the proxy");
    let iam_writes: Vec<String> = calls
        .iter()
        .filter(|call| call["service"] == "iam")
        .filter_map(|call| call["operation"].as_str())
        .filter(|operation| !(operation.starts_with("Get") || operation.starts_with("List")))
        .map(str::to_string)
        .collect();
    assert!(
        iam_writes.is_empty(),
        "IAM writes in a rebuild: {iam_writes:?}"
    );
    let iam_reads = calls.iter().filter(|call| call["service"] == "iam").count();
    assert!(
        iam_reads > 0,
        "the rebuild verifies the global IAM it needs"
    );

    // The control: the same outage does stop the primary region's own plan.
    let mut primary = world.command(&["plan", "--env", "prod"]);
    primary.env("AWS_ENDPOINT_URL", local.url());
    let run = Run::from(primary.output().expect("run nc-provision"));
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(!local.faults_of("outage").is_empty());
}
