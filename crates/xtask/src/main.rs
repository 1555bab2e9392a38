//! Developer tasks, so that a fresh machine with only Rust and Python needs exactly two
//! commands: `cargo xtask demo` and `cargo xtask test`.
//!
//! Both install `moto[server]==5.2.1` into a project-local virtual environment
//! (`target/tools/moto`) the first time, so nothing is installed system-wide.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const MOTO: &str = "moto[server]==5.2.1";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("bench") => bench(),
        Some("moto") => moto_server().map(|path| println!("{}", path.display())),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 demo    run moto and the Twilio emulator locally, then plan, apply, and plan again\n  \
                 test    run every test of the workspace (installs moto first)\n  \
                 bench   time a no-op plan of the example environment and count its API calls\n  \
                 moto    install moto if needed and print the path of `moto_server`"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map(Path::to_path_buf).unwrap_or_default()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command.status().map_err(|error| format!("could not run {command:?}: {error}"))?;
    if status.success() { Ok(()) } else { Err(format!("{command:?} failed with {status}")) }
}

/// `moto_server` from the project venv, installing it the first time. `STOWAGE_MOTO_SERVER`
/// overrides.
fn moto_server() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("STOWAGE_MOTO_SERVER") {
        return Ok(PathBuf::from(path));
    }
    let venv = target_dir().join("tools").join("moto");
    let server = venv.join("bin").join("moto_server");
    let marker = venv.join("installed-moto-5.2.1");
    if server.exists() && marker.exists() {
        return Ok(server);
    }
    eprintln!("xtask: installing {MOTO} into {}", venv.display());
    let python = ["python3", "python"]
        .into_iter()
        .find(|python| Command::new(python).arg("--version").output().is_ok_and(|output| output.status.success()))
        .ok_or("no `python3` on PATH: install Python 3.9 or newer")?;
    run(Command::new(python).args(["-m", "venv"]).arg(&venv))
        .map_err(|error| format!("{error}\nhint: on Debian/Ubuntu, `apt-get install python3-venv`"))?;
    let pip = venv.join("bin").join("pip");
    run(Command::new(&pip).args(["install", "--quiet", "--disable-pip-version-check", MOTO]))?;
    std::fs::write(&marker, MOTO).map_err(|error| format!("could not write {}: {error}", marker.display()))?;
    Ok(server)
}

fn test(extra: &[String]) -> Result<(), String> {
    let server = moto_server()?;
    // nextest runs tests in parallel processes and reports slow ones; plain cargo test otherwise.
    let nextest = cargo().args(["nextest", "--version"]).output().is_ok_and(|output| output.status.success());
    let mut command = cargo();
    if nextest {
        command.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        command.args(["test", "--workspace", "--no-fail-fast"]);
    }
    command.args(extra).env("STOWAGE_MOTO_SERVER", &server);
    run(&mut command)?;
    if nextest {
        // nextest does not run doctests.
        run(cargo().args(["test", "--workspace", "--doc"]).env("STOWAGE_MOTO_SERVER", &server))?;
    }
    Ok(())
}

fn demo(extra: &[String]) -> Result<(), String> {
    let server = moto_server()?;
    // `--bins` too: `--example` alone would build only the demo, not the `stowage` it runs.
    run(cargo().args([
        "build",
        "--quiet",
        "--package",
        "stowage-cli",
        "--package",
        "stowage-test-support",
        "--bins",
        "--example",
        "demo",
    ]))?;
    let mut command = Command::new(target_dir().join("debug").join("examples").join("demo"));
    command.args(extra).env("STOWAGE_MOTO_SERVER", &server).env("STOWAGE_BIN_DIR", target_dir().join("debug"));
    run(&mut command)
}

fn bench() -> Result<(), String> {
    let server = moto_server()?;
    run(cargo().args(["bench", "--package", "stowage-cli", "--bench", "noop_plan"]).env("STOWAGE_MOTO_SERVER", &server))
}
