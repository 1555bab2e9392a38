//! One module per command, each returning an exit status.

pub mod alerts;
pub mod apply;
pub mod completions;
pub mod destroy;
pub mod drift;
pub mod force_unlock;
pub mod graph;
pub mod import;
pub mod init;
pub mod man;
pub mod plan;
pub mod rotate;
pub mod show;
pub mod state;
pub mod validate;
pub mod verify;

use std::collections::BTreeSet;

use miette::{Report, miette};
use stowage_provider::Address;

/// The addresses of `--replace`, each checked.
pub fn addresses(texts: &[String]) -> Result<BTreeSet<Address>, Report> {
    texts
        .iter()
        .map(|text| {
            text.parse().map_err(|error| {
                miette!(
                    help = "an address is `TYPE.NAME`, as `stowage plan` shows it, e.g. `aws_iam_access_key.uploader`",
                    "--replace {text}: {error}"
                )
            })
        })
        .collect()
}
