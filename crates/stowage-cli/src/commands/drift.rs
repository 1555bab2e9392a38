//! `stowage drift SPEC`: compare the state and the spec with reality, strictly read-only, for
//! scheduled jobs. Exit 0 in sync, 2 drift, 1 error.

use std::process::ExitCode;

use miette::{Report, miette};
use stowage_plan::drift_report::{self, DriftReport, json::json_report};
use stowage_plan::rotation::key_ages;

use crate::cli::{DriftArgs, ReportFormat};
use crate::exit;
use crate::locking::Locking;
use crate::session::Session;
use crate::settings::{Settings, StateSettings};

pub async fn run(args: &DriftArgs, settings: &Settings) -> Result<ExitCode, Report> {
    // A mistyped flag fails before anything is read.
    let from_flags = args.ignore.iter().map(|rule| drift_report::parse_ignore(rule)).collect::<Result<Vec<_>, _>>();
    let mut ignore = from_flags.map_err(|error| miette!(help = IGNORE_HELP, "{error}"))?;
    let state = StateSettings::resolve(&args.state, None);
    let session = Session::open(settings, &args.spec, state, Locking::read("drift")).await?;
    for rule in &session.spec.spec.drift.ignore {
        ignore.push(drift_report::ignore_from_rule(rule).map_err(|error| {
            miette!(help = IGNORE_HELP, "{error} (in `[drift] ignore` of `{}`)", args.spec.display())
        })?);
    }
    // Opening and planning only read: nothing here writes the state or calls a write API.
    let (plan, observations) = session.plan().await?;
    for diagnostic in &plan.diagnostics {
        let subject = diagnostic.address.as_ref().map(|address| format!("{address}: ")).unwrap_or_default();
        let label = match diagnostic.severity {
            stowage_plan::Severity::Error => "error",
            stowage_plan::Severity::Warning => "warning",
        };
        eprintln!("{label}: {subject}{}", diagnostic.message);
        if let Some(hint) = &diagnostic.hint {
            eprintln!("  hint: {hint}");
        }
    }
    if plan.has_errors() {
        return Err(miette!("cannot tell what drifted until the errors above are fixed"));
    }

    // One time for the whole report: the plan's, which judged the key's rotation.
    let now = plan.planned_at.unwrap_or_else(jiff::Timestamp::now);
    // The key's age is a line of information: it is no entry, so it changes no exit code.
    let report = DriftReport {
        key_ages: key_ages(session.desired(), &observations, now),
        ..drift_report::report(&plan, &ignore)
    };
    super::alerts::mention_recent(settings, &session).await;
    let environment_name = session.spec.spec.environment.name.as_str();
    match args.format {
        ReportFormat::Human => print!("{}", drift_report::human(&report, environment_name)),
        ReportFormat::Json => {
            let generated_at = now.to_string();
            let document = json_report(&report, environment_name, generated_at);
            let text = serde_json::to_string_pretty(&document)
                .map_err(|error| miette!("could not write the report as JSON: {error}"))?;
            println!("{text}");
        }
    }
    Ok(if report.in_sync() { exit::OK } else { exit::changes() })
}

const IGNORE_HELP: &str = "an ignore rule is `TYPE.NAME` or `TYPE.NAME.ATTRIBUTE`, e.g. `aws_s3_bucket.main.tags`";
