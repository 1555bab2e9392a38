//! The command line, as clap structs only. Meaning is worked out in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// stowage: Twilio Video recordings and compositions stored in your own S3 bucket, declared in
/// a spec file, planned, applied and checked for drift.
#[derive(Debug, Parser)]
#[command(name = "stowage", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check a spec, without any network call.
    Validate(ValidateArgs),
    /// Compare the spec with AWS, Twilio and the state, and show what apply would change.
    Plan(PlanArgs),
    /// Make reality match the spec, and record it in the state.
    Apply(ApplyArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The environment's spec file (TOML).
    pub spec: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// The environment's spec file (TOML).
    pub spec: PathBuf,

    /// The state file [default: the spec's path with `.state.json` in place of `.toml`].
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// How many API calls run at the same time.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Exit 0 when there is nothing to change, 2 when there are changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Apply without asking. Required when standard input is not a terminal.
    #[arg(long)]
    pub auto_approve: bool,
}
