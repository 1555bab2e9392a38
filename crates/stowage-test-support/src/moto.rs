//! A moto server (the AWS emulator) on a free loopback port, one per test.
//!
//! Everything here blocks on std sockets and processes, never on a runtime, so the same
//! [`Moto`] works from a plain `#[test]` and from a `#[tokio::test]` (startup takes a second or
//! two; nothing else runs on a test's runtime meanwhile).

mod blocking_http;

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::SdkConfig;
use aws_types::region::Region;
use tempfile::TempDir;

/// The region [`Moto::aws_env`] hands to child processes.
pub const MOTO_REGION: &str = "us-east-1";
/// Overrides the `moto_server` program: a path.
pub const MOTO_SERVER_VARIABLE: &str = "STOWAGE_MOTO_SERVER";

const INSTALL_HINT: &str = "hint: `cargo xtask moto` installs moto 5.2.1 into target/tools/moto \
     (`cargo xtask test` does it too), or set `STOWAGE_MOTO_SERVER` to the path of a `moto_server`";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(50);
const LOG_TAIL_LINES: usize = 20;

/// moto's own defaults: without IAM enforcement it accepts any key for any call.
const DEFAULT_ACCESS_KEY_ID: &str = "testing";
const DEFAULT_SECRET_ACCESS_KEY: &str = "testing";

const ADMIN_USER_NAME: &str = "stowage-test-admin";
const ADMIN_USER_PATH: &str = "/stowage-test-support/";
const ADMIN_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
/// moto routes an unsigned query call by this credential scope and, while IAM enforcement
/// is off, checks nothing else.
const UNSIGNED_IAM_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
     Credential=testing/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=unsigned";

/// A running `moto_server`, killed (and waited for) when dropped.
///
/// IAM enforcement is off at start: any credentials work. [`Moto::enforce_iam`] turns it on,
/// after creating an admin user whose key [`Moto::aws_env`] and [`Moto::aws_sdk_config`] then
/// hand out (moto has no root credentials).
pub struct Moto {
    // Declared first so the process stops before its scratch directory is removed.
    server: ServerProcess,
    address: SocketAddr,
    /// moto's log, its clock file, and the never-created AWS config paths given to child
    /// processes.
    scratch: TempDir,
    /// Started with a clock the test can turn back.
    clocked: bool,
    iam: Mutex<IamState>,
}

/// In the scratch directory: seconds to add to moto's clock (negative: behind).
const CLOCK_FILE: &str = "clock";

/// Invariant: `enforcing` implies `admin` is set, or nobody could call moto at all.
#[derive(Debug, Default)]
struct IamState {
    enforcing: bool,
    admin: Option<AccessKey>,
}

#[derive(Clone)]
struct AccessKey {
    id: String,
    secret: String,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("AccessKey").field("id", &self.id).field("secret", &"[redacted]").finish()
    }
}

impl Moto {
    /// Starts `moto_server` (or `$STOWAGE_MOTO_SERVER`) on a free loopback port and waits until
    /// it answers.
    ///
    /// # Panics
    /// When moto cannot start: the message says what was tried, ends with moto's log and
    /// how to install it. Tests that need moto fail without it; they never skip.
    pub fn start() -> Moto {
        Moto::start_with(false)
    }

    /// [`Moto::start`], with a clock the test can turn back ([`Moto::clock_behind`]): what it
    /// makes then is that much older, as a person's objects made before a run would be.
    pub fn start_with_clock() -> Moto {
        Moto::start_with(true)
    }

    fn start_with(clock: bool) -> Moto {
        let program = moto_server_program();
        Moto::start_program(program.as_os_str(), clock)
            .unwrap_or_else(|error| panic!("could not start moto: {error}\n{INSTALL_HINT}"))
    }

    /// moto's clock runs `by` behind from now on (`Duration::ZERO` puts it right): every
    /// creation time it records comes from it. Only for a moto from [`Moto::start_with_clock`].
    ///
    /// # Panics
    /// For a moto started without a clock, or when the clock file cannot be written.
    pub fn clock_behind(&self, by: Duration) {
        self.set_clock(-by.as_secs_f64());
    }

    /// moto's clock runs `by` ahead from now on, as if a later day had come: what it makes
    /// then was made long after anything made before. See [`Moto::clock_behind`].
    ///
    /// # Panics
    /// As [`Moto::clock_behind`].
    pub fn clock_ahead(&self, by: Duration) {
        self.set_clock(by.as_secs_f64());
    }

    /// Runs `make` with moto's clock `by` behind, and puts it right again after: what it makes
    /// carries creation times that much older, in IAM, S3 and KMS alike, as a person's objects
    /// made long before a run would. See [`Moto::clock_behind`].
    ///
    /// # Panics
    /// As [`Moto::clock_behind`].
    pub async fn with_clock_behind<Output>(&self, by: Duration, make: impl AsyncFnOnce() -> Output) -> Output {
        self.with_clock(-by.as_secs_f64(), make).await
    }

    /// Runs `make` with moto's clock `by` ahead, and puts it right again after: what it makes
    /// was made long after anything made before. See [`Moto::clock_ahead`].
    ///
    /// # Panics
    /// As [`Moto::clock_behind`].
    pub async fn with_clock_ahead<Output>(&self, by: Duration, make: impl AsyncFnOnce() -> Output) -> Output {
        self.with_clock(by.as_secs_f64(), make).await
    }

    async fn with_clock<Output>(&self, offset_seconds: f64, make: impl AsyncFnOnce() -> Output) -> Output {
        self.set_clock(offset_seconds);
        let made = make().await;
        self.set_clock(0.0);
        made
    }

    fn set_clock(&self, offset_seconds: f64) {
        assert!(self.clocked, "moto was started without a clock: use Moto::start_with_clock");
        std::fs::write(self.scratch.path().join(CLOCK_FILE), offset_seconds.to_string())
            .unwrap_or_else(|error| panic!("moto's clock file cannot be written: {error}"));
    }

    fn start_program(program: &OsStr, clock: bool) -> Result<Moto, StartError> {
        match Moto::start_once(program, clock) {
            // Another process took the port between our probe and moto's bind: once more.
            Err(StartError::ExitedEarly { port_taken: true, .. }) => Moto::start_once(program, clock),
            outcome => outcome,
        }
    }

    fn start_once(program: &OsStr, clocked: bool) -> Result<Moto, StartError> {
        let scratch = tempfile::tempdir().map_err(StartError::Scratch)?;
        let clock_file = scratch.path().join(CLOCK_FILE);
        if clocked {
            std::fs::write(&clock_file, "0").map_err(StartError::Scratch)?;
        }
        let log_path = scratch.path().join("moto.log");
        let log = File::create(&log_path).map_err(StartError::Scratch)?;
        let log_for_stderr = log.try_clone().map_err(StartError::Scratch)?;
        let address = free_loopback_address().map_err(StartError::Port)?;

        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &address.port().to_string()])
            // A developer's own setting would turn enforcement on behind our back.
            .env_remove("INITIAL_NO_AUTH_ACTION_COUNT")
            // So the log is complete when a failed start quotes it.
            .env("PYTHONUNBUFFERED", "1")
            // Where moto differs from AWS in ways that would mislead the tests, made like AWS.
            .env("PYTHONPATH", patches_directory())
            // Read by sitecustomize.py only when the file exists (a clocked moto).
            .env("STOWAGE_MOTO_CLOCK_FILE", &clock_file)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr)
            .spawn()
            .map_err(|source| StartError::Spawn { program: program.to_string_lossy().into_owned(), source })?;
        let mut server = ServerProcess(child);
        wait_until_ready(&mut server, program, address, &log_path)?;
        Ok(Moto { server, address, scratch, clocked, iam: Mutex::new(IamState::default()) })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Wipes every bucket, user, key and so on (`POST /moto-api/reset`).
    ///
    /// With IAM enforcement on, the admin user goes too and is made again with a new key:
    /// read [`Moto::aws_env`] or [`Moto::aws_sdk_config`] again after a reset.
    pub fn reset(&self) {
        let mut iam = self.lock_iam();
        if iam.enforcing {
            self.set_enforcement(false);
        }
        self.call("POST", "/moto-api/reset", &[], b"");
        iam.admin = None;
        if iam.enforcing {
            iam.admin = Some(self.create_admin());
            self.set_enforcement(true);
        }
    }

    /// Turns moto's IAM enforcement on or off at once (`POST /moto-api/reset-auth`).
    ///
    /// While on, calls need a key of a user whose policy allows them: [`Moto::aws_env`] and
    /// [`Moto::aws_sdk_config`] hand out an admin key made for the purpose. moto's enforcement
    /// is rough (see `domain.md`): good for "this key can or cannot PutObject here".
    pub fn enforce_iam(&self, on: bool) {
        let mut iam = self.lock_iam();
        if on && iam.admin.is_none() {
            // Enforcement is off (the invariant), so anyone may still create the admin.
            iam.admin = Some(self.create_admin());
        }
        self.set_enforcement(on);
        iam.enforcing = on;
    }

    /// The environment for a child `stowage` process talking to this moto.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        self.aws_env_via(&self.endpoint())
    }

    /// [`Moto::aws_env`] with another endpoint, such as an [`crate::AwsProxy`] in front of moto.
    pub fn aws_env_via(&self, endpoint: &str) -> Vec<(String, String)> {
        aws_env_at(endpoint, &self.access_key(), &self.scratch.path().join("absent"))
    }

    /// An AWS SDK configuration for this moto, built without reading the environment or
    /// `~/.aws`. Retries back off for milliseconds, not seconds, to keep tests quick.
    pub fn aws_sdk_config(&self, region: &str) -> SdkConfig {
        self.aws_sdk_config_via(&self.endpoint(), region)
    }

    /// [`Moto::aws_sdk_config`] with another endpoint, such as an [`crate::AwsProxy`].
    pub fn aws_sdk_config_via(&self, endpoint: &str, region: &str) -> SdkConfig {
        let key = self.access_key();
        let credentials = Credentials::new(key.id, key.secret, None, None, "stowage-test-support");
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(endpoint)
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(10)))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .build(),
            )
            .build()
    }

    /// An S3 client for this moto, path-style as moto needs.
    pub fn s3_client(&self, region: &str) -> aws_sdk_s3::Client {
        path_style_s3_client(&self.aws_sdk_config(region))
    }

    /// An IAM client for this moto.
    pub fn iam_client(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.aws_sdk_config(MOTO_REGION))
    }

    /// A KMS client for `region` (keys are regional).
    pub fn kms_client(&self, region: &str) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.aws_sdk_config(region))
    }

    /// The ids of IAM user `user`'s access keys.
    ///
    /// # Panics
    /// When moto cannot list them (there is no such user).
    pub async fn access_key_ids(&self, user: &str) -> Vec<String> {
        let listed = self.iam_client().list_access_keys().user_name(user).send().await;
        let listed = listed.unwrap_or_else(|error| panic!("moto lists {user}'s access keys: {error:?}"));
        listed.access_key_metadata().iter().filter_map(|key| key.access_key_id().map(str::to_owned)).collect()
    }

    /// The KMS keys of `region` in use: every key but those pending deletion (a KMS key is
    /// never deleted at once).
    ///
    /// # Panics
    /// When moto cannot list or describe them.
    pub async fn kms_keys_in_use(&self, region: &str) -> Vec<String> {
        let kms = self.kms_client(region);
        let listed = kms.list_keys().send().await.expect("moto lists the KMS keys");
        let mut in_use = Vec::new();
        for key in listed.keys().iter().filter_map(|key| key.key_id()) {
            let described = kms.describe_key().key_id(key).send().await.expect("moto describes the key");
            let state = described.key_metadata().and_then(|metadata| metadata.key_state());
            if state != Some(&aws_sdk_kms::types::KeyState::PendingDeletion) {
                in_use.push(key.to_owned());
            }
        }
        in_use
    }

    /// moto's model dump (`/moto-api/data.json`): every model it holds, deleted ones included.
    ///
    /// # Panics
    /// When moto does not answer with JSON.
    pub fn model_dump(&self) -> serde_json::Value {
        let body = self.call("GET", "/moto-api/data.json", &[], b"");
        serde_json::from_str(&body).unwrap_or_else(|error| panic!("moto's model dump is not JSON: {error}"))
    }

    /// `(user, secret)` of every access key moto ever made, deleted ones included: the secrets
    /// `CreateAccessKey` answered with, which nothing but moto and the caller's memory holds.
    ///
    /// # Panics
    /// When moto's dump lists no access keys.
    pub fn access_key_secrets(&self) -> Vec<(String, String)> {
        let dump = self.model_dump();
        let keys = dump["iam"]["AccessKey"].as_array().expect("moto's dump lists IAM access keys");
        keys.iter()
            .filter_map(|key| {
                Some((key["user_name"].as_str()?.to_owned(), key["secret_access_key"].as_str()?.to_owned()))
            })
            .collect()
    }

    /// An S3 client acting as IAM user `user` with its active access key, as Twilio does with
    /// the uploader's: the key and its secret come from moto's dump.
    ///
    /// # Panics
    /// When `user` has no active access key.
    pub fn s3_client_as(&self, user: &str, region: &str) -> aws_sdk_s3::Client {
        let dump = self.model_dump();
        let keys = dump["iam"]["AccessKey"].as_array().expect("moto's dump lists IAM access keys");
        let key = keys
            .iter()
            .find(|key| key["user_name"] == user && key["status"] == "Active")
            .unwrap_or_else(|| panic!("{user} has no active access key: {keys:?}"));
        let (Some(id), Some(secret)) = (key["access_key_id"].as_str(), key["secret_access_key"].as_str()) else {
            panic!("moto's dump has no id or secret for {user}'s key: {key}");
        };
        let credentials = Credentials::new(id, secret, None, None, "stowage-test-support-uploader");
        let config = aws_sdk_s3::config::Builder::from(&self.aws_sdk_config(region))
            .credentials_provider(credentials)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// `bucket`'s versioning configuration as moto answers `GetBucketVersioning`, read
    /// straight: the SDK refuses moto 5.2.1's root element (see stowage-aws's `moto_compat`).
    ///
    /// # Panics
    /// When moto does not answer 200.
    pub fn versioning_configuration(&self, bucket: &str) -> String {
        self.call("GET", &format!("/{bucket}?versioning"), &[], b"")
    }

    /// `Enabled` or `Suspended`; `None` for a bucket whose versioning was never set.
    ///
    /// # Panics
    /// As [`Moto::versioning_configuration`].
    pub fn versioning_status(&self, bucket: &str) -> Option<String> {
        xml_element(&self.versioning_configuration(bucket), "Status").map(str::to_owned)
    }

    fn access_key(&self) -> AccessKey {
        self.lock_iam().admin.clone().unwrap_or_else(|| AccessKey {
            id: DEFAULT_ACCESS_KEY_ID.to_owned(),
            secret: DEFAULT_SECRET_ACCESS_KEY.to_owned(),
        })
    }

    fn lock_iam(&self) -> MutexGuard<'_, IamState> {
        // The state is two plain fields, consistent even if a holder panicked.
        self.iam.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_enforcement(&self, on: bool) {
        // "0": enforce from the next call on; "inf": never (moto's default).
        let threshold: &[u8] = if on { b"0" } else { b"inf" };
        self.call("POST", "/moto-api/reset-auth", &[("Content-Type", "text/plain")], threshold);
    }

    fn create_admin(&self) -> AccessKey {
        self.iam_call(&[("Action", "CreateUser"), ("UserName", ADMIN_USER_NAME), ("Path", ADMIN_USER_PATH)]);
        self.iam_call(&[
            ("Action", "PutUserPolicy"),
            ("UserName", ADMIN_USER_NAME),
            ("PolicyName", "everything"),
            ("PolicyDocument", ADMIN_POLICY),
        ]);
        let response = self.iam_call(&[("Action", "CreateAccessKey"), ("UserName", ADMIN_USER_NAME)]);
        match (xml_element(&response, "AccessKeyId"), xml_element(&response, "SecretAccessKey")) {
            (Some(id), Some(secret)) => AccessKey { id: id.to_owned(), secret: secret.to_owned() },
            _ => panic!("moto at {} answered CreateAccessKey without a key", self.address),
        }
    }

    fn iam_call(&self, parameters: &[(&str, &str)]) -> String {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(parameters)
            .append_pair("Version", "2010-05-08")
            .finish();
        self.call(
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                ("Authorization", UNSIGNED_IAM_AUTHORIZATION),
            ],
            body.as_bytes(),
        )
    }

    /// One call to moto that must answer 200; anything else fails the test.
    fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
        match blocking_http::send(self.address, method, path, headers, body) {
            Ok(response) if response.status == 200 => response.body,
            Ok(response) => {
                panic!("moto at {} answered {} to `{method} {path}`: {}", self.address, response.status, response.body)
            }
            Err(error) => panic!("moto at {} did not answer `{method} {path}`: {error}", self.address),
        }
    }
}

impl fmt::Debug for Moto {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Moto")
            .field("endpoint", &self.endpoint())
            .field("pid", &self.server.0.id())
            .field("iam", &*self.lock_iam())
            .finish_non_exhaustive()
    }
}

/// The environment that points a child process's AWS SDK at `endpoint` with `key`, and its
/// config files at paths under `absent` that never exist, so that the developer's own `~/.aws`
/// cannot leak into a test.
fn aws_env_at(endpoint: &str, key: &AccessKey, absent: &Path) -> Vec<(String, String)> {
    let absent_config = absent.join("config").to_string_lossy().into_owned();
    let absent_credentials = absent.join("credentials").to_string_lossy().into_owned();
    [
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", key.id.clone()),
        ("AWS_SECRET_ACCESS_KEY", key.secret.clone()),
        ("AWS_REGION", MOTO_REGION.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_CONFIG_FILE", absent_config),
        ("AWS_SHARED_CREDENTIALS_FILE", absent_credentials),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// [`Moto::aws_env_via`] without a moto: AWS at `endpoint` with AWS's documented example key,
/// for a run that must fail before it reaches any service. Config paths are under `absent`.
pub fn unreachable_aws_env(endpoint: &str, absent: &Path) -> Vec<(String, String)> {
    let key = AccessKey {
        id: "AKIAIOSFODNN7EXAMPLE".to_owned(),
        secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
    };
    aws_env_at(endpoint, &key, absent)
}

/// An S3 client for `config` with path-style addressing, the only style moto serves on
/// loopback.
pub fn path_style_s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// The child process, killed and reaped on drop so no test leaves a moto behind.
#[derive(Debug)]
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Both fail only when the process is already gone, which is the goal anyway.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("could not prepare a temporary directory for moto's log: {0}")]
    Scratch(#[source] io::Error),
    #[error("could not find a free loopback port: {0}")]
    Port(#[source] io::Error),
    #[error("could not run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("could not watch `{program}`: {source}")]
    Watch {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("`{program}` exited ({status}) before answering on {address}\n{log}")]
    ExitedEarly { program: String, status: ExitStatus, address: SocketAddr, log: LogTail, port_taken: bool },
    #[error(
        "`{program}` did not answer `GET /moto-api/` on {address} within {} s\n{log}",
        timeout.as_secs()
    )]
    NotReady { program: String, address: SocketAddr, timeout: Duration, log: LogTail },
}

/// The last lines of moto's log, quoted in a startup failure.
#[derive(Debug)]
struct LogTail(String);

impl LogTail {
    fn read(path: &Path) -> LogTail {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
        LogTail(tail.join("\n"))
    }

    fn says_port_taken(&self) -> bool {
        self.0.contains("Address already in use")
    }
}

impl fmt::Display for LogTail {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.trim().is_empty() {
            return formatter.write_str("moto's log is empty");
        }
        formatter.write_str("last lines of moto's log:")?;
        for line in self.0.lines() {
            write!(formatter, "\n  {line}")?;
        }
        Ok(())
    }
}

/// The directory of `sitecustomize.py`, which makes moto behave like AWS where it does not
/// (see that file); Python imports it at start-up from `PYTHONPATH`.
pub fn patches_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("moto")
}

/// The `moto_server` tests run: `$STOWAGE_MOTO_SERVER`, else the one `cargo xtask` installs
/// into the project (`target/tools/moto`, under `CARGO_TARGET_DIR` when set). Never a
/// `moto_server` found on `PATH`: the machine CI runs on may have one a fresh machine lacks,
/// and then the README's test command would pass there and fail here.
pub fn moto_server_program() -> PathBuf {
    if let Some(program) = std::env::var_os(MOTO_SERVER_VARIABLE) {
        return PathBuf::from(program);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("tools").join("moto").join("bin").join("moto_server")
}

/// A port the OS just handed out and we released: free unless someone grabs it first, a
/// race [`Moto::start_program`] answers with one retry.
fn free_loopback_address() -> io::Result<SocketAddr> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()
}

fn wait_until_ready(
    server: &mut ServerProcess,
    program: &OsStr,
    address: SocketAddr,
    log_path: &Path,
) -> Result<(), StartError> {
    let program = || program.to_string_lossy().into_owned();
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        let exited = server.0.try_wait().map_err(|source| StartError::Watch { program: program(), source })?;
        if let Some(status) = exited {
            let log = LogTail::read(log_path);
            return Err(StartError::ExitedEarly {
                program: program(),
                status,
                address,
                port_taken: log.says_port_taken(),
                log,
            });
        }
        if matches!(
            blocking_http::send(address, "GET", "/moto-api/", &[], b""),
            Ok(response) if response.status == 200
        ) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(StartError::NotReady {
                program: program(),
                address,
                timeout: STARTUP_TIMEOUT,
                log: LogTail::read(log_path),
            });
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// The text of the first `<name>` element: enough for moto's flat IAM answers.
fn xml_element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let length = xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..start + length])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start_error(program: &str) -> String {
        match Moto::start_program(OsStr::new(program), false) {
            Ok(moto) => panic!("{program} should not start as moto, got {moto:?}"),
            Err(error) => format!("could not start moto: {error}\n{INSTALL_HINT}"),
        }
    }

    #[test]
    fn a_missing_program_is_named_with_the_install_hint() {
        insta::with_settings!({ filters => crate::insta_filters() }, {
            insta::assert_snapshot!(start_error("stowage-no-such-moto-server"));
        });
    }

    #[test]
    fn a_program_that_exits_at_once_is_reported_with_its_status_and_log() {
        // `false` ignores moto's arguments and exits 1 without a word.
        insta::with_settings!({ filters => crate::insta_filters() }, {
            insta::assert_snapshot!(start_error("false"));
        });
    }

    #[test]
    fn the_log_tail_keeps_the_last_lines_and_spots_a_taken_port() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("moto.log");
        let lines: Vec<String> = (1..=30).map(|number| format!("line {number}")).collect();
        std::fs::write(&path, lines.join("\n") + "\nOSError: [Errno 98] Address already in use\n").unwrap();

        let tail = LogTail::read(&path);

        assert!(tail.says_port_taken());
        insta::assert_snapshot!(tail.to_string());
    }

    #[test]
    fn a_missing_log_reads_as_empty() {
        let tail = LogTail::read(Path::new("/nonexistent/stowage/moto.log"));
        assert!(!tail.says_port_taken());
        assert_eq!(tail.to_string(), "moto's log is empty");
    }

    #[test]
    fn xml_element_finds_the_first_element_text() {
        let xml = "<A><AccessKeyId>AKIAEXAMPLE</AccessKeyId><AccessKeyId>second</AccessKeyId></A>";
        assert_eq!(xml_element(xml, "AccessKeyId"), Some("AKIAEXAMPLE"));
        assert_eq!(xml_element(xml, "SecretAccessKey"), None);
    }

    #[test]
    fn an_access_key_debug_hides_the_secret() {
        let key =
            AccessKey { id: "AKIAEXAMPLE".to_owned(), secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned() };
        let debug = format!("{key:?}");
        assert!(debug.contains("AKIAEXAMPLE"));
        assert!(!debug.contains("wJalr"));
    }
}
