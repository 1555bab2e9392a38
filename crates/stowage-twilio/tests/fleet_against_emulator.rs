//! A fleet against the Twilio emulator: the main account's subaccounts listed through the 2010
//! API, each instance's requests authenticated as its subaccount, and a fleet slowed down,
//! not failed, by Twilio's concurrency limit. What exists is checked through the emulator's own
//! API and request log, authenticating as each account, never through what the provider
//! answered.

use std::time::Duration;

use serde_json::json;
use stowage_provider::{
    Address, Attributes, CreateRequest, ErrorKind, NewAccessKey, Provider, ReadRequest, ResourceType, Secret,
    SecretHandoff,
};
use stowage_test_support::twilio_emulator::{ApiKeyKind, MAX_SUBACCOUNTS, RunningEmulator};
use stowage_test_support::{TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, start_emulator};
use stowage_twilio::{Operation, RetryPolicy, TwilioAuth, TwilioEndpoints, TwilioProvider};

/// Storage stays off here, so the emulator's write test never reaches S3.
const UNUSED_S3_ENDPOINT: &str = "http://127.0.0.1:9";
/// Every emulator call is on loopback; a test that waits this long has hung.
const TIMEOUT: Duration = Duration::from_secs(60);
const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn main_account() -> TwilioAuth {
    TwilioAuth::from_lookup(|name| match name {
        "TWILIO_ACCOUNT_SID" => Some(TEST_ACCOUNT_SID.to_owned()),
        "TWILIO_AUTH_TOKEN" => Some(TEST_AUTH_TOKEN.to_owned()),
        _ => None,
    })
    .expect("test credentials are well formed")
}

fn provider(emulator: &RunningEmulator, auth: TwilioAuth, retry: RetryPolicy) -> TwilioProvider {
    let endpoints = TwilioEndpoints::all_at(&emulator.base_url()).expect("loopback http");
    TwilioProvider::connect(auth, endpoints, retry).expect("client builds")
}

async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future).await.expect("answered in time")
}

/// `GET path` at the emulator, authenticated as `sid:token`: the status and the JSON body.
async fn get_as(emulator: &RunningEmulator, sid: &str, token: &str, path: &str) -> (u16, serde_json::Value) {
    let url = format!("{}{path}", emulator.base_url());
    let response = within(reqwest::Client::new().get(url).basic_auth(sid, Some(token)).send()).await.expect("answered");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Every request the emulator saw conforms to Twilio's documents.
fn assert_all_conform(emulator: &RunningEmulator) {
    for request in emulator.requests() {
        assert!(request.conforms, "{} {}: {:?}", request.method, request.path, request.violations);
    }
}

#[tokio::test]
async fn subaccounts_are_the_active_ones_over_every_page() {
    let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
    // The client asks for Twilio's largest page (1000), and the main account is listed too:
    // as many subaccounts as may be open make two pages. One is closed, and one more made.
    let mut open: Vec<(String, String)> = (0..MAX_SUBACCOUNTS)
        .map(|n| emulator.create_subaccount(TEST_ACCOUNT_SID, Some(&format!("tenant {n}"))).expect("made"))
        .collect();
    let (closed, _) = open.remove(7);
    emulator.close_subaccount(&closed).expect("closed");
    open.push(emulator.create_subaccount(TEST_ACCOUNT_SID, Some("tenant late")).expect("made"));
    open.sort();
    let provider = provider(&emulator, main_account(), RetryPolicy::never());

    let subaccounts = within(provider.subaccounts()).await.expect("listed");

    let listed: Vec<(String, String)> =
        subaccounts.iter().map(|sub| (sub.sid.clone(), sub.auth_token.expose().to_owned())).collect();
    assert_eq!(listed.len(), MAX_SUBACCOUNTS);
    assert!(listed == open, "exactly the open subaccounts, sorted, each with its token");
    assert!(subaccounts.iter().all(|sub| sub.status == "active" && sub.friendly_name.starts_with("tenant ")));
    assert!(!listed.iter().any(|(sid, _)| *sid == closed || sid == TEST_ACCOUNT_SID));
    let requests = emulator.requests();
    let pages: Vec<_> = requests.iter().map(|request| (request.path.as_str(), request.status)).collect();
    assert_eq!(pages, [("/2010-04-01/Accounts.json", 200); 2], "two pages");
    assert_eq!(requests[0].query_keys, ["Status", "PageSize"]);
    assert_eq!(provider.client().calls().get(Operation::ListAccounts), 2);
    assert_all_conform(&emulator);
}

#[tokio::test]
async fn a_main_api_key_lists_them_and_a_standard_one_is_told_why_not() {
    let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
    let (sub, _) = emulator.create_subaccount(TEST_ACCOUNT_SID, None).expect("made");
    let api_key = |kind| {
        let key = emulator.create_api_key(TEST_ACCOUNT_SID, kind).expect("made");
        TwilioAuth::from_lookup(|name| match name {
            "TWILIO_API_KEY" => Some(key.sid.clone()),
            "TWILIO_API_SECRET" => Some(key.secret.clone()),
            _ => None,
        })
        .expect("well formed")
    };

    let by_main_key = within(provider(&emulator, api_key(ApiKeyKind::Main), RetryPolicy::never()).subaccounts())
        .await
        .expect("listed");
    let refused = within(provider(&emulator, api_key(ApiKeyKind::Standard), RetryPolicy::never()).subaccounts())
        .await
        .expect_err("a Standard key may not list accounts");

    assert_eq!(by_main_key.iter().map(|sub| sub.sid.as_str()).collect::<Vec<_>>(), [sub.as_str()]);
    assert_eq!(refused.kind, ErrorKind::Unauthorized);
    assert!(refused.hint.unwrap_or_default().contains("Main API key"));
    assert_all_conform(&emulator);
}

fn credential(account_sid: &str) -> Attributes {
    Attributes::from([
        ("access_key_id".to_owned(), json!(ACCESS_KEY_ID)),
        ("account_sid".to_owned(), json!(account_sid)),
        ("friendly_name".to_owned(), json!("stowage fleet")),
    ])
}

fn settings(credential_sid: &str) -> Attributes {
    Attributes::from([
        ("friendly_name".to_owned(), json!("stowage fleet")),
        ("aws_credentials_sid".to_owned(), json!(credential_sid)),
        ("aws_s3_url".to_owned(), json!("https://acme-video.s3.us-east-2.amazonaws.com/recordings")),
        ("aws_storage_enabled".to_owned(), json!(false)),
        ("encryption_enabled".to_owned(), json!(false)),
    ])
}

#[tokio::test]
async fn an_instances_credential_and_settings_go_to_its_subaccount_only() {
    let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
    let (sub_a, token_a) = emulator.create_subaccount(TEST_ACCOUNT_SID, Some("tenant a")).expect("made");
    let (sub_b, token_b) = emulator.create_subaccount(TEST_ACCOUNT_SID, Some("tenant b")).expect("made");
    let main = provider(&emulator, main_account(), RetryPolicy::never());
    let fleet = main.with_subaccounts(&within(main.subaccounts()).await.expect("listed"));
    let credential_address = Address::new(ResourceType::TwilioAwsCredential, "main").instance(&sub_a);
    let settings_address = Address::new(ResourceType::TwilioRecordingSettings, "main").instance(&sub_a);
    let handoff = SecretHandoff::new();
    handoff.put(NewAccessKey { access_key_id: ACCESS_KEY_ID.to_owned(), secret_access_key: Secret::new(AWS_SECRET) });

    let wanted = credential(&sub_a);
    let request = CreateRequest { address: &credential_address, attributes: &wanted, handoff: &handoff, marker: None };
    let made = within(fleet.create(request)).await.expect("credential made");
    let wanted = settings(&made.id);
    let request = CreateRequest { address: &settings_address, attributes: &wanted, handoff: &handoff, marker: None };
    // The emulator refuses settings naming a credential of another account: this passing says
    // both went to the same one.
    let applied = within(fleet.create(request)).await.expect("settings written");
    let read = ReadRequest { address: &settings_address, id: None, desired: None, recorded: None };
    let observed = within(fleet.read(read)).await.expect("read").expect("settings");
    let fleet_requests: Vec<_> =
        emulator.requests().into_iter().filter(|request| !request.path.starts_with("/2010-04-01/")).collect();

    assert_eq!((applied.id.as_str(), observed.id.as_str()), (sub_a.as_str(), sub_a.as_str()));
    let credential_path = format!("/v1/Credentials/AWS/{}", made.id);
    assert_eq!(get_as(&emulator, &sub_a, &token_a, &credential_path).await.0, 200, "the credential is A's");
    assert_eq!(emulator.aws_credential_key(&made.id).as_deref(), Some(ACCESS_KEY_ID));
    let (status, of_a) = get_as(&emulator, &sub_a, &token_a, "/v1/RecordingSettings/Default").await;
    assert_eq!(status, 200);
    assert_eq!((of_a["account_sid"].as_str(), of_a["aws_credentials_sid"].as_str()), (Some(&*sub_a), Some(&*made.id)));
    assert_eq!(of_a["friendly_name"], "stowage fleet");
    for (sid, token) in [(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN), (sub_b.as_str(), token_b.as_str())] {
        assert_eq!(get_as(&emulator, sid, token, &credential_path).await.0, 404, "not {sid}'s");
        let (_, settings) = get_as(&emulator, sid, token, "/v1/RecordingSettings/Default").await;
        assert_eq!(settings["aws_credentials_sid"], serde_json::Value::Null, "{sid}'s settings untouched");
    }
    assert!(
        fleet_requests.iter().all(|request| request.account_sid.as_deref() == Some(&*sub_a)),
        "every request of the instance authenticated as A: {fleet_requests:?}"
    );
    let create =
        fleet_requests.iter().find(|request| request.method == "POST" && request.path == "/v1/Credentials/AWS");
    assert_eq!(
        create.map(|request| request.form_keys.clone()),
        Some(vec!["Credentials".into(), "FriendlyName".into()])
    );
    assert_all_conform(&emulator);
}

#[tokio::test]
async fn an_unknown_key_sends_nothing() {
    let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
    let (sub, _) = emulator.create_subaccount(TEST_ACCOUNT_SID, None).expect("made");
    // Made after the list was read: the fleet has no credentials for it.
    let fleet = {
        let main = provider(&emulator, main_account(), RetryPolicy::never());
        main.with_subaccounts(&within(main.subaccounts()).await.expect("listed"))
    };
    let (late, _) = emulator.create_subaccount(TEST_ACCOUNT_SID, None).expect("made");
    let listed = emulator.requests().len();
    let handoff = SecretHandoff::new();

    let late_address = Address::new(ResourceType::TwilioCompositionSettings, "main").instance(&late);
    let read = fleet.read(ReadRequest { address: &late_address, id: None, desired: None, recorded: None });
    let read_error = within(read).await.expect_err("refused");
    let wanted = settings("CR00000000000000000000000000000000");
    let address =
        Address::new(ResourceType::TwilioRecordingSettings, "main").instance("AC0000000000000000000000000000dead");
    let create =
        fleet.create(CreateRequest { address: &address, attributes: &wanted, handoff: &handoff, marker: None });
    let create_error = within(create).await.expect_err("refused");

    for error in [&read_error, &create_error] {
        assert_eq!(error.kind, ErrorKind::Invalid, "{error}");
        assert!(error.message.contains("no credentials"), "{error}");
    }
    assert!(read_error.message.contains(&late), "{read_error}");
    assert!(fleet.acts_for(&sub) && !fleet.acts_for(&late));
    assert_eq!(emulator.requests().len(), listed, "no request after the list");
}

#[tokio::test]
async fn a_fleet_slows_down_to_the_concurrency_limit_instead_of_failing() {
    let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
    emulator.set_concurrency_limit(Some(2));
    emulator.set_latency(Duration::from_millis(50));
    let provider = provider(&emulator, main_account(), RetryPolicy::default());
    let address = Address::new(ResourceType::TwilioRecordingSettings, "main");

    let reads =
        (0..20).map(|_| provider.read(ReadRequest { address: &address, id: None, desired: None, recorded: None }));
    let answers = within(futures::future::join_all(reads)).await;

    assert!(answers.iter().all(|answer| matches!(answer, Ok(Some(_)))), "every read succeeded: {answers:?}");
    let calls = provider.client().calls();
    assert!(calls.throttled() > 0, "the limit was hit: {calls:?}");
    assert_eq!(calls.throttled(), emulator.throttled(), "every 429 the emulator sent was counted");
    assert_eq!(calls.get(Operation::FetchRecordingSettings), 20 + calls.throttled(), "each 429 retried once");
    assert_all_conform(&emulator);
}

#[tokio::test]
async fn alerts_can_be_read_for_a_subaccount() {
    let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
    let (sub, _) = emulator.create_subaccount(TEST_ACCOUNT_SID, None).expect("made");
    let main = provider(&emulator, main_account(), RetryPolicy::never());
    let fleet = main.with_subaccounts(&within(main.subaccounts()).await.expect("listed"));
    let end = jiff::Timestamp::now();
    let start = end - jiff::SignedDuration::from_hours(24);

    let alerts = within(fleet.alerts_for(&sub, start, end)).await.expect("alerts");
    let media = within(fleet.media_for(&sub, stowage_twilio::MediaKind::Recording, "failed", start, end)).await;

    assert!(alerts.is_empty() && media.expect("recordings").is_empty());
    let requests = emulator.requests();
    let as_sub: Vec<_> = requests.iter().filter(|request| request.account_sid.as_deref() == Some(&*sub)).collect();
    assert_eq!(
        as_sub.iter().map(|request| request.path.as_str()).collect::<Vec<_>>(),
        ["/v1/Alerts", "/v1/Recordings"]
    );
    assert_all_conform(&emulator);
}

#[tokio::test]
async fn subaccounts_sharing_their_owners_limit_all_get_through() {
    let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
    for _ in 0..4 {
        emulator.create_subaccount(TEST_ACCOUNT_SID, None).expect("made");
    }
    let main = provider(&emulator, main_account(), RetryPolicy::default());
    let subaccounts = within(main.subaccounts()).await.expect("listed");
    let fleet = main.with_subaccounts(&subaccounts);
    // The emulator counts a subaccount's requests against its owner's limit; each account's
    // limit in the client adapts on its own.
    emulator.set_concurrency_limit(Some(2));
    emulator.set_latency(Duration::from_millis(50));
    let addresses: Vec<_> = subaccounts
        .iter()
        .flat_map(|sub| {
            let address = Address::new(ResourceType::TwilioCompositionSettings, "main").instance(&sub.sid);
            std::iter::repeat_n(address, 5)
        })
        .collect();

    let reads =
        addresses.iter().map(|address| fleet.read(ReadRequest { address, id: None, desired: None, recorded: None }));
    let answers = within(futures::future::join_all(reads)).await;

    for (address, answer) in addresses.iter().zip(&answers) {
        let observed = answer.as_ref().unwrap_or_else(|error| panic!("{address}: {error}"));
        assert_eq!(observed.as_ref().map(|observed| observed.id.as_str()), address.key.as_deref());
    }
    assert!(main.client().calls().throttled() > 0);
    assert_all_conform(&emulator);
}
