//! The emulator against Twilio's OpenAPI documents: every endpoint, success and error paths,
//! every response body validated against the schema the documents give for its path, method
//! and status (error bodies, which the documents leave without schema, against Twilio's error
//! shape).

mod support;

use std::collections::BTreeSet;
use std::sync::Mutex;

use reqwest::Method;
use serde_json::Value;
use support::*;
use twilio_emulator::openapi::TwilioOpenApi;

/// A Twilio client that checks every answer against the OpenAPI documents.
struct CheckedTwilio {
    twilio: Twilio,
    openapi: TwilioOpenApi,
    /// `(method, path template, status)` of every answer checked against a schema.
    covered: Mutex<BTreeSet<(String, String, u16)>>,
}

impl CheckedTwilio {
    fn new(twilio: Twilio) -> Self {
        Self { twilio, openapi: TwilioOpenApi::load().expect("the embedded documents load"), covered: Mutex::default() }
    }

    fn as_principal(&self, user: &str, password: &str) -> Self {
        Self::new(Twilio::new(self.twilio.base_url(), user, password))
    }

    async fn call(&self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Answer {
        let answer = self.twilio.call(method.clone(), path, form).await;
        self.check(&method, path, &answer);
        answer
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.call(Method::POST, path, Some(form)).await
    }

    async fn delete(&self, path: &str) -> Answer {
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
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft4)
                    .should_validate_formats(true)
                    .build(&schema)
                    .expect("the documented schema compiles");
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
fn path_template(path: &str) -> String {
    let path = path.split_once("://").map_or(path, |(_, rest)| rest.find('/').map_or("/", |start| &rest[start..]));
    let path = path.split('?').next().unwrap_or(path);
    match path.rsplit_once('/') {
        Some((collection @ ("/v1/Credentials/AWS" | "/v1/Credentials/PublicKeys"), _)) => {
            format!("{collection}/{{Sid}}")
        }
        _ => path.to_owned(),
    }
}

/// Twilio's error shape: exactly `code`, `message`, `more_info` and `status`, consistent.
fn assert_error_shape(answer: &Answer) {
    let body = answer.body.as_object().expect("an error body is a JSON object");
    let keys: Vec<&str> = body.keys().map(String::as_str).collect();
    assert_eq!(keys, ["code", "message", "more_info", "status"], "{:#}", answer.body);
    let code = body["code"].as_u64().expect("an integer code");
    assert!(body["message"].as_str().is_some_and(|message| !message.is_empty()));
    assert_eq!(body["more_info"], format!("https://www.twilio.com/docs/errors/{code}"));
    assert_eq!(body["status"], answer.status.as_u16());
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
            case(Method::GET, "/2010-04-01/Accounts.json", &[], 404, 20404),
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
