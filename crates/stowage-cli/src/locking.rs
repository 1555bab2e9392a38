//! The state lock as the commands take it: which lock each command needs, the `--lock` and
//! `--lock-timeout` flags, and who this run is (user, host), for whoever it keeps waiting.

use std::path::Path;
use std::time::Duration;

use miette::{Report, miette};
use stowage_state::{LockError, LockMode, LockRequest, StateLock};

use crate::cli::LockArgs;

/// The lock a command takes on its state: shared for read-only commands, exclusive for those
/// that may write.
#[derive(Debug, Clone, Copy)]
pub struct Locking<'a> {
    operation: &'static str,
    mode: LockMode,
    flags: &'a LockArgs,
}

impl<'a> Locking<'a> {
    /// A command that only reads the state: `plan`, `drift`, `verify`, `show`.
    pub fn read(operation: &'static str, flags: &'a LockArgs) -> Self {
        Self { operation, mode: LockMode::Shared, flags }
    }

    /// A command that may write the state or a plan of it: `apply`, `plan --out`.
    pub fn write(operation: &'static str, flags: &'a LockArgs) -> Self {
        Self { operation, mode: LockMode::Exclusive, flags }
    }

    /// Takes the lock on the state at `state`; `None` when the run goes without one. Blocks
    /// while it waits for a holder (`--lock-timeout`).
    pub fn take(&self, state: &Path) -> Result<Option<StateLock>, Report> {
        if !self.flags.lock {
            if self.mode == LockMode::Exclusive {
                return Err(miette!(
                    help = "drop `--lock=false`: it is for read-only commands (`plan`, `drift`, `verify`, `show`)",
                    "`{}` may write the state `{}`, so it always takes the state lock",
                    self.operation,
                    state.display()
                ));
            }
            tracing::debug!("reading state `{}` without the lock (--lock=false)", state.display());
            return Ok(None);
        }
        if self.mode == LockMode::Shared && !directory_of(state).is_dir() {
            // No writer can write a state whose directory does not exist, so there is nothing
            // to keep apart; `show` of a plan made on another machine lands here.
            tracing::debug!("no lock for state `{}`: its directory does not exist", state.display());
            return Ok(None);
        }

        let mut request = LockRequest {
            mode: self.mode,
            operation: self.operation.to_owned(),
            user: user(),
            host: host(),
            stowage_version: env!("CARGO_PKG_VERSION").to_owned(),
            timeout: Duration::ZERO,
        };
        let timeout = self.flags.lock_timeout;
        // One attempt first, so a run that has to wait says for whom.
        let first = StateLock::acquire(state, &request);
        let acquired = match first {
            Err(LockError::Held { holder, .. }) if !timeout.is_zero() => {
                let holder = holder.map(|holder| format!(", held by {holder}, lock id {}", holder.id));
                eprintln!(
                    "waiting up to {} for the lock on state `{}`{}",
                    humantime::format_duration(timeout),
                    state.display(),
                    holder.unwrap_or_default()
                );
                request.timeout = timeout;
                tokio::task::block_in_place(|| StateLock::acquire(state, &request))
            }
            other => other,
        };
        acquired.map(Some).map_err(|error| miette!("{error}"))
    }
}

fn directory_of(state: &Path) -> &Path {
    match state.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The login name, as the shell knows it.
fn user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| "an unknown user".to_owned())
}

#[cfg(unix)]
fn host() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

#[cfg(not(unix))]
fn host() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "an unknown host".to_owned())
}
