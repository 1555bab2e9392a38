use std::sync::{Arc, Mutex, PoisonError};

use stowage_provider::{Address, Provider, ReadRequest, ResourceType, Secret};
use stowage_twilio::{CreateAwsCredential, RetryPolicy, TwilioAuth, TwilioEndpoints, TwilioProvider};
use tracing_subscriber::fmt::MakeWriter;

#[path = "client/fake.rs"]
#[allow(dead_code, reason = "shared with the main client tests, which use all of it")]
mod fake;

use fake::{API_SECRET, AWS_SECRET, CREDENTIAL_SID, FakeTwilio, Reply, aws_credential_json, bounded, quick_retries};

/// Log output collected in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// What the client logs, checked in a test binary of its own: `tracing` caches per log line
/// whether anyone listens, and tests on other threads without a subscriber would spoil that.
#[tokio::test]
async fn debug_lines_describe_each_attempt_without_bodies() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let fake = FakeTwilio::start([
        Reply::twilio_error(429, 20429, "Too Many Requests"),
        Reply::json(201, aws_credential_json(CREDENTIAL_SID, "created")),
    ])
    .await;
    let secret = Secret::new(AWS_SECRET);
    let request = CreateAwsCredential {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: &secret,
        friendly_name: Some("dev"),
        account_sid: None,
    };

    bounded(fake.client(quick_retries(3)).create_aws_credential(&request)).await.expect("created");

    // A fleet: the subaccounts' tokens are read from Twilio, then carried by every request
    // about them, and never logged.
    let main_sid = "AC0123456789abcdef0123456789abcdef";
    let sub_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let (main_token, sub_token) = ("main-token-do-not-leak", "sub-token-do-not-leak");
    let account = |sid: &str, token: &str| serde_json::json!({"sid": sid, "owner_account_sid": main_sid, "status": "active", "auth_token": token});
    fake.push(Reply::json(
        200,
        serde_json::json!({
            "accounts": [account(main_sid, main_token), account(sub_sid, sub_token)],
            "next_page_uri": null,
        }),
    ));
    fake.push(Reply::json(200, serde_json::json!({"account_sid": sub_sid})));
    let auth = TwilioAuth::from_lookup(|name| match name {
        "TWILIO_ACCOUNT_SID" => Some(main_sid.to_owned()),
        "TWILIO_AUTH_TOKEN" => Some(main_token.to_owned()),
        _ => None,
    })
    .expect("account credentials");
    let endpoints = TwilioEndpoints::all_at(&fake.url).expect("loopback");
    let provider = TwilioProvider::connect(auth, endpoints, RetryPolicy::never()).expect("provider");
    let subaccounts = bounded(provider.subaccounts()).await.expect("listed");
    let fleet = provider.with_subaccounts(&subaccounts);
    let address = Address::new(ResourceType::TwilioRecordingSettings, "main").instance(sub_sid);
    let request = ReadRequest { address: &address, id: None, desired: None, recorded: None };
    bounded(fleet.read(request)).await.expect("read as the subaccount");
    tracing::debug!(?subaccounts, ?fleet, "what a careless caller might log");

    let logs = captured.text();
    let sub_lines: Vec<_> = logs.lines().filter(|line| line.contains(&format!("account=\"{sub_sid}\""))).collect();
    assert_eq!(sub_lines.len(), 1, "the subaccount's request names it:\n{logs}");
    assert!(logs.contains("path=\"/2010-04-01/Accounts.json\""), "{logs}");
    let request_lines: Vec<_> =
        logs.lines().filter(|line| line.contains("twilio request") && line.contains("CreateAwsCredential")).collect();
    assert_eq!(request_lines.len(), 2, "one line per attempt:\n{logs}");
    for (line, (status, attempt)) in request_lines.iter().zip([(429, 1), (201, 2)]) {
        for field in [
            "operation=\"CreateAwsCredential\"".to_owned(),
            "method=POST".to_owned(),
            "path=\"/v1/Credentials/AWS\"".to_owned(),
            format!("status={status}"),
            format!("attempt={attempt}"),
            "elapsed_ms=".to_owned(),
        ] {
            assert!(line.contains(&field), "{field} missing from: {line}");
        }
    }
    assert!(logs.contains("retrying"), "{logs}");
    let mut scan = stowage_test_support::SecretScan::new(&[]);
    scan.secret("the AWS secret", AWS_SECRET);
    scan.secret("the API key secret", API_SECRET);
    scan.secret("the access key id", "AKIAIOSFODNN7EXAMPLE");
    scan.secret("the main account's auth token", main_token);
    scan.secret("the subaccount's auth token", sub_token);
    scan.basic_credentials("the subaccount's Basic credentials", sub_sid, sub_token);
    let leaks = scan.leaks_in("the logs", &logs);
    assert!(leaks.is_empty(), "{leaks:?} logged:\n{logs}");
}
