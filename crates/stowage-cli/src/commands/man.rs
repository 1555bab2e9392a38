//! `stowage __man DIR` (internal, see [`ManArgs`]; `cargo xtask man` runs it): the man pages,
//! `stowage.1` and one per subcommand (`stowage-plan.1`, `stowage-state-list.1`, ...), rendered
//! from the clap command itself, so they cannot disagree with `--help`.

use std::process::ExitCode;

use clap::CommandFactory;
use miette::{Report, miette};

use crate::cli::{Cli, ManArgs};

pub fn run(args: &ManArgs) -> Result<ExitCode, Report> {
    std::fs::create_dir_all(&args.dir)
        .map_err(|error| miette!("could not make the directory {}: {error}", args.dir.display()))?;
    clap_mangen::generate_to(Cli::command(), &args.dir)
        .map_err(|error| miette!("could not write the man pages into {}: {error}", args.dir.display()))?;
    Ok(ExitCode::SUCCESS)
}
