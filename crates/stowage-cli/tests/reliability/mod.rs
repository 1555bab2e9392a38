//! The fixture of the crash and fault tests: one moto and one Twilio emulator, each behind a
//! recording, fault-injecting proxy, reset between runs; and the check that an environment
//! converged with nothing orphaned, made with the AWS SDK and the emulator's API (never with
//! stowage's own view).
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use stowage_state::LocalStateFile;
use stowage_test_support::twilio_emulator::{RecordedRequest, RunningEmulator};
use stowage_test_support::{
    AwsProxy, Moto, ObservedRequest, Sandbox, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, start_emulator, stowage_command,
    twilio_env,
};

pub const BIN: &str = env!("CARGO_BIN_EXE_stowage");
pub const USER: &str = "twilio-video-uploader-dev";
/// What one stowage run may take at most, faults and retries included.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);
/// The request timeout of the runs with faults: short, so that "latency beyond the timeout"
/// costs little, yet far above what moto needs for one request on a busy machine.
pub const SHORT_TIMEOUT: &str = "2s";
/// How long requests still on their way after a run may take to land.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(30);

pub use stowage_test_support::dev_spec;

pub struct Rig {
    pub moto: Moto,
    /// In front of moto.
    pub aws: AwsProxy,
    pub emulator: RunningEmulator,
    /// In front of the emulator: dropped connections, delays and holds for Twilio requests.
    pub twilio: AwsProxy,
    pub sandbox: Sandbox,
    pub spec: PathBuf,
    http: reqwest::Client,
}

impl Rig {
    pub async fn new() -> Rig {
        Rig::with_spec(&dev_spec()).await
    }

    /// A rig whose `dev.toml` is `spec_text`; files it names (a public key) go in
    /// [`Rig::sandbox`].
    pub async fn with_spec(spec_text: &str) -> Rig {
        let moto = Moto::start();
        let aws = AwsProxy::start(&moto.endpoint()).await;
        // Twilio's own write test goes straight to moto: it is not a request of stowage's.
        let emulator = start_emulator(&moto.endpoint()).await;
        let twilio = AwsProxy::start(&emulator.base_url()).await;
        let sandbox = Sandbox::new();
        let spec = sandbox.write_spec("dev.toml", spec_text);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("an HTTP client");
        Rig { moto, aws, emulator, twilio, sandbox, spec, http }
    }

    /// Everything back to an untouched account and no state file.
    pub async fn reset(&self) {
        self.aws.clear();
        self.twilio.clear();
        let moto = self.moto.endpoint();
        let reset = self.http.post(format!("{moto}/moto-api/reset")).send().await.expect("moto answers a reset");
        assert!(reset.status().is_success(), "moto reset: {}", reset.status());
        let url = format!("{}/__emulator/reset", self.emulator.base_url());
        let reset = self.http.post(url).send().await.expect("the emulator answers a reset");
        assert!(reset.status().is_success(), "emulator reset: {}", reset.status());
        for path in [self.state_path(), self.sandbox.backup_path("dev.toml")] {
            let _ = std::fs::remove_file(path);
        }
    }

    pub fn state_path(&self) -> PathBuf {
        self.sandbox.state_path("dev.toml")
    }

    /// `stowage ARGS` against both proxies, each request bounded by `timeout`.
    pub fn command(&self, args: &[&str], timeout: &str) -> tokio::process::Command {
        let mut environment = self.moto.aws_env_via(&self.aws.endpoint());
        environment.extend(twilio_env(&self.twilio.endpoint()));
        environment.push(("STOWAGE_REQUEST_TIMEOUT".to_owned(), timeout.to_owned()));
        let mut command = tokio::process::Command::from(stowage_command(Path::new(BIN), &self.sandbox, environment));
        command.args(args).kill_on_drop(true);
        command
    }

    pub async fn run(&self, args: &[&str], timeout: &str) -> Output {
        let run = self.command(args, timeout).output();
        tokio::time::timeout(RUN_LIMIT, run).await.expect("stowage finished in time").expect("stowage ran")
    }

    pub fn apply_args(&self) -> Vec<String> {
        vec!["apply".to_owned(), self.spec.display().to_string(), "--auto-approve".to_owned()]
    }

    /// Apply again without faults and check that everything converged: `Ok` with how many
    /// objects that apply deleted as left by an interrupted apply.
    pub async fn converge(&self) -> Result<usize, NotConverged> {
        self.converge_observed().await.1
    }

    /// [`Rig::converge`], also returning what the converging apply did.
    pub async fn converge_observed(&self) -> (Observed, Result<usize, NotConverged>) {
        let spec = self.spec.display().to_string();
        let apply = self.run_observed(&["apply", &spec, "--auto-approve"], "30s").await;
        let outcome = self.converged(&spec, &apply.output).await;
        (apply, outcome)
    }

    /// [`Rig::run`], and what the proxies and the emulator saw of it, once every request it
    /// sent has landed (a delayed one reaches upstream after its client gave up).
    pub async fn run_observed(&self, args: &[&str], timeout: &str) -> Observed {
        let marks = (self.aws.requests().len(), self.twilio.requests().len(), self.emulator.requests().len());
        let started = std::time::Instant::now();
        let output = self.run(args, timeout).await;
        let elapsed = started.elapsed();
        let settled = async { tokio::join!(self.aws.settled(), self.twilio.settled()) };
        tokio::time::timeout(SETTLE_LIMIT, settled).await.expect("delayed requests landed");
        Observed {
            output,
            elapsed,
            aws: self.aws.requests().split_off(marks.0),
            twilio: self.twilio.requests().split_off(marks.1),
            emulator: self.emulator.requests().split_off(marks.2),
        }
    }

    async fn converged(&self, spec: &str, apply: &Output) -> Result<usize, NotConverged> {
        if apply.status.code() != Some(0) {
            let why = format!("the second apply exited with {:?}:\n{}", apply.status.code(), describe(apply));
            return Err(NotConverged::Failed(why));
        }
        let plan = self.run(&["plan", spec, "--detailed-exitcode"], "30s").await;
        if plan.status.code() != Some(0) {
            let why = format!("the plan after it exited with {:?}:\n{}", plan.status.code(), describe(&plan));
            return Err(NotConverged::Failed(why));
        }
        let orphans = self.orphans().await.map_err(NotConverged::Failed)?;
        if !orphans.is_empty() {
            return Err(NotConverged::Orphans(orphans));
        }
        Ok(String::from_utf8_lossy(&apply.stdout).matches("will be destroyed (left by an interrupted apply)").count())
    }

    /// Forgets the emulator's faults not yet spent (`DELETE /__emulator/faults`), and nothing
    /// else: its resources and request log stay.
    pub async fn clear_emulator_faults(&self) {
        let url = format!("{}/__emulator/faults", self.emulator.base_url());
        let cleared = self.http.delete(url).send().await.expect("the emulator answers a fault clear");
        assert!(cleared.status().is_success(), "emulator fault clear: {}", cleared.status());
    }

    /// What exists but is not the state's: access keys of the uploader, Twilio credentials,
    /// and settings that do not point at the state's credential. Errors when the state does
    /// not load or lacks what a converged environment records.
    pub async fn orphans(&self) -> Result<Vec<String>, String> {
        let state = LocalStateFile::new(self.state_path())
            .load()
            .map_err(|error| format!("the state does not load: {error}"))?
            .ok_or("there is no state file")?;
        if !state.intents.is_empty() {
            return Err(format!("the state still holds {} intent(s) after a complete apply", state.intents.len()));
        }
        let id_of = |address: &str| {
            state
                .get(address)
                .map(|resource| resource.id.clone())
                .ok_or(format!("the state does not record `{address}`"))
        };
        let key = id_of(&stowage_plan::desired::access_key_address().to_string())?;
        let credential = id_of(&stowage_plan::desired::credential_address().to_string())?;

        let mut orphans = Vec::new();
        let keys = self.access_keys().await;
        if !keys.contains(&key) {
            return Err(format!("the state's key `{key}` does not exist; IAM has {keys:?}"));
        }
        orphans.extend(keys.into_iter().filter(|id| *id != key).map(|id| format!("access key {id}")));
        let credentials = self.credentials().await;
        if !credentials.contains(&credential) {
            return Err(format!("the state's credential `{credential}` does not exist; Twilio has {credentials:?}"));
        }
        orphans.extend(credentials.into_iter().filter(|sid| *sid != credential).map(|sid| format!("credential {sid}")));
        // The encryption keys, when the environment has them: exactly the state's.
        if let Some(kms_key) = state.get(&stowage_plan::desired::kms_key_address().to_string()) {
            let keys = self.kms_keys().await;
            if !keys.contains(&kms_key.id) {
                return Err(format!("the state's KMS key `{}` is not in use; KMS has {keys:?}", kms_key.id));
            }
            orphans.extend(keys.into_iter().filter(|id| *id != kms_key.id).map(|id| format!("KMS key {id}")));
        }
        let public_keys = self.public_keys().await;
        let recorded: Vec<String> = ["recordings", "compositions"]
            .iter()
            .filter_map(|kind| state.get(&stowage_plan::desired::public_key_address(kind).to_string()))
            .map(|resource| resource.id.clone())
            .collect();
        orphans.extend(
            public_keys.into_iter().filter(|sid| !recorded.contains(sid)).map(|sid| format!("public key {sid}")),
        );
        for settings in ["RecordingSettings", "CompositionSettings"] {
            let found = self.emulator_get(&format!("/v1/{settings}/Default")).await;
            if found["aws_credentials_sid"].as_str() != Some(&credential) || found["aws_storage_enabled"] != true {
                return Err(format!("{settings} do not store with the state's credential `{credential}`: {found}"));
            }
        }
        Ok(orphans)
    }

    /// The uploader's access key ids, straight from moto.
    pub async fn access_keys(&self) -> Vec<String> {
        let iam = self.moto.iam_client();
        let keys = iam.list_access_keys().user_name(USER).send().await.expect("moto lists the keys");
        keys.access_key_metadata().iter().filter_map(|key| key.access_key_id().map(str::to_owned)).collect()
    }

    /// The KMS keys in use (not pending deletion), straight from moto.
    pub async fn kms_keys(&self) -> Vec<String> {
        let kms = self.moto.kms_client(common_region());
        let listed = kms.list_keys().send().await.expect("moto lists the keys");
        let mut in_use = Vec::new();
        for key_id in listed.keys().iter().filter_map(|key| key.key_id()) {
            let described = kms.describe_key().key_id(key_id).send().await.expect("moto describes the key");
            let state = described.key_metadata().and_then(|metadata| metadata.key_state()).cloned();
            if state != Some(aws_sdk_kms::types::KeyState::PendingDeletion) {
                in_use.push(key_id.to_owned());
            }
        }
        in_use
    }

    /// The SIDs of the emulator's public keys.
    pub async fn public_keys(&self) -> Vec<String> {
        let list = self.emulator_get("/v1/Credentials/PublicKeys?PageSize=100").await;
        list["credentials"]
            .as_array()
            .expect("a list of public keys")
            .iter()
            .filter_map(|credential| credential["sid"].as_str().map(str::to_owned))
            .collect()
    }

    /// The SIDs of the emulator's AWS credentials.
    pub async fn credentials(&self) -> Vec<String> {
        let list = self.emulator_get("/v1/Credentials/AWS?PageSize=100").await;
        list["credentials"]
            .as_array()
            .expect("a list of credentials")
            .iter()
            .filter_map(|credential| credential["sid"].as_str().map(str::to_owned))
            .collect()
    }

    async fn emulator_get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.emulator.base_url()))
            .basic_auth(TEST_ACCOUNT_SID, Some(TEST_AUTH_TOKEN))
            .send()
            .await
            .expect("the emulator answers");
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.expect("JSON")
    }
}

/// One run of `stowage` and what the observers outside it saw of it.
#[derive(Debug)]
pub struct Observed {
    pub output: Output,
    /// From start to exit.
    pub elapsed: Duration,
    /// Through the proxy in front of moto, in arrival order.
    pub aws: Vec<ObservedRequest>,
    /// Through the proxy in front of the emulator, in arrival order.
    pub twilio: Vec<ObservedRequest>,
    /// The emulator's own log: what reached it, with the status it answered.
    pub emulator: Vec<RecordedRequest>,
}

/// Why a run after a crash or a fault did not converge.
#[derive(Debug)]
pub enum NotConverged {
    /// Objects exist that the state does not record.
    Orphans(Vec<String>),
    Failed(String),
}

/// The outcome of the runs that converge after each crash or fault.
#[derive(Debug, Default)]
pub struct Tally {
    pub converged: usize,
    /// Objects deleted or adopted as left by an interrupted apply.
    pub leftovers: usize,
    pub orphans: usize,
    pub problems: Vec<String>,
}

impl Tally {
    /// Converge `rig` once more and count how it went; `case` names the run in a problem.
    pub async fn converge(&mut self, rig: &Rig, case: &str) {
        self.record(rig.converge().await, case);
    }

    /// Count how a converging run went ([`Rig::converge`], [`Rig::converge_observed`]).
    pub fn record(&mut self, outcome: Result<usize, NotConverged>, case: &str) {
        match outcome {
            Ok(deleted) => {
                self.converged += 1;
                self.leftovers += deleted;
            }
            Err(NotConverged::Orphans(orphans)) => {
                self.orphans += orphans.len();
                self.problems.push(format!("{case}: orphans: {}", orphans.join(", ")));
            }
            Err(NotConverged::Failed(why)) => self.problems.push(format!("{case}: {why}")),
        }
    }

    /// No orphan, no problem, and the intents were exercised at all.
    pub fn assert_clean(&self, runs: usize) {
        assert_eq!(self.orphans, 0, "orphans were left:\n{}", self.problems.join("\n"));
        assert!(
            self.problems.is_empty(),
            "{} of {runs} runs went wrong:\n{}",
            self.problems.len(),
            self.problems.join("\n\n")
        );
        assert!(self.leftovers > 0, "no run left anything behind for the next one to find: the intents went untested");
    }
}

pub fn describe(output: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn common_region() -> &'static str {
    "us-east-2"
}

/// How long a held request may take to arrive; a run that reaches it does so in seconds.
pub const HOLD_LIMIT: Duration = Duration::from_secs(60);

impl Rig {
    /// Starts an apply, waits until `proxy` holds a request, and kills the process there
    /// (SIGKILL). Returns the held request, or `None` when the apply ended without reaching it.
    pub async fn kill_at_hold(&self, proxy: &AwsProxy) -> Option<String> {
        let args = self.apply_args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        kill_at_hold(self.command(&args, SHORT_TIMEOUT), proxy).await
    }
}

/// Starts `command`, waits until `proxy` holds a request, and kills the process there
/// (SIGKILL). Returns the held request, or `None` when the run ended without reaching it.
pub async fn kill_at_hold(mut command: tokio::process::Command, proxy: &AwsProxy) -> Option<String> {
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = command.spawn().expect("stowage starts");
    let outcome = tokio::time::timeout(HOLD_LIMIT, async {
        tokio::select! {
            held = proxy.held() => Some(held.to_string()),
            _ = child.wait() => None,
        }
    })
    .await
    .expect("the run reached the held request or ended in time");
    if outcome.is_some() {
        child.start_kill().expect("SIGKILL sent");
    }
    let status = child.wait().await.expect("stowage is reaped");
    if outcome.is_some() {
        assert_eq!(status.code(), None, "stowage was killed by a signal, it did not exit");
    }
    outcome
}

/// A fault the reliability tests inject at a request: what real services and networks do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    ServerError,
    /// AWS throttling; for Twilio a 429 with `Retry-After`.
    Throttled,
    DroppedConnection,
    /// Longer than `SHORT_TIMEOUT`.
    Latency,
    /// `409 OperationAborted`: S3's answer to a configuration write while another one on the
    /// same bucket is in progress. AWS only.
    OperationAborted,
}

pub const AWS_FAULT_KINDS: [FaultKind; 5] = [
    FaultKind::ServerError,
    FaultKind::Throttled,
    FaultKind::DroppedConnection,
    FaultKind::Latency,
    FaultKind::OperationAborted,
];
pub const TWILIO_FAULT_KINDS: [FaultKind; 4] =
    [FaultKind::ServerError, FaultKind::Throttled, FaultKind::DroppedConnection, FaultKind::Latency];
/// Beyond `SHORT_TIMEOUT`: the client gives up first.
pub const BEYOND_TIMEOUT: Duration = Duration::from_millis(2500);

/// Who injects a fault, and how.
pub enum Injection {
    /// The proxy in front of moto, or of the emulator.
    Proxy(stowage_test_support::FaultAction),
    /// The emulator itself, so the answer has Twilio's own error body (Twilio's 500 and 429).
    Emulator { status: u16, retry_after: Option<u64> },
}

impl FaultKind {
    /// How this kind is injected on AWS's side or (`twilio`) on Twilio's.
    ///
    /// # Panics
    /// For `OperationAborted` on Twilio's side: it is S3's.
    pub fn injection(self, twilio: bool) -> Injection {
        use stowage_test_support::FaultAction;
        match (self, twilio) {
            (FaultKind::DroppedConnection, _) => Injection::Proxy(FaultAction::DropConnection),
            (FaultKind::Latency, _) => Injection::Proxy(FaultAction::Delay(BEYOND_TIMEOUT)),
            (FaultKind::ServerError, false) => Injection::Proxy(FaultAction::Status(500)),
            (FaultKind::Throttled, false) => Injection::Proxy(FaultAction::Throttle),
            (FaultKind::OperationAborted, false) => {
                Injection::Proxy(FaultAction::Error { status: 409, code: "OperationAborted".to_owned() })
            }
            (FaultKind::OperationAborted, true) => unreachable!("OperationAborted is injected at AWS requests only"),
            (FaultKind::ServerError, true) => Injection::Emulator { status: 500, retry_after: None },
            (FaultKind::Throttled, true) => Injection::Emulator { status: 429, retry_after: Some(1) },
        }
    }
}
