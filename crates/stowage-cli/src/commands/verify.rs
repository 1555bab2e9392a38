//! `stowage verify SPEC`: read-only checks of what Twilio would otherwise report only after
//! recordings are lost, each naming the Twilio error it prevents.
//!
//! Exit 0 when every check passes (warnings do not fail), 2 when any check fails, 1 when
//! something could not be read or a check could not decide (and nothing failed). Nothing is
//! written: not AWS, not Twilio, not the state.

use std::process::ExitCode;
use std::sync::Arc;

use miette::Report;
use stowage_aws::inspect::{self, DefaultEncryption};
use stowage_plan::verify::{
    BucketEncryption, Expected, Inspections, Outcome, outcome, render_human, render_json, test_file_locations, verify,
};

use crate::cli::{ReportFormat, VerifyArgs};
use crate::environment::Environment;
use crate::exit;
use crate::progress::StderrProgress;

pub async fn run(args: &VerifyArgs) -> Result<ExitCode, Report> {
    let environment = Environment::open(&args.spec, None, &args.state, Arc::new(StderrProgress)).await?;
    let (_plan, observations) = environment.plan().await?;
    let expected = Expected::from_spec(&environment.spec.spec);

    let bucket_exists = observations.get(&stowage_plan::desired::bucket_address()).is_some_and(Option::is_some);
    let mut inspections = Inspections::default();
    if bucket_exists {
        let encryption = inspect::default_encryption(&environment.aws, &expected.bucket).await;
        inspections.encryption = Some(encryption.map(bucket_encryption).map_err(|error| error.to_string()));
    }
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

fn bucket_encryption(found: DefaultEncryption) -> BucketEncryption {
    match found {
        DefaultEncryption::None => BucketEncryption::None,
        DefaultEncryption::SseS3 => BucketEncryption::SseS3,
        DefaultEncryption::SseKms { key_id } => BucketEncryption::SseKms { key_id },
        DefaultEncryption::Other(algorithm) => BucketEncryption::Other(algorithm),
    }
}
