//! `stowage plan SPEC`: refresh, plan, show; with `--out FILE`, save the plan for `apply FILE`.
//! With `--destroy`, the plan is the environment's destroy (`stowage destroy`'s).

use std::process::ExitCode;

use miette::Report;
use stowage_plan::plan_file::{SavedPlan, SpecFingerprint, encode};

use crate::cli::PlanArgs;
use crate::locking::Locking;
use crate::output::render;
use crate::session::Session;
use crate::settings::{Settings, StateSettings};
use crate::spec_file::load_spec;
use crate::{exit, files};

pub async fn run(args: &PlanArgs, settings: &Settings) -> Result<ExitCode, Report> {
    // A saved plan records the state's serial: no apply may move it while the plan is made.
    let locking = if args.out.is_some() { Locking::write("plan") } else { Locking::read("plan") };
    let spec = load_spec(&args.spec)?;
    if args.destroy {
        super::destroy::refuse_if_prevented(&spec)?;
    }
    let replace = super::addresses(&args.replace)?;
    let state = StateSettings::resolve(&args.state, None);
    let session = Session::open_loaded(settings, spec, state, locking).await?;
    let (plan, _observations) =
        if args.destroy { session.plan_destroy().await? } else { session.plan_replacing(&replace).await? };
    let plan = if args.refresh_only { plan.refresh_only() } else { plan };
    print!("{}", render(&plan, args.format, settings.human()));
    if plan.has_errors() {
        return Ok(exit::ERROR);
    }
    let has_changes = plan.has_changes();
    if let Some(out) = &args.out {
        let saved = SavedPlan {
            stowage_version: env!("CARGO_PKG_VERSION").to_owned(),
            spec: SpecFingerprint { path: args.spec.display().to_string(), sha256: session.spec.sha256.clone() },
            state: session.fingerprint(),
            state_path: session.state_location(),
            plan,
        };
        files::write_private(out, &encode(&saved))?;
        eprintln!(
            "saved the plan to `{}`: apply exactly this plan with `stowage apply {}`",
            out.display(),
            out.display()
        );
    }
    Ok(if args.detailed_exitcode && has_changes { exit::changes() } else { exit::OK })
}
