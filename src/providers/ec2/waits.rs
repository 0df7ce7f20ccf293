//! Deletes that wait out AWS's "still in use" answers, and what counts as already gone.

use std::time::Duration;

use crate::providers::{ProviderError, StepCtx, wait};

/// How often a NAT gateway, an endpoint or a blocked deletion is polled.
pub(super) const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// NotFound, or EC2's NAT-gateway code that lacks the `.NotFound` suffix.
pub(super) fn is_gone(error: &ProviderError) -> bool {
    error.is_not_found() || error.code.as_deref() == Some("NatGatewayNotFound")
}

/// AWS refuses because something still uses the resource; it goes away on its own (network
/// interfaces of deleted NAT gateways and endpoints are released asynchronously).
pub(super) fn is_in_use(error: &ProviderError) -> bool {
    matches!(
        error.code.as_deref(),
        Some(
            "DependencyViolation"
                | "InvalidIPAddress.InUse"
                | "InvalidAddress.InUse"
                | "AuthFailure"
                | "ResourceInUse"
        )
    )
}

/// Runs a delete call until it succeeds, the resource is gone, or the wait times out while
/// AWS still says it is in use.
pub(super) async fn delete_when_free<F, Fut>(
    ctx: &StepCtx,
    action: &str,
    what: &str,
    mut call: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), ProviderError>>,
{
    let last = std::sync::Mutex::new(String::new());
    let outcome = wait::until(
        ctx,
        action,
        &format!("{what} to be free to delete"),
        POLL_INTERVAL,
        || {
            let attempt = call();
            let last = &last;
            async move {
                match attempt.await {
                    Ok(()) => Ok(Some(())),
                    Err(error) if is_gone(&error) => Ok(Some(())),
                    Err(error) if is_in_use(&error) => {
                        if let Ok(mut last) = last.lock() {
                            *last = error.message;
                        }
                        Ok(None)
                    }
                    Err(error) => Err(error),
                }
            }
        },
    )
    .await;
    let last = last.into_inner().unwrap_or_default();
    outcome.map_err(|mut error| {
        if !last.is_empty() {
            error.message = format!("{} (last answer: {last})", error.message);
        }
        error
    })
}
