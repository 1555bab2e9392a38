//! `stowage show FILE`: print a saved plan.

use std::process::ExitCode;

use miette::Report;

use crate::cli::ShowArgs;
use crate::commands::apply::read_saved_plan;
use crate::exit;
use crate::locking::Locking;
use crate::output::render;
use crate::session::Store;
use crate::settings::Settings;

pub async fn run(args: &ShowArgs, settings: &Settings) -> Result<ExitCode, Report> {
    let saved = read_saved_plan(&args.file)?;
    // Shared, on the state the plan was made against: no apply runs while it is shown.
    let store = Store::new(&saved.state_path);
    let _lock = Locking::read("show").take(&store, &settings.lock).await?;
    eprintln!(
        "plan made by stowage {} from `{}` against {}",
        saved.stowage_version,
        saved.spec.path,
        match saved.state {
            Some(state) => format!("state `{}` at serial {}", saved.state_path, state.serial),
            None => format!("no state yet (`{}`)", saved.state_path),
        }
    );
    print!("{}", render(&saved.plan, args.format, settings.color.stdout));
    Ok(exit::OK)
}
