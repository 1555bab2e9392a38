//! Secret hygiene: with `RUST_LOG=trace`, `stowage` runs against moto (with an admin key of
//! its own, so the operator's AWS secret is a real one) and the Twilio emulator, each behind a
//! recording proxy, and no secret reaches anything it prints, writes or sends outside the one
//! place a secret belongs (the credential POST's form).
//!
//! The secrets: every access key secret moto handed out for an uploader (learnt from moto's own
//! model dump, deleted keys included), the operator's AWS secret, the Twilio auth token and the
//! API key secret, and HTTP Basic headers made of them. Each is searched as is, form-encoded,
//! JSON-escaped, base64 of the secret alone (padded, unpadded, URL-safe) and as every run of 16
//! characters of it (a truncated or partial leak), runs that are part of a public identifier
//! (an account SID) aside.
//!
//! Where: stdout and stderr of every run, every file in the sandbox (state, backup, saved plans,
//! lock and lock record), and what reached the services: moto's whole model dump with the
//! access keys' own secret fields taken out, the IAM users, tags and policies, the buckets'
//! tags, policies, configuration and every object version's body, the KMS keys' descriptions,
//! policies, tags and aliases (all read with the AWS SDK); the emulator's credentials, public
//! keys, settings and request log; the proxies' journals. The proxies record no bodies, and the
//! emulator's log names parameters without values, so what was *sent* is checked by what the
//! services kept of it.
//!
//! The paths: every command, once with Account SID + auth token and once with API key +
//! secret, including an apply that replaces the access key; applies failing on injected faults
//! (a `CreateAccessKey` that times out after making a key, a 500 on the credential POST, 500s
//! on the settings); an apply SIGKILLed while the credential POST's answer is held, then
//! `force-unlock` with a wrong and the recorded id; a new key failing its write test (denied
//! `PutObject`) and deleted; `examples/prod.toml` (SSE-KMS, a key stowage creates) and the same
//! with an encryption public key for recordings. State, backup, lock and plan files are private
//! (0600).

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use stowage_test_support::twilio_emulator::{self, EmulatorConfig, FaultRule, RunningEmulator};
use stowage_test_support::{
    AwsProxy, Fault, FaultAction, Moto, Sandbox, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, dev_spec, example_spec,
    stowage_command,
};
use tokio::io::AsyncReadExt;

const BINARY: &str = env!("CARGO_BIN_EXE_stowage");
const SPEC: &str = "dev.toml";
const USER: &str = "twilio-video-uploader-dev";
/// Every uploader of the specs here is named so; moto's admin user is not.
const UPLOADER_PREFIX: &str = "twilio-video-uploader-";
const ACCESS_KEY_ADDRESS: &str = "aws_iam_access_key.uploader";
/// An API key of the test account, known to the emulator only for this test.
const API_KEY_SID: &str = "SK00112233445566778899aabbccddeeff";
const API_KEY_SECRET: &str = "hygieneApiKeySecret0123456789abcdefXYZ";
/// Identifiers that are public by nature: a run of a secret's characters found inside one of
/// them is no leak.
const PUBLIC_IDENTIFIERS: [&str; 2] = [TEST_ACCOUNT_SID, API_KEY_SID];
/// The shortest part of a secret that counts as a leak.
const LEAK_RUN: usize = 16;
const DENY_PUT_OBJECT: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}"#;

const RUN_TIMEOUT: Duration = Duration::from_secs(120);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
const TEST_TIMEOUT: Duration = Duration::from_secs(400);
/// How long a held request may take to arrive; a run that reaches it does so in seconds.
const HOLD_LIMIT: Duration = Duration::from_secs(60);
const SETTLE_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
enum TwilioAuth {
    AuthToken,
    ApiKey,
}

struct Run {
    command: String,
    /// `None` when the run was killed.
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stderr_tail: String =
            self.stderr.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        write!(
            formatter,
            "`stowage {}` exit {:?}\n--- stdout\n{}\n--- stderr (tail)\n{stderr_tail}",
            self.command, self.code, self.stdout
        )
    }
}

struct World {
    moto: Moto,
    /// In front of moto.
    proxy: AwsProxy,
    emulator: RunningEmulator,
    /// In front of the emulator: holds the credential POST's answer for the SIGKILL path.
    twilio: AwsProxy,
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
        let twilio = AwsProxy::start(&emulator.base_url()).await;
        let http = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build().unwrap();
        World { moto, proxy, emulator, twilio, http }
    }

    /// An untouched account on both sides. The operator's key is an admin key of its own, not
    /// moto's `testing`: a real secret to search for. IAM is not enforced (moto's enforcement
    /// refuses the signature of `verify`'s `ListObjectsV2` with a prefix), except where a path
    /// turns it on.
    fn reset(&self) {
        self.moto.reset();
        self.moto.enforce_iam(true);
        self.moto.enforce_iam(false);
        self.emulator.reset();
        self.proxy.clear();
        self.twilio.clear();
    }

    fn environment(&self, auth: TwilioAuth) -> Vec<(String, String)> {
        let mut environment = self.moto.aws_env_via(&self.proxy.endpoint());
        let base_url = self.twilio.endpoint();
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

    fn command(
        &self,
        sandbox: &Sandbox,
        auth: TwilioAuth,
        arguments: &[&str],
        extra: &[(&str, &str)],
    ) -> tokio::process::Command {
        let mut command =
            tokio::process::Command::from(stowage_command(Path::new(BINARY), sandbox, self.environment(auth)));
        command.args(arguments).envs(extra.iter().copied()).kill_on_drop(true);
        command
    }

    async fn run(&self, sandbox: &Sandbox, auth: TwilioAuth, arguments: &[&str]) -> Run {
        self.run_with(sandbox, auth, arguments, &[]).await
    }

    /// A run with `extra` variables in its environment; it returns once every request it sent
    /// has landed (a delayed one reaches moto after its client gave up).
    async fn run_with(&self, sandbox: &Sandbox, auth: TwilioAuth, arguments: &[&str], extra: &[(&str, &str)]) -> Run {
        let output = tokio::time::timeout(RUN_TIMEOUT, self.command(sandbox, auth, arguments, extra).output())
            .await
            .unwrap_or_else(|_| panic!("`stowage {}` did not finish within {RUN_TIMEOUT:?}", arguments.join(" ")))
            .unwrap_or_else(|error| panic!("could not run {BINARY}: {error}"));
        self.settled().await;
        Run {
            command: arguments.join(" "),
            code: Some(output.status.code().expect("stowage exited on its own")),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    async fn settled(&self) {
        let settled = async { tokio::join!(self.proxy.settled(), self.twilio.settled()) };
        tokio::time::timeout(SETTLE_LIMIT, settled).await.expect("delayed requests landed");
    }

    /// Starts `stowage ARGUMENTS`, waits until `proxy` holds a request, and kills the process
    /// there (SIGKILL). Returns what it printed until then and the held request.
    async fn kill_at_hold(
        &self,
        sandbox: &Sandbox,
        auth: TwilioAuth,
        arguments: &[&str],
        proxy: &AwsProxy,
    ) -> (Run, String) {
        let mut command = self.command(sandbox, auth, arguments, &[]);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("stowage starts");
        // Read as it comes: at trace level the output outgrows a pipe's buffer.
        let read_all = |stream: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin>>| {
            tokio::spawn(async move {
                let mut text = Vec::new();
                if let Some(mut stream) = stream {
                    let _ = stream.read_to_end(&mut text).await;
                }
                String::from_utf8_lossy(&text).into_owned()
            })
        };
        let stdout = read_all(child.stdout.take().map(|stream| Box::new(stream) as _));
        let stderr = read_all(child.stderr.take().map(|stream| Box::new(stream) as _));
        let held = tokio::time::timeout(HOLD_LIMIT, async {
            tokio::select! {
                held = proxy.held() => Ok(held.to_string()),
                status = child.wait() => Err(status),
            }
        })
        .await
        .expect("the run reached the held request or ended in time");
        let held = match held {
            Ok(held) => held,
            Err(status) => panic!("`stowage {}` ended ({status:?}) before the held request", arguments.join(" ")),
        };
        child.start_kill().expect("SIGKILL sent");
        let status = tokio::time::timeout(RUN_TIMEOUT, child.wait()).await.expect("reaped in time").unwrap();
        assert_eq!(status.code(), None, "stowage was killed by a signal, it did not exit");
        let run = Run {
            command: arguments.join(" "),
            code: None,
            stdout: stdout.await.expect("stdout read"),
            stderr: stderr.await.expect("stderr read"),
        };
        (run, held)
    }

    /// moto's model dump (`/moto-api/data.json`): every model it holds, deleted ones included.
    async fn moto_dump(&self) -> Value {
        let url = format!("{}/moto-api/data.json", self.moto.endpoint());
        self.http.get(url).send().await.unwrap().json().await.unwrap()
    }

    /// Every access key secret moto ever handed out for an uploader (deleted keys included):
    /// the secrets `CreateAccessKey` returned to stowage.
    async fn uploader_key_secrets(&self) -> Vec<String> {
        let dump = self.moto_dump().await;
        dump["iam"]["AccessKey"]
            .as_array()
            .expect("moto's dump lists IAM access keys")
            .iter()
            .filter(|key| key["user_name"].as_str().is_some_and(|user| user.starts_with(UPLOADER_PREFIX)))
            .map(|key| key["secret_access_key"].as_str().expect("a key has a secret").to_owned())
            .collect()
    }

    /// The operator's own AWS secret: the one `stowage` is given in `AWS_SECRET_ACCESS_KEY`.
    fn operator_secret(&self) -> String {
        let environment = self.moto.aws_env();
        let secret = environment
            .iter()
            .find(|(name, _)| name == "AWS_SECRET_ACCESS_KEY")
            .map(|(_, value)| value.clone())
            .expect("the environment has an AWS secret");
        assert!(secret.len() >= 40, "the operator's secret is a real one, not moto's `testing`");
        secret
    }

    async fn emulator_get(&self, path: &str) -> String {
        let response = self
            .http
            .get(format!("{}{path}", self.emulator.base_url()))
            .basic_auth(TEST_ACCOUNT_SID, Some(TEST_AUTH_TOKEN))
            .send()
            .await
            .expect("the emulator answers");
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.text().await.expect("a body")
    }

    /// What AWS and Twilio kept of what stowage sent them, and what the proxies saw, each with
    /// a name: the places the secrets must not be, besides stowage's own output and files.
    async fn what_reached_the_services(&self) -> Vec<(String, String)> {
        let mut places = Vec::new();
        let journal = |proxy: &AwsProxy| proxy.requests().iter().map(ToString::to_string).collect::<Vec<_>>();
        places.push(("the AWS proxy's journal".to_owned(), journal(&self.proxy).join("\n")));
        places.push(("the Twilio proxy's journal".to_owned(), journal(&self.twilio).join("\n")));

        // moto keeps the access keys' secrets on purpose: everything else it holds is searched.
        let mut dump = self.moto_dump().await;
        without_secret_fields(&mut dump);
        places.push(("moto's model dump (access key secrets aside)".to_owned(), dump.to_string()));

        let iam = self.moto.iam_client();
        let users = iam.list_users().send().await.expect("moto lists the users");
        for user in users.users() {
            let name = user.user_name();
            places.push((format!("IAM user {name}"), format!("{} {} {}", name, user.path(), user.arn())));
            let tags = iam.list_user_tags().user_name(name).send().await.expect("moto lists a user's tags");
            let tags: Vec<String> = tags.tags().iter().map(|tag| format!("{}={}", tag.key(), tag.value())).collect();
            places.push((format!("tags of IAM user {name}"), tags.join("\n")));
            let policies = iam.list_user_policies().user_name(name).send().await.expect("moto lists the policies");
            for policy in policies.policy_names() {
                let got = iam.get_user_policy().user_name(name).policy_name(policy).send().await.expect("a policy");
                places.push((
                    format!("policy {policy} of IAM user {name}"),
                    format!("{policy}\n{}", percent_decoded(got.policy_document())),
                ));
            }
        }

        let s3 = self.moto.s3_client("us-east-2");
        let buckets = s3.list_buckets().send().await.expect("moto lists the buckets");
        for bucket in buckets.buckets().iter().filter_map(|bucket| bucket.name()) {
            if let Ok(tags) = s3.get_bucket_tagging().bucket(bucket).send().await {
                let tags: Vec<String> =
                    tags.tag_set().iter().map(|tag| format!("{}={}", tag.key(), tag.value())).collect();
                places.push((format!("tags of bucket {bucket}"), tags.join("\n")));
            }
            if let Ok(policy) = s3.get_bucket_policy().bucket(bucket).send().await {
                places.push((format!("policy of bucket {bucket}"), policy.policy().unwrap_or_default().to_owned()));
            }
            if let Ok(rules) = s3.get_bucket_lifecycle_configuration().bucket(bucket).send().await {
                places.push((format!("lifecycle of bucket {bucket}"), format!("{:?}", rules.rules())));
            }
            if let Ok(encryption) = s3.get_bucket_encryption().bucket(bucket).send().await {
                let configuration = encryption.server_side_encryption_configuration();
                places.push((format!("default encryption of bucket {bucket}"), format!("{configuration:?}")));
            }
            let versions = s3.list_object_versions().bucket(bucket).send().await.expect("moto lists versions");
            for version in versions.versions() {
                let (Some(key), Some(id)) = (version.key(), version.version_id()) else { continue };
                let object = s3.get_object().bucket(bucket).key(key).version_id(id).send().await.expect("an object");
                let body = object.body.collect().await.expect("an object body").into_bytes();
                places.push((
                    format!("object {key} (version {id}) in bucket {bucket}"),
                    format!("{key}\n{}", String::from_utf8_lossy(&body)),
                ));
            }
        }

        let kms = self.moto.kms_client("us-east-2");
        let keys = kms.list_keys().send().await.expect("moto lists the KMS keys");
        for key in keys.keys().iter().filter_map(|key| key.key_id()) {
            let described = kms.describe_key().key_id(key).send().await.expect("moto describes the key");
            let description = described.key_metadata().and_then(|metadata| metadata.description()).unwrap_or_default();
            places.push((format!("description of KMS key {key}"), description.to_owned()));
            let policy = kms.get_key_policy().key_id(key).policy_name("default").send().await.expect("a key policy");
            places.push((format!("policy of KMS key {key}"), policy.policy().unwrap_or_default().to_owned()));
            let tags = kms.list_resource_tags().key_id(key).send().await.expect("moto lists the key's tags");
            let tags: Vec<String> =
                tags.tags().iter().map(|tag| format!("{}={}", tag.tag_key(), tag.tag_value())).collect();
            places.push((format!("tags of KMS key {key}"), tags.join("\n")));
        }
        let aliases = kms.list_aliases().send().await.expect("moto lists the aliases");
        let aliases: Vec<String> = aliases.aliases().iter().map(|alias| format!("{alias:?}")).collect();
        places.push(("KMS aliases".to_owned(), aliases.join("\n")));

        for path in [
            "/v1/Credentials/AWS?PageSize=100",
            "/v1/Credentials/PublicKeys?PageSize=100",
            "/v1/RecordingSettings/Default",
            "/v1/CompositionSettings/Default",
        ] {
            places.push((format!("the emulator's GET {path}"), self.emulator_get(path).await));
        }
        let log = serde_json::to_string(&self.emulator.requests()).expect("the log serializes");
        places.push(("the emulator's request log".to_owned(), log));
        places
    }
}

/// Takes every `secret_access_key` out of moto's dump, wherever it is.
fn without_secret_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("secret_access_key");
            map.values_mut().for_each(without_secret_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(without_secret_fields),
        _ => {}
    }
}

/// IAM answers policy documents URL-encoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes.get(index + 1..index + 3).and_then(|pair| std::str::from_utf8(pair).ok());
        match (bytes[index], hex.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (b'+', _) => {
                decoded.push(b' ');
                index += 1;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The forms a secret could take on the way out, each named: as is, form-encoded (how the
/// access key secret travels to Twilio), JSON-escaped, base64 of the secret alone, and every
/// run of [`LEAK_RUN`] of its characters that is not part of a public identifier.
fn leak_patterns(secret: &str) -> Vec<(&'static str, String)> {
    let base64 = |engine: &base64::engine::GeneralPurpose| engine.encode(secret);
    // An AWS secret is `[A-Za-z0-9/+=]`: these are the characters a form encodes.
    let form_encoded = secret.replace('%', "%25").replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    let mut patterns = vec![
        ("as is", secret.to_owned()),
        ("form-encoded", form_encoded),
        ("JSON-escaped", secret.replace('/', "\\/")),
        ("base64", base64(&base64::engine::general_purpose::STANDARD)),
        ("base64 unpadded", base64(&base64::engine::general_purpose::STANDARD_NO_PAD)),
        ("base64url", base64(&base64::engine::general_purpose::URL_SAFE_NO_PAD)),
    ];
    let characters: Vec<char> = secret.chars().collect();
    for run in characters.windows(LEAK_RUN) {
        let run: String = run.iter().collect();
        if !PUBLIC_IDENTIFIERS.iter().any(|public| public.contains(&run)) {
            patterns.push(("16 characters", run));
        }
    }
    patterns.sort();
    patterns.dedup();
    patterns
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

/// What one path searched: how many secrets, forms of them and places, and the leaks found.
struct Searched {
    secrets: usize,
    patterns: usize,
    places: usize,
    place_names: Vec<String>,
    leaks: Vec<String>,
}

/// Searches everything `runs` printed, every file in `sandbox` and what reached the services
/// for every secret of this world, and checks that stowage's files are private.
async fn search(world: &World, path: &str, sandbox: &Sandbox, runs: &[Run]) -> Searched {
    assert!(
        runs.iter().any(|run| run.stderr.contains("TRACE")),
        "{path}: RUST_LOG=trace should have reached stowage, or this test proves little"
    );
    let mut secrets: Vec<(String, String)> = Vec::new();
    let key_secrets = world.uploader_key_secrets().await;
    assert!(!key_secrets.is_empty(), "{path}: moto made no uploader key");
    for (index, secret) in key_secrets.iter().enumerate() {
        assert_eq!(secret.len(), 40, "an AWS secret is 40 characters");
        secrets.push((format!("access key secret #{}", index + 1), secret.clone()));
    }
    secrets.push(("the operator's AWS secret".to_owned(), world.operator_secret()));
    secrets.push(("Twilio auth token".to_owned(), TEST_AUTH_TOKEN.to_owned()));
    secrets.push(("Twilio API key secret".to_owned(), API_KEY_SECRET.to_owned()));
    let mut patterns: Vec<(String, String)> = secrets
        .iter()
        .flat_map(|(what, secret)| {
            leak_patterns(secret).into_iter().map(move |(form, pattern)| (format!("{what} ({form})"), pattern))
        })
        .collect();
    patterns.push(("Basic header (auth token)".to_owned(), basic_header(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)));
    patterns.push(("Basic header (API key)".to_owned(), basic_header(API_KEY_SID, API_KEY_SECRET)));

    let files = sandbox_files(sandbox);
    let mut places: Vec<(String, String)> = Vec::new();
    for run in runs {
        places.push((format!("stdout of `stowage {}`", run.command), run.stdout.clone()));
        places.push((format!("stderr of `stowage {}`", run.command), run.stderr.clone()));
    }
    for (file, (text, _mode)) in &files {
        places.push((format!("file {}", file.display()), text.clone()));
    }
    places.extend(world.what_reached_the_services().await);
    let mut leaks: Vec<String> = places
        .iter()
        .flat_map(|(place, text)| {
            patterns
                .iter()
                .filter(|(_, pattern)| text.contains(pattern.as_str()))
                .map(move |(what, _)| format!("{what} in {place}"))
        })
        .collect();
    // Several runs of one secret in one place are one leak.
    leaks.dedup();

    // Everything stowage writes is private: state, backup, plans, and locks.
    for (file, (_, mode)) in &files {
        let name = file.to_string_lossy();
        if name.contains(".state.json") || name.ends_with(".plan") {
            assert_eq!(*mode, 0o600, "{path}: {name} should be mode 0600");
        }
    }
    let place_names = places.iter().map(|(name, _)| name.clone()).collect();
    Searched { secrets: secrets.len() + 2, patterns: patterns.len(), places: places.len(), place_names, leaks }
}

#[expect(clippy::print_stderr, reason = "the counts are the report of this test")]
fn report(path: &str, searched: &Searched) {
    eprintln!(
        "secret hygiene, {path}: {} secrets in {} forms searched in {} places, {} hits",
        searched.secrets,
        searched.patterns,
        searched.places,
        searched.leaks.len()
    );
    assert!(searched.leaks.is_empty(), "{path}: secrets leaked:\n{}", searched.leaks.join("\n"));
}

/// Drives every command once in a fresh sandbox and returns what they printed.
async fn drive_every_command(world: &World, sandbox: &Sandbox, auth: TwilioAuth) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut step = async |arguments: &[&str], expected: &[i32]| {
        let run = world.run(sandbox, auth, arguments).await;
        assert!(run.code.is_some_and(|code| expected.contains(&code)), "{auth:?}: unexpected exit code\n{run}");
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
    world.reset();
    let sandbox = Sandbox::new();
    sandbox.write_spec(SPEC, &dev_spec());

    let runs = drive_every_command(world, &sandbox, auth).await;
    assert_eq!(world.uploader_key_secrets().await.len(), 2, "{auth:?}: moto should have made two uploader keys");
    let files = sandbox_files(&sandbox);
    for expected in ["dev.state.json", "dev.state.json.backup", "first.plan", "second.plan"] {
        assert!(files.contains_key(Path::new(expected)), "{auth:?}: {expected} should exist: {:?}", files.keys());
    }
    report(&format!("every command ({auth:?})"), &search(world, &format!("{auth:?}"), &sandbox, &runs).await);
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

#[tokio::test(flavor = "multi_thread")]
async fn no_error_crash_or_encryption_path_leaks_a_secret() {
    let world = World::start().await;
    tokio::time::timeout(TEST_TIMEOUT, async {
        for (path, auth) in [
            ("faults mid-apply", TwilioAuth::AuthToken),
            ("SIGKILL and force-unlock", TwilioAuth::ApiKey),
            ("a failed write test", TwilioAuth::AuthToken),
            ("SSE-KMS and a public key", TwilioAuth::ApiKey),
        ] {
            world.reset();
            let sandbox = Sandbox::new();
            let runs = match path {
                "faults mid-apply" => faults_mid_apply(&world, &sandbox, auth).await,
                "SIGKILL and force-unlock" => killed_then_unlocked(&world, &sandbox, auth).await,
                "a failed write test" => failed_write_test(&world, &sandbox, auth).await,
                _ => encrypted(&world, &sandbox, auth).await,
            };
            let searched = search(&world, path, &sandbox, &runs).await;
            if path == "SSE-KMS and a public key" {
                // The key stowage made was read, and searched.
                let kms = ["description of KMS key", "policy of KMS key", "tags of KMS key"];
                for place in kms {
                    assert!(searched.place_names.iter().any(|name| name.starts_with(place)), "{path}: no {place}");
                }
            }
            report(path, &searched);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the test did not finish within {TEST_TIMEOUT:?}"));
}

fn expect_exit(path: &str, run: &Run, code: i32) {
    assert_eq!(run.code, Some(code), "{path}: unexpected exit code\n{run}");
}

/// Applies failing on a fault each, then one that converges: a `CreateAccessKey` delayed
/// beyond the request timeout (the key is made, its secret never reaches stowage), a 500 on the
/// credential POST (the secret was sent, the answer is an error), 500s on the recording
/// settings until the client gives up (the credential exists).
async fn faults_mid_apply(world: &World, sandbox: &Sandbox, auth: TwilioAuth) -> Vec<Run> {
    const PATH: &str = "faults mid-apply";
    sandbox.write_spec(SPEC, &dev_spec());
    let apply = ["apply", SPEC, "--auto-approve"];
    let mut runs = Vec::new();

    world.proxy.inject(Fault::once("CreateAccessKey", FaultAction::Delay(Duration::from_millis(2500))));
    let run = world.run_with(sandbox, auth, &apply, &[("STOWAGE_REQUEST_TIMEOUT", "2s")]).await;
    expect_exit(PATH, &run, 1);
    assert!(run.stderr.contains("iam CreateAccessKey"), "{PATH}: the error names the create\n{run}");
    runs.push(run);

    let post = FaultRule { method: Some("POST".to_owned()), ..FaultRule::new(500, "/v1/Credentials/AWS") };
    world.emulator.add_fault(post).expect("a valid fault rule");
    let run = world.run(sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 1);
    assert!(run.stderr.contains("twilio CreateAwsCredential"), "{PATH}: the error names the create\n{run}");
    runs.push(run);

    let settings =
        FaultRule { method: Some("POST".to_owned()), times: 10, ..FaultRule::new(500, "/v1/RecordingSettings") };
    world.emulator.add_fault(settings).expect("a valid fault rule");
    let run = world.run(sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 1);
    runs.push(run);

    let cleared = world.http.delete(format!("{}/__emulator/faults", world.emulator.base_url())).send().await;
    assert!(cleared.expect("the emulator answers").status().is_success());
    let run = world.run(sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);
    let run = world.run(sandbox, auth, &["plan", SPEC, "--detailed-exitcode"]).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);
    assert!(world.uploader_key_secrets().await.len() >= 3, "{PATH}: each fault run made a key");
    runs
}

/// An apply SIGKILLed while the credential POST's answer is held (the credential exists, the
/// secret was sent, the process dies), `force-unlock` with a wrong id and with the recorded
/// one, and the apply that converges.
async fn killed_then_unlocked(world: &World, sandbox: &Sandbox, auth: TwilioAuth) -> Vec<Run> {
    const PATH: &str = "SIGKILL and force-unlock";
    sandbox.write_spec(SPEC, &dev_spec());
    let mut runs = Vec::new();

    world.twilio.inject(Fault::once("POST /v1/Credentials/AWS", FaultAction::HoldAnswer));
    let (run, held) = world.kill_at_hold(sandbox, auth, &["apply", SPEC, "--auto-approve"], &world.twilio).await;
    assert!(held.contains("201"), "{PATH}: the credential was made before the kill: {held}");
    runs.push(run);
    world.twilio.clear();

    let state = sandbox.state_path(SPEC);
    let info = stowage_state::lock::read_info(&state).unwrap().expect("the killed apply left its lock record");
    let run = world.run(sandbox, auth, &["force-unlock", "0b9d1c3e-6f2a-4e8b-9c1d-2a3b4c5d6e7f", SPEC]).await;
    expect_exit(PATH, &run, 1);
    runs.push(run);
    let run = world.run(sandbox, auth, &["force-unlock", &info.id.to_string(), SPEC]).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);

    let run = world.run(sandbox, auth, &["apply", SPEC, "--auto-approve"]).await;
    expect_exit(PATH, &run, 0);
    assert!(run.stdout.contains("left by an interrupted apply"), "{PATH}: the leftovers were found\n{run}");
    runs.push(run);
    let run = world.run(sandbox, auth, &["plan", SPEC, "--detailed-exitcode"]).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);
    runs
}

/// A new key that cannot write (the uploader is denied `PutObject`): the apply fails, the key
/// is deleted, Twilio is untouched; once the denial is gone, an apply converges.
async fn failed_write_test(world: &World, sandbox: &Sandbox, auth: TwilioAuth) -> Vec<Run> {
    const PATH: &str = "a failed write test";
    // Only an enforcing moto refuses the denied `PutObject`.
    world.moto.enforce_iam(true);
    sandbox.write_spec(SPEC, &dev_spec());
    let apply = ["apply", SPEC, "--auto-approve"];
    let mut runs = Vec::new();
    let run = world.run(sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);

    let iam = world.moto.iam_client();
    let deny = iam.put_user_policy().user_name(USER).policy_name("deny-put-object").policy_document(DENY_PUT_OBJECT);
    deny.send().await.expect("moto takes the denial");
    let old_key = recorded_access_key_id(sandbox);
    iam.delete_access_key().user_name(USER).access_key_id(&old_key).send().await.expect("the key is deleted");
    let run = world.run(sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 1);
    assert!(run.stderr.contains("write test failed"), "{PATH}: the write test failed\n{run}");
    runs.push(run);

    iam.delete_user_policy().user_name(USER).policy_name("deny-put-object").send().await.expect("denial removed");
    let run = world.run(sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);
    assert_eq!(world.uploader_key_secrets().await.len(), 3, "{PATH}: three keys were made, one failed its test");
    runs
}

/// `examples/prod.toml` as it is (a KMS key stowage creates, its policy naming the uploader),
/// then the same with an encryption public key for recordings, through a saved plan.
async fn encrypted(world: &World, sandbox: &Sandbox, auth: TwilioAuth) -> Vec<Run> {
    const PATH: &str = "SSE-KMS and a public key";
    let prod = example_spec("prod.toml");
    sandbox.write_spec("prod.toml", &prod);
    let mut runs = Vec::new();
    let run = world.run(sandbox, auth, &["apply", "prod.toml", "--auto-approve"]).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);
    for arguments in [&["plan", "prod.toml", "--detailed-exitcode"][..], &["drift", "prod.toml"]] {
        let run = world.run(sandbox, auth, arguments).await;
        expect_exit(PATH, &run, 0);
        runs.push(run);
    }
    let run = world.run(sandbox, auth, &["verify", "prod.toml"]).await;
    assert!(matches!(run.code, Some(0 | 2)), "{PATH}: verify ran\n{run}");
    runs.push(run);

    let pem = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recordings-2025.pem");
    std::fs::copy(pem, sandbox.path().join("recordings.pem")).expect("the key is copied");
    let with_key = prod.replace(
        "[recordings]\nstore_in_s3 = true\n",
        "[recordings]\nstore_in_s3 = true\nencryption_public_key = \"recordings.pem\"\n",
    );
    assert_ne!(with_key, prod, "{PATH}: the public key was added to the spec");
    sandbox.write_spec("prod.toml", &with_key);
    for arguments in [
        &["plan", "prod.toml", "--out", "prod.plan"][..],
        &["show", "prod.plan", "--format", "json"],
        &["apply", "prod.plan"],
        &["plan", "prod.toml", "--detailed-exitcode"],
    ] {
        let run = world.run(sandbox, auth, arguments).await;
        expect_exit(PATH, &run, 0);
        runs.push(run);
    }
    let kms_keys = world.moto.kms_client("us-east-2").list_keys().send().await.expect("moto lists the keys");
    assert_eq!(kms_keys.keys().len(), 1, "{PATH}: stowage made the KMS key");
    runs
}
