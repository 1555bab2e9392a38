//! `stowage validate SPEC`: parse and check, no network. With `--effective`, the spec merged
//! over the bases it `extends` goes to stdout as one TOML file.

use std::process::ExitCode;

use miette::Report;

use crate::cli::ValidateArgs;
use crate::spec_file::load_spec;

pub fn run(args: &ValidateArgs) -> Result<ExitCode, Report> {
    let loaded = load_spec(&args.spec)?;
    for warning in loaded.spec_warnings {
        eprintln!("{:?}", Report::new(warning));
    }
    let valid = format!("{} is valid: environment `{}`", loaded.path.display(), loaded.spec.environment.name.as_str());
    if args.effective {
        // stdout holds the TOML alone, for a pipe or a file.
        eprintln!("{valid}");
        print!("{}", stowage_spec::effective_toml(&loaded.spec.source));
    } else {
        println!("{valid}");
    }
    Ok(ExitCode::SUCCESS)
}
