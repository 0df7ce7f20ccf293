//! Sending one SDK call: its failure named by the AWS action and the resource, and the
//! deletes (and detaches) for which NotFound means done.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::errors::{ProviderError, aws_error, found};

/// Awaits one SDK call (`builder.send()`), naming a failure by `action` and `resource`.
///
/// # Errors
/// AWS's answer, classified by [`aws_error`].
pub async fn sent<T, E>(
    action: &str,
    resource: &str,
    call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<T, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    call.await
        .map_err(|error| aws_error(action, resource, error))
}

/// Awaits an SDK call that may fail one expected way, which `expected` recognises in the
/// service's error (an "already exists" answer, say): `Some(output)` on success, `None` on
/// that failure.
///
/// # Errors
/// Any other failure, named by `action` and `resource`.
pub async fn sent_or_none<T, E>(
    action: &str,
    resource: &str,
    call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    expected: impl FnOnce(&E) -> bool,
) -> Result<Option<T>, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match call.await {
        Ok(output) => Ok(Some(output)),
        Err(error) if error.as_service_error().is_some_and(expected) => Ok(None),
        Err(error) => Err(aws_error(action, resource, error)),
    }
}

/// Awaits a delete (or a detach, an unsubscribe): NotFound means it is done already, so a
/// re-run or a retry after a lost answer succeeds.
///
/// # Errors
/// Any answer but success and NotFound.
pub async fn gone_is_done<T, E>(
    action: &str,
    resource: &str,
    call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<(), ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    found(sent(action, resource, call).await).map(drop)
}
