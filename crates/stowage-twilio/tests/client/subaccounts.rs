//! A fleet's side of the client against the fake: listing the subaccounts (2010 API), and
//! acting for each with its own credentials, never with the main account's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use stowage_provider::{
    Address, Attributes, CreateRequest, ErrorKind, NewAccessKey, Provider, ReadRequest, ResourceType, Secret,
    SecretHandoff,
};
use stowage_twilio::{Operation, RetryPolicy, Subaccount, TwilioAuth, TwilioEndpoints, TwilioProvider};

use crate::fake::{API_KEY, API_SECRET, AWS_SECRET, CREDENTIAL_SID, FakeTwilio, Reply, aws_credential_json, bounded};

const MAIN: &str = "AC0123456789abcdef0123456789abcdef";
const MAIN_TOKEN: &str = "main-token-do-not-leak";
const SUB_A: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SUB_B: &str = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const TOKEN_A: &str = "token-of-a-do-not-leak";
const TOKEN_B: &str = "token-of-b-do-not-leak";
const FIRST_PAGE: &str = "/2010-04-01/Accounts.json?Status=active&PageSize=1000";

fn main_account_auth() -> TwilioAuth {
    TwilioAuth::from_lookup(|name| match name {
        "TWILIO_ACCOUNT_SID" => Some(MAIN.to_owned()),
        "TWILIO_AUTH_TOKEN" => Some(MAIN_TOKEN.to_owned()),
        _ => None,
    })
    .expect("valid account credentials")
}

fn api_key_auth() -> TwilioAuth {
    crate::fake::api_key_auth()
}

fn provider(fake: &FakeTwilio, auth: TwilioAuth) -> TwilioProvider {
    let endpoints = TwilioEndpoints::all_at(&fake.url).expect("loopback endpoints");
    TwilioProvider::connect(auth, endpoints, RetryPolicy::never()).expect("provider")
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn account(sid: &str, owner: &str, status: &str, token: &str) -> serde_json::Value {
    json!({
        "auth_token": token,
        "date_created": "Thu, 30 Jul 2015 20:00:00 +0000",
        "date_updated": "Thu, 30 Jul 2015 20:00:00 +0000",
        "friendly_name": format!("account {}", &sid[2..4]),
        "owner_account_sid": owner,
        "sid": sid,
        "status": status,
        "subresource_uris": {},
        "type": "Full",
        "uri": format!("/2010-04-01/Accounts/{sid}.json"),
    })
}

fn accounts_page(accounts: Vec<serde_json::Value>, next_page_uri: Option<&str>) -> Reply {
    Reply::json(
        200,
        json!({
            "accounts": accounts,
            "end": 1,
            "first_page_uri": FIRST_PAGE,
            "next_page_uri": next_page_uri,
            "page": 0,
            "page_size": 2,
            "previous_page_uri": null,
            "start": 0,
            "uri": FIRST_PAGE,
        }),
    )
}

fn subaccount(sid: &str, token: &str) -> Subaccount {
    Subaccount {
        sid: sid.to_owned(),
        friendly_name: String::new(),
        status: "active".to_owned(),
        auth_token: Secret::new(token),
    }
}

fn settings_of(account_sid: &str) -> Reply {
    Reply::json(
        200,
        json!({
            "account_sid": account_sid,
            "friendly_name": null,
            "aws_credentials_sid": null,
            "aws_s3_url": null,
            "aws_storage_enabled": null,
            "encryption_key_sid": null,
            "encryption_enabled": null,
            "url": "https://video.twilio.com/v1/RecordingSettings/Default",
        }),
    )
}

#[tokio::test]
async fn subaccounts_are_the_active_ones_the_caller_owns_over_every_page() {
    let second = "/2010-04-01/Accounts.json?Status=active&PageSize=1000&Page=1&PageToken=PAx";
    let fake = FakeTwilio::start([
        accounts_page(
            vec![account(MAIN, MAIN, "active", MAIN_TOKEN), account(SUB_B, MAIN, "active", TOKEN_B)],
            Some(second),
        ),
        accounts_page(
            vec![
                account(SUB_A, MAIN, "active", TOKEN_A),
                // Neither is listed by `Status=active` for the main account; both are left out if they are.
                account("ACcccccccccccccccccccccccccccccccc", MAIN, "suspended", "t"),
                account("ACdddddddddddddddddddddddddddddddd", SUB_A, "active", "t"),
            ],
            None,
        ),
    ])
    .await;
    let provider = provider(&fake, main_account_auth());

    let subaccounts = bounded(provider.subaccounts()).await.expect("listed");

    let listed: Vec<_> = subaccounts.iter().map(|sub| (sub.sid.as_str(), sub.auth_token.expose())).collect();
    assert_eq!(listed, [(SUB_A, TOKEN_A), (SUB_B, TOKEN_B)], "sorted by SID, the caller left out");
    assert_eq!((subaccounts[0].status.as_str(), subaccounts[0].friendly_name.as_str()), ("active", "account aa"));
    let requests = fake.requests();
    let paths: Vec<_> = requests.iter().map(|request| request.path_and_query.as_str()).collect();
    assert_eq!(paths, [FIRST_PAGE, second], "the relative next page, on the configured endpoint");
    assert!(requests.iter().all(|request| request.method == "GET"));
    assert!(requests.iter().all(|request| request.headers.get("authorization") == Some(&basic(MAIN, MAIN_TOKEN))));
    assert_eq!(provider.client().calls().get(Operation::ListAccounts), 2, "counted, once a page");
    assert!(!format!("{subaccounts:?}").contains(TOKEN_A), "Debug redacts the token");
}

#[tokio::test]
async fn an_api_keys_account_is_the_listed_one_that_owns_itself() {
    let fake = FakeTwilio::start([accounts_page(
        vec![account(SUB_B, MAIN, "active", TOKEN_B), account(MAIN, MAIN, "active", MAIN_TOKEN)],
        None,
    )])
    .await;

    let subaccounts = bounded(provider(&fake, api_key_auth()).subaccounts()).await.expect("listed");

    assert_eq!(subaccounts.iter().map(|sub| sub.sid.as_str()).collect::<Vec<_>>(), [SUB_B]);
    assert_eq!(fake.requests()[0].headers.get("authorization"), Some(&basic(API_KEY, API_SECRET)));
}

#[tokio::test]
async fn a_next_page_elsewhere_is_not_followed() {
    let fake = FakeTwilio::start([accounts_page(
        vec![account(MAIN, MAIN, "active", MAIN_TOKEN)],
        Some("//attacker.example/2010-04-01/Accounts.json?Page=1"),
    )])
    .await;

    let error = bounded(provider(&fake, main_account_auth()).subaccounts()).await.expect_err("refused");

    assert_eq!(error.kind, ErrorKind::Internal);
    assert!(error.message.contains("not on the configured Twilio endpoint"), "{error}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_standard_api_key_is_told_what_may_list_subaccounts() {
    let fake = FakeTwilio::start([Reply::twilio_error(401, 20003, "Authenticate")]).await;

    let error = bounded(provider(&fake, api_key_auth()).subaccounts()).await.expect_err("refused");

    assert_eq!(error.kind, ErrorKind::Unauthorized);
    let hint = error.hint.unwrap_or_default();
    assert!(hint.contains("Main API key") && hint.contains("Standard"), "{hint}");
}

#[tokio::test]
async fn each_address_authenticates_as_the_account_its_key_names() {
    let fake = FakeTwilio::start([settings_of(SUB_A), settings_of(SUB_B), settings_of(MAIN), settings_of(MAIN)]).await;
    let main = provider(&fake, main_account_auth());
    let fleet = main.with_subaccounts(&[subaccount(SUB_A, TOKEN_A), subaccount(SUB_B, TOKEN_B)]);
    let settings = Address::new(ResourceType::TwilioRecordingSettings, "main");

    let mut answered = Vec::new();
    for address in [
        settings.clone().instance(SUB_A),
        settings.clone().instance(SUB_B),
        settings.clone(),
        settings.clone().instance(MAIN),
    ] {
        let request = ReadRequest { address: &address, id: None, desired: None, recorded: None };
        answered.push(bounded(fleet.read(request)).await.expect("read").expect("settings").id);
    }

    assert_eq!(answered, [SUB_A, SUB_B, MAIN, MAIN]);
    let authorizations: Vec<_> = fake
        .requests()
        .iter()
        .map(|request| request.headers.get("authorization").cloned().unwrap_or_default())
        .collect();
    assert_eq!(
        authorizations,
        [basic(SUB_A, TOKEN_A), basic(SUB_B, TOKEN_B), basic(MAIN, MAIN_TOKEN), basic(MAIN, MAIN_TOKEN)],
        "each subaccount with its own token; the main account's own SID with the main credentials"
    );
    assert_eq!(main.client().calls().total(), 4, "the fleet's requests count in the shared counts");
}

#[tokio::test]
async fn an_unknown_key_is_refused_before_any_request() {
    let fake = FakeTwilio::start([]).await;
    let fleet = provider(&fake, main_account_auth()).with_subaccounts(&[subaccount(SUB_A, TOKEN_A)]);
    let address = Address::new(ResourceType::TwilioRecordingSettings, "main").instance(SUB_B);

    let error = bounded(fleet.read(ReadRequest { address: &address, id: None, desired: None, recorded: None }))
        .await
        .expect_err("refused");

    assert_eq!(error.kind, ErrorKind::Invalid);
    assert!(error.message.contains(SUB_B) && error.message.contains("no credentials"), "{error}");
    let by_api_key = provider(&fake, api_key_auth()).with_subaccounts(&[subaccount(SUB_A, TOKEN_A)]);
    let main_by_key = Address::new(ResourceType::TwilioRecordingSettings, "main").instance(MAIN);
    let request = ReadRequest { address: &main_by_key, id: None, desired: None, recorded: None };
    let error = bounded(by_api_key.read(request)).await.expect_err("an API key's account is not known");
    assert_eq!(error.kind, ErrorKind::Invalid);
    let alerts = bounded(by_api_key.alerts_for(SUB_B, jiff::Timestamp::UNIX_EPOCH, jiff::Timestamp::now())).await;
    assert_eq!(alerts.expect_err("refused").kind, ErrorKind::Invalid);
    assert!(fake.requests().is_empty(), "nothing was sent, with any credentials");
}

fn credential_desired(account_sid: &str) -> Attributes {
    Attributes::from([
        ("access_key_id".to_owned(), json!("AKIAIOSFODNN7EXAMPLE")),
        ("account_sid".to_owned(), json!(account_sid)),
        ("friendly_name".to_owned(), json!("stowage dev")),
    ])
}

#[tokio::test]
async fn a_subaccounts_credential_is_made_in_it_as_it() {
    let fake = FakeTwilio::start([Reply::json(201, aws_credential_json(CREDENTIAL_SID, "stowage dev"))]).await;
    let fleet = provider(&fake, main_account_auth()).with_subaccounts(&[subaccount(SUB_A, TOKEN_A)]);
    let address = Address::new(ResourceType::TwilioAwsCredential, "main").instance(SUB_A);
    let handoff = SecretHandoff::new();
    handoff.put(NewAccessKey {
        access_key_id: "AKIAIOSFODNN7EXAMPLE".to_owned(),
        secret_access_key: Secret::new(AWS_SECRET),
    });

    // The main account's SID as the account: refused, never sent.
    let desired = credential_desired(MAIN);
    let request = CreateRequest { address: &address, attributes: &desired, handoff: &handoff, marker: None };
    let error = bounded(fleet.create(request)).await.expect_err("another account");
    assert_eq!(error.kind, ErrorKind::Invalid);
    assert!(fake.requests().is_empty());

    let desired = credential_desired(SUB_A);
    let request = CreateRequest { address: &address, attributes: &desired, handoff: &handoff, marker: None };
    bounded(fleet.create(request)).await.expect("created");

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].headers.get("authorization"), Some(&basic(SUB_A, TOKEN_A)));
    assert!(
        !requests[0].body.contains("AccountSid"),
        "authenticated as the subaccount, the credential is its own: {}",
        requests[0].body.replace(AWS_SECRET, "…")
    );
}
