//! A Twilio client that checks every answer against the OpenAPI documents: each success body
//! against the schema the documents give for its path, method and status, each error body
//! (which the documents leave without schema) against Twilio's error shape.

use std::collections::BTreeSet;
use std::sync::Mutex;

use reqwest::Method;
use serde_json::Value;
use twilio_emulator::openapi::TwilioOpenApi;

use super::{Answer, Twilio};

/// A Twilio client that checks every answer against the OpenAPI documents.
pub struct CheckedTwilio {
    twilio: Twilio,
    openapi: TwilioOpenApi,
    /// `(method, path template, status)` of every answer checked against a schema.
    pub covered: Mutex<BTreeSet<(String, String, u16)>>,
}

impl CheckedTwilio {
    pub fn new(twilio: Twilio) -> Self {
        Self { twilio, openapi: TwilioOpenApi::load().expect("the embedded documents load"), covered: Mutex::default() }
    }

    pub fn as_principal(&self, user: &str, password: &str) -> Self {
        Self::new(Twilio::new(self.twilio.base_url(), user, password))
    }

    pub async fn call(&self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Answer {
        let answer = self.twilio.call(method.clone(), path, form).await;
        self.check(&method, path, &answer);
        answer
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

    fn check(&self, method: &Method, path: &str, answer: &Answer) {
        let status = answer.status.as_u16();
        if !answer.status.is_success() {
            assert_error_shape(answer);
            return;
        }
        let template = path_template(path);
        let schema = self
            .openapi
            .response_schema(&template, method.as_str(), status)
            .unwrap_or_else(|error| panic!("{method} {path} answered {status}: {error}"));
        match schema {
            None => assert_eq!(answer.body, Value::Null, "{method} {path} documents no body"),
            Some(schema) => {
                let validator = twilio_emulator::openapi::validator(&schema).expect("the documented schema compiles");
                let errors: Vec<String> = validator
                    .iter_errors(&answer.body)
                    .map(|error| format!("{}: {error}", error.instance_path()))
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{method} {path} answered a body outside its schema: {errors:#?}\n{:#}",
                    answer.body
                );
            }
        }
        self.covered.lock().unwrap().insert((method.to_string(), template, status));
    }
}

/// The OpenAPI path template of a request path: the SID segment becomes `{Sid}`, the query goes.
pub fn path_template(path: &str) -> String {
    let path = path.split_once("://").map_or(path, |(_, rest)| rest.find('/').map_or("/", |start| &rest[start..]));
    let path = path.split('?').next().unwrap_or(path);
    if let Some(file) = path.strip_prefix("/2010-04-01/Accounts/")
        && !file.contains('/')
        && file.ends_with(".json")
    {
        return "/2010-04-01/Accounts/{Sid}.json".to_owned();
    }
    match path.rsplit_once('/') {
        Some((
            collection @ ("/v1/Credentials/AWS"
            | "/v1/Credentials/PublicKeys"
            | "/v1/Recordings"
            | "/v1/Compositions"
            | "/v1/Alerts"),
            _,
        )) => format!("{collection}/{{Sid}}"),
        _ => path.to_owned(),
    }
}

/// Twilio's error shape: exactly `code`, `message`, `more_info` and `status`, consistent.
pub fn assert_error_shape(answer: &Answer) {
    let body = answer.body.as_object().expect("an error body is a JSON object");
    let keys: Vec<&str> = body.keys().map(String::as_str).collect();
    assert_eq!(keys, ["code", "message", "more_info", "status"], "{:#}", answer.body);
    let code = body["code"].as_u64().expect("an integer code");
    assert!(body["message"].as_str().is_some_and(|message| !message.is_empty()));
    assert_eq!(body["more_info"], format!("https://www.twilio.com/docs/errors/{code}"));
    assert_eq!(body["status"], answer.status.as_u16());
}
