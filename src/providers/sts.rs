//! STS: the caller's identity, for the account pin, ARNs and the audit record.

use super::{Aws, ProviderError, aws::sent};

/// Who the credentials belong to.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account id.
    pub account: String,
    /// The caller's ARN (user, role session, ...).
    pub arn: String,
}

/// The identity of the credentials in use (one GetCallerIdentity call).
///
/// # Errors
/// STS refused or could not be reached.
pub async fn caller(aws: &Aws) -> Result<Caller, ProviderError> {
    let call = aws.sts().get_caller_identity();
    let output = sent("sts:GetCallerIdentity", "caller", call.send()).await?;
    let account = output.account().map(str::to_string).ok_or_else(|| {
        ProviderError::local(
            "sts:GetCallerIdentity",
            "caller",
            "no account id in the answer",
        )
    })?;
    Ok(Caller {
        account,
        arn: output.arn().unwrap_or("unknown").to_string(),
    })
}
