//! Step-level retry for errors the SDK's own retries do not cover: throttling that outlasted
//! them, transient failures, and eventual consistency (a just-created principal not yet
//! visible to another service).

use std::future::Future;
use std::time::{Duration, Instant};

use crate::providers::aws::NO_RETRY_DELAY_ENV;
use crate::providers::{ErrorClass, ProviderError};

/// Retry policy of a step.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Most attempts in all.
    pub max_attempts: u32,
    /// First back-off.
    pub initial_backoff: Duration,
    /// Longest back-off.
    pub max_backoff: Duration,
    /// Give up once this much time has passed.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        let no_delay = std::env::var_os(NO_RETRY_DELAY_ENV).is_some();
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: if no_delay {
                Duration::ZERO
            } else {
                Duration::from_secs(1)
            },
            max_backoff: if no_delay {
                Duration::ZERO
            } else {
                Duration::from_secs(16)
            },
            deadline: Duration::from_secs(180),
        }
    }
}

/// Whether the step should run again after `error`.
#[must_use]
pub fn is_retryable(error: &ProviderError) -> bool {
    matches!(
        error.class,
        ErrorClass::Throttled | ErrorClass::Transient | ErrorClass::Propagation
    )
}

/// Runs `attempt` until it succeeds, fails for good, or the policy is exhausted. Returns the
/// result and the number of attempts made.
pub async fn with_retry<T, F, Fut>(
    policy: RetryPolicy,
    mut attempt: F,
) -> (Result<T, ProviderError>, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let started = Instant::now();
    let mut backoff = policy.initial_backoff;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt().await {
            Ok(value) => return (Ok(value), attempts),
            Err(error)
                if is_retryable(&error)
                    && attempts < policy.max_attempts
                    && started.elapsed() + backoff < policy.deadline =>
            {
                tracing::warn!(action = %error.action, resource = %error.resource, attempts, "retrying: {}", error.message);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(policy.max_backoff);
            }
            Err(mut error) => {
                if attempts > 1 && error.class == ErrorClass::Propagation {
                    error.message = format!(
                        "{} (gave up after {attempts} attempts in {}s: a just-created IAM \
                         principal never became visible to this service; IAM is eventually \
                         consistent, so re-run apply in a minute, and check that the role or \
                         policy named in the error exists)",
                        error.message,
                        started.elapsed().as_secs()
                    );
                } else if attempts > 1 {
                    error.message = format!(
                        "{} (gave up after {attempts} attempts in {}s)",
                        error.message,
                        started.elapsed().as_secs()
                    );
                }
                return (Err(error), attempts);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn failure(class: ErrorClass) -> ProviderError {
        ProviderError {
            action: "kms:PutKeyPolicy".into(),
            resource: "key".into(),
            class,
            code: None,
            message: "not yet".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_then_succeeds_and_gives_up_on_fatal() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(4),
            deadline: Duration::from_secs(60),
        };
        let calls = AtomicU32::new(0);
        let (result, attempts) = with_retry(policy, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(failure(ErrorClass::Propagation))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(attempts, 3);

        let (result, attempts) = with_retry(policy, || async {
            Err::<(), _>(failure(ErrorClass::Fatal))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(attempts, 1, "fatal errors are not retried");

        let (result, attempts) = with_retry(policy, || async {
            Err::<(), _>(failure(ErrorClass::Throttled))
        })
        .await;
        assert_eq!(attempts, 5, "bounded by max_attempts");
        assert!(
            result
                .unwrap_err()
                .message
                .contains("gave up after 5 attempts")
        );
    }
}
