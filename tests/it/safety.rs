//! Safety rails on the local AWS: emulator mode is explicit and what was not checked is said;
//! a lease whose holder died on this host is taken over; `unlock` needs consent; a lost
//! heartbeat trips the lease's fence; a saved plan pins the flags it was made with.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use nc_provision::providers::Aws;
use nc_provision::providers::lock::{self, LockTable};

use crate::common::{Run, World, tag};

const LOCKS: &str = "nc-provision-locks";

fn epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// An endpoint that answers every request with HTTP 501, as a wrong `AWS_ENDPOINT_URL_<SERVICE>`,
/// a proxy or an outage page might.
pub struct NotImplemented {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl NotImplemented {
    /// Starts answering on a free loopback port.
    pub fn start() -> NotImplemented {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buffer = [0u8; 65536];
                let _ = stream.read(&mut buffer);
                let _ = stream.write_all(
                    b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        NotImplemented { url }
    }
}

fn run_with(world: &World, args: &[&str], edit: impl FnOnce(&mut std::process::Command)) -> Run {
    let mut command = world.command(args);
    edit(&mut command);
    Run::from(command.output().expect("run nc-provision"))
}

#[tokio::test]
async fn skipping_an_unimplemented_api_needs_emulator_mode_and_is_reported_as_not_checked() {
    let world = World::with_bucket_tag(Some(&tag()));
    world
        .run(&["apply", "--env", "dev", "--auto-approve"])
        .expect_code(0);
    let broken = NotImplemented::start();

    // Against "AWS" (no emulator mode), an endpoint that does not implement SNS is an error
    // naming the service and action, never a skip.
    for args in [
        vec!["plan", "--env", "dev", "--detailed-exitcode"],
        vec!["drift", "--env", "dev"],
    ] {
        let run = run_with(&world, &args, |command| {
            command
                .env("AWS_ENDPOINT_URL_SNS", &broken.url)
                .env_remove("NC_PROVISION_EMULATOR");
        });
        run.expect_code(1);
        assert!(
            run.stderr.contains("sns:") && run.stderr.contains("does not implement this API"),
            "{args:?}: {}",
            run.stderr
        );
    }

    // In emulator mode the topics are skipped, and listed as not checked: never "in sync".
    let run = run_with(
        &world,
        &["plan", "--env", "dev", "--format", "json"],
        |command| {
            command.env("AWS_ENDPOINT_URL_SNS", &broken.url);
        },
    );
    run.expect_code(0);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(plan["all_checked"], false, "{plan:#}");
    let not_checked = plan["not_checked"].as_array().cloned().unwrap_or_default();
    assert!(!not_checked.is_empty(), "{plan:#}");
    assert!(
        not_checked.iter().all(|entry| entry["kind"] == "sns_topic"),
        "{not_checked:#?}"
    );
    let drift = run_with(&world, &["drift", "--env", "dev"], |command| {
        command.env("AWS_ENDPOINT_URL_SNS", &broken.url);
    });
    assert!(
        drift.stdout.contains("NOT CHECKED")
            && !drift.stdout.contains("The account matches the spec"),
        "{}",
        drift.stdout
    );
    // With every API served, everything is checked again.
    let (code, plan, stderr) = world.json(&["plan", "--env", "dev", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(plan["all_checked"], true);
}

async fn dynamodb(world: &World) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&world.sdk("us-east-1").await)
}

async fn hold(world: &World, owner: &str, expires_at: u64) {
    dynamodb(world)
        .await
        .put_item()
        .table_name(LOCKS)
        .item("pk", AttributeValue::S("lock#dev/us-east-1".into()))
        .item("owner", AttributeValue::S(owner.to_string()))
        .item("expires_at", AttributeValue::N(expires_at.to_string()))
        .send()
        .await
        .expect("hold the lease");
}

async fn lease_owner(world: &World) -> Option<String> {
    dynamodb(world)
        .await
        .get_item()
        .table_name(LOCKS)
        .key("pk", AttributeValue::S("lock#dev/us-east-1".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get the lease")
        .item()
        .and_then(|item| item.get("owner"))
        .and_then(|owner| owner.as_s().ok())
        .cloned()
}

async fn drift_kms(world: &World) {
    aws_sdk_kms::Client::new(&world.sdk("us-east-1").await)
        .disable_key_rotation()
        .key_id("alias/nc-dp-data-dev")
        .send()
        .await
        .expect("drift");
}

#[tokio::test]
async fn a_dead_holder_on_this_host_is_taken_over_and_unlock_needs_consent() {
    let world = World::with_bucket_tag(Some(&tag()));
    world
        .run(&["apply", "--env", "dev", "--auto-approve"])
        .expect_code(0);

    // A process of this host that held the lease was killed (kill -9): its pid is gone, so the
    // next apply takes the lease over at once instead of waiting out 90 s.
    let me = lock::owner_id("arn:aws:sts::1:assumed-role/ci/me");
    let (this_host, _) = me.rsplit_once(" pid ").expect("owner format");
    let dead = format!("{this_host} pid 4194000 start 1");
    hold(&world, &dead, epoch() + 600).await;
    drift_kms(&world).await;
    let run = world.run(&["apply", "--env", "dev", "--auto-approve"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("Took over the lease") && run.stderr.contains("pid 4194000"),
        "{}",
        run.stderr
    );
    assert_eq!(lease_owner(&world).await, None, "released after the apply");

    // A live holder elsewhere is not taken over; unlock without a terminal needs --force.
    let other = "arn:aws:sts::1:assumed-role/ci/other on ci-7 pid 42";
    hold(&world, other, epoch() + 600).await;
    let refused = world.run(&["unlock", "--env", "dev"]);
    refused.expect_code(1);
    assert!(
        refused.stdout.contains(other) && refused.stderr.contains("--force"),
        "{}\n{}",
        refused.stdout,
        refused.stderr
    );
    assert_eq!(lease_owner(&world).await.as_deref(), Some(other));
    let unlocked = world.run(&["unlock", "--env", "dev", "--force"]);
    unlocked.expect_code(0);
    assert!(
        unlocked.stdout.contains("Released the lease"),
        "{}",
        unlocked.stdout
    );
    assert_eq!(lease_owner(&world).await, None);
    world
        .run(&["unlock", "--env", "dev", "--force"])
        .expect_code(0);
}

#[tokio::test]
async fn a_lease_taken_by_another_run_trips_the_fence_at_the_next_heartbeat() {
    let world = World::with_bucket_tag(Some(&tag()));
    let aws = Aws {
        config: world.sdk("us-east-1").await,
        counter: Default::default(),
        endpoint_overridden: true,
        emulator: true,
    };
    // A 6 s lease: heartbeats every 2 s, each allowed 2 s to answer (a loaded emulator can
    // take over a second).
    let table = LockTable::new(&aws).with_lease(Duration::from_secs(6));
    let lease = table
        .acquire("dev/us-east-1", "run-a on host pid 1", Duration::ZERO)
        .await
        .expect("lease");
    let fence = lease.fence();
    // Heartbeats every two seconds keep it valid.
    tokio::time::sleep(Duration::from_millis(5000)).await;
    assert_eq!(fence.tripped(), None, "extended by its heartbeat");
    // Another run took it (e.g. after a stall longer than the lease): the next heartbeat's
    // conditional update fails, and no new step may start.
    hold(&world, "run-b on host pid 2", epoch() + 600).await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let reason = fence.tripped().expect("fence tripped");
    assert!(reason.contains("no longer ours"), "{reason}");
    lease.release().await;
    assert_eq!(
        lease_owner(&world).await.as_deref(),
        Some("run-b on host pid 2"),
        "release never deletes another run's lease"
    );
}

#[tokio::test]
async fn a_saved_plan_applies_only_with_the_flags_it_was_made_with() {
    let world = World::with_bucket_tag(Some(&tag()));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dev.plan");
    let path = path.to_str().expect("utf-8 path");
    world
        .run(&["plan", "--env", "dev", "--out", path])
        .expect_code(0);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read plan")).expect("json");
    assert_eq!(saved["flags"]["allow_destroy"], false);
    assert_eq!(saved["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(saved["actions"]["vpc.main"], "create");
    let refused = world.run(&["apply", "--env", "dev", "--plan", path, "--allow-destroy"]);
    refused.expect_code(1);
    assert!(
        refused
            .stderr
            .contains("planned without --allow-destroy but applied with it"),
        "{}",
        refused.stderr
    );
    world
        .run(&["apply", "--env", "dev", "--plan", path])
        .expect_code(0);
}
