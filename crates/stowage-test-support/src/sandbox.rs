//! A temporary directory to run `stowage` in, and the command that runs it there.

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
