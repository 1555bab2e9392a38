//! What the benches share: moto behind a recording proxy and the Twilio emulator, the `stowage`
//! binary run and watched from outside (wall time, peak resident memory, bytes written), the
//! calls the observers saw by kind, and the figures' formatting.
#![allow(dead_code, reason = "each bench uses its own part of the helpers")]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{ExitCode, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use stowage_test_support::twilio_emulator::{RecordedRequest, RunningEmulator};
use stowage_test_support::{
    AwsProxy, Fault, FaultAction, FaultMatch, Moto, ObservedRequest, Sandbox, start_emulator, stowage_command,
    twilio_env,
};
use tokio::io::AsyncReadExt;

/// The binary measured: the `stowage` of the profile this bench is built with (`cargo bench`:
/// release; `cargo bench --profile dev`: the debug build the tests use).
pub const STOWAGE: &str = env!("CARGO_BIN_EXE_stowage");
/// stowage's default `--parallelism`.
pub const DEFAULT_PARALLELISM: usize = 16;
/// How often the peak resident memory of a running `stowage` is sampled.
const MEMORY_SAMPLING: Duration = Duration::from_millis(1);

/// A bench's `main`: `[--quick]` (`cargo bench` adds `--bench`, which is ignored), the async
/// runtime, and `run(quick)`'s failure as the exit code.
pub fn main<Run>(usage: &str, run: impl FnOnce(bool) -> Run) -> ExitCode
where
    Run: Future<Output = Result<(), String>>,
{
    let mut quick = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => quick = true,
            // `cargo bench` passes `--bench` to every bench target.
            "--bench" => {}
            "--help" | "-h" => {
                println!("{usage}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("bench: unexpected argument `{other}`\n\n{usage}");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bench failed: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(quick)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nbench failed: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `stowage binary: PATH (optimized build)`.
pub fn print_binary() {
    let build = if cfg!(debug_assertions) { "debug build: not release figures" } else { "optimized build" };
    println!("stowage binary: {STOWAGE} ({build})");
}

/// moto behind a recording proxy, and the Twilio emulator (in process), whose logs are the
/// observers of every call.
pub struct Backends {
    // Fields drop in order: the emulator stops before moto.
    pub twilio_emulator: RunningEmulator,
    pub proxy: AwsProxy,
    pub moto: Moto,
    /// A run taking longer than this is broken, not slow.
    pub run_timeout: Duration,
    /// moto's process, to read the CPU time it used.
    moto_pid: Option<u32>,
}

/// CPU time used so far by what serves stowage's calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerCpu {
    /// moto (a Python process of its own).
    pub moto: Option<Duration>,
    /// This process: the proxy and the emulator, which run on its runtime, and the bench.
    pub bench: Option<Duration>,
}

impl ServerCpu {
    /// What was used since `earlier`.
    pub fn since(self, earlier: ServerCpu) -> ServerCpu {
        let delta = |now: Option<Duration>, then: Option<Duration>| Some(now?.saturating_sub(then?));
        ServerCpu { moto: delta(self.moto, earlier.moto), bench: delta(self.bench, earlier.bench) }
    }
}

impl Backends {
    pub async fn start(run_timeout: Duration) -> Backends {
        let moto = Moto::start();
        // moto is the only child yet.
        let moto_pid = match children()[..] {
            [pid] => Some(pid),
            _ => None,
        };
        let proxy = AwsProxy::start(&moto.endpoint()).await;
        let twilio_emulator = start_emulator(&moto.endpoint()).await;
        Backends { twilio_emulator, proxy, moto, run_timeout, moto_pid }
    }

    /// The CPU time moto and this process have used so far.
    pub fn server_cpu(&self) -> ServerCpu {
        ServerCpu { moto: self.moto_pid.and_then(cpu_time), bench: cpu_time(std::process::id()) }
    }

    /// Starts observing: forgets the proxy's log, delays every AWS call (at the proxy) and every
    /// Twilio call (at the emulator) by `round_trip`, and returns where the emulator's log is.
    pub fn observe(&self, round_trip: Duration) -> usize {
        self.proxy.clear();
        if !round_trip.is_zero() {
            self.proxy.inject(Fault::new(FaultMatch::Any, FaultAction::Delay(round_trip), usize::MAX));
        }
        self.twilio_emulator.set_latency(round_trip);
        self.twilio_emulator.requests().len()
    }

    /// What the observers saw since [`Backends::observe`] returned `mark`.
    pub async fn observed(&self, mark: usize) -> Result<Observed, String> {
        tokio::time::timeout(self.run_timeout, self.proxy.settled())
            .await
            .map_err(|_| "the proxy still had requests in flight".to_owned())?;
        let twilio = self.twilio_emulator.requests();
        Ok(Observed::from_logs(&self.proxy.requests(), twilio.get(mark..).unwrap_or_default()))
    }

    /// `stowage ARGS` in `sandbox`, pointed at the proxy and the emulator.
    pub async fn stowage(&self, sandbox: &Sandbox, args: &[&str]) -> Result<StowageRun, String> {
        let mut environment = self.moto.aws_env_via(&self.proxy.endpoint());
        environment.extend(twilio_env(&self.twilio_emulator.base_url()));
        let mut command = stowage_command(Path::new(STOWAGE), sandbox, environment);
        command.args(args);
        run_watched(command, args.join(" "), self.run_timeout).await
    }
}

/// One run of the binary, as seen from outside.
pub struct StowageRun {
    pub args: String,
    pub status: ExitStatus,
    pub elapsed: Duration,
    /// The highest `VmHWM` seen, KiB.
    pub peak_kib: Option<u64>,
    /// Its `/proc/PID/io` as it exited (Linux only).
    pub io: Option<ProcessIo>,
    /// The CPU time it used, user and system, all threads (Linux only).
    pub cpu: Option<Duration>,
    pub stdout: String,
    pub stderr: String,
}

impl StowageRun {
    pub fn expect_exit(&self, code: i32, meaning: &str) -> Result<(), String> {
        if self.status.code() == Some(code) {
            return Ok(());
        }
        Err(format!(
            "`stowage {}` exited with {} where {meaning} exits {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.status, self.stdout, self.stderr
        ))
    }
}

/// A process's `/proc/PID/io` totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessIo {
    /// `wchar`: every byte passed to `write` and its kin: files, pipes and sockets alike (the
    /// HTTP requests too, where the client writes them with `writev`).
    pub wchar: u64,
    /// `write_bytes`: what the process sent to the storage layer, page by page as it dirtied
    /// them: files on disk only, neither pipes nor sockets nor tmpfs.
    pub write_bytes: u64,
    /// `cancelled_write_bytes`: of those, what it truncated or deleted before it was written
    /// out (a lock file removed at the end).
    pub cancelled_write_bytes: u64,
}

impl ProcessIo {
    fn parse(io: &str) -> Option<ProcessIo> {
        let field = |name: &str| {
            io.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|value| value.trim().parse().ok())
        };
        Some(ProcessIo {
            wchar: field("wchar")?,
            write_bytes: field("write_bytes")?,
            cancelled_write_bytes: field("cancelled_write_bytes")?,
        })
    }
}

/// Runs `command`, timing it, sampling its peak resident memory until it exits, reading its
/// I/O totals as it exits, and collecting its output (through pipes, which write no file).
async fn run_watched(command: std::process::Command, args: String, timeout: Duration) -> Result<StowageRun, String> {
    let mut command = tokio::process::Command::from(command);
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let started = Instant::now();
    let mut child = command.spawn().map_err(|error| format!("could not run {STOWAGE}: {error}"))?;
    let stdout = child.stdout.take().map(|pipe| tokio::spawn(read_all(pipe)));
    let stderr = child.stderr.take().map(|pipe| tokio::spawn(read_all(pipe)));
    let pid = child.id().ok_or("stowage exited before it could be watched")?;
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || sample_peak_memory(pid, &stop))
    };
    let exited = tokio::time::timeout(timeout, tokio::task::spawn_blocking(move || wait_for_exit(pid))).await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let peak_kib = sampler.join().ok().flatten();
    match exited {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => return Err(format!("could not wait for {STOWAGE}: {error}")),
        Ok(Err(error)) => return Err(format!("could not wait for {STOWAGE}: {error}")),
        // `child` is killed as it drops.
        Err(_) => return Err(format!("`stowage {args}` ran longer than {}", millis(timeout))),
    }
    // Exited, not yet reaped: its totals are still there to read.
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok().as_deref().and_then(ProcessIo::parse);
    let cpu = cpu_time(pid);
    let status = child.wait().await.map_err(|error| format!("could not wait for {STOWAGE}: {error}"))?;
    let output = |reader: Option<tokio::task::JoinHandle<String>>| async move {
        match reader {
            Some(reader) => reader.await.unwrap_or_default(),
            None => String::new(),
        }
    };
    Ok(StowageRun {
        args,
        status,
        elapsed,
        peak_kib,
        io,
        cpu,
        stdout: output(stdout).await,
        stderr: output(stderr).await,
    })
}

async fn read_all(mut pipe: impl tokio::io::AsyncRead + Unpin) -> String {
    let mut bytes = Vec::new();
    // A broken pipe ends the output; what came before it is kept.
    let _ = pipe.read_to_end(&mut bytes).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Blocks until child `pid` has exited, leaving it unreaped (`waitid` with `WNOWAIT`), so
/// that its `/proc/PID/io` can still be read; tokio's `wait` reaps it after.
#[cfg(target_os = "linux")]
fn wait_for_exit(pid: u32) -> std::io::Result<()> {
    use rustix::process::{Pid, WaitId, WaitIdOptions, waitid};
    let pid = i32::try_from(pid).ok().and_then(Pid::from_raw).ok_or(std::io::ErrorKind::InvalidInput)?;
    loop {
        match waitid(WaitId::Pid(pid), WaitIdOptions::EXITED | WaitIdOptions::NOWAIT) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
}

/// Elsewhere there is no `/proc/PID/io` to read: returning at once leaves the wait to tokio.
#[cfg(not(target_os = "linux"))]
fn wait_for_exit(_pid: u32) -> std::io::Result<()> {
    Ok(())
}

/// The CPU time process `pid` has used so far, user and system, its threads' together (an
/// exited, unreaped one's included): `utime` and `stime` of `/proc/PID/stat`, in clock ticks.
#[cfg(target_os = "linux")]
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (in parentheses, and free to hold anything): state is field 3,
    // utime and stime fields 14 and 15.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let mut ticks = || fields.next()?.parse::<u64>().ok();
    let ticks = ticks()? + ticks()?;
    let per_second = rustix::param::clock_ticks_per_second();
    (per_second > 0).then(|| Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

#[cfg(not(target_os = "linux"))]
pub fn cpu_time(_pid: u32) -> Option<Duration> {
    None
}

/// The processes whose parent is this one (Linux only).
fn children() -> Vec<u32> {
    let parent = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().is_some_and(|stat| {
                // Field 4, the parent, after the state.
                stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)) == Some(parent.as_str())
            })
        })
        .collect()
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

/// Calls as the observers saw them, by kind: `s3:GetBucketVersioning` (the proxy's log),
/// `twilio:GET /v1/Credentials/AWS/{Sid}` (the emulator's log, SIDs folded).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Observed {
    pub aws: BTreeMap<String, Tally>,
    pub twilio: BTreeMap<String, Tally>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub write: bool,
    pub count: u64,
}

#[derive(Clone, Copy)]
pub enum Side {
    Aws,
    Twilio,
}

impl Observed {
    pub fn from_logs(proxy: &[ObservedRequest], emulator: &[RecordedRequest]) -> Observed {
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

    pub fn side(&self, side: Side) -> &BTreeMap<String, Tally> {
        match side {
            Side::Aws => &self.aws,
            Side::Twilio => &self.twilio,
        }
    }

    pub fn tallies(&self) -> impl Iterator<Item = (&String, &Tally)> {
        self.aws.iter().chain(&self.twilio)
    }

    pub fn kinds(&self) -> impl Iterator<Item = &String> {
        self.tallies().map(|(kind, _)| kind)
    }

    pub fn count(&self, kind: &str) -> u64 {
        self.aws.get(kind).or_else(|| self.twilio.get(kind)).map_or(0, |tally| tally.count)
    }

    pub fn is_write(&self, kind: &str) -> Option<bool> {
        self.aws.get(kind).or_else(|| self.twilio.get(kind)).map(|tally| tally.write)
    }

    pub fn side_writes(&self, side: Side) -> u64 {
        self.side(side).values().filter(|tally| tally.write).map(|tally| tally.count).sum()
    }

    pub fn side_reads(&self, side: Side) -> u64 {
        self.side(side).values().filter(|tally| !tally.write).map(|tally| tally.count).sum()
    }

    pub fn writes(&self) -> u64 {
        self.side_writes(Side::Aws) + self.side_writes(Side::Twilio)
    }

    pub fn reads(&self) -> u64 {
        self.side_reads(Side::Aws) + self.side_reads(Side::Twilio)
    }

    pub fn total(&self) -> u64 {
        self.reads() + self.writes()
    }

    pub fn write_kinds(&self) -> Vec<String> {
        self.tallies().filter(|(_, tally)| tally.write).map(|(kind, _)| kind.clone()).collect()
    }

    /// `s3:GetBucketVersioning`, `twilio:GET /v1/RecordingSettings/Default x2`.
    pub fn kinds_with_counts(&self) -> Vec<String> {
        self.tallies()
            .map(|(kind, tally)| if tally.count > 1 { format!("{kind} x{}", tally.count) } else { kind.clone() })
            .collect()
    }

    pub fn add(&mut self, other: &Observed) {
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

/// Min, median and 90th percentile (nearest rank).
pub struct Timing {
    pub min: Duration,
    pub median: Duration,
    pub p90: Duration,
}

impl Timing {
    pub fn of(times: &[Duration]) -> Timing {
        let mut times = times.to_vec();
        times.sort();
        let rank = |percent: usize| {
            times.get((times.len() * percent).div_ceil(100).saturating_sub(1)).copied().unwrap_or_default()
        };
        Timing { min: rank(0), median: rank(50), p90: rank(90) }
    }
}

pub fn section(title: &str) {
    println!("\n{title}");
}

pub fn network(round_trip: Duration) -> String {
    if round_trip.is_zero() { "loopback".to_owned() } else { format!("+{} ms/call", round_trip.as_millis()) }
}

pub fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

pub fn mebibytes(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
