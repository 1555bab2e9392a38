//! Everything that can go wrong with a state, each with the path and what to do about it.

use std::io;
use std::path::PathBuf;

use uuid::Uuid;

use crate::model::FORMAT_VERSION;

/// Messages include the underlying IO or JSON error themselves (it is not also a `source`, so a
/// report that walks the source chain prints it once).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    #[error("cannot read state file `{path}`: {error}: check that it is a file you can read")]
    Read { path: PathBuf, error: io::Error },

    /// Not JSON at all, or cut short (a truncated write, a copy that stopped half way).
    #[error("state file `{path}` {} ({error}): {}", describe_syntax(.error), repair(.backup))]
    Syntax { path: PathBuf, error: serde_json::Error, backup: Option<PathBuf> },

    /// JSON, but not in the shape of a state (a missing field, a wrong type, an unknown key).
    #[error("state file `{path}` is not a valid stowage state ({error}): {}", repair(.backup))]
    Invalid { path: PathBuf, error: serde_json::Error, backup: Option<PathBuf> },

    /// `version` is missing, not a positive integer, or 0. `found` is the JSON text found.
    #[error(
        "state file `{path}` has {}: it was not written by stowage or it is damaged; {}",
        describe_version(.found),
        repair(.backup)
    )]
    InvalidVersion { path: PathBuf, found: Option<String>, backup: Option<PathBuf> },

    #[error(
        "state file `{path}` was written by {} in format {format}; this stowage reads format <= {FORMAT_VERSION}: upgrade stowage",
        describe_writer(.written_by)
    )]
    NewerFormat { path: PathBuf, format: u64, written_by: Option<String> },

    #[error("state `{path}` lists resource `{address}` twice: keep one of them")]
    DuplicateAddress { path: PathBuf, address: String },

    #[error(
        "state `{path}` has resource `{address}` of type `{resource_type}`: its address must be `{resource_type}.NAME`"
    )]
    AddressTypeMismatch { path: PathBuf, address: String, resource_type: String },

    /// A caller tried to write a state whose `version` is not the format this stowage writes.
    #[error("refusing to write state `{path}` in format {version}: this stowage writes format {FORMAT_VERSION}")]
    UnwritableVersion { path: PathBuf, version: u32 },

    /// `step` says how far the write got, e.g. `replacing the state file`.
    #[error("cannot write state file `{path}` while {step}: {error}")]
    Write { path: PathBuf, step: &'static str, error: io::Error },

    #[error(
        "state belongs to environment `{state_environment}`, the spec is `{spec_environment}`: pass the right `--state`"
    )]
    EnvironmentMismatch { state_environment: String, spec_environment: String },

    /// The stored state is not the one the write was made from: another run wrote it, or it
    /// was restored or replaced meanwhile. `found` says what is stored instead.
    #[error(
        "state `{location}` changed since this run read it: this run read {}, it now holds {found}; \
         nothing was written: run stowage again, it starts from what the state holds now",
        describe_read(*.expected_serial, .lineage)
    )]
    Conflict { location: String, expected_serial: u64, lineage: Uuid, found: String },

    /// A state kept remotely (S3) could not be read or written: `step` says which request
    /// failed, `error` why (the service's own words, as text: this crate knows no SDK).
    #[error(
        "{step} of state `{location}` failed: {error}: a remote state object is replaced whole or not at all, \
         and nothing was lost locally; check the credentials, the bucket's region and the network, then run \
         stowage again"
    )]
    Remote { location: String, step: &'static str, error: String },
}

impl StateError {
    /// Forget the backup in the advice when there is none to restore (found out by the caller
    /// that read the file: errors do no IO).
    #[must_use]
    pub(crate) fn without_missing_backup(mut self) -> Self {
        if let Self::Syntax { backup, .. } | Self::Invalid { backup, .. } | Self::InvalidVersion { backup, .. } =
            &mut self
            && backup.as_ref().is_some_and(|path| !path.exists())
        {
            *backup = None;
        }
        self
    }
}

/// What to do about a damaged state: restore the backup, or, without one, fix it by hand.
fn repair(backup: &Option<PathBuf>) -> String {
    match backup {
        Some(backup) => format!("restore it from `{}` or fix it by hand", backup.display()),
        None => "there is no backup to restore: fix it by hand".to_owned(),
    }
}

fn describe_syntax(error: &serde_json::Error) -> &'static str {
    if error.is_eof() { "is truncated" } else { "is not valid JSON" }
}

fn describe_version(found: &Option<String>) -> String {
    match found {
        None => "no format `version`".to_owned(),
        Some(found) => {
            format!("an invalid format `version` (`{found}`, expected a positive integer)")
        }
    }
}

fn describe_read(serial: u64, lineage: &Uuid) -> String {
    if serial == 0 { "no state".to_owned() } else { describe_stored(serial, lineage) }
}

/// `serial 4 of lineage 0b9d...`: one version of a state.
pub(crate) fn describe_stored(serial: u64, lineage: &Uuid) -> String {
    format!("serial {serial} of lineage {lineage}")
}

fn describe_writer(written_by: &Option<String>) -> String {
    match written_by {
        Some(version) => format!("stowage {version}"),
        None => "a newer stowage".to_owned(),
    }
}
