//! What the crash and fault tests share besides their world: the apply they interrupt, what
//! the observers outside stowage saw of a run, and the check that an environment converged
//! with nothing orphaned, made with the AWS SDK and the emulator's API (never with stowage's
//! own view).
#![allow(dead_code)] // each test binary uses a different part

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use regex::Regex;
use stowage_state::LocalStateFile;
use stowage_test_support::dev::{REGION, USER};
use stowage_test_support::twilio_emulator::RecordedRequest;
use stowage_test_support::{AwsProxy, Invocation, ObservedRequest, Run, World, dev_spec};

/// The request timeout of the runs with faults: short, so that "latency beyond the timeout"
/// costs little, yet far above what moto needs for one request on a busy machine.
pub const SHORT_TIMEOUT: &str = "2s";
/// The request timeout of the runs that converge: no fault is left to wait out.
pub const CONVERGING_TIMEOUT: &str = "30s";

/// `examples/dev.toml` with everything stowage can make: a KMS key it creates, and the
/// recordings encrypted with the public key in the sandbox file `public_key`.
pub fn encrypted_spec(public_key: &str) -> String {
    dev_spec()
        .replace("block_public_access = true\n", "block_public_access = true\nencryption = { kms_key = \"create\" }\n")
        .replace(
            "[recordings]\nstore_in_s3 = true\n",
            &format!("[recordings]\nstore_in_s3 = true\nencryption_public_key = \"{public_key}\"\n"),
        )
}

/// Copies the key `tests/fixtures/FIXTURE` into `world`'s sandbox as `name`.
pub fn copy_fixture(world: &World, fixture: &str, name: &str) {
    let pem = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(fixture);
    std::fs::copy(pem, world.sandbox.path().join(name)).expect("the key is copied");
}

/// `stowage apply --auto-approve` of the world's spec.
pub fn apply(world: &World) -> Invocation<'_> {
    world.stowage(&["apply", &world.spec.display().to_string(), "--auto-approve"])
}

/// Starts an apply, waits until `proxy` holds a request, and kills the process there
/// (SIGKILL). Returns the held request, or `None` when the apply ended without reaching it.
pub async fn kill_apply_at_hold(world: &World, proxy: &AwsProxy) -> Option<String> {
    let (_, held) = apply(world).request_timeout(SHORT_TIMEOUT).kill_at_hold(proxy).await;
    held.map(|held| held.to_string())
}

/// Apply again without faults and check that everything converged: `Ok` with how many
/// objects that apply deleted as left by an interrupted apply.
pub async fn converge(world: &World) -> Result<usize, NotConverged> {
    converge_observed(world).await.1
}

/// [`converge`], also returning what the converging apply did.
pub async fn converge_observed(world: &World) -> (Observed, Result<usize, NotConverged>) {
    let apply = run_observed(world, apply(world).request_timeout(CONVERGING_TIMEOUT)).await;
    let outcome = converged(world, &apply.output).await;
    (apply, outcome)
}

/// Runs `invocation`, and answers what the proxies and the emulator saw of it, once every
/// request it sent has landed (a delayed one reaches upstream after its client gave up).
pub async fn run_observed(world: &World, invocation: Invocation<'_>) -> Observed {
    let marks = (world.aws.requests().len(), world.twilio.requests().len(), world.twilio_log_mark());
    let started = Instant::now();
    let output = invocation.await;
    let elapsed = started.elapsed();
    world.settled().await;
    Observed {
        output,
        elapsed,
        aws: world.aws.requests().split_off(marks.0),
        twilio: world.twilio.requests().split_off(marks.1),
        emulator: world.twilio_requests_since(marks.2),
    }
}

async fn converged(world: &World, apply: &Run) -> Result<usize, NotConverged> {
    if apply.code != Some(0) {
        return Err(NotConverged::Failed(format!("the second apply failed:\n{apply}")));
    }
    let plan = world.stowage(&["plan", &world.spec.display().to_string(), "--detailed-exitcode"]);
    let plan = plan.request_timeout(CONVERGING_TIMEOUT).await;
    if plan.code != Some(0) {
        return Err(NotConverged::Failed(format!("the plan after it did not find nothing to do:\n{plan}")));
    }
    let orphans = orphans(world).await.map_err(NotConverged::Failed)?;
    if !orphans.is_empty() {
        return Err(NotConverged::Orphans(orphans));
    }
    Ok(apply.stdout.matches("will be destroyed (left by an interrupted apply)").count())
}

/// What exists but is not the state's: access keys of the uploader, Twilio credentials,
/// KMS keys and public keys, and settings that do not point at the state's credential. Errors
/// when the state does not load or lacks what a converged environment records.
pub async fn orphans(world: &World) -> Result<Vec<String>, String> {
    let state = LocalStateFile::new(world.state_path())
        .load()
        .map_err(|error| format!("the state does not load: {error}"))?
        .ok_or("there is no state file")?;
    if !state.intents.is_empty() {
        return Err(format!("the state still holds {} intent(s) after a complete apply", state.intents.len()));
    }
    let id_of = |address: &str| {
        state.get(address).map(|resource| resource.id.clone()).ok_or(format!("the state does not record `{address}`"))
    };
    let key = id_of(&stowage_plan::desired::access_key_address().to_string())?;
    let credential = id_of(&stowage_plan::desired::credential_address().to_string())?;

    let mut orphans = Vec::new();
    let keys = world.moto.access_key_ids(USER).await;
    if !keys.contains(&key) {
        return Err(format!("the state's key `{key}` does not exist; IAM has {keys:?}"));
    }
    orphans.extend(keys.into_iter().filter(|id| *id != key).map(|id| format!("access key {id}")));
    let credentials = world.twilio_aws_credentials().await;
    if !credentials.contains(&credential) {
        return Err(format!("the state's credential `{credential}` does not exist; Twilio has {credentials:?}"));
    }
    orphans.extend(credentials.into_iter().filter(|sid| *sid != credential).map(|sid| format!("credential {sid}")));
    // The encryption keys, when the environment has them: exactly the state's.
    if let Some(kms_key) = state.get(&stowage_plan::desired::kms_key_address().to_string()) {
        let keys = world.moto.kms_keys_in_use(REGION).await;
        if !keys.contains(&kms_key.id) {
            return Err(format!("the state's KMS key `{}` is not in use; KMS has {keys:?}", kms_key.id));
        }
        orphans.extend(keys.into_iter().filter(|id| *id != kms_key.id).map(|id| format!("KMS key {id}")));
    }
    let recorded: Vec<String> = ["recordings", "compositions"]
        .iter()
        .filter_map(|kind| state.get(&stowage_plan::desired::public_key_address(kind).to_string()))
        .map(|resource| resource.id.clone())
        .collect();
    let public_keys = world.twilio_public_keys().await;
    orphans
        .extend(public_keys.into_iter().filter(|sid| !recorded.contains(sid)).map(|sid| format!("public key {sid}")));
    for settings in ["RecordingSettings", "CompositionSettings"] {
        let found = world.twilio_get(&format!("/v1/{settings}/Default")).await;
        if found["aws_credentials_sid"].as_str() != Some(&credential) || found["aws_storage_enabled"] != true {
            return Err(format!("{settings} do not store with the state's credential `{credential}`: {found}"));
        }
    }
    Ok(orphans)
}

/// One run of `stowage` and what the observers outside it saw of it.
#[derive(Debug)]
pub struct Observed {
    pub output: Run,
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
    /// Converge `world` once more and count how it went; `case` names the run in a problem.
    pub async fn converge(&mut self, world: &World, case: &str) {
        self.record(converge(world).await, case);
    }

    /// Count how a converging run went ([`converge`], [`converge_observed`]).
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

/// Whether a failed run's diagnostics name the operation that failed, as a provider error
/// does: `iam CreateAccessKey: ...`, `twilio CreateAwsCredential: ...`.
pub fn names_an_operation(stderr: &str) -> bool {
    static OPERATION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b(s3|iam|sts|kms|twilio) [A-Z][A-Za-z]+: ").expect("a valid pattern"));
    OPERATION.is_match(stderr)
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
