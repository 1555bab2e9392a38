//! `stowage force-unlock ID [--state PATH|s3://BUCKET/KEY | SPEC]`: remove the lock of a run
//! that is gone, but only the lock with that id.

use std::process::ExitCode;

use miette::{Report, miette};

use crate::cli::ForceUnlockArgs;
use crate::exit;
use crate::settings::Settings;
use crate::spec_file::load_spec;
use crate::store::{StateLocation, Store};

pub async fn run(args: &ForceUnlockArgs, settings: &Settings) -> Result<ExitCode, Report> {
    let spec = args.spec.as_deref().map(load_spec).transpose()?;
    let location = crate::store::named(args.state.as_ref(), spec.as_ref())?;
    let (holder, removed) = match &location {
        StateLocation::Local(path) => {
            let unlocked = stowage_state::force_unlock(path, &args.id).map_err(|error| miette!("{error}"))?;
            let removed = unlocked.removed.iter().map(|path| format!("`{}`", path.display())).collect();
            (unlocked.holder, removed)
        }
        StateLocation::S3(_) => {
            let aws = super::state::connect_for(spec.as_ref(), settings).await?;
            let Store::S3(store) = crate::store::open(&location, Some(&aws), spec.as_ref().map(|spec| &spec.spec))?
            else {
                unreachable!("an s3:// location opens an S3 store")
            };
            let unlocked = store.force_unlock(&args.id).await.map_err(|error| miette!("{error}"))?;
            let removed = unlocked.removed.iter().map(|path| format!("`{}`", path.display())).collect();
            (unlocked.holder, removed)
        }
    };
    let removed: Vec<String> = removed;
    eprintln!(
        "removed the lock {} of state `{location}`, held by {holder}: removed {}",
        holder.id,
        removed.join(" and ")
    );
    Ok(exit::OK)
}
