//! Errors: the ones that stop the emulator from starting, and the Twilio error responses it
//! answers with.

use std::net::SocketAddr;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::openapi::OpenApiError;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid account SID `{0}`: expected `AC` followed by 32 hexadecimal digits")]
    InvalidAccountSid(String),
    #[error("invalid API key SID `{0}`: expected `SK` followed by 32 hexadecimal digits")]
    InvalidApiKeySid(String),
    #[error("API key `{api_key_sid}` belongs to `{account_sid}`, which is not a configured account")]
    ApiKeyWithoutAccount { api_key_sid: String, account_sid: String },
    #[error("invalid S3 endpoint `{endpoint}`: expected an http or https URL")]
    InvalidS3Endpoint { endpoint: String },
    #[error(transparent)]
    OpenApi(#[from] OpenApiError),
    #[error("the emulator's server stopped with an error")]
    Serve(#[source] std::io::Error),
}

/// A Twilio error response: `{"code", "message", "more_info", "status"}`.
///
/// Messages are written the way Twilio writes them (sentences, capitalised), because clients
/// show them to people as Twilio's words. They never contain a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TwilioError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
    /// Sent as a `Retry-After` header, in seconds (injected throttling only).
    pub retry_after: Option<u64>,
}

impl TwilioError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    pub fn authentication_required() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 20003, "Authenticate")
    }

    pub fn not_found(path: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, 20404, format!("The requested resource {path} was not found"))
    }

    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, 20004, format!("Method {method} not allowed on {path}"))
    }

    /// Twilio's answer to a request beyond the account's concurrency limit: 429, code 20429,
    /// without `Retry-After`.
    pub fn too_many_requests() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests")
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 20001, message)
    }

    /// The answer to a request hit by an injected fault, with the code Twilio uses for that
    /// HTTP status.
    pub fn injected(status: StatusCode, retry_after: Option<u64>) -> Self {
        let code = match status.as_u16() {
            400 => 20001,
            401 | 403 => 20003,
            404 => 20404,
            405 => 20004,
            other => 20000 + u32::from(other),
        };
        let message = status.canonical_reason().unwrap_or("Injected fault");
        Self { retry_after, ..Self::new(status, code, message) }
    }

    pub fn body(&self) -> serde_json::Value {
        json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status.as_u16(),
        })
    }
}

impl IntoResponse for TwilioError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Twilio API\""));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
