//! `stowage completions SHELL`: the shell's completion script, from the clap command itself,
//! on standard output.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;
use miette::{Report, miette};

use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: &CompletionsArgs) -> Result<ExitCode, Report> {
    let mut command = Cli::command();
    // Rendered whole first: clap_complete panics on a write error, and `| head` is a fine use.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "stowage", &mut script);
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // The reader had what it wanted (`stowage completions bash | head`).
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(error) => Err(miette!("could not write the completion script: {error}")),
    }
}
