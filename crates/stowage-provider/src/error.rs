//! Provider errors, classified so the engine can decide what to retry and the CLI what to say.

use std::fmt;

use crate::network::NetworkFailure;

/// What kind of failure a provider call met. The engine retries `Throttled` and
/// `Unavailable`; everything else is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The thing does not exist (S3 `NoSuchBucket`, IAM `NoSuchEntity`, Twilio 20404).
    NotFound,
    /// The service asked us to slow down (S3 `SlowDown`, IAM `Throttling`, HTTP 429).
    Throttled,
    /// The request conflicts with the current state (`BucketAlreadyExists`, `EntityAlreadyExists`,
    /// `LimitExceeded` for a third access key, `BucketNotEmpty`).
    Conflict,
    /// The service refused the request as malformed (`MalformedPolicyDocument`, HTTP 400).
    Invalid,
    /// The caller's credentials are missing, wrong, or not allowed (`AccessDenied`, HTTP 401/403).
    Unauthorized,
    /// The service or the network failed (HTTP 5xx, connection refused, timeout).
    Unavailable,
    /// Anything else: a response we could not understand.
    Internal,
}

impl ErrorKind {
    /// Whether a retry with backoff may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Unavailable)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Invalid => "invalid request",
            ErrorKind::Unauthorized => "access denied",
            ErrorKind::Unavailable => "service unavailable",
            ErrorKind::Internal => "unexpected response",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed provider call: which service and operation, what kind of failure, the service's
/// own error code and message, and a hint where stowage knows what to do about it.
///
/// A call that got no answer ([`ProviderError::network`]) says why in its message, in words
/// ("could not connect to 127.0.0.1:1: connection refused"), without the kind, which would only
/// repeat it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{service} {operation}: {}{message}{}", kind_prefix(*.kind, *.unanswered), code_suffix(.code))]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// `s3`, `iam`, `kms`, `twilio`.
    pub service: &'static str,
    /// The API operation, e.g. `CreateBucket`, `CreateAwsCredential`.
    pub operation: String,
    /// The service's error code (`NoSuchBucket`, `20404`), when it gave one.
    pub code: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    /// The call got no answer (see [`ProviderError::network`]): the message says why, in words
    /// ("could not connect to 127.0.0.1:1: connection refused"), so the kind is not repeated.
    /// A flag rather than the failure itself keeps the error small: it is every call's `Err`.
    pub unanswered: bool,
}

/// The kind, unless the message says why no answer came (the kind would only repeat it).
fn kind_prefix(kind: ErrorKind, unanswered: bool) -> String {
    if unanswered { String::new() } else { format!("{kind}: ") }
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_ref().map(|code| format!(" ({code})")).unwrap_or_default()
}

impl ProviderError {
    pub fn new(
        kind: ErrorKind,
        service: &'static str,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            service,
            operation: operation.into(),
            code: None,
            message: message.into(),
            hint: None,
            unanswered: false,
        }
    }

    /// A call that got no answer: `Unavailable`, worded by `failure`.
    pub fn network(service: &'static str, operation: impl Into<String>, failure: &NetworkFailure) -> Self {
        Self { unanswered: true, ..Self::new(ErrorKind::Unavailable, service, operation, failure.to_string()) }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}
