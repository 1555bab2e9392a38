//! One run of the `stowage` binary: how a test asks for it ([`Invocation`]), and what it
//! printed and how it ended ([`Run`]).

use std::collections::BTreeMap;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::path::Path;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::proxy::{AwsProxy, ObservedRequest};
use crate::sandbox::{Sandbox, stowage_command};
use crate::twilio::TwilioCredentials;

/// What one `stowage` run may take at most, faults, retries and lock waits included; a hung
/// run is killed when this passes, and the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a run may take to reach the request a proxy holds for it.
const HOLD_LIMIT: Duration = Duration::from_secs(60);
/// How much of a run's stderr a failure message shows: at `RUST_LOG=trace` it is megabytes,
/// and the end says what went wrong.
const SHOWN_STDERR_LINES: usize = 200;

/// What one `stowage` run printed and how it ended. Shown whole (stderr's end) when an
/// assertion about it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The arguments, joined: `apply dev.toml --auto-approve`.
    pub command: String,
    /// `None` when the run was killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn new(command: String, status: ExitStatus, stdout: &[u8], stderr: &[u8]) -> Run {
        Run {
            command,
            code: status.code(),
            stdout: String::from_utf8_lossy(stdout).into_owned(),
            stderr: String::from_utf8_lossy(stderr).into_owned(),
        }
    }

    /// stderr without log lines (they start with a timestamp), each line ending in a newline:
    /// what a person reads, the same from run to run. The AWS SDK logs a warning on every run
    /// that the config files the test support points it at (so that a developer's own cannot
    /// leak in) do not exist.
    pub fn diagnostics(&self) -> String {
        static LOG_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{4}-\d\d-\d\dT").expect("a valid pattern"));
        self.stderr.lines().filter(|line| !LOG_LINE.is_match(line)).map(|line| format!("{line}\n")).collect()
    }
}

impl fmt::Display for Run {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => writeln!(formatter, "`stowage {}` exited {code}", self.command)?,
            None => writeln!(formatter, "`stowage {}` was killed by a signal", self.command)?,
        }
        let lines: Vec<&str> = self.stderr.lines().collect();
        let cut = lines.len().saturating_sub(SHOWN_STDERR_LINES);
        write!(formatter, "--- stdout\n{}\n--- stderr", self.stdout)?;
        if cut > 0 {
            write!(formatter, " (its last {SHOWN_STDERR_LINES} of {} lines)", lines.len())?;
        }
        write!(formatter, "\n{}", lines[cut..].join("\n"))
    }
}

/// Fails the test, showing the whole run, unless `run` exited with `expected`.
///
/// # Panics
/// When it did not.
#[track_caller]
pub fn assert_exit(run: &Run, expected: i32) {
    assert_eq!(run.code, Some(expected), "unexpected exit code\n{run}");
}

/// A `stowage` run to be made: the binary, the sandbox it runs in, its arguments and its
/// environment. Awaiting it runs it to its end (within [`RUN_TIMEOUT`]); [`Invocation::spawn`]
/// and [`Invocation::kill_at_hold`] start it in the background.
///
/// The environment is only what is given here (see [`stowage_command`]): a developer's real
/// credentials never reach a test.
#[derive(Debug, Clone)]
#[must_use = "an invocation does nothing until it is awaited or spawned"]
pub struct Invocation<'a> {
    binary: &'a Path,
    sandbox: &'a Sandbox,
    args: Vec<String>,
    environment: BTreeMap<String, String>,
}

impl<'a> Invocation<'a> {
    /// `binary ARGS` in `sandbox` with `environment`; a [`crate::World`] makes these for its
    /// services.
    pub fn new(
        binary: &'a Path,
        sandbox: &'a Sandbox,
        environment: impl IntoIterator<Item = (String, String)>,
        args: &[&str],
    ) -> Invocation<'a> {
        let args = args.iter().map(|arg| (*arg).to_owned()).collect();
        Invocation { binary, sandbox, args, environment: environment.into_iter().collect() }
    }

    /// Runs in `sandbox` instead: a test that needs a fresh directory per case.
    pub fn in_sandbox(mut self, sandbox: &'a Sandbox) -> Invocation<'a> {
        self.sandbox = sandbox;
        self
    }

    /// Sets `name` for this run, replacing any value it had.
    pub fn env(mut self, name: &str, value: &str) -> Invocation<'a> {
        self.environment.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Sets every pair of `variables` for this run.
    pub fn envs<Name: Into<String>, Value: Into<String>>(
        mut self,
        variables: impl IntoIterator<Item = (Name, Value)>,
    ) -> Invocation<'a> {
        self.environment.extend(variables.into_iter().map(|(name, value)| (name.into(), value.into())));
        self
    }

    /// Leaves `name` out of this run's environment.
    pub fn env_remove(mut self, name: &str) -> Invocation<'a> {
        self.environment.remove(name);
        self
    }

    /// Gives this run `credentials` for Twilio instead of the ones it had.
    pub fn twilio_credentials(mut self, credentials: TwilioCredentials) -> Invocation<'a> {
        for name in TwilioCredentials::VARIABLES {
            self.environment.remove(name);
        }
        self.envs(credentials.environment())
    }

    /// How long stowage waits for each request (`STOWAGE_REQUEST_TIMEOUT`, such as `2s`).
    pub fn request_timeout(self, timeout: &str) -> Invocation<'a> {
        self.env("STOWAGE_REQUEST_TIMEOUT", timeout)
    }

    /// The command, killed when dropped, for a test that runs it its own way.
    pub fn command(&self) -> Command {
        let environment = self.environment.iter().map(|(name, value)| (name.as_str(), value.as_str()));
        let mut command = Command::from(stowage_command(self.binary, self.sandbox, environment));
        command.args(&self.args).kill_on_drop(true);
        command
    }

    /// Runs it to its end.
    ///
    /// # Panics
    /// When it cannot start, or does not end within [`RUN_TIMEOUT`].
    pub async fn run(self) -> Run {
        self.spawn().finish().await
    }

    /// Starts it in the background, stdout and stderr piped.
    ///
    /// # Panics
    /// When it cannot start.
    pub fn spawn(self) -> Running {
        let mut command = self.command();
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = command.spawn().unwrap_or_else(|error| panic!("could not run {}: {error}", self.binary.display()));
        Running { command: self.args.join(" "), child }
    }

    /// Starts it, waits until `proxy` holds a request of it (a [`crate::FaultAction::HoldRequest`]
    /// or [`crate::FaultAction::HoldAnswer`] the test injected), and kills the process there
    /// with SIGKILL. Answers what it printed until then and the held request, or `None` when
    /// the run ended without reaching a hold (it then ran to its end). The output is read as it
    /// comes: at trace level it outgrows a pipe's buffer, and a blocked run would never reach
    /// the hold.
    ///
    /// # Panics
    /// When it cannot start, neither reaches a hold nor ends within [`HOLD_LIMIT`], or exits on
    /// its own after a hold.
    pub async fn kill_at_hold(self, proxy: &AwsProxy) -> (Run, Option<ObservedRequest>) {
        let Running { command, mut child } = self.spawn();
        let stdout = read_to_end(child.stdout.take());
        let stderr = read_to_end(child.stderr.take());
        let held = tokio::time::timeout(HOLD_LIMIT, async {
            tokio::select! {
                held = proxy.held() => Some(held),
                _ = child.wait() => None,
            }
        })
        .await
        .unwrap_or_else(|_| panic!("`stowage {command}` neither reached a held request nor ended in time"));
        if held.is_some() {
            child.start_kill().expect("SIGKILL sent");
        }
        let status = tokio::time::timeout(RUN_TIMEOUT, child.wait()).await.expect("reaped in time").expect("reaped");
        if held.is_some() {
            assert_eq!(status.code(), None, "stowage was killed by a signal, it did not exit");
        }
        let stdout = stdout.await.expect("stdout read");
        let stderr = stderr.await.expect("stderr read");
        (Run::new(command, status, &stdout, &stderr), held)
    }
}

/// Awaiting an invocation runs it: `world.stowage(&["plan", "dev.toml"]).await`.
impl<'a> IntoFuture for Invocation<'a> {
    type Output = Run;
    type IntoFuture = Pin<Box<dyn Future<Output = Run> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A `stowage` run started in the background ([`Invocation::spawn`]).
#[derive(Debug)]
pub struct Running {
    command: String,
    /// The process, for its pid, its pipes (what is left in them is read by
    /// [`Running::finish`]) or a kill.
    pub child: Child,
}

impl Running {
    /// Waits for the run to end and reads what it printed.
    ///
    /// # Panics
    /// When it does not end within [`RUN_TIMEOUT`].
    pub async fn finish(self) -> Run {
        let Running { command, child } = self;
        let output = tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("`stowage {command}` did not finish within {RUN_TIMEOUT:?}"))
            .unwrap_or_else(|error| panic!("`stowage {command}` could not be waited for: {error}"));
        Run::new(command, output.status, &output.stdout, &output.stderr)
    }
}

fn read_to_end(stream: Option<impl AsyncRead + Send + Unpin + 'static>) -> JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut bytes = Vec::new();
        if let Some(mut stream) = stream {
            // What a killed process wrote before it died is all there is; an error ends it too.
            let _ = stream.read_to_end(&mut bytes).await;
        }
        bytes
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stderr: &str) -> Run {
        Run { command: "plan dev.toml".to_owned(), code: Some(1), stdout: String::new(), stderr: stderr.to_owned() }
    }

    #[test]
    fn diagnostics_leave_out_log_lines() {
        let stderr = "2025-01-02T03:04:05.678Z  WARN config file overridden via environment variable not found\n\
                      error: the spec is wrong\n  hint: fix it";
        assert_eq!(run(stderr).diagnostics(), "error: the spec is wrong\n  hint: fix it\n");
    }

    #[test]
    fn a_run_is_shown_with_the_end_of_a_long_stderr() {
        let stderr: Vec<String> = (0..SHOWN_STDERR_LINES + 5).map(|line| format!("line {line}")).collect();
        let shown = run(&stderr.join("\n")).to_string();
        assert!(shown.starts_with("`stowage plan dev.toml` exited 1\n"), "{shown}");
        assert!(shown.contains(&format!("(its last {SHOWN_STDERR_LINES} of {} lines)", stderr.len())), "{shown}");
        assert!(!shown.contains("line 4\n") && shown.contains("line 5\n") && shown.ends_with("line 204"), "{shown}");
    }
}
