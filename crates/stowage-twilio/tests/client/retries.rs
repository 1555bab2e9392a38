use std::time::{Duration, Instant};

use stowage_provider::{ErrorKind, Secret};
use stowage_twilio::client::Failure;
use stowage_twilio::{
    CreateAwsCredential, Operation, RetryPolicy, StorageSettingsUpdate, Timeouts, TwilioClient, TwilioEndpoints,
};

use crate::fake::{
    AWS_SECRET, CREDENTIAL_SID, FakeTwilio, Reply, api_key_auth, aws_credential_json, bounded, quick_retries,
    settings_json,
};

fn settings_reply() -> Reply {
    Reply::json(200, settings_json("https://video.twilio.com/v1/RecordingSettings/Default"))
}

async fn create(client: &TwilioClient) -> Result<stowage_twilio::AwsCredential, stowage_twilio::TwilioError> {
    let secret = Secret::new(AWS_SECRET);
    let request = CreateAwsCredential {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: &secret,
        friendly_name: None,
        account_sid: None,
    };
    bounded(client.create_aws_credential(&request)).await
}

#[tokio::test]
async fn throttled_create_waits_as_asked_then_succeeds() {
    let fake = FakeTwilio::start([
        Reply::twilio_error(429, 20429, "Too Many Requests").header("retry-after", "30"),
        Reply::json(201, aws_credential_json(CREDENTIAL_SID, "created")),
    ])
    .await;
    // Backoff alone would wait at most 1 ms; Retry-After asks 30 s, capped at 100 ms.
    let retry = RetryPolicy { max_delay: Duration::from_millis(100), ..quick_retries(3) };
    let client = fake.client(retry);

    let started = Instant::now();
    let created = create(&client).await.expect("created on the second attempt");
    let elapsed = started.elapsed();

    assert_eq!(created.sid.as_deref(), Some(CREDENTIAL_SID));
    assert_eq!(fake.requests().len(), 2);
    assert!(elapsed >= Duration::from_millis(100), "waited for Retry-After, capped: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "the cap held: {elapsed:?}");
}

#[tokio::test]
async fn throttling_that_persists_ends_as_throttled() {
    let fake = FakeTwilio::start((0..3).map(|_| Reply::twilio_error(429, 20429, "Too Many Requests"))).await;
    let client = fake.client(quick_retries(3));

    let error = bounded(client.fetch_recording_settings()).await.expect_err("throttled");

    assert_eq!(error.kind(), ErrorKind::Throttled);
    assert_eq!(fake.requests().len(), 3, "max_attempts requests in all");
    assert_eq!(client.calls().get(Operation::FetchRecordingSettings), 3, "every attempt counts");
}

#[tokio::test]
async fn server_errors_are_retried_for_reads() {
    let fake = FakeTwilio::start([
        Reply::twilio_error(503, 20503, "Service Unavailable"),
        Reply::text(500, "text/plain", "oops"),
        settings_reply(),
    ])
    .await;
    let client = fake.client(quick_retries(5));

    let settings = bounded(client.fetch_recording_settings()).await.expect("third time lucky");

    assert_eq!(settings.aws_storage_enabled, Some(true));
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn server_errors_are_retried_for_settings_updates() {
    let fake = FakeTwilio::start([Reply::empty(502), settings_reply()]).await;
    let client = fake.client(quick_retries(5));
    let update = StorageSettingsUpdate {
        friendly_name: "stowage dev".to_owned(),
        aws_credentials_sid: None,
        aws_s3_url: None,
        aws_storage_enabled: Some(false),
        encryption_key_sid: None,
        encryption_enabled: None,
    };

    bounded(client.update_recording_settings(&update)).await.expect("retried");

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body, "the same whole state, sent again");
}

#[tokio::test]
async fn server_errors_are_not_retried_for_a_create() {
    let fake = FakeTwilio::start([
        Reply::twilio_error(500, 20500, "Internal Server Error"),
        Reply::json(201, aws_credential_json(CREDENTIAL_SID, "a duplicate")),
    ])
    .await;
    let client = fake.client(quick_retries(5));

    let error = create(&client).await.expect_err("not retried");

    assert_eq!(fake.requests().len(), 1);
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    assert!(error.outcome_unknown(), "the credential may exist now");
}

#[tokio::test]
async fn retries_stop_after_max_attempts() {
    let fake = FakeTwilio::start((0..4).map(|_| Reply::empty(503))).await;
    let client = fake.client(quick_retries(3));

    let error = bounded(client.list_public_keys()).await.expect_err("gives up");

    assert_eq!(error.status(), Some(503));
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn a_hung_read_times_out_and_is_retried() {
    let fake = FakeTwilio::start([Reply::hang(), Reply::hang()]).await;
    let timeouts = Timeouts { connect: Duration::from_secs(1), request: Duration::from_millis(200) };
    let client = fake.client_with_timeouts(quick_retries(2), timeouts);

    let started = Instant::now();
    let error = bounded(client.fetch_composition_settings()).await.expect_err("times out");
    let elapsed = started.elapsed();

    assert!(
        matches!(error.failure(), Failure::Timeout { limit, while_connecting: false, .. } if *limit == timeouts.request),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    assert_eq!(fake.requests().len(), 2);
    assert!(elapsed >= Duration::from_millis(400), "two attempts of 200 ms: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "bounded by the timeouts: {elapsed:?}");
}

#[tokio::test]
async fn a_hung_create_times_out_once() {
    let fake = FakeTwilio::start([Reply::hang(), Reply::json(201, aws_credential_json(CREDENTIAL_SID, "dup"))]).await;
    let timeouts = Timeouts { connect: Duration::from_secs(1), request: Duration::from_millis(200) };
    let client = fake.client_with_timeouts(quick_retries(5), timeouts);

    let error = create(&client).await.expect_err("times out");

    assert!(matches!(error.failure(), Failure::Timeout { .. }), "{error:?}");
    assert!(error.outcome_unknown());
    assert_eq!(fake.requests().len(), 1, "a create whose fate is unknown is not sent again");
}

#[tokio::test]
async fn refused_connections_are_retried_and_reported() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let endpoints = TwilioEndpoints::from_overrides(Some(&url), Some(&url), Some(&url)).expect("loopback");
    let client = TwilioClient::new(api_key_auth(), endpoints, quick_retries(3)).expect("client");

    let read_error = bounded(client.fetch_recording_settings()).await.expect_err("refused");
    let write_error = create(&client).await.expect_err("refused");

    assert!(matches!(read_error.failure(), Failure::Connect { .. }), "{read_error:?}");
    assert_eq!(read_error.kind(), ErrorKind::Unavailable);
    assert_eq!(client.calls().get(Operation::FetchRecordingSettings), 3, "reads are retried");
    assert_eq!(client.calls().get(Operation::CreateAwsCredential), 1, "creates are not");
    assert!(!write_error.outcome_unknown(), "nothing was sent");
}

#[tokio::test]
async fn throttling_has_attempts_of_its_own_and_is_counted() {
    let fake = FakeTwilio::start([
        Reply::twilio_error(429, 20429, "Too Many Requests"),
        Reply::twilio_error(503, 20503, "Service Unavailable"),
        Reply::twilio_error(429, 20429, "Too Many Requests"),
        Reply::twilio_error(429, 20429, "Too Many Requests"),
        settings_reply(),
    ])
    .await;
    // Two attempts for failures, four for throttling: one failure and three 429s fit.
    let client = fake.client(RetryPolicy { max_attempts: 2, max_throttled_attempts: 4, ..quick_retries(2) });

    bounded(client.fetch_recording_settings()).await.expect("answered in the end");

    assert_eq!(fake.requests().len(), 5);
    let calls = client.calls();
    assert_eq!(calls.get(Operation::FetchRecordingSettings), 5, "every attempt counts");
    assert_eq!(calls.throttled(), 3, "and the 429s on their own");
}

#[tokio::test]
async fn throttled_waits_end_at_the_budget() {
    let fake = FakeTwilio::start(
        (0..10).map(|_| Reply::twilio_error(429, 20429, "Too Many Requests").header("retry-after", "1")),
    )
    .await;
    // Retry-After asks 1 s, capped at 40 ms; 100 ms of waiting in all: two waits fit, a third
    // does not.
    let retry = RetryPolicy {
        max_delay: Duration::from_millis(40),
        max_throttled_attempts: 10,
        throttled_budget: Duration::from_millis(100),
        ..quick_retries(10)
    };
    let client = fake.client(retry);

    let started = Instant::now();
    let error = bounded(client.fetch_recording_settings()).await.expect_err("still throttled");

    assert_eq!(error.kind(), ErrorKind::Throttled);
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(client.calls().throttled(), 3);
    assert!(started.elapsed() >= Duration::from_millis(80), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_create_throttled_then_failed_is_not_sent_a_third_time() {
    let fake = FakeTwilio::start([
        Reply::twilio_error(429, 20429, "Too Many Requests"),
        Reply::twilio_error(500, 20500, "Internal Server Error"),
        Reply::json(201, aws_credential_json(CREDENTIAL_SID, "a duplicate")),
    ])
    .await;
    let client = fake.client(quick_retries(5));

    let error = create(&client).await.expect_err("the 500 ends it");

    assert_eq!(fake.requests().len(), 2, "the 429 was retried, the 500 was not");
    assert!(error.outcome_unknown());
}

#[tokio::test]
async fn never_retries_nothing_not_even_throttling() {
    let fake = FakeTwilio::start([Reply::twilio_error(429, 20429, "Too Many Requests"), settings_reply()]).await;
    let client = fake.client(RetryPolicy::never());

    let error = bounded(client.fetch_recording_settings()).await.expect_err("not retried");

    assert_eq!(error.kind(), ErrorKind::Throttled);
    assert_eq!(fake.requests().len(), 1);
}
