//! Secret hygiene: with `RUST_LOG=trace`, every command of `stowage` runs against moto and the
//! Twilio emulator, including an apply that replaces the access key (so a new secret is made
//! and handed to Twilio), and no secret reaches stdout, stderr, the state, its backup, a saved
//! plan or a lock file: not the access keys' secrets (learnt from moto's own model dump), not
//! the Twilio auth token, not the API key secret, not an HTTP Basic header made of them.
//! State, backup and plan files are private (0600).
//!
//! It runs once with Account SID + auth token and once with API key + secret, one after the
//! other against one moto and one emulator, reset in between.

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use stowage_test_support::twilio_emulator::{self, EmulatorConfig, RunningEmulator};
use stowage_test_support::{AwsProxy, Moto, Sandbox, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, stowage_command};

const BINARY: &str = env!("CARGO_BIN_EXE_stowage");
const SPEC: &str = "dev.toml";
const USER: &str = "twilio-video-uploader-dev";
const ACCESS_KEY_ADDRESS: &str = "aws_iam_access_key.uploader";
/// An API key of the test account, known to the emulator only for this test.
const API_KEY_SID: &str = "SK00112233445566778899aabbccddeeff";
const API_KEY_SECRET: &str = "hygieneApiKeySecret0123456789abcdefXYZ";

const RUN_TIMEOUT: Duration = Duration::from_secs(120);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
const TEST_TIMEOUT: Duration = Duration::from_secs(400);

#[derive(Debug, Clone, Copy)]
enum TwilioAuth {
    AuthToken,
    ApiKey,
}

struct Run {
    command: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stderr_tail: String =
            self.stderr.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        write!(
            formatter,
            "`stowage {}` exit {}\n--- stdout\n{}\n--- stderr (tail)\n{stderr_tail}",
            self.command, self.code, self.stdout
        )
    }
}

struct World {
    moto: Moto,
    proxy: AwsProxy,
    emulator: RunningEmulator,
    http: reqwest::Client,
}

impl World {
    async fn start() -> World {
        let moto = Moto::start();
        let proxy = AwsProxy::start(&moto.endpoint()).await;
        let config = EmulatorConfig::new(moto.endpoint()).account(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN).api_key(
            API_KEY_SID,
            API_KEY_SECRET,
            TEST_ACCOUNT_SID,
        );
        let emulator = twilio_emulator::spawn(config).await.expect("the Twilio emulator starts");
        let http = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build().unwrap();
        World { moto, proxy, emulator, http }
    }

    fn environment(&self, auth: TwilioAuth) -> Vec<(String, String)> {
        let mut environment = self.moto.aws_env_via(&self.proxy.endpoint());
        let base_url = self.emulator.base_url();
        let (user_variable, user, secret_variable, secret) = match auth {
            TwilioAuth::AuthToken => ("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID, "TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN),
            TwilioAuth::ApiKey => ("TWILIO_API_KEY", API_KEY_SID, "TWILIO_API_SECRET", API_KEY_SECRET),
        };
        for (name, value) in [
            (user_variable, user),
            (secret_variable, secret),
            ("STOWAGE_TWILIO_ACCOUNTS_URL", base_url.as_str()),
            ("STOWAGE_TWILIO_VIDEO_URL", base_url.as_str()),
            ("RUST_LOG", "trace"),
        ] {
            environment.push((name.to_owned(), value.to_owned()));
        }
        environment
    }

    async fn run(&self, sandbox: &Sandbox, auth: TwilioAuth, arguments: &[&str]) -> Run {
        let mut command =
            tokio::process::Command::from(stowage_command(Path::new(BINARY), sandbox, self.environment(auth)));
        command.args(arguments).kill_on_drop(true);
        let output = tokio::time::timeout(RUN_TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| panic!("`stowage {}` did not finish within {RUN_TIMEOUT:?}", arguments.join(" ")))
            .unwrap_or_else(|error| panic!("could not run {BINARY}: {error}"));
        Run {
            command: arguments.join(" "),
            code: output.status.code().expect("stowage exited on its own"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Every access key secret moto ever handed out for the uploader (deleted keys included),
    /// from moto's model dump: the secrets `CreateAccessKey` returned to stowage.
    async fn uploader_key_secrets(&self) -> Vec<String> {
        let url = format!("{}/moto-api/data.json", self.moto.endpoint());
        let dump: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        dump["iam"]["AccessKey"]
            .as_array()
            .expect("moto's dump lists IAM access keys")
            .iter()
            .filter(|key| key["user_name"] == USER)
            .map(|key| key["secret_access_key"].as_str().expect("a key has a secret").to_owned())
            .collect()
    }
}

/// The forms a secret could take on the way out: as is, form-encoded (how the access key
/// secret travels to Twilio), and inside an HTTP Basic header.
fn leak_patterns(secret: &str) -> Vec<String> {
    // An AWS secret is `[A-Za-z0-9/+=]`: these are the characters a form encodes.
    let form_encoded = secret.replace('%', "%25").replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    vec![secret.to_owned(), form_encoded]
}

fn basic_header(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// Every file in the sandbox with its text (lossy) and mode.
fn sandbox_files(sandbox: &Sandbox) -> BTreeMap<PathBuf, (String, u32)> {
    let mut files = BTreeMap::new();
    let mut pending = vec![sandbox.path().to_owned()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                files.insert(path.strip_prefix(sandbox.path()).unwrap().to_owned(), (text, mode));
            }
        }
    }
    files
}

fn recorded_access_key_id(sandbox: &Sandbox) -> String {
    let text = std::fs::read_to_string(sandbox.state_path(SPEC)).unwrap();
    let state: Value = serde_json::from_str(&text).unwrap();
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|resource| resource["address"] == ACCESS_KEY_ADDRESS)
        .and_then(|resource| resource["id"].as_str())
        .expect("the state records the access key")
        .to_owned()
}

fn dev_spec() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/dev.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Drives every command once in a fresh sandbox and returns what they printed.
async fn drive_every_command(world: &World, sandbox: &Sandbox, auth: TwilioAuth) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut step = async |arguments: &[&str], expected: &[i32]| {
        let run = world.run(sandbox, auth, arguments).await;
        assert!(expected.contains(&run.code), "{auth:?}: unexpected exit code\n{run}");
        runs.push(run);
    };
    step(&["validate", SPEC], &[0]).await;
    step(&["plan", SPEC], &[0]).await;
    step(&["plan", SPEC, "--out", "first.plan", "--format", "json"], &[0]).await;
    step(&["show", "first.plan"], &[0]).await;
    step(&["show", "first.plan", "--format", "markdown"], &[0]).await;
    step(&["apply", "first.plan"], &[0]).await;
    step(&["plan", SPEC, "--detailed-exitcode"], &[0]).await;
    step(&["drift", SPEC, "--format", "json"], &[0]).await;
    step(&["verify", SPEC], &[0]).await;

    // The key disappears outside stowage: the next apply makes a new one, with a new secret,
    // and hands it to Twilio in a new credential.
    let old_key = recorded_access_key_id(sandbox);
    world.moto.iam_client().delete_access_key().user_name(USER).access_key_id(&old_key).send().await.unwrap();
    step(&["drift", SPEC], &[2]).await;
    step(&["plan", SPEC, "--out", "second.plan"], &[0]).await;
    step(&["apply", SPEC, "--auto-approve"], &[0]).await;
    assert_ne!(recorded_access_key_id(sandbox), old_key, "{auth:?}: the apply should have made a new access key");
    step(&["verify", SPEC, "--format", "json"], &[0]).await;
    step(&["drift", SPEC], &[0]).await;
    runs
}

async fn no_secret_leaks(world: &World, auth: TwilioAuth) {
    world.moto.reset();
    world.emulator.reset();
    world.proxy.clear();
    let sandbox = Sandbox::new();
    sandbox.write_spec(SPEC, &dev_spec());

    let runs = drive_every_command(world, &sandbox, auth).await;
    assert!(
        runs.iter().any(|run| run.stderr.contains("TRACE")),
        "{auth:?}: RUST_LOG=trace should have reached stowage, or this test proves little"
    );

    let key_secrets = world.uploader_key_secrets().await;
    assert_eq!(key_secrets.len(), 2, "{auth:?}: moto should have made two uploader keys");
    let mut secrets: Vec<(String, String)> = Vec::new();
    for (index, secret) in key_secrets.iter().enumerate() {
        assert_eq!(secret.len(), 40, "an AWS secret is 40 characters");
        for pattern in leak_patterns(secret) {
            secrets.push((format!("access key secret #{}", index + 1), pattern));
        }
    }
    for pattern in leak_patterns(TEST_AUTH_TOKEN) {
        secrets.push(("Twilio auth token".to_owned(), pattern));
    }
    for pattern in leak_patterns(API_KEY_SECRET) {
        secrets.push(("Twilio API key secret".to_owned(), pattern));
    }
    secrets.push(("Basic header (auth token)".to_owned(), basic_header(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)));
    secrets.push(("Basic header (API key)".to_owned(), basic_header(API_KEY_SID, API_KEY_SECRET)));

    let files = sandbox_files(&sandbox);
    let mut places: Vec<(String, &str)> = Vec::new();
    for run in &runs {
        places.push((format!("stdout of `stowage {}`", run.command), &run.stdout));
        places.push((format!("stderr of `stowage {}`", run.command), &run.stderr));
    }
    for (path, (text, _mode)) in &files {
        places.push((format!("file {}", path.display()), text));
    }
    let leaks: Vec<String> = places
        .iter()
        .flat_map(|(place, text)| {
            secrets
                .iter()
                .filter(|(_, pattern)| text.contains(pattern.as_str()))
                .map(move |(what, _)| format!("{what} in {place}"))
        })
        .collect();
    assert!(leaks.is_empty(), "{auth:?}: secrets leaked:\n{}", leaks.join("\n"));

    // Everything stowage writes is private: state, backup, plans, and locks if any.
    let state_name = sandbox.state_path(SPEC).file_name().unwrap().to_string_lossy().into_owned();
    let private: Vec<&PathBuf> = files
        .keys()
        .filter(|path| {
            let name = path.to_string_lossy();
            name.starts_with(&state_name) || name.ends_with(".plan")
        })
        .collect();
    for expected in ["dev.state.json", "dev.state.json.backup", "first.plan", "second.plan"] {
        assert!(files.contains_key(Path::new(expected)), "{auth:?}: {expected} should exist: {:?}", files.keys());
    }
    for path in private {
        assert_eq!(files[path].1, 0o600, "{auth:?}: {} should be mode 0600", path.display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_command_leaks_a_secret_with_either_kind_of_twilio_credentials() {
    let world = World::start().await;
    tokio::time::timeout(TEST_TIMEOUT, async {
        no_secret_leaks(&world, TwilioAuth::AuthToken).await;
        no_secret_leaks(&world, TwilioAuth::ApiKey).await;
    })
    .await
    .unwrap_or_else(|_| panic!("the test did not finish within {TEST_TIMEOUT:?}"));
}
