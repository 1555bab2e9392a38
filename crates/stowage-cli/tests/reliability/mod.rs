//! What the crash and fault tests share besides their world: the apply they interrupt, what
//! the observers outside stowage saw of a run, the check that an environment converged
//! with nothing orphaned, made with the AWS SDK and the emulator's API (never with stowage's
//! own view), and the matrices that kill a run, or give it a fault, at each of its points
//! ([`crash_matrix`], [`fault_matrix`]).
#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use regex::Regex;
use stowage_state::LocalStateFile;
use stowage_test_support::dev::{REGION, USER};
use stowage_test_support::twilio_emulator::{FaultRule, RecordedRequest};
use stowage_test_support::{
    AwsProxy, Fault, FaultAction, FaultMatch, Invocation, ObservedRequest, Run, World, dev_spec, operation_shape,
};

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
    kill_at_hold(apply(world), proxy).await
}

/// [`kill_apply_at_hold`] of any run: starts `run` with [`SHORT_TIMEOUT`], waits until `proxy`
/// holds a request, and kills it there.
pub async fn kill_at_hold(run: Invocation<'_>, proxy: &AwsProxy) -> Option<String> {
    let (_, held) = run.request_timeout(SHORT_TIMEOUT).kill_at_hold(proxy).await;
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
    let outcome = converged(world, &apply.output, &["plan"], orphans(world)).await;
    (apply, outcome)
}

/// [`converge`] as `scenario` does: its converging command, then its plan and its orphans.
pub async fn converge_scenario(world: &World, scenario: &impl Scenario) -> Result<usize, NotConverged> {
    let args = [scenario.converging_command(), &world.spec.display().to_string(), "--auto-approve"];
    let run = world.stowage(&args).request_timeout(CONVERGING_TIMEOUT).await;
    converged(world, &run, scenario.settled_plan(), scenario.orphans(world)).await
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

/// Whether the converging run `apply` converged: it succeeded, then the plan `plan` (its
/// command and flags, before the spec) finds nothing to do, and `orphans` finds nothing.
async fn converged(
    world: &World,
    apply: &Run,
    plan: &[&str],
    orphans: impl Future<Output = Result<Vec<String>, String>>,
) -> Result<usize, NotConverged> {
    if apply.code != Some(0) {
        return Err(NotConverged::Failed(format!("the second run failed:\n{apply}")));
    }
    let spec = world.spec.display().to_string();
    let args: Vec<&str> = [plan[0], spec.as_str()].into_iter().chain(plan[1..].iter().copied()).collect();
    let plan = world.stowage(&[&args[..], &["--detailed-exitcode"]].concat());
    let plan = plan.request_timeout(CONVERGING_TIMEOUT).await;
    if plan.code != Some(0) {
        return Err(NotConverged::Failed(format!("the plan after it did not find nothing to do:\n{plan}")));
    }
    let orphans = orphans.await.map_err(NotConverged::Failed)?;
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
    /// How often a scenario's invariant was checked ([`Scenario::invariant`]), and how often
    /// it did not hold (each also a problem).
    pub checks: usize,
    pub violations: usize,
    pub problems: Vec<String>,
}

impl Tally {
    /// Converge `world` once more and count how it went; `case` names the run in a problem.
    pub async fn converge(&mut self, world: &World, case: &str) {
        self.record(converge(world).await, case);
    }

    /// Check `scenario`'s invariant on `world` as it is now, if it has one, and count it;
    /// `case` names the moment in a problem.
    pub async fn check(&mut self, world: &World, scenario: &impl Scenario, case: &str) {
        if let Some(outcome) = scenario.invariant(world).await {
            self.checks += 1;
            if let Err(why) = outcome {
                self.violations += 1;
                self.problems.push(format!("{case}: the invariant does not hold: {why}"));
            }
        }
    }

    /// `, N invariant checks (M failed)` for a report, when the scenario has an invariant.
    fn checks_shown(&self) -> String {
        if self.checks == 0 {
            String::new()
        } else {
            format!(", {} invariant checks ({} failed)", self.checks, self.violations)
        }
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

// The matrices: a run under test killed, or given a fault, at each of its points. Points are
// named by operation and occurrence (`CreateAccessKey` #0), not by arrival index: concurrent
// steps reorder requests between runs, and a kill must land on the same change each time.

/// A point of a run: the side, the operation and which of its requests.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Point {
    pub twilio: bool,
    pub operation: String,
    pub nth: usize,
}

impl std::fmt::Display for Point {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = if self.twilio { "twilio" } else { "aws" };
        write!(formatter, "{side} {} #{}", self.operation, self.nth)
    }
}

/// Which requests of a run are its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requests {
    /// Its writes: dying before a write is dying after the read before it.
    Writes,
    /// All of them, reads and writes.
    Every,
}

impl Requests {
    fn noun(self) -> &'static str {
        match self {
            Requests::Writes => "write",
            Requests::Every => "request",
        }
    }
}

/// The points of the requests the proxies saw since they were last cleared: AWS's, then
/// Twilio's, each in arrival order.
pub fn points(world: &World, which: Requests) -> Vec<Point> {
    let mut points = side_points(false, &world.aws.requests(), which);
    points.extend(side_points(true, &world.twilio.requests(), which));
    points
}

fn side_points(twilio: bool, requests: &[ObservedRequest], which: Requests) -> Vec<Point> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    requests
        .iter()
        .filter_map(|request| {
            let operation = operation_shape(&request.operation);
            let nth = seen.entry(operation.clone()).or_default();
            let point = Point { twilio, operation, nth: *nth };
            *nth += 1;
            (which == Requests::Every || request.is_write).then_some(point)
        })
        .collect()
}

/// The proxy that sees `point`'s requests.
pub fn proxy_of<'a>(world: &'a World, point: &Point) -> &'a AwsProxy {
    if point.twilio { &world.twilio } else { &world.aws }
}

/// Makes the proxy hold the answer of `point`'s request: the change is made, the client never
/// learns of it (the worst moment to die).
pub fn hold_at(world: &World, point: &Point) {
    let matches = FaultMatch::Occurrence { operation: point.operation.clone(), nth: point.nth };
    proxy_of(world, point).inject(Fault::new(matches, FaultAction::HoldAnswer, 1));
}

/// Lets go of held requests and waits until the requests the killed process had on their way
/// (concurrent steps) have landed: they reach the services within moments, long before a
/// person runs apply again.
pub async fn after_kill(world: &World) {
    world.aws.clear();
    world.twilio.clear();
    world.settled().await;
}

/// Injects `kind` at `point` (the kinds of the fault matrix of `faults.rs`, which injects them
/// at every request of a fresh apply), by occurrence: through a proxy, or as the emulator's own
/// answer (it matches a method and a path prefix, and lets `after` matching requests through).
pub fn inject(world: &World, point: &Point, kind: FaultKind) {
    match kind.injection(point.twilio) {
        Injection::Proxy(action) => {
            let matches = FaultMatch::Occurrence { operation: point.operation.clone(), nth: point.nth };
            proxy_of(world, point).inject(Fault::new(matches, action, 1));
        }
        Injection::Emulator { status, retry_after } => {
            let (method, path) = point.operation.split_once(' ').expect("a Twilio operation is METHOD PATH");
            let rule = FaultRule {
                method: Some(method.to_owned()),
                after: u32::try_from(point.nth).expect("a small count"),
                retry_after,
                ..FaultRule::new(status, path.split("{Sid}").next().unwrap_or(path))
            };
            world.emulator.add_fault(rule).expect("a valid fault rule");
        }
    }
}

/// Whether the fault at `point` answered its request: the status the proxy passed on (none for
/// a dropped connection or a request given up), or the emulator's log.
pub fn fault_fired(world: &World, point: &Point, kind: FaultKind) -> bool {
    let expected: &[u16] = match (kind, point.twilio) {
        (FaultKind::DroppedConnection | FaultKind::Latency, _) => &[0],
        (FaultKind::ServerError, _) => &[500],
        (FaultKind::Throttled, false) => &[503, 400],
        (FaultKind::Throttled, true) => &[429],
        (FaultKind::OperationAborted, _) => &[409],
    };
    let seen = proxy_of(world, point)
        .requests()
        .into_iter()
        .filter(|request| operation_shape(&request.operation) == point.operation)
        .nth(point.nth);
    seen.is_some_and(|request| expected.contains(&request.status))
}

/// How a matrix gets from an untouched account to the run under test, which run that is, and
/// what must hold whenever anyone looks.
pub trait Scenario {
    /// Make the environment as it was before the run under test (after `world.reset()`).
    async fn before(&self, world: &World);

    /// The command under test, run as `stowage COMMAND SPEC --auto-approve`.
    fn command(&self) -> &'static str {
        "apply"
    }

    /// The command that converges after a kill or a fault, as `stowage COMMAND SPEC
    /// --auto-approve`: `apply` brings the spec back.
    fn converging_command(&self) -> &'static str {
        "apply"
    }

    /// The plan that must find nothing left to do once the environment converged: its command
    /// and flags, without the spec.
    fn settled_plan(&self) -> &'static [&'static str] {
        &["plan"]
    }

    /// What exists and should not once the environment converged (by default [`orphans`]:
    /// what the state does not record).
    async fn orphans(&self, world: &World) -> Result<Vec<String>, String> {
        orphans(world).await
    }

    /// What must hold at every moment the environment is looked at: after a clean run, after a
    /// kill or a faulted run (before anything repairs it), and after the apply that converges.
    /// `None` when the scenario claims nothing beyond convergence.
    async fn invariant(&self, _world: &World) -> Option<Result<(), String>> {
        None
    }
}

/// Applies `spec` as the spec a scenario starts from.
pub async fn apply_clean(world: &World, spec: &str) {
    world.rewrite_spec(spec);
    let apply = apply(world).request_timeout(CONVERGING_TIMEOUT).await;
    assert_eq!(apply.code, Some(0), "the starting apply fails:\n{apply}");
}

/// Reset, reach the run under test, and clear what the proxies saw, so points count from it.
pub async fn prepare(world: &World, scenario: &impl Scenario) {
    world.reset();
    scenario.before(world).await;
    world.aws.clear();
    world.twilio.clear();
}

/// `stowage COMMAND SPEC --auto-approve`: the scenario's run under test.
pub fn run_under_test<'a>(world: &'a World, scenario: &impl Scenario) -> Invocation<'a> {
    world.stowage(&[scenario.command(), &world.spec.display().to_string(), "--auto-approve"])
}

/// The run under test, clean: its points, and that it works at all (one run is enough: the
/// next plan has nothing left to do, nothing is orphaned, the invariant holds).
async fn clean_run(world: &World, scenario: &impl Scenario, which: Requests) -> Vec<Point> {
    prepare(world, scenario).await;
    let run = run_under_test(world, scenario).request_timeout(SHORT_TIMEOUT).await;
    assert_eq!(run.code, Some(0), "a clean run fails:\n{run}");
    let points = points(world, which);
    assert!(points.len() >= 4, "too few points to be the scenario: {points:?}");
    match converged(world, &run, scenario.settled_plan(), scenario.orphans(world)).await {
        Ok(_) => {}
        Err(NotConverged::Orphans(orphans)) => panic!("a clean run leaves orphans: {orphans:?}"),
        Err(NotConverged::Failed(why)) => panic!("a clean run does not settle: {why}"),
    }
    if let Some(Err(why)) = scenario.invariant(world).await {
        panic!("the invariant does not hold after a clean run: {why}");
    }
    points
}

/// Kills (SIGKILL) the run under test at each of its points in turn, each time from the
/// scenario's start, and then applies: every apply must converge with nothing orphaned, and
/// the invariant hold before it and after it. Prints the counts; answers them.
#[expect(clippy::print_stderr, reason = "the counts are the report of the test")]
pub async fn crash_matrix(name: &str, world: World, scenario: impl Scenario, which: Requests) -> Tally {
    let points = clean_run(&world, &scenario, which).await;

    let (mut killed, mut missed, mut tally) = (0, Vec::new(), Tally::default());
    for point in &points {
        let case = format!("{name}: killed at {point}");
        prepare(&world, &scenario).await;
        hold_at(&world, point);
        let held = kill_at_hold(run_under_test(&world, &scenario), proxy_of(&world, point)).await;
        killed += usize::from(held.is_some());
        if held.is_none() {
            missed.push(point.to_string());
        }
        after_kill(&world).await;
        tally.check(&world, &scenario, &format!("{case}, before the next apply")).await;
        tally.record(converge_scenario(&world, &scenario).await, &case);
        tally.check(&world, &scenario, &format!("{case}, after the next apply")).await;
    }
    let shown: Vec<String> = points.iter().map(ToString::to_string).collect();
    eprintln!(
        "crash safety ({name}): {} runs of `{}`, one per {} ({}), {killed} killed at a held request, {} converged ({} \
         leftovers of interrupted applies deleted), {} orphans left{}",
        points.len(),
        scenario.command(),
        which.noun(),
        shown.join(", "),
        tally.converged,
        tally.leftovers,
        tally.orphans,
        tally.checks_shown(),
    );
    assert_eq!(tally.orphans, 0, "orphans were left:\n{}", tally.problems.join("\n"));
    assert!(tally.problems.is_empty(), "{} runs went wrong:\n{}", tally.problems.len(), tally.problems.join("\n\n"));
    assert!(missed.is_empty(), "points of the clean run not reached again: {missed:?}");
    tally
}

/// Which fault kinds a fault matrix injects at each point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kinds {
    /// One per point, the kinds taken in turn.
    InTurn,
    /// Every kind at every point, one run each.
    Every,
}

/// The (point, kind) runs of a fault matrix.
fn fault_cases(points: &[Point], kinds: Kinds) -> Vec<(&Point, FaultKind)> {
    let kinds_at =
        |point: &Point| -> &'static [FaultKind] { if point.twilio { &TWILIO_FAULT_KINDS } else { &AWS_FAULT_KINDS } };
    match kinds {
        Kinds::InTurn => points
            .iter()
            .enumerate()
            .map(|(index, point)| (point, kinds_at(point)[index % kinds_at(point).len()]))
            .collect(),
        Kinds::Every => {
            points.iter().flat_map(|point| kinds_at(point).iter().map(move |kind| (point, *kind))).collect()
        }
    }
}

/// Gives the run under test a fault at each of its points (the kinds as `kinds` says), each
/// time from the scenario's start: each run either succeeds or fails naming the operation, the
/// invariant holds after it, and the next apply converges with nothing orphaned and the
/// invariant holding. Prints the counts; answers them.
#[expect(clippy::print_stderr, reason = "the counts are the report of the test")]
pub async fn fault_matrix(name: &str, world: World, scenario: impl Scenario, which: Requests, kinds: Kinds) -> Tally {
    let points = clean_run(&world, &scenario, which).await;
    let cases = fault_cases(&points, kinds);

    let (mut succeeded, mut failed_cleanly, mut tally) = (0, 0, Tally::default());
    for &(point, kind) in &cases {
        let case = format!("{name}: {kind:?} at {point}");
        prepare(&world, &scenario).await;
        world.clear_emulator_faults().await;
        inject(&world, point, kind);
        let run = run_under_test(&world, &scenario).request_timeout(SHORT_TIMEOUT).await;
        match run.code {
            Some(0) => succeeded += 1,
            Some(1) if names_an_operation(&run.stderr) => failed_cleanly += 1,
            other => tally.problems.push(format!("{case}: exited {other:?} without naming an operation\n{run}")),
        }
        world.settled().await;
        if !fault_fired(&world, point, kind) {
            tally.problems.push(format!("{case}: the fault never answered its request"));
        }
        world.aws.clear();
        world.twilio.clear();
        world.clear_emulator_faults().await;
        tally.check(&world, &scenario, &format!("{case}, before the next apply")).await;
        tally.record(converge_scenario(&world, &scenario).await, &case);
        tally.check(&world, &scenario, &format!("{case}, after the next apply")).await;
    }
    let per_point = match kinds {
        Kinds::InTurn => format!("one fault per {}, the kinds in turn", which.noun()),
        Kinds::Every => format!("every kind at every {} ({} of them)", which.noun(), points.len()),
    };
    eprintln!(
        "fault safety ({name}): {} runs of `{}`, {per_point}, {succeeded} succeeded despite the fault, \
         {failed_cleanly} failed with a clear error, {} converged, {} orphans left{}",
        cases.len(),
        scenario.command(),
        tally.converged,
        tally.orphans,
        tally.checks_shown(),
    );
    assert_eq!(tally.orphans, 0, "orphans were left:\n{}", tally.problems.join("\n"));
    assert!(tally.problems.is_empty(), "{} runs went wrong:\n{}", tally.problems.len(), tally.problems.join("\n\n"));
    tally
}
