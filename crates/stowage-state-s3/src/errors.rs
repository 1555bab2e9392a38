//! What an S3 answer means to the store: a refused condition, a missing object, or a failure
//! to report in the service's own words.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// An SDK error of any S3 operation.
pub(crate) type S3Error<E> = SdkError<E, HttpResponse>;

fn status<E>(error: &S3Error<E>) -> Option<u16> {
    error.raw_response().map(|response| response.status().as_u16())
}

/// A conditional write or delete that S3 refused, so it changed nothing: `412
/// PreconditionFailed` (the condition does not hold), `409 ConditionalRequestConflict` (another
/// conditional request on the key was in flight), or, for `If-Match`, `404 NoSuchKey` (there
/// is no object to match). Not `NoSuchBucket`: that is no race, but a wrong location.
pub(crate) fn refused<E: ProvideErrorMetadata>(error: &S3Error<E>) -> bool {
    match error.code() {
        Some("PreconditionFailed" | "ConditionalRequestConflict" | "NoSuchKey") => true,
        Some(_) => false,
        None => matches!(status(error), Some(409 | 412)),
    }
}

/// `409 ConditionalRequestConflict`: another conditional request on the key was in flight; S3
/// says to try again.
pub(crate) fn conflicting<E: ProvideErrorMetadata>(error: &S3Error<E>) -> bool {
    match error.code() {
        Some(code) => code == "ConditionalRequestConflict",
        None => status(error) == Some(409),
    }
}

/// `404 NoSuchKey`: no such object (but the bucket exists).
pub(crate) fn no_such_key<E: ProvideErrorMetadata>(error: &S3Error<E>) -> bool {
    error.code() == Some("NoSuchKey")
}

/// The error's code and message as S3 gave them (`AccessDenied: Access Denied`), or the whole
/// chain of a failure that never got an answer (a timeout, a refused connection).
pub(crate) fn describe<E>(error: &S3Error<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => match status(error) {
            Some(status) => format!("HTTP {status}: {}", DisplayErrorContext(error)),
            None => DisplayErrorContext(error).to_string(),
        },
    }
}
