use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use stowage_provider::{ErrorKind, Secret};
use stowage_twilio::client::Failure;
use stowage_twilio::{
    AwsCredential, CreateAwsCredential, CreatePublicKey, Operation, RetryPolicy, StorageSettingsUpdate,
};

use crate::fake::{
    API_KEY, API_SECRET, AWS_SECRET, CREDENTIAL_SID, FakeTwilio, Reply, aws_credential_json, bounded, settings_json,
};

#[tokio::test]
async fn every_request_carries_basic_auth_and_asks_for_json() {
    let fake = FakeTwilio::start([]).await;
    fake.push(Reply::json(200, settings_json(&format!("{}/v1/RecordingSettings/Default", fake.url))));
    let client = fake.client(RetryPolicy::never());

    let settings = bounded(client.fetch_recording_settings()).await.expect("settings");

    assert_eq!(settings.aws_credentials_sid.as_deref(), Some(CREDENTIAL_SID));
    assert_eq!(settings.encryption_key_sid, None, "null stays None");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let expected = format!("Basic {}", STANDARD.encode(format!("{API_KEY}:{API_SECRET}")));
    assert_eq!(requests[0].headers.get("authorization"), Some(&expected));
    assert_eq!(requests[0].headers.get("accept").map(String::as_str), Some("application/json"));
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path_and_query.as_str()),
        ("GET", "/v1/RecordingSettings/Default")
    );
}

/// Every write, as the wire sees it, with the AWS secret replaced after checking it was sent.
#[tokio::test]
async fn write_requests_send_exact_forms() {
    let fake = FakeTwilio::start([
        Reply::json(201, aws_credential_json(CREDENTIAL_SID, "stowage dev uploader")),
        Reply::json(200, aws_credential_json(CREDENTIAL_SID, "renamed")),
        Reply::json(201, aws_credential_json(CREDENTIAL_SID, "recordings key")),
        Reply::json(200, settings_json("https://video.twilio.com/v1/RecordingSettings/Default")),
        Reply::json(200, settings_json("https://video.twilio.com/v1/CompositionSettings/Default")),
    ])
    .await;
    let client = fake.client(RetryPolicy::never());
    let secret = Secret::new(AWS_SECRET);

    let created = bounded(client.create_aws_credential(&CreateAwsCredential {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: &secret,
        friendly_name: Some("stowage dev uploader"),
        account_sid: Some("AC0123456789abcdef0123456789abcdef"),
    }))
    .await
    .expect("created");
    let expected: AwsCredential =
        serde_json::from_value(aws_credential_json(CREDENTIAL_SID, "stowage dev uploader")).expect("credential");
    assert_eq!(created, expected);
    bounded(client.update_aws_credential(CREDENTIAL_SID, "renamed")).await.expect("renamed");
    bounded(client.create_public_key(&CreatePublicKey {
        public_key: "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq+/=\n-----END PUBLIC KEY-----",
        friendly_name: None,
        account_sid: None,
    }))
    .await
    .expect("key created");
    let mut update = StorageSettingsUpdate {
        friendly_name: "stowage dev".to_owned(),
        aws_credentials_sid: Some(CREDENTIAL_SID.to_owned()),
        aws_s3_url: Some("https://acme-video-dev.s3.us-east-2.amazonaws.com/recordings".to_owned()),
        aws_storage_enabled: Some(true),
        encryption_key_sid: None,
        encryption_enabled: Some(false),
    };
    bounded(client.update_recording_settings(&update)).await.expect("recording settings");
    update.aws_s3_url = None;
    update.aws_storage_enabled = Some(false);
    bounded(client.update_composition_settings(&update)).await.expect("composition settings");

    let encoded_secret: String = url::form_urlencoded::byte_serialize(AWS_SECRET.as_bytes()).collect();
    let mut transcript = String::new();
    for request in fake.requests() {
        assert_eq!(
            request.headers.get("content-type").map(String::as_str),
            Some("application/x-www-form-urlencoded"),
            "{}",
            request.path_and_query
        );
        let occurrences = request.body.matches(&encoded_secret).count();
        let expected_occurrences = usize::from(request.path_and_query == "/v1/Credentials/AWS");
        assert_eq!(occurrences, expected_occurrences, "secret in {}", request.path_and_query);
        let body = request.body.replace(&encoded_secret, "[AWS_SECRET]");
        transcript.push_str(&format!("{} {}\n{body}\n\n", request.method, request.path_and_query));
    }
    insta::assert_snapshot!(transcript);
}

#[tokio::test]
async fn fetch_and_delete_treat_404_as_absence() {
    let fake = FakeTwilio::start([
        Reply::twilio_error(404, 20404, "The requested resource was not found"),
        Reply::json(200, aws_credential_json(CREDENTIAL_SID, "found")),
        Reply::empty(204),
        Reply::twilio_error(404, 20404, "The requested resource was not found"),
        Reply::twilio_error(404, 20404, "The requested resource was not found"),
    ])
    .await;
    let client = fake.client(RetryPolicy::never());

    assert_eq!(bounded(client.fetch_aws_credential(CREDENTIAL_SID)).await.expect("fetch"), None);
    let found = bounded(client.fetch_aws_credential(CREDENTIAL_SID)).await.expect("fetch");
    assert_eq!(found.and_then(|credential| credential.friendly_name).as_deref(), Some("found"));
    assert!(bounded(client.delete_aws_credential(CREDENTIAL_SID)).await.expect("deleted"));
    assert!(!bounded(client.delete_aws_credential(CREDENTIAL_SID)).await.expect("already gone"));
    assert!(!bounded(client.delete_public_key(CREDENTIAL_SID)).await.expect("already gone"));

    let requests: Vec<_> =
        fake.requests().into_iter().map(|request| format!("{} {}", request.method, request.path_and_query)).collect();
    let credential_path = format!("/v1/Credentials/AWS/{CREDENTIAL_SID}");
    let public_key_path = format!("/v1/Credentials/PublicKeys/{CREDENTIAL_SID}");
    assert_eq!(
        requests,
        [
            format!("GET {credential_path}"),
            format!("GET {credential_path}"),
            format!("DELETE {credential_path}"),
            format!("DELETE {credential_path}"),
            format!("DELETE {public_key_path}"),
        ]
    );
}

#[tokio::test]
async fn a_malformed_sid_is_refused_before_any_request() {
    let fake = FakeTwilio::start([]).await;
    let client = fake.client(RetryPolicy::never());

    for sid in ["CR123", "../../v1/RecordingSettings/Default", "AC0123456789abcdef0123456789abcdef"] {
        let error = bounded(client.delete_aws_credential(sid)).await.expect_err(sid);
        assert_eq!(error.kind(), ErrorKind::Invalid, "{sid}");
        assert!(matches!(error.failure(), Failure::InvalidSid { .. }), "{sid}: {error}");
    }
    assert!(fake.requests().is_empty());
    assert_eq!(client.calls().total(), 0);
}

#[tokio::test]
async fn call_counts_separate_reads_from_writes() {
    let fake = FakeTwilio::start([
        Reply::json(200, serde_json::json!({"credentials": [], "meta": {"next_page_url": null}})),
        Reply::json(200, settings_json("https://video.twilio.com/v1/RecordingSettings/Default")),
        Reply::json(200, settings_json("https://video.twilio.com/v1/CompositionSettings/Default")),
    ])
    .await;
    let client = fake.client(RetryPolicy::never());

    bounded(client.list_aws_credentials()).await.expect("list");
    bounded(client.fetch_recording_settings()).await.expect("recording");
    bounded(client.fetch_composition_settings()).await.expect("composition");
    let counts = client.calls();
    assert_eq!((counts.reads(), counts.writes()), (3, 0), "a refresh writes nothing");

    let clone = client.clone();
    fake.push(Reply::json(201, aws_credential_json(CREDENTIAL_SID, "new")));
    let secret = Secret::new(AWS_SECRET);
    let request = CreateAwsCredential {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: &secret,
        friendly_name: None,
        account_sid: None,
    };
    bounded(clone.create_aws_credential(&request)).await.expect("created");
    let counts = client.calls();
    assert_eq!(counts.writes(), 1, "clones share the counts");
    assert_eq!(counts.get(Operation::CreateAwsCredential), 1);
    assert_eq!(counts.get(Operation::ListAwsCredentials), 1);
    assert_eq!(counts.total(), fake.requests().len() as u64);
}

#[tokio::test]
async fn debug_of_the_client_never_shows_the_secret() {
    let fake = FakeTwilio::start([]).await;
    let client = fake.client(RetryPolicy::default());
    let shown = format!("{client:?} {client:#?}");
    assert!(!shown.contains(API_SECRET), "{shown}");
    assert!(shown.contains(API_KEY), "{shown}");
    assert!(shown.contains(&fake.url), "{shown}");
}
