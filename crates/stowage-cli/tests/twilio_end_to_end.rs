//! The Twilio side, end to end: the `stowage` binary applies `examples/dev.toml` against a
//! real moto (behind a recording proxy) and the Twilio emulator. What exists is checked through
//! the AWS SDK and the emulator's own HTTP API and request log, never through stowage's state
//! (the state is read only for the ids stowage recorded).

use std::collections::BTreeSet;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use stowage_test_support::twilio_emulator::{RecordedRequest, RunningEmulator};
use stowage_test_support::{
    AwsProxy, Moto, Sandbox, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, dev_spec, insta_filters, start_emulator,
    stowage_command, twilio_env,
};

const BINARY: &str = env!("CARGO_BIN_EXE_stowage");
const SPEC: &str = "dev.toml";
// What `examples/dev.toml` names, and where Twilio keeps what it makes.
const REGION: &str = "us-east-2";
const BUCKET: &str = "acme-video-dev";
const USER: &str = "twilio-video-uploader-dev";
const POLICY_NAME: &str = "stowage-twilio-video-upload";
const RECORDINGS_URL: &str = "https://acme-video-dev.s3-us-east-2.amazonaws.com/recordings";
const COMPOSITIONS_URL: &str = "https://acme-video-dev.s3-us-east-2.amazonaws.com/compositions";
const CREDENTIALS_PATH: &str = "/v1/Credentials/AWS";
const RECORDING_SETTINGS_PATH: &str = "/v1/RecordingSettings/Default";
const COMPOSITION_SETTINGS_PATH: &str = "/v1/CompositionSettings/Default";
// The state addresses whose ids the tests need.
const ACCESS_KEY_ADDRESS: &str = "aws_iam_access_key.uploader";
const CREDENTIAL_ADDRESS: &str = "twilio_aws_credential.main";

/// One `stowage` run; a hung run is killed (`kill_on_drop`) when this passes.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// One HTTP call of the test itself to moto or the emulator.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole test, once moto is up (moto's own start is bounded by the support crate).
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Fails the test instead of hanging when `body` does not finish within [`TEST_TIMEOUT`].
async fn bounded<Output>(body: impl Future<Output = Output>) -> Output {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {TEST_TIMEOUT:?}"))
}

/// moto behind a recording proxy, the Twilio emulator, and a sandbox holding `dev.toml`.
///
/// The emulator writes its storage test straight into moto, not through the proxy, so the
/// proxy sees stowage's AWS calls only.
struct World {
    moto: Moto,
    proxy: AwsProxy,
    emulator: RunningEmulator,
    sandbox: Sandbox,
    http: reqwest::Client,
}

/// What one `stowage` run printed and how it ended.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Shown when an assertion about a run fails: everything the run printed.
impl fmt::Display for Run {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

impl World {
    /// With `enforce_iam`, moto checks every call against IAM policies from the start, and
    /// stowage and the test's SDK clients use moto's admin key.
    async fn start(enforce_iam: bool) -> World {
        let moto = Moto::start();
        if enforce_iam {
            moto.enforce_iam(true);
        }
        let proxy = AwsProxy::start(&moto.endpoint()).await;
        let emulator = start_emulator(&moto.endpoint()).await;
        let sandbox = Sandbox::new();
        sandbox.write_spec(SPEC, &dev_spec());
        let http = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build().unwrap();
        World { moto, proxy, emulator, sandbox, http }
    }

    /// AWS through the proxy, Twilio at the emulator.
    fn environment(&self) -> Vec<(String, String)> {
        let mut environment = self.moto.aws_env_via(&self.proxy.endpoint());
        environment.extend(twilio_env(&self.emulator.base_url()));
        environment
    }

    async fn run_with(&self, arguments: &[&str], environment: Vec<(String, String)>) -> Run {
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

    async fn run(&self, arguments: &[&str]) -> Run {
        self.run_with(arguments, self.environment()).await
    }

    async fn apply(&self) -> Run {
        let run = self.run(&["apply", SPEC, "--auto-approve"]).await;
        assert_eq!(run.code, 0, "apply failed\n{run}");
        run
    }

    async fn plan(&self) -> Run {
        self.run(&["plan", SPEC, "--detailed-exitcode"]).await
    }

    async fn assert_plan_is_clean(&self) {
        let plan = self.plan().await;
        assert_eq!(plan.code, 0, "the plan after this apply should have nothing to do\n{plan}");
    }

    fn state(&self) -> Value {
        let path = self.sandbox.state_path(SPEC);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    /// The id the state records for `address`.
    fn recorded_id(&self, address: &str) -> String {
        let state = self.state();
        let resource = state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|resource| resource["address"] == address)
            .unwrap_or_else(|| panic!("no {address} in the state:\n{state:#}"));
        resource["id"].as_str().unwrap().to_owned()
    }

    /// Twilio's view of `path`, as the test account.
    async fn twilio_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.emulator.base_url()))
            .basic_auth(TEST_ACCOUNT_SID, Some(TEST_AUTH_TOKEN))
            .send()
            .await
            .unwrap()
    }

    async fn settings(&self, path: &str) -> Value {
        let response = self.twilio_get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    async fn credential_exists(&self, sid: &str) -> bool {
        let response = self.twilio_get(&format!("{CREDENTIALS_PATH}/{sid}")).await;
        match response.status().as_u16() {
            200 => true,
            404 => false,
            other => panic!("GET credential {sid} answered {other}"),
        }
    }

    /// Deletes a credential as someone in Twilio's console would: through the API.
    async fn delete_credential_out_of_band(&self, sid: &str) {
        let response = self
            .http
            .delete(format!("{}{CREDENTIALS_PATH}/{sid}", self.emulator.base_url()))
            .basic_auth(TEST_ACCOUNT_SID, Some(TEST_AUTH_TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }

    /// Where the emulator's request log ends now; see [`World::twilio_requests_since`].
    fn twilio_log_mark(&self) -> usize {
        self.emulator.requests().len()
    }

    fn twilio_requests_since(&self, mark: usize) -> Vec<RecordedRequest> {
        self.emulator.requests().split_off(mark)
    }

    /// `POST /v1/...` lines of the Twilio writes (anything but GET) since `mark`, in order.
    fn twilio_writes_since(&self, mark: usize) -> Vec<String> {
        self.twilio_requests_since(mark)
            .into_iter()
            .filter(|request| request.method != "GET")
            .map(|request| format!("{} {} {}", request.method, request.path, request.status))
            .collect()
    }

    async fn access_key_ids(&self) -> Vec<String> {
        let listed = self.moto.iam_client().list_access_keys().user_name(USER).send().await.unwrap();
        listed.access_key_metadata().iter().filter_map(|key| key.access_key_id().map(str::to_owned)).collect()
    }

    async fn delete_access_key_out_of_band(&self, access_key_id: &str) {
        self.moto.iam_client().delete_access_key().user_name(USER).access_key_id(access_key_id).send().await.unwrap();
    }

    /// The secret of the uploader's current access key, from moto's own model dump
    /// (`/moto-api/data.json`): the one place besides stowage's memory that holds it.
    async fn uploader_secret_from_moto(&self) -> String {
        let dump: Value = self
            .http
            .get(format!("{}/moto-api/data.json", self.moto.endpoint()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secrets: Vec<&str> = dump["iam"]["AccessKey"]
            .as_array()
            .expect("moto's dump lists IAM access keys")
            .iter()
            .filter(|key| key["user_name"] == USER)
            .filter_map(|key| key["secret_access_key"].as_str())
            .collect();
        assert_eq!(secrets.len(), 1, "the uploader should have one key in moto");
        secrets[0].to_owned()
    }
}

/// Both settings as `(aws_storage_enabled, aws_credentials_sid, aws_s3_url)`.
async fn storage_settings(world: &World) -> [(Value, Value, Value); 2] {
    let read = |settings: Value| {
        (
            settings["aws_storage_enabled"].clone(),
            settings["aws_credentials_sid"].clone(),
            settings["aws_s3_url"].clone(),
        )
    };
    [read(world.settings(RECORDING_SETTINGS_PATH).await), read(world.settings(COMPOSITION_SETTINGS_PATH).await)]
}

/// What both settings hold when they store into the dev bucket with `credential_sid`.
fn storing_with(credential_sid: &str) -> [(Value, Value, Value); 2] {
    [
        (Value::Bool(true), Value::from(credential_sid), Value::from(RECORDINGS_URL)),
        (Value::Bool(true), Value::from(credential_sid), Value::from(COMPOSITIONS_URL)),
    ]
}

/// `text` with miette's line wrapping and gutters undone, whitespace collapsed: a phrase
/// reads whole wherever the 80-column wrap broke it.
fn unwrapped(text: &str) -> String {
    text.split(|character: char| character.is_whitespace() || character == '│')
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn one_apply_of_dev_wires_twilio_to_the_bucket_and_the_next_plan_writes_nothing() {
    let world = World::start(false).await;
    bounded(async {
        let first_plan = world.plan().await;
        assert_eq!(first_plan.code, 2, "the first plan has everything to create\n{first_plan}");
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!("first_plan_of_dev", first_plan.stdout);
        });

        world.apply().await;

        // AWS, as the SDK sees it.
        let s3 = world.moto.s3_client(REGION);
        s3.head_bucket().bucket(BUCKET).send().await.unwrap();
        let iam = world.moto.iam_client();
        iam.get_user().user_name(USER).send().await.unwrap();
        let policies = iam.list_user_policies().user_name(USER).send().await.unwrap();
        assert_eq!(policies.policy_names(), [POLICY_NAME]);
        let key_ids = world.access_key_ids().await;
        assert_eq!(key_ids, [world.recorded_id(ACCESS_KEY_ADDRESS)]);

        // Twilio, as its API answers.
        let credential_sid = world.recorded_id(CREDENTIAL_ADDRESS);
        assert!(world.credential_exists(&credential_sid).await);
        assert_eq!(storage_settings(&world).await, storing_with(&credential_sid));

        // The bucket holds Twilio's test files and nothing of stowage's own write test, not
        // even an old version or a delete marker.
        let listed = s3.list_objects_v2().bucket(BUCKET).send().await.unwrap();
        let keys: Vec<&str> = listed.contents().iter().filter_map(|object| object.key()).collect();
        assert_eq!(
            keys,
            ["compositions/twilio-storage-test-compositions.txt", "recordings/twilio-storage-test-recordings.txt"]
        );
        let versions = s3.list_object_versions().bucket(BUCKET).send().await.unwrap();
        let version_keys: Vec<&str> = versions
            .versions()
            .iter()
            .filter_map(|version| version.key())
            .chain(versions.delete_markers().iter().filter_map(|marker| marker.key()))
            .collect();
        assert!(
            version_keys.iter().all(|key| !key.contains("stowage-write-test-")),
            "stowage's write test left {version_keys:?}"
        );

        // A converged environment: the plan reads, and writes nowhere.
        world.proxy.clear();
        let mark = world.twilio_log_mark();
        world.assert_plan_is_clean().await;
        assert_eq!(world.twilio_writes_since(mark), Vec::<String>::new(), "the plan wrote to Twilio");
        assert!(!world.twilio_requests_since(mark).is_empty(), "the plan should have read Twilio");
        assert_eq!(world.proxy.writes(), vec![], "the plan wrote to AWS");
        assert!(!world.proxy.requests().is_empty(), "the plan should have read AWS");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_deleted_out_of_band_is_rotated_new_credential_first_old_credential_last() {
    let world = World::start(false).await;
    bounded(async {
        world.apply().await;
        let old_key = world.recorded_id(ACCESS_KEY_ADDRESS);
        let old_credential = world.recorded_id(CREDENTIAL_ADDRESS);
        world.delete_access_key_out_of_band(&old_key).await;

        let mark = world.twilio_log_mark();
        let rotation = world.apply().await;
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!("rotation_apply", rotation.stdout);
        });

        let new_key = world.recorded_id(ACCESS_KEY_ADDRESS);
        let new_credential = world.recorded_id(CREDENTIAL_ADDRESS);
        assert_ne!(new_key, old_key);
        assert_ne!(new_credential, old_credential);
        assert_eq!(world.access_key_ids().await, [new_key]);

        // Twilio never points at a missing credential: the new one exists before the settings
        // move to it, and the old one goes only after both have moved.
        let writes = world.twilio_writes_since(mark);
        assert_eq!(writes.len(), 4, "{writes:#?}");
        assert_eq!(writes[0], format!("POST {CREDENTIALS_PATH} 201"), "{writes:#?}");
        assert_eq!(
            sorted(writes[1..3].to_vec()),
            [format!("POST {COMPOSITION_SETTINGS_PATH} 200"), format!("POST {RECORDING_SETTINGS_PATH} 200")],
            "{writes:#?}"
        );
        assert_eq!(writes[3], format!("DELETE {CREDENTIALS_PATH}/{old_credential} 204"), "{writes:#?}");

        assert!(!world.credential_exists(&old_credential).await);
        assert!(world.credential_exists(&new_credential).await);
        assert_eq!(storage_settings(&world).await, storing_with(&new_credential));
        world.assert_plan_is_clean().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_credential_deleted_in_twilio_is_replaced_with_a_new_key_and_the_old_key_goes() {
    let world = World::start(false).await;
    bounded(async {
        world.apply().await;
        let old_key = world.recorded_id(ACCESS_KEY_ADDRESS);
        let old_credential = world.recorded_id(CREDENTIAL_ADDRESS);
        world.delete_credential_out_of_band(&old_credential).await;

        world.apply().await;

        // The new credential needs a secret, and only a new key has one to give.
        let new_key = world.recorded_id(ACCESS_KEY_ADDRESS);
        let new_credential = world.recorded_id(CREDENTIAL_ADDRESS);
        assert_ne!(new_key, old_key);
        assert_ne!(new_credential, old_credential);
        assert_eq!(world.access_key_ids().await, [new_key], "the old key should be deleted");
        assert!(world.credential_exists(&new_credential).await);
        assert_eq!(storage_settings(&world).await, storing_with(&new_credential));
        world.assert_plan_is_clean().await;
    })
    .await;
}

/// Whether `text` could be an AWS secret access key: 40 characters of `[A-Za-z0-9/+]` with a
/// `/` or `+` or both upper and lower case letters, and not a camel-case identifier.
///
/// Real secrets are 40 random base64 characters: one without `/`, `+` or mixed case turns up
/// about once in five billion, and one that reads as camel-case words (no digit, no `/` or
/// `+`, no two capitals in a row) far more rarely still. What else is 40 long in this alphabet
/// and must not count: hex digests and Twilio tokens (lower case and digits), access key ids
/// (upper case and digits), and Rust type names in trace logs such as
/// `CreateAccessKeyEndpointParamsInterceptor`.
fn looks_like_aws_secret(text: &str) -> bool {
    static CAMEL_CASE_WORDS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z]*(?:[A-Z][a-z]+)+$").unwrap());
    let has = |test: fn(&char) -> bool| text.chars().any(|character| test(&character));
    text.len() == 40
        && text.chars().all(|character| character.is_ascii_alphanumeric() || character == '/' || character == '+')
        && (has(|character| *character == '/' || *character == '+')
            || (has(char::is_ascii_uppercase) && has(char::is_ascii_lowercase)))
        && !CAMEL_CASE_WORDS.is_match(text)
}

/// Every maximal run of `[A-Za-z0-9/+]` in `text` that looks like an AWS secret and is not in
/// the spec. Colour codes go first: the `m` ending one would glue onto a value after it. A
/// secret glued to other characters of that alphabet makes a longer run and is not found, which
/// is why the known secret is also searched for verbatim.
fn secret_like_runs(text: &str, spec: &str) -> Vec<String> {
    static COLOUR_CODES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\x1b\[[0-9;]*m").unwrap());
    static RUNS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9/+]+").unwrap());
    let text = COLOUR_CODES.replace_all(text, " ");
    RUNS.find_iter(&text)
        .map(|run| run.as_str())
        .filter(|run| looks_like_aws_secret(run) && !spec.contains(run))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_stdout_stderr_the_state_or_its_backup_even_at_trace_level() {
    let world = World::start(false).await;
    bounded(async {
        let mut environment = world.environment();
        environment.push(("RUST_LOG".to_owned(), "trace".to_owned()));
        let run = world.run_with(&["apply", SPEC, "--auto-approve"], environment).await;
        assert_eq!(run.code, 0, "{run}");
        assert!(run.stderr.lines().count() > 100, "RUST_LOG=trace should log plenty:\n{}", run.stderr);

        let secret = world.uploader_secret_from_moto().await;
        let state_path = world.sandbox.state_path(SPEC);
        let backup_path = world.sandbox.backup_path(SPEC);
        let spec = dev_spec();
        let outputs = [
            ("stdout", run.stdout.clone()),
            ("stderr", run.stderr.clone()),
            ("the state", std::fs::read_to_string(&state_path).unwrap()),
            ("the backup", std::fs::read_to_string(&backup_path).unwrap()),
        ];
        // The heuristic would have caught this very secret, wherever it appeared.
        assert!(looks_like_aws_secret(&secret), "moto's secret is shaped unlike AWS's");
        let coloured_log_line = format!("\x1b[3msecret_access_key\x1b[0m\x1b[2m=\x1b[0m{secret}\x1b[0m\n");
        assert_eq!(secret_like_runs(&coloured_log_line, &spec), [secret.as_str()]);
        for (name, text) in &outputs {
            assert!(!text.contains(&secret), "the access key's secret is in {name}");
            assert!(!text.contains(TEST_AUTH_TOKEN), "the Twilio auth token is in {name}");
            assert_eq!(secret_like_runs(text, &spec), Vec::<String>::new(), "something like a secret is in {name}");
        }

        // Readable by their owner only.
        for path in [state_path, backup_path] {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} has mode {mode:o}", path.display());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_key_that_cannot_write_fails_the_apply_and_leaves_twilio_untouched() {
    let world = World::start(true).await;
    bounded(async {
        world.apply().await;
        let old_key = world.recorded_id(ACCESS_KEY_ADDRESS);
        let old_credential = world.recorded_id(CREDENTIAL_ADDRESS);

        // Someone denies the uploader its one permission, and the key must be replaced.
        let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}"#;
        let iam = world.moto.iam_client();
        iam.put_user_policy()
            .user_name(USER)
            .policy_name("deny-put-object")
            .policy_document(deny)
            .send()
            .await
            .unwrap();
        world.delete_access_key_out_of_band(&old_key).await;

        world.proxy.clear();
        let mark = world.twilio_log_mark();
        let failed = world.run(&["apply", SPEC, "--auto-approve"]).await;
        assert_eq!(failed.code, 1, "{failed}");
        assert!(unwrapped(&failed.stderr).contains("write test failed"), "{failed}");

        // The key was made, failed its test, and was deleted; Twilio never heard of it.
        let aws_writes: Vec<String> = world.proxy.writes().iter().map(ToString::to_string).collect();
        assert_eq!(
            aws_writes,
            ["iam CreateAccessKey write 200", "s3 PutObject write 403", "iam DeleteAccessKey write 200"]
        );
        assert_eq!(world.access_key_ids().await, Vec::<String>::new(), "the failed key should be deleted");
        assert_eq!(world.twilio_writes_since(mark), Vec::<String>::new(), "Twilio should not be changed");
        assert_eq!(storage_settings(&world).await, storing_with(&old_credential));
        assert!(world.credential_exists(&old_credential).await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_to_twilio_conforms_to_its_openapi_documents() {
    let world = World::start(false).await;
    bounded(async {
        world.apply().await;
        world.delete_access_key_out_of_band(&world.recorded_id(ACCESS_KEY_ADDRESS)).await;
        world.apply().await;
        world.assert_plan_is_clean().await;

        let requests = world.emulator.requests();
        let nonconforming: Vec<&RecordedRequest> =
            requests.iter().filter(|request| !request.conforms || !request.violations.is_empty()).collect();
        assert!(nonconforming.is_empty(), "{nonconforming:#?}");
        // Every operation stowage uses was exercised, so the check above covered them all.
        let operations: BTreeSet<String> = requests
            .iter()
            .map(|request| {
                let path = match request.path.strip_prefix(CREDENTIALS_PATH) {
                    Some("") | None => request.path.clone(),
                    Some(_) => format!("{CREDENTIALS_PATH}/{{sid}}"),
                };
                format!("{} {path}", request.method)
            })
            .collect();
        let expected = [
            "DELETE /v1/Credentials/AWS/{sid}",
            "GET /v1/CompositionSettings/Default",
            "GET /v1/Credentials/AWS/{sid}",
            "GET /v1/RecordingSettings/Default",
            "POST /v1/CompositionSettings/Default",
            "POST /v1/Credentials/AWS",
            "POST /v1/RecordingSettings/Default",
        ];
        let missing: Vec<&str> = expected.into_iter().filter(|operation| !operations.contains(*operation)).collect();
        assert!(missing.is_empty(), "never exercised: {missing:?}; seen: {operations:#?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_without_twilio_credentials_names_the_variables_and_calls_nothing() {
    let world = World::start(false).await;
    bounded(async {
        let mut environment: Vec<(String, String)> = world
            .environment()
            .into_iter()
            .filter(|(name, _)| name != "TWILIO_ACCOUNT_SID" && name != "TWILIO_AUTH_TOKEN")
            .collect();
        // Without the AWS SDK's warnings about the absent config files the test points it at:
        // they carry timestamps, and no user would see them.
        environment.push(("RUST_LOG".to_owned(), "error".to_owned()));
        let plan = world.run_with(&["plan", SPEC], environment).await;
        assert_eq!(plan.code, 1, "{plan}");
        assert_eq!(plan.stdout, "");
        for variable in ["TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"] {
            assert!(unwrapped(&plan.stderr).contains(variable), "{variable} is not named\n{plan}");
        }
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!("missing_twilio_credentials", plan.stderr);
        });
        assert_eq!(world.proxy.requests(), vec![], "nothing should reach AWS before the Twilio check");
        assert_eq!(world.emulator.requests(), vec![], "nothing should reach Twilio without credentials");
        assert!(!world.sandbox.state_path(SPEC).exists());
    })
    .await;
}

/// Fails until `init_logging` in `src/main.rs` colours only a terminal (see the report).
#[tokio::test(flavor = "multi_thread")]
async fn log_lines_on_a_stderr_that_is_not_a_terminal_carry_no_colour_codes() {
    let world = World::start(false).await;
    bounded(async {
        let mut environment = world.environment();
        environment.push(("RUST_LOG".to_owned(), "info".to_owned()));
        let plan = world.run_with(&["plan", SPEC], environment).await;
        assert_eq!(plan.code, 0, "{plan}");
        assert!(plan.stderr.contains("refreshed"), "the refresh should log at info level\n{plan}");
        assert!(!plan.stderr.contains('\x1b'), "colour codes in a log written to a pipe:\n{}", plan.stderr);
    })
    .await;
}
