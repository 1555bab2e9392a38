//! A temporary directory to run `stowage` in, and the command that runs it there.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

/// The only variables a `stowage` child inherits from the test's own environment.
const INHERITED_VARIABLES: [&str; 3] = ["PATH", "HOME", "RUST_LOG"];

/// A temporary directory holding a test's spec, state and backup files; removed on drop.
#[derive(Debug)]
pub struct Sandbox {
    directory: TempDir,
}

/// What [`Sandbox::entries`] found at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// A file's contents; none for a directory.
    pub bytes: Vec<u8>,
    /// The permission bits: `0o600` for a private file.
    pub mode: u32,
}

impl Entry {
    /// The contents as text, whatever bytes they hold.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl Sandbox {
    /// # Panics
    /// When no temporary directory can be made.
    pub fn new() -> Sandbox {
        let directory =
            tempfile::tempdir().unwrap_or_else(|error| panic!("could not create a sandbox directory: {error}"));
        Sandbox { directory }
    }

    pub fn path(&self) -> &Path {
        self.directory.path()
    }

    /// Writes a spec file such as `dev.toml` and returns its path.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write_spec(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).unwrap_or_else(|error| panic!("could not write {}: {error}", path.display()));
        path
    }

    /// Where `stowage` keeps the state of spec `name` by default: `dev.toml` ->
    /// `dev.state.json`.
    pub fn state_path(&self, spec_name: &str) -> PathBuf {
        let stem = spec_name.strip_suffix(".toml").unwrap_or(spec_name);
        self.path().join(format!("{stem}.state.json"))
    }

    /// The previous state, kept beside it: `dev.state.json.backup`.
    pub fn backup_path(&self, spec_name: &str) -> PathBuf {
        let mut path = self.state_path(spec_name).into_os_string();
        path.push(".backup");
        PathBuf::from(path)
    }

    /// Everything below the sandbox, by path relative to it: each file, and each directory
    /// (its path ending in `/`) so that a new empty one shows too. What a test compares before
    /// and after a run, or searches for secrets.
    ///
    /// # Panics
    /// When the directory cannot be read.
    pub fn entries(&self) -> BTreeMap<PathBuf, Entry> {
        let mut entries = BTreeMap::new();
        let mut pending = vec![self.path().to_owned()];
        while let Some(directory) = pending.pop() {
            let listing = std::fs::read_dir(&directory)
                .unwrap_or_else(|error| panic!("could not list {}: {error}", directory.display()));
            for entry in listing {
                let path =
                    entry.unwrap_or_else(|error| panic!("could not list {}: {error}", directory.display())).path();
                let relative = path.strip_prefix(self.path()).expect("below the sandbox").to_owned();
                let mode = mode(&path);
                if path.is_dir() {
                    entries.insert(relative.join(""), Entry { bytes: Vec::new(), mode });
                    pending.push(path);
                } else {
                    let bytes = std::fs::read(&path)
                        .unwrap_or_else(|error| panic!("could not read {}: {error}", path.display()));
                    entries.insert(relative, Entry { bytes, mode });
                }
            }
        }
        entries
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let metadata =
        std::fs::metadata(path).unwrap_or_else(|error| panic!("could not read {}'s mode: {error}", path.display()));
    metadata.permissions().mode() & 0o777
}

/// Elsewhere a file has no such bits to compare.
#[cfg(not(unix))]
fn mode(_path: &Path) -> u32 {
    0
}

impl Default for Sandbox {
    fn default() -> Sandbox {
        Sandbox::new()
    }
}

/// A command running the `stowage` binary `binary` inside `sandbox`, with an environment of
/// `PATH`, `HOME`, `RUST_LOG` and `environment` only: a developer's real AWS or Twilio
/// credentials never reach a test. Stdin is empty, as in CI.
pub fn stowage_command<Name, Value>(
    binary: &Path,
    sandbox: &Sandbox,
    environment: impl IntoIterator<Item = (Name, Value)>,
) -> Command
where
    Name: AsRef<OsStr>,
    Value: AsRef<OsStr>,
{
    let mut command = Command::new(binary);
    command.current_dir(sandbox.path()).stdin(Stdio::null()).env_clear();
    for name in INHERITED_VARIABLES {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.envs(environment);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_state_and_backup_paths_sit_side_by_side() {
        let sandbox = Sandbox::new();
        let spec = sandbox.write_spec("dev.toml", "[environment]\nname = \"dev\"\n");

        assert_eq!(std::fs::read_to_string(&spec).unwrap(), "[environment]\nname = \"dev\"\n");
        assert_eq!(spec.parent(), Some(sandbox.path()));
        assert_eq!(sandbox.state_path("dev.toml"), sandbox.path().join("dev.state.json"));
        assert_eq!(sandbox.backup_path("dev.toml"), sandbox.path().join("dev.state.json.backup"));
    }

    #[test]
    fn entries_list_files_with_their_bytes_and_directories_by_a_trailing_slash() {
        let sandbox = Sandbox::new();
        sandbox.write_spec("dev.toml", "text");
        std::fs::create_dir(sandbox.path().join("keys")).unwrap();
        std::fs::write(sandbox.path().join("keys/recordings.pem"), "key").unwrap();

        let entries = sandbox.entries();
        let paths: Vec<String> = entries.keys().map(|path| path.display().to_string()).collect();
        assert_eq!(paths, ["dev.toml", "keys/", "keys/recordings.pem"]);
        assert_eq!(entries[Path::new("keys/recordings.pem")].text(), "key");
        assert!(entries[Path::new("keys/")].bytes.is_empty());
    }

    #[test]
    fn the_sandbox_is_removed_on_drop() {
        let sandbox = Sandbox::new();
        let path = sandbox.path().to_owned();
        sandbox.write_spec("dev.toml", "");
        drop(sandbox);
        assert!(!path.exists());
    }

    #[test]
    fn the_command_sees_only_the_given_environment() {
        let sandbox = Sandbox::new();
        let output =
            stowage_command(Path::new("env"), &sandbox, [("AWS_ACCESS_KEY_ID", "testing"), ("STOWAGE_EXAMPLE", "1")])
                .output()
                .unwrap();

        let mut names: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .filter_map(|line| line.split_once('=').map(|(name, _)| name.to_owned()))
            .collect();
        names.sort();
        let allowed = ["AWS_ACCESS_KEY_ID", "HOME", "PATH", "RUST_LOG", "STOWAGE_EXAMPLE"];
        assert!(names.iter().all(|name| allowed.contains(&name.as_str())), "unexpected variables: {names:?}");
        assert!(names.contains(&"AWS_ACCESS_KEY_ID".to_owned()));
        assert!(names.contains(&"STOWAGE_EXAMPLE".to_owned()));
    }

    #[test]
    fn the_command_runs_inside_the_sandbox() {
        let sandbox = Sandbox::new();
        let output = stowage_command(Path::new("pwd"), &sandbox, Vec::<(String, String)>::new()).output().unwrap();
        let directory = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
        assert_eq!(directory.canonicalize().unwrap(), sandbox.path().canonicalize().unwrap());
    }
}
