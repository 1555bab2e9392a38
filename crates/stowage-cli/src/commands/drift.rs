//! `stowage drift SPEC`: not built yet.

use std::process::ExitCode;

use miette::{Report, miette};

use crate::cli::DriftArgs;

pub async fn run(_args: &DriftArgs) -> Result<ExitCode, Report> {
    Err(miette!("`stowage drift` is not built yet"))
}
