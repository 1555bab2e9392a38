//! The state lock: two stowage runs on one state never interleave.
//!
//! The lock is an operating-system advisory lock (`flock` on Unix, `LockFileEx` on Windows,
//! through `std::fs::File`) on `STATE.lock`, a file beside the state. It is a separate file
//! because the state itself is replaced by a rename on every write, and a lock on a file that
//! is renamed over would lock nothing. The kernel releases the lock when its process dies,
//! however it dies, so a crashed or killed run never leaves the state locked.
//!
//! Runs that may write take the lock exclusively; read-only runs share it. An exclusive holder
//! also writes `STATE.lock.info` (JSON, mode 0600) naming itself, so that whoever is refused
//! learns who holds the lock and its id. Shared holders write no info file: there may be many
//! of them, a reader never needs to be unlocked by hand (it changes nothing and its lock ends
//! with its process), and the one file stays the exclusive holder's alone, so a reader can
//! never overwrite it.
//!
//! Invariants:
//! - `STATE.lock.info` is written only while its writer holds the OS lock exclusively, and
//!   removed by it before it unlocks. So an info file found by someone who just took the OS lock
//!   is stale (its holder died), and is taken over with a warning instead of refusing.
//! - The lock file is never removed on release (a waiter could be locking the old file while a
//!   newcomer creates a new one); only `force_unlock` removes it, and a run that took the lock on
//!   a file that was removed or replaced meanwhile takes it again on the new one.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The first wait between two attempts; it doubles up to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(25);
const LONGEST_WAIT: Duration = Duration::from_millis(500);

/// How a run holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Read-only runs (`plan` without `--out`, `drift`, `verify`, `show`): any number at once,
    /// while no run holds the lock exclusively.
    Shared,
    /// Runs that may write (`apply`, `plan --out`): alone.
    Exclusive,
}

impl fmt::Display for LockMode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            LockMode::Shared => "shared",
            LockMode::Exclusive => "exclusive",
        })
    }
}

/// What a run asks for, and how it describes itself to whoever it keeps waiting. The caller
/// knows who it is; this crate never reads the environment.
#[derive(Debug, Clone)]
pub struct LockRequest {
    pub mode: LockMode,
    /// The command, such as `apply` or `plan`.
    pub operation: String,
    pub user: String,
    pub host: String,
    pub stowage_version: String,
    /// How long to wait for a holder to finish; zero fails at once.
    pub timeout: Duration,
}

/// Who holds a lock: the contents of `STATE.lock.info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockInfo {
    /// The id `stowage force-unlock ID` needs.
    pub id: Uuid,
    pub operation: String,
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// When the lock was taken, RFC 3339 in UTC.
    pub started_at: String,
    pub stowage_version: String,
}

impl LockInfo {
    /// This process, taking a lock as `request` says, now, under a new id: the record every
    /// store keeps of its holder.
    pub fn holder(request: &LockRequest) -> Self {
        Self {
            id: Uuid::new_v4(),
            operation: request.operation.clone(),
            user: request.user.clone(),
            host: request.host.clone(),
            pid: std::process::id(),
            started_at: jiff::Timestamp::now().to_string(),
            stowage_version: request.stowage_version.clone(),
        }
    }
}

/// `` `apply` by alice on build-7 (pid 4242), since 2026-04-20T10:00:00Z, stowage 0.1.0 ``
impl fmt::Display for LockInfo {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "`{}` by {} on {} (pid {}), since {}, stowage {}",
            self.operation, self.user, self.host, self.pid, self.started_at, self.stowage_version
        )
    }
}

/// Everything that can go wrong with the lock, each saying what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another run holds the lock. `holder` is `None` when no holder is recorded: read-only
    /// runs record none, and a writer records itself just after it takes the lock.
    #[error("{}", describe_held(.state, .holder, .waited))]
    Held { state: PathBuf, holder: Option<Box<LockInfo>>, waited: Duration },

    #[error(
        "cannot lock state `{state}` while {step} `{path}`: {error}: check that its directory exists and is writable"
    )]
    Io { state: PathBuf, step: &'static str, path: PathBuf, error: io::Error },

    /// A lock kept remotely (S3) could not be taken, read or released: `step` says which
    /// request failed, `error` why (the service's own words, as text: this crate knows no SDK).
    #[error(
        "{step} of the lock of state `{state}` failed: {error}: check the credentials, the bucket's region \
         and the network"
    )]
    Remote { state: PathBuf, step: &'static str, error: String },

    #[error(
        "no lock is recorded for state `{state}`, so there is nothing to unlock: read-only runs record none and \
         need no unlocking, their lock ends with their process"
    )]
    NotLocked { state: PathBuf },

    #[error(
        "the lock of state `{state}` has id {}, not `{given}`: nothing was removed; it is held by {holder}, \
         which may be a newer run than the one you meant: check, and pass that id only if you are sure it is gone",
        .holder.id
    )]
    IdMismatch { state: PathBuf, given: String, holder: Box<LockInfo> },
}

fn describe_held(state: &Path, holder: &Option<Box<LockInfo>>, waited: &Duration) -> String {
    let state_text = state.display();
    let after = if waited.is_zero() {
        String::new()
    } else {
        format!(" (still, after waiting {})", describe_duration(*waited))
    };
    match holder {
        Some(holder) => format!(
            "state `{state_text}` is locked by another stowage run{after}\n\
             lock id: {}\n\
             holder:  {holder}{}\n\
             to proceed: wait for it to finish, or let this run wait for it with `--lock-timeout 5m`; \
             only if you are sure it is gone (its process ended, its machine is down): \
             `stowage force-unlock {} --state {state_text}`",
            holder.id,
            held_for(&holder.started_at, jiff::Timestamp::now()).map(|age| format!(" ({age} ago)")).unwrap_or_default(),
            holder.id
        ),
        None => format!(
            "state `{state_text}` is locked by another stowage run{after}: read-only runs (`plan`, `drift`, \
             `verify`, `show`) hold it shared and record no holder, and a writer records itself only once it \
             holds the lock\n\
             to proceed: wait for it to finish, or let this run wait for it with `--lock-timeout 5m`"
        ),
    }
}

/// How long ago `started_at` (RFC 3339) was, as a person reads it: `42s`, `3m 5s`, `2h 10m`,
/// `3d 4h`; `None` when it does not parse or lies in the future.
fn held_for(started_at: &str, now: jiff::Timestamp) -> Option<String> {
    let started: jiff::Timestamp = started_at.parse().ok()?;
    let seconds = u64::try_from(now.as_second() - started.as_second()).ok()?;
    let (days, hours, minutes, seconds) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
    Some(match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m {seconds}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    })
}

/// Refused after waiting as long as `request` allowed, naming the recorded holder if any.
fn held(state: &Path, request: &LockRequest) -> LockError {
    LockError::Held {
        state: state.to_owned(),
        holder: read_info(state).ok().flatten().map(Box::new),
        waited: request.timeout,
    }
}

/// The waits between two attempts at a lock, every store's (the local file's, S3's): from
/// [`FIRST_WAIT`], doubling up to [`LONGEST_WAIT`], never past the deadline.
#[derive(Debug)]
pub struct Backoff {
    deadline: Instant,
    wait: Duration,
}

impl Backoff {
    /// Waits that end `timeout` from now.
    pub fn until(timeout: Duration) -> Self {
        Self { deadline: Instant::now() + timeout, wait: FIRST_WAIT }
    }

    /// How long to wait before the next attempt; `None` once the deadline has passed.
    pub fn next_wait(&mut self) -> Option<Duration> {
        let now = Instant::now();
        if now >= self.deadline {
            return None;
        }
        let wait = self.wait.min(self.deadline - now);
        self.wait = (self.wait * 2).min(LONGEST_WAIT);
        Some(wait)
    }
}

fn describe_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(1000) { format!("{}s", millis / 1000) } else { format!("{:.1}s", duration.as_secs_f64()) }
}

/// `STATE.lock`, beside the state.
pub fn lock_path(state: &Path) -> PathBuf {
    with_suffix(state, ".lock")
}

/// `STATE.lock.info`, beside the state: the exclusive holder's [`LockInfo`].
pub fn lock_info_path(state: &Path) -> PathBuf {
    with_suffix(state, ".lock.info")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The lock on one state, held until dropped. Dropping it removes the info file (if this run
/// wrote it) and then releases the OS lock.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    state: PathBuf,
    mode: LockMode,
    info: LockInfo,
    took_over: Option<LockInfo>,
}

impl StateLock {
    /// Takes the lock on the state at `state` as `request` asks, waiting up to its timeout with
    /// a short backoff; the calling thread sleeps meanwhile. The lock file is created when
    /// missing; its directory must exist.
    pub fn acquire(state: &Path, request: &LockRequest) -> Result<StateLock, LockError> {
        let mut backoff = Backoff::until(request.timeout);
        loop {
            if let Some(lock) = Self::attempt(state, request)? {
                return Ok(lock);
            }
            match backoff.next_wait() {
                Some(wait) => std::thread::sleep(wait),
                None => return Err(held(state, request)),
            }
        }
    }

    /// [`Self::acquire`] for async callers ([`crate::StateStore::lock`]): the task sleeps
    /// between attempts, not the thread.
    pub(crate) async fn acquire_waiting(state: &Path, request: &LockRequest) -> Result<StateLock, LockError> {
        let mut backoff = Backoff::until(request.timeout);
        loop {
            if let Some(lock) = Self::attempt(state, request)? {
                return Ok(lock);
            }
            match backoff.next_wait() {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(held(state, request)),
            }
        }
    }

    /// One try, without waiting: the lock, or `None` while another run holds it.
    fn attempt(state: &Path, request: &LockRequest) -> Result<Option<StateLock>, LockError> {
        loop {
            let file = open_lock_file(state)?;
            let locked = match request.mode {
                LockMode::Shared => file.try_lock_shared(),
                LockMode::Exclusive => file.try_lock(),
            };
            match locked {
                // Locked, but maybe a file `force_unlock` removed since we opened it: locking
                // that one keeps out no one who opens the path now.
                Ok(()) if still_at_path(&file, &lock_path(state)) => return Self::hold(file, state, request).map(Some),
                Ok(()) => continue,
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(error)) => {
                    return Err(io_error(state, "locking", lock_path(state), error));
                }
            }
        }
    }

    /// The OS lock is ours: deal with a stale info file and record ourselves.
    fn hold(file: File, state: &Path, request: &LockRequest) -> Result<StateLock, LockError> {
        let info = LockInfo::holder(request);
        // Holders remove their info file before they unlock, so one found now outlived its
        // holder. An unreadable one is stale all the same.
        let took_over = read_info(state).unwrap_or(None);
        let info_path = lock_info_path(state);
        if let Some(stale) = &took_over {
            tracing::warn!(
                "took over the lock of state `{}` from {stale} (lock id {}): that run ended without releasing it",
                state.display(),
                stale.id
            );
        }
        match request.mode {
            LockMode::Exclusive => write_info(&info_path, &info)
                .map_err(|error| io_error(state, "writing the lock info", info_path.clone(), error))?,
            LockMode::Shared => remove_if_present(&info_path)
                .map_err(|error| io_error(state, "removing the stale lock info", info_path.clone(), error))?,
        }
        Ok(StateLock { file, state: state.to_owned(), mode: request.mode, info, took_over })
    }

    /// This run, as the info file records it (shared holders record nothing on disk).
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    pub fn mode(&self) -> LockMode {
        self.mode
    }

    pub fn state(&self) -> &Path {
        &self.state
    }

    /// The holder whose stale info file this run replaced, if any.
    pub fn took_over(&self) -> Option<&LockInfo> {
        self.took_over.as_ref()
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        if self.mode == LockMode::Exclusive {
            // Only our own record: after a force-unlock, the file may be a newer holder's.
            if let Ok(Some(recorded)) = read_info(&self.state)
                && recorded.id == self.info.id
                && let Err(error) = fs::remove_file(lock_info_path(&self.state))
            {
                tracing::warn!("could not remove the lock info of state `{}`: {error}", self.state.display());
            }
        }
        // Closing the file would release the lock too; unlocking says so.
        let _ = self.file.unlock();
    }
}

/// The recorded holder of the lock on `state`, if any.
pub fn read_info(state: &Path) -> io::Result<Option<LockInfo>> {
    match fs::read(lock_info_path(state)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(io::Error::other),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// What [`force_unlock`] removed.
#[derive(Debug)]
pub struct ForceUnlocked {
    /// The holder the info file named.
    pub holder: LockInfo,
    /// The files removed, info file first.
    pub removed: Vec<PathBuf>,
}

/// Removes the lock info and the lock file of `state`, but only when the recorded lock id is
/// `id`: the id proves the caller means this lock and not a newer one. For a holder that is
/// gone for sure; a live holder would go on, unlocked.
pub fn force_unlock(state: &Path, id: &str) -> Result<ForceUnlocked, LockError> {
    let info_path = lock_info_path(state);
    let holder = read_info(state)
        .map_err(|error| io_error(state, "reading the lock info", info_path.clone(), error))?
        .ok_or_else(|| LockError::NotLocked { state: state.to_owned() })?;
    let matches = id.trim().parse::<Uuid>().is_ok_and(|given| given == holder.id);
    if !matches {
        return Err(LockError::IdMismatch { state: state.to_owned(), given: id.to_owned(), holder: Box::new(holder) });
    }
    let mut removed = Vec::new();
    for (path, step) in [(info_path, "removing the lock info"), (lock_path(state), "removing the lock file")] {
        match fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error(state, step, path, error)),
        }
    }
    Ok(ForceUnlocked { holder, removed })
}

fn open_lock_file(state: &Path) -> Result<File, LockError> {
    let path = lock_path(state);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(&path).map_err(|error| io_error(state, "opening", path, error))
}

#[cfg(unix)]
fn still_at_path(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(locked), Ok(current)) => locked.dev() == current.dev() && locked.ino() == current.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at_path(_file: &File, path: &Path) -> bool {
    // Windows does not remove a file that is open without delete sharing: it is still there.
    path.exists()
}

/// Written whole or not at all: a temporary file (0600) renamed over `path`, so a refused run
/// never reads half a holder.
fn write_info(path: &Path, info: &LockInfo) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".stowage-lock-info.").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    let mut file = builder.tempfile_in(directory)?;
    let mut contents = serde_json::to_vec_pretty(info).map_err(io::Error::other)?;
    contents.push(b'\n');
    file.write_all(&contents)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

fn io_error(state: &Path, step: &'static str, path: PathBuf, error: io::Error) -> LockError {
    LockError::Io { state: state.to_owned(), step, path, error }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_says_how_long_it_has_been_held() {
        let now: jiff::Timestamp = "2026-12-05T12:00:00Z".parse().unwrap();
        let age = |started: &str| held_for(started, now);
        assert_eq!(age("2026-12-05T11:59:18Z").as_deref(), Some("42s"));
        assert_eq!(age("2026-12-05T11:56:55Z").as_deref(), Some("3m 5s"));
        assert_eq!(age("2026-12-05T09:50:00Z").as_deref(), Some("2h 10m"));
        assert_eq!(age("2026-12-02T08:00:00Z").as_deref(), Some("3d 4h"));
        assert_eq!(age("2026-12-05T12:00:01Z"), None, "in the future");
        assert_eq!(age("yesterday"), None);
    }
}
