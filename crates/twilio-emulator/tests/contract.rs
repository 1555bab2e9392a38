//! The emulator against Twilio's OpenAPI documents: every endpoint, success and error paths,
//! every response body validated against the schema the documents give for its path, method
//! and status (error bodies, which the documents leave without schema, against Twilio's error
//! shape).

mod support;

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;
use support::checked::*;
use support::*;
use twilio_emulator::{AlertRequest, MediaKind, MediaRequest};

fn kind_path(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Recording => "/v1/Recordings",
        MediaKind::Composition => "/v1/Compositions",
    }
}

/// A request and the Twilio error it must get.
struct Case<'a> {
    method: Method,
    path: String,
    form: Vec<(&'a str, &'a str)>,
    status: u16,
    code: u64,
}

fn case<'a>(method: Method, path: impl Into<String>, form: &[(&'a str, &'a str)], status: u16, code: u64) -> Case<'a> {
    Case { method, path: path.into(), form: form.to_vec(), status, code }
}

fn aws_credentials() -> String {
    format!("{AWS_ACCESS_KEY_ID}:{AWS_SECRET_ACCESS_KEY}")
}

#[tokio::test]
async fn every_endpoint_answers_as_the_openapi_documents_say() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let credentials = aws_credentials();

        // AWS credentials: create, list, fetch, update, delete.
        let created =
            twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials), ("FriendlyName", "uploader")]).await;
        assert_eq!(created.status, 201);
        let aws_sid = created.body["sid"].as_str().unwrap().to_owned();
        assert_eq!(created.body["account_sid"], ACCOUNT_SID);
        assert_eq!(created.body["url"], format!("{}/v1/Credentials/AWS/{aws_sid}", emulator.base_url()));
        assert!(!created.body.to_string().contains(AWS_SECRET_ACCESS_KEY));

        let listed = twilio.get("/v1/Credentials/AWS").await;
        assert_eq!(listed.status, 200);
        assert_eq!(listed.body["credentials"], Value::Array(vec![created.body.clone()]));

        let fetched = twilio.get(&format!("/v1/Credentials/AWS/{aws_sid}")).await;
        assert_eq!(fetched.body, created.body);

        let renamed = twilio.post(&format!("/v1/Credentials/AWS/{aws_sid}"), &[("FriendlyName", "renamed")]).await;
        assert_eq!(renamed.status, 200);
        assert_eq!(renamed.body["friendly_name"], "renamed");
        assert_eq!(renamed.body["date_created"], created.body["date_created"]);

        // Public keys: the same shape.
        let key = twilio.post("/v1/Credentials/PublicKeys", &[("PublicKey", RSA_PUBLIC_KEY)]).await;
        assert_eq!(key.status, 201);
        assert_eq!(key.body["friendly_name"], Value::Null);
        let key_sid = key.body["sid"].as_str().unwrap().to_owned();
        let key_path = format!("/v1/Credentials/PublicKeys/{key_sid}");
        assert_eq!(twilio.get("/v1/Credentials/PublicKeys").await.body["credentials"][0], key.body);
        assert_eq!(twilio.get(&key_path).await.body, key.body);
        let renamed_key = twilio.post(&key_path, &[("FriendlyName", "video key")]).await;
        assert_eq!(renamed_key.body["friendly_name"], "video key");

        // Settings: Twilio's defaults, then a full replacement, then another.
        for kind in ["RecordingSettings", "CompositionSettings"] {
            let path = format!("/v1/{kind}/Default");
            let defaults = twilio.get(&path).await;
            assert_eq!(defaults.status, 200);
            assert_eq!(defaults.body["friendly_name"], "");
            assert_eq!(defaults.body["aws_storage_enabled"], false);
            assert_eq!(defaults.body["aws_credentials_sid"], Value::Null);

            let saved = twilio
                .post(
                    &path,
                    &[
                        ("FriendlyName", "stowage"),
                        ("AwsCredentialsSid", &aws_sid),
                        ("AwsS3Url", "https://acme-video.s3-us-east-2.amazonaws.com/recordings"),
                        ("AwsStorageEnabled", "false"),
                        ("EncryptionKeySid", &key_sid),
                        ("EncryptionEnabled", "true"),
                    ],
                )
                .await;
            assert_eq!(saved.status, 200);
            assert_eq!(twilio.get(&path).await.body, saved.body);

            let replaced = twilio.post(&path, &[("FriendlyName", "only a name")]).await;
            assert_eq!(replaced.body["aws_credentials_sid"], Value::Null);
            assert_eq!(replaced.body["encryption_key_sid"], Value::Null);
            assert_eq!(replaced.body["encryption_enabled"], false);
            assert_eq!(replaced.body["aws_s3_url"], Value::Null);
        }

        let deleted = twilio.delete(&format!("/v1/Credentials/AWS/{aws_sid}")).await;
        assert_eq!(deleted.status, 204);
        assert_eq!(twilio.delete(&key_path).await.status, 204);

        // Recordings and compositions Twilio finished (storage off: kept in Twilio's cloud).
        for (kind, collection) in [(MediaKind::Recording, "recordings"), (MediaKind::Composition, "compositions")] {
            let outcome = emulator.simulate_media(kind, 2).await.expect("the media are finished");
            let path = kind_path(kind);
            let listed = twilio.get(path).await;
            assert_eq!(listed.status, 200);
            let items = listed.body[collection].as_array().unwrap();
            let sids: Vec<&str> = items.iter().map(|media| media["sid"].as_str().unwrap()).collect();
            let newest_first: Vec<&str> = outcome.in_twilio_cloud.iter().rev().map(String::as_str).collect();
            assert_eq!(sids, newest_first);
            let fetched = twilio.get(&format!("{path}/{}", sids[0])).await;
            assert_eq!(fetched.body, items[0]);
            assert_eq!(fetched.body["status"], "completed");
            assert_eq!(fetched.body["media_external_location"], Value::Null);
        }

        // Alerts: the list's items and the fetched instance have their own schemas.
        let alert_sids = emulator
            .add_alerts(&AlertRequest { resource_sid: Some(format!("RT{:032x}", 7)), ..AlertRequest::new(53615, 2) })
            .unwrap();
        let alerts = twilio.get("/v1/Alerts").await;
        assert_eq!(alerts.status, 200);
        assert_eq!(alerts.body["alerts"].as_array().map(Vec::len), Some(2));
        let fetched = twilio.get(&format!("/v1/Alerts/{}", alert_sids[1])).await;
        assert_eq!(fetched.body["request_variables"], Value::Null);
        assert_eq!(fetched.body["more_info"], "https://www.twilio.com/docs/errors/53615");
        assert_eq!(alerts.body["alerts"][0]["sid"], alert_sids[1].as_str(), "newest first");

        let covered: BTreeSet<(String, String)> = twilio
            .covered
            .lock()
            .unwrap()
            .iter()
            .map(|(method, template, _)| (method.clone(), template.clone()))
            .collect();
        let operations = [
            ("GET", "/v1/Credentials/AWS"),
            ("POST", "/v1/Credentials/AWS"),
            ("GET", "/v1/Credentials/AWS/{Sid}"),
            ("POST", "/v1/Credentials/AWS/{Sid}"),
            ("DELETE", "/v1/Credentials/AWS/{Sid}"),
            ("GET", "/v1/Credentials/PublicKeys"),
            ("POST", "/v1/Credentials/PublicKeys"),
            ("GET", "/v1/Credentials/PublicKeys/{Sid}"),
            ("POST", "/v1/Credentials/PublicKeys/{Sid}"),
            ("DELETE", "/v1/Credentials/PublicKeys/{Sid}"),
            ("GET", "/v1/RecordingSettings/Default"),
            ("POST", "/v1/RecordingSettings/Default"),
            ("GET", "/v1/CompositionSettings/Default"),
            ("POST", "/v1/CompositionSettings/Default"),
            ("GET", "/v1/Recordings"),
            ("GET", "/v1/Recordings/{Sid}"),
            ("GET", "/v1/Compositions"),
            ("GET", "/v1/Compositions/{Sid}"),
            ("GET", "/v1/Alerts"),
            ("GET", "/v1/Alerts/{Sid}"),
        ];
        let expected: BTreeSet<(String, String)> =
            operations.iter().map(|(method, template)| ((*method).to_owned(), (*template).to_owned())).collect();
        assert_eq!(covered, expected);
    })
    .await;
}

#[tokio::test]
async fn authentication_is_required_and_scopes_every_resource_to_its_account() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));

        let anonymous = CheckedTwilio::new(Twilio::new(&emulator.base_url(), "", ""));
        let answer = anonymous.get("/v1/Credentials/AWS").await;
        assert_twilio_error(&answer, 401, 20003);
        assert_eq!(answer.www_authenticate.as_deref(), Some("Basic realm=\"Twilio API\""));
        let wrong_token = twilio.as_principal(ACCOUNT_SID, OTHER_AUTH_TOKEN);
        assert_twilio_error(&wrong_token.get("/v1/RecordingSettings/Default").await, 401, 20003);

        // An API key acts as its account.
        let by_api_key = twilio.as_principal(API_KEY_SID, API_KEY_SECRET);
        let credentials = aws_credentials();
        let created = by_api_key.post("/v1/Credentials/AWS", &[("Credentials", &credentials)]).await;
        assert_eq!(created.body["account_sid"], ACCOUNT_SID);
        let path = format!("/v1/Credentials/AWS/{}", created.body["sid"].as_str().unwrap());
        assert_eq!(twilio.get(&path).await.status, 200);

        // Another account sees none of it.
        let other = twilio.as_principal(OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN);
        assert_twilio_error(&other.get(&path).await, 404, 20404);
        assert_twilio_error(&other.delete(&path).await, 404, 20404);
        assert_eq!(other.get("/v1/Credentials/AWS").await.body["credentials"], Value::Array(vec![]));

        // `AccountSid` makes a credential for a subaccount, which holds it alone.
        let for_subaccount =
            twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials), ("AccountSid", SUBACCOUNT_SID)]).await;
        assert_eq!(for_subaccount.status, 201);
        assert_eq!(for_subaccount.body["account_sid"], SUBACCOUNT_SID);
        let held = format!("/v1/Credentials/AWS/{}", for_subaccount.body["sid"].as_str().unwrap());
        let subaccount = twilio.as_principal(SUBACCOUNT_SID, SUBACCOUNT_AUTH_TOKEN);
        assert_eq!(subaccount.get(&held).await.status, 200);
        assert_twilio_error(&twilio.get(&held).await, 404, 20404);
        // Naming itself is the same as naming nothing.
        let for_itself =
            twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials), ("AccountSid", ACCOUNT_SID)]).await;
        assert_eq!(for_itself.body["account_sid"], ACCOUNT_SID);
        // An account the caller may not act for: Twilio's 20003, Permission Denied. Another
        // main account, an unknown one, and a subaccount's owner are all refused alike.
        let unknown_account = "AC99999999999999999999999999999999";
        for (principal, account) in [
            (&twilio, OTHER_ACCOUNT_SID),
            (&twilio, unknown_account),
            (&subaccount, ACCOUNT_SID),
            (&by_api_key, OTHER_ACCOUNT_SID),
        ] {
            let refused =
                principal.post("/v1/Credentials/AWS", &[("Credentials", &credentials), ("AccountSid", account)]).await;
            assert_twilio_error(&refused, 403, 20003);
            assert_eq!(refused.www_authenticate, None, "the caller did authenticate");
        }
        let public_key = [("PublicKey", RSA_PUBLIC_KEY), ("AccountSid", OTHER_ACCOUNT_SID)];
        assert_twilio_error(&twilio.post("/v1/Credentials/PublicKeys", &public_key).await, 403, 20003);
        assert_eq!(other.get("/v1/Credentials/AWS").await.body["credentials"], Value::Array(vec![]), "nothing made");
    })
    .await;
}

#[tokio::test]
async fn the_settings_are_those_of_the_account_the_credentials_act_as() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let account = CheckedTwilio::new(Twilio::account(&emulator));
        let by_api_key = account.as_principal(API_KEY_SID, API_KEY_SECRET);
        let other = account.as_principal(OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN);
        let subaccount = account.as_principal(SUBACCOUNT_SID, SUBACCOUNT_AUTH_TOKEN);

        // The settings' `account_sid` names the account: the API key's is the one it was made in.
        for path in ["/v1/RecordingSettings/Default", "/v1/CompositionSettings/Default"] {
            assert_eq!(account.get(path).await.body["account_sid"], ACCOUNT_SID, "{path}");
            assert_eq!(by_api_key.get(path).await.body["account_sid"], ACCOUNT_SID, "{path}");
            assert_eq!(other.get(path).await.body["account_sid"], OTHER_ACCOUNT_SID, "{path}");
            assert_eq!(subaccount.get(path).await.body["account_sid"], SUBACCOUNT_SID, "{path}");
        }

        // A POST changes its own account's settings, no one else's.
        let saved = other.post("/v1/RecordingSettings/Default", &[("FriendlyName", "other's")]).await;
        assert_eq!(saved.status, 200, "{:#}", saved.body);
        assert_eq!(saved.body["account_sid"], OTHER_ACCOUNT_SID);
        for unchanged in [&account, &by_api_key, &subaccount] {
            assert_eq!(unchanged.get("/v1/RecordingSettings/Default").await.body["friendly_name"], "");
        }
        assert_eq!(other.get("/v1/RecordingSettings/Default").await.body["friendly_name"], "other's");

        // Settings may use only their own account's credentials, even one its owner made.
        let credentials = aws_credentials();
        let mine = account.post("/v1/Credentials/AWS", &[("Credentials", &credentials)]).await;
        let mine = mine.body["sid"].as_str().unwrap().to_owned();
        let for_subaccount =
            account.post("/v1/Credentials/AWS", &[("Credentials", &credentials), ("AccountSid", SUBACCOUNT_SID)]).await;
        let for_subaccount = for_subaccount.body["sid"].as_str().unwrap().to_owned();
        for (principal, sid) in [(&other, &mine), (&subaccount, &mine), (&account, &for_subaccount)] {
            let form = [
                ("AwsCredentialsSid", sid.as_str()),
                ("AwsS3Url", "https://bucket.s3-us-east-1.amazonaws.com/recordings"),
                ("AwsStorageEnabled", "false"),
            ];
            let refused = principal.post("/v1/RecordingSettings/Default", &form).await;
            assert!(refused.status.is_client_error(), "{sid}: {:#}", refused.body);
        }
    })
    .await;
}

#[tokio::test]
async fn invalid_requests_get_twilio_errors() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let credentials = aws_credentials();
        let sid = twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials)]).await.body["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        let unknown_sid = "CR00000000000000000000000000000000";
        let long_name = "x".repeat(65);

        let cases = [
            // Malformed AWS credentials.
            case(Method::POST, "/v1/Credentials/AWS", &[("Credentials", "AKIA:short")], 400, 70106),
            // Missing required parameter, unknown parameter, too long a name.
            case(Method::POST, "/v1/Credentials/AWS", &[("FriendlyName", "x")], 400, 20001),
            case(
                Method::POST,
                "/v1/Credentials/AWS",
                &[("Credentials", credentials.as_str()), ("Region", "us-east-2")],
                400,
                20001,
            ),
            case(
                Method::POST,
                "/v1/Credentials/AWS",
                &[("Credentials", credentials.as_str()), ("FriendlyName", long_name.as_str())],
                400,
                20001,
            ),
            // The secret of a credential can never be changed.
            case(
                Method::POST,
                format!("/v1/Credentials/AWS/{sid}"),
                &[("Credentials", credentials.as_str())],
                400,
                20001,
            ),
            // Unknown and malformed SIDs.
            case(Method::GET, format!("/v1/Credentials/AWS/{unknown_sid}"), &[], 404, 20404),
            case(Method::POST, format!("/v1/Credentials/AWS/{unknown_sid}"), &[("FriendlyName", "x")], 404, 20404),
            case(Method::DELETE, format!("/v1/Credentials/PublicKeys/{unknown_sid}"), &[], 404, 20404),
            case(Method::GET, "/v1/Credentials/AWS/not-a-sid", &[], 404, 20404),
            // A credential is not found under the other kind.
            case(Method::GET, format!("/v1/Credentials/PublicKeys/{sid}"), &[], 404, 20404),
            // Public keys that are not RSA public keys.
            case(Method::POST, "/v1/Credentials/PublicKeys", &[("PublicKey", EC_PUBLIC_KEY)], 400, 20001),
            case(
                Method::POST,
                "/v1/Credentials/PublicKeys",
                &[("PublicKey", "-----BEGIN PRIVATE KEY-----MIIE-----END PRIVATE KEY-----")],
                400,
                20001,
            ),
            // Paging out of bounds.
            case(Method::GET, "/v1/Credentials/AWS?PageSize=1001", &[], 400, 20001),
            case(Method::GET, "/v1/Credentials/AWS?PageToken=nonsense", &[], 400, 20001),
            // Settings: FriendlyName is required, booleans are true/false, references exist.
            case(Method::POST, "/v1/RecordingSettings/Default", &[("AwsStorageEnabled", "false")], 400, 20001),
            case(
                Method::POST,
                "/v1/RecordingSettings/Default",
                &[("FriendlyName", "x"), ("AwsStorageEnabled", "yes")],
                400,
                20001,
            ),
            case(
                Method::POST,
                "/v1/RecordingSettings/Default",
                &[("FriendlyName", "x"), ("AwsCredentialsSid", unknown_sid)],
                400,
                20001,
            ),
            case(
                Method::POST,
                "/v1/CompositionSettings/Default",
                &[("FriendlyName", "x"), ("EncryptionKeySid", sid.as_str())],
                400,
                20001,
            ),
            case(
                Method::POST,
                "/v1/CompositionSettings/Default",
                &[("FriendlyName", "x"), ("EncryptionEnabled", "true")],
                400,
                20001,
            ),
            case(
                Method::POST,
                "/v1/RecordingSettings/Default",
                &[("FriendlyName", "x"), ("AwsStorageEnabled", "true"), ("AwsCredentialsSid", sid.as_str())],
                400,
                20001,
            ),
            // Storage switched on with a URL that is not a regional S3 bucket URL.
            case(
                Method::POST,
                "/v1/RecordingSettings/Default",
                &[
                    ("FriendlyName", "x"),
                    ("AwsStorageEnabled", "true"),
                    ("AwsCredentialsSid", sid.as_str()),
                    ("AwsS3Url", "https://acme-video.example.com/recordings"),
                ],
                400,
                53610,
            ),
            case(
                Method::POST,
                "/v1/CompositionSettings/Default",
                &[
                    ("FriendlyName", "x"),
                    ("AwsStorageEnabled", "true"),
                    ("AwsCredentialsSid", sid.as_str()),
                    ("AwsS3Url", "http://acme-video.s3-us-east-2.amazonaws.com/compositions"),
                ],
                400,
                53620,
            ),
            // Paths and methods that do not exist.
            case(Method::DELETE, "/v1/RecordingSettings/Default", &[], 405, 20004),
            case(Method::GET, "/v1/Credentials", &[], 404, 20404),
            // Of the 2010 API only the Accounts resource is served.
            case(Method::GET, format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"), &[], 404, 20404),
        ];
        for Case { method, path, form, status, code } in cases {
            let form = (!form.is_empty()).then_some(form.as_slice());
            let answer = twilio.call(method.clone(), &path, form).await;
            assert_eq!(
                (answer.status.as_u16(), answer.body["code"].as_u64()),
                (status, Some(code)),
                "{method} {path} {form:?}: {:#}",
                answer.body
            );
            assert!(!answer.body.to_string().contains(AWS_SECRET_ACCESS_KEY));
        }

        // Nothing above changed the settings.
        let settings = twilio.get("/v1/RecordingSettings/Default").await;
        assert_eq!(settings.body["friendly_name"], "");
    })
    .await;
}

#[tokio::test]
async fn lists_page_with_absolute_urls_on_the_emulator() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let mut created = Vec::new();
        for _ in 0..5 {
            let key = twilio.post("/v1/Credentials/PublicKeys", &[("PublicKey", RSA_PUBLIC_KEY)]).await;
            created.push(key.body["sid"].as_str().unwrap().to_owned());
        }
        twilio.delete(&format!("/v1/Credentials/PublicKeys/{}", created[1])).await;
        created.remove(1);

        let mut seen = Vec::new();
        let mut next = Some(format!("{}/v1/Credentials/PublicKeys?PageSize=2", emulator.base_url()));
        let mut pages = 0;
        while let Some(url) = next {
            let page = twilio.get(&url).await;
            assert_eq!(page.status, 200, "{:#}", page.body);
            assert_eq!(page.body["meta"]["key"], "credentials");
            assert_eq!(page.body["meta"]["page_size"], 2);
            assert_eq!(page.body["meta"]["page"], pages);
            for credential in page.body["credentials"].as_array().unwrap() {
                seen.push(credential["sid"].as_str().unwrap().to_owned());
            }
            next = page.body["meta"]["next_page_url"].as_str().map(str::to_owned);
            if let Some(url) = &next {
                assert!(url.starts_with(&emulator.base_url()), "{url}");
            }
            pages += 1;
        }
        assert_eq!(seen, created);
        assert_eq!(pages, 2);
    })
    .await;
}

#[tokio::test]
async fn representative_bodies_match_their_snapshots() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let credentials = aws_credentials();
        let created =
            twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials), ("FriendlyName", "uploader")]).await;
        let listed = twilio.get("/v1/Credentials/AWS?PageSize=1").await;
        let defaults = twilio.get("/v1/RecordingSettings/Default").await;
        let saved = twilio
            .post(
                "/v1/CompositionSettings/Default",
                &[
                    ("FriendlyName", "stowage dev"),
                    ("AwsCredentialsSid", created.body["sid"].as_str().unwrap()),
                    ("AwsS3Url", "https://acme-video.s3-us-east-2.amazonaws.com/compositions"),
                    ("AwsStorageEnabled", "false"),
                ],
            )
            .await;
        let malformed = twilio.post("/v1/Credentials/AWS", &[("Credentials", "AKIA:short"), ("Colour", "blue")]).await;
        let unauthenticated = CheckedTwilio::new(Twilio::new(&emulator.base_url(), ACCOUNT_SID, "wrong"))
            .get("/v1/Credentials/AWS")
            .await;
        snapshot_settings().bind(|| {
            insta::assert_json_snapshot!("aws_credential_created", created.body);
            insta::assert_json_snapshot!("aws_credentials_listed", listed.body);
            insta::assert_json_snapshot!("recording_settings_defaults", defaults.body);
            insta::assert_json_snapshot!("composition_settings_saved", saved.body);
            insta::assert_json_snapshot!("unknown_parameter_error", malformed.body);
            insta::assert_json_snapshot!("authentication_error", unauthenticated.body);
        });
    })
    .await;
}

#[test]
fn path_templates_replace_the_sid_and_drop_the_query() {
    assert_eq!(path_template("/v1/Credentials/AWS/CRabc"), "/v1/Credentials/AWS/{Sid}");
    assert_eq!(path_template("http://127.0.0.1:1/v1/Credentials/PublicKeys?PageSize=2"), "/v1/Credentials/PublicKeys");
    assert_eq!(path_template("/v1/RecordingSettings/Default"), "/v1/RecordingSettings/Default");
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_recorded() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let huge_name = "x".repeat(1024 * 1024 + 1024);
        let answer = twilio.post("/v1/RecordingSettings/Default", &[("FriendlyName", &huge_name)]).await;
        assert_twilio_error(&answer, 400, 20001);
        let recorded = emulator.requests();
        assert_eq!(recorded.len(), 1);
        assert!(!recorded[0].conforms);
        assert_eq!(recorded[0].violations, ["form: The request body is larger than 1 MiB"]);
    })
    .await;
}

/// Every item of the list at `path` (an emulator path or a `next_page_url`), following
/// `next_page_url`: the SIDs in order, and how many pages.
async fn walk(twilio: &CheckedTwilio, path: &str, key: &str) -> (Vec<String>, usize) {
    let (mut sids, mut pages) = (Vec::new(), 0);
    let mut next = Some(path.to_owned());
    while let Some(url) = next {
        let page = twilio.get(&url).await;
        assert_eq!(page.status, 200, "{url}: {:#}", page.body);
        assert_eq!(page.body["meta"]["key"], key);
        assert_eq!(page.body["meta"]["page"], pages);
        sids.extend(page.body[key].as_array().unwrap().iter().map(|item| item["sid"].as_str().unwrap().to_owned()));
        next = page.body["meta"]["next_page_url"].as_str().map(str::to_owned);
        pages += 1;
    }
    (sids, pages)
}

#[tokio::test]
async fn media_lists_filter_as_documented_and_page_newest_first() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let first = emulator.simulate_media(MediaKind::Recording, 3).await.unwrap().in_twilio_cloud;
        let second = emulator.simulate_media(MediaKind::Recording, 2).await.unwrap().in_twilio_cloud;
        let newest_first: Vec<String> = first.iter().chain(&second).rev().cloned().collect();

        // Paged: every recording once, newest first, the filters kept in every page URL.
        let (sids, pages) = walk(&twilio, "/v1/Recordings?PageSize=2", "recordings").await;
        assert_eq!((sids, pages), (newest_first.clone(), 3));
        let (sids, _) = walk(&twilio, "/v1/Recordings?Status=completed&MediaType=audio&PageSize=2", "recordings").await;
        assert_eq!(sids, newest_first);

        let recording = twilio.get(&format!("/v1/Recordings/{}", second[0])).await.body;
        let room = recording["grouping_sids"]["room_sid"].as_str().unwrap().to_owned();
        let participant = recording["grouping_sids"]["participant_sid"].as_str().unwrap().to_owned();
        let track = recording["source_sid"].as_str().unwrap().to_owned();
        let created = recording["date_created"].as_str().unwrap().to_owned();
        let sids_of = |answer: Answer| -> Vec<String> {
            assert_eq!(answer.status, 200, "{:#}", answer.body);
            let items = answer.body["recordings"].as_array().unwrap();
            items.iter().map(|item| item["sid"].as_str().unwrap().to_owned()).collect()
        };
        let second_newest_first: Vec<String> = second.iter().rev().cloned().collect();
        // A batch is one room; each recording is one participant's track.
        assert_eq!(sids_of(twilio.get(&format!("/v1/Recordings?GroupingSid={room}")).await), second_newest_first);
        let both = format!("/v1/Recordings?GroupingSid={room}&GroupingSid={participant}");
        assert_eq!(sids_of(twilio.get(&both).await), [second[0].clone()]);
        assert_eq!(sids_of(twilio.get(&format!("/v1/Recordings?SourceSid={track}")).await), [second[0].clone()]);
        for empty in ["/v1/Recordings?Status=deleted", "/v1/Recordings?MediaType=video"] {
            assert!(sids_of(twilio.get(empty).await).is_empty(), "{empty}");
        }
        // DateCreatedAfter is "on or after", DateCreatedBefore "before".
        let encoded = created.replace(':', "%3A");
        assert_eq!(sids_of(twilio.get(&format!("/v1/Recordings?DateCreatedAfter={encoded}")).await).len(), 5);
        assert!(sids_of(twilio.get(&format!("/v1/Recordings?DateCreatedBefore={encoded}")).await).len() < 5);
        let later = "2999-01-01T00%3A00%3A00%2B02%3A00";
        assert!(sids_of(twilio.get(&format!("/v1/Recordings?DateCreatedAfter={later}")).await).is_empty());
        assert_eq!(sids_of(twilio.get(&format!("/v1/Recordings?DateCreatedBefore={later}")).await).len(), 5);

        // Compositions filter by room.
        let compositions = emulator.simulate_media(MediaKind::Composition, 2).await.unwrap().in_twilio_cloud;
        let composition = twilio.get(&format!("/v1/Compositions/{}", compositions[0])).await.body;
        let room = composition["room_sid"].as_str().unwrap();
        let by_room = twilio.get(&format!("/v1/Compositions?RoomSid={room}&Status=completed")).await;
        assert_eq!(by_room.body["compositions"].as_array().map(Vec::len), Some(2));
        let other_room = format!("/v1/Compositions?RoomSid=RM{:032x}", 1);
        assert_eq!(twilio.get(&other_room).await.body["compositions"], Value::Array(vec![]));
        assert_eq!(twilio.get("/v1/Recordings?PageSize=1").await.body["recordings"].as_array().map(Vec::len), Some(1));
    })
    .await;
}

#[tokio::test]
async fn alerts_filter_by_log_level_and_dates_newest_first() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let add = |error_code, date: &str, log_level: &str| {
            let request = AlertRequest {
                date_created: Some(date.parse().unwrap()),
                log_level: log_level.to_owned(),
                ..AlertRequest::new(error_code, 1)
            };
            emulator.add_alerts(&request).unwrap().remove(0)
        };
        let early = add(53615, "2025-03-01T08:00:00Z", "error");
        let midday = add(53616, "2025-03-01T12:00:00Z", "error");
        let next_day = add(53611, "2025-03-02T00:00:00Z", "warning");
        let sids = |answer: Answer| -> Vec<String> {
            assert_eq!(answer.status, 200, "{:#}", answer.body);
            let items = answer.body["alerts"].as_array().unwrap();
            items.iter().map(|item| item["sid"].as_str().unwrap().to_owned()).collect()
        };
        let (early, midday, next_day) = (early.as_str(), midday.as_str(), next_day.as_str());

        assert_eq!(sids(twilio.get("/v1/Alerts").await), [next_day, midday, early]);
        assert_eq!(sids(twilio.get("/v1/Alerts?LogLevel=warning").await), [next_day]);
        assert_eq!(sids(twilio.get("/v1/Alerts?LogLevel=error").await), [midday, early]);
        // StartDate and EndDate include their bounds; a bare date is the whole day (GMT).
        assert_eq!(sids(twilio.get("/v1/Alerts?StartDate=2025-03-01T12%3A00%3A00Z").await), [next_day, midday]);
        assert_eq!(sids(twilio.get("/v1/Alerts?EndDate=2025-03-01T12%3A00%3A00Z").await), [midday, early]);
        assert_eq!(sids(twilio.get("/v1/Alerts?StartDate=2025-03-01&EndDate=2025-03-01").await), [midday, early]);
        assert_eq!(sids(twilio.get("/v1/Alerts?StartDate=2025-03-02").await), [next_day]);
        assert!(sids(twilio.get("/v1/Alerts?EndDate=2025-02-28").await).is_empty());
        let filtered = twilio.get("/v1/Alerts?LogLevel=error&StartDate=2025-03-01").await;
        assert_eq!(
            filtered.body["meta"]["url"],
            format!("{}/v1/Alerts?LogLevel=error&StartDate=2025-03-01&PageSize=50&Page=0", emulator.base_url())
        );
    })
    .await;
}

#[tokio::test]
async fn more_alerts_than_a_page_are_walked_with_next_page_url() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let admin = Admin::new(&emulator);
        let (status, added) = admin
            .post(
                "alerts",
                serde_json::json!({"error_code": 53615, "count": 120, "date_created": "2025-05-01T10:00:00Z"}),
            )
            .await;
        assert_eq!(status, 201, "{added:#}");
        let made: Vec<String> =
            added["alert_sids"].as_array().unwrap().iter().map(|sid| sid.as_str().unwrap().to_owned()).collect();
        assert_eq!(made.len(), 120);
        // Ten more, a day later: they come first.
        let later = emulator
            .add_alerts(&AlertRequest {
                date_created: Some("2025-05-02T10:00:00Z".parse().unwrap()),
                ..AlertRequest::new(53616, 10)
            })
            .unwrap();

        let (sids, pages) = walk(&twilio, "/v1/Alerts?PageSize=50", "alerts").await;
        assert_eq!(pages, 3);
        let expected: Vec<String> = later.iter().rev().chain(made.iter().rev()).cloned().collect();
        assert_eq!(sids, expected);
        // The filter stays in every page URL.
        let (filtered, pages) =
            walk(&twilio, "/v1/Alerts?StartDate=2025-05-01&EndDate=2025-05-01&PageSize=50", "alerts").await;
        assert_eq!((filtered.len(), pages), (120, 3));
        // And the second page leads back to the first.
        let first = twilio.get("/v1/Alerts?PageSize=50").await;
        let second = twilio.get(first.body["meta"]["next_page_url"].as_str().unwrap()).await;
        let back = twilio.get(second.body["meta"]["previous_page_url"].as_str().unwrap()).await;
        assert_eq!(back.body["alerts"], first.body["alerts"]);
    })
    .await;
}

#[tokio::test]
async fn media_and_alerts_are_seen_only_by_their_account() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let other = twilio.as_principal(OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN);
        let by_api_key = twilio.as_principal(API_KEY_SID, API_KEY_SECRET);
        let recording = emulator.simulate_media(MediaKind::Recording, 1).await.unwrap().in_twilio_cloud.remove(0);
        let alert = emulator.add_alerts(&AlertRequest::new(53615, 1)).unwrap().remove(0);
        let for_other =
            MediaRequest { kind: MediaKind::Composition, count: 1, account_sid: Some(OTHER_ACCOUNT_SID.into()) };
        let composition = emulator.simulate(&for_other).await.unwrap().in_twilio_cloud.remove(0);

        assert_eq!(by_api_key.get(&format!("/v1/Recordings/{recording}")).await.status, 200);
        assert_eq!(by_api_key.get(&format!("/v1/Alerts/{alert}")).await.status, 200);
        assert_twilio_error(&other.get(&format!("/v1/Recordings/{recording}")).await, 404, 20404);
        assert_twilio_error(&other.get(&format!("/v1/Alerts/{alert}")).await, 404, 20404);
        assert_eq!(other.get("/v1/Recordings").await.body["recordings"], Value::Array(vec![]));
        assert_eq!(other.get("/v1/Alerts").await.body["alerts"], Value::Array(vec![]));
        assert_eq!(other.get(&format!("/v1/Compositions/{composition}")).await.body["account_sid"], OTHER_ACCOUNT_SID);
        assert_twilio_error(&twilio.get(&format!("/v1/Compositions/{composition}")).await, 404, 20404);
        let anonymous = CheckedTwilio::new(Twilio::new(&emulator.base_url(), "", ""));
        assert_twilio_error(&anonymous.get("/v1/Alerts").await, 401, 20003);
    })
    .await;
}

#[tokio::test]
async fn invalid_media_and_alert_requests_get_twilio_errors() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let unknown_recording = format!("RT{:032x}", 1);
        let unknown_alert = format!("NO{:032x}", 1);
        let cases = [
            // Values the documents do not allow.
            ("/v1/Recordings?Status=done".to_owned(), 400, 20001),
            ("/v1/Recordings?MediaType=screen".to_owned(), 400, 20001),
            ("/v1/Recordings?GroupingSid=RMnope".to_owned(), 400, 20001),
            ("/v1/Recordings?DateCreatedAfter=2025-01-01".to_owned(), 400, 20001),
            ("/v1/Recordings?PageSize=101".to_owned(), 400, 20001),
            ("/v1/Compositions?Status=enqueued&RoomSid=RT0123".to_owned(), 400, 20001),
            ("/v1/Compositions?MediaType=audio".to_owned(), 400, 20001),
            ("/v1/Alerts?StartDate=yesterday".to_owned(), 400, 20001),
            ("/v1/Alerts?PageSize=1001".to_owned(), 400, 20001),
            ("/v1/Alerts?Colour=blue".to_owned(), 400, 20001),
            ("/v1/Alerts?PageToken=PA12".to_owned(), 400, 20001),
            // Unknown and malformed SIDs.
            (format!("/v1/Recordings/{unknown_recording}"), 404, 20404),
            ("/v1/Recordings/not-a-sid".to_owned(), 404, 20404),
            (format!("/v1/Compositions/{unknown_recording}"), 404, 20404),
            (format!("/v1/Alerts/{unknown_alert}"), 404, 20404),
            // What the documents have and the emulator does not serve.
            ("/v1/Events".to_owned(), 404, 20404),
            (format!("/v1/Recordings/{unknown_recording}/Media"), 404, 20404),
        ];
        for (path, status, code) in cases {
            assert_twilio_error(&twilio.get(&path).await, status, code);
        }
        assert_twilio_error(&twilio.delete(&format!("/v1/Recordings/{unknown_recording}")).await, 405, 20004);
        assert_twilio_error(&twilio.post("/v1/Compositions", &[("RoomSid", "RM0")]).await, 405, 20004);
        // Each refusal is a request outside the documents, but for the page token: any string
        // conforms, and the emulator's own tokens are all it reads.
        let log = emulator.requests();
        let refused = log.iter().filter(|request| request.status == 400);
        let (tokens, others): (Vec<_>, Vec<_>) = refused.partition(|request| request.query_keys == ["PageToken"]);
        assert!(tokens.iter().all(|request| request.conforms) && others.iter().all(|request| !request.conforms));
        assert_eq!((tokens.len(), others.len()), (1, 10));
    })
    .await;
}

#[tokio::test]
async fn media_and_alert_bodies_match_their_snapshots() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let recording = emulator.simulate_media(MediaKind::Recording, 1).await.unwrap().in_twilio_cloud.remove(0);
        emulator.simulate_media(MediaKind::Composition, 1).await.unwrap();
        let request = AlertRequest {
            resource_sid: Some(recording.clone()),
            alert_text: Some("Recording could not be uploaded".to_owned()),
            ..AlertRequest::new(53615, 2)
        };
        let alert = emulator.add_alerts(&request).unwrap().remove(0);
        let recording = twilio.get(&format!("/v1/Recordings/{recording}")).await.body;
        let compositions = twilio.get("/v1/Compositions").await.body;
        let alerts = twilio.get("/v1/Alerts?LogLevel=error&PageSize=1").await.body;
        let alert = twilio.get(&format!("/v1/Alerts/{alert}")).await.body;
        snapshot_settings().bind(|| {
            insta::assert_json_snapshot!("recording_fetched", recording);
            insta::assert_json_snapshot!("compositions_listed", compositions);
            insta::assert_json_snapshot!("alerts_listed", alerts);
            insta::assert_json_snapshot!("alert_fetched", alert);
        });
    })
    .await;
}
