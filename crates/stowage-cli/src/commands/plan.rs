//! `stowage plan SPEC`: refresh, plan, show.

use std::process::ExitCode;
use std::sync::Arc;

use miette::Report;
use stowage_plan::render::{HumanOptions, human};

use crate::cli::PlanArgs;
use crate::environment::{Environment, stdout_color};
use crate::exit;
use crate::progress::StderrProgress;

pub async fn run(args: &PlanArgs) -> Result<ExitCode, Report> {
    let environment = Environment::open(&args.common, Arc::new(StderrProgress)).await?;
    let (plan, _observations) = environment.plan().await?;
    print!("{}", human(&plan, HumanOptions { color: stdout_color() }));
    if plan.has_errors() {
        return Ok(exit::ERROR);
    }
    Ok(if args.detailed_exitcode && plan.has_changes() { exit::changes() } else { exit::OK })
}
