//! `stowage plan SPEC`: refresh, plan, show; with `--out FILE`, save the plan for `apply FILE`.

use std::process::ExitCode;
use std::sync::Arc;

use miette::Report;
use stowage_plan::plan_file::{SavedPlan, SpecFingerprint, StateFingerprint, encode};

use crate::cli::{LockArgs, PlanArgs};
use crate::environment::Environment;
use crate::locking::Locking;
use crate::output::render;
use crate::progress::StderrProgress;
use crate::{exit, files};

pub async fn run(args: &PlanArgs, lock: &LockArgs) -> Result<ExitCode, Report> {
    // A saved plan records the state's serial: no apply may move it while the plan is made.
    let locking = if args.out.is_some() { Locking::write("plan", lock) } else { Locking::read("plan", lock) };
    let environment = Environment::open(&args.spec, None, &args.state, locking, Arc::new(StderrProgress)).await?;
    let (plan, _observations) = environment.plan().await?;
    let plan = if args.refresh_only { plan.refresh_only() } else { plan };
    print!("{}", render(&plan, args.format));
    if plan.has_errors() {
        return Ok(exit::ERROR);
    }
    let has_changes = plan.has_changes();
    if let Some(out) = &args.out {
        let saved = SavedPlan {
            stowage_version: env!("CARGO_PKG_VERSION").to_owned(),
            spec: SpecFingerprint { path: args.spec.display().to_string(), sha256: environment.spec.sha256.clone() },
            state: environment
                .state_existed
                .then_some(StateFingerprint { lineage: environment.state.lineage, serial: environment.state.serial }),
            state_path: environment.state_file.path().display().to_string(),
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
