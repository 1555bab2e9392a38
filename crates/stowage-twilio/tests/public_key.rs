//! `twilio_public_key` through the `Provider` contract against the Twilio emulator: create,
//! read, rename, delete, with what exists checked through the emulator's own API and request
//! log, never through what the provider answered.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use stowage_provider::{
    Address, Attributes, CreateRequest, DeleteRequest, Provider, ReadRequest, ResourceType, SecretHandoff,
    UpdateRequest,
};
use stowage_test_support::{RunningEmulator, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, start_emulator};
use stowage_twilio::{RetryPolicy, TwilioAuth, TwilioEndpoints, TwilioProvider};

const RSA_PUBLIC_KEY: &str = include_str!("../../stowage-spec/tests/fixtures/rsa_public_key.pem");
const RSA_PRIVATE_KEY: &str = include_str!("../../stowage-spec/tests/fixtures/rsa_private_key.pem");
/// The fixture key's fingerprint (`openssl pkey -pubin -outform DER | sha256sum`).
const RSA_SHA256: &str = "a76dbd6d4063e7d4ab500c4677d489c00e893ce5f7bfee1081ecc42e98c6828b";
const PUBLIC_KEYS_PATH: &str = "/v1/Credentials/PublicKeys";
/// Every emulator call here is on loopback; a test that waits this long has hung.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The public key endpoints never reach S3 (only switching storage on does), so the emulator's
/// write test is aimed at a port nothing listens on rather than at a moto started for nothing.
const UNUSED_S3_ENDPOINT: &str = "http://127.0.0.1:9";

struct Fixture {
    emulator: RunningEmulator,
    provider: TwilioProvider,
    address: Address,
}

impl Fixture {
    async fn start() -> Fixture {
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
        Fixture { emulator, provider, address: Address::new(ResourceType::TwilioPublicKey, "recordings") }
    }

    fn desired(&self, public_key: &str, friendly_name: &str) -> Attributes {
        Attributes::from([
            ("public_key_sha256".to_owned(), json!(RSA_SHA256)),
            ("account_sid".to_owned(), json!(TEST_ACCOUNT_SID)),
            ("public_key".to_owned(), json!(public_key)),
            ("friendly_name".to_owned(), json!(friendly_name)),
        ])
    }

    /// Creates the key `desired` describes, with the intent `marker` when given.
    async fn create(&self, desired: &Attributes, marker: Option<&str>) -> stowage_provider::Applied {
        let handoff = SecretHandoff::new();
        let request = CreateRequest { address: &self.address, attributes: desired, handoff: &handoff, marker };
        self.provider.create(request).await.expect("create succeeds")
    }

    /// The credential as the emulator's API shows it, or `None` when it answers 404.
    async fn stored(&self, sid: &str) -> Option<serde_json::Value> {
        let url = format!("{}{PUBLIC_KEYS_PATH}/{sid}", self.emulator.base_url());
        let response = tokio::time::timeout(
            TIMEOUT,
            reqwest::Client::new().get(url).basic_auth(TEST_ACCOUNT_SID, Some(TEST_AUTH_TOKEN)).send(),
        )
        .await
        .expect("the emulator answered in time")
        .expect("the emulator answered");
        match response.status().as_u16() {
            404 => None,
            200 => Some(response.json().await.expect("a JSON credential")),
            other => panic!("GET {sid}: unexpected status {other}"),
        }
    }

    /// `(method, path, form keys)` of every write the emulator saw; every request conformed to
    /// Twilio's OpenAPI documents.
    fn writes(&self) -> Vec<(String, String, Vec<String>)> {
        let requests = self.emulator.requests();
        let broken: Vec<_> = requests.iter().filter(|request| !request.conforms).collect();
        assert!(broken.is_empty(), "requests outside the OpenAPI contract: {broken:#?}");
        requests
            .into_iter()
            .filter(|request| request.method != "GET")
            .map(|request| (request.method, request.path, request.form_keys))
            .collect()
    }
}

fn schema_attributes() -> BTreeSet<String> {
    ResourceType::TwilioPublicKey.schema().attributes.iter().map(|attribute| attribute.name.to_owned()).collect()
}

fn names(attributes: &Attributes) -> BTreeSet<String> {
    attributes.keys().cloned().collect()
}

fn is_credential_sid(sid: &str) -> bool {
    sid.strip_prefix("CR").is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

#[tokio::test]
async fn a_public_key_is_created_read_renamed_and_deleted() {
    let fixture = Fixture::start().await;
    let desired = fixture.desired(RSA_PUBLIC_KEY, "stowage dev recordings");

    let created = fixture.create(&desired, None).await;
    assert!(is_credential_sid(&created.id), "{}", created.id);
    assert_eq!(names(&created.attributes), schema_attributes());
    assert_eq!(created.attributes["sid"], json!(created.id));
    assert_eq!(created.attributes["public_key_sha256"], json!(RSA_SHA256));
    let stored = fixture.stored(&created.id).await.expect("the emulator holds the key");
    assert_eq!(stored["friendly_name"], json!("stowage dev recordings"));
    assert_eq!(stored["account_sid"], json!(TEST_ACCOUNT_SID));
    // The calling account is the key's account: `AccountSid` is for subaccounts only.
    let create =
        ("POST".to_owned(), PUBLIC_KEYS_PATH.to_owned(), vec!["PublicKey".to_owned(), "FriendlyName".to_owned()]);
    assert_eq!(fixture.writes(), std::slice::from_ref(&create));

    // Twilio does not return the key: its fingerprint and text come from the state.
    let observed = fixture
        .provider
        .read(ReadRequest {
            address: &fixture.address,
            id: Some(&created.id),
            desired: Some(&desired),
            recorded: Some(&created.attributes),
        })
        .await
        .expect("read succeeds")
        .expect("the key exists");
    assert_eq!(observed.id, created.id);
    assert_eq!(observed.attributes, created.attributes);

    let renamed = fixture.desired(RSA_PUBLIC_KEY, "stowage dev recordings (2025)");
    let updated = fixture
        .provider
        .update(UpdateRequest {
            address: &fixture.address,
            id: &created.id,
            before: &created.attributes,
            after: &renamed,
            changed: &["friendly_name".to_owned()],
            marker: None,
        })
        .await
        .expect("update succeeds");
    assert_eq!(updated.id, created.id);
    assert_eq!(names(&updated.attributes), schema_attributes());
    let stored = fixture.stored(&created.id).await.expect("still there");
    assert_eq!(stored["friendly_name"], json!("stowage dev recordings (2025)"));
    let rename = ("POST".to_owned(), format!("{PUBLIC_KEYS_PATH}/{}", created.id), vec!["FriendlyName".to_owned()]);
    assert_eq!(fixture.writes(), [create.clone(), rename.clone()]);

    let delete = DeleteRequest { address: &fixture.address, id: &created.id, attributes: &updated.attributes };
    fixture.provider.delete(delete).await.expect("delete succeeds");
    assert_eq!(fixture.stored(&created.id).await, None);
    // Deleting what is already gone succeeds, and reading it finds nothing.
    fixture.provider.delete(delete).await.expect("a second delete succeeds");
    let read_again = ReadRequest {
        address: &fixture.address,
        id: Some(&created.id),
        desired: Some(&desired),
        recorded: Some(&updated.attributes),
    };
    assert_eq!(fixture.provider.read(read_again).await.expect("read succeeds"), None);
    let delete_call = ("DELETE".to_owned(), format!("{PUBLIC_KEYS_PATH}/{}", created.id), Vec::new());
    assert_eq!(fixture.writes(), [create, rename, delete_call.clone(), delete_call]);
}

#[tokio::test]
async fn a_key_not_recorded_in_the_state_is_not_looked_for() {
    let fixture = Fixture::start().await;
    let desired = fixture.desired(RSA_PUBLIC_KEY, "stowage dev recordings");
    let request = ReadRequest { address: &fixture.address, id: None, desired: Some(&desired), recorded: None };
    assert_eq!(fixture.provider.read(request).await.expect("read succeeds"), None);
    assert!(fixture.emulator.requests().is_empty(), "{:#?}", fixture.emulator.requests());
}

#[tokio::test]
async fn twilio_refusing_the_key_creates_nothing() {
    // The spec refuses private keys long before this; the emulator, like Twilio, refuses them
    // too, and the refusal reaches the caller as an error, not as a half-made resource.
    let fixture = Fixture::start().await;
    let handoff = SecretHandoff::new();
    let desired = fixture.desired(RSA_PRIVATE_KEY, "stowage dev recordings");
    let error = fixture
        .provider
        .create(CreateRequest { address: &fixture.address, attributes: &desired, handoff: &handoff, marker: None })
        .await
        .expect_err("Twilio refuses a private key");
    assert_eq!(error.kind, stowage_provider::ErrorKind::Invalid, "{error}");
    let keys = fixture.provider.client().list_public_keys().await.expect("list succeeds");
    assert!(keys.is_empty(), "{keys:?}");
}

#[tokio::test]
async fn a_create_without_the_fingerprint_is_refused_before_any_request() {
    let fixture = Fixture::start().await;
    let handoff = SecretHandoff::new();
    let mut desired = fixture.desired(RSA_PUBLIC_KEY, "stowage dev recordings");
    desired.remove("public_key_sha256");
    let error = fixture
        .provider
        .create(CreateRequest { address: &fixture.address, attributes: &desired, handoff: &handoff, marker: None })
        .await
        .expect_err("the state could not say which key it is");
    assert!(error.to_string().contains("public_key_sha256"), "{error}");
    assert!(fixture.emulator.requests().is_empty(), "{:#?}", fixture.emulator.requests());
}

#[tokio::test]
async fn the_intent_marker_is_kept_in_twilio_hidden_from_reads_and_finds_leftovers() {
    let fixture = Fixture::start().await;
    let marker = stowage_provider::marker::intent_marker("dev", "5f0c6a0e-0000-4000-8000-000000000000");
    let desired = fixture.desired(RSA_PUBLIC_KEY, "stowage dev recordings");
    let recorded = fixture.create(&desired, Some(&marker)).await;
    // The answer to this one is "lost": the state never records it.
    let lost = fixture.create(&desired, Some(&marker)).await;
    // Made without a marker: not stowage's to clean up.
    let unmarked = fixture.create(&desired, None).await;

    let stored = fixture.stored(&recorded.id).await.expect("created");
    assert_eq!(stored["friendly_name"], json!("stowage dev recordings [dev:5f0c6a0e]"));
    assert_eq!(recorded.attributes["friendly_name"], json!("stowage dev recordings"));
    let observed = fixture
        .provider
        .read(ReadRequest {
            address: &fixture.address,
            id: Some(&recorded.id),
            desired: Some(&desired),
            recorded: Some(&recorded.attributes),
        })
        .await
        .expect("read succeeds")
        .expect("exists");
    assert_eq!(observed.attributes["friendly_name"], json!("stowage dev recordings"));

    let known = [recorded.id.clone()];
    let leftovers = fixture
        .provider
        .find_leftovers(stowage_provider::LeftoverRequest {
            address: &fixture.address,
            marker: Some(&marker),
            since: std::time::SystemTime::UNIX_EPOCH,
            until: std::time::SystemTime::now() + stowage_provider::resource::CREATE_WINDOW,
            attributes: &desired,
            known_ids: &known,
        })
        .await
        .expect("listing succeeds");
    let found: Vec<&str> = leftovers.iter().map(|leftover| leftover.id.as_str()).collect();
    assert_eq!(found, [lost.id.as_str()]);
    assert_ne!(lost.id, unmarked.id);
}
