//! `stowage show FILE`: print a saved plan.

use std::path::Path;
use std::process::ExitCode;

use miette::Report;

use crate::cli::{LockArgs, ShowArgs};
use crate::commands::apply::read_saved_plan;
use crate::exit;
use crate::locking::Locking;
use crate::output::render;

pub fn run(args: &ShowArgs, lock: &LockArgs) -> Result<ExitCode, Report> {
    let saved = read_saved_plan(&args.file)?;
    // Shared, on the state the plan was made against: no apply runs while it is shown.
    let _lock = Locking::read("show", lock).take(Path::new(&saved.state_path))?;
    eprintln!(
        "plan made by stowage {} from `{}` against {}",
        saved.stowage_version,
        saved.spec.path,
        match saved.state {
            Some(state) => format!("state `{}` at serial {}", saved.state_path, state.serial),
            None => format!("no state yet (`{}`)", saved.state_path),
        }
    );
    print!("{}", render(&saved.plan, args.format));
    Ok(exit::OK)
}
