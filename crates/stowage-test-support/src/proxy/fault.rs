//! Faults the proxy can inject, and the AWS-shaped error answers it gives for them.

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};

/// One fault: what it matches, what it does, and how many matching requests it hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub matches: FaultMatch,
    pub action: FaultAction,
    /// Matching requests the fault hits before it is spent.
    pub times: usize,
}

impl Fault {
    /// Hits the next `times` requests matching `matches`.
    pub fn new(matches: FaultMatch, action: FaultAction, times: usize) -> Fault {
        Fault { matches, action, times }
    }

    /// Hits the next request for `operation` (as [`crate::ObservedRequest::operation`] names
    /// it) once.
    pub fn once(operation: &str, action: FaultAction) -> Fault {
        Fault::new(FaultMatch::Operation(operation.to_owned()), action, 1)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultMatch {
    Any,
    /// Any write (anything but a read): with `times` 1, the first write since the fault was
    /// injected.
    Write,
    /// An operation name such as `PutObject` or `CreateUser`.
    Operation(String),
    /// The request at this index of [`crate::AwsProxy::requests`]: `Nth(0)` is the first one
    /// since the proxy started or was last cleared.
    Nth(usize),
    /// The `nth` request (from 0) for `operation` since the proxy started or was last cleared:
    /// the same point of a run even when concurrent steps reorder its requests. Operations are
    /// compared by [`crate::operation_shape`] (Twilio SIDs in a path as `{Sid}`).
    Occurrence {
        operation: String,
        nth: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this status and an error body in the service's own shape.
    Status(u16),
    /// Answer with exactly this status and error code, in the service's own error shape: S3
    /// `403 InvalidAccessKeyId`, S3 `400 KMS.NotFoundException`, S3 `409 OperationAborted`.
    Error { status: u16, code: String },
    /// Answer with this status and these headers and no body, as S3 answers a `HEAD`: a
    /// `HeadBucket` for a bucket in another region is `301` with `x-amz-bucket-region`, one
    /// for another account's bucket a bare `403`.
    Bare { status: u16, headers: Vec<(String, String)> },
    /// Answer as AWS does when it throttles: S3 `503 SlowDown`, query APIs `400 Throttling`,
    /// KMS `400 ThrottlingException`.
    Throttle,
    /// Close the connection without an answer; the request reaches no one.
    DropConnection,
    /// Wait this long, then forward as usual; the request goes on even if the client stops
    /// waiting for it (slow, not lost).
    Delay(Duration),
    /// Hold the request: it reaches no one and is never answered. [`crate::AwsProxy::held`]
    /// tells the test, which can then act (kill the client) at exactly this point.
    HoldRequest,
    /// Forward the request, then hold its answer: the change is made but the client never
    /// learns of it, the worst moment for a client to die. Notified like [`Self::HoldRequest`].
    HoldAnswer,
}

/// How a service shapes its errors on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `<Error><Code>..</Code>..</Error>`
    RestXml,
    /// `<ErrorResponse><Error><Type>..</Type><Code>..</Code>..</Error>..</ErrorResponse>`
    Query,
    /// `{"__type": "..", "message": ".."}`
    Json,
}

impl Protocol {
    fn of(service: &str) -> Protocol {
        match service {
            "s3" => Protocol::RestXml,
            "kms" => Protocol::Json,
            _ => Protocol::Query,
        }
    }
}

const INJECTED_MESSAGE: &str = "injected by the stowage-test-support AwsProxy";

/// The answer for an injected [`FaultAction::Status`].
pub(crate) fn status_response(service: &str, status: u16) -> Response<Full<Bytes>> {
    let protocol = Protocol::of(service);
    error_response(protocol, status, error_code(protocol, status), INJECTED_MESSAGE)
}

/// The answer for an injected [`FaultAction::Error`].
pub(crate) fn error_code_response(service: &str, status: u16, code: &str) -> Response<Full<Bytes>> {
    error_response(Protocol::of(service), status, code, INJECTED_MESSAGE)
}

/// The answer for an injected [`FaultAction::Bare`]; a header that is not valid HTTP is left
/// out.
pub(crate) fn bare_response(status: u16, headers: &[(String, String)]) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// The answer for an injected [`FaultAction::Throttle`].
pub(crate) fn throttle_response(service: &str) -> Response<Full<Bytes>> {
    let protocol = Protocol::of(service);
    let (status, code) = match protocol {
        Protocol::RestXml => (503, "SlowDown"),
        Protocol::Query => (400, "Throttling"),
        Protocol::Json => (400, "ThrottlingException"),
    };
    error_response(protocol, status, code, INJECTED_MESSAGE)
}

/// The answer when moto could not be reached.
pub(crate) fn bad_gateway_response(service: &str, message: &str) -> Response<Full<Bytes>> {
    error_response(Protocol::of(service), 502, "BadGateway", message)
}

/// Codes the SDKs map to their modelled errors, so stowage sees what AWS would send.
fn error_code(protocol: Protocol, status: u16) -> &'static str {
    match (protocol, status) {
        (Protocol::RestXml, 400) => "InvalidRequest",
        (Protocol::RestXml, 403) => "AccessDenied",
        (Protocol::RestXml, 404) => "NotFound",
        (Protocol::RestXml, 409) => "OperationAborted",
        (Protocol::RestXml, 500) => "InternalError",
        (Protocol::Query, 400) => "ValidationError",
        (Protocol::Query, 403) => "AccessDenied",
        (Protocol::Query, 404) => "NoSuchEntity",
        (Protocol::Query, 409) => "EntityAlreadyExists",
        (Protocol::Query, 500) => "ServiceFailure",
        (Protocol::Json, 400) => "ValidationException",
        (Protocol::Json, 403) => "AccessDeniedException",
        (Protocol::Json, 404) => "NotFoundException",
        (Protocol::Json, 409) => "AlreadyExistsException",
        (Protocol::Json, 500) => "KMSInternalException",
        (_, 503) => "ServiceUnavailable",
        _ => "InjectedFault",
    }
}

fn error_response(protocol: Protocol, status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    let (content_type, body) = match protocol {
        Protocol::RestXml => (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                 <Message>{}</Message><RequestId>stowage-test-proxy</RequestId></Error>",
                escape_xml(message)
            ),
        ),
        Protocol::Query => {
            let kind = if status < 500 { "Sender" } else { "Receiver" };
            (
                "text/xml",
                format!(
                    "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>\
                     <Message>{}</Message></Error>\
                     <RequestId>stowage-test-proxy</RequestId></ErrorResponse>",
                    escape_xml(message)
                ),
            )
        }
        Protocol::Json => {
            ("application/x-amz-json-1.1", format!(r#"{{"__type":"{code}","message":"{}"}}"#, escape_json(message)))
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn escape_json(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            control if control.is_control() => {
                escaped.push_str(&format!("\\u{:04x}", u32::from(control)));
            }
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn render(response: Response<Full<Bytes>>) -> String {
        let status = response.status();
        let content_type = response.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        format!("{status} {content_type}\n{}", String::from_utf8_lossy(&body))
    }

    #[tokio::test]
    async fn injected_errors_take_each_service_shape() {
        let mut rendered = Vec::new();
        for (service, status) in [("s3", 500), ("iam", 500), ("kms", 500), ("s3", 403), ("sts", 418)] {
            rendered.push(format!("{service} {status}: {}", render(status_response(service, status)).await));
        }
        insta::assert_snapshot!(rendered.join("\n\n"));
    }

    #[tokio::test]
    async fn throttling_looks_like_each_service_throttling() {
        let mut rendered = Vec::new();
        for service in ["s3", "iam", "kms"] {
            rendered.push(format!("{service}: {}", render(throttle_response(service)).await));
        }
        insta::assert_snapshot!(rendered.join("\n\n"));
    }

    #[tokio::test]
    async fn an_exact_error_code_takes_each_service_shape() {
        let mut rendered = Vec::new();
        for (service, status, code) in
            [("s3", 403, "InvalidAccessKeyId"), ("s3", 400, "KMS.NotFoundException"), ("s3", 409, "OperationAborted")]
        {
            rendered.push(format!(
                "{service} {status} {code}: {}",
                render(error_code_response(service, status, code)).await
            ));
        }
        rendered.push(format!("iam 409: {}", render(error_code_response("iam", 409, "EntityAlreadyExists")).await));
        rendered.push(format!("kms 400: {}", render(error_code_response("kms", 400, "NotFoundException")).await));
        insta::assert_snapshot!(rendered.join("\n\n"));
    }

    #[tokio::test]
    async fn a_bare_answer_has_its_headers_and_no_body() {
        let headers = vec![("x-amz-bucket-region".to_owned(), "eu-west-1".to_owned())];
        let response = bare_response(301, &headers);
        assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(response.headers()["x-amz-bucket-region"], "eu-west-1");
        assert!(!response.headers().contains_key(CONTENT_TYPE));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(body.is_empty());
        assert_eq!(bare_response(403, &[]).status(), StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn a_bad_gateway_message_is_escaped_for_each_shape() {
        let message = "upstream <closed> & \"gone\" \\ \n";
        let xml = render(bad_gateway_response("s3", message)).await;
        let json = render(bad_gateway_response("kms", message)).await;
        insta::assert_snapshot!(format!("{xml}\n\n{json}"));
    }
}
