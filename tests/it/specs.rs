//! The bad-spec corpus through the binary: located error, exit 1, and zero AWS calls.

use crate::common::{Tripwire, World, repo};

#[test]
fn every_bad_spec_gives_its_located_error_exit_1_and_no_aws_call() {
    let corpus = repo().join("tests/specs/bad");
    let mut cases = 0;
    for entry in std::fs::read_dir(&corpus).expect("corpus") {
        let dir = entry.expect("entry").path();
        let expected = dir.join("expected");
        if !expected.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&expected).expect("expected");
        let mut lines = text.lines();
        let env = lines.next().expect("env line");
        let location = lines.next().expect("location line");
        let message = lines.next().expect("message line");
        // Every AWS endpoint points at a listener that must see no connection.
        let tripwire = Tripwire::new();
        let world = World::new();
        for command in ["validate", "plan"] {
            let output = world
                .command_in(&dir, &[command, "--env", env])
                .env("AWS_ENDPOINT_URL", tripwire.url())
                .output()
                .expect("run");
            let stderr = String::from_utf8_lossy(&output.stderr);
            let case = dir.display();
            assert_eq!(output.status.code(), Some(1), "{case} {command}: {stderr}");
            assert!(
                stderr.contains(location),
                "{case} {command}: expected {location} in {stderr}"
            );
            assert!(
                stderr.contains(message),
                "{case} {command}: expected {message:?} in {stderr}"
            );
        }
        assert_eq!(
            tripwire.connections(),
            0,
            "{} made AWS calls",
            dir.display()
        );
        cases += 1;
    }
    assert!(cases >= 20, "the corpus has only {cases} cases");
}

#[test]
fn unknown_environment_is_refused_without_aws_calls() {
    let tripwire = Tripwire::new();
    let world = World::new();
    let output = world
        .command(&["plan", "--env", "qa"])
        .env("AWS_ENDPOINT_URL", tripwire.url())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown environment 'qa'"), "{stderr}");
    assert_eq!(tripwire.connections(), 0);
}

#[test]
fn the_shipped_specs_validate() {
    let world = World::new();
    for env in ["dev", "stg", "prod"] {
        let run = world.run(&["validate", "--env", env]);
        run.expect_code(0);
        assert!(run.stdout.contains("valid"), "{}", run.stdout);
    }
}
