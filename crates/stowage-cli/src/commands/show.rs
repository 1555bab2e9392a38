//! `stowage show FILE`: print a saved plan.

use std::process::ExitCode;

use miette::Report;

use crate::cli::ShowArgs;
use crate::commands::apply::read_saved_plan;
use crate::exit;
use crate::locking::Locking;
use crate::output::render;
use crate::settings::Settings;
use crate::store::StateLocation;

pub async fn run(args: &ShowArgs, settings: &Settings) -> Result<ExitCode, Report> {
    let saved = read_saved_plan(&args.file)?;
    // Shared, on a local state the plan was made against: no apply runs while it is shown. A
    // state in S3 takes no lock for reading, and showing a plan needs no AWS credentials.
    let _lock = match saved.state_path.parse::<StateLocation>() {
        Ok(location @ StateLocation::Local(_)) => {
            let store = crate::store::open(&location, None, None)?;
            Locking::read("show").take(&store, &settings.lock).await?
        }
        _ => None,
    };
    eprintln!(
        "plan made by stowage {} from `{}` against {}",
        saved.stowage_version,
        saved.spec.path,
        match &saved.state {
            Some(state) => format!("state `{}` at serial {}", saved.state_path, state.serial),
            None => format!("no state yet (`{}`)", saved.state_path),
        }
    );
    print!("{}", render(&saved.plan, args.format, settings.human()));
    Ok(exit::OK)
}
