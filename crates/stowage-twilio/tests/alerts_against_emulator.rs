//! The reads of `stowage alerts` against the Twilio emulator, which checks every request
//! against Twilio's OpenAPI documents on arrival: each list is asked as the documents say.

use std::time::Duration;

use jiff::Timestamp;
use stowage_test_support::{TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, start_emulator};
use stowage_twilio::{MediaKind, RetryPolicy, TwilioAuth, TwilioEndpoints, TwilioProvider};

/// Nothing here switches storage on, so the emulator's write test never runs.
const UNUSED_S3_ENDPOINT: &str = "http://127.0.0.1:9";
const TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn every_read_conforms_to_twilios_documents() {
    let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
    let auth = TwilioAuth::from_lookup(|name| match name {
        "TWILIO_ACCOUNT_SID" => Some(TEST_ACCOUNT_SID.to_owned()),
        "TWILIO_AUTH_TOKEN" => Some(TEST_AUTH_TOKEN.to_owned()),
        _ => None,
    })
    .expect("test credentials are well formed");
    let base_url = emulator.base_url();
    let endpoints =
        TwilioEndpoints::from_overrides(Some(&base_url), Some(&base_url), Some(&base_url)).expect("loopback http");
    let provider = TwilioProvider::connect(auth, endpoints, RetryPolicy::never()).expect("client builds");
    // Sub-second ends: what is sent is whole seconds.
    let end: Timestamp = "2026-03-02T00:00:00.5Z".parse().expect("a time");
    let start = end - jiff::SignedDuration::from_hours(24);

    let reads = async {
        let alerts = provider.alerts(start, end).await.expect("alerts");
        let mut media = Vec::new();
        for kind in [MediaKind::Recording, MediaKind::Composition] {
            for status in ["failed", "deleted"] {
                media.extend(provider.media(kind, status, start, end).await.expect("media"));
            }
        }
        (alerts, media)
    };
    let (alerts, media) = tokio::time::timeout(TIMEOUT, reads).await.expect("answered in time");

    assert_eq!((alerts.len(), media.len()), (0, 0), "a new account has neither");
    let requests = emulator.requests();
    let paths: Vec<&str> = requests.iter().map(|request| request.path.as_str()).collect();
    assert_eq!(paths, ["/v1/Alerts", "/v1/Recordings", "/v1/Recordings", "/v1/Compositions", "/v1/Compositions"]);
    for request in &requests {
        assert!(request.conforms, "{} {}: {:?}", request.method, request.path, request.violations);
        assert_eq!(request.status, 200, "{request:?}");
    }
    assert_eq!(requests[0].query_keys, ["StartDate", "EndDate", "PageSize"]);
    assert_eq!(requests[1].query_keys, ["Status", "DateCreatedAfter", "DateCreatedBefore", "PageSize"]);
}
