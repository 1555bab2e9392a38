//! Which Twilio account: the spec's `[twilio] account_sid` must be the account the Twilio
//! credentials act as. The storage settings have no account in their URL, so Twilio applies
//! them to the credentials' own account; a mismatch would put the AWS credential in one
//! account and the settings in another (or both in the wrong one), and is refused before any
//! write, to AWS or to Twilio, whichever kind of credentials is used.
//!
//! The emulator knows two accounts, A (the one `examples/dev.toml` names) and B, each with an
//! API key.

mod common;

use std::time::Duration;

use common::world;
use serde_json::Value;
use stowage_test_support::{
    Run, SecretScan, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TwilioCredentials as Credentials, World, insta_filters, within,
};

const SPEC: &str = "dev.toml";

/// The account `examples/dev.toml` names.
const ACCOUNT_A: &str = TEST_ACCOUNT_SID;
const AUTH_TOKEN_A: &str = TEST_AUTH_TOKEN;
const API_KEY_A: &str = "SK0123456789abcdef0123456789abcdef";
const API_SECRET_A: &str = "api-key-secret-of-account-a-000000";
/// Another account, which the spec does not name.
const ACCOUNT_B: &str = "ACfedcba9876543210fedcba9876543210";
const AUTH_TOKEN_B: &str = "b0bb0bb0bb0bb0bb0bb0bb0bb0bb0bb0";
const API_KEY_B: &str = "SKfedcba9876543210fedcba9876543210";
const API_SECRET_B: &str = "api-key-secret-of-account-b-111111";

const RECORDING_SETTINGS_PATH: &str = "/v1/RecordingSettings/Default";
const COMPOSITION_SETTINGS_PATH: &str = "/v1/CompositionSettings/Default";

/// A whole test, once moto is up.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

const API_KEY_OF_A: Credentials = Credentials::ApiKey { sid: API_KEY_A, secret: API_SECRET_A };
const API_KEY_OF_B: Credentials = Credentials::ApiKey { sid: API_KEY_B, secret: API_SECRET_B };
const AUTH_TOKEN_OF_A: Credentials = Credentials::AuthToken { account: ACCOUNT_A, token: AUTH_TOKEN_A };
const AUTH_TOKEN_OF_B: Credentials = Credentials::AuthToken { account: ACCOUNT_B, token: AUTH_TOKEN_B };

/// moto behind a recording proxy, the emulator with accounts A and B and an API key of each,
/// a sandbox holding `examples/dev.toml`; what stowage prints does not depend on the
/// developer's settings.
async fn start() -> World {
    world()
        .twilio_account(ACCOUNT_B, AUTH_TOKEN_B)
        .twilio_api_key(API_KEY_A, API_SECRET_A, ACCOUNT_A)
        .twilio_api_key(API_KEY_B, API_SECRET_B, ACCOUNT_B)
        .plain_output()
        .start()
        .await
}

async fn run(world: &World, arguments: &[&str], credentials: Credentials) -> Run {
    world.stowage(arguments).twilio_credentials(credentials).await
}

/// Runs `arguments`, which must be refused: exit 1, and not one write to AWS or Twilio.
/// Answers what it printed on stderr, log lines aside.
async fn assert_refused(world: &World, arguments: &[&str], credentials: Credentials) -> String {
    world.aws.clear();
    let mark = world.twilio_log_mark();
    let run = run(world, arguments, credentials).await;
    assert_eq!(run.code, Some(1), "`stowage {}` should be refused\n{run}", arguments.join(" "));
    let aws_writes: Vec<String> = world.aws.writes().iter().map(ToString::to_string).collect();
    assert_eq!(aws_writes, Vec::<String>::new(), "no write may reach AWS\n{run}");
    assert_eq!(world.twilio_writes_since(mark), Vec::<String>::new(), "no write may reach Twilio\n{run}");
    assert!(run.stderr.contains(ACCOUNT_A) && run.stderr.contains(ACCOUNT_B), "both SIDs are named\n{run}");
    let mut scan = SecretScan::new(&[ACCOUNT_A, ACCOUNT_B, API_KEY_A, API_KEY_B]);
    for (what, secret) in [
        ("A's API key secret", API_SECRET_A),
        ("B's API key secret", API_SECRET_B),
        ("A's auth token", AUTH_TOKEN_A),
        ("B's auth token", AUTH_TOKEN_B),
    ] {
        scan.secret(what, secret);
    }
    let mut leaks = scan.leaks_in("stderr", &run.stderr);
    leaks.extend(scan.leaks_in("stdout", &run.stdout));
    assert_eq!(leaks, Vec::<String>::new(), "a secret was printed\n{run}");
    run.diagnostics()
}

fn state_exists(world: &World) -> bool {
    world.state_path().exists()
}

/// Whether either of `account`'s settings stores in S3, as `account` sees them.
async fn stores_in_s3(world: &World, account: &str, token: &str) -> [Value; 2] {
    let mut stored = Vec::new();
    for path in [RECORDING_SETTINGS_PATH, COMPOSITION_SETTINGS_PATH] {
        let response = world.twilio_request_as(account, token, reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path} as {account}");
        let settings: Value = response.json().await.unwrap();
        stored.push(settings["aws_storage_enabled"].clone());
    }
    stored.try_into().unwrap()
}

async fn bounded<Output>(body: impl Future<Output = Output>) -> Output {
    within(TEST_TIMEOUT, body).await
}

fn assert_stderr_snapshot(name: &str, stderr: &str) {
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!(name, stderr);
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_of_another_account_is_refused_before_any_write() {
    bounded(async {
        let world = start().await;

        let plan = assert_refused(&world, &["plan", SPEC], API_KEY_OF_B).await;
        assert_stderr_snapshot("api_key_of_another_account", &plan);
        let apply = assert_refused(&world, &["apply", SPEC, "--auto-approve"], API_KEY_OF_B).await;
        assert_eq!(apply, plan, "apply refuses as plan does");
        assert!(!state_exists(&world), "nothing was recorded");

        // `TWILIO_ACCOUNT_SID` naming the spec's account does not change which account an API
        // key acts as.
        let naming_a = Credentials::ApiKeyAndAccountSid { sid: API_KEY_B, secret: API_SECRET_B, account: ACCOUNT_A };
        let refused = assert_refused(&world, &["plan", SPEC], naming_a).await;
        assert_stderr_snapshot("api_key_of_another_account_with_account_sid", &refused);

        // A plan saved with the right credentials is not applied with the wrong ones.
        let saved = run(&world, &["plan", SPEC, "--out", "dev.plan"], API_KEY_OF_A).await;
        assert_eq!(saved.code, Some(0), "{saved}");
        let apply_saved = assert_refused(&world, &["apply", "dev.plan"], API_KEY_OF_B).await;
        assert_eq!(apply_saved, plan, "a saved plan is refused as the spec is");

        // Neither account's settings changed.
        let off = [Value::Bool(false), Value::Bool(false)];
        assert_eq!(stores_in_s3(&world, ACCOUNT_A, AUTH_TOKEN_A).await, off);
        assert_eq!(stores_in_s3(&world, ACCOUNT_B, AUTH_TOKEN_B).await, off);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_auth_token_of_another_account_is_refused_before_any_write() {
    bounded(async {
        let world = start().await;

        let plan = assert_refused(&world, &["plan", SPEC], AUTH_TOKEN_OF_B).await;
        assert_stderr_snapshot("auth_token_of_another_account", &plan);
        let apply = assert_refused(&world, &["apply", SPEC, "--auto-approve"], AUTH_TOKEN_OF_B).await;
        assert_eq!(apply, plan, "apply refuses as plan does");
        assert!(!state_exists(&world), "nothing was recorded");

        let off = [Value::Bool(false), Value::Bool(false)];
        assert_eq!(stores_in_s3(&world, ACCOUNT_A, AUTH_TOKEN_A).await, off);
        assert_eq!(stores_in_s3(&world, ACCOUNT_B, AUTH_TOKEN_B).await, off);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_of_the_spec_account_apply_and_others_cannot_read_it() {
    bounded(async {
        let world = start().await;

        let applied = run(&world, &["apply", SPEC, "--auto-approve"], API_KEY_OF_A).await;
        assert_eq!(applied.code, Some(0), "{applied}");
        let on = [Value::Bool(true), Value::Bool(true)];
        assert_eq!(stores_in_s3(&world, ACCOUNT_A, AUTH_TOKEN_A).await, on, "A's settings store in S3");
        let off = [Value::Bool(false), Value::Bool(false)];
        assert_eq!(stores_in_s3(&world, ACCOUNT_B, AUTH_TOKEN_B).await, off, "B's settings are untouched");

        // Either kind of A's credentials sees the same, converged environment.
        for credentials in [API_KEY_OF_A, AUTH_TOKEN_OF_A] {
            let plan = run(&world, &["plan", SPEC, "--detailed-exitcode"], credentials).await;
            assert_eq!(plan.code, Some(0), "nothing to do with {credentials:?}\n{plan}");
        }

        // Every command that reads refuses B's credentials, and none of them writes.
        let plan = assert_refused(&world, &["plan", SPEC], API_KEY_OF_B).await;
        for arguments in [&["apply", SPEC, "--auto-approve"][..], &["drift", SPEC], &["verify", SPEC]] {
            let refused = assert_refused(&world, arguments, API_KEY_OF_B).await;
            assert_eq!(refused, plan, "`stowage {}` refuses as plan does", arguments.join(" "));
        }
        assert_eq!(stores_in_s3(&world, ACCOUNT_A, AUTH_TOKEN_A).await, on);
        assert_eq!(stores_in_s3(&world, ACCOUNT_B, AUTH_TOKEN_B).await, off);
    })
    .await;
}
