//! The state lock as the commands take it: which lock each command needs, and what the lock
//! settings (`--lock`, `--lock-timeout`, who this run is) make of it.

use std::path::Path;
use std::time::Duration;

use miette::{Report, miette};
use stowage_state::{LockError, LockMode, LockRequest, StateStore};

use crate::settings::LockSettings;
use crate::store::{Store, StoreLock};

/// The lock a command takes on its state: shared for read-only commands, exclusive for those
/// that may write.
#[derive(Debug, Clone, Copy)]
pub struct Locking {
    operation: &'static str,
    mode: LockMode,
}

impl Locking {
    /// A command that only reads the state: `plan`, `drift`, `verify`, `show`.
    pub fn read(operation: &'static str) -> Self {
        Self { operation, mode: LockMode::Shared }
    }

    /// A command that may write the state or a plan of it: `apply`, `plan --out`.
    pub fn write(operation: &'static str) -> Self {
        Self { operation, mode: LockMode::Exclusive }
    }

    /// Whether the command may write the state.
    pub fn writes(&self) -> bool {
        self.mode == LockMode::Exclusive
    }

    /// Takes the lock on the state in `store`; `None` when the run goes without one. Waits for
    /// a holder as long as `--lock-timeout` allows, saying for whom.
    pub async fn take(&self, store: &Store, settings: &LockSettings) -> Result<Option<StoreLock>, Report> {
        let state = store.location();
        if !settings.enabled {
            if self.mode == LockMode::Exclusive {
                return Err(miette!(
                    help = "drop `--lock=false`: it is for read-only commands (`plan`, `drift`, `verify`, `show`)",
                    "`{}` may write the state `{state}`, so it always takes the state lock",
                    self.operation,
                ));
            }
            tracing::debug!("reading state `{state}` without the lock (--lock=false)");
            return Ok(None);
        }
        if self.mode == LockMode::Shared && store.local().is_some_and(|file| !directory_of(file.path()).is_dir()) {
            // No writer can write a state whose directory does not exist, so there is nothing
            // to keep apart; `show` of a plan made on another machine lands here.
            tracing::debug!("no lock for state `{state}`: its directory does not exist");
            return Ok(None);
        }

        let mut request = LockRequest {
            mode: self.mode,
            operation: self.operation.to_owned(),
            user: settings.user.clone(),
            host: settings.host.clone(),
            stowage_version: env!("CARGO_PKG_VERSION").to_owned(),
            timeout: Duration::ZERO,
        };
        // One attempt first, so a run that has to wait says for whom.
        let acquired = match store.lock(&request).await {
            Err(LockError::Held { holder, .. }) if !settings.timeout.is_zero() => {
                let holder = holder.map(|holder| format!(", held by {holder}, lock id {}", holder.id));
                let _waiting = crate::progress::wait(&format!(
                    "waiting up to {} for the lock on state `{state}`{}",
                    humantime::format_duration(settings.timeout),
                    holder.unwrap_or_default()
                ));
                request.timeout = settings.timeout;
                store.lock(&request).await
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
