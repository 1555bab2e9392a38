//! Shared by the integration tests: a Twilio client for the emulator, snapshot filters, time
//! bounds, and moto.
// Each test binary uses part of this module.
#![allow(dead_code)]

pub mod checked;
pub mod moto;

use std::future::Future;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use twilio_emulator::{EmulatorConfig, RunningEmulator};

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "emulator-auth-token";
pub const OTHER_ACCOUNT_SID: &str = "ACfedcba9876543210fedcba9876543210";
pub const OTHER_AUTH_TOKEN: &str = "other-auth-token";
/// A subaccount of [`ACCOUNT_SID`].
pub const SUBACCOUNT_SID: &str = "AC00112233445566778899aabbccddeeff";
pub const SUBACCOUNT_AUTH_TOKEN: &str = "subaccount-auth-token";
pub const API_KEY_SID: &str = "SK0123456789abcdef0123456789abcdef";
pub const API_KEY_SECRET: &str = "emulator-api-key-secret";

/// A well-formed AWS credential (AWS's documentation example).
pub const AWS_ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const AWS_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

pub const RSA_PUBLIC_KEY: &str = include_str!("../fixtures/rsa_public_key.pem");
pub const EC_PUBLIC_KEY: &str = include_str!("../fixtures/ec_public_key.pem");

/// Runs `future`, failing the test if it takes longer than `seconds`.
pub async fn within<T>(seconds: u64, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(seconds), future)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {seconds} s"))
}

/// An emulator with two accounts (the first also with an API key and a subaccount), writing
/// to `s3_endpoint`.
pub async fn start_emulator(s3_endpoint: &str) -> RunningEmulator {
    twilio_emulator::spawn(
        EmulatorConfig::new(s3_endpoint)
            .account(ACCOUNT_SID, AUTH_TOKEN)
            .account(OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN)
            .subaccount(SUBACCOUNT_SID, SUBACCOUNT_AUTH_TOKEN, ACCOUNT_SID)
            .api_key(API_KEY_SID, API_KEY_SECRET, ACCOUNT_SID),
    )
    .await
    .expect("the emulator starts")
}

/// A client of the admin endpoints, which need no authentication.
#[derive(Debug, Clone)]
pub struct Admin {
    pub http: reqwest::Client,
    pub base_url: String,
}

impl Admin {
    pub fn new(emulator: &RunningEmulator) -> Self {
        Self { http: reqwest::Client::new(), base_url: emulator.base_url() }
    }

    /// `POST /__emulator/PATH` with a JSON body: the status and the JSON answer (`Null` when
    /// empty).
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/__emulator/{path}", self.base_url))
            .json(&body)
            .send()
            .await
            .expect("the emulator answers");
        let status = response.status();
        let text = response.text().await.expect("a readable body");
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("a JSON answer") };
        (status, body)
    }
}

/// Nothing listens on the discard port: for tests that never reach S3.
pub const UNUSED_S3_ENDPOINT: &str = "http://127.0.0.1:9";

/// A Twilio API answer: status, selected headers and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<String>,
    pub www_authenticate: Option<String>,
    pub body: Value,
}

/// A client of the emulator's Twilio APIs, authenticating as one principal.
#[derive(Debug, Clone)]
pub struct Twilio {
    http: reqwest::Client,
    base_url: String,
    user: String,
    password: Option<String>,
}

impl Twilio {
    pub fn new(base_url: &str, user: &str, password: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base_url: base_url.to_owned(),
            user: user.to_owned(),
            password: Some(password.to_owned()),
        }
    }

    pub fn account(emulator: &RunningEmulator) -> Self {
        Self::new(&emulator.base_url(), ACCOUNT_SID, AUTH_TOKEN)
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `method path` (a path on the emulator, or an absolute URL) with an optional form.
    pub async fn call(&self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Answer {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base_url) };
        let mut request = self.http.request(method, url).basic_auth(&self.user, self.password.as_deref());
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request.send().await.expect("the emulator answers");
        let header = |name: reqwest::header::HeaderName| {
            response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
        };
        let retry_after = header(reqwest::header::RETRY_AFTER);
        let www_authenticate = header(reqwest::header::WWW_AUTHENTICATE);
        let status = response.status();
        let text = response.text().await.expect("a readable body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"))
        };
        Answer { status, retry_after, www_authenticate, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.call(Method::POST, path, Some(form)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates an AWS credential and answers its SID.
    pub async fn create_aws_credential(&self, access_key_id: &str, secret: &str) -> String {
        let credentials = format!("{access_key_id}:{secret}");
        let answer =
            self.post("/v1/Credentials/AWS", &[("Credentials", &credentials), ("FriendlyName", "uploader")]).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:#}", answer.body);
        answer.body["sid"].as_str().expect("a SID").to_owned()
    }
}

/// Asserts that `answer` is a Twilio error with `code` and the HTTP `status`.
pub fn assert_twilio_error(answer: &Answer, status: u16, code: u64) {
    assert_eq!(answer.status.as_u16(), status, "{:#}", answer.body);
    assert_eq!(answer.body["code"], code, "{:#}", answer.body);
}

/// Snapshot settings that hide what changes from run to run: SIDs, dates, page tokens, the
/// port.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"CR[0-9a-f]{32}", "[CREDENTIAL_SID]");
    settings.add_filter(r"RT[0-9a-f]{32}", "[RECORDING_SID]");
    settings.add_filter(r"CJ[0-9a-f]{32}", "[COMPOSITION_SID]");
    settings.add_filter(r"NO[0-9a-f]{32}", "[ALERT_SID]");
    settings.add_filter(r"RM[0-9a-f]{32}", "[ROOM_SID]");
    settings.add_filter(r"PA[0-9a-f]{32}", "[PARTICIPANT_SID]");
    settings.add_filter(r"MT[0-9a-f]{32}", "[TRACK_SID]");
    settings.add_filter(r"PageToken=P([AB])\d+(_\d+)?", "PageToken=P$1[KEY]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[DATE]");
    settings.add_filter(r"http://127\.0\.0\.1:\d+", "[EMULATOR]");
    settings
}
