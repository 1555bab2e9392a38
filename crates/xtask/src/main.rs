//! Developer tasks, so that a fresh machine with only Rust and Python needs exactly two
//! commands: `cargo xtask demo` and `cargo xtask test`.
//!
//! Both install `moto[server]==5.2.1` into a project-local virtual environment
//! (`target/tools/moto`) the first time, so nothing is installed system-wide.
//!
//! `cargo xtask test` (the README's test command, and so CI's) ends with `bench --quick` on the
//! debug build the tests made, so the benchmark cannot rot unnoticed. `XTASK_DRY_RUN=1` prints
//! the commands a task would run instead of running them (for `crates/xtask/tests`).
#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(clippy::disallowed_methods, reason = "a developer tool: cargo hands it its settings in the environment")]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const MOTO: &str = "moto[server]==5.2.1";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("man") => man(&args[1..]),
        Some("moto") => moto_server().map(|path| println!("{}", path.display())),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 demo    run moto and the Twilio emulator locally, then plan, apply, and plan again\n  \
                 test    run every test of the workspace (installs moto first), then `bench --quick`\n          \
                 (the bench is left out when arguments narrow the test run)\n  \
                 bench   wall time, API calls (as the proxy and the emulator saw them) and peak memory\n          \
                 of a no-op plan and a fresh apply of the examples, then of fleets of up to 1,000\n          \
                 subaccounts (state bytes written too), on the release build;\n          \
                 `--quick`: a few runs on the debug build, as CI runs it\n  \
                 moto    install moto if needed and print the path of `moto_server`\n  \
                 man     the man pages, `stowage.1` and one per subcommand, into target/man"
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
    // `cargo xtask` runs this process with xtask's own package variables (`CARGO_PKG_NAME`,
    // `CARGO_MANIFEST_DIR`, ...). Build scripts that rerun when those change (ring's does) would
    // then see other values than under a plain `cargo build`, and rebuild ring and everything
    // above it, the AWS SDK included, on every switch: minutes on 2 cores. The nested cargo
    // sets them itself for what it runs.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || ["CARGO_CRATE_NAME", "CARGO_BIN_NAME", "CARGO_PRIMARY_PACKAGE"].contains(&name.as_ref())
        {
            command.env_remove(name.as_ref());
        }
    }
    command
}

fn run(command: &mut Command) -> Result<(), String> {
    if std::env::var_os("XTASK_DRY_RUN").is_some() {
        println!("{command:?}");
        return Ok(());
    }
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
    // The whole run (the README's command, CI's) also runs the benchmark, quickly, on the
    // debug build just made: it costs seconds, and a bench nobody runs rots. A run narrowed by
    // arguments is someone after a few tests: no bench.
    if extra.is_empty() {
        bench(&["--quick".to_owned()])?;
    }
    Ok(())
}

/// `man`: the man pages into `target/man` (docs/install.md says how to read or install them).
/// The debug `stowage` renders them from its own clap command (`stowage __man DIR`), so xtask
/// depends on none of stowage's crates: it still builds in seconds, and the workspace's
/// dependency rules need no exception for it.
fn man(args: &[String]) -> Result<(), String> {
    if let Some(other) = args.first() {
        return Err(format!("man: unexpected argument `{other}` (usage: cargo xtask man)"));
    }
    // `--workspace`: the features the tests' build resolved, so nothing is rebuilt.
    run(cargo().args(["build", "--quiet", "--workspace", "--bin", "stowage"]))?;
    let dir = target_dir().join("man");
    // Pages of subcommands that are gone go too.
    if dir.exists() && std::env::var_os("XTASK_DRY_RUN").is_none() {
        std::fs::remove_dir_all(&dir).map_err(|error| format!("could not empty {}: {error}", dir.display()))?;
    }
    run(Command::new(target_dir().join("debug").join("stowage")).arg("__man").arg(&dir))?;
    eprintln!(
        "xtask: wrote the man pages into {}; read one with `man -l {}`",
        dir.display(),
        dir.join("stowage.1").display()
    );
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

/// `bench [--quick]`: `crates/stowage-cli/benches/noop_plan.rs`, then `fleet.rs`. The full bench
/// measures the release build; `--quick` the debug build (`--profile dev`), which the tests have
/// already built, so CI pays for compiling the bench targets alone, not a release build of
/// everything.
fn bench(args: &[String]) -> Result<(), String> {
    let mut quick = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            other => return Err(format!("bench: unexpected argument `{other}` (usage: cargo xtask bench [--quick])")),
        }
    }
    let server = moto_server()?;
    // One after the other, never at once: each measures wall time on a machine of its own.
    for bench in BENCHES {
        let mut command = cargo();
        // `--workspace`: the features the tests' build resolved, so nothing is rebuilt for the bench.
        command.args(["bench", "--workspace", "--bench", bench]);
        if quick {
            command.args(["--profile", "dev", "--", "--quick"]);
        }
        run(command.env("STOWAGE_MOTO_SERVER", &server))?;
    }
    Ok(())
}

/// The benches of `crates/stowage-cli/benches`, in the order `bench` runs them.
const BENCHES: [&str; 2] = ["noop_plan", "fleet"];
