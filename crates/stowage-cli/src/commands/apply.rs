//! `stowage apply SPEC`: plan, confirm, apply, record.
//! `stowage apply FILE`: apply exactly a saved plan, refusing it when anything moved since.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use miette::{IntoDiagnostic, Report, miette};
use stowage_engine::ApplyError;
use stowage_plan::plan_file::{PlanFileError, SavedPlan, StateFingerprint, decode, looks_like_plan};
use stowage_plan::render::human;
use stowage_plan::{Observations, Plan};
use stowage_provider::Address;

use crate::cli::ApplyArgs;
use crate::exit;
use crate::locking::Locking;
use crate::progress::seconds;
use crate::session::Session;
use crate::settings::{Settings, StateSettings};

pub async fn run(args: &ApplyArgs, settings: &Settings) -> Result<ExitCode, Report> {
    let bytes = std::fs::read(&args.target).map_err(|error| {
        miette!(
            help = "pass a spec (`.toml`) or a plan saved with `stowage plan SPEC --out FILE`",
            "could not read `{}`: {error}",
            args.target.display()
        )
    })?;
    if looks_like_plan(&bytes) {
        if !args.replace.is_empty() {
            return Err(miette!(
                help = format!(
                    "make a plan with the replacement, `stowage plan SPEC --replace ADDRESS --out {}`, and apply that",
                    args.target.display()
                ),
                "a saved plan is applied exactly as it was reviewed: `--replace` cannot change it"
            ));
        }
        return apply_saved(args, settings, &bytes).await;
    }

    let replace = super::addresses(&args.replace)?;
    let state = StateSettings::resolve(&args.state, None);
    let mut session = Session::open(settings, &args.target, state, Locking::write("apply")).await?;
    plan_and_apply(&mut session, Planning::Apply { replace: &replace }, args.auto_approve, settings).await
}

/// Which plan [`plan_and_apply`] makes.
#[derive(Debug, Clone, Copy)]
pub enum Planning<'a> {
    /// The spec's, replacing `replace`: `apply SPEC`, `rotate SPEC`.
    Apply { replace: &'a BTreeSet<Address> },
    /// The environment's destroy: `destroy SPEC`.
    Destroy,
}

/// Plan, show, confirm unless `auto_approve`, apply: `apply SPEC`, `rotate SPEC` and
/// `destroy SPEC`.
pub async fn plan_and_apply(
    session: &mut Session,
    planning: Planning<'_>,
    auto_approve: bool,
    settings: &Settings,
) -> Result<ExitCode, Report> {
    let (plan, observations) = match planning {
        Planning::Apply { replace } => session.plan_replacing(replace).await?,
        Planning::Destroy => session.plan_destroy().await?,
    };
    print!("{}", human(&plan, settings.human()));
    if plan.has_errors() {
        return Ok(exit::ERROR);
    }
    if matches!(planning, Planning::Destroy) && !plan.has_changes() {
        return Ok(exit::OK);
    }
    if !plan.has_changes() {
        // Nothing to change, but the state may still hold values the spec was edited to stop
        // wanting, or intents of an interrupted apply that left nothing: the engine records
        // reality, so drift stops reporting a change everyone accepted.
        if session.record_unchanged(&plan, &observations).await? {
            eprintln!("recorded in the state the changes made outside stowage that the spec now matches");
        }
        return Ok(exit::OK);
    }
    let (what, command) = match planning {
        Planning::Apply { .. } => ("perform these actions", "apply"),
        Planning::Destroy => ("destroy these objects", "destroy"),
    };
    if !auto_approve && !crate::output::confirmed(what, command, "the plan")? {
        eprintln!("{command} cancelled: nothing was changed");
        return Ok(exit::ERROR);
    }
    execute(session, &plan, Some(&observations)).await
}

/// Read and check a saved plan file.
pub fn read_saved_plan(path: &Path) -> Result<SavedPlan, Report> {
    let bytes = std::fs::read(path).map_err(|error| miette!("could not read `{}`: {error}", path.display()))?;
    decode(&bytes).map_err(|error| {
        let help = match error {
            // Most likely the spec itself, given where its saved plan belongs.
            PlanFileError::NotAPlan => format!(
                "`show` prints a plan saved with `stowage plan SPEC --out FILE`; if `{0}` is a spec, see what it would change with `stowage plan {0}`",
                path.display()
            ),
            _ => "make a new plan with `stowage plan SPEC --out FILE`".to_owned(),
        };
        miette!(help = help, "cannot use the saved plan `{}`: {error}", path.display())
    })
}

async fn apply_saved(args: &ApplyArgs, settings: &Settings, bytes: &[u8]) -> Result<ExitCode, Report> {
    let saved = decode(bytes).map_err(|error| {
        miette!(
            help = "make a new plan with `stowage plan SPEC --out FILE`",
            "cannot use the saved plan `{}`: {error}",
            args.target.display()
        )
    })?;
    let spec_path = PathBuf::from(&saved.spec.path);
    // Locked before the state is read, so the staleness check below holds until apply is done.
    let recorded = saved
        .state_path
        .parse()
        .map_err(|error| miette!("saved plan `{}` names a state stowage cannot use: {error}", args.target.display()))?;
    let state = StateSettings::resolve(&args.state, Some(recorded));
    let mut session = Session::open(settings, &spec_path, state, Locking::write("apply")).await?;
    if saved.plan.mode == stowage_plan::PlanMode::Destroy {
        super::destroy::refuse_if_prevented(&session.spec)?;
    }
    check_applicable(&session, &saved, &args.target).await?;

    print!("{}", human(&saved.plan, settings.human()));
    if !saved.plan.has_changes() {
        return Ok(exit::OK);
    }
    if saved.plan.mode == stowage_plan::PlanMode::RefreshOnly {
        let recorded = session.record_refreshed(&saved.plan).await?;
        println!(
            "\nRecorded {recorded} change(s) made outside stowage in the state. State: {} (serial {}).",
            session.state_location(),
            session.state().serial
        );
        return Ok(exit::OK);
    }
    execute(&mut session, &saved.plan, None).await
}

/// A saved plan applies only to what it was made against: the same spec, the state at the same
/// serial, and the resources it touches as they were (read again now: if any of them moved,
/// nobody reviewed that); and only without errors. `path` is the plan file's.
async fn check_applicable(session: &Session, saved: &SavedPlan, path: &Path) -> Result<(), Report> {
    let path = path.display();
    let stale = |why: String| {
        miette!(
            help = format!(
                "nothing was changed; make a new plan with `stowage plan {} --out {path}`, review it, and apply that",
                saved.spec.path
            ),
            "saved plan `{path}` is stale: {why}"
        )
    };
    if session.spec.sha256 != saved.spec.sha256 {
        return Err(stale(format!("the spec `{}` changed since the plan was made", saved.spec.path)));
    }
    let state_now = session.fingerprint();
    if state_now != saved.state {
        let describe = |state: Option<StateFingerprint>| match state {
            Some(StateFingerprint { serial, lineage, version: Some(version) }) => {
                format!("serial {serial} of lineage {lineage} (object version {version})")
            }
            Some(state) => format!("serial {} of lineage {}", state.serial, state.lineage),
            None => "no state".to_owned(),
        };
        return Err(stale(format!(
            "the state `{}` is at {}, the plan was made against {}",
            session.state_location(),
            describe(state_now),
            describe(saved.state.clone())
        )));
    }
    if saved.plan.has_errors() {
        return Err(miette!("saved plan `{path}` has errors and cannot be applied"));
    }

    let touched: Vec<_> =
        saved.plan.changes.iter().filter(|change| change.is_change()).map(|change| &change.address).collect();
    let targets: Vec<_> =
        session.read_targets().into_iter().filter(|target| touched.contains(&&target.address)).collect();
    let observed = session.read(&targets).await?;
    let moved = stowage_plan::changed_since(&saved.plan, &observed);
    if !moved.is_empty() {
        let names: Vec<String> = moved.iter().map(|address| format!("`{address}`")).collect();
        return Err(stale(format!("{} changed outside stowage since the plan was made", names.join(", "))));
    }
    Ok(())
}

/// Apply a plan and report how it went. `observations` are what a plan made just now was made
/// from (see [`Session::apply`]).
async fn execute(session: &mut Session, plan: &Plan, observations: Option<&Observations>) -> Result<ExitCode, Report> {
    let started = Instant::now();
    let result = session.apply(plan, observations).await;
    let state_path = session.state_location();
    match result {
        Ok(outcome) => {
            let summary = plan.summary();
            let serial = session.state().serial;
            let took = seconds(started.elapsed());
            if plan.mode == stowage_plan::PlanMode::Destroy {
                println!(
                    "\nDestroy complete: {} destroyed, {} kept in {took}. State: {state_path} (serial {serial}).",
                    summary.destroy, summary.keep
                );
                for kept in plan.changes.iter().filter(|change| change.keeps()) {
                    let noun = kept.address.resource_type.schema().noun;
                    let id = kept.prior_id.as_deref().unwrap_or_default();
                    let why = kept.reason.as_ref().map(ToString::to_string).unwrap_or_default();
                    println!("kept {noun} `{id}`: {why}");
                }
            } else {
                println!(
                    "\nApply complete: {} added, {} changed, {} destroyed in {took}. State: {state_path} (serial {serial}).",
                    summary.add, summary.change, summary.destroy,
                );
            }
            for address in outcome.tainted {
                eprintln!("warning: {address} will be replaced on the next apply: its secret never reached Twilio");
            }
            Ok(exit::OK)
        }
        Err(ApplyError::Steps { failures, completed }) => {
            let details: Vec<String> = failures
                .iter()
                .map(|(address, error)| {
                    let hint = error.hint.as_ref().map(|hint| format!("\n    hint: {hint}")).unwrap_or_default();
                    format!("  {address}: {error}{hint}")
                })
                .collect();
            // A fleet's failures, member by member: the others went on.
            let members: std::collections::BTreeSet<&str> =
                failures.iter().filter_map(|(address, _)| address.key.as_deref()).collect();
            let members = if members.is_empty() {
                String::new()
            } else {
                let listed: Vec<&str> = members.into_iter().collect();
                format!("\nfailed subaccounts ({}): {}", listed.len(), listed.join(", "))
            };
            Err(miette!(
                help = format!(
                    "{completed} step(s) completed and are recorded in `{state_path}`; fix the cause and run apply again: it continues from there"
                ),
                "apply failed:\n{}{members}",
                details.join("\n")
            ))
        }
        Err(ApplyError::State(error)) => Err(unstored(session, &error)),
        Err(error) => Err(error).into_diagnostic(),
    }
}

/// The state could not be stored (it changed under this run: the lock was forced away and
/// someone wrote; or the store failed): what this run holds, every step it completed, goes to
/// `errored.state.json` beside the spec, and the report says how to reconcile.
fn unstored(session: &Session, error: &stowage_state::StateError) -> Report {
    let errored = session.errored_state_path();
    let spec = session.spec.path.display();
    let saved = stowage_engine::state_ops::save_errored(session.state(), &errored);
    let kept = match saved {
        Ok(()) => format!(
            "the state this run holds, with every step it completed, is in `{}` (readable by you only)",
            errored.display()
        ),
        Err(save_error) => format!("and it could not be kept in `{}` either: {save_error}", errored.display()),
    };
    miette!(
        help = format!(
            "no further step was started. Compare with what is stored: `stowage state pull --spec {spec}`. If `{0}` \
             is what should be stored, `stowage state push {0} --spec {spec}` (it is refused if the stored state \
             moved on since; `--force` then, once you are sure nothing recorded there is lost). Then plan again.",
            errored.display()
        ),
        "apply could not store the state `{}`: {error}\n{kept}",
        session.state_location()
    )
}
