//! STS: the caller's account, for the account pin and ARNs.

use super::{Aws, ProviderError, aws::aws_error};

/// The account id of the credentials in use (one GetCallerIdentity call).
///
/// # Errors
/// STS refused or could not be reached.
pub async fn caller_account(aws: &Aws) -> Result<String, ProviderError> {
    let output = aws
        .sts()
        .get_caller_identity()
        .send()
        .await
        .map_err(|error| aws_error("sts:GetCallerIdentity", "caller", error))?;
    output.account().map(str::to_string).ok_or_else(|| {
        ProviderError::local(
            "sts:GetCallerIdentity",
            "caller",
            "no account id in the answer",
        )
    })
}
