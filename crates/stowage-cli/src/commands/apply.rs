//! `stowage apply SPEC`: plan, confirm, apply, record.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use miette::{IntoDiagnostic, Report, miette};
use stowage_engine::ApplyError;
use stowage_plan::render::{HumanOptions, human};

use crate::cli::ApplyArgs;
use crate::environment::{Environment, stdout_color};
use crate::exit;
use crate::progress::{StderrProgress, seconds};

pub async fn run(args: &ApplyArgs) -> Result<ExitCode, Report> {
    let mut environment = Environment::open(&args.common, Arc::new(StderrProgress)).await?;
    let (plan, _observations) = environment.plan().await?;
    print!("{}", human(&plan, HumanOptions { color: stdout_color() }));
    if plan.has_errors() {
        return Ok(exit::ERROR);
    }
    if !plan.has_changes() {
        return Ok(exit::OK);
    }
    if !args.auto_approve && !confirmed()? {
        eprintln!("apply cancelled: nothing was changed");
        return Ok(exit::ERROR);
    }

    let started = Instant::now();
    let result = stowage_engine::apply(&environment.engine, &plan, &mut environment.state, &environment.state_file).await;
    let state_path = environment.state_file.path().display().to_string();
    match result {
        Ok(outcome) => {
            let summary = plan.summary();
            println!(
                "\nApply complete: {} added, {} changed, {} destroyed in {}. State: {state_path} (serial {}).",
                summary.add,
                summary.change,
                summary.destroy,
                seconds(started.elapsed()),
                environment.state.serial
            );
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
            Err(miette!(
                help = format!(
                    "{completed} step(s) completed and are recorded in `{state_path}`; fix the cause and run apply again: it continues from there"
                ),
                "apply failed:\n{}",
                details.join("\n")
            ))
        }
        Err(error) => Err(error).into_diagnostic(),
    }
}

/// Ask on a terminal; refuse when standard input is not one.
fn confirmed() -> Result<bool, Report> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(miette!(
            help = "pass `--auto-approve` to apply without asking (e.g. in CI), after reviewing the plan",
            "standard input is not a terminal, so apply cannot ask for confirmation"
        ));
    }
    eprint!("\nDo you want to perform these actions? Only `yes` is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(|error| miette!("could not read the answer: {error}"))?;
    Ok(answer.trim() == "yes")
}
