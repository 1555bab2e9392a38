//! A scripted stand-in for Twilio on a loopback port: it answers requests with the replies it
//! was given, in order, and records every request it saw.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use stowage_twilio::{RetryPolicy, Timeouts, TwilioAuth, TwilioClient, TwilioEndpoints};

pub const API_KEY: &str = "SK0123456789abcdef0123456789abcdef";
pub const API_SECRET: &str = "api-secret-do-not-leak";
pub const CREDENTIAL_SID: &str = "CR0123456789abcdef0123456789abcdef";
pub const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// What the fake answers to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    hang: bool,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".to_owned())],
            body: body.to_string(),
            hang: false,
        }
    }

    pub fn text(status: u16, content_type: &str, body: &str) -> Self {
        Self { status, headers: vec![("content-type", content_type.to_owned())], body: body.to_owned(), hang: false }
    }

    pub fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: String::new(), hang: false }
    }

    /// Never answers: the client's timeout has to end the wait.
    pub fn hang() -> Self {
        Self { status: 200, headers: Vec::new(), body: String::new(), hang: true }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// A Twilio error body.
    pub fn twilio_error(status: u16, code: u32, message: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({
                "code": code,
                "message": message,
                "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
                "status": status,
            }),
        )
    }
}

/// A request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path_and_query: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    requests: Vec<Recorded>,
}

pub struct FakeTwilio {
    pub url: String,
    script: Arc<Mutex<Script>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeTwilio {
    pub async fn start(replies: impl IntoIterator<Item = Reply>) -> Self {
        let script = Arc::new(Mutex::new(Script { replies: replies.into_iter().collect(), requests: Vec::new() }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        let app = axum::Router::new().fallback(answer).with_state(Arc::clone(&script));
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake Twilio serves");
        });
        Self { url, script, server }
    }

    /// Adds a reply after the ones already scripted (for replies that need [`Self::url`]).
    pub fn push(&self, reply: Reply) {
        self.lock().replies.push_back(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub fn client(&self, retry: RetryPolicy) -> TwilioClient {
        self.client_with_timeouts(retry, Timeouts::default())
    }

    pub fn client_with_timeouts(&self, retry: RetryPolicy, timeouts: Timeouts) -> TwilioClient {
        let endpoints = TwilioEndpoints::from_overrides(Some(&self.url), Some(&self.url), Some(&self.url))
            .expect("loopback endpoints");
        TwilioClient::with_timeouts(api_key_auth(), endpoints, retry, timeouts).expect("client")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let reply = {
        let mut script = script.lock().unwrap_or_else(PoisonError::into_inner);
        script.requests.push(Recorded {
            method: method.to_string(),
            path_and_query: uri.path_and_query().map(ToString::to_string).unwrap_or_default(),
            headers: headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("<binary>").to_owned()))
                .collect(),
            body,
        });
        script.replies.pop_front()
    };
    let Some(reply) = reply else {
        return Response::builder()
            .status(StatusCode::NOT_IMPLEMENTED)
            .body(Body::from("fake Twilio: no reply scripted for this request"))
            .expect("response");
    };
    if reply.hang {
        std::future::pending::<()>().await;
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(*name, value);
    }
    response.body(Body::from(reply.body)).expect("response")
}

pub fn api_key_auth() -> TwilioAuth {
    TwilioAuth::from_lookup(|name| match name {
        "TWILIO_API_KEY" => Some(API_KEY.to_owned()),
        "TWILIO_API_SECRET" => Some(API_SECRET.to_owned()),
        _ => None,
    })
    .expect("valid API key")
}

/// A retry policy with delays short enough for tests: `max_attempts` for failures and for
/// throttling alike.
pub fn quick_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_throttled_attempts: max_attempts,
        throttled_budget: Duration::from_secs(5),
    }
}

/// Every test that talks to the fake finishes within this, or fails.
pub async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future).await.expect("test finished in time")
}

/// A credential as Twilio returns it.
pub fn aws_credential_json(sid: &str, friendly_name: &str) -> serde_json::Value {
    serde_json::json!({
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "date_created": "2015-07-31T04:00:00Z",
        "date_updated": "2015-07-31T04:00:00Z",
        "friendly_name": friendly_name,
        "sid": sid,
        "url": format!("https://accounts.twilio.com/v1/Credentials/AWS/{sid}"),
    })
}

pub fn settings_json(url: &str) -> serde_json::Value {
    serde_json::json!({
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "friendly_name": "stowage dev",
        "aws_credentials_sid": CREDENTIAL_SID,
        "encryption_key_sid": null,
        "aws_s3_url": "https://acme-video-dev.s3.us-east-2.amazonaws.com/recordings",
        "aws_storage_enabled": true,
        "encryption_enabled": false,
        "url": url,
    })
}

/// A credential SID numbered `n`.
pub fn sid(n: usize) -> String {
    format!("CR{n:032x}")
}
