//! Which Twilio account: the spec's `[twilio] account_sid` must be the account the Twilio
//! credentials act as. The storage settings have no account in their URL, so Twilio applies
//! them to the credentials' own account; a mismatch would put the AWS credential in one
//! account and the settings in another (or both in the wrong one), and is refused before any
//! write, to AWS or to Twilio, whichever kind of credentials is used.
//!
//! The emulator knows two accounts, A (the one `examples/dev.toml` names) and B, each with an
//! API key.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use stowage_test_support::twilio_emulator::{EmulatorConfig, RunningEmulator};
use stowage_test_support::{AwsProxy, Moto, Sandbox, dev_spec, insta_filters, stowage_command};

const BINARY: &str = env!("CARGO_BIN_EXE_stowage");
const SPEC: &str = "dev.toml";

/// The account `examples/dev.toml` names.
const ACCOUNT_A: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN_A: &str = "feedc0defeedc0defeedc0defeedc0de";
const API_KEY_A: &str = "SK0123456789abcdef0123456789abcdef";
const API_SECRET_A: &str = "api-key-secret-of-account-a-000000";
/// Another account, which the spec does not name.
const ACCOUNT_B: &str = "ACfedcba9876543210fedcba9876543210";
const AUTH_TOKEN_B: &str = "b0bb0bb0bb0bb0bb0bb0bb0bb0bb0bb0";
const API_KEY_B: &str = "SKfedcba9876543210fedcba9876543210";
const API_SECRET_B: &str = "api-key-secret-of-account-b-111111";

const RECORDING_SETTINGS_PATH: &str = "/v1/RecordingSettings/Default";
const COMPOSITION_SETTINGS_PATH: &str = "/v1/CompositionSettings/Default";

/// One `stowage` run; a hung run is killed (`kill_on_drop`) when this passes.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// A whole test, once moto is up.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Which Twilio credentials a run uses.
#[derive(Debug, Clone, Copy)]
enum Credentials {
    ApiKey {
        sid: &'static str,
        secret: &'static str,
    },
    /// An API key with `TWILIO_ACCOUNT_SID` set too, as Twilio's own tools expect.
    ApiKeyAndAccountSid {
        sid: &'static str,
        secret: &'static str,
        account: &'static str,
    },
    AuthToken {
        account: &'static str,
        token: &'static str,
    },
}

const API_KEY_OF_A: Credentials = Credentials::ApiKey { sid: API_KEY_A, secret: API_SECRET_A };
const API_KEY_OF_B: Credentials = Credentials::ApiKey { sid: API_KEY_B, secret: API_SECRET_B };
const AUTH_TOKEN_OF_A: Credentials = Credentials::AuthToken { account: ACCOUNT_A, token: AUTH_TOKEN_A };
const AUTH_TOKEN_OF_B: Credentials = Credentials::AuthToken { account: ACCOUNT_B, token: AUTH_TOKEN_B };

impl Credentials {
    fn environment(self) -> Vec<(String, String)> {
        let pairs = match self {
            Credentials::ApiKey { sid, secret } => vec![("TWILIO_API_KEY", sid), ("TWILIO_API_SECRET", secret)],
            Credentials::ApiKeyAndAccountSid { sid, secret, account } => {
                vec![("TWILIO_API_KEY", sid), ("TWILIO_API_SECRET", secret), ("TWILIO_ACCOUNT_SID", account)]
            }
            Credentials::AuthToken { account, token } => {
                vec![("TWILIO_ACCOUNT_SID", account), ("TWILIO_AUTH_TOKEN", token)]
            }
        };
        pairs.into_iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect()
    }
}

/// What one `stowage` run printed and how it ended.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// moto behind a recording proxy, the emulator with accounts A and B, a sandbox holding
/// `examples/dev.toml`.
struct World {
    moto: Moto,
    proxy: AwsProxy,
    emulator: RunningEmulator,
    sandbox: Sandbox,
    http: reqwest::Client,
}

impl World {
    async fn start() -> World {
        let moto = Moto::start();
        let proxy = AwsProxy::start(&moto.endpoint()).await;
        let config = EmulatorConfig::new(moto.endpoint())
            .account(ACCOUNT_A, AUTH_TOKEN_A)
            .account(ACCOUNT_B, AUTH_TOKEN_B)
            .api_key(API_KEY_A, API_SECRET_A, ACCOUNT_A)
            .api_key(API_KEY_B, API_SECRET_B, ACCOUNT_B);
        let emulator = stowage_test_support::twilio_emulator::spawn(config).await.expect("the emulator starts");
        let sandbox = Sandbox::new();
        sandbox.write_spec(SPEC, &dev_spec());
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        World { moto, proxy, emulator, sandbox, http }
    }

    async fn run(&self, arguments: &[&str], credentials: Credentials) -> Run {
        let mut environment = self.moto.aws_env_via(&self.proxy.endpoint());
        environment.extend(credentials.environment());
        let base_url = self.emulator.base_url();
        environment.extend([
            ("STOWAGE_TWILIO_ACCOUNTS_URL".to_owned(), base_url.clone()),
            ("STOWAGE_TWILIO_VIDEO_URL".to_owned(), base_url),
            // A developer's own settings would change what is printed.
            ("RUST_LOG".to_owned(), "warn".to_owned()),
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ]);
        let mut command = tokio::process::Command::from(stowage_command(Path::new(BINARY), &self.sandbox, environment));
        command.args(arguments).kill_on_drop(true);
        let output = tokio::time::timeout(RUN_TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| panic!("`stowage {}` did not finish within {RUN_TIMEOUT:?}", arguments.join(" ")))
            .unwrap_or_else(|error| panic!("could not run {BINARY}: {error}"));
        Run {
            code: output.status.code().expect("stowage exited on its own, not by a signal"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Runs `arguments`, which must be refused: exit 1, and not one write to AWS or Twilio.
    /// Answers what it printed on stderr.
    async fn refused(&self, arguments: &[&str], credentials: Credentials) -> String {
        self.proxy.clear();
        let mark = self.emulator.requests().len();
        let run = self.run(arguments, credentials).await;
        assert_eq!(run.code, 1, "`stowage {}` should be refused\n{run}", arguments.join(" "));
        let aws_writes: Vec<String> = self.proxy.writes().iter().map(ToString::to_string).collect();
        assert_eq!(aws_writes, Vec::<String>::new(), "no write may reach AWS\n{run}");
        let twilio_writes: Vec<String> = self.emulator.requests()[mark..]
            .iter()
            .filter(|request| request.method != "GET")
            .map(|request| format!("{} {} {}", request.method, request.path, request.status))
            .collect();
        assert_eq!(twilio_writes, Vec::<String>::new(), "no write may reach Twilio\n{run}");
        assert!(run.stderr.contains(ACCOUNT_A) && run.stderr.contains(ACCOUNT_B), "both SIDs are named\n{run}");
        for secret in [API_SECRET_A, API_SECRET_B, AUTH_TOKEN_A, AUTH_TOKEN_B] {
            assert!(!run.stderr.contains(secret) && !run.stdout.contains(secret), "a secret was printed\n{run}");
        }
        without_sdk_warnings(&run.stderr)
    }

    fn state_exists(&self) -> bool {
        self.sandbox.state_path(SPEC).exists()
    }

    /// Twilio's settings at `path`, as `account` sees them.
    async fn settings(&self, path: &str, account: &str, token: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.emulator.base_url()))
            .basic_auth(account, Some(token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path} as {account}");
        response.json().await.unwrap()
    }

    /// Whether either of `account`'s settings stores in S3.
    async fn stores_in_s3(&self, account: &str, token: &str) -> [Value; 2] {
        let mut stored = Vec::new();
        for path in [RECORDING_SETTINGS_PATH, COMPOSITION_SETTINGS_PATH] {
            stored.push(self.settings(path, account, token).await["aws_storage_enabled"].clone());
        }
        stored.try_into().unwrap()
    }
}

/// `stderr` without the AWS SDK's warnings that the config files the test support points at
/// (so that a developer's own cannot leak in) do not exist: the SDK prints them, with the time,
/// on every run.
fn without_sdk_warnings(stderr: &str) -> String {
    stderr.lines().filter(|line| !line.contains("WARN config file overridden via environment variable not found")).fold(
        String::new(),
        |mut kept, line| {
            kept.push_str(line);
            kept.push('\n');
            kept
        },
    )
}

async fn bounded<Output>(body: impl Future<Output = Output>) -> Output {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {TEST_TIMEOUT:?}"))
}

fn assert_stderr_snapshot(name: &str, stderr: &str) {
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!(name, stderr);
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_of_another_account_is_refused_before_any_write() {
    bounded(async {
        let world = World::start().await;

        let plan = world.refused(&["plan", SPEC], API_KEY_OF_B).await;
        assert_stderr_snapshot("api_key_of_another_account", &plan);
        let apply = world.refused(&["apply", SPEC, "--auto-approve"], API_KEY_OF_B).await;
        assert_eq!(apply, plan, "apply refuses as plan does");
        assert!(!world.state_exists(), "nothing was recorded");

        // `TWILIO_ACCOUNT_SID` naming the spec's account does not change which account an API
        // key acts as.
        let naming_a = Credentials::ApiKeyAndAccountSid { sid: API_KEY_B, secret: API_SECRET_B, account: ACCOUNT_A };
        let refused = world.refused(&["plan", SPEC], naming_a).await;
        assert_stderr_snapshot("api_key_of_another_account_with_account_sid", &refused);

        // A plan saved with the right credentials is not applied with the wrong ones.
        let saved = world.run(&["plan", SPEC, "--out", "dev.plan"], API_KEY_OF_A).await;
        assert_eq!(saved.code, 0, "{saved}");
        let apply_saved = world.refused(&["apply", "dev.plan"], API_KEY_OF_B).await;
        assert_eq!(apply_saved, plan, "a saved plan is refused as the spec is");

        // Neither account's settings changed.
        let off = [Value::Bool(false), Value::Bool(false)];
        assert_eq!(world.stores_in_s3(ACCOUNT_A, AUTH_TOKEN_A).await, off);
        assert_eq!(world.stores_in_s3(ACCOUNT_B, AUTH_TOKEN_B).await, off);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_auth_token_of_another_account_is_refused_before_any_write() {
    bounded(async {
        let world = World::start().await;

        let plan = world.refused(&["plan", SPEC], AUTH_TOKEN_OF_B).await;
        assert_stderr_snapshot("auth_token_of_another_account", &plan);
        let apply = world.refused(&["apply", SPEC, "--auto-approve"], AUTH_TOKEN_OF_B).await;
        assert_eq!(apply, plan, "apply refuses as plan does");
        assert!(!world.state_exists(), "nothing was recorded");

        let off = [Value::Bool(false), Value::Bool(false)];
        assert_eq!(world.stores_in_s3(ACCOUNT_A, AUTH_TOKEN_A).await, off);
        assert_eq!(world.stores_in_s3(ACCOUNT_B, AUTH_TOKEN_B).await, off);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_of_the_spec_account_apply_and_others_cannot_read_it() {
    bounded(async {
        let world = World::start().await;

        let applied = world.run(&["apply", SPEC, "--auto-approve"], API_KEY_OF_A).await;
        assert_eq!(applied.code, 0, "{applied}");
        let on = [Value::Bool(true), Value::Bool(true)];
        assert_eq!(world.stores_in_s3(ACCOUNT_A, AUTH_TOKEN_A).await, on, "A's settings store in S3");
        let off = [Value::Bool(false), Value::Bool(false)];
        assert_eq!(world.stores_in_s3(ACCOUNT_B, AUTH_TOKEN_B).await, off, "B's settings are untouched");

        // Either kind of A's credentials sees the same, converged environment.
        for credentials in [API_KEY_OF_A, AUTH_TOKEN_OF_A] {
            let plan = world.run(&["plan", SPEC, "--detailed-exitcode"], credentials).await;
            assert_eq!(plan.code, 0, "nothing to do with {credentials:?}\n{plan}");
        }

        // Every command that reads refuses B's credentials, and none of them writes.
        let plan = world.refused(&["plan", SPEC], API_KEY_OF_B).await;
        for arguments in [&["apply", SPEC, "--auto-approve"][..], &["drift", SPEC], &["verify", SPEC]] {
            let refused = world.refused(arguments, API_KEY_OF_B).await;
            assert_eq!(refused, plan, "`stowage {}` refuses as plan does", arguments.join(" "));
        }
        assert_eq!(world.stores_in_s3(ACCOUNT_A, AUTH_TOKEN_A).await, on);
        assert_eq!(world.stores_in_s3(ACCOUNT_B, AUTH_TOKEN_B).await, off);
    })
    .await;
}
