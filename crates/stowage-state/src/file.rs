//! The local state file: strict, versioned loading and atomic writes that keep a `.backup`.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::NamedTempFile;
use uuid::Uuid;

use crate::error::{StateError, describe_stored};
use crate::lock::{LockError, LockRequest, StateLock};
use crate::model::{FORMAT_VERSION, ResourceState, State};
use crate::store::StateStore;

/// A state file on the local disk, with the previous version kept at `<path>.backup`, locked
/// through `<path>.lock` ([`crate::lock`]): the [`StateStore`] of a local state.
///
/// At every moment `path` holds either the previous or the new state in full: a write goes to
/// a temporary file in the same directory that is renamed over `path` only once it is on disk.
/// State, backup and temporary files are readable by their owner only (mode 0600 on Unix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStateFile {
    path: PathBuf,
}

impl LocalStateFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn backup_path(&self) -> PathBuf {
        backup_path_for(&self.path)
    }

    /// The state in the file, or `None` when there is no file yet.
    pub fn load(&self) -> Result<Option<State>, StateError> {
        let contents = match fs::read(&self.path) {
            Ok(contents) => contents,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(StateError::Read { path: self.path.clone(), error });
            }
        };
        parse(&self.path, &contents).map(Some).map_err(StateError::without_missing_backup)
    }

    /// Puts `state` in the file, whatever it holds now, atomically, and keeps the previous file
    /// as the backup: for tools and tests that set a state up. A run writes through
    /// [`StateStore::write`] instead, which refuses to replace a state it did not read. Writing
    /// the state that is already in the file changes nothing, so the backup keeps the last state
    /// that differed.
    pub fn overwrite(&self, state: &State) -> Result<(), StateError> {
        self.replace(state, None)
    }

    /// Writes `state` atomically over the file, first checking, when `expected` says so, that
    /// the file holds that serial of the state's lineage.
    fn replace(&self, state: &State, expected: Option<u64>) -> Result<(), StateError> {
        let contents = encode(&self.path, state)?;

        let previous = match fs::read(&self.path) {
            Ok(previous) => Some(previous),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(self.write_error("reading the previous state", error)),
        };
        if let Some(expected) = expected {
            self.check_stored(previous.as_deref(), state, expected)?;
        }
        if previous.as_deref() == Some(contents.as_slice()) {
            return Ok(());
        }

        // Temporary files are deleted when dropped, so every early return below cleans up.
        let new_state =
            self.write_temporary(&contents).map_err(|error| self.write_error("writing a temporary file", error))?;
        if let Some(previous) = previous {
            // A copy renamed over the backup: `path` keeps the previous state until the new one
            // replaces it, and the backup is never half written.
            let backup = self
                .write_temporary(&previous)
                .map_err(|error| self.write_error("copying the previous state", error))?;
            backup
                .persist(self.backup_path())
                .map_err(|error| self.write_error("replacing the backup", error.error))?;
        }
        new_state.persist(&self.path).map_err(|error| self.write_error("replacing the state file", error.error))?;
        sync_directory(self.directory()).map_err(|error| self.write_error("syncing the directory", error))
    }

    /// The file must hold serial `expected` of `state`'s lineage (nothing at all for 0). Only
    /// the two fields are read, so a damaged file is reported as what it is, not as a JSON
    /// error.
    fn check_stored(&self, previous: Option<&[u8]>, state: &State, expected: u64) -> Result<(), StateError> {
        let stored = previous.map(|bytes| {
            let document: Option<Value> = serde_json::from_slice(bytes).ok();
            let field = |name: &str| document.as_ref().and_then(|document| document.get(name));
            let serial = field("serial").and_then(Value::as_u64);
            let lineage = field("lineage").and_then(Value::as_str).and_then(|text| text.parse::<Uuid>().ok());
            serial.zip(lineage)
        });
        let found = match stored {
            None if expected == 0 => return Ok(()),
            Some(Some((serial, lineage))) if serial == expected && lineage == state.lineage => return Ok(()),
            None => "no state".to_owned(),
            Some(Some((serial, lineage))) => describe_stored(serial, &lineage),
            Some(None) => "a file that is not a state stowage can read".to_owned(),
        };
        Err(StateError::Conflict {
            location: self.location(),
            expected_serial: expected,
            lineage: state.lineage,
            found,
        })
    }

    /// A fully written and synced temporary file next to the state file (a rename is atomic
    /// only within one file system), named after it so a leftover is easy to recognise.
    fn write_temporary(&self, contents: &[u8]) -> io::Result<NamedTempFile> {
        let file_name = self.path.file_name().unwrap_or("state".as_ref());
        let mut prefix = OsString::from(".");
        prefix.push(file_name);
        prefix.push(".");

        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o600));
        }
        let mut file = builder.tempfile_in(self.directory())?;
        file.write_all(contents)?;
        file.as_file().sync_all()?;
        Ok(file)
    }

    fn directory(&self) -> &Path {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }

    fn write_error(&self, step: &'static str, error: io::Error) -> StateError {
        StateError::Write { path: self.path.clone(), step, error }
    }
}

impl StateStore for LocalStateFile {
    type Lock = StateLock;

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    async fn read(&self) -> Result<Option<State>, StateError> {
        self.load()
    }

    async fn write(&self, state: &State, expected_serial: u64) -> Result<(), StateError> {
        self.replace(state, Some(expected_serial))
    }

    async fn lock(&self, request: &LockRequest) -> Result<StateLock, LockError> {
        StateLock::acquire_waiting(&self.path, request).await
    }
}

pub(crate) fn backup_path_for(path: &Path) -> PathBuf {
    let mut backup = path.as_os_str().to_owned();
    backup.push(".backup");
    PathBuf::from(backup)
}

/// The bytes of `state` in the state file format, checked as a local write checks them (the
/// format version this stowage writes, each address `TYPE.NAME` of its own type and unique):
/// exactly the bytes the local file would hold, for a store kept elsewhere (S3). Errors name
/// the state `state`; a store that knows its location puts it in their `path`.
pub fn encode_state(state: &State) -> Result<Vec<u8>, StateError> {
    encode(Path::new("state"), state)
}

/// The checked bytes of `state`, for the state at `path`: never bytes that `parse` would refuse.
fn encode(path: &Path, state: &State) -> Result<Vec<u8>, StateError> {
    if state.version != FORMAT_VERSION {
        return Err(StateError::UnwritableVersion { path: path.to_owned(), version: state.version });
    }
    check_resources(path, &state.resources)?;
    render(state).map_err(|error| StateError::Write {
        path: path.to_owned(),
        step: "serializing the state",
        error: error.into(),
    })
}

/// The state in `bytes`, read as strictly as [`LocalStateFile::load`] reads a file (a newer
/// format refused before the rest is read, unknown fields refused, resource checks); `location`
/// names it in errors, such as `s3://bucket/key`. A damaged state's advice names no backup
/// unless `location` has one beside it on the local disk.
pub fn decode_state(location: &Path, bytes: &[u8]) -> Result<State, StateError> {
    parse(location, bytes).map_err(StateError::without_missing_backup)
}

/// Pretty JSON with a trailing newline; the model serializes canonically, so equal states give
/// equal bytes.
fn render(state: &State) -> serde_json::Result<Vec<u8>> {
    let mut contents = serde_json::to_vec_pretty(state)?;
    contents.push(b'\n');
    Ok(contents)
}

fn parse(path: &Path, contents: &[u8]) -> Result<State, StateError> {
    // The format is read leniently first, so that a newer format is reported as such even when
    // the rest of the file means nothing to this stowage.
    let document: Value = serde_json::from_slice(contents).map_err(|error| StateError::Syntax {
        path: path.to_owned(),
        error,
        backup: Some(backup_path_for(path)),
    })?;
    check_format(path, &document)?;

    // Parsed again from the bytes rather than from `document`, so errors keep their line:column.
    let mut state: State = serde_json::from_slice(contents).map_err(|error| StateError::Invalid {
        path: path.to_owned(),
        error,
        backup: Some(backup_path_for(path)),
    })?;
    // Files edited by hand may be out of order; the model relies on the order.
    state.resources.sort_by(|left, right| left.address.cmp(&right.address));
    check_resources(path, &state.resources)?;
    Ok(state)
}

fn check_format(path: &Path, document: &Value) -> Result<(), StateError> {
    let found = document.get("version");
    match found.and_then(Value::as_u64) {
        None | Some(0) => Err(StateError::InvalidVersion {
            path: path.to_owned(),
            found: found.map(Value::to_string),
            backup: Some(backup_path_for(path)),
        }),
        Some(format) if format > u64::from(FORMAT_VERSION) => Err(StateError::NewerFormat {
            path: path.to_owned(),
            format,
            written_by: document.get("stowage_version").and_then(Value::as_str).map(str::to_owned),
        }),
        Some(_) => Ok(()),
    }
}

/// What the JSON shape cannot say: each address is `TYPE.NAME` for its own type, and unique.
fn check_resources(path: &Path, resources: &[ResourceState]) -> Result<(), StateError> {
    for resource in resources {
        let name =
            resource.address.strip_prefix(resource.resource_type.as_str()).and_then(|rest| rest.strip_prefix('.'));
        if name.is_none_or(str::is_empty) {
            return Err(StateError::AddressTypeMismatch {
                path: path.to_owned(),
                address: resource.address.clone(),
                resource_type: resource.resource_type.clone(),
            });
        }
    }
    let mut addresses: Vec<&str> = resources.iter().map(|resource| resource.address.as_str()).collect();
    addresses.sort_unstable();
    match addresses.windows(2).find(|pair| pair[0] == pair[1]) {
        Some(pair) => Err(StateError::DuplicateAddress { path: path.to_owned(), address: pair[0].to_owned() }),
        None => Ok(()),
    }
}

#[cfg(unix)]
fn sync_directory(directory: &Path) -> io::Result<()> {
    // Makes the renames themselves durable, not only the files' contents.
    fs::File::open(directory)?.sync_all()
}

#[cfg(not(unix))]
fn sync_directory(_directory: &Path) -> io::Result<()> {
    // Directories cannot be opened as files there; the file system journals renames.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_state_is_the_file_and_decodes_back() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let file = LocalStateFile::new(directory.path().join("state.json"));
        let mut state = State::new("dev", "0.1.0");
        state.serial = 3;
        file.overwrite(&state).expect("written");

        let bytes = encode_state(&state).expect("encoded");

        assert_eq!(bytes, fs::read(file.path()).expect("readable"));
        assert_eq!(decode_state(Path::new("s3://bucket/state.json"), &bytes).expect("decoded"), state);
    }
}
