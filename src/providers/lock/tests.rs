use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use super::owner::{host_name, process_start};
use super::*;

const UNAVAILABLE: &str =
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"down"}"#;
const DENIED: &str = r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"not allowed: dynamodb:PutItem"}"#;

/// No emulator can be made to fail one audit write while the lease writes succeed, so the
/// audit's retries and its final failure are shown over a mocked DynamoDB client.
#[tokio::test(start_paused = true)]
async fn the_audit_record_is_retried_then_its_failure_is_an_error() {
    // Two answers of an unavailable service, then the write.
    let put = mock!(aws_sdk_dynamodb::Client::put_item).sequence();
    let unavailable = put.http_status(500, Some(UNAVAILABLE.to_string())).times(2);
    let written = || PutItemOutput::builder().build();
    let flaky = unavailable.output(written).build();
    let table = LockTable::with_client(mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&flaky]
    ));
    let record = serde_json::json!({"outcome": "ok"});
    table
        .audit("stg/us-east-1", &record)
        .await
        .expect("written on the third attempt");
    assert_eq!(flaky.num_calls(), 3);

    let denied = mock!(aws_sdk_dynamodb::Client::put_item).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).expect("status"),
            aws_smithy_types::body::SdkBody::from(DENIED),
        )
    });
    let table = LockTable::with_client(mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&denied]
    ));
    let error = table
        .audit("stg/us-east-1", &record)
        .await
        .expect_err("a denied write is an error");
    assert_eq!(denied.num_calls(), 1, "a fatal failure is not retried");
    assert!(
        error.to_string().contains("dynamodb:PutItem")
            && error.to_string().contains("audit record was not written"),
        "{error}"
    );
}

#[test]
fn a_holder_is_gone_only_when_its_process_on_this_host_is() {
    let me = owner_id("arn:aws:sts::1:assumed-role/ci/me");
    assert!(!holder_process_is_gone(&me), "this process runs: {me}");
    let host = host_name();
    if process_start(1).is_some() {
        // Pids are below 2^22 on Linux: this one never runs.
        let dead = format!("arn:aws:sts::1:assumed-role/ci/me on {host} pid 4294967 start 1");
        assert!(holder_process_is_gone(&dead));
        let reused = format!("arn on {host} pid {} start 1", std::process::id());
        assert!(
            !holder_process_is_gone(&reused),
            "our own pid is never gone"
        );
        let pid_one_restarted = format!("arn on {host} pid 1 start 999999999999");
        assert!(
            holder_process_is_gone(&pid_one_restarted),
            "a pid now held by a process started at another time"
        );
    }
    assert!(!holder_process_is_gone(
        "arn:aws:sts::1:assumed-role/ci/other on ci-7 pid 42"
    ));
    assert!(!holder_process_is_gone("unparseable owner"));
}
