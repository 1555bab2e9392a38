//! `stowage verify SPEC`: read-only checks of what Twilio would otherwise report only after
//! recordings are lost, each naming the Twilio error it prevents.
//!
//! Exit 0 when every check passes (warnings do not fail), 2 when any check fails, 1 when
//! something could not be read or a check could not decide (and nothing failed). Nothing is
//! written: not AWS, not Twilio, not the state.

use std::process::ExitCode;
use std::sync::Arc;

use miette::Report;
use stowage_aws::inspect;
use stowage_plan::verify::{
    Expected, Inspections, Outcome, outcome, render_human, render_json, test_file_locations, verify,
};

use crate::cli::{LockArgs, ReportFormat, VerifyArgs};
use crate::environment::Environment;
use crate::exit;
use crate::locking::Locking;
use crate::progress::StderrProgress;

pub async fn run(args: &VerifyArgs, lock: &LockArgs) -> Result<ExitCode, Report> {
    let environment =
        Environment::open(&args.spec, None, &args.state, Locking::read("verify", lock), Arc::new(StderrProgress))
            .await?;
    let (_plan, observations) = environment.plan().await?;
    let expected = Expected::from_spec(&environment.spec.spec);

    let mut inspections = Inspections::default();
    for location in test_file_locations(&expected, &observations) {
        let found = inspect::text_files_under(&environment.aws, &location.bucket, &location.prefix).await;
        inspections.test_files.insert(location.kind, found.map_err(|error| error.to_string()));
    }

    let findings = verify(&expected, &observations, &inspections);
    match args.format {
        ReportFormat::Human => print!("{}", render_human(&findings)),
        ReportFormat::Json => {
            let text = serde_json::to_string_pretty(&render_json(&findings)).unwrap_or_default();
            println!("{text}");
        }
    }
    Ok(match outcome(&findings) {
        Outcome::Passed => exit::OK,
        Outcome::Findings => exit::changes(),
        Outcome::Incomplete => exit::ERROR,
    })
}
