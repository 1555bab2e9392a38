use stowage_provider::{ErrorKind, ProviderError, Secret};
use stowage_twilio::{CreateAwsCredential, RetryPolicy, TwilioError};

use crate::fake::{AWS_SECRET, FakeTwilio, Reply, bounded, quick_retries};

fn port_filter() -> Vec<(&'static str, &'static str)> {
    vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]")]
}

async fn create(fake: &FakeTwilio, retry: RetryPolicy) -> Result<stowage_twilio::AwsCredential, TwilioError> {
    let secret = Secret::new(AWS_SECRET);
    let request = CreateAwsCredential {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: &secret,
        friendly_name: Some("dev"),
        account_sid: None,
    };
    bounded(fake.client(retry).create_aws_credential(&request)).await
}

#[tokio::test]
async fn twilio_error_bodies_are_parsed() {
    let fake = FakeTwilio::start([Reply::twilio_error(400, 70106, "Invalid AWS credentials")]).await;

    let error = create(&fake, RetryPolicy::never()).await.expect_err("refused");

    let api_error = error.api_error().expect("a Twilio error body");
    assert_eq!(api_error.code, Some(70106));
    assert_eq!(api_error.message, "Invalid AWS credentials");
    assert_eq!(api_error.more_info.as_deref(), Some("https://www.twilio.com/docs/errors/70106"));
    assert_eq!(api_error.status, Some(400));
    assert_eq!(error.status(), Some(400));
    assert_eq!(error.kind(), ErrorKind::Invalid);
    assert!(!error.outcome_unknown(), "a 400 created nothing");
}

/// How each kind of failed response reads, with its kind.
#[tokio::test]
async fn error_messages() {
    let cases = [
        Reply::twilio_error(400, 70106, "Invalid AWS credentials"),
        Reply::twilio_error(401, 20003, "Authenticate"),
        Reply::twilio_error(429, 20429, "Too Many Requests"),
        Reply::json(500, serde_json::json!({"message": "Internal error", "status": 500})),
        Reply::text(502, "text/html", "<html>\n<body><h1>502 Bad Gateway</h1></body>\n</html>\n"),
        Reply::empty(503),
        Reply::text(301, "text/plain", "moved"),
        Reply::json(201, serde_json::json!({"sid": 42})),
    ];
    let fake = FakeTwilio::start(cases).await;
    let mut report = String::new();
    for _ in 0..8 {
        let error = create(&fake, RetryPolicy::never()).await.expect_err("fails");
        report.push_str(&format!("[{}] {error}\n", error.kind()));
    }
    insta::with_settings!({ filters => port_filter() }, {
        insta::assert_snapshot!(report);
    });
}

#[tokio::test]
async fn provider_errors_keep_code_and_link() {
    let fake = FakeTwilio::start([
        Reply::twilio_error(400, 70106, "Invalid AWS credentials"),
        Reply::twilio_error(500, 20500, "Internal Server Error"),
    ])
    .await;
    let mut report = String::new();
    for _ in 0..2 {
        let error: ProviderError = create(&fake, RetryPolicy::never()).await.expect_err("fails").into();
        report.push_str(&format!("{error}\n  code: {:?}\n  hint: {:?}\n", error.code, error.hint));
    }
    insta::assert_snapshot!(report);
}

#[tokio::test]
async fn no_error_shows_the_request_body() {
    let fake = FakeTwilio::start([
        Reply::twilio_error(400, 70106, "Invalid AWS credentials"),
        Reply::text(500, "text/plain", "oops"),
    ])
    .await;
    let mut scan = stowage_test_support::SecretScan::new(&[]);
    scan.secret("the AWS secret", AWS_SECRET);
    for _ in 0..2 {
        let error = create(&fake, quick_retries(3)).await.expect_err("fails");
        let mut shown = format!("{error} {error:?}");
        shown.push_str(&ProviderError::from(error).to_string());
        let leaks = scan.leaks_in("the error", &shown);
        assert!(leaks.is_empty(), "{leaks:?}: {shown}");
    }
}
