//! What can go wrong talking to Twilio, classified for the engine and worded for people.
//!
//! No error ever holds a request body: the body of `CreateAwsCredential` carries an AWS secret.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use stowage_provider::{ErrorKind, NetworkFailure, ProviderError};

use super::operation::Operation;

/// Twilio's JSON error body: `{"code": 20404, "message": "...", "more_info": "https://...", "status": 404}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    /// Twilio's error code (`20404`, `70106`); see <https://www.twilio.com/docs/errors>.
    pub code: Option<u32>,
    pub message: String,
    /// A link to the error's documentation.
    pub more_info: Option<String>,
    /// The HTTP status, repeated in the body.
    pub status: Option<u16>,
}

/// Why a request got no answer, in words ("could not connect to 127.0.0.1:1: connection
/// refused"), and what to check (naming the variable that set the endpoint, when one did).
#[derive(Debug, Clone)]
pub struct Unanswered {
    pub network: NetworkFailure,
    pub hint: String,
}

/// A failed Twilio call: the operation, and what went wrong.
#[derive(Debug)]
pub struct TwilioError {
    operation: Option<Operation>,
    failure: Failure,
    /// The subaccount the request authenticated as, when it was one.
    subaccount: Option<String>,
}

/// What went wrong in a Twilio call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// Twilio refused the request and said why.
    #[error("{}", api_error_text(*status, error))]
    Api { status: u16, error: ApiError },
    /// An error status whose body is not Twilio's error JSON (a proxy's HTML page, say).
    #[error("HTTP {status} with a response that is not a Twilio error: {excerpt}")]
    UnexpectedResponse { status: u16, excerpt: String },
    /// A response that does not have the shape the API specification promises.
    #[error("HTTP {status} response does not match the Twilio API: {source}")]
    Decode {
        status: u16,
        #[source]
        source: serde_json::Error,
    },
    /// No whole answer within the limit.
    #[error("{}", why.network)]
    Timeout {
        url: String,
        limit: Duration,
        /// The time ran out before a connection was made, so no request was sent.
        while_connecting: bool,
        why: Box<Unanswered>,
        #[source]
        source: reqwest::Error,
    },
    /// No connection could be made (the name, the connection or the TLS handshake failed), so
    /// no request was sent.
    #[error("{}", why.network)]
    Connect {
        url: String,
        why: Box<Unanswered>,
        #[source]
        source: reqwest::Error,
    },
    /// The request or its response broke off.
    #[error("{}", why.network)]
    Transport {
        url: String,
        why: Box<Unanswered>,
        #[source]
        source: reqwest::Error,
    },
    #[error("response from {url} is larger than {limit_bytes} bytes")]
    ResponseTooLarge { url: String, limit_bytes: usize },
    /// Refused before sending: a SID goes into the URL path, so its shape is checked first.
    #[error("`{sid}` is not a Twilio credential SID (`CR` followed by 32 hex digits)")]
    InvalidSid { sid: String },
    /// Refused before sending: a status Twilio does not document for the list.
    #[error("`{status}` is not a {kind} status Twilio documents (one of {})", documented.join(", "))]
    InvalidStatus { kind: &'static str, status: String, documented: &'static [&'static str] },
    /// A list page pointed somewhere the client will not send credentials.
    #[error("refusing to follow next page URL `{url}`: {reason}")]
    UnsafePageUrl { url: String, reason: &'static str },
    #[error("could not set up the HTTP client: {0}")]
    ClientSetup(#[source] reqwest::Error),
}

fn api_error_text(status: u16, error: &ApiError) -> String {
    let code = error.code.map(|code| format!(" {code}")).unwrap_or_default();
    let more_info = error.more_info.as_deref().map(|link| format!("; see {link}")).unwrap_or_default();
    format!("Twilio error{code}: {} (HTTP {status}{more_info})", error.message)
}

impl TwilioError {
    pub(crate) fn new(operation: Operation, failure: Failure) -> Self {
        Self { operation: Some(operation), failure, subaccount: None }
    }

    pub(crate) fn client_setup(source: reqwest::Error) -> Self {
        Self { operation: None, failure: Failure::ClientSetup(source), subaccount: None }
    }

    /// The error of a request that authenticated as `subaccount`, when it did.
    pub(crate) fn sent_as(mut self, subaccount: Option<&str>) -> Self {
        if self.subaccount.is_none() {
            self.subaccount = subaccount.map(str::to_owned);
        }
        self
    }

    /// The subaccount whose credentials the failed request carried, when it carried a
    /// subaccount's rather than the ones stowage was given.
    pub fn subaccount(&self) -> Option<&str> {
        self.subaccount.as_deref()
    }

    /// The operation that failed; `None` when the client itself could not be set up.
    pub fn operation(&self) -> Option<Operation> {
        self.operation
    }

    pub fn failure(&self) -> &Failure {
        &self.failure
    }

    /// Twilio's error body, when it sent one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match &self.failure {
            Failure::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The HTTP status of the response, when there was one.
    pub fn status(&self) -> Option<u16> {
        match &self.failure {
            Failure::Api { status, .. }
            | Failure::UnexpectedResponse { status, .. }
            | Failure::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match &self.failure {
            Failure::Api { status, error } => match error.code {
                Some(20003) => ErrorKind::Unauthorized,
                Some(20404) => ErrorKind::NotFound,
                Some(20429) => ErrorKind::Throttled,
                _ => kind_of_status(*status),
            },
            Failure::UnexpectedResponse { status, .. } => kind_of_status(*status),
            Failure::Timeout { .. } | Failure::Connect { .. } | Failure::Transport { .. } => ErrorKind::Unavailable,
            Failure::InvalidSid { .. } | Failure::InvalidStatus { .. } => ErrorKind::Invalid,
            Failure::Decode { .. }
            | Failure::ResponseTooLarge { .. }
            | Failure::UnsafePageUrl { .. }
            | Failure::ClientSetup(_) => ErrorKind::Internal,
        }
    }

    /// Why no answer came, and what to check, when none did.
    pub fn network(&self) -> Option<(&NetworkFailure, &str)> {
        match &self.failure {
            Failure::Timeout { why, .. } | Failure::Connect { why, .. } | Failure::Transport { why, .. } => {
                Some((&why.network, &why.hint))
            }
            _ => None,
        }
    }

    /// Whether a failed write may nonetheless have taken effect at Twilio: the request may
    /// have reached it and the answer was an error from its side, was lost, or was unreadable.
    /// After such a failure of a create, retrying blindly can duplicate the credential; read
    /// the current state first.
    pub fn outcome_unknown(&self) -> bool {
        let reached_twilio = match &self.failure {
            Failure::Api { status, .. } | Failure::UnexpectedResponse { status, .. } => *status >= 500,
            Failure::Timeout { while_connecting, .. } => !while_connecting,
            Failure::Decode { .. } | Failure::Transport { .. } | Failure::ResponseTooLarge { .. } => true,
            Failure::Connect { .. }
            | Failure::InvalidSid { .. }
            | Failure::InvalidStatus { .. }
            | Failure::UnsafePageUrl { .. }
            | Failure::ClientSetup(_) => false,
        };
        reached_twilio && self.operation.is_some_and(Operation::is_write)
    }
}

fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::Unauthorized,
        404 | 410 => ErrorKind::NotFound,
        409 | 412 => ErrorKind::Conflict,
        429 => ErrorKind::Throttled,
        400..=499 => ErrorKind::Invalid,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

impl fmt::Display for TwilioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.operation, &self.subaccount) {
            (Some(operation), Some(subaccount)) => {
                write!(f, "{operation} as subaccount {subaccount}: {}", self.failure)
            }
            (Some(operation), None) => write!(f, "{operation}: {}", self.failure),
            (None, _) => write!(f, "{}", self.failure),
        }
    }
}

impl std::error::Error for TwilioError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.failure.source()
    }
}

impl From<TwilioError> for ProviderError {
    fn from(error: TwilioError) -> Self {
        let operation = error.operation.map_or("SetUpClient", Operation::name);
        let (mut message, code, link) = match &error.failure {
            Failure::Api { error: api_error, .. } => {
                (api_error.message.clone(), api_error.code.map(|code| code.to_string()), api_error.more_info.clone())
            }
            failure => (failure.to_string(), None, None),
        };
        if let Some(subaccount) = &error.subaccount {
            message = format!("as subaccount {subaccount}: {message}");
        }
        let mut hints = Vec::new();
        if let Some((_, hint)) = error.network() {
            hints.push(hint.to_owned());
        }
        let refused = matches!(&error.failure, Failure::Api { status: 401 | 403, .. });
        if let (Some(subaccount), true) = (&error.subaccount, refused) {
            // Its own auth token, read from the 2010 Accounts API at the start of the run.
            hints.push(format!(
                "Twilio refused subaccount {subaccount}'s own auth token, which stowage read from the main \
                 account's 2010 Accounts API: it may have been changed, or the subaccount closed or suspended, since; \
                 run again"
            ));
        } else if refused && error.operation == Some(Operation::ListAccounts) {
            // Twilio: only the main account's auth token or a Main API key may use /Accounts.
            hints.push(
                "listing subaccounts needs the main account's credentials: its auth token (TWILIO_ACCOUNT_SID and \
                 TWILIO_AUTH_TOKEN) or a Main API key; a Standard or Restricted API key may not use the 2010 \
                 Accounts API"
                    .to_owned(),
            );
        } else if matches!(error.failure, Failure::Api { status: 401, .. }) {
            // The credentials themselves, not a permission: say where they come from.
            hints.push(
                "Twilio did not accept the credentials: check TWILIO_API_KEY and TWILIO_API_SECRET, or \
                 TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
                    .to_owned(),
            );
        } else if matches!(&error.failure, Failure::Api { status: 403, error } if error.code == Some(20003)) {
            // Accepted credentials without the permission. Twilio's key types: Main and Standard
            // keys reach every API but `/Accounts` and `/Keys` (Standard only; the Credentials,
            // Video and Monitor endpoints are none of them), Restricted keys only what they were
            // granted.
            let needed = match error.operation {
                Some(Operation::ListAlerts) => "Monitor v1 Alerts",
                Some(Operation::ListRecordings | Operation::ListCompositions) => "Video v1 Recordings and Compositions",
                _ => "Accounts v1 Credentials and Video v1 settings",
            };
            hints.push(format!(
                "Twilio accepted the credentials but they may not do this: a Restricted API key needs \
                 permission for {needed} (a Standard or Main key, or the account's auth token, has it)"
            ));
        }
        if let Some(link) = link {
            hints.push(format!("see {link}"));
        }
        if error.outcome_unknown() {
            hints.push(
                "Twilio may have applied this change before the call failed; read the current state before retrying"
                    .to_owned(),
            );
        }
        let mut converted = match error.network() {
            Some((network, _)) => ProviderError { message, ..ProviderError::network("twilio", operation, network) },
            None => ProviderError::new(error.kind(), "twilio", operation, message),
        };
        if let Some(code) = code {
            converted = converted.with_code(code);
        }
        if !hints.is_empty() {
            converted = converted.with_hint(hints.join("; "));
        }
        converted
    }
}

/// A short, single-line excerpt of an unexpected response body for an error message.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const LIMIT: usize = 200;
    let text = String::from_utf8_lossy(body);
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut shown: String =
        collapsed.chars().take(LIMIT).map(|character| if character.is_control() { '?' } else { character }).collect();
    if collapsed.chars().count() > LIMIT {
        shown.push('…');
    }
    format!("`{shown}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: Option<u32>) -> TwilioError {
        let error = ApiError { code, message: "m".to_owned(), more_info: None, status: Some(status) };
        TwilioError::new(Operation::CreateAwsCredential, Failure::Api { status, error })
    }

    #[test]
    fn kinds_follow_twilio_codes_then_http_status() {
        let kinds: Vec<_> = [
            (404, Some(20404)),
            (400, Some(20404)),
            (429, Some(20429)),
            (401, Some(20003)),
            (403, None),
            (409, None),
            (400, Some(70106)),
            (422, None),
            (503, None),
            (302, None),
        ]
        .into_iter()
        .map(|(status, code)| api(status, code).kind())
        .collect();
        assert_eq!(
            kinds,
            [
                ErrorKind::NotFound,
                ErrorKind::NotFound,
                ErrorKind::Throttled,
                ErrorKind::Unauthorized,
                ErrorKind::Unauthorized,
                ErrorKind::Conflict,
                ErrorKind::Invalid,
                ErrorKind::Invalid,
                ErrorKind::Unavailable,
                ErrorKind::Internal,
            ]
        );
    }

    #[test]
    fn outcome_is_unknown_only_for_writes_that_may_have_reached_twilio() {
        assert!(api(500, None).outcome_unknown());
        assert!(!api(400, Some(70106)).outcome_unknown());
        let read = TwilioError::new(
            Operation::FetchAwsCredential,
            Failure::Api {
                status: 500,
                error: ApiError { code: None, message: "m".to_owned(), more_info: None, status: None },
            },
        );
        assert!(!read.outcome_unknown());
    }

    #[test]
    fn a_permission_refusal_says_which_keys_may_manage_credentials() {
        let refused = ProviderError::from(api(403, Some(20003)));
        insta::assert_snapshot!(refused.hint.unwrap_or_default(), @"Twilio accepted the credentials but they may not do this: a Restricted API key needs permission for Accounts v1 Credentials and Video v1 settings (a Standard or Main key, or the account's auth token, has it)");
        let unauthenticated = ProviderError::from(api(401, Some(20003)));
        assert!(!unauthenticated.hint.unwrap_or_default().contains("Restricted"));
    }

    #[test]
    fn excerpt_is_one_bounded_line() {
        assert_eq!(excerpt(b""), "(empty body)");
        assert_eq!(excerpt(b"<html>\n  <h1>Bad\tGateway</h1>\n</html>"), "`<html> <h1>Bad Gateway</h1> </html>`");
        let long = excerpt("x".repeat(500).as_bytes());
        assert_eq!(long.chars().count(), 200 + 3, "200 characters, two backticks and an ellipsis");
    }
}
