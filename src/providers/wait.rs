//! Waiting for slow resources, with progress and a bounded time.

use std::future::Future;
use std::time::{Duration, Instant};

use super::{ProviderError, StepCtx};

/// Polls `check` every `interval` until it returns `Some`, reporting progress; gives up after
/// the step's wait timeout with an error naming `action` and `what` it waited for.
///
/// # Errors
/// `check` failed, or the wait timed out.
pub async fn until<T, F, Fut>(
    ctx: &StepCtx,
    action: &str,
    what: &str,
    interval: Duration,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        let waited = started.elapsed();
        if waited >= ctx.wait_timeout {
            return Err(ProviderError::local(
                action,
                ctx.id.as_str(),
                format!("gave up after {}s waiting for {what}", waited.as_secs()),
            ));
        }
        ctx.note(&format!("waiting for {what} ({}s)", waited.as_secs()));
        tokio::time::sleep(interval).await;
    }
}
