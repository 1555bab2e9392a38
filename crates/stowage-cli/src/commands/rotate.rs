//! `stowage rotate SPEC`: replace the access key Twilio writes with, and Twilio's credential
//! made from it, now. The same plan and apply as `apply SPEC --replace` of each key the spec
//! has (every type whose schema says it rotates), so the order is apply's: new key, write test
//! with it under every prefix, new credential, both settings repointed, then the old
//! credential and the old key deleted.

use std::collections::BTreeSet;
use std::process::ExitCode;

use miette::{Report, miette};
use stowage_provider::Address;

use crate::cli::RotateArgs;
use crate::locking::Locking;
use crate::session::Session;
use crate::settings::{Settings, StateSettings};

pub async fn run(args: &RotateArgs, settings: &Settings) -> Result<ExitCode, Report> {
    let state = StateSettings::resolve(&args.state, None);
    let mut session = Session::open(settings, &args.spec, state, Locking::write("rotate")).await?;
    let keys: BTreeSet<Address> = session
        .desired()
        .iter()
        .filter(|resource| resource.address.resource_type.schema().rotation.is_some())
        .map(|resource| resource.address.clone())
        .collect();
    if keys.is_empty() {
        return Err(miette!(
            help = "an access key exists only with `[uploader]`, when Twilio stores in the bucket",
            "`{}` has no access key to rotate",
            args.spec.display()
        ));
    }
    super::apply::plan_and_apply(
        &mut session,
        super::apply::Planning::Apply { replace: &keys },
        args.auto_approve,
        settings,
    )
    .await
}
