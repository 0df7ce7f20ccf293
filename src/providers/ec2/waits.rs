//! Deletes that wait out AWS's "still in use" answers, and what counts as already gone.

use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::providers::aws::sent;
use crate::providers::{ProviderError, StepCtx, wait};

/// How often a NAT gateway, an endpoint or a blocked deletion is polled.
pub(super) const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// NotFound, or EC2's NAT-gateway code that lacks the `.NotFound` suffix.
pub(super) fn is_gone(error: &ProviderError) -> bool {
    error.is_not_found() || error.code.as_deref() == Some("NatGatewayNotFound")
}

/// Awaits an EC2 call on a resource that may be gone already ([`is_gone`]): `None` then.
///
/// # Errors
/// Any other failure, named by `action` and `resource`.
pub(super) async fn sent_unless_gone<T, E>(
    action: &str,
    resource: &str,
    call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<Option<T>, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match sent(action, resource, call).await {
        Err(error) if is_gone(&error) => Ok(None),
        other => other.map(Some),
    }
}

/// The outcome of a delete, a disassociation or a detach: done, also when what it removes
/// is gone already.
///
/// # Errors
/// Any failure but [`is_gone`].
pub(super) fn done_if_gone<T>(result: Result<T, ProviderError>) -> Result<(), ProviderError> {
    match result {
        Err(error) if !is_gone(&error) => Err(error),
        _ => Ok(()),
    }
}

/// Polls a resource being deleted until it is gone: `describe` makes a new Describe call each
/// time (named `action`), and `deleted` finds in its answer whether the resource is deleted
/// yet, with what the wait yields then; NotFound is deleted too, yielding the default. The
/// wait is named `{what} to be deleted`.
///
/// # Errors
/// A Describe that failed other than with NotFound, or the wait timed out.
pub(super) async fn until_deleted<T, O, E, F, Fut>(
    ctx: &StepCtx,
    action: &str,
    (what, physical): (&str, &str),
    describe: F,
    deleted: impl Fn(&O) -> Option<T>,
) -> Result<T, ProviderError>
where
    T: Default,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let waited_for = format!("{what} {physical} to be deleted");
    wait::until(ctx, action, &waited_for, POLL_INTERVAL, || async {
        Ok(
            match sent_unless_gone(action, physical, describe()).await? {
                None => Some(T::default()),
                Some(found) => deleted(&found),
            },
        )
    })
    .await
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

/// Sends a delete call (`call` makes a new one for each attempt) until it succeeds, the
/// resource is gone, or the wait times out while AWS still says it is in use. Failures name
/// `action` and `what`.
pub(super) async fn delete_when_free<F, Fut, T, E>(
    ctx: &StepCtx,
    action: &str,
    what: &str,
    mut call: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let last = std::sync::Mutex::new(String::new());
    let outcome = wait::until(
        ctx,
        action,
        &format!("{what} to be free to delete"),
        POLL_INTERVAL,
        || {
            let attempt = sent(action, what, call());
            let last = &last;
            async move {
                match attempt.await {
                    Ok(_) => Ok(Some(())),
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
