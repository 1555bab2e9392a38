//! `stowage force-unlock ID [--state PATH | SPEC]`: remove the lock of a run that is gone, but
//! only the lock with that id.

use std::process::ExitCode;

use miette::{Report, miette};

use crate::cli::ForceUnlockArgs;
use crate::exit;
use crate::settings::state_path;

pub fn run(args: &ForceUnlockArgs) -> Result<ExitCode, Report> {
    let state = match (&args.state, &args.spec) {
        (Some(state), _) => state.clone(),
        (None, Some(spec)) => state_path(spec, None),
        (None, None) => return Err(miette!("name the state: `--state PATH` or the spec file")),
    };
    let unlocked = stowage_state::force_unlock(&state, &args.id).map_err(|error| miette!("{error}"))?;
    let removed: Vec<String> = unlocked.removed.iter().map(|path| format!("`{}`", path.display())).collect();
    eprintln!(
        "removed the lock {} of state `{}`, held by {}: removed {}",
        unlocked.holder.id,
        state.display(),
        unlocked.holder,
        removed.join(" and ")
    );
    Ok(exit::OK)
}
