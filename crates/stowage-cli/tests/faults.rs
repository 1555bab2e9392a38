//! The fault matrix: at each request position of a fresh apply of `examples/dev.toml`, one
//! fault on the AWS side (through the proxy in front of moto: 500, throttling, a dropped
//! connection, latency beyond the request timeout, S3's `409 OperationAborted`) or on the
//! Twilio side (the emulator's own
//! faults: 500, 429 with `Retry-After`; through the proxy in front of it: a dropped connection,
//! latency beyond the timeout). Each apply either succeeds or exits 1 with an error naming the
//! operation that failed; a second apply without faults converges with nothing orphaned.

mod reliability;

use std::time::Duration;

use reliability::{Rig, SHORT_TIMEOUT, Tally, describe};
use stowage_test_support::twilio_emulator::FaultRule;
use stowage_test_support::{Fault, FaultAction, FaultMatch, ObservedRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ServerError,
    /// AWS throttling; for Twilio a 429 with `Retry-After`.
    Throttled,
    DroppedConnection,
    /// Longer than `SHORT_TIMEOUT`.
    Latency,
    /// `409 OperationAborted`: S3's answer to a configuration write while another one on the
    /// same bucket is in progress. AWS only.
    OperationAborted,
}

const AWS_KINDS: [Kind; 5] =
    [Kind::ServerError, Kind::Throttled, Kind::DroppedConnection, Kind::Latency, Kind::OperationAborted];
const TWILIO_KINDS: [Kind; 4] = [Kind::ServerError, Kind::Throttled, Kind::DroppedConnection, Kind::Latency];
const BEYOND_TIMEOUT: Duration = Duration::from_millis(2500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::print_stderr, reason = "the counts are the report of this test")]
async fn every_request_of_an_apply_survives_a_fault_and_the_next_run_converges() {
    let rig = Rig::new().await;
    let apply = rig.run(&as_str(&rig.apply_args()), SHORT_TIMEOUT).await;
    assert_eq!(apply.status.code(), Some(0), "a clean apply fails:\n{}", describe(&apply));
    let aws_positions = rig.aws.requests().len();
    let twilio_positions = rig.twilio.requests().len();

    // Every AWS position gets two of the five kinds, in turn; every Twilio position (there are
    // few, and the credential's create is the one whose answer matters most) gets all four.
    let mut cases: Vec<(&str, usize, Kind)> = Vec::new();
    for position in 0..aws_positions {
        for offset in [0, 2] {
            cases.push(("aws", position, AWS_KINDS[(position + offset) % AWS_KINDS.len()]));
        }
    }
    for position in 0..twilio_positions {
        cases.extend(TWILIO_KINDS.map(|kind| ("twilio", position, kind)));
    }

    let (mut succeeded, mut failed_cleanly, mut aborted_configuration_writes) = (0, 0, 0);
    let mut tally = Tally::default();
    for &(side, position, kind) in &cases {
        rig.reset().await;
        inject(&rig, side, position, kind);
        let apply = rig.run(&as_str(&rig.apply_args()), SHORT_TIMEOUT).await;
        let case = format!("{side} request {position}, {kind:?}");
        // S3 refuses a configuration write for now only: retried, never the end of an apply.
        let hit = rig.aws.requests().get(position).cloned().filter(|_| side == "aws");
        if kind == Kind::OperationAborted
            && let Some(hit) = hit.filter(is_bucket_configuration_write)
        {
            aborted_configuration_writes += 1;
            if apply.status.code() != Some(0) {
                let problem = format!("{case}: OperationAborted on {hit} ended the apply\n{}", describe(&apply));
                tally.problems.push(problem);
            }
        }
        match apply.status.code() {
            Some(0) => succeeded += 1,
            Some(1) if names_an_operation(&String::from_utf8_lossy(&apply.stderr)) => failed_cleanly += 1,
            other => tally
                .problems
                .push(format!("{case}: apply exited {other:?} without naming an operation\n{}", describe(&apply))),
        }
        // A delayed request still reaches moto or the emulator after its client gave up: let
        // it land before the next run looks.
        let settled = async { tokio::join!(rig.aws.settled(), rig.twilio.settled()) };
        tokio::time::timeout(Duration::from_secs(30), settled).await.expect("delayed requests landed");
        rig.aws.clear();
        rig.twilio.clear();
        tally.converge(&rig, &case).await;
    }

    eprintln!(
        "fault matrix: {} runs ({aws_positions} AWS and {twilio_positions} Twilio positions), {succeeded} applied \
         despite the fault, {failed_cleanly} failed with a clear error, {} converged ({} leftovers of interrupted \
         applies deleted), {} orphans left",
        cases.len(),
        tally.converged,
        tally.leftovers,
        tally.orphans
    );
    eprintln!("fault matrix: OperationAborted met {aborted_configuration_writes} bucket configuration writes");
    tally.assert_clean(cases.len());
    assert!(aborted_configuration_writes > 0, "OperationAborted never met a bucket configuration write");
    for (side, kinds) in [("aws", &AWS_KINDS[..]), ("twilio", &TWILIO_KINDS[..])] {
        for &kind in kinds {
            let positions = cases.iter().filter(|case| case.0 == side && case.2 == kind).count();
            assert!(positions >= 2, "{kind:?} is injected at {positions} {side} position(s) only");
        }
    }
}

/// `s3 PutBucketVersioning`, `s3 DeletePublicAccessBlock`: a write of a bucket's configuration.
fn is_bucket_configuration_write(request: &ObservedRequest) -> bool {
    request.service == "s3"
        && request.is_write
        && (request.operation.contains("Bucket") || request.operation.contains("PublicAccessBlock"))
        && !["CreateBucket", "DeleteBucket"].contains(&request.operation.as_str())
}

fn inject(rig: &Rig, side: &str, position: usize, kind: Kind) {
    let nth = FaultMatch::Nth(position);
    match (side, kind) {
        ("aws", Kind::ServerError) => rig.aws.inject(Fault::new(nth, FaultAction::Status(500), 1)),
        ("aws", Kind::Throttled) => rig.aws.inject(Fault::new(nth, FaultAction::Throttle, 1)),
        ("aws", Kind::DroppedConnection) => rig.aws.inject(Fault::new(nth, FaultAction::DropConnection, 1)),
        ("aws", Kind::Latency) => rig.aws.inject(Fault::new(nth, FaultAction::Delay(BEYOND_TIMEOUT), 1)),
        ("aws", Kind::OperationAborted) => {
            let action = FaultAction::Error { status: 409, code: "OperationAborted".to_owned() };
            rig.aws.inject(Fault::new(nth, action, 1));
        }
        (_, Kind::OperationAborted) => unreachable!("OperationAborted is injected at AWS positions only"),
        // Twilio's own error bodies come from the emulator: its `after` counts the requests
        // before the one to fail, as the proxy's position does.
        (_, Kind::ServerError) => {
            let rule = FaultRule { after: position as u32, ..FaultRule::new(500, "") };
            rig.emulator.add_fault(rule).expect("a valid fault rule");
        }
        (_, Kind::Throttled) => {
            let rule = FaultRule { after: position as u32, retry_after: Some(1), ..FaultRule::new(429, "") };
            rig.emulator.add_fault(rule).expect("a valid fault rule");
        }
        (_, Kind::DroppedConnection) => rig.twilio.inject(Fault::new(nth, FaultAction::DropConnection, 1)),
        (_, Kind::Latency) => rig.twilio.inject(Fault::new(nth, FaultAction::Delay(BEYOND_TIMEOUT), 1)),
    }
}

/// Whether a failed run's diagnostics name the operation that failed, as a provider error
/// does: `iam CreateAccessKey: ...`, `twilio CreateAwsCredential: ...`.
fn names_an_operation(stderr: &str) -> bool {
    let pattern = regex::Regex::new(r"\b(s3|iam|sts|kms|twilio) [A-Z][A-Za-z]+: ").expect("a valid pattern");
    pattern.is_match(stderr)
}

fn as_str(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
