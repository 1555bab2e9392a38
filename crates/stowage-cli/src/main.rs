//! `stowage`: the binary. The only crate that prints, reads the process environment, or
//! decides exit codes.
//!
//! The shape: `cli` (clap structs) -> `settings` (flags and the process environment, merged
//! once; the only module that reads the environment) -> `commands` (one module per command)
//! -> `session` (one environment opened: spec, locked state, providers) -> the engine.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod commands;
mod exit;
mod files;
mod locking;
mod output;
mod progress;
mod session;
mod settings;
mod spec_file;
mod store;
mod twilio;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, ManArgs};
use crate::settings::Settings;

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|first| first == ManArgs::NAME) {
        return man(std::env::args_os().skip(2));
    }
    // clap's own exit code for a usage error is 2, which stowage reserves for "changes" (a
    // mistyped flag in CI must not read as drift): bad arguments exit 1 like any bad input.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { exit::ERROR } else { exit::OK };
        }
    };
    let settings = Settings::resolve(&cli.lock, cli.detail);
    init_logging(&settings);
    init_diagnostics();
    progress::init(settings.progress);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return exit::ERROR;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Init(args) => commands::init::run(args, &settings).await,
            Command::Validate(args) => commands::validate::run(args),
            Command::Plan(args) => commands::plan::run(args, &settings).await,
            Command::Apply(args) => commands::apply::run(args, &settings).await,
            Command::Rotate(args) => commands::rotate::run(args, &settings).await,
            Command::Destroy(args) => commands::destroy::run(args, &settings).await,
            Command::Show(args) => commands::show::run(args, &settings).await,
            Command::Graph(args) => commands::graph::run(args, &settings).await,
            Command::Drift(args) => commands::drift::run(args, &settings).await,
            Command::Alerts(args) => commands::alerts::run(args, &settings).await,
            Command::Verify(args) => commands::verify::run(args, &settings).await,
            Command::Import(args) => commands::import::run(args, &settings).await,
            Command::State(command) => commands::state::run(command, &settings).await,
            Command::ForceUnlock(args) => commands::force_unlock::run(args, &settings).await,
            Command::Completions(args) => commands::completions::run(args),
        }
    });
    match result {
        Ok(code) => code,
        Err(report) => {
            report_error(&report);
            exit::ERROR
        }
    }
}

/// `stowage __man DIR` (`cargo xtask man`): no settings, logging or runtime needed.
fn man(args: impl Iterator<Item = std::ffi::OsString>) -> ExitCode {
    let args = match ManArgs::try_parse_from(args) {
        Ok(args) => args,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { exit::ERROR } else { exit::OK };
        }
    };
    match commands::man::run(&args) {
        Ok(code) => code,
        Err(report) => {
            report_error(&report);
            exit::ERROR
        }
    }
}

/// The error of a failed command, on stderr; nothing (not a panic) when stderr is gone, as
/// when its terminal was closed.
fn report_error(report: &miette::Report) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{report:?}");
}

/// Diagnostics keep their lines whole off a terminal, so CI logs can be searched and copied.
fn init_diagnostics() {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let _ =
        miette::set_hook(Box::new(move |_| Box::new(miette::MietteHandlerOpts::new().wrap_lines(terminal).build())));
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings only), coloured only on a
/// terminal and never with `NO_COLOR`.
fn init_logging(settings: &Settings) {
    let filter = settings
        .log_filter
        .as_deref()
        .and_then(|filter| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(settings.color.stderr)
        .with_target(false)
        .init();
}
