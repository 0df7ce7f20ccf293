//! Error classification: one table for throttling, transient, propagation, not-found and
//! unsupported answers, and the conversion of SDK errors into [`ProviderError`].

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::config::NO_RETRY_DELAY_ENV;

/// How an AWS error should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Rate limited; the SDK's adaptive retry already backed off.
    Throttled,
    /// Network or server trouble; safe to retry.
    Transient,
    /// The resource does not exist.
    NotFound,
    /// A just-created principal or resource is not visible yet (eventual consistency).
    Propagation,
    /// The endpoint does not implement the API at all (an emulator without the service:
    /// HTTP 501, or LocalStack's "not yet been emulated"). Real AWS never answers this.
    Unsupported,
    /// Anything else: a real failure.
    Fatal,
}

const THROTTLING_CODES: [&str; 8] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
];

const NOT_FOUND_CODES: [&str; 8] = [
    "NotFoundException",
    "NoSuchBucket",
    "NoSuchTagSet",
    "NoSuchBucketPolicy",
    "NoSuchPublicAccessBlockConfiguration",
    "ServerSideEncryptionConfigurationNotFoundError",
    "ResourceNotFoundException",
    "NoSuchEntity",
];

/// Classifies an error code (and whether the SDK saw a transport failure).
#[must_use]
pub fn classify_code(code: Option<&str>, transport_failure: bool) -> ErrorClass {
    if transport_failure {
        return ErrorClass::Transient;
    }
    match code {
        Some(code) if THROTTLING_CODES.contains(&code) => ErrorClass::Throttled,
        Some(code) if NOT_FOUND_CODES.contains(&code) || code.ends_with(".NotFound") => {
            ErrorClass::NotFound
        }
        Some(
            "InternalError" | "InternalFailure" | "ServiceUnavailable" | "InternalServerError",
        ) => ErrorClass::Transient,
        _ => ErrorClass::Fatal,
    }
}

/// Phrases of error messages that mean "a principal just made is not visible yet".
const PROPAGATION_PHRASES: [&str; 6] = [
    "principal",
    "cannot be assumed",
    "unable to assume",
    "not authorized to perform: sts:assumerole",
    "role does not exist",
    "role is not valid",
];

/// Whether an error is IAM eventual consistency: a role or policy just created is not yet
/// usable by KMS (`MalformedPolicyDocumentException` naming a principal), by IAM trust
/// policies (`MalformedPolicyDocument` "Invalid principal"), or by other services
/// (`InvalidParameter*` "cannot be assumed", CloudTrail's role errors). These are retried with
/// back-off for a bounded time. An account root named as a principal (`…:root`) is never
/// propagation: another account's principal that IAM rejects does not exist.
#[must_use]
pub fn is_propagation(code: Option<&str>, message: Option<&str>) -> bool {
    let message = message.unwrap_or_default().to_lowercase();
    let mentions = |phrases: &[&str]| phrases.iter().any(|phrase| message.contains(phrase));
    // An account's root principal is never "just created": an invalid one is an account id
    // that does not exist (a placeholder, another account mistyped), which no wait mends.
    if message.contains(":root") {
        return false;
    }
    match code {
        Some("MalformedPolicyDocumentException" | "MalformedPolicyDocument") => {
            mentions(&["principal"])
        }
        Some("InvalidCloudWatchLogsRoleArnException" | "InsufficientDeliveryPolicyException") => {
            true
        }
        Some(code) if code.starts_with("InvalidParameter") || code == "InvalidInput" => {
            mentions(&PROPAGATION_PHRASES)
        }
        _ => false,
    }
}

/// A failed AWS call, naming the action and the resource.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{action} on {resource} failed: {message}")]
pub struct ProviderError {
    /// The AWS action, e.g. `kms:CreateKey`.
    pub action: String,
    /// The resource acted on (name or id).
    pub resource: String,
    /// How to handle it.
    pub class: ErrorClass,
    /// AWS's error code, when there is one.
    pub code: Option<String>,
    /// AWS's message (or the transport error).
    pub message: String,
}

impl ProviderError {
    /// A failure that did not come from an AWS response (e.g. a wait that timed out).
    #[must_use]
    pub fn local(action: &str, resource: &str, message: impl Into<String>) -> ProviderError {
        ProviderError {
            action: action.to_string(),
            resource: resource.to_string(),
            class: ErrorClass::Fatal,
            code: None,
            message: message.into(),
        }
    }

    /// Whether AWS said the resource does not exist.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        self.class == ErrorClass::NotFound
    }

    /// An [`ErrorClass::Unsupported`] answer outside emulator mode: a real failure, saying
    /// what is probably in the way. Real AWS implements every API the tool calls, so an
    /// endpoint that does not is a misconfiguration (a wrong `AWS_ENDPOINT_URL_<SERVICE>`, a
    /// proxy, an outage page), never a reason to skip a check.
    #[must_use]
    pub fn unsupported_is_fatal(mut self) -> ProviderError {
        if self.class == ErrorClass::Unsupported {
            self.class = ErrorClass::Fatal;
            self.message = format!(
                "the endpoint does not implement this API ({}). AWS implements every API \
                 nc-provision calls, so something else answered: check AWS_ENDPOINT_URL, \
                 AWS_ENDPOINT_URL_<SERVICE> and any proxy. Against an emulator that lacks the \
                 service, pass --emulator (or NC_PROVISION_EMULATOR=1) to skip it and list it as \
                 not checked",
                self.message
            );
        }
        self
    }
}

/// Whether an error on a resource this step has just created is eventual consistency: AWS
/// answers "not found" for a while after a create (S3 `NoSuchBucket` after CreateBucket, EC2
/// `InvalidGroup.NotFound` or `InvalidAllocationID.NotFound` right after the create), or S3
/// `OperationAborted` ("a conflicting conditional operation is in progress") while the new
/// bucket settles. AWS's guidance is to retry with back-off (EC2 API reference,
/// query-api-troubleshooting "Eventual consistency"; S3 user guide, consistency model).
#[must_use]
pub fn is_not_yet_visible(error: &ProviderError) -> bool {
    error.class == ErrorClass::NotFound || error.code.as_deref() == Some("OperationAborted")
}

/// Attempts of a call on a just-created resource while AWS does not see it yet.
const AFTER_CREATE_ATTEMPTS: u32 = 6;

/// Runs `call`, a call on a resource this step has just created, again (with back-off: 0.5 s
/// doubling to 4 s, none under [`NO_RETRY_DELAY_ENV`]) while AWS answers as if the resource
/// did not exist yet ([`is_not_yet_visible`]); any other answer is returned at once.
///
/// # Errors
/// The call's error, once it is not eventual consistency or the attempts are used up (then
/// classed [`ErrorClass::Propagation`] and saying so).
pub async fn after_create<T, F, Fut>(mut call: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    let no_delay = std::env::var_os(NO_RETRY_DELAY_ENV).is_some();
    let mut backoff = std::time::Duration::from_millis(if no_delay { 0 } else { 500 });
    let mut attempts = 0;
    loop {
        attempts += 1;
        match call().await {
            Err(error) if is_not_yet_visible(&error) && attempts < AFTER_CREATE_ATTEMPTS => {
                tracing::warn!(action = %error.action, resource = %error.resource, attempts,
                    "not visible yet after its create; retrying: {}", error.message);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(4));
            }
            Err(mut error) if is_not_yet_visible(&error) => {
                error.class = ErrorClass::Propagation;
                error.message = format!(
                    "{} (still not visible after its create, {attempts} attempts: AWS is \
                     eventually consistent)",
                    error.message
                );
                return Err(error);
            }
            other => return other,
        }
    }
}

/// Converts an SDK error into a [`ProviderError`] for `action` on `resource`.
pub fn aws_error<E>(action: &str, resource: &str, error: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let transport_failure = matches!(
        error,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    );
    let status = error
        .raw_response()
        .map(|response| response.status().as_u16());
    let code = error.code().map(str::to_string);
    let mut message = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&error)
        ),
    };
    let mut class = classify_code(code.as_deref(), transport_failure);
    let not_emulated = error.message().is_some_and(|message| {
        message.contains("not yet been emulated")
            || message.contains("not included in your current license plan")
    });
    // An HTML "404 Not Found" page instead of an AWS error document: the endpoint has no
    // route for this operation at all (an emulator; AWS answers every operation it has).
    let html_not_found = status == Some(404)
        && code.is_none()
        && error.raw_response().is_some_and(|response| {
            response.body().bytes().is_some_and(|body| {
                let head = String::from_utf8_lossy(&body[..body.len().min(64)]).to_lowercase();
                head.trim_start().starts_with("<!doctype html")
                    || head.trim_start().starts_with("<html")
            })
        });
    if status == Some(501) || not_emulated || html_not_found {
        class = ErrorClass::Unsupported;
        if html_not_found {
            message = "the endpoint has no such operation (HTTP 404 page)".to_string();
        }
    }
    if class == ErrorClass::Fatal && is_propagation(code.as_deref(), error.message()) {
        class = ErrorClass::Propagation;
    }
    if class == ErrorClass::Fatal && status.is_some_and(|status| status >= 500) {
        class = ErrorClass::Transient;
    }
    if class == ErrorClass::Fatal && code.is_none() && status == Some(404) {
        class = ErrorClass::NotFound;
    }
    ProviderError {
        action: action.to_string(),
        resource: resource.to_string(),
        class,
        code,
        message,
    }
}

/// Turns a NotFound error into `Ok(None)`.
///
/// # Errors
/// Any error other than NotFound.
pub fn found<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_codes() {
        let cases = [
            (
                "throttling",
                Some("ThrottlingException"),
                false,
                ErrorClass::Throttled,
            ),
            (
                "ec2 not found",
                Some("InvalidVpcID.NotFound"),
                false,
                ErrorClass::NotFound,
            ),
            (
                "s3 no such bucket",
                Some("NoSuchBucket"),
                false,
                ErrorClass::NotFound,
            ),
            ("transport", None, true, ErrorClass::Transient),
            (
                "access denied",
                Some("AccessDenied"),
                false,
                ErrorClass::Fatal,
            ),
        ];
        for (reason, code, transport, expected) in cases {
            assert_eq!(classify_code(code, transport), expected, "{reason}");
        }
    }

    #[test]
    fn classifies_iam_propagation() {
        let cases = [
            (
                "KMS: a role just made is not a valid principal yet",
                Some("MalformedPolicyDocumentException"),
                Some("Policy contains a statement with one or more invalid principals."),
                true,
            ),
            (
                "KMS: a real syntax error is fatal",
                Some("MalformedPolicyDocumentException"),
                Some(
                    "The new key policy will not allow you to update the key policy in the future.",
                ),
                false,
            ),
            (
                "IAM trust policy naming a new role",
                Some("MalformedPolicyDocument"),
                Some("Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/nc/X\""),
                true,
            ),
            (
                "IAM trust policy naming another account's root that does not exist: fatal",
                Some("MalformedPolicyDocument"),
                Some("Invalid principal in policy: \"AWS\":\"arn:aws:iam::111111111111:root\""),
                false,
            ),
            (
                "Lambda: role cannot be assumed yet",
                Some("InvalidParameterValueException"),
                Some("The role defined for the function cannot be assumed by Lambda."),
                true,
            ),
            (
                "EC2 flow logs: unable to assume the delivery role",
                Some("InvalidParameter"),
                Some("Unable to assume given IAM role."),
                true,
            ),
            (
                "a plain invalid parameter is fatal",
                Some("InvalidParameterValue"),
                Some("Value (foo) for parameter cidrBlock is invalid."),
                false,
            ),
            (
                "access denied is fatal",
                Some("AccessDenied"),
                Some("principal"),
                false,
            ),
        ];
        for (reason, code, message, expected) in cases {
            assert_eq!(is_propagation(code, message), expected, "{reason}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_after_a_create_is_retried_while_not_found_only() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let failure = |class: ErrorClass, code: &str| ProviderError {
            action: "s3:PutBucketVersioning".into(),
            resource: "b".into(),
            class,
            code: Some(code.into()),
            message: code.into(),
        };
        let calls = AtomicU32::new(0);
        let result = after_create(|| async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(failure(ErrorClass::NotFound, "NoSuchBucket")),
                1 => Err(failure(ErrorClass::Fatal, "OperationAborted")),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(result.expect("visible at last"), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let calls = AtomicU32::new(0);
        let result = after_create(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(failure(ErrorClass::Fatal, "AccessDenied"))
        })
        .await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "other errors are not retried"
        );
        assert_eq!(result.expect_err("denied").class, ErrorClass::Fatal);

        let calls = AtomicU32::new(0);
        let error = after_create(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(failure(ErrorClass::NotFound, "InvalidGroup.NotFound"))
        })
        .await
        .expect_err("never visible");
        assert_eq!(calls.load(Ordering::SeqCst), AFTER_CREATE_ATTEMPTS);
        assert_eq!(error.class, ErrorClass::Propagation);
        assert!(
            error.message.contains("eventually consistent"),
            "{}",
            error.message
        );
    }
}
