//! `stowage verify SPEC`: not built yet.

use std::process::ExitCode;

use miette::{Report, miette};

use crate::cli::VerifyArgs;

pub async fn run(_args: &VerifyArgs) -> Result<ExitCode, Report> {
    Err(miette!("`stowage verify` is not built yet"))
}
