//! `stowage verify SPEC`: read-only checks of what Twilio would otherwise report only after
//! recordings are lost, each naming the Twilio error it prevents.
//!
//! Exit 0 when every check passes (warnings, such as a key due for rotation, do not fail), 2
//! when any check fails, 1 when something could not be read or a check could not decide (and
//! nothing failed). Nothing is written: not AWS, not Twilio, not the state.

use std::process::ExitCode;

use miette::Report;
use stowage_aws::inspect;
use stowage_plan::rotation::key_ages;
use stowage_plan::verify::{
    Expected, Inspections, Outcome, outcome, render_human, render_json, test_file_locations, verify,
};

use crate::cli::{ReportFormat, VerifyArgs};
use crate::exit;
use crate::locking::Locking;
use crate::session::Session;
use crate::settings::{Settings, StateSettings};

pub async fn run(args: &VerifyArgs, settings: &Settings) -> Result<ExitCode, Report> {
    let state = StateSettings::resolve(&args.state, None);
    let session = Session::open(settings, &args.spec, state, Locking::read("verify")).await?;
    let (plan, observations) = session.plan().await?;
    let (findings, key_age) = findings(&session, &plan, &observations).await;
    super::alerts::mention_recent(settings, &session).await;
    match args.format {
        ReportFormat::Human => print!("{}", render_human(&findings)),
        ReportFormat::Json => {
            let report = render_json(&findings, key_age.as_ref());
            let text = serde_json::to_string_pretty(&report).unwrap_or_default();
            println!("{text}");
        }
    }
    Ok(match outcome(&findings) {
        Outcome::Passed => exit::OK,
        Outcome::Findings => exit::changes(),
        Outcome::Incomplete => exit::ERROR,
    })
}

/// The checks of `verify` over what `plan` read (`observations`), with the extra reads they
/// need (Twilio's test files): the findings, and the uploader key's age. `alerts` correlates
/// Twilio's alerts with the same findings.
pub async fn findings(
    session: &Session,
    plan: &stowage_plan::Plan,
    observations: &stowage_plan::Observations,
) -> (Vec<stowage_plan::verify::Finding>, Option<stowage_plan::rotation::KeyAge>) {
    let expected = Expected::from_spec(&session.spec.spec);
    let mut inspections = Inspections::default();
    for location in test_file_locations(&expected, observations) {
        let found = inspect::text_files_under(session.aws(), &location.bucket, &location.prefix).await;
        inspections.test_files.insert(location.kind, found.map_err(|error| error.to_string()));
    }
    inspections.unproven = session.unproven();
    // The key's age at the time the plan was made, as the plan judged its rotation.
    let now = plan.planned_at.unwrap_or_else(jiff::Timestamp::now);
    let access_key = stowage_plan::desired::access_key_address();
    inspections.key_age =
        key_ages(session.desired(), observations, now).into_iter().find(|age| age.address == access_key);
    let findings = verify(&expected, observations, &inspections);
    (findings, inspections.key_age)
}
