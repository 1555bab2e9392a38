//! `cargo xtask bench`, after `noop_plan`: what a fleet (`examples/fleet.toml`: every subaccount
//! of the main account, each with its own IAM user, policy, access key, Twilio AWS credential
//! and two storage settings) costs as it grows, measured on the real `stowage` binary against
//! moto (behind a recording proxy) and the Twilio emulator, with a simulated round trip of
//! 20 ms added to every AWS call (at the proxy) and every Twilio call (at the emulator).
//!
//! For each fleet size (50, 100, 200 and 1,000: moto copes with a fresh apply of 1,000, in
//! about 45 s), in a world of its own (moto and the emulator emptied, the subaccounts made in
//! the emulator directly, in process, not through stowage): a fresh `apply`, then a `plan` of
//! the converged fleet, which must find no changes, and the same plan again without the added
//! round trip (what serving and making the calls costs by itself). Per run, every figure from
//! an observer outside stowage: wall time; peak resident memory (the highest `VmHWM` sampled
//! every millisecond); the calls by kind (AWS: the proxy's log, by operation; Twilio: the
//! emulator's request log, by method and path with SIDs folded); the bytes of state written;
//! and where the time went: the CPU time of stowage, of moto and of this process (the proxy and
//! the emulator), and when the AWS and the Twilio calls were made.
//!
//! Bytes of state written: the process's `/proc/PID/io`, read as it exits (`waitid` with
//! `WNOWAIT` leaves it unreaped until then): `write_bytes` less `cancelled_write_bytes`, what it
//! sent to the storage layer. That is the state file, the copy of the previous state each write
//! keeps in `.backup`, and the lock's holder record (removed at the end, so mostly cancelled);
//! stdout and stderr go to pipes and do not count. `wchar` is no measure of it: it counts every byte handed to `write`, the HTTP requests
//! (written with `writev`) and the output included. Linux only.
//!
//! A no-op plan's lower bound: every read call it makes waits out the round trip, and refresh
//! keeps at most `--parallelism` reads in flight per service (AWS and Twilio each: see
//! `stowage_engine::refresh`), so it cannot take less than the larger service's reads x round
//! trip / parallelism (for services of equal reads: all reads x round trip / (2 x parallelism)).
//! The wall time's ratio to it is printed against a target of 1.5; peak memory against 200 MiB;
//! state bytes written per subaccount, which stay flat as the fleet grows when they grow
//! linearly with it.
//!
//! `--quick` (what `cargo xtask test`, and so CI, runs on the debug build the tests made): one
//! fleet of 10, each run once. The bench fails only when it is broken (a run that
//! fails, an apply that leaves a subaccount unconfigured, a no-op plan that finds changes or
//! writes), never on a time or a figure.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use stowage_state::State;
use stowage_test_support::{Sandbox, TEST_ACCOUNT_SID};
use support::{
    Backends, DEFAULT_PARALLELISM, Observed, ServerCpu, Side, StowageRun, mebibytes, millis, network, section,
};

/// Added to every AWS and Twilio call.
const ROUND_TRIP: Duration = Duration::from_millis(20);
/// The fleets measured, smallest first: the last is the headline (a no-op plan of 1,000
/// subaccounts, the figure), the others show how the figures grow with the fleet.
const FLEETS: [usize; 4] = [50, 100, 200, 1000];
/// `--quick`: one small fleet.
const QUICK_FLEETS: [usize; 1] = [10];
/// How often the calls made so far are counted during a run.
const TIMELINE_SAMPLING: Duration = Duration::from_millis(250);
/// A run taking longer than this is broken, not slow.
const RUN_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The targets the figures are printed against (never a verdict).
const RATIO_TARGET: f64 = 1.5;
const PEAK_TARGET_KIB: u64 = 200 * 1024;
/// The spec's name in every sandbox, and the text: `examples/fleet.toml`.
const SPEC: &str = "fleet.toml";
const SPEC_TEXT: &str = include_str!("../../../examples/fleet.toml");
/// The resource types a fleet has one of per subaccount (`uploader = "per-subaccount"`).
const PER_SUBACCOUNT: [&str; 6] = [
    "aws_iam_user",
    "aws_iam_user_policy",
    "aws_iam_access_key",
    "twilio_aws_credential",
    "twilio_video_recording_settings",
    "twilio_video_composition_settings",
];

const USAGE: &str = "usage: fleet [--quick]\n\n  \
    --quick   one fleet of 10 subaccounts (CI), instead of 50, 100, 200 and 1,000\n\n\
    (cargo bench adds `--bench`, which is ignored)";

fn main() -> ExitCode {
    support::main(USAGE, |quick| run(if quick { &QUICK_FLEETS[..] } else { &FLEETS[..] }))
}

async fn run(fleets: &[usize]) -> Result<(), String> {
    let started = Instant::now();
    support::print_binary();
    println!(
        "fleets of {}: per fleet, in a world of its own, one fresh apply (at every size: moto copes with 1,000) and \
         one no-op plan (--parallelism {DEFAULT_PARALLELISM}) with +{} ms on every AWS and Twilio call, then the plan \
         again on loopback; times are figures, never a verdict",
        fleets.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        ROUND_TRIP.as_millis(),
    );
    let backends = Backends::start(RUN_TIMEOUT).await;
    let mut measured = Vec::new();
    let mut problems = Vec::new();
    for &size in fleets {
        // Every figure is printed before a problem fails the bench.
        match measure_fleet(&backends, size).await {
            Ok(fleet) => {
                fleet.check(&mut problems);
                measured.push(fleet);
            }
            Err(problem) => problems.push(format!("a fleet of {size}: {problem}")),
        }
    }
    report_runs(&measured);
    report_cpu(&measured);
    report_calls(&measured);
    report_state(&measured);
    println!("\nthe bench took {:.1} s", started.elapsed().as_secs_f64());
    if problems.is_empty() {
        println!(
            "ok: every apply configured every subaccount, and every no-op plan found no changes and made no write call"
        );
        Ok(())
    } else {
        Err(problems.join("\n  "))
    }
}

/// One fleet's fresh apply and no-op plans.
struct Fleet {
    size: usize,
    apply: Sample,
    plan: Sample,
    /// The same plan without the added round trip: what the calls cost to serve and make.
    loopback_plan: Sample,
}

/// One run, as the observers saw it.
struct Sample {
    run: StowageRun,
    calls: Observed,
    /// The state after the run, and its size on disk.
    state: State,
    state_file_bytes: u64,
    /// The CPU time moto and this process (the proxy, the emulator) used during the run.
    server_cpu: ServerCpu,
    timeline: Timeline,
}

/// A world of `size` subaccounts, applied fresh, then planned.
async fn measure_fleet(backends: &Backends, size: usize) -> Result<Fleet, String> {
    backends.moto.reset();
    backends.twilio_emulator.reset();
    for member in 0..size {
        backends
            .twilio_emulator
            .create_subaccount(TEST_ACCOUNT_SID, Some(&format!("customer-{member}")))
            .map_err(|error| format!("could not make subaccount {member}: {error}"))?;
    }
    let sandbox = Sandbox::new();
    sandbox.write_spec(SPEC, SPEC_TEXT);
    progress(format_args!("a fleet of {size}: fresh apply ..."));
    let apply = measure(backends, &sandbox, ROUND_TRIP, &["apply", "--auto-approve", SPEC]).await?;
    apply.run.expect_exit(0, "an apply that succeeds")?;
    progress(format_args!(" {}", seconds(apply.run.elapsed)));
    let plan = no_op_plan(backends, &sandbox, ROUND_TRIP).await?;
    let loopback_plan = no_op_plan(backends, &sandbox, Duration::ZERO).await?;
    println!();
    Ok(Fleet { size, apply, plan, loopback_plan })
}

/// `stowage plan` of the converged fleet in `sandbox`, which must find no changes.
async fn no_op_plan(backends: &Backends, sandbox: &Sandbox, round_trip: Duration) -> Result<Sample, String> {
    progress(format_args!(", no-op plan ({}) ...", network(round_trip)));
    let parallelism = DEFAULT_PARALLELISM.to_string();
    let plan =
        measure(backends, sandbox, round_trip, &["plan", "--detailed-exitcode", "--parallelism", &parallelism, SPEC])
            .await?;
    plan.run.expect_exit(0, "a plan with no changes")?;
    progress(format_args!(" {}", seconds(plan.run.elapsed)));
    Ok(plan)
}

/// `stowage ARGS` with `round_trip` added to every call, observed.
async fn measure(
    backends: &Backends,
    sandbox: &Sandbox,
    round_trip: Duration,
    args: &[&str],
) -> Result<Sample, String> {
    let cpu_before = backends.server_cpu();
    let mark = backends.observe(round_trip);
    let started = Instant::now();
    let mut timeline = Timeline::default();
    let run = {
        let run = backends.stowage(sandbox, args);
        tokio::pin!(run);
        loop {
            tokio::select! {
                run = &mut run => break run,
                () = tokio::time::sleep(TIMELINE_SAMPLING) => {
                    let aws = backends.proxy.requests().len();
                    let twilio = backends.twilio_emulator.requests().len().saturating_sub(mark);
                    timeline.0.push((started.elapsed(), aws as u64, twilio as u64));
                }
            }
        }
    };
    let calls = backends.observed(mark).await;
    backends.observe(Duration::ZERO);
    let server_cpu = backends.server_cpu().since(cpu_before);
    let (run, calls) = (run?, calls?);
    let path = sandbox.state_path(SPEC);
    let unreadable = |error: String| format!("after `stowage {}`, the state {}: {error}", run.args, path.display());
    let bytes = std::fs::read(&path).map_err(|error| unreadable(error.to_string()))?;
    let state = serde_json::from_slice(&bytes).map_err(|error| unreadable(error.to_string()))?;
    Ok(Sample { run, calls, state, state_file_bytes: bytes.len() as u64, server_cpu, timeline })
}

/// The calls made so far during a run, AWS and Twilio, counted every [`TIMELINE_SAMPLING`].
#[derive(Default)]
struct Timeline(Vec<(Duration, u64, u64)>);

impl Timeline {
    /// When `share` of the `total` calls of `side` had been made, to the sampling's resolution;
    /// `None` when that came after the last count.
    fn by(&self, side: Side, total: u64, share: f64) -> Option<Duration> {
        let wanted = (total as f64 * share).ceil() as u64;
        self.0.iter().find_map(|&(at, aws, twilio)| {
            let made = match side {
                Side::Aws => aws,
                Side::Twilio => twilio,
            };
            (made >= wanted).then_some(at)
        })
    }

    /// `1.0-9.5 s`: when the middle 80% of the calls of `side` were made (after the last count:
    /// by the end of the run).
    fn span(&self, side: Side, sample: &Sample) -> String {
        let total = sample.calls.side_reads(side) + sample.calls.side_writes(side);
        if total == 0 {
            return "-".to_owned();
        }
        let at = |share| self.by(side, total, share).unwrap_or(sample.run.elapsed).as_secs_f64();
        format!("{:.1}-{:.1} s", at(0.1), at(0.9))
    }
}

impl Fleet {
    /// What makes the bench broken: an apply that left a subaccount unconfigured, a no-op plan
    /// that wrote (its exit code already said it found no changes).
    fn check(&self, problems: &mut Vec<String>) {
        for resource_type in PER_SUBACCOUNT {
            let count =
                self.apply.state.resources.iter().filter(|resource| resource.resource_type == resource_type).count();
            if count != self.size {
                problems.push(format!(
                    "a fleet of {}: the apply recorded {count} {resource_type}, not one per subaccount",
                    self.size
                ));
            }
        }
        for plan in [&self.plan, &self.loopback_plan] {
            if plan.calls.writes() > 0 {
                problems.push(format!(
                    "a fleet of {}: the no-op plan wrote: {}",
                    self.size,
                    plan.calls.write_kinds().join(", ")
                ));
            }
        }
    }

    /// The larger service's reads x round trip / parallelism: the plan's read calls, each
    /// waiting out the round trip, `--parallelism` at a time per service, the two services at
    /// once.
    fn plan_bound(&self) -> Duration {
        let calls = &self.plan.calls;
        let reads = calls.side_reads(Side::Aws).max(calls.side_reads(Side::Twilio));
        let reads = u32::try_from(reads).unwrap_or(u32::MAX);
        ROUND_TRIP * reads / u32::try_from(DEFAULT_PARALLELISM).unwrap_or(u32::MAX)
    }
}

/// Wall time, peak memory, calls and state bytes per run; for the plans, the bound.
fn report_runs(fleets: &[Fleet]) {
    section(&format!(
        "per run (the stowage process: wall time, peak resident memory (target < {}), state bytes written; calls as \
         observed; no-op plan: bound = the larger service's reads x {} ms / {DEFAULT_PARALLELISM}, target wall/bound <= \
         {RATIO_TARGET})",
        mebibytes(PEAK_TARGET_KIB),
        ROUND_TRIP.as_millis()
    ));
    println!(
        "  {:<12} {:>6} {:>11} {:>10} {:>17} {:>17} {:>12} {:>11} {:>11} {:>10}",
        "",
        "fleet",
        "wall",
        "peak RSS",
        "AWS reads+writes",
        "Twilio r+w",
        "state bytes",
        "per subacct",
        "bound",
        "wall/bound"
    );
    for fleet in fleets {
        for (name, sample, bound) in [
            ("fresh apply", &fleet.apply, None),
            ("no-op plan", &fleet.plan, Some(fleet.plan_bound())),
            ("(loopback)", &fleet.loopback_plan, None),
        ] {
            let calls = &sample.calls;
            let both = |side| format!("{} + {}", calls.side_reads(side), calls.side_writes(side));
            let written = state_bytes(&sample.run);
            let ratio = bound.map(|bound| format!("{:.2}", sample.run.elapsed.as_secs_f64() / bound.as_secs_f64()));
            let bound = bound.map(millis);
            println!(
                "  {name:<12} {:>6} {:>11} {:>10} {:>17} {:>17} {:>12} {:>11} {:>11} {:>10}",
                fleet.size,
                millis(sample.run.elapsed),
                sample.run.peak_kib.map_or_else(|| "n/a".to_owned(), mebibytes),
                both(Side::Aws),
                both(Side::Twilio),
                written.map_or_else(|| "n/a".to_owned(), |bytes| bytes.to_string()),
                written.map_or_else(|| "n/a".to_owned(), |bytes| (bytes / fleet.size as u64).to_string()),
                bound.unwrap_or_default(),
                ratio.unwrap_or_default(),
            );
        }
    }
}

/// Where the time goes: the CPU time of stowage, moto, and the proxy with the emulator during
/// each run, against what the machine's cores could give in the wall time.
fn report_cpu(fleets: &[Fleet]) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    section(&format!(
        "where the time goes (CPU time during each run: stowage's own; moto's; this process's, which serves the proxy \
         and the emulator; busy = their sum / (wall x {cores} cores); when the middle 80% of the AWS and of the \
         Twilio calls were made, counted every {} ms)",
        TIMELINE_SAMPLING.as_millis()
    ));
    println!(
        "  {:<24} {:>6} {:>11} {:>12} {:>11} {:>15} {:>6} {:>13} {:>13}",
        "", "fleet", "wall", "stowage CPU", "moto CPU", "proxy+emulator", "busy", "AWS calls", "Twilio calls"
    );
    let cpu = |time: Option<Duration>| time.map_or_else(|| "n/a".to_owned(), millis);
    for fleet in fleets {
        for (name, sample) in [
            (format!("fresh apply, {}", network(ROUND_TRIP)), &fleet.apply),
            (format!("no-op plan, {}", network(ROUND_TRIP)), &fleet.plan),
            ("no-op plan, loopback".to_owned(), &fleet.loopback_plan),
        ] {
            let used = [sample.run.cpu, sample.server_cpu.moto, sample.server_cpu.bench];
            let busy = used.iter().copied().sum::<Option<Duration>>().map_or_else(
                || "n/a".to_owned(),
                |sum| format!("{:.0}%", 100.0 * sum.as_secs_f64() / (sample.run.elapsed.as_secs_f64() * cores as f64)),
            );
            println!(
                "  {name:<24} {:>6} {:>11} {:>12} {:>11} {:>15} {:>6} {:>13} {:>13}",
                fleet.size,
                millis(sample.run.elapsed),
                cpu(sample.run.cpu),
                cpu(sample.server_cpu.moto),
                cpu(sample.server_cpu.bench),
                busy,
                sample.timeline.span(Side::Aws, sample),
                sample.timeline.span(Side::Twilio, sample),
            );
        }
    }
}

/// The calls of the largest fleet's apply and plan by kind, and per subaccount.
fn report_calls(fleets: &[Fleet]) {
    let Some(fleet) = fleets.last() else { return };
    section(&format!(
        "API calls by kind, a fleet of {} (AWS: the proxy's log; Twilio: the emulator's request log, method and path)",
        fleet.size
    ));
    let (apply, plan) = (&fleet.apply.calls, &fleet.plan.calls);
    let kinds: BTreeSet<&String> = apply.kinds().chain(plan.kinds()).collect();
    println!("  {:<58} {:<6} {:>11} {:>10} {:>14}", "call", "", "fresh apply", "no-op plan", "plan / member");
    for kind in kinds {
        let write = apply.is_write(kind).or_else(|| plan.is_write(kind)).unwrap_or(false);
        println!(
            "  {kind:<58} {:<6} {:>11} {:>10} {:>14.2}",
            if write { "write" } else { "read" },
            apply.count(kind),
            plan.count(kind),
            plan.count(kind) as f64 / fleet.size as f64,
        );
    }
}

/// How the state and the bytes written to it grow with the fleet.
fn report_state(fleets: &[Fleet]) {
    section(
        "state written by each fresh apply (write_bytes - cancelled_write_bytes of /proc/PID/io: the state file, its \
         .backup copy per write, the lock)",
    );
    println!(
        "  {:>6} {:>14} {:>14} {:>8} {:>16} {:>14} {:>20}",
        "fleet", "bytes written", "per subacct", "writes", "final state", "per subacct", "written / final"
    );
    for fleet in fleets {
        let Some(written) = state_bytes(&fleet.apply.run) else { continue };
        let size = fleet.size as u64;
        let final_bytes = fleet.apply.state_file_bytes;
        println!(
            "  {:>6} {:>14} {:>14} {:>8} {:>16} {:>14} {:>20.1}",
            fleet.size,
            written,
            written / size,
            fleet.apply.state.serial,
            final_bytes,
            final_bytes / size,
            written as f64 / final_bytes.max(1) as f64,
        );
    }
}

/// The bytes the run sent to storage, less those it wrote and deleted before they got there.
fn state_bytes(run: &StowageRun) -> Option<u64> {
    run.io.map(|io| io.write_bytes.saturating_sub(io.cancelled_write_bytes))
}

/// A progress note on the line of its fleet, shown at once.
fn progress(note: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    // Progress only: a note that cannot be shown is no failure.
    let _ = stdout.write_fmt(note).and_then(|()| stdout.flush());
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
