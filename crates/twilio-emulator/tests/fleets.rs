//! Fleets of subaccounts: the 2010 API's Accounts resource against its embedded document, who
//! may see and do what with which credentials, and the concurrency limit each account family
//! shares.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::checked::*;
use support::*;
use twilio_emulator::{
    AccountError, AccountStatus, ApiKeyKind, EmulatorConfig, MediaKind, MediaRequest, RunningEmulator, SimulationError,
};

const ACCOUNTS: &str = "/2010-04-01/Accounts.json";
const MAIN_API_KEY_SID: &str = "SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const MAIN_API_KEY_SECRET: &str = "main-api-key-secret";
/// A Standard API key of the configured subaccount.
const SUBACCOUNT_API_KEY_SID: &str = "SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const SUBACCOUNT_API_KEY_SECRET: &str = "subaccount-api-key-secret";

fn config() -> EmulatorConfig {
    EmulatorConfig::new(UNUSED_S3_ENDPOINT)
        .account(ACCOUNT_SID, AUTH_TOKEN)
        .account(OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN)
        .subaccount(SUBACCOUNT_SID, SUBACCOUNT_AUTH_TOKEN, ACCOUNT_SID)
        .api_key(API_KEY_SID, API_KEY_SECRET, ACCOUNT_SID)
        .api_key_main(MAIN_API_KEY_SID, MAIN_API_KEY_SECRET, ACCOUNT_SID)
        .api_key(SUBACCOUNT_API_KEY_SID, SUBACCOUNT_API_KEY_SECRET, SUBACCOUNT_SID)
}

async fn start(config: EmulatorConfig) -> RunningEmulator {
    twilio_emulator::spawn(config).await.expect("the emulator starts")
}

fn account_path(sid: &str) -> String {
    format!("/2010-04-01/Accounts/{sid}.json")
}

fn is_hex_sid(value: &Value, prefix: &str) -> bool {
    value.as_str().is_some_and(|sid| {
        sid.strip_prefix(prefix).is_some_and(|digits| {
            digits.len() == 32 && digits.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        })
    })
}

/// `Tue, 31 Aug 2010 20:36:28 +0000`.
fn is_rfc_2822_gmt(value: &Value) -> bool {
    let Some(text) = value.as_str() else { return false };
    let shape = "Ddd, 00 Mmm 0000 00:00:00 +0000";
    text.len() == shape.len()
        && text.ends_with(" +0000")
        && text.bytes().zip(shape.bytes()).all(|(byte, form)| match form {
            b'0' => byte.is_ascii_digit(),
            b'D' | b'M' => byte.is_ascii_uppercase(),
            b'd' | b'm' => byte.is_ascii_lowercase(),
            _ => byte == form,
        })
}

fn sids(page: &Answer) -> Vec<String> {
    assert_eq!(page.status, 200, "{:#}", page.body);
    page.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|account| account["sid"].as_str().unwrap().to_owned())
        .collect()
}

/// Every account of the list at `path`, following `next_page_uri` (relative to the host): the
/// SIDs in order, and the pages.
async fn walk(twilio: &CheckedTwilio, path: &str) -> (Vec<String>, Vec<Value>) {
    let (mut all, mut pages) = (Vec::new(), Vec::new());
    let mut next = Some(path.to_owned());
    while let Some(uri) = next {
        let page = twilio.get(&uri).await;
        assert_eq!(page.body["page"], pages.len(), "{uri}");
        all.extend(sids(&page));
        next = page.body["next_page_uri"].as_str().map(str::to_owned);
        pages.push(page.body);
    }
    (all, pages)
}

/// A request (method, path, form) and the status and Twilio code that refuse it.
type Refusal<'a> = (Method, String, &'a [(&'a str, &'a str)], u16, u64);

#[tokio::test]
async fn the_accounts_resource_answers_as_the_2010_document_says() {
    within(60, async {
        let emulator = start(config()).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));

        // Create: 201, a new account of the caller's.
        let created = twilio.post(ACCOUNTS, &[("FriendlyName", "tenant one")]).await;
        assert_eq!(created.status, 201, "{:#}", created.body);
        let account = &created.body;
        let sid = account["sid"].as_str().unwrap().to_owned();
        assert!(is_hex_sid(&account["sid"], "AC"), "{account:#}");
        let auth_token = account["auth_token"].as_str().unwrap().to_owned();
        assert!(auth_token.len() == 32 && auth_token.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_eq!(account["owner_account_sid"], ACCOUNT_SID);
        assert_eq!(account["friendly_name"], "tenant one");
        assert_eq!(account["status"], "active");
        assert_eq!(account["type"], "Full");
        assert_eq!(account["uri"], account_path(&sid));
        assert!(is_rfc_2822_gmt(&account["date_created"]), "{}", account["date_created"]);
        assert_eq!(account["date_updated"], account["date_created"]);
        let subresources = account["subresource_uris"].as_object().unwrap();
        assert_eq!(subresources.len(), 20);
        assert_eq!(subresources["calls"], format!("/2010-04-01/Accounts/{sid}/Calls.json"));
        assert_eq!(subresources["short_codes"], format!("/2010-04-01/Accounts/{sid}/SMS/ShortCodes.json"));

        // Without a name, Twilio's default: `SubAccount Created at {YYYY-MM-DD HH:MM meridian}`.
        let unnamed = twilio.post(ACCOUNTS, &[]).await;
        assert_eq!(unnamed.status, 201);
        let name = unnamed.body["friendly_name"].as_str().unwrap();
        let when = name.strip_prefix("SubAccount Created at ").unwrap_or_else(|| panic!("{name}"));
        assert!(
            when.len() == "2025-01-31 03:04 pm".len() && (when.ends_with(" am") || when.ends_with(" pm")),
            "{name}"
        );
        let unnamed_sid = unnamed.body["sid"].as_str().unwrap().to_owned();

        // Fetch: the same representation, auth token included.
        let fetched = twilio.get(&account_path(&sid)).await;
        assert_eq!(fetched.body, created.body);
        // The caller itself: a main account is its own owner.
        let itself = twilio.get(&account_path(ACCOUNT_SID)).await;
        assert_eq!(itself.body["owner_account_sid"], ACCOUNT_SID);
        assert_eq!(itself.body["auth_token"], AUTH_TOKEN);

        // List: the caller itself and its subaccounts, in creation order; never another main
        // account.
        let listed = twilio.get(ACCOUNTS).await;
        assert_eq!(sids(&listed), [ACCOUNT_SID, SUBACCOUNT_SID, &sid, &unnamed_sid]);
        assert_eq!(listed.body["uri"], "/2010-04-01/Accounts.json?PageSize=50&Page=0");
        assert_eq!(listed.body["first_page_uri"], listed.body["uri"]);
        assert_eq!((listed.body["start"].as_u64(), listed.body["end"].as_u64()), (Some(0), Some(3)));
        assert_eq!(listed.body["next_page_uri"], Value::Null);
        assert_eq!(listed.body["previous_page_uri"], Value::Null);
        assert_eq!(listed.body["accounts"][2], created.body);

        // Update: the name, then the status: suspended, active again, closed for good.
        let renamed = twilio.post(&account_path(&sid), &[("FriendlyName", "tenant 1")]).await;
        assert_eq!(renamed.status, 200);
        assert_eq!(renamed.body["friendly_name"], "tenant 1");
        assert_eq!(renamed.body["date_created"], created.body["date_created"]);
        for status in ["suspended", "active", "closed"] {
            let updated = twilio.post(&account_path(&sid), &[("Status", status)]).await;
            assert_eq!(updated.status, 200, "{status}: {:#}", updated.body);
            assert_eq!(updated.body["status"], status);
        }
        let reopened = twilio.post(&account_path(&sid), &[("Status", "active")]).await;
        assert_twilio_error(&reopened, 400, 20001);
        assert_twilio_error(&twilio.post(&account_path(&sid), &[("FriendlyName", "again")]).await, 400, 20001);
        // Asking a closed account to be what it is changes nothing.
        let still_closed = twilio.post(&account_path(&sid), &[("Status", "closed")]).await;
        assert_eq!((still_closed.status.as_u16(), &still_closed.body["status"]), (200, &json!("closed")));
        // Closed accounts are still listed and fetched by their owner.
        assert_eq!(twilio.get(&account_path(&sid)).await.body["status"], "closed");

        // Paging over more than one page, with a filter kept in every page URI.
        let mut active = vec![ACCOUNT_SID.to_owned(), SUBACCOUNT_SID.to_owned(), unnamed_sid.clone()];
        for index in 0..4 {
            let made = twilio.post(ACCOUNTS, &[("FriendlyName", &format!("fleet {index}"))]).await;
            active.push(made.body["sid"].as_str().unwrap().to_owned());
        }
        let (walked, pages) = walk(&twilio, "/2010-04-01/Accounts.json?Status=active&PageSize=3").await;
        assert_eq!(walked, active, "every active account once, the caller first, the closed one left out");
        assert_eq!(pages.len(), 3);
        for (index, page) in pages.iter().enumerate() {
            let start = index * 3;
            let shown = page["accounts"].as_array().unwrap().len();
            assert_eq!(page["start"], start);
            assert_eq!(page["end"], start + shown - 1);
            assert_eq!(page["page_size"], 3);
            assert_eq!(page["first_page_uri"], "/2010-04-01/Accounts.json?Status=active&PageSize=3&Page=0");
            for uri in [&page["uri"], &page["next_page_uri"], &page["previous_page_uri"]] {
                if let Some(uri) = uri.as_str() {
                    assert!(uri.starts_with("/2010-04-01/Accounts.json?Status=active&PageSize=3&Page="), "{uri}");
                }
            }
            assert!(page["accounts"].as_array().unwrap().iter().all(|account| account["status"] == "active"));
        }
        assert_eq!(pages[0]["previous_page_uri"], Value::Null);
        let back = twilio.get(pages[1]["previous_page_uri"].as_str().unwrap()).await;
        assert_eq!(back.body["accounts"], pages[0]["accounts"]);
        assert_eq!(sids(&twilio.get("/2010-04-01/Accounts.json?Status=closed").await), [sid.as_str()]);
        assert!(sids(&twilio.get("/2010-04-01/Accounts.json?Status=suspended").await).is_empty());
        let by_name = twilio.get("/2010-04-01/Accounts.json?FriendlyName=fleet%202").await;
        assert_eq!(sids(&by_name), [active[5].clone()]);
        assert!(sids(&twilio.get("/2010-04-01/Accounts.json?FriendlyName=fleet").await).is_empty(), "exact match");

        // Requests outside the document, and what is not there.
        let long_name = "x".repeat(65);
        let cases: [Refusal<'_>; 10] = [
            (Method::GET, "/2010-04-01/Accounts.json?Status=deleted".to_owned(), &[], 400, 20001),
            (Method::GET, "/2010-04-01/Accounts.json?PageSize=1001".to_owned(), &[], 400, 20001),
            (Method::GET, "/2010-04-01/Accounts.json?Colour=blue".to_owned(), &[], 400, 20001),
            (Method::POST, ACCOUNTS.to_owned(), &[("Status", "active")], 400, 20001),
            (Method::POST, ACCOUNTS.to_owned(), &[("FriendlyName", long_name.as_str())], 400, 20001),
            (Method::POST, account_path(&unnamed_sid), &[("Status", "1")], 400, 20001),
            (Method::GET, account_path(OTHER_ACCOUNT_SID), &[], 404, 20404),
            (Method::GET, "/2010-04-01/Accounts/ACnope.json".to_owned(), &[], 404, 20404),
            (Method::DELETE, account_path(&unnamed_sid), &[], 405, 20004),
            (Method::GET, format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"), &[], 404, 20404),
        ];
        for (method, path, form, status, code) in cases {
            let form = (method == Method::POST).then_some(form);
            let answer = twilio.call(method.clone(), &path, form).await;
            assert_twilio_error(&answer, status, code);
        }
        assert_eq!(twilio.get(&account_path(&unnamed_sid)).await.body["status"], "active", "nothing changed");

        let covered: BTreeSet<(String, String, u16)> = twilio.covered.lock().unwrap().clone();
        let expected: BTreeSet<(String, String, u16)> = [
            ("GET", ACCOUNTS, 200),
            ("POST", ACCOUNTS, 201),
            ("GET", "/2010-04-01/Accounts/{Sid}.json", 200),
            ("POST", "/2010-04-01/Accounts/{Sid}.json", 200),
        ]
        .into_iter()
        .map(|(method, template, status)| (method.to_owned(), template.to_owned(), status))
        .collect();
        assert_eq!(covered, expected);

        // The log: every request but the refused ones conforms; none records a value.
        let log = emulator.requests();
        let nonconforming: Vec<&str> =
            log.iter().filter(|request| !request.conforms).map(|request| request.path.as_str()).collect();
        assert_eq!(nonconforming.len(), 8, "{nonconforming:#?}");
        // Unknown paths and methods are answered before authentication.
        assert!(log.iter().filter_map(|request| request.account_sid.as_deref()).all(|sid| sid == ACCOUNT_SID));
        assert!(!serde_json::to_string(&log).unwrap().contains("tenant"));
    })
    .await;
}

#[tokio::test]
async fn who_may_see_and_do_what_with_which_credentials() {
    within(60, async {
        let emulator = start(config()).await;
        let main = CheckedTwilio::new(Twilio::account(&emulator));
        let main_key = main.as_principal(MAIN_API_KEY_SID, MAIN_API_KEY_SECRET);
        let standard_key = main.as_principal(API_KEY_SID, API_KEY_SECRET);
        let other = main.as_principal(OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN);

        // Main credentials, and a Main API key: list, create, fetch, update, close.
        let made = main.post(ACCOUNTS, &[("FriendlyName", "tenant a")]).await;
        let tenant_a = made.body["sid"].as_str().unwrap().to_owned();
        let tenant_a_token = made.body["auth_token"].as_str().unwrap().to_owned();
        let made = main_key.post(ACCOUNTS, &[("FriendlyName", "tenant b")]).await;
        assert_eq!(made.status, 201, "{:#}", made.body);
        assert_eq!(made.body["owner_account_sid"], ACCOUNT_SID, "a Main key makes subaccounts of its account");
        let tenant_b = made.body["sid"].as_str().unwrap().to_owned();
        let tenant_b_token = made.body["auth_token"].as_str().unwrap().to_owned();
        let family = [ACCOUNT_SID, SUBACCOUNT_SID, &tenant_a, &tenant_b];
        assert_eq!(sids(&main.get(ACCOUNTS).await), family);
        assert_eq!(sids(&main_key.get(ACCOUNTS).await), family);
        assert_eq!(main_key.get(&account_path(&tenant_a)).await.body["auth_token"], tenant_a_token.as_str());
        assert_eq!(main_key.post(&account_path(&tenant_b), &[("FriendlyName", "b")]).await.status, 200);
        // Another main account sees its own family only.
        assert_eq!(sids(&other.get(ACCOUNTS).await), [OTHER_ACCOUNT_SID]);
        assert_twilio_error(&other.get(&account_path(&tenant_a)).await, 404, 20404);
        assert_twilio_error(&other.post(&account_path(&tenant_a), &[("Status", "closed")]).await, 404, 20404);

        // A Standard API key may not use the Accounts resource at all, but v1 as before.
        for answer in [
            standard_key.get(ACCOUNTS).await,
            standard_key.post(ACCOUNTS, &[]).await,
            standard_key.get(&account_path(ACCOUNT_SID)).await,
            standard_key.post(&account_path(&tenant_a), &[("Status", "suspended")]).await,
        ] {
            assert_twilio_error(&answer, 401, 20003);
            assert_eq!(answer.www_authenticate.as_deref(), Some("Basic realm=\"Twilio API\""));
        }
        assert_eq!(standard_key.get("/v1/RecordingSettings/Default").await.status, 200);
        assert_eq!(main.get(&account_path(&tenant_a)).await.body["status"], "active", "nothing changed");

        // A subaccount's credentials: itself only, never its owner or a sibling.
        let a = main.as_principal(&tenant_a, &tenant_a_token);
        let b = main.as_principal(&tenant_b, &tenant_b_token);
        let listed = a.get(ACCOUNTS).await;
        assert_eq!(sids(&listed), [tenant_a.as_str()]);
        assert_eq!(listed.body["accounts"][0]["auth_token"], tenant_a_token.as_str());
        assert_eq!(a.get(&account_path(&tenant_a)).await.status, 200);
        for path in [account_path(ACCOUNT_SID), account_path(&tenant_b), account_path(SUBACCOUNT_SID)] {
            assert_twilio_error(&a.get(&path).await, 404, 20404);
            assert_twilio_error(&a.post(&path, &[("FriendlyName", "mine")]).await, 404, 20404);
        }
        // It may rename itself, not change its own status, and makes no subaccounts.
        assert_eq!(a.post(&account_path(&tenant_a), &[("FriendlyName", "a")]).await.body["friendly_name"], "a");
        assert_twilio_error(&a.post(&account_path(&tenant_a), &[("Status", "suspended")]).await, 403, 20003);
        assert_twilio_error(&a.post(ACCOUNTS, &[]).await, 400, 21101);
        // A main account cannot suspend or close itself.
        assert_twilio_error(&main.post(&account_path(ACCOUNT_SID), &[("Status", "closed")]).await, 403, 20003);
        assert_eq!(main.post(&account_path(ACCOUNT_SID), &[("Status", "active")]).await.status, 200);

        // v1: every credential acts as its own account. The main account's settings are the
        // main account's; its credentials never reach a subaccount's v1 resources.
        let settings = "/v1/RecordingSettings/Default";
        assert_eq!(main.post(settings, &[("FriendlyName", "main's")]).await.status, 200);
        assert_eq!(a.post(settings, &[("FriendlyName", "a's")]).await.status, 200);
        for (principal, account, name) in
            [(&main, ACCOUNT_SID, "main's"), (&main_key, ACCOUNT_SID, "main's"), (&a, tenant_a.as_str(), "a's")]
        {
            let fetched = principal.get(settings).await;
            assert_eq!(
                (fetched.body["account_sid"].as_str(), fetched.body["friendly_name"].as_str()),
                (Some(account), Some(name))
            );
        }
        assert_eq!(b.get(settings).await.body["friendly_name"], "", "a sibling has its own");
        let credential = a
            .post("/v1/Credentials/AWS", &[("Credentials", &format!("{AWS_ACCESS_KEY_ID}:{AWS_SECRET_ACCESS_KEY}"))])
            .await;
        assert_eq!(credential.status, 201);
        assert_eq!(credential.body["account_sid"], tenant_a.as_str());
        let credential_path = format!("/v1/Credentials/AWS/{}", credential.body["sid"].as_str().unwrap());
        for outsider in [&main, &main_key, &b] {
            assert_twilio_error(&outsider.get(&credential_path).await, 404, 20404);
            assert_eq!(outsider.get("/v1/Credentials/AWS").await.body["credentials"], json!([]));
        }
        // Media and alerts too.
        let for_a = MediaRequest { kind: MediaKind::Recording, count: 1, account_sid: Some(tenant_a.clone()) };
        let recording = emulator.simulate(&for_a).await.unwrap().in_twilio_cloud.remove(0);
        assert_eq!(a.get(&format!("/v1/Recordings/{recording}")).await.status, 200);
        assert_twilio_error(&main.get(&format!("/v1/Recordings/{recording}")).await, 404, 20404);
        assert_twilio_error(&b.get(&format!("/v1/Recordings/{recording}")).await, 404, 20404);
        // A subaccount's API key acts as the subaccount, on v1 only.
        let a_key = emulator.create_api_key(&tenant_a, ApiKeyKind::Standard).unwrap();
        let by_a_key = main.as_principal(&a_key.sid, &a_key.secret);
        assert_eq!(by_a_key.get(settings).await.body["friendly_name"], "a's");
        assert_twilio_error(&by_a_key.get(ACCOUNTS).await, 401, 20003);

        // Suspended: its credentials are refused until its owner reactivates it.
        assert_eq!(main.post(&account_path(&tenant_b), &[("Status", "suspended")]).await.status, 200);
        assert_twilio_error(&b.get(settings).await, 401, 20003);
        assert_twilio_error(&b.get(&account_path(&tenant_b)).await, 401, 20003);
        assert_eq!(main.post(&account_path(&tenant_b), &[("Status", "active")]).await.status, 200);
        assert_eq!(b.get(settings).await.status, 200);

        // Closed: its credentials and keys are refused everywhere, for good; its owner still
        // sees it, and may no longer make resources for it.
        assert_eq!(main.post(&account_path(&tenant_a), &[("Status", "closed")]).await.status, 200);
        for principal in [&a, &by_a_key] {
            for path in [settings, "/v1/Credentials/AWS", "/v1/Recordings", "/v1/Alerts", ACCOUNTS] {
                assert_twilio_error(&principal.get(path).await, 401, 20003);
            }
            assert_twilio_error(&principal.get(&credential_path).await, 401, 20003);
        }
        assert_eq!(main.get(&account_path(&tenant_a)).await.body["status"], "closed");
        let for_closed = [
            ("Credentials", "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ("AccountSid", tenant_a.as_str()),
        ];
        assert_twilio_error(&main.post("/v1/Credentials/AWS", &for_closed).await, 403, 20003);
        assert_eq!(emulator.simulate(&for_a).await.unwrap_err(), SimulationError::ClosedAccount(tenant_a.clone()));
        assert_eq!(
            emulator.create_api_key(&tenant_a, ApiKeyKind::Main).unwrap_err(),
            AccountError::Closed(tenant_a.clone())
        );
        // The configured subaccount still works, and its own API key too.
        let configured = main.as_principal(SUBACCOUNT_API_KEY_SID, SUBACCOUNT_API_KEY_SECRET);
        assert_eq!(configured.get(settings).await.body["account_sid"], SUBACCOUNT_SID);
    })
    .await;
}

#[tokio::test]
async fn tests_make_and_close_subaccounts_in_process_and_over_http() {
    within(60, async {
        let emulator = start(config()).await;
        let twilio = Twilio::account(&emulator);
        let admin = Admin::new(&emulator);

        let (sid, auth_token) = emulator.create_subaccount(ACCOUNT_SID, Some("made in process")).unwrap();
        let subaccount = Twilio::new(&emulator.base_url(), &sid, &auth_token);
        assert_eq!(subaccount.get("/v1/RecordingSettings/Default").await.body["account_sid"], sid.as_str());
        let fetched = twilio.get(&account_path(&sid)).await;
        assert_eq!(
            (fetched.body["friendly_name"].as_str(), fetched.body["auth_token"].as_str()),
            (Some("made in process"), Some(auth_token.as_str()))
        );

        let (status, made) = admin.post("subaccounts", json!({"owner_account_sid": ACCOUNT_SID})).await;
        assert_eq!(status, 201, "{made:#}");
        let http_sid = made["sid"].as_str().unwrap().to_owned();
        assert_eq!(made["status"], "active");
        assert!(made["friendly_name"].as_str().unwrap().starts_with("SubAccount Created at "));
        let by_http = Twilio::new(&emulator.base_url(), &http_sid, made["auth_token"].as_str().unwrap());
        assert_eq!(by_http.get(ACCOUNTS).await.status, 200);

        let listed: Vec<String> =
            emulator.subaccounts(ACCOUNT_SID).into_iter().map(|subaccount| subaccount.sid).collect();
        assert_eq!(listed, [SUBACCOUNT_SID, &sid, &http_sid]);
        let response = admin
            .http
            .get(format!("{}/__emulator/subaccounts?owner_account_sid={ACCOUNT_SID}", admin.base_url))
            .send()
            .await
            .unwrap();
        let over_http: Value = response.json().await.unwrap();
        assert_eq!(over_http.as_array().map(Vec::len), Some(3));

        emulator.close_subaccount(&sid).unwrap();
        assert_twilio_error(&subaccount.get("/v1/RecordingSettings/Default").await, 401, 20003);
        emulator.close_subaccount(&sid).expect("closing again changes nothing");
        let (status, closed) = admin.post(&format!("subaccounts/{http_sid}/close"), json!({})).await;
        assert_eq!((status, &closed["status"]), (StatusCode::OK, &json!("closed")));
        assert_twilio_error(&by_http.get(ACCOUNTS).await, 401, 20003);
        let statuses: Vec<AccountStatus> =
            emulator.subaccounts(ACCOUNT_SID).into_iter().map(|subaccount| subaccount.status).collect();
        assert_eq!(statuses, [AccountStatus::Active, AccountStatus::Closed, AccountStatus::Closed]);

        // What cannot be done.
        assert_eq!(
            emulator.create_subaccount(SUBACCOUNT_SID, None),
            Err(AccountError::NotAMainAccount(SUBACCOUNT_SID.into()))
        );
        assert_eq!(emulator.close_subaccount(ACCOUNT_SID), Err(AccountError::NotASubaccount(ACCOUNT_SID.into())));
        let unknown = "AC00000000000000000000000000000000";
        assert_eq!(emulator.create_subaccount(unknown, None), Err(AccountError::UnknownAccount(unknown.into())));
        let (status, _) = admin.post(&format!("subaccounts/{unknown}/close"), json!({})).await;
        assert_eq!(status, 404);
        let (status, refused) = admin.post("subaccounts", json!({"owner_account_sid": SUBACCOUNT_SID})).await;
        assert_eq!(status, 400, "{refused:#}");
        let (status, _) = admin.post("subaccounts", json!({"owner": ACCOUNT_SID})).await;
        assert_eq!(status, 400);

        // An API key made over HTTP: a Main key of the main account manages the fleet.
        let (status, key) = admin.post("api-keys", json!({"account_sid": ACCOUNT_SID, "kind": "main"})).await;
        assert_eq!(status, 201, "{key:#}");
        assert!(key["sid"].as_str().unwrap().starts_with("SK"));
        let by_key = Twilio::new(&emulator.base_url(), key["sid"].as_str().unwrap(), key["secret"].as_str().unwrap());
        assert_eq!(sids(&by_key.get(ACCOUNTS).await).len(), 4);

        // A reset forgets what was made and reopens what was configured.
        emulator.close_subaccount(SUBACCOUNT_SID).unwrap();
        emulator.reset();
        let subaccounts = emulator.subaccounts(ACCOUNT_SID);
        assert_eq!(subaccounts.len(), 1);
        assert_eq!((subaccounts[0].sid.as_str(), subaccounts[0].status), (SUBACCOUNT_SID, AccountStatus::Active));
        assert_eq!(subaccounts[0].auth_token, SUBACCOUNT_AUTH_TOKEN);
        assert_twilio_error(&by_key.get(ACCOUNTS).await, 401, 20003);
        assert_eq!(
            Twilio::new(&emulator.base_url(), SUBACCOUNT_SID, SUBACCOUNT_AUTH_TOKEN).get(ACCOUNTS).await.status,
            200
        );
    })
    .await;
}

/// Creates an AWS credential as `twilio`: the answer's status and Twilio error code, if any,
/// and whether it carried `Retry-After`.
async fn create_credential(twilio: Twilio) -> (u16, Option<u64>, bool) {
    let credentials = format!("{AWS_ACCESS_KEY_ID}:{AWS_SECRET_ACCESS_KEY}");
    let answer = twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials)]).await;
    if !answer.status.is_success() {
        assert_eq!(answer.body["message"], "Too Many Requests", "{:#}", answer.body);
        assert_eq!(answer.body["more_info"], "https://www.twilio.com/docs/errors/20429");
    }
    (answer.status.as_u16(), answer.body["code"].as_u64(), answer.retry_after.is_some())
}

async fn credentials_of(twilio: &Twilio) -> usize {
    twilio.get("/v1/Credentials/AWS").await.body["credentials"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn the_concurrency_limit_refuses_requests_beyond_it_per_account_family() {
    within(60, async {
        const LIMIT: usize = 3;
        let emulator = start(config().concurrency_limit(LIMIT)).await;
        let base = emulator.base_url();
        let main = Twilio::account(&emulator);
        let subaccount = Twilio::new(&base, SUBACCOUNT_SID, SUBACCOUNT_AUTH_TOKEN);
        let other = Twilio::new(&base, OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN);
        assert_eq!(emulator.concurrency_limit(), Some(LIMIT));
        // Held long enough that requests sent while these are in flight overlap them.
        emulator.set_latency(Duration::from_secs(3));

        // LIMIT requests of the family take every place...
        let held: Vec<_> = (0..LIMIT).map(|_| tokio::spawn(create_credential(main.clone()))).collect();
        emulator.in_flight_reaches(ACCOUNT_SID, LIMIT).await;
        // ...so LIMIT more, of the main account or of its subaccount, are refused at once: 429,
        // code 20429, no Retry-After, nothing made. Another family is not affected.
        let other_family = tokio::spawn(create_credential(other.clone()));
        let refused = futures_join(vec![
            tokio::spawn(create_credential(main.clone())),
            tokio::spawn(create_credential(subaccount.clone())),
            tokio::spawn(create_credential(main.clone())),
        ])
        .await;
        assert_eq!(refused, vec![(429, Some(20429), false); LIMIT]);
        assert_eq!(emulator.in_flight(SUBACCOUNT_SID), LIMIT, "answered while the first ones were still in flight");
        let wrong_token = Twilio::new(&base, ACCOUNT_SID, OTHER_AUTH_TOKEN);
        assert_twilio_error(&wrong_token.get("/v1/Credentials/AWS").await, 401, 20003);
        assert_eq!(futures_join(held).await, vec![(201, None, false); LIMIT]);
        assert_eq!(other_family.await.unwrap(), (201, None, false));
        assert_eq!(emulator.in_flight(ACCOUNT_SID), 0);

        emulator.set_latency(Duration::ZERO);
        assert_eq!(credentials_of(&main).await, LIMIT, "only the requests within the limit were processed");
        assert_eq!(credentials_of(&subaccount).await, 0);
        assert_eq!(emulator.throttled(), LIMIT as u64);
        let log = emulator.requests();
        let throttled: Vec<_> = log.iter().filter(|request| request.throttled).collect();
        assert_eq!(throttled.len(), LIMIT);
        assert!(throttled.iter().all(|request| request.status == 429 && request.path == "/v1/Credentials/AWS"));
        let accounts: BTreeSet<&str> = throttled.iter().filter_map(|request| request.account_sid.as_deref()).collect();
        assert_eq!(accounts, BTreeSet::from([ACCOUNT_SID, SUBACCOUNT_SID]));
        assert!(log.iter().filter(|request| request.status != 429).all(|request| !request.throttled));

        // Twice the limit at once: some refused, none beyond the limit processed, the rest made.
        emulator.set_latency(Duration::from_secs(3));
        let before = emulator.throttled();
        let answers =
            futures_join((0..2 * LIMIT).map(|_| tokio::spawn(create_credential(main.clone()))).collect()).await;
        emulator.set_latency(Duration::ZERO);
        let made = answers.iter().filter(|answer| answer.0 == 201).count();
        let refused = answers.iter().filter(|answer| **answer == (429, Some(20429), false)).count();
        assert_eq!(made + refused, 2 * LIMIT, "{answers:?}");
        assert!(refused >= 1 && made >= LIMIT, "{answers:?}");
        assert_eq!(emulator.throttled() - before, refused as u64);
        assert_eq!(credentials_of(&main).await, LIMIT + made);

        // Over HTTP: the limit and the count; no limit lets everything through.
        let admin = Admin::new(&emulator);
        let (status, settings) = admin.post("concurrency", json!({"limit": null})).await;
        assert_eq!(status, 200);
        assert_eq!(settings, json!({"limit": null, "throttled": emulator.throttled()}));
        assert_eq!(emulator.concurrency_limit(), None);
        emulator.set_latency(Duration::from_millis(300));
        let answers =
            futures_join((0..2 * LIMIT).map(|_| tokio::spawn(create_credential(main.clone()))).collect()).await;
        assert!(answers.iter().all(|answer| answer.0 == 201), "{answers:?}");
        let (status, settings) = admin.post("concurrency", json!({"limit": 1})).await;
        assert_eq!((status, &settings["limit"]), (StatusCode::OK, &json!(1)));
        let (status, _) = admin.post("concurrency", json!({"limit": "many"})).await;
        assert_eq!(status, 400);
        emulator.set_concurrency_limit(Some(0));
        assert_twilio_error(&main.get(ACCOUNTS).await, 429, 20429);
        // A reset restores the configured limit and forgets the count with the log.
        emulator.reset();
        assert_eq!((emulator.concurrency_limit(), emulator.throttled()), (Some(LIMIT), 0));
    })
    .await;
}

/// Awaits every task, in order.
async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("the request task finishes"));
    }
    results
}
