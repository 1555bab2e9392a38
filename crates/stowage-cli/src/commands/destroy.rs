//! `stowage destroy SPEC`: take the environment down without losing a recording. The destroy
//! plan (`stowage_plan::destroy`), shown and confirmed like apply's, applied by the same
//! engine: storage switched off first, then the credential, the public keys, the access key,
//! the policy and the user deleted; a bucket holding recordings kept with its KMS key, and
//! dropped from the state. `plan SPEC --destroy --out FILE` makes the same plan for review.

use std::process::ExitCode;

use miette::Report;

use crate::cli::DestroyArgs;
use crate::commands::apply::{Planning, plan_and_apply};
use crate::locking::Locking;
use crate::session::Session;
use crate::settings::{Settings, StateSettings};
use crate::spec_file::{LoadedSpec, load_spec};

pub async fn run(args: &DestroyArgs, settings: &Settings) -> Result<ExitCode, Report> {
    let spec = load_spec(&args.spec)?;
    refuse_if_prevented(&spec)?;
    let state = StateSettings::resolve(&args.state, None);
    let mut session = Session::open_loaded(settings, spec, state, Locking::write("destroy")).await?;
    plan_and_apply(&mut session, Planning::Destroy, args.auto_approve, settings).await
}

/// `[environment] prevent_destroy = true` refuses a destroy (and its plan) before the state is
/// locked or any service is called, pointing at the setting.
pub fn refuse_if_prevented(spec: &LoadedSpec) -> Result<(), Report> {
    if !spec.spec.environment.prevent_destroy {
        return Ok(());
    }
    let path = stowage_spec::KeyPath::root().key("environment").key("prevent_destroy");
    let span = spec.spec.source.nearest_span(&path);
    let diagnostic = stowage_spec::Diagnostic::error(
        &spec.spec.source,
        format!(
            "environment `{}` cannot be destroyed: its spec sets `prevent_destroy = true`; nothing was read or changed",
            spec.spec.environment.name
        ),
    )
    .with_label(span, Some("destroy is refused while this is true".to_owned()))
    .with_help(
        "if the environment must really go, set `prevent_destroy = false` in a reviewed change to the spec, then run \
         `stowage destroy` again",
    );
    Err(Report::new(diagnostic))
}
