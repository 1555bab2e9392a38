//! AWS SDK errors classified into stowage's error kinds. A call that got no answer is worded by
//! [`stowage_provider::network`] in one line ("could not connect to 127.0.0.1:1: connection
//! refused"); the SDK's whole error is logged at debug level (`RUST_LOG=debug`).

use std::sync::RwLock;
use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_types::error::display::DisplayErrorContext;
use stowage_provider::network::{self, NetworkCause, NetworkFailure, REQUEST_TIMEOUT_SETTING};
use stowage_provider::{ErrorKind, ProviderError};

/// Where this process's AWS calls go and how long each may take, for the words of a call that
/// got no answer. An SDK error does not say where its request went; the endpoint is the
/// process's AWS configuration (`AWS_ENDPOINT_URL`, or AWS's own hosts), which
/// [`crate::AwsProvider::connect`] records here.
#[derive(Debug, Clone)]
pub(crate) struct Reach {
    /// `AWS_ENDPOINT_URL` (or a profile's `endpoint_url`), when set.
    pub endpoint_url: Option<String>,
    pub region: String,
    /// One attempt's limit, and whether `STOWAGE_REQUEST_TIMEOUT` set it.
    pub attempt_timeout: Duration,
    pub connect_timeout: Duration,
}

static REACH: RwLock<Option<Reach>> = RwLock::new(None);

/// Records where AWS is reached, for [`classify`]'s words.
pub(crate) fn record_reach(reach: Reach) {
    if let Ok(mut recorded) = REACH.write() {
        *recorded = Some(reach);
    }
}

fn reach() -> Option<Reach> {
    REACH.read().ok().and_then(|reach| reach.clone())
}

/// Whether this process's AWS requests go over TLS: to AWS's own hosts, or to an
/// `AWS_ENDPOINT_URL` of `https://`.
fn over_tls(reach: Option<&Reach>) -> bool {
    reach
        .and_then(|reach| reach.endpoint_url.as_deref())
        .is_none_or(|url| url.get(..8).is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://")))
}

/// Forbids the SDK's retries of a request that failed in a way the next attempt fails too
/// ([`NetworkCause::lasts`]: a TLS handshake refused), which would otherwise take eight
/// attempts and up to a minute of backoff to report.
#[derive(Debug)]
pub(crate) struct NoRetryOfLastingFailures;

impl ClassifyRetry for NoRetryOfLastingFailures {
    fn classify_retry(&self, context: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = context.output_or_error() else { return RetryAction::NoActionIndicated };
        let Some(connector) = error.as_connector_error() else { return RetryAction::NoActionIndicated };
        if network::cause_of(connector, over_tls(reach().as_ref()), false).lasts() {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "no retry of a lasting network failure"
    }
}

/// Classify an SDK error. `service` is `s3`, `iam` or `kms`; `operation` the API name.
pub(crate) fn classify<E>(service: &'static str, operation: &str, error: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(context) => {
            let code = context.err().code().map(str::to_owned);
            let message =
                context.err().message().map(str::to_owned).unwrap_or_else(|| DisplayErrorContext(&error).to_string());
            let kind = kind_of(code.as_deref(), status_of(&error));
            let mut classified = ProviderError::new(kind, service, operation, message);
            if let Some(code) = code {
                classified = classified.with_code(code);
            }
            classified
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => unanswered(service, operation, &error),
        _ => {
            let kind = match status_of(&error) {
                Some(status) if status >= 500 => ErrorKind::Unavailable,
                Some(404) => ErrorKind::NotFound,
                Some(401 | 403) => ErrorKind::Unauthorized,
                _ => ErrorKind::Internal,
            };
            ProviderError::new(kind, service, operation, DisplayErrorContext(&error).to_string())
        }
    }
}

/// A call that got no answer: why, in one line, with what to check; the SDK's error in full at
/// debug level.
fn unanswered<E>(service: &'static str, operation: &str, error: &SdkError<E, HttpResponse>) -> ProviderError
where
    E: std::error::Error + Send + Sync + 'static,
{
    tracing::debug!(service, operation, error = ?error, "AWS request got no answer");
    let reach = reach();
    let (endpoint, host) = match reach.as_ref().and_then(|reach| reach.endpoint_url.as_deref()) {
        Some(url) => network::authority(url).map_or((url.to_owned(), None), |(shown, host)| (shown, Some(host))),
        None => (service_name(service, reach.as_ref().map(|reach| reach.region.as_str())), None),
    };
    let https = over_tls(reach.as_ref());
    let cause = match error {
        SdkError::TimeoutError(_) => NetworkCause::Timeout {
            limit: reach.as_ref().map_or(Duration::from_secs(30), |reach| reach.attempt_timeout),
            setting: Some(REQUEST_TIMEOUT_SETTING),
        },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            NetworkCause::ConnectTimeout(reach.as_ref().map_or(Duration::from_secs(5), |reach| reach.connect_timeout))
        }
        other => network::cause_of(other, https, false),
    };
    let failure = NetworkFailure { endpoint, host, cause };
    let overridden =
        reach.as_ref().and_then(|reach| reach.endpoint_url.as_deref()).map(|url| ("AWS_ENDPOINT_URL", url));
    let hint = network::hint(&failure, overridden);
    ProviderError::network(service, operation, &failure).with_hint(hint)
}

/// An AWS service by name, where its address is not known: `S3 in us-east-1`, `IAM`.
fn service_name(service: &str, region: Option<&str>) -> String {
    match (service, region) {
        ("iam", _) => "AWS IAM".to_owned(),
        (service, Some(region)) => format!("AWS {} in {region}", service.to_uppercase()),
        (service, None) => format!("AWS {}", service.to_uppercase()),
    }
}

fn status_of<E>(error: &SdkError<E, HttpResponse>) -> Option<u16> {
    error.raw_response().map(|response| response.status().as_u16())
}

/// The kind of an AWS error code, falling back on the HTTP status.
pub(crate) fn kind_of(code: Option<&str>, status: Option<u16>) -> ErrorKind {
    match code {
        Some(
            "NoSuchBucket"
            | "NoSuchEntity"
            | "NotFound"
            | "NoSuchKey"
            | "NoSuchLifecycleConfiguration"
            | "NoSuchTagSet"
            | "NoSuchTagSetError"
            | "NoSuchPublicAccessBlockConfiguration"
            | "OwnershipControlsNotFoundError"
            | "ServerSideEncryptionConfigurationNotFoundError"
            | "NotFoundException",
        ) => ErrorKind::NotFound,
        Some(
            "Throttling"
            | "ThrottlingException"
            | "SlowDown"
            | "TooManyRequests"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "RequestThrottledException",
        ) => ErrorKind::Throttled,
        Some(
            "AccessDenied"
            | "AccessDeniedException"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "AllAccessDisabled",
        ) => ErrorKind::Unauthorized,
        Some(
            "BucketAlreadyExists"
            | "BucketAlreadyOwnedByYou"
            | "EntityAlreadyExists"
            | "LimitExceeded"
            | "BucketNotEmpty"
            | "OperationAborted"
            | "ConcurrentModification"
            | "DeleteConflict"
            | "ConflictException"
            | "AlreadyExistsException"
            | "LimitExceededException"
            | "KMSInvalidStateException"
            | "DisabledException",
        ) => ErrorKind::Conflict,
        Some(
            "MalformedPolicyDocument"
            | "InvalidInput"
            | "ValidationError"
            | "InvalidBucketName"
            | "InvalidArgument"
            | "MalformedXML"
            | "InvalidRequest"
            | "IllegalLocationConstraintException"
            | "InvalidLocationConstraint",
        ) => ErrorKind::Invalid,
        Some(
            "InternalError"
            | "ServiceUnavailable"
            | "ServiceFailure"
            | "InternalFailure"
            | "KMSInternalException"
            | "DependencyTimeoutException",
        ) => ErrorKind::Unavailable,
        _ => match status {
            Some(404) => ErrorKind::NotFound,
            Some(401 | 403) => ErrorKind::Unauthorized,
            Some(409) => ErrorKind::Conflict,
            Some(429) => ErrorKind::Throttled,
            Some(400) => ErrorKind::Invalid,
            Some(status) if status >= 500 => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        },
    }
}

/// A request that could not be built (a required field missing): a bug, reported as such.
pub(crate) fn build_error(service: &'static str, operation: &str, error: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(ErrorKind::Internal, service, operation, format!("could not build the request: {error}"))
}

/// A read of something that may not exist: "not found" is absence, `None`.
pub(crate) fn absent_if_not_found<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.kind == stowage_provider::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// A delete: what is already gone is deleted, so "not found" is success.
pub(crate) fn done_if_gone<T>(result: Result<T, ProviderError>) -> Result<(), ProviderError> {
    absent_if_not_found(result).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(kind_of(Some("NoSuchBucket"), Some(404)), ErrorKind::NotFound);
        assert_eq!(kind_of(Some("Throttling"), Some(400)), ErrorKind::Throttled);
        assert_eq!(kind_of(Some("SlowDown"), Some(503)), ErrorKind::Throttled);
        assert_eq!(kind_of(Some("AccessDenied"), Some(403)), ErrorKind::Unauthorized);
        assert_eq!(kind_of(Some("LimitExceeded"), Some(409)), ErrorKind::Conflict);
        assert_eq!(kind_of(Some("MalformedPolicyDocument"), Some(400)), ErrorKind::Invalid);
        assert_eq!(kind_of(None, Some(503)), ErrorKind::Unavailable);
        assert_eq!(kind_of(Some("SomethingNew"), Some(500)), ErrorKind::Unavailable);
        assert_eq!(kind_of(None, None), ErrorKind::Internal);
    }
}
