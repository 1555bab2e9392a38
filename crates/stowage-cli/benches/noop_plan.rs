//! `cargo xtask bench`: what a no-op plan, a fresh apply and a destroy of `examples/dev.toml` and of
//! `examples/prod.toml` (SSE-KMS: the KMS key's calls too) cost, measured on the real `stowage`
//! binary against moto (behind a recording proxy) and the Twilio emulator.
//!
//! Every figure comes from an observer outside stowage. AWS calls are counted by the proxy's
//! log (service, operation, and whether it writes); Twilio calls by the emulator's request log
//! (method and path; `GET` and `HEAD` read, anything else writes). The emulator's own write test
//! goes to moto directly and is not counted as stowage's. Per operation: wall time of the
//! process (min, median, p90 of the measured runs), peak resident memory (the highest `VmHWM` in
//! `/proc/PID/status`, sampled every millisecond until the process exits; Linux only), and the
//! calls of one run by kind. A no-op plan is timed at parallelism 16 and 1, on loopback and with
//! a simulated network round trip added to every call.
//!
//! stowage's own call counters appear only in a cross-check at the end, run in process through
//! the library API: they must agree with the observers call for call. The cross-check also lists
//! the calls each resource's read needs, and proves each resource is read once.
//!
//! `--quick` (what `cargo xtask test`, and so CI, runs on the debug build the tests made): one
//! warm-up and two measured runs of each operation. The bench fails only when it is broken (a
//! run that fails, a no-op plan that finds changes or writes, a resource read other than once,
//! stowage's counters disagreeing with the observers), never on a time.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use stowage_aws::AwsProvider;
use stowage_engine::{Engine, Event, Progress};
use stowage_plan::{DesiredResource, Plan, Prior, ReadTarget};
use stowage_provider::Address;
use stowage_state::{LocalStateFile, State};
use stowage_test_support::twilio_emulator::{RecordedRequest, RunningEmulator};
use stowage_test_support::{
    AwsProxy, Fault, FaultAction, FaultMatch, Moto, ObservedRequest, Sandbox, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN,
    start_emulator, stowage_command, twilio_env,
};
use stowage_twilio::{Operation, RetryPolicy, TwilioAuth, TwilioEndpoints, TwilioProvider};

/// The binary measured: the `stowage` of the profile this bench is built with (`cargo bench`:
/// release; `cargo bench --profile dev`: the debug build the tests use).
const STOWAGE: &str = env!("CARGO_BIN_EXE_stowage");
/// The examples measured, each in a world of its own.
const EXAMPLES: [&str; 2] = ["dev", "prod"];
/// stowage's default `--parallelism`.
const DEFAULT_PARALLELISM: usize = 16;
/// Added to every AWS and Twilio call for the second timing: on loopback, moto and the emulator
/// answer in about a millisecond, which leaves concurrency little to hide.
const SIMULATED_ROUND_TRIP: Duration = Duration::from_millis(25);
/// A run taking longer than this is broken, not slow.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// How often the peak resident memory of a running `stowage` is sampled.
const MEMORY_SAMPLING: Duration = Duration::from_millis(1);

const USAGE: &str = "usage: noop_plan [--quick]\n\n  \
    --quick   one warm-up and two measured runs per operation (CI), instead of the full counts\n\n\
    (cargo bench adds `--bench`, which is ignored)";

/// How many runs of each operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Settings {
    quick: bool,
    plans: Runs,
    applies: Runs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Runs {
    /// Untimed runs first: moto's and the emulator's first-call costs, the page cache.
    warm_ups: usize,
    measured: usize,
}

impl Settings {
    const FULL: Settings = Settings {
        quick: false,
        plans: Runs { warm_ups: 2, measured: 20 },
        applies: Runs { warm_ups: 1, measured: 5 },
    };
    const QUICK: Settings =
        Settings { quick: true, plans: Runs { warm_ups: 1, measured: 2 }, applies: Runs { warm_ups: 1, measured: 2 } };

    /// The settings the arguments ask for; `None` for `--help`.
    fn from_args(args: impl IntoIterator<Item = String>) -> Result<Option<Settings>, String> {
        let mut settings = Settings::FULL;
        for arg in args {
            match arg.as_str() {
                "--quick" => settings = Settings::QUICK,
                // `cargo bench` passes `--bench` to every bench target.
                "--bench" => {}
                "--help" | "-h" => return Ok(None),
                other => return Err(format!("unexpected argument `{other}`")),
            }
        }
        Ok(Some(settings))
    }
}

fn main() -> ExitCode {
    let settings = match Settings::from_args(std::env::args().skip(1)) {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("bench: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bench failed: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nbench failed: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> Result<(), String> {
    let build = if cfg!(debug_assertions) { "debug build: not release figures" } else { "optimized build" };
    println!("stowage binary: {STOWAGE} ({build})");
    println!(
        "{}: per operation, {} warm-up(s) then {} measured runs of apply, {} then {} of each no-op plan; \
         times are figures, never a verdict",
        if settings.quick { "quick" } else { "full" },
        settings.applies.warm_ups,
        settings.applies.measured,
        settings.plans.warm_ups,
        settings.plans.measured,
    );
    let mut failures = Vec::new();
    for example in EXAMPLES {
        println!("\n{}\n", "=".repeat(100));
        if let Err(problem) = run_example(example, &settings).await {
            failures.push(format!("examples/{example}.toml: {problem}"));
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n")) }
}

async fn run_example(example: &str, settings: &Settings) -> Result<(), String> {
    let world = World::start(example).await?;
    println!(
        "examples/{example}.toml: the stowage binary against moto (via a recording proxy) and the Twilio emulator"
    );

    // Every figure is printed before a problem fails the bench.
    let mut problems = Vec::new();
    let (apply, environment) = world.fresh_applies(settings.applies).await?;
    let mut plans = Vec::new();
    for round_trip in [Duration::ZERO, SIMULATED_ROUND_TRIP] {
        for parallelism in [DEFAULT_PARALLELISM, 1] {
            let measured = world.no_op_plans(&environment, parallelism, round_trip, settings.plans).await?;
            plans.push((round_trip, parallelism, measured));
        }
    }
    // Last: each destroy starts from an emptied world, and the plans need the applied one.
    let destroy = world.destroys(settings.applies).await?;
    report_operations(&apply, &destroy, &plans);
    report_calls(&apply, &destroy, &plans, &mut problems);

    world.cross_check(&mut problems).await?;
    if problems.is_empty() {
        println!(
            "\nok: every run succeeded, every no-op plan found no changes and wrote nothing, read each resource once, \
             and stowage's own call counts match its observers'"
        );
        Ok(())
    } else {
        Err(problems.join("\n  "))
    }
}

/// Wall time, peak memory and calls per operation.
fn report_operations(apply: &Measured, destroy: &Measured, plans: &[(Duration, usize, Measured)]) {
    section("per operation (the stowage process: wall time, peak resident memory; calls as observed)");
    println!(
        "  {:<44} {:>4} {:>10} {:>10} {:>10} {:>9} {:>6} {:>6} {:>7}",
        "", "runs", "min", "median", "p90", "peak RSS", "calls", "reads", "writes"
    );
    let row = |name: String, measured: &Measured| {
        let timing = Timing::of(&measured.times);
        println!(
            "  {name:<44} {:>4} {:>10} {:>10} {:>10} {:>9} {:>6} {:>6} {:>7}",
            measured.times.len(),
            millis(timing.min),
            millis(timing.median),
            millis(timing.p90),
            measured.peak_kib.map_or_else(|| "n/a".to_owned(), mebibytes),
            measured.calls.total(),
            measured.calls.reads(),
            measured.calls.writes(),
        );
    };
    row("apply of a fresh environment".to_owned(), apply);
    row("destroy of a fresh environment".to_owned(), destroy);
    let mut gains = Vec::new();
    for round_trip in [Duration::ZERO, SIMULATED_ROUND_TRIP] {
        let mut medians = BTreeMap::new();
        for (_, parallelism, measured) in plans.iter().filter(|(time, _, _)| *time == round_trip) {
            row(format!("no-op plan, {}, parallelism {parallelism}", network(round_trip)), measured);
            medians.insert(*parallelism, Timing::of(&measured.times).median);
        }
        if let (Some(one), Some(many)) = (medians.get(&1), medians.get(&DEFAULT_PARALLELISM)) {
            gains.push(format!("{:.1}x {}", one.as_secs_f64() / many.as_secs_f64(), network(round_trip)));
        }
    }
    println!("  concurrency gain (median at 1 / median at {DEFAULT_PARALLELISM}): {}", gains.join(", "));
}

/// The calls of one fresh apply, one destroy and one no-op plan by kind, and what the plans
/// must not do.
fn report_calls(
    apply: &Measured,
    destroy: &Measured,
    plans: &[(Duration, usize, Measured)],
    problems: &mut Vec<String>,
) {
    let Some((_, _, plan)) = plans.first() else { return };
    section(
        "API calls by kind, one run each (AWS: the proxy's log; Twilio: the emulator's request log, method and path)",
    );
    let kinds: BTreeSet<&String> = apply.calls.kinds().chain(destroy.calls.kinds()).chain(plan.calls.kinds()).collect();
    println!("  {:<58} {:<6} {:>11} {:>10} {:>10}", "call", "", "fresh apply", "destroy", "no-op plan");
    for kind in kinds {
        let write = [apply, destroy, plan].iter().find_map(|measured| measured.calls.is_write(kind)).unwrap_or(false);
        println!(
            "  {kind:<58} {:<6} {:>11} {:>10} {:>10}",
            if write { "write" } else { "read" },
            apply.calls.count(kind),
            destroy.calls.count(kind),
            plan.calls.count(kind)
        );
    }
    for (name, of) in [("AWS", Side::Aws), ("Twilio", Side::Twilio)] {
        let both =
            |measured: &Measured| format!("{} + {}", measured.calls.side_reads(of), measured.calls.side_writes(of));
        println!(
            "  {:<58} {:<6} {:>11} {:>10} {:>10}",
            format!("{name} in all (reads + writes)"),
            "",
            both(apply),
            both(destroy),
            both(plan),
        );
    }

    let mut varied = Vec::new();
    if apply.calls_varied {
        varied.push("apply".to_owned());
    }
    if destroy.calls_varied {
        varied.push("destroy".to_owned());
    }
    for (round_trip, parallelism, measured) in plans {
        if measured.calls != plan.calls || measured.calls_varied {
            varied.push(format!("no-op plan ({}, parallelism {parallelism})", network(*round_trip)));
        }
        if measured.calls.writes() > 0 {
            problems.push(format!(
                "a no-op plan ({}, parallelism {parallelism}) wrote: {}",
                network(*round_trip),
                measured.calls.write_kinds().join(", ")
            ));
        }
    }
    if !varied.is_empty() {
        // Retries and waits can add calls; a figure, not a failure.
        println!("  (the calls of some runs differed from the run shown: {})", varied.join(", "));
    }
}

/// moto behind a recording proxy, the Twilio emulator, and stowage's providers pointed at them
/// (for the in-process cross-check).
struct World {
    // Fields drop in order: the providers and the emulator stop before moto.
    aws: AwsProvider,
    twilio: TwilioProvider,
    twilio_emulator: RunningEmulator,
    proxy: AwsProxy,
    moto: Moto,
    spec_text: String,
    desired: Vec<DesiredResource>,
    environment_name: String,
    /// Holds the in-process environments' state files.
    scratch: tempfile::TempDir,
}

/// The spec's name in every sandbox.
const SPEC: &str = "env.toml";

impl World {
    async fn start(example: &str) -> Result<World, String> {
        let name = format!("examples/{example}.toml");
        let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(&name);
        let spec_text = std::fs::read_to_string(&spec_path)
            .map_err(|error| format!("could not read {}: {error}", spec_path.display()))?;
        let spec = stowage_spec::parse(&name, &spec_text)
            .map_err(|errors| format!("{name} is not a valid spec: {errors}"))?
            .spec;

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
        let endpoints = TwilioEndpoints::from_overrides(Some(&base_url), Some(&base_url), Some(&base_url))
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
            spec_text,
            scratch: tempfile::tempdir().map_err(|error| format!("could not make a scratch directory: {error}"))?,
        })
    }

    /// Starts observing: forgets the proxy's log, delays every AWS call (at the proxy) and every
    /// Twilio call (at the emulator) by `round_trip`, and returns where the emulator's log is.
    fn observe(&self, round_trip: Duration) -> usize {
        self.proxy.clear();
        if !round_trip.is_zero() {
            self.proxy.inject(Fault::new(FaultMatch::Any, FaultAction::Delay(round_trip), usize::MAX));
        }
        self.twilio_emulator.set_latency(round_trip);
        self.twilio_emulator.requests().len()
    }

    /// What the observers saw since [`World::observe`] returned `mark`.
    async fn observed(&self, mark: usize) -> Result<Observed, String> {
        tokio::time::timeout(RUN_TIMEOUT, self.proxy.settled())
            .await
            .map_err(|_| "the proxy still had requests in flight".to_owned())?;
        let twilio = self.twilio_emulator.requests();
        Ok(Observed::from_logs(&self.proxy.requests(), twilio.get(mark..).unwrap_or_default()))
    }

    /// `stowage ARGS` in `sandbox`, pointed at the proxy and the emulator.
    async fn stowage(&self, sandbox: &Sandbox, args: &[&str]) -> Result<StowageRun, String> {
        let mut environment = self.moto.aws_env_via(&self.proxy.endpoint());
        environment.extend(twilio_env(&self.twilio_emulator.base_url()));
        let mut command = stowage_command(Path::new(STOWAGE), sandbox, environment);
        command.args(args);
        let output = |name: &str| {
            let path = sandbox.path().join(name);
            std::fs::File::create(&path)
                .map(|file| (path.clone(), file))
                .map_err(|error| format!("could not create {}: {error}", path.display()))
        };
        let (stdout, stdout_file) = output("stowage.stdout")?;
        let (stderr, stderr_file) = output("stowage.stderr")?;
        command.stdout(stdout_file).stderr(stderr_file);
        let (status, elapsed, peak_kib) = run_sampled(command).await?;
        Ok(StowageRun { args: args.join(" "), status, elapsed, peak_kib, stdout, stderr })
    }

    /// A sandbox with the example spec in it.
    fn sandbox(&self) -> Sandbox {
        let sandbox = Sandbox::new();
        sandbox.write_spec(SPEC, &self.spec_text);
        sandbox
    }

    /// `stowage apply --auto-approve` of a fresh environment (moto and the emulator emptied, no
    /// state), over and over; the last one's sandbox, converged, is returned.
    async fn fresh_applies(&self, runs: Runs) -> Result<(Measured, Sandbox), String> {
        let mut measured = Measured::default();
        let mut last = None;
        for run in 0..runs.warm_ups + runs.measured {
            self.moto.reset();
            self.twilio_emulator.reset();
            let sandbox = self.sandbox();
            let mark = self.observe(Duration::ZERO);
            let outcome = self.stowage(&sandbox, &["apply", "--auto-approve", SPEC]).await?;
            outcome.expect_exit(0, "an apply that succeeds")?;
            let calls = self.observed(mark).await?;
            if run >= runs.warm_ups {
                measured.add(&outcome, calls);
            }
            last = Some(sandbox);
        }
        Ok((measured, last.ok_or("no apply ran")?))
    }

    /// `stowage destroy --auto-approve` of a freshly applied environment (its bucket holding
    /// only Twilio's test files, so everything goes), over and over; the apply is not measured.
    async fn destroys(&self, runs: Runs) -> Result<Measured, String> {
        let mut measured = Measured::default();
        for run in 0..runs.warm_ups + runs.measured {
            self.moto.reset();
            self.twilio_emulator.reset();
            let sandbox = self.sandbox();
            self.stowage(&sandbox, &["apply", "--auto-approve", SPEC])
                .await?
                .expect_exit(0, "an apply that succeeds")?;
            let mark = self.observe(Duration::ZERO);
            let outcome = self.stowage(&sandbox, &["destroy", "--auto-approve", SPEC]).await?;
            outcome.expect_exit(0, "a destroy that succeeds")?;
            let calls = self.observed(mark).await?;
            if run >= runs.warm_ups {
                measured.add(&outcome, calls);
            }
        }
        Ok(measured)
    }

    /// `stowage plan --detailed-exitcode` of the converged `environment`, over and over.
    async fn no_op_plans(
        &self,
        environment: &Sandbox,
        parallelism: usize,
        round_trip: Duration,
        runs: Runs,
    ) -> Result<Measured, String> {
        let mut measured = Measured::default();
        let parallelism_arg = parallelism.to_string();
        for run in 0..runs.warm_ups + runs.measured {
            let mark = self.observe(round_trip);
            let outcome = self
                .stowage(environment, &["plan", "--detailed-exitcode", "--parallelism", &parallelism_arg, SPEC])
                .await?;
            let calls = self.observed(mark).await?;
            outcome.expect_exit(0, "a plan with no changes")?;
            if run >= runs.warm_ups {
                measured.add(&outcome, calls);
            }
        }
        self.observe(Duration::ZERO);
        Ok(measured)
    }

    // The in-process cross-check: stowage's own counters against the observers.

    /// A fresh apply and a no-op plan through stowage's library API, each resource's read on
    /// its own, and stowage's own call counts compared with the observers'.
    async fn cross_check(&self, problems: &mut Vec<String>) -> Result<(), String> {
        section("cross-check, in process through stowage's library API: its own call counters against the observers");
        self.moto.reset();
        self.twilio_emulator.reset();
        let mut environment = self.fresh_environment()?;
        let (applied, calls) = self.count(self.plan_and_apply(&mut environment, DEFAULT_PARALLELISM)).await?;
        applied?;
        calls.check("fresh apply", problems);
        let prior = environment.prior()?;
        let engine = self.engine(DEFAULT_PARALLELISM);
        let (plan, calls) = self.count(self.no_op_plan(&engine, &prior)).await?;
        plan?;
        calls.check("no-op plan", problems);
        let whole_plan = calls.observed;

        let targets = stowage_plan::read_targets(&self.desired, &prior);
        let reads = engine.progress_log.take();
        check_each_read_once(&targets, &reads)?;
        section(&format!(
            "resources a no-op plan reads: {} distinct, {} reads (each resource once), and the calls each needs (observed)",
            targets.len(),
            reads.values().sum::<u32>()
        ));
        let mut one_by_one = Observed::default();
        for target in &targets {
            let (result, calls) = self.count(self.read_alone(&engine, target)).await?;
            result?;
            println!(
                "  {:<40} {:>3}  {}",
                target.address.to_string(),
                calls.observed.total(),
                calls.observed.kinds_with_counts().join(", ")
            );
            one_by_one.add(&calls.observed);
        }
        if one_by_one == whole_plan {
            println!("  (read one by one they make exactly the calls of the whole plan: no call is repeated)");
        } else {
            problems.push(format!(
                "the resources read one by one make other calls than the whole plan: {:?} alone, {:?} together",
                one_by_one.kinds_with_counts(),
                whole_plan.kinds_with_counts()
            ));
        }
        Ok(())
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
        let file = LocalStateFile::new(directory.path().join("env.state.json"));
        Ok(Environment {
            state: State::new(self.environment_name.clone(), env!("CARGO_PKG_VERSION")),
            file,
            _directory: directory,
        })
    }

    /// Refresh, plan and apply, as `stowage apply --auto-approve` does.
    async fn plan_and_apply(&self, environment: &mut Environment, parallelism: usize) -> Result<(), String> {
        let engine = self.engine(parallelism);
        let prior = environment.prior()?;
        let plan = self.plan(&engine, &prior).await?;
        if plan.has_errors() {
            return Err(format!("the plan of `{}` has errors", self.environment_name));
        }
        stowage_engine::apply(&engine.engine, &plan, &mut environment.state, &environment.file)
            .await
            .map(drop)
            .map_err(|error| format!("apply failed: {error}"))
    }

    async fn plan(&self, engine: &CountingEngine, prior: &Prior) -> Result<Plan, String> {
        let targets = stowage_plan::read_targets(&self.desired, prior);
        let observations = stowage_engine::refresh(&engine.engine, &targets)
            .await
            .map_err(|error| format!("refresh failed: {error}"))?;
        Ok(stowage_plan::plan(&self.desired, prior, &observations))
    }

    /// A plan that must find nothing to do.
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

    async fn read_alone(&self, engine: &CountingEngine, target: &ReadTarget) -> Result<(), String> {
        stowage_engine::refresh(&engine.engine, std::slice::from_ref(target))
            .await
            .map(drop)
            .map_err(|error| format!("reading {}: {error}", target.address))
    }

    /// Runs `work` in process and counts the calls it makes: stowage's own counters and the
    /// observers'.
    async fn count<T>(&self, work: impl Future<Output = T>) -> Result<(T, Counted), String> {
        let mark = self.observe(Duration::ZERO);
        let aws_before = self.aws.calls().snapshot();
        let twilio_before = self.twilio.client().calls();

        let output = work.await;

        let mut counted = Counted::default();
        for (kind, count) in self.aws.calls().snapshot() {
            let delta = count - aws_before.get(&kind).copied().unwrap_or(0);
            if delta > 0 {
                counted.aws.insert(kind, delta);
            }
        }
        let twilio_after = self.twilio.client().calls();
        for operation in Operation::ALL {
            let delta = twilio_after.get(operation) - twilio_before.get(operation);
            if delta > 0 {
                counted.twilio.insert(operation, delta);
            }
        }
        counted.observed = self.observed(mark).await?;
        Ok((output, counted))
    }
}

/// One run of the binary.
struct StowageRun {
    args: String,
    status: ExitStatus,
    elapsed: Duration,
    peak_kib: Option<u64>,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl StowageRun {
    fn expect_exit(&self, code: i32, meaning: &str) -> Result<(), String> {
        if self.status.code() == Some(code) {
            return Ok(());
        }
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_else(|error| format!("({error})"));
        Err(format!(
            "`stowage {}` exited with {} where {meaning} exits {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.status,
            read(&self.stdout),
            read(&self.stderr)
        ))
    }
}

/// Runs `command`, timing it and sampling its peak resident memory until it exits.
async fn run_sampled(command: std::process::Command) -> Result<(ExitStatus, Duration, Option<u64>), String> {
    let mut command = tokio::process::Command::from(command);
    command.kill_on_drop(true);
    let started = Instant::now();
    let mut child = command.spawn().map_err(|error| format!("could not run {STOWAGE}: {error}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = child.id().map(|pid| {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || sample_peak_memory(pid, &stop))
    });
    let status = tokio::time::timeout(RUN_TIMEOUT, child.wait()).await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let peak_kib = sampler.and_then(|sampler| sampler.join().ok().flatten());
    match status {
        Ok(Ok(status)) => Ok((status, elapsed, peak_kib)),
        Ok(Err(error)) => Err(format!("could not wait for {STOWAGE}: {error}")),
        Err(_) => Err(format!("{STOWAGE} ran longer than {}", millis(RUN_TIMEOUT))),
    }
}

/// The highest `VmHWM` (peak resident set, KiB) of process `pid` seen until `stop`. The kernel
/// keeps the high-water mark itself, so only growth in the last sampling interval can be missed.
fn sample_peak_memory(pid: u32, stop: &AtomicBool) -> Option<u64> {
    let path = format!("/proc/{pid}/status");
    let mut peak = None;
    while !stop.load(Ordering::SeqCst) {
        // Gone, or a zombie (no memory lines): keep what was seen.
        if let Some(kib) = std::fs::read_to_string(&path).ok().as_deref().and_then(vm_hwm_kib) {
            peak = peak.max(Some(kib));
        }
        std::thread::sleep(MEMORY_SAMPLING);
    }
    peak
}

/// `VmHWM:    12345 kB` (a tab after the colon) -> 12345.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?;
    line.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// The measured runs of one operation.
#[derive(Default)]
struct Measured {
    times: Vec<Duration>,
    peak_kib: Option<u64>,
    /// The calls of the first measured run.
    calls: Observed,
    /// Whether a later run's calls differed.
    calls_varied: bool,
}

impl Measured {
    fn add(&mut self, run: &StowageRun, calls: Observed) {
        if self.times.is_empty() {
            self.calls = calls;
        } else if calls != self.calls {
            self.calls_varied = true;
        }
        self.times.push(run.elapsed);
        self.peak_kib = self.peak_kib.max(run.peak_kib);
    }
}

/// Calls as the observers saw them, by kind: `s3:GetBucketVersioning` (the proxy's log),
/// `twilio:GET /v1/Credentials/AWS/{Sid}` (the emulator's log, SIDs folded).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Observed {
    aws: BTreeMap<String, Tally>,
    twilio: BTreeMap<String, Tally>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    write: bool,
    count: u64,
}

#[derive(Clone, Copy)]
enum Side {
    Aws,
    Twilio,
}

impl Observed {
    fn from_logs(proxy: &[ObservedRequest], emulator: &[RecordedRequest]) -> Observed {
        let mut observed = Observed::default();
        for request in proxy {
            let tally = observed.aws.entry(format!("{}:{}", request.service, request.operation)).or_default();
            tally.write = request.is_write;
            tally.count += 1;
        }
        for request in emulator {
            let tally = observed.twilio.entry(twilio_kind(&request.method, &request.path)).or_default();
            tally.write = !matches!(request.method.as_str(), "GET" | "HEAD");
            tally.count += 1;
        }
        observed
    }

    fn side(&self, side: Side) -> &BTreeMap<String, Tally> {
        match side {
            Side::Aws => &self.aws,
            Side::Twilio => &self.twilio,
        }
    }

    fn tallies(&self) -> impl Iterator<Item = (&String, &Tally)> {
        self.aws.iter().chain(&self.twilio)
    }

    fn kinds(&self) -> impl Iterator<Item = &String> {
        self.tallies().map(|(kind, _)| kind)
    }

    fn count(&self, kind: &str) -> u64 {
        self.aws.get(kind).or_else(|| self.twilio.get(kind)).map_or(0, |tally| tally.count)
    }

    fn is_write(&self, kind: &str) -> Option<bool> {
        self.aws.get(kind).or_else(|| self.twilio.get(kind)).map(|tally| tally.write)
    }

    fn side_writes(&self, side: Side) -> u64 {
        self.side(side).values().filter(|tally| tally.write).map(|tally| tally.count).sum()
    }

    fn side_reads(&self, side: Side) -> u64 {
        self.side(side).values().filter(|tally| !tally.write).map(|tally| tally.count).sum()
    }

    fn writes(&self) -> u64 {
        self.side_writes(Side::Aws) + self.side_writes(Side::Twilio)
    }

    fn reads(&self) -> u64 {
        self.side_reads(Side::Aws) + self.side_reads(Side::Twilio)
    }

    fn total(&self) -> u64 {
        self.reads() + self.writes()
    }

    fn write_kinds(&self) -> Vec<String> {
        self.tallies().filter(|(_, tally)| tally.write).map(|(kind, _)| kind.clone()).collect()
    }

    /// `s3:GetBucketVersioning`, `twilio:GET /v1/RecordingSettings/Default x2`.
    fn kinds_with_counts(&self) -> Vec<String> {
        self.tallies()
            .map(|(kind, tally)| if tally.count > 1 { format!("{kind} x{}", tally.count) } else { kind.clone() })
            .collect()
    }

    fn add(&mut self, other: &Observed) {
        for (mine, theirs) in [(&mut self.aws, &other.aws), (&mut self.twilio, &other.twilio)] {
            for (kind, tally) in theirs {
                let entry = mine.entry(kind.clone()).or_default();
                entry.write = tally.write;
                entry.count += tally.count;
            }
        }
    }
}

/// `twilio:GET /v1/Credentials/AWS/{Sid}`: the method and the path, with SIDs folded so that
/// runs compare ([`stowage_test_support::operation_shape`], as the proxy names Twilio requests).
fn twilio_kind(method: &str, path: &str) -> String {
    format!("twilio:{}", stowage_test_support::operation_shape(&format!("{method} {path}")))
}

/// The calls of one piece of in-process work: stowage's own counters, and the observers'.
#[derive(Default)]
struct Counted {
    /// stowage's AWS counter, by `service:Operation` (once per operation, retries not counted).
    aws: BTreeMap<String, u64>,
    /// stowage's Twilio counter, every request sent.
    twilio: BTreeMap<Operation, u64>,
    observed: Observed,
}

impl Counted {
    /// stowage's counts against the observers': AWS call for call by kind and by read or write;
    /// Twilio reads and writes.
    fn check(&self, what: &str, problems: &mut Vec<String>) {
        let observed_aws: BTreeMap<String, u64> =
            self.observed.aws.iter().map(|(kind, tally)| (kind.clone(), tally.count)).collect();
        let mut agree = true;
        if self.aws != observed_aws {
            agree = false;
            problems.push(format!(
                "{what}: stowage's AWS call counter (AwsProvider::calls) disagrees with the proxy: {:?} against {:?}",
                self.aws, observed_aws
            ));
        }
        for (kind, tally) in &self.observed.aws {
            let operation = kind.split_once(':').map_or(kind.as_str(), |(_, operation)| operation);
            if stowage_aws::calls::is_read(operation) == tally.write {
                agree = false;
                problems.push(format!(
                    "{what}: stowage and the proxy classify {kind} differently (the proxy: {})",
                    if tally.write { "write" } else { "read" }
                ));
            }
        }
        let count = |write: bool| {
            self.twilio.iter().filter(|(operation, _)| operation.is_write() == write).map(|(_, count)| count).sum()
        };
        let (twilio_reads, twilio_writes): (u64, u64) = (count(false), count(true));
        let observed = (self.observed.side_reads(Side::Twilio), self.observed.side_writes(Side::Twilio));
        if (twilio_reads, twilio_writes) != observed {
            agree = false;
            problems.push(format!(
                "{what}: stowage's Twilio client counted {twilio_reads} reads and {twilio_writes} writes where the \
                 emulator logged {} and {}",
                observed.0, observed.1
            ));
        }
        println!(
            "  {what:<12} AWS {} calls ({} writes), Twilio {} requests ({} writes): {}",
            self.observed.side(Side::Aws).values().map(|tally| tally.count).sum::<u64>(),
            self.observed.side_writes(Side::Aws),
            self.observed.side(Side::Twilio).values().map(|tally| tally.count).sum::<u64>(),
            self.observed.side_writes(Side::Twilio),
            if agree { "stowage's counters agree with the proxy and the emulator's log" } else { "DISAGREE" }
        );
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

/// The state of one in-process environment and its file.
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

/// Min, median and 90th percentile (nearest rank).
struct Timing {
    min: Duration,
    median: Duration,
    p90: Duration,
}

impl Timing {
    fn of(times: &[Duration]) -> Timing {
        let mut times = times.to_vec();
        times.sort();
        let rank = |percent: usize| {
            times.get((times.len() * percent).div_ceil(100).saturating_sub(1)).copied().unwrap_or_default()
        };
        Timing { min: rank(0), median: rank(50), p90: rank(90) }
    }
}

fn section(title: &str) {
    println!("\n{title}");
}

fn network(round_trip: Duration) -> String {
    if round_trip.is_zero() { "loopback".to_owned() } else { format!("+{} ms/call", round_trip.as_millis()) }
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn mebibytes(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
