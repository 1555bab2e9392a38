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

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use stowage_aws::AwsProvider;
use stowage_engine::{Engine, Event, Progress};
use stowage_plan::{DesiredResource, Plan, Prior, ReadTarget};
use stowage_provider::Address;
use stowage_state::{LocalStateFile, State};
use stowage_test_support::{Sandbox, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN};
use stowage_twilio::{Operation, RetryPolicy, TwilioAuth, TwilioEndpoints, TwilioProvider};
use support::{Backends, DEFAULT_PARALLELISM, Observed, Side, StowageRun, Timing, mebibytes, millis, network, section};

/// The examples measured, each in a world of its own.
const EXAMPLES: [&str; 2] = ["dev", "prod"];
/// Added to every AWS and Twilio call for the second timing: on loopback, moto and the emulator
/// answer in about a millisecond, which leaves concurrency little to hide.
const SIMULATED_ROUND_TRIP: Duration = Duration::from_millis(25);
/// A run taking longer than this is broken, not slow.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

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
}

fn main() -> ExitCode {
    support::main(USAGE, |quick| run(if quick { Settings::QUICK } else { Settings::FULL }))
}

async fn run(settings: Settings) -> Result<(), String> {
    support::print_binary();
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
    // Fields drop in order: the providers stop before the backends.
    aws: AwsProvider,
    twilio: TwilioProvider,
    backends: Backends,
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

        let backends = Backends::start(RUN_TIMEOUT).await;

        let region = spec.aws.region.as_str().to_owned();
        let aws =
            AwsProvider::from_config(&backends.moto.aws_sdk_config_via(&backends.proxy.endpoint(), &region), region);
        let credentials =
            BTreeMap::from([("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID), ("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN)]);
        let auth = TwilioAuth::from_lookup(|name| credentials.get(name).map(|value| (*value).to_owned()))
            .map_err(|error| format!("the test account's credentials: {error}"))?;
        let base_url = backends.twilio_emulator.base_url();
        let endpoints = TwilioEndpoints::from_overrides(Some(&base_url), Some(&base_url), Some(&base_url))
            .map_err(|error| format!("the emulator's address: {error}"))?;
        let twilio = TwilioProvider::connect(auth, endpoints, RetryPolicy::default())
            .map_err(|error| format!("could not set up the Twilio client: {error}"))?;

        Ok(World {
            aws,
            twilio,
            backends,
            desired: stowage_plan::desired_resources(&spec),
            environment_name: spec.environment.name.as_str().to_owned(),
            spec_text,
            scratch: tempfile::tempdir().map_err(|error| format!("could not make a scratch directory: {error}"))?,
        })
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
            self.backends.moto.reset();
            self.backends.twilio_emulator.reset();
            let sandbox = self.sandbox();
            let mark = self.backends.observe(Duration::ZERO);
            let outcome = self.backends.stowage(&sandbox, &["apply", "--auto-approve", SPEC]).await?;
            outcome.expect_exit(0, "an apply that succeeds")?;
            let calls = self.backends.observed(mark).await?;
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
            self.backends.moto.reset();
            self.backends.twilio_emulator.reset();
            let sandbox = self.sandbox();
            self.backends
                .stowage(&sandbox, &["apply", "--auto-approve", SPEC])
                .await?
                .expect_exit(0, "an apply that succeeds")?;
            let mark = self.backends.observe(Duration::ZERO);
            let outcome = self.backends.stowage(&sandbox, &["destroy", "--auto-approve", SPEC]).await?;
            outcome.expect_exit(0, "a destroy that succeeds")?;
            let calls = self.backends.observed(mark).await?;
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
            let mark = self.backends.observe(round_trip);
            let outcome = self
                .backends
                .stowage(environment, &["plan", "--detailed-exitcode", "--parallelism", &parallelism_arg, SPEC])
                .await?;
            let calls = self.backends.observed(mark).await?;
            outcome.expect_exit(0, "a plan with no changes")?;
            if run >= runs.warm_ups {
                measured.add(&outcome, calls);
            }
        }
        self.backends.observe(Duration::ZERO);
        Ok(measured)
    }

    // The in-process cross-check: stowage's own counters against the observers.

    /// A fresh apply and a no-op plan through stowage's library API, each resource's read on
    /// its own, and stowage's own call counts compared with the observers'.
    async fn cross_check(&self, problems: &mut Vec<String>) -> Result<(), String> {
        section("cross-check, in process through stowage's library API: its own call counters against the observers");
        self.backends.moto.reset();
        self.backends.twilio_emulator.reset();
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
        let mark = self.backends.observe(Duration::ZERO);
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
        counted.observed = self.backends.observed(mark).await?;
        Ok((output, counted))
    }
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
