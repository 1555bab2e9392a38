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
    Expected, Inspections, Outcome, outcome, render_human, render_json, test_file_locations, verify, verify_members,
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
/// Twilio's alerts with the same findings. A fleet is checked member by member
/// (`stowage_plan::verify::verify_members`); the key age is then the first member's.
pub async fn findings(
    session: &Session,
    plan: &stowage_plan::Plan,
    observations: &stowage_plan::Observations,
) -> (Vec<stowage_plan::verify::Finding>, Option<stowage_plan::rotation::KeyAge>) {
    let spec = &session.spec.spec;
    if spec.fleet.is_none() {
        let expected = Expected::from_spec(spec);
        let inspections = inspections(session, plan, observations, &expected).await;
        let findings = verify(&expected, observations, &inspections);
        return (findings, inspections.key_age);
    }
    let mut members = Vec::new();
    let fleet_members = session.fleet().map(|(_, members)| members).unwrap_or_default();
    for member in fleet_members {
        let expected = Expected::for_member(spec, member);
        let inspections = inspections(session, plan, observations, &expected).await;
        members.push((expected, inspections));
    }
    let key_age = members.first().and_then(|(_, inspections)| inspections.key_age.clone());
    (verify_members(&members, observations), key_age)
}

/// What the checks of `expected` need besides the plan's reads: Twilio's test files where
/// its settings write, what the state takes on trust, and the age of its key.
async fn inspections(
    session: &Session,
    plan: &stowage_plan::Plan,
    observations: &stowage_plan::Observations,
    expected: &Expected,
) -> Inspections {
    let mut inspections = Inspections::default();
    for location in test_file_locations(expected, observations) {
        let found = inspect::text_files_under(session.aws(), &location.bucket, &location.prefix).await;
        inspections.test_files.insert(location.kind, found.map_err(|error| error.to_string()));
    }
    inspections.unproven = session.unproven();
    // The key's age at the time the plan was made, as the plan judged its rotation.
    let now = plan.planned_at.unwrap_or_else(jiff::Timestamp::now);
    let access_key = expected.access_key_address();
    inspections.key_age =
        key_ages(session.desired(), observations, now).into_iter().find(|age| age.address == access_key);
    inspections
}
