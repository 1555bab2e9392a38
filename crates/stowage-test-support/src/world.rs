//! The world an end-to-end test runs `stowage` in: moto and the Twilio emulator, each behind a
//! recording, fault-injecting proxy, and a sandbox holding the spec. Every integration test of
//! the binary builds its world here ([`World::builder`]), saying only what its world has that
//! the usual one does not.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use twilio_emulator::{RecordedRequest, RunningEmulator};

use crate::moto::Moto;
use crate::proxy::AwsProxy;
use crate::run::Invocation;
use crate::sandbox::Sandbox;
use crate::twilio::{
    TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TwilioCredentials, spawn_emulator, test_account_config, twilio_endpoints_env,
};
use crate::{dev, dev_spec};

/// How long requests still on their way after a run may take to land: a delayed one reaches
/// its service after its client gave up.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);
/// One call of the test itself to the emulator.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// moto behind a recording proxy, the Twilio emulator behind another, and a sandbox holding
/// one spec; [`World::stowage`] runs the binary against them.
///
/// The emulator makes Twilio's storage write test straight into moto, not through the proxy:
/// the proxy in front of moto sees stowage's AWS requests only, the one in front of the
/// emulator its Twilio requests. Everything stops when the world is dropped.
pub struct World {
    pub moto: Moto,
    /// In front of moto: stowage's AWS requests, and faults for them.
    pub aws: AwsProxy,
    pub emulator: RunningEmulator,
    /// In front of the emulator: stowage's Twilio requests, and dropped connections, delays and
    /// holds for them (the emulator's own faults answer with Twilio's error bodies).
    pub twilio: AwsProxy,
    pub sandbox: Sandbox,
    /// The spec's path in the sandbox.
    pub spec: PathBuf,
    spec_name: String,
    binary: PathBuf,
    /// What every run is given besides the services' addresses and credentials.
    environment: BTreeMap<String, String>,
    http: reqwest::Client,
}

/// How a [`World`] differs from the usual one: `examples/dev.toml` as `dev.toml`, moto with
/// its real clock and IAM not enforced, the emulator knowing the test account only.
#[derive(Debug)]
#[must_use = "a builder does nothing until it is started"]
pub struct WorldBuilder {
    binary: PathBuf,
    spec_name: String,
    spec_text: String,
    clocked_moto: bool,
    enforce_iam: bool,
    twilio_accounts: Vec<(String, String)>,
    twilio_api_keys: Vec<(String, String, String)>,
    environment: BTreeMap<String, String>,
}

impl World {
    /// A world that runs `binary` (`env!("CARGO_BIN_EXE_stowage")`).
    pub fn builder(binary: impl Into<PathBuf>) -> WorldBuilder {
        WorldBuilder {
            binary: binary.into(),
            spec_name: dev::SPEC.to_owned(),
            spec_text: dev_spec(),
            clocked_moto: false,
            enforce_iam: false,
            twilio_accounts: Vec::new(),
            twilio_api_keys: Vec::new(),
            environment: BTreeMap::new(),
        }
    }

    /// `stowage ARGS` in the sandbox, with AWS through the proxy in front of moto and Twilio
    /// through the one in front of the emulator, as the test account; await it to run it.
    pub fn stowage(&self, args: &[&str]) -> Invocation<'_> {
        Invocation::new(&self.binary, &self.sandbox, self.environment(), args)
    }

    fn environment(&self) -> Vec<(String, String)> {
        let mut environment = self.moto.aws_env_via(&self.aws.endpoint());
        environment.extend(TwilioCredentials::TEST_ACCOUNT.environment());
        environment.extend(twilio_endpoints_env(&self.twilio.endpoint()));
        environment.extend(self.environment.iter().map(|(name, value)| (name.clone(), value.clone())));
        environment
    }

    /// Replaces the spec's text.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn rewrite_spec(&self, text: &str) {
        self.sandbox.write_spec(&self.spec_name, text);
    }

    /// Where `stowage` keeps the spec's state by default.
    pub fn state_path(&self) -> PathBuf {
        self.sandbox.state_path(&self.spec_name)
    }

    /// Back to an untouched account and no state: moto and the emulator emptied, the proxies'
    /// journals and faults cleared, the spec's state and its backup removed. The spec and any
    /// other file in the sandbox stay.
    pub fn reset(&self) {
        self.aws.clear();
        self.twilio.clear();
        self.moto.reset();
        self.emulator.reset();
        for path in [self.state_path(), self.sandbox.backup_path(&self.spec_name)] {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Waits until every request stowage sent has landed, through both proxies.
    ///
    /// # Panics
    /// When they have not within a minute.
    pub async fn settled(&self) {
        let settled = async { tokio::join!(self.aws.settled(), self.twilio.settled()) };
        tokio::time::timeout(SETTLE_LIMIT, settled).await.expect("the requests on their way landed in time");
    }

    /// A request to the emulator's API as the test account, as someone in Twilio's console
    /// (or another tool) would make it.
    pub fn twilio_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.twilio_request_as(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, method, path)
    }

    /// [`World::twilio_request`] as `account`, authenticated with `token`.
    pub fn twilio_request_as(
        &self,
        account: &str,
        token: &str,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.emulator.base_url())).basic_auth(account, Some(token))
    }

    /// The JSON the emulator answers `GET PATH` with, as the test account.
    ///
    /// # Panics
    /// When it does not answer with success and JSON.
    pub async fn twilio_get(&self, path: &str) -> Value {
        let response = self.twilio_request(reqwest::Method::GET, path).send().await.expect("the emulator answers");
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.expect("the emulator answers JSON")
    }

    /// The SIDs of the test account's AWS credentials in Twilio.
    pub async fn twilio_aws_credentials(&self) -> Vec<String> {
        self.twilio_sids("/v1/Credentials/AWS").await
    }

    /// The SIDs of the test account's encryption public keys in Twilio.
    pub async fn twilio_public_keys(&self) -> Vec<String> {
        self.twilio_sids("/v1/Credentials/PublicKeys").await
    }

    async fn twilio_sids(&self, list: &str) -> Vec<String> {
        let page = self.twilio_get(&format!("{list}?PageSize=100")).await;
        let credentials = page["credentials"].as_array().unwrap_or_else(|| panic!("no list of credentials: {page}"));
        credentials.iter().filter_map(|credential| credential["sid"].as_str().map(str::to_owned)).collect()
    }

    /// Forgets the emulator's faults not yet spent, and nothing else: its resources and its
    /// request log stay.
    ///
    /// # Panics
    /// When the emulator does not answer with success.
    pub async fn clear_emulator_faults(&self) {
        let url = format!("{}/__emulator/faults", self.emulator.base_url());
        let cleared = self.http.delete(url).send().await.expect("the emulator answers a fault clear");
        assert!(cleared.status().is_success(), "emulator fault clear: {}", cleared.status());
    }

    /// Where the emulator's request log ends now; see [`World::twilio_writes_since`].
    pub fn twilio_log_mark(&self) -> usize {
        self.emulator.requests().len()
    }

    /// The requests the emulator answered since `mark`, in the order it answered them.
    pub fn twilio_requests_since(&self, mark: usize) -> Vec<RecordedRequest> {
        self.emulator.requests().split_off(mark)
    }

    /// `POST /v1/Credentials/AWS 201`: each Twilio write (anything but `GET`) since `mark`.
    pub fn twilio_writes_since(&self, mark: usize) -> Vec<String> {
        self.twilio_requests_since(mark)
            .into_iter()
            .filter(|request| request.method != "GET")
            .map(|request| format!("{} {} {}", request.method, request.path, request.status))
            .collect()
    }
}

impl fmt::Debug for World {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("World")
            .field("moto", &self.moto)
            .field("aws", &self.aws)
            .field("emulator", &self.emulator.base_url())
            .field("twilio", &self.twilio)
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl WorldBuilder {
    /// The spec is `text`, still named `dev.toml`.
    pub fn spec(self, text: &str) -> WorldBuilder {
        self.spec_named(dev::SPEC, text)
    }

    /// The spec is `text`, named `name` (`prod.toml`).
    pub fn spec_named(mut self, name: &str, text: &str) -> WorldBuilder {
        name.clone_into(&mut self.spec_name);
        text.clone_into(&mut self.spec_text);
        self
    }

    /// moto with a clock the test can turn back or ahead ([`Moto::with_clock_behind`]).
    pub fn clocked_moto(mut self) -> WorldBuilder {
        self.clocked_moto = true;
        self
    }

    /// moto checks every call against IAM policies from the start; stowage and the test's SDK
    /// clients use moto's admin key ([`Moto::enforce_iam`]).
    pub fn enforce_iam(mut self) -> WorldBuilder {
        self.enforce_iam = true;
        self
    }

    /// The emulator knows another account besides the test account.
    pub fn twilio_account(mut self, sid: &str, auth_token: &str) -> WorldBuilder {
        self.twilio_accounts.push((sid.to_owned(), auth_token.to_owned()));
        self
    }

    /// The emulator knows an API key of `account`.
    pub fn twilio_api_key(mut self, sid: &str, secret: &str, account: &str) -> WorldBuilder {
        self.twilio_api_keys.push((sid.to_owned(), secret.to_owned(), account.to_owned()));
        self
    }

    /// Every run is given `name=value` (a run can still override it).
    pub fn env(mut self, name: &str, value: &str) -> WorldBuilder {
        self.environment.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Every run logs warnings only, without colour, whatever the developer's `RUST_LOG`: what
    /// stowage prints is the same on every machine, for snapshots and comparisons.
    pub fn plain_output(self) -> WorldBuilder {
        self.env("RUST_LOG", "warn").env("NO_COLOR", "1")
    }

    /// Starts moto, the emulator and both proxies, and writes the spec.
    ///
    /// # Panics
    /// When a service cannot start or the spec cannot be written.
    pub async fn start(self) -> World {
        let moto = if self.clocked_moto { Moto::start_with_clock() } else { Moto::start() };
        if self.enforce_iam {
            moto.enforce_iam(true);
        }
        let aws = AwsProxy::start(&moto.endpoint()).await;
        let emulator = spawn_emulator(self.emulator_config(&moto.endpoint())).await;
        let twilio = AwsProxy::start(&emulator.base_url()).await;
        let sandbox = Sandbox::new();
        let spec = sandbox.write_spec(&self.spec_name, &self.spec_text);
        let http = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build().expect("an HTTP client");
        World {
            moto,
            aws,
            emulator,
            twilio,
            sandbox,
            spec,
            spec_name: self.spec_name,
            binary: self.binary,
            environment: self.environment,
            http,
        }
    }

    fn emulator_config(&self, s3_endpoint: &str) -> twilio_emulator::EmulatorConfig {
        let mut config = test_account_config(s3_endpoint);
        for (sid, token) in &self.twilio_accounts {
            config = config.account(sid, token);
        }
        for (sid, secret, account) in &self.twilio_api_keys {
            config = config.api_key(sid, secret, account);
        }
        config
    }
}
