//! `stowage validate SPEC`: parse and check, no network.

use std::process::ExitCode;

use miette::Report;

use crate::cli::ValidateArgs;
use crate::spec_file::load_spec;

pub fn run(args: &ValidateArgs) -> Result<ExitCode, Report> {
    let loaded = load_spec(&args.spec)?;
    for warning in loaded.spec_warnings {
        eprintln!("{:?}", Report::new(warning));
    }
    println!("{} is valid: environment `{}`", loaded.path.display(), loaded.spec.environment.name.as_str());
    Ok(ExitCode::SUCCESS)
}
