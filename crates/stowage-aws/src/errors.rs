//! AWS SDK errors classified into stowage's error kinds.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use stowage_provider::{ErrorKind, ProviderError};

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
        SdkError::TimeoutError(_) => {
            ProviderError::new(ErrorKind::Unavailable, service, operation, "the request timed out")
        }
        SdkError::DispatchFailure(_) => ProviderError::new(
            ErrorKind::Unavailable,
            service,
            operation,
            format!("could not reach the service: {}", DisplayErrorContext(&error)),
        )
        .with_hint("check the network and `AWS_ENDPOINT_URL`, if set"),
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
