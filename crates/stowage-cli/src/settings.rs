//! Settings: the command line's flags and the process environment, merged once, here. This is
//! the only module that reads the environment (`clippy.toml` disallows it everywhere else, and
//! this module alone allows it); everything after it takes these values.
//!
//! The environment is read once, at start; a value that does not parse is reported only when a
//! command needs it (at the point it always was), so `stowage validate` never fails on a
//! timeout it does not use.
#![allow(clippy::disallowed_methods, reason = "the one module of the CLI that reads the process environment")]

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::time::Duration;

use miette::{Report, miette};
use stowage_twilio::{CredentialKind, CredentialsError, TwilioAuth};

use crate::cli::{LockArgs, StateArgs};
use crate::store::StateLocation;

/// Everything a run takes from its flags and its environment, but a command's own arguments.
#[derive(Debug)]
pub struct Settings {
    pub lock: LockSettings,
    /// `STOWAGE_REQUEST_TIMEOUT` (e.g. `30s`, `1500ms`): how long one request to AWS or Twilio
    /// may take before it is abandoned (and retried when that is safe). Unset: 30 seconds.
    request_timeout: Result<Option<Duration>, VariableError>,
    /// `STOWAGE_PROPAGATION_WINDOW` (e.g. `2m`, `0s`): how long to wait for IAM and KMS to
    /// propagate a new access key or user. Unset: two minutes on AWS, none against a loopback
    /// endpoint (an emulator propagates at once).
    propagation_window: Result<Option<Duration>, VariableError>,
    pub twilio: TwilioSettings,
    pub color: ColorSettings,
    /// Progress indicators (spinners, bars) on stderr, rather than plain lines: see
    /// [`progress_indicators`].
    pub progress: bool,
    /// `--detail`: every fleet subaccount's changes in full.
    pub detail: bool,
    /// `RUST_LOG`, the log filter (unset: warnings only).
    pub log_filter: Option<String>,
}

impl Settings {
    /// The global flags and the process environment.
    pub fn resolve(lock: &LockArgs, detail: bool) -> Self {
        Self {
            lock: LockSettings::resolve(lock),
            request_timeout: duration_variable("STOWAGE_REQUEST_TIMEOUT", "30 seconds", false),
            propagation_window: duration_variable(
                "STOWAGE_PROPAGATION_WINDOW",
                "two minutes on AWS, none against a local emulator",
                true,
            ),
            twilio: TwilioSettings::resolve(),
            color: ColorSettings::resolve(),
            progress: progress_indicators(
                std::io::stderr().is_terminal(),
                std::env::var_os("CI").as_deref(),
                std::env::var_os("TERM").as_deref(),
            ),
            detail,
            log_filter: std::env::var("RUST_LOG").ok(),
        }
    }

    /// How a plan is drawn for people on stdout.
    pub fn human(&self) -> stowage_plan::render::HumanOptions {
        stowage_plan::render::HumanOptions { color: self.color.stdout, detail: self.detail }
    }

    /// `STOWAGE_REQUEST_TIMEOUT`, or why it is not a duration.
    pub fn request_timeout(&self) -> Result<Option<Duration>, Report> {
        self.request_timeout.clone().map_err(VariableError::into_report)
    }

    /// `STOWAGE_PROPAGATION_WINDOW`, or why it is not a duration.
    pub fn propagation_window(&self) -> Result<Option<Duration>, Report> {
        self.propagation_window.clone().map_err(VariableError::into_report)
    }
}

/// A variable set to something that cannot be used, said as the command that needs it reports
/// it.
#[derive(Debug, Clone)]
struct VariableError {
    message: String,
    help: String,
}

impl VariableError {
    fn into_report(self) -> Report {
        miette!(help = self.help, "{}", self.message)
    }
}

/// A duration from the environment variable `name`, if set; `default` is said in the help.
fn duration_variable(name: &str, default: &str, zero_allowed: bool) -> Result<Option<Duration>, VariableError> {
    let Some(value) = std::env::var_os(name) else { return Ok(None) };
    let text = value.to_string_lossy();
    match humantime::parse_duration(text.trim()) {
        Ok(duration) if zero_allowed || !duration.is_zero() => Ok(Some(duration)),
        Ok(_) => Err(VariableError {
            message: format!("{name} is zero"),
            help: "give a positive duration, e.g. `30s` or `1500ms`".to_owned(),
        }),
        Err(error) => Err(VariableError {
            message: format!("{name}=`{text}` is not a duration: {error}"),
            help: format!("give a duration such as `30s` or `1500ms`, or unset it for the default of {default}"),
        }),
    }
}

/// The state lock: `--lock`, `--lock-timeout`, and who this run is (user, host), for whoever
/// it keeps waiting.
#[derive(Debug, Clone)]
pub struct LockSettings {
    /// `--lock`: `false` only for read-only commands.
    pub enabled: bool,
    /// `--lock-timeout`: how long to wait for another run's lock.
    pub timeout: Duration,
    /// The login name, as the shell knows it.
    pub user: String,
    pub host: String,
}

/// [`LockSettings::user`] when the environment names no login.
pub const UNKNOWN_USER: &str = "an unknown user";

impl LockSettings {
    fn resolve(flags: &LockArgs) -> Self {
        let user = ["USER", "USERNAME", "LOGNAME"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
            .unwrap_or_else(|| UNKNOWN_USER.to_owned());
        Self { enabled: flags.lock, timeout: flags.lock_timeout, user, host: host() }
    }
}

#[cfg(unix)]
fn host() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

#[cfg(not(unix))]
fn host() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "an unknown host".to_owned())
}

/// Twilio credentials from `TWILIO_API_KEY` + `TWILIO_API_SECRET` or `TWILIO_ACCOUNT_SID` +
/// `TWILIO_AUTH_TOKEN`, and the endpoints from `STOWAGE_TWILIO_ACCOUNTS_URL`,
/// `STOWAGE_TWILIO_VIDEO_URL`, `STOWAGE_TWILIO_MONITOR_URL` and `STOWAGE_TWILIO_API_URL`. Missing credentials are an error only for a spec that needs
/// Twilio.
#[derive(Debug)]
pub struct TwilioSettings {
    pub auth: Result<TwilioAuth, CredentialsError>,
    /// Whether `TWILIO_ACCOUNT_SID` is set, which an API key overrides.
    account_sid_set: bool,
    /// `TWILIO_ACCOUNT_SID` as set (an identifier, not a secret): what `stowage init` suggests.
    pub account_sid: Option<String>,
    pub accounts_url: Option<String>,
    pub video_url: Option<String>,
    pub monitor_url: Option<String>,
    /// The 2010 API (subaccounts), `STOWAGE_TWILIO_API_URL`.
    pub api_url: Option<String>,
}

impl TwilioSettings {
    fn resolve() -> Self {
        let lookup = |name: &str| std::env::var(name).ok();
        Self {
            auth: TwilioAuth::from_lookup(lookup),
            account_sid_set: std::env::var_os("TWILIO_ACCOUNT_SID").is_some(),
            account_sid: lookup("TWILIO_ACCOUNT_SID"),
            accounts_url: lookup("STOWAGE_TWILIO_ACCOUNTS_URL"),
            video_url: lookup("STOWAGE_TWILIO_VIDEO_URL"),
            monitor_url: lookup("STOWAGE_TWILIO_MONITOR_URL"),
            api_url: lookup("STOWAGE_TWILIO_API_URL"),
        }
    }

    /// Which Twilio credentials are in use, by SID (an identifier, not a secret).
    pub fn credentials_in_use(&self) -> Option<String> {
        let auth = self.auth.as_ref().ok()?;
        Some(match auth.kind() {
            CredentialKind::ApiKey => {
                let mut text = format!(
                    "the API key {} (`TWILIO_API_KEY`), which acts as the account it was made in",
                    auth.username()
                );
                if self.account_sid_set {
                    text.push_str(", whatever `TWILIO_ACCOUNT_SID` says");
                }
                text
            }
            CredentialKind::AccountAuthToken => {
                format!("the auth token of account {} (`TWILIO_ACCOUNT_SID`)", auth.username())
            }
        })
    }
}

/// Colour: only on a terminal, never with `NO_COLOR`.
#[derive(Debug, Clone, Copy)]
pub struct ColorSettings {
    pub stdout: bool,
    pub stderr: bool,
}

impl ColorSettings {
    fn resolve() -> Self {
        let allowed = std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
        Self { stdout: allowed && std::io::stdout().is_terminal(), stderr: allowed && std::io::stderr().is_terminal() }
    }
}

/// Whether progress is drawn as indicators: only when stderr is a terminal a person watches,
/// not in CI (`CI` set, as CI services set it, even when they give a pseudo-terminal) and not
/// on a terminal that cannot redraw a line (`TERM=dumb`). Otherwise, plain lines.
fn progress_indicators(stderr_is_terminal: bool, ci: Option<&OsStr>, term: Option<&OsStr>) -> bool {
    let ci = ci.is_some_and(|value| !value.is_empty() && value != "false" && value != "0");
    stderr_is_terminal && !ci && term.is_none_or(|term| term != "dumb")
}

/// Where a command's state is, and how hard to work on it.
#[derive(Debug, Clone)]
pub struct StateSettings {
    /// `--state`, else the state a saved plan was made against; `None`: the spec's `[state]`,
    /// else the file beside the spec (see [`crate::store::StateLocation::resolve`]).
    pub explicit: Option<StateLocation>,
    /// `--parallelism`: how many API calls run at the same time.
    pub parallelism: usize,
}

impl StateSettings {
    /// `recorded` is the state a saved plan names.
    pub fn resolve(args: &StateArgs, recorded: Option<StateLocation>) -> Self {
        Self { explicit: args.state.clone().or(recorded), parallelism: usize::from(args.parallelism) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicators_only_on_a_terminal_outside_ci() {
        let some = |value: &'static str| Some(OsStr::new(value));
        assert!(progress_indicators(true, None, some("xterm-256color")));
        assert!(progress_indicators(true, None, None));
        assert!(!progress_indicators(false, None, some("xterm-256color")), "stderr piped or redirected");
        assert!(!progress_indicators(true, some("true"), None), "CI");
        assert!(progress_indicators(true, some("false"), None));
        assert!(!progress_indicators(true, None, some("dumb")));
    }
}
