//! Setup failures a person can act on: no credentials, an expired session, rejected
//! credentials, an endpoint that cannot be reached. Each becomes one line saying what is wrong
//! and what to do; the SDK's raw error chain is shown only with `-v`.

use crate::engine::Error as EngineError;
use crate::providers::ProviderError;

/// One line for a common setup failure, or `None` for any other error.
#[must_use]
pub fn explain(error: &anyhow::Error) -> Option<String> {
    let provider = error
        .downcast_ref::<ProviderError>()
        .or_else(|| match error.downcast_ref::<EngineError>() {
            Some(EngineError::Aws(provider)) => Some(provider),
            _ => None,
        })
        .or_else(
            || match error.downcast_ref::<crate::providers::lock::LockError>() {
                Some(crate::providers::lock::LockError::Aws(provider)) => Some(provider),
                _ => None,
            },
        )?;
    explain_provider(provider)
}

/// The explanation of one AWS failure, when it is a setup problem.
#[must_use]
pub fn explain_provider(error: &ProviderError) -> Option<String> {
    let code = error.code.as_deref().unwrap_or_default();
    let message = error.message.to_lowercase();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    if matches!(
        code,
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired"
    ) || message.contains("token has expired")
        || message.contains("sso session")
        || message.contains("session has expired")
    {
        return Some(format!(
            "your AWS session has expired ({}): run `aws sso login` (with your AWS_PROFILE), or refresh the credentials, then retry",
            error.action
        ));
    }
    if matches!(
        code,
        "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "AuthFailure"
    ) {
        return Some(format!(
            "AWS rejected the credentials ({}: {code}): check AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)",
            error.action
        ));
    }
    if error.code.is_none()
        && (message.contains("no credentials")
            || message.contains("credentialsnotloaded")
            || message.contains("credential provider")
            || message.contains("failed to load credentials")
            || message.contains("imds"))
    {
        return Some(
            "no AWS credentials found: set AWS_PROFILE (and run `aws sso login`), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for the local emulators run `eval \"$(localstack/env.sh)\"`"
                .to_string(),
        );
    }
    if error.code.is_none()
        && (message.contains("dispatch failure")
            || message.contains("connection refused")
            || message.contains("dns error")
            || message.contains("failed to lookup address")
            || message.contains("error trying to connect")
            || message.contains("timed out"))
    {
        let target = endpoint.map_or_else(
            || "the AWS endpoint".to_string(),
            |url| format!("the endpoint {url} (AWS_ENDPOINT_URL)"),
        );
        return Some(format!(
            "cannot reach {target} for {}: check the URL and your network (for the local emulators: `make emulators-start`)",
            error.action
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ErrorClass;

    fn error(code: Option<&str>, message: &str) -> ProviderError {
        ProviderError {
            action: "sts:GetCallerIdentity".into(),
            resource: "caller".into(),
            class: ErrorClass::Fatal,
            code: code.map(str::to_string),
            message: message.into(),
        }
    }

    #[test]
    fn common_setup_failures_get_one_actionable_line() {
        let cases = [
            (
                error(
                    None,
                    "dispatch failure: other: the credential provider was not enabled: no providers in chain provided credentials",
                ),
                "no AWS credentials found",
            ),
            (
                error(
                    Some("ExpiredToken"),
                    "The security token included in the request is expired",
                ),
                "session has expired",
            ),
            (
                error(
                    Some("InvalidClientTokenId"),
                    "The security token included in the request is invalid.",
                ),
                "rejected the credentials",
            ),
            (
                error(
                    None,
                    "dispatch failure: io error: error trying to connect: tcp connect error: Connection refused (os error 111)",
                ),
                "cannot reach",
            ),
        ];
        for (failure, expected) in cases {
            let line = explain_provider(&failure).unwrap_or_default();
            assert!(line.contains(expected), "{failure:?} -> {line}");
            assert!(!line.contains('\n'));
        }
        assert_eq!(
            explain_provider(&error(Some("AccessDenied"), "not allowed")),
            None,
            "other failures keep their own message"
        );
    }
}
