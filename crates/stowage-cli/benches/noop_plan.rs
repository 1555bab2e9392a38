//! `cargo xtask bench`: how long a no-op plan of `examples/dev.toml` and of `examples/prod.toml`
//! (SSE-KMS: the KMS key's reads too) takes, and what it costs
//! in API calls, against moto and the Twilio emulator, with stowage's library API in process.
//!
//! AWS calls go through an [`AwsProxy`], so each count of stowage's own is checked against an
//! observer outside it (the proxy for AWS, the emulator's request log for Twilio). The
//! emulator's write test goes to moto directly and is not counted as stowage's.
//!
//! Figures: wall time of a no-op plan (refresh + plan) at parallelism 16 and 1, on loopback and
//! with a simulated network round trip added to every call; the calls of one no-op plan by kind
//! and by resource, each resource read once; one apply of a fresh environment with its calls.
//! Every figure is printed first; a count that disagrees with its observer then fails the bench.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use stowage_aws::AwsProvider;
use stowage_engine::{Engine, Event, Progress};
use stowage_plan::{DesiredResource, Plan, Prior, ReadTarget};
use stowage_provider::Address;
use stowage_state::{LocalStateFile, State};
use stowage_test_support::twilio_emulator::RunningEmulator;
use stowage_test_support::{
    AwsProxy, Fault, FaultAction, FaultMatch, Moto, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, start_emulator,
};
use stowage_twilio::{Operation, RetryPolicy, TwilioAuth, TwilioEndpoints, TwilioProvider};

/// Timed no-op plans per parallelism, after the warm-ups.
const RUNS: usize = 20;
/// Untimed plans first: connections, the SDKs' lazy setup, moto's first-call costs.
const WARM_UPS: usize = 2;
/// stowage's default `--parallelism`.
const DEFAULT_PARALLELISM: usize = 16;
/// Added to every AWS and Twilio call for the second timing: on loopback, moto and the emulator
/// answer in about a millisecond, which leaves concurrency little to hide.
const SIMULATED_ROUND_TRIP: Duration = Duration::from_millis(25);

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bench failed: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nbench failed: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The examples measured, each in a world of its own.
const EXAMPLES: [&str; 2] = ["dev", "prod"];

async fn run() -> Result<(), String> {
    let mut failures = Vec::new();
    for (index, example) in EXAMPLES.into_iter().enumerate() {
        if index > 0 {
            println!("\n{}\n", "=".repeat(100));
        }
        if let Err(problem) = run_example(example).await {
            failures.push(format!("examples/{example}.toml: {problem}"));
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n")) }
}

async fn run_example(example: &str) -> Result<(), String> {
    let world = World::start(example).await?;
    println!(
        "stowage: a no-op plan of examples/{example}.toml, against moto (via a recording proxy) and the Twilio emulator\n"
    );

    let mut environment = world.fresh_environment()?;
    let started = Instant::now();
    world.plan_and_apply(&mut environment, DEFAULT_PARALLELISM).await?;
    println!("setup: first apply of the environment in {}", millis(started.elapsed()));
    let prior = environment.prior()?;

    // Every figure is printed before a disagreeing count fails the bench.
    let mut problems = Vec::new();
    report_no_op_plan_times(&world, &prior).await?;
    report_no_op_plan_calls(&world, &prior, &mut problems).await?;
    report_fresh_apply(&world, &mut problems).await?;
    if problems.is_empty() {
        println!(
            "\nok: every no-op plan found no changes, read each resource once, and stowage's call counts match its observers'"
        );
        Ok(())
    } else {
        Err(problems.join("\n  "))
    }
}

/// How long: the same no-op plan, one call at a time and DEFAULT_PARALLELISM at a time, on
/// loopback and with a simulated network round trip.
async fn report_no_op_plan_times(world: &World, prior: &Prior) -> Result<(), String> {
    section(&format!("no-op plan (refresh + plan), {RUNS} runs after {WARM_UPS} warm-ups"));
    println!("  {:<36} {:>9} {:>9} {:>9}", "", "min", "median", "p90");
    let mut gains = Vec::new();
    for round_trip in [Duration::ZERO, SIMULATED_ROUND_TRIP] {
        world.add_latency(round_trip);
        let network =
            if round_trip.is_zero() { "loopback".to_owned() } else { format!("+{} per call", millis(round_trip)) };
        let mut medians = BTreeMap::new();
        for parallelism in [DEFAULT_PARALLELISM, 1] {
            let timing = Timing::of(world.time_no_op_plans(prior, parallelism).await?);
            println!(
                "  {:<36} {:>9} {:>9} {:>9}",
                format!("{network}, parallelism {parallelism}"),
                millis(timing.min),
                millis(timing.median),
                millis(timing.p90)
            );
            medians.insert(parallelism, timing.median);
        }
        let gain = medians[&1].as_secs_f64() / medians[&DEFAULT_PARALLELISM].as_secs_f64();
        gains.push(format!("{gain:.1}x {network}"));
    }
    world.add_latency(Duration::ZERO);
    println!("  concurrency gain (median at 1 / median at {DEFAULT_PARALLELISM}): {}", gains.join(", "));
    Ok(())
}

/// What it costs: one no-op plan's calls by kind, then each resource's read on its own.
async fn report_no_op_plan_calls(world: &World, prior: &Prior, problems: &mut Vec<String>) -> Result<(), String> {
    let engine = world.engine(DEFAULT_PARALLELISM);
    let (plan, calls) = world.count(world.no_op_plan(&engine, prior)).await;
    plan?;
    section(&format!("API calls of one no-op plan: {} in all, {} writes", calls.total(), calls.writes()));
    problems.extend(calls.print());
    if calls.writes() > 0 {
        problems.push("a no-op plan wrote something".to_owned());
    }

    let targets = stowage_plan::read_targets(&world.desired, prior);
    let reads = engine.progress_log.take();
    check_each_read_once(&targets, &reads)?;
    section(&format!(
        "resources read: {} distinct, {} reads (each resource once), and the calls each needs",
        targets.len(),
        reads.values().sum::<u32>()
    ));
    let mut one_by_one = Calls::default();
    for target in &targets {
        let (result, resource_calls) = world.count(world.read_alone(&engine, target)).await;
        result?;
        println!(
            "  {:<40} {:>3}  {}",
            target.address.to_string(),
            resource_calls.total(),
            resource_calls.kinds().join(", ")
        );
        one_by_one.add(&resource_calls);
    }
    if one_by_one.by_kind() == calls.by_kind() {
        println!("  (read one by one they make exactly the calls of the whole plan: no call is repeated)");
    } else {
        problems.push(format!(
            "the resources read one by one make other calls than the whole plan: {:?} alone, {:?} together",
            one_by_one.by_kind(),
            calls.by_kind()
        ));
    }
    Ok(())
}

/// One apply of a fresh environment: moto and the emulator emptied, no state.
async fn report_fresh_apply(world: &World, problems: &mut Vec<String>) -> Result<(), String> {
    world.moto.reset();
    world.twilio_emulator.reset();
    let mut fresh = world.fresh_environment()?;
    let (outcome, calls) = world.count(world.plan_and_apply(&mut fresh, DEFAULT_PARALLELISM)).await;
    let applied = outcome?;
    section(&format!(
        "apply of a fresh environment: {} ({} to plan, {} to apply), {} added, {} changed; {} API calls, {} writes",
        millis(applied.plan_time + applied.apply_time),
        millis(applied.plan_time),
        millis(applied.apply_time),
        applied.added,
        applied.changed,
        calls.total(),
        calls.writes()
    ));
    problems.extend(calls.print());
    world
        .no_op_plan(&world.engine(DEFAULT_PARALLELISM), &fresh.prior()?)
        .await
        .map(drop)
        .map_err(|error| format!("after the fresh apply: {error}"))
}

/// moto behind a recording proxy, the Twilio emulator, and stowage's providers pointed at them.
struct World {
    // Fields drop in order: the providers and the emulator stop before moto.
    aws: AwsProvider,
    twilio: TwilioProvider,
    twilio_emulator: RunningEmulator,
    proxy: AwsProxy,
    moto: Moto,
    desired: Vec<DesiredResource>,
    environment_name: String,
    /// Holds each environment's state file.
    scratch: tempfile::TempDir,
}

impl World {
    async fn start(example: &str) -> Result<World, String> {
        let name = format!("examples/{example}.toml");
        let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(&name);
        let text = std::fs::read_to_string(&spec_path)
            .map_err(|error| format!("could not read {}: {error}", spec_path.display()))?;
        let spec =
            stowage_spec::parse(&name, &text).map_err(|errors| format!("{name} is not a valid spec: {errors}"))?.spec;

        let moto = Moto::start();
        let proxy = AwsProxy::start(&moto.endpoint()).await;
        let twilio_emulator = start_emulator(&moto.endpoint()).await;

        let region = spec.aws.region.as_str().to_owned();
        let aws = AwsProvider::from_config(&moto.aws_sdk_config_via(&proxy.endpoint(), &region), region);
        let credentials =
            BTreeMap::from([("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID), ("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN)]);
        let auth = TwilioAuth::from_lookup(|name| credentials.get(name).map(|value| (*value).to_owned()))
            .map_err(|error| format!("the test account's credentials: {error}"))?;
        let base_url = twilio_emulator.base_url();
        let endpoints = TwilioEndpoints::from_overrides(Some(&base_url), Some(&base_url))
            .map_err(|error| format!("the emulator's address: {error}"))?;
        let twilio = TwilioProvider::connect(auth, endpoints, RetryPolicy::default())
            .map_err(|error| format!("could not set up the Twilio client: {error}"))?;

        Ok(World {
            aws,
            twilio,
            twilio_emulator,
            proxy,
            moto,
            desired: stowage_plan::desired_resources(&spec),
            environment_name: spec.environment.name.as_str().to_owned(),
            scratch: tempfile::tempdir().map_err(|error| format!("could not make a scratch directory: {error}"))?,
        })
    }

    /// Delays every AWS call (at the proxy) and every Twilio call (at the emulator) by
    /// `round_trip`; zero takes the delay away.
    fn add_latency(&self, round_trip: Duration) {
        self.proxy.clear();
        if !round_trip.is_zero() {
            self.proxy.inject(Fault::new(FaultMatch::Any, FaultAction::Delay(round_trip), usize::MAX));
        }
        self.twilio_emulator.set_latency(round_trip);
    }

    fn engine(&self, parallelism: usize) -> CountingEngine {
        let progress_log = Arc::new(ReadLog::default());
        let engine = Engine {
            aws: Arc::new(self.aws.clone()),
            twilio: Some(Arc::new(self.twilio.clone())),
            parallelism,
            progress: Arc::clone(&progress_log) as Arc<dyn Progress>,
        };
        CountingEngine { engine, progress_log }
    }

    /// An empty state, in a file of its own.
    fn fresh_environment(&self) -> Result<Environment, String> {
        let directory = tempfile::tempdir_in(self.scratch.path())
            .map_err(|error| format!("could not make a state directory: {error}"))?;
        let file = LocalStateFile::new(directory.path().join("dev.state.json"));
        Ok(Environment {
            state: State::new(self.environment_name.clone(), env!("CARGO_PKG_VERSION")),
            file,
            _directory: directory,
        })
    }

    /// Refresh, plan and apply, as `stowage apply --auto-approve` does.
    async fn plan_and_apply(&self, environment: &mut Environment, parallelism: usize) -> Result<Applied, String> {
        let engine = self.engine(parallelism);
        let prior = environment.prior()?;
        let started = Instant::now();
        let plan = self.plan(&engine, &prior).await?;
        let plan_time = started.elapsed();
        if plan.has_errors() {
            return Err(format!("the plan of `{}` has errors", self.environment_name));
        }
        let started = Instant::now();
        stowage_engine::apply(&engine.engine, &plan, &mut environment.state, &environment.file)
            .await
            .map_err(|error| format!("apply failed: {error}"))?;
        let summary = plan.summary();
        Ok(Applied { plan_time, apply_time: started.elapsed(), added: summary.add, changed: summary.change })
    }

    async fn plan(&self, engine: &CountingEngine, prior: &Prior) -> Result<Plan, String> {
        let targets = stowage_plan::read_targets(&self.desired, prior);
        let observations = stowage_engine::refresh(&engine.engine, &targets)
            .await
            .map_err(|error| format!("refresh failed: {error}"))?;
        Ok(stowage_plan::plan(&self.desired, prior, &observations))
    }

    /// A plan that must find nothing to do: otherwise the bench would time something else.
    async fn no_op_plan(&self, engine: &CountingEngine, prior: &Prior) -> Result<Plan, String> {
        let plan = self.plan(engine, prior).await?;
        if plan.has_changes() || plan.has_errors() {
            let summary = plan.summary();
            return Err(format!(
                "the plan after apply is not a no-op: {} to add, {} to change, {} to destroy",
                summary.add, summary.change, summary.destroy
            ));
        }
        Ok(plan)
    }

    async fn time_no_op_plans(&self, prior: &Prior, parallelism: usize) -> Result<Vec<Duration>, String> {
        let engine = self.engine(parallelism);
        for _ in 0..WARM_UPS {
            self.no_op_plan(&engine, prior).await?;
        }
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let started = Instant::now();
            self.no_op_plan(&engine, prior).await?;
            times.push(started.elapsed());
        }
        Ok(times)
    }

    async fn read_alone(&self, engine: &CountingEngine, target: &ReadTarget) -> Result<(), String> {
        stowage_engine::refresh(&engine.engine, std::slice::from_ref(target))
            .await
            .map(drop)
            .map_err(|error| format!("reading {}: {error}", target.address))
    }

    /// Runs `work` and counts the calls it makes: stowage's own counters and the observers'.
    async fn count<T>(&self, work: impl Future<Output = T>) -> (T, Calls) {
        self.proxy.clear();
        let aws_before = self.aws.calls().snapshot();
        let twilio_before = self.twilio.client().calls();
        let emulator_before = self.twilio_emulator.requests().len();

        let output = work.await;

        let mut calls = Calls::default();
        for (kind, count) in self.aws.calls().snapshot() {
            let delta = count - aws_before.get(&kind).copied().unwrap_or(0);
            if delta > 0 {
                calls.aws.insert(kind, delta);
            }
        }
        let twilio_after = self.twilio.client().calls();
        for operation in Operation::ALL {
            let delta = twilio_after.get(operation) - twilio_before.get(operation);
            if delta > 0 {
                calls.twilio.insert(operation, delta);
            }
        }
        for request in self.proxy.requests() {
            *calls.proxy.entry(format!("{}:{}", request.service, request.operation)).or_default() += 1;
        }
        calls.emulator = (self.twilio_emulator.requests().len() - emulator_before) as u64;
        (output, calls)
    }
}

/// An engine whose progress counts the reads it starts.
struct CountingEngine {
    engine: Engine,
    progress_log: Arc<ReadLog>,
}

/// Reads started, by address.
#[derive(Default)]
struct ReadLog(Mutex<BTreeMap<Address, u32>>);

impl ReadLog {
    fn take(&self) -> BTreeMap<Address, u32> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Progress for ReadLog {
    fn event(&self, event: Event<'_>) {
        if let Event::ReadStarted { address } = event {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner).entry(address.clone()).or_default() += 1;
        }
    }
}

/// Every resource read exactly once: none skipped, none repeated.
fn check_each_read_once(targets: &[ReadTarget], reads: &BTreeMap<Address, u32>) -> Result<(), String> {
    let expected: BTreeMap<Address, u32> = targets.iter().map(|target| (target.address.clone(), 1)).collect();
    if expected.len() != targets.len() {
        return Err(format!(
            "read_targets named an address twice: {} targets, {} distinct",
            targets.len(),
            expected.len()
        ));
    }
    if *reads != expected {
        return Err(format!("reads by address {reads:?}, expected each of the {} targets once", targets.len()));
    }
    Ok(())
}

/// The state of one environment and its file.
struct Environment {
    state: State,
    file: LocalStateFile,
    _directory: tempfile::TempDir,
}

impl Environment {
    fn prior(&self) -> Result<Prior, String> {
        Prior::from_state(&self.state).map_err(|error| format!("the state does not load as a prior: {error}"))
    }
}

struct Applied {
    plan_time: Duration,
    apply_time: Duration,
    added: usize,
    changed: usize,
}

/// The calls made by one piece of work, as stowage counted them and as the observers saw them.
#[derive(Default)]
struct Calls {
    /// stowage's AWS counter, by `service:Operation` (once per operation, retries not counted).
    aws: BTreeMap<String, u64>,
    /// stowage's Twilio counter, every request sent.
    twilio: BTreeMap<Operation, u64>,
    /// The proxy's log, by `service:Operation` (every request it forwarded).
    proxy: BTreeMap<String, u64>,
    /// Requests in the emulator's log.
    emulator: u64,
}

/// Totals and kinds take AWS calls from the proxy, which sees every request whatever stowage
/// counts, and Twilio calls from stowage's client, which names them (the emulator's log only
/// confirms how many). [`Calls::print`] compares each count with its observer.
impl Calls {
    fn total(&self) -> u64 {
        self.by_kind().values().sum()
    }

    fn writes(&self) -> u64 {
        let aws = self.proxy.iter().filter(|(kind, _)| !is_aws_read(kind)).map(|(_, count)| count).sum::<u64>();
        let twilio =
            self.twilio.iter().filter(|(operation, _)| operation.is_write()).map(|(_, count)| count).sum::<u64>();
        aws + twilio
    }

    /// `s3:GetBucketVersioning`, `twilio:FetchRecordingSettings`, with a count when above one.
    fn kinds(&self) -> Vec<String> {
        self.by_kind()
            .into_iter()
            .map(|(kind, count)| if count > 1 { format!("{kind} x{count}") } else { kind })
            .collect()
    }

    /// AWS and Twilio calls in one map, by `service:Operation`.
    fn by_kind(&self) -> BTreeMap<String, u64> {
        let twilio = self.twilio.iter().map(|(operation, &count)| (format!("twilio:{}", operation.name()), count));
        self.proxy.clone().into_iter().chain(twilio).collect()
    }

    fn add(&mut self, other: &Calls) {
        for (kind, count) in &other.aws {
            *self.aws.entry(kind.clone()).or_default() += count;
        }
        for (operation, count) in &other.twilio {
            *self.twilio.entry(*operation).or_default() += count;
        }
        for (kind, count) in &other.proxy {
            *self.proxy.entry(kind.clone()).or_default() += count;
        }
        self.emulator += other.emulator;
    }

    /// A table of the calls by kind, stowage's count beside the observer's; returns where they
    /// disagree.
    fn print(&self) -> Vec<String> {
        println!("  {:<40} {:>7} {:>9}", "call", "stowage", "observed");
        let mut kinds: Vec<&String> = self.aws.keys().chain(self.proxy.keys()).collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            let counted = self.aws.get(kind).copied().unwrap_or(0);
            let observed = self.proxy.get(kind).copied().unwrap_or(0);
            println!("  {kind:<40} {counted:>7} {observed:>9}");
        }
        for (operation, count) in &self.twilio {
            println!("  {:<40} {count:>7} {:>9}", format!("twilio:{}", operation.name()), "");
        }
        let aws: u64 = self.aws.values().sum();
        let proxy: u64 = self.proxy.values().sum();
        let twilio: u64 = self.twilio.values().sum();
        println!("  {:<40} {aws:>7} {proxy:>9}  (observed by the proxy)", "AWS in all");
        println!("  {:<40} {twilio:>7} {:>9}  (observed in the emulator's log)", "Twilio in all", self.emulator);
        let mut problems = Vec::new();
        if self.aws != self.proxy {
            problems.push(format!(
                "stowage's AWS call counter (AwsProvider::calls) says {aws} calls where the proxy saw {proxy}: {:?} against {:?}",
                self.aws, self.proxy
            ));
        }
        if twilio != self.emulator {
            problems.push(format!(
                "stowage's Twilio client counted {twilio} requests where the emulator logged {}",
                self.emulator
            ));
        }
        problems
    }
}

/// Whether an AWS `service:Operation` only reads.
fn is_aws_read(kind: &str) -> bool {
    let operation = kind.split_once(':').map_or(kind, |(_, operation)| operation);
    stowage_aws::calls::is_read(operation)
}

/// Min, median and 90th percentile (nearest rank).
struct Timing {
    min: Duration,
    median: Duration,
    p90: Duration,
}

impl Timing {
    fn of(mut times: Vec<Duration>) -> Timing {
        times.sort();
        let rank = |percent: usize| times[(times.len() * percent).div_ceil(100).saturating_sub(1)];
        Timing { min: times[0], median: rank(50), p90: rank(90) }
    }
}

fn section(title: &str) {
    println!("\n{title}");
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
