//! Keeps the SDK from re-sending a create whose outcome is unknown.
//!
//! The SDK retries a request whose answer never came (a connection reset or a timeout after
//! the request was sent) and one that got a 5xx. For a create without an idempotency
//! guarantee — KMS CreateKey, EC2 CreateVpc, CreateSubnet, AllocateAddress, … — that retry is a
//! blind re-send: if the first request took effect, a second resource is made. AWS says so for
//! EC2: "if the original request and the subsequent retries are successful, the operation is
//! completed multiple times" (Amazon EC2 Developer Guide, *Ensuring idempotency in Amazon EC2
//! API requests*). EC2 honours client tokens where the API has them, but emulators do not.
//!
//! Clients built with [`NoBlindResend`] still retry throttling (AWS refused the request, so
//! nothing happened), and hand every other retryable failure back to the caller at once as a
//! transient error: the step then looks for what the request may have made before it tries
//! again (see `exec::recover`).

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority, RetryReason,
};
use aws_smithy_types::retry::ErrorKind;

/// A retry classifier that forbids every retry but throttling. It runs after the SDK's own
/// classifiers and refines their verdict: throttling (a refusal, so nothing was done) stays
/// retryable; transport failures, timeouts and server errors (the request may have taken
/// effect) are not retried.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoBlindResend;

impl ClassifyRetry for NoBlindResend {
    fn classify_retry(&self, _ctx: &InterceptorContext) -> RetryAction {
        RetryAction::NoActionIndicated
    }

    fn classify_retry_v2(&self, _ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        verdict(previous)
    }

    fn name(&self) -> &'static str {
        "nc-provision: no blind re-send of a create"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // After the transient-error classifier, the last of the SDK's own.
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// What [`NoBlindResend`] makes of the SDK's verdict so far.
fn verdict(previous: &RetryAction) -> RetryAction {
    match previous {
        RetryAction::RetryIndicated(RetryReason::RetryableError {
            kind: ErrorKind::ThrottlingError,
            ..
        }) => RetryAction::NoActionIndicated,
        RetryAction::RetryIndicated(_) => RetryAction::RetryForbidden,
        _ => RetryAction::NoActionIndicated,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_config::retry::RetryConfig;
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_kms::config::Credentials;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    use super::*;
    use crate::providers::{ErrorClass, aws::aws_error};

    #[test]
    fn only_throttling_stays_retryable() {
        let cases = [
            (
                "throttling: refused, nothing done",
                RetryAction::throttling_error(),
                RetryAction::NoActionIndicated,
            ),
            (
                "transport failure or timeout: may have taken effect",
                RetryAction::transient_error(),
                RetryAction::RetryForbidden,
            ),
            (
                "5xx: may have taken effect",
                RetryAction::server_error(),
                RetryAction::RetryForbidden,
            ),
            (
                "not retryable anyway",
                RetryAction::NoActionIndicated,
                RetryAction::NoActionIndicated,
            ),
        ];
        for (reason, previous, expected) in cases {
            assert_eq!(verdict(&previous), expected, "{reason}");
        }
    }

    /// A server that answers the first `throttle` requests with a KMS throttling error, then
    /// reads each request and closes the connection without an answer (an answer lost after
    /// the request took effect). Returns its URL and the count of requests it read.
    fn losing_server(throttle: usize) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&seen);
        std::thread::spawn(move || {
            for socket in listener.incoming() {
                let Ok(mut socket) = socket else { return };
                if read_request(&mut socket).is_none() {
                    continue;
                }
                if counter.fetch_add(1, Ordering::SeqCst) < throttle {
                    let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
                    let answer = format!(
                        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes());
                }
                // Otherwise dropped without an answer.
            }
        });
        (url, seen)
    }

    /// Reads one HTTP request (headers, then a Content-Length body).
    fn read_request(socket: &mut TcpStream) -> Option<()> {
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let read = socket.read(&mut buffer).ok()?;
            if read == 0 {
                return None;
            }
            request.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        if name.eq_ignore_ascii_case("content-length") {
                            value.trim().parse::<usize>().ok()
                        } else {
                            None
                        }
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    return Some(());
                }
            }
        }
    }

    async fn kms_client(url: &str, resend_guard: bool) -> aws_sdk_kms::Client {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(url)
            .credentials_provider(Credentials::new("000000000000", "test", None, None, "test"))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(4)
                    .with_initial_backoff(std::time::Duration::from_millis(1))
                    .with_max_backoff(std::time::Duration::from_millis(2)),
            )
            .load()
            .await;
        let mut builder = aws_sdk_kms::config::Builder::from(&config);
        if resend_guard {
            builder = builder.retry_classifier(NoBlindResend);
        }
        aws_sdk_kms::Client::from_conf(builder.build())
    }

    #[tokio::test]
    async fn a_create_whose_answer_is_lost_is_sent_once_and_reported_transient() {
        // Without the guard the SDK re-sends the create blind: every attempt reaches AWS.
        let (url, seen) = losing_server(0);
        let plain = kms_client(&url, false).await;
        assert!(plain.create_key().send().await.is_err());
        assert_eq!(seen.load(Ordering::SeqCst), 4, "the SDK's own retries");

        let (url, seen) = losing_server(0);
        let guarded = kms_client(&url, true).await;
        let error = guarded
            .create_key()
            .send()
            .await
            .map_err(|error| aws_error("kms:CreateKey", "alias/k", error))
            .expect_err("no answer");
        assert_eq!(seen.load(Ordering::SeqCst), 1, "sent once");
        assert_eq!(error.class, ErrorClass::Transient, "{error}");
    }

    #[tokio::test]
    async fn throttling_is_still_retried_by_the_sdk() {
        let (url, seen) = losing_server(2);
        let guarded = kms_client(&url, true).await;
        assert!(guarded.create_key().send().await.is_err());
        assert_eq!(
            seen.load(Ordering::SeqCst),
            3,
            "two throttled attempts retried, then the lost answer is not"
        );
    }
}
