//! The fault matrix: at each request position of a fresh apply of `examples/dev.toml`, every
//! fault kind of its side. On the AWS side (through the proxy in front of moto): 500,
//! throttling, a dropped connection, latency beyond the request timeout, S3's
//! `409 OperationAborted`. On the Twilio side: the emulator's own faults (500, 429 with
//! `Retry-After`) and, through the proxy in front of it, a dropped connection and latency
//! beyond the timeout.
//!
//! For each run: the injected fault fired (the observers outside stowage saw it at that
//! position); the apply either succeeded or exited 1 with an error naming the operation that
//! failed; every create whose answer may be lost (`CreateAccessKey`, the credential POST) was
//! sent exactly once per create the apply started, never retried blindly (a 429 is Twilio
//! refusing before doing anything: a retry after it is not blind); and, with every fault left
//! cleared on both sides, a second apply converges with nothing orphaned, sending each create
//! once too.

mod common;
mod reliability;

use std::time::{Duration, Instant};

use common::world;
use reliability::{
    FaultKind as Kind, Injection, Observed, SHORT_TIMEOUT, Tally, converge_observed, names_an_operation, run_observed,
};
use stowage_test_support::twilio_emulator::FaultRule;
use stowage_test_support::{Fault, FaultMatch, ObservedRequest, World};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Aws,
    Twilio,
}

const AWS_KINDS: [Kind; 5] = reliability::AWS_FAULT_KINDS;
const TWILIO_KINDS: [Kind; 4] = reliability::TWILIO_FAULT_KINDS;
/// `SHORT_TIMEOUT`: a run whose request was delayed beyond it waited at least this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// The Twilio request that creates an AWS credential, as the proxy names it.
const CREDENTIAL_POST: &str = "POST /v1/Credentials/AWS";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::print_stderr, reason = "the counts are the report of this test")]
async fn every_request_of_an_apply_survives_every_fault_and_the_next_run_converges() {
    let started = Instant::now();
    let world = world().start().await;
    let clean = run_observed(&world, reliability::apply(&world).request_timeout(SHORT_TIMEOUT)).await;
    assert_eq!(clean.output.code, Some(0), "a clean apply fails:\n{}", clean.output);
    assert_eq!(creates_sent(&clean), Ok(Creates { keys: 1, credentials: 1 }), "a clean apply creates once each");
    let aws_positions = clean.aws.len();
    let twilio_positions = clean.twilio.len();
    assert_eq!(twilio_positions, clean.emulator.len(), "every Twilio request goes through the proxy");

    // Every kind of each side at every position of that side.
    let mut cases: Vec<(Side, usize, Kind)> = Vec::new();
    for position in 0..aws_positions {
        cases.extend(AWS_KINDS.map(|kind| (Side::Aws, position, kind)));
    }
    for position in 0..twilio_positions {
        cases.extend(TWILIO_KINDS.map(|kind| (Side::Twilio, position, kind)));
    }

    let (mut succeeded, mut failed_cleanly, mut fired, mut aborted_configuration_writes) = (0, 0, 0, 0);
    let (mut key_creates, mut credential_creates, mut retried_after_429) = (0, 0, 0);
    let mut tally = Tally::default();
    for &(side, position, kind) in &cases {
        world.reset();
        inject(&world, side, position, kind);
        let apply = run_observed(&world, reliability::apply(&world).request_timeout(SHORT_TIMEOUT)).await;
        let case = format!("{side:?} request {position}, {kind:?}");
        match fault_fired(&apply, side, position, kind) {
            Ok(hit) => {
                fired += 1;
                // S3 refuses a configuration write for now only: retried, never the end of an
                // apply.
                if kind == Kind::OperationAborted && is_bucket_configuration_write(&hit) {
                    aborted_configuration_writes += 1;
                    if apply.output.code != Some(0) {
                        let problem = format!("{case}: OperationAborted on {hit} ended the apply\n{}", apply.output);
                        tally.problems.push(problem);
                    }
                }
            }
            Err(why) => tally.problems.push(format!("{case}: the injected fault did not fire: {why}")),
        }
        match apply.output.code {
            Some(0) => succeeded += 1,
            Some(1) if names_an_operation(&apply.output.stderr) => failed_cleanly += 1,
            other => tally
                .problems
                .push(format!("{case}: apply exited {other:?} without naming an operation\n{}", apply.output)),
        }
        let mut creates = Creates::default();
        match creates_sent(&apply) {
            Ok(sent) => {
                if apply.output.code == Some(0) && sent != (Creates { keys: 1, credentials: 1 }) {
                    tally.problems.push(format!("{case}: a fresh apply succeeded with {sent:?}"));
                }
                creates.add(sent);
            }
            Err(why) => tally.problems.push(format!("{case}: {why}\n{}", apply.output)),
        }
        retried_after_429 += credential_posts(&apply.twilio).filter(|post| post.status == 429).count();

        // Nothing injected outlives its run: not a proxy fault, not an emulator rule.
        world.aws.clear();
        world.twilio.clear();
        world.clear_emulator_faults().await;
        let (converging, outcome) = converge_observed(&world).await;
        tally.record(outcome, &case);
        match creates_sent(&converging) {
            Ok(sent) => creates.add(sent),
            Err(why) => tally.problems.push(format!("{case}, converging apply: {why}\n{}", converging.output)),
        }
        if creates.keys == 0 || creates.credentials == 0 {
            tally.problems.push(format!("{case}: the two applies created {creates:?}, yet the environment has both"));
        }
        key_creates += creates.keys;
        credential_creates += creates.credentials;
    }

    let wall = started.elapsed();
    eprintln!(
        "fault matrix: {} runs ({aws_positions} AWS positions x {} kinds, {twilio_positions} Twilio positions x {} \
         kinds), {fired} faults fired, {succeeded} applied despite the fault, {failed_cleanly} failed with a clear \
         error, {} converged ({} leftovers of interrupted applies deleted), {} orphans left; {key_creates} \
         CreateAccessKey and {credential_creates} credential POSTs, each sent once per create ({retried_after_429} \
         POSTs refused with 429 and retried); {:.0} s",
        cases.len(),
        AWS_KINDS.len(),
        TWILIO_KINDS.len(),
        tally.converged,
        tally.leftovers,
        tally.orphans,
        wall.as_secs_f64()
    );
    eprintln!("fault matrix: OperationAborted met {aborted_configuration_writes} bucket configuration writes");
    tally.assert_clean(cases.len());
    assert_eq!(fired, cases.len(), "every injected fault fires");
    assert!(aborted_configuration_writes > 0, "OperationAborted never met a bucket configuration write");
    assert!(retried_after_429 > 0, "no credential POST was ever throttled: the 429 exception went untested");
}

/// Creates whose answer may be lost, counted by what reached the wire.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Creates {
    keys: usize,
    credentials: usize,
}

impl Creates {
    fn add(&mut self, other: Creates) {
        self.keys += other.keys;
        self.credentials += other.credentials;
    }
}

/// How many creates of the access key and of the credential one apply started (its progress
/// lines), each checked against the requests sent for it: exactly one each, whatever failed.
/// A credential POST answered 429 is not counted: Twilio refused it before doing anything, and
/// the client retries it by design.
fn creates_sent(run: &Observed) -> Result<Creates, String> {
    let stderr = &run.output.stderr;
    let started = |address: String| stderr.lines().filter(|line| *line == format!("{address}: creating...")).count();
    let key_creates = started(stowage_plan::desired::access_key_address().to_string());
    let credential_creates = started(stowage_plan::desired::credential_address().to_string());

    let keys: Vec<String> =
        run.aws.iter().filter(|request| request.operation == "CreateAccessKey").map(ToString::to_string).collect();
    if keys.len() != key_creates || key_creates > 1 {
        return Err(format!("CreateAccessKey sent {} time(s) for {key_creates} create(s): {keys:?}", keys.len()));
    }
    let posts: Vec<String> =
        credential_posts(&run.twilio).filter(|post| post.status != 429).map(ToString::to_string).collect();
    if posts.len() != credential_creates || credential_creates > 1 {
        return Err(format!(
            "the credential POST sent {} time(s) (429s aside) for {credential_creates} create(s): {posts:?}",
            posts.len()
        ));
    }
    // The emulator's own log: a dropped POST never reached it, nothing else may differ.
    let received = run
        .emulator
        .iter()
        .filter(|request| request.method == "POST" && request.path == "/v1/Credentials/AWS" && request.status != 429)
        .count();
    let dropped = credential_posts(&run.twilio).filter(|post| post.status == 0).count();
    if received > posts.len() || received + dropped < posts.len() {
        return Err(format!(
            "the emulator received {received} credential POST(s) (429s aside), the proxy passed {posts:?}"
        ));
    }
    Ok(Creates { keys: key_creates, credentials: credential_creates })
}

fn credential_posts(requests: &[ObservedRequest]) -> impl Iterator<Item = &ObservedRequest> {
    requests.iter().filter(|request| request.operation == CREDENTIAL_POST)
}

/// The request the fault hit, once the observers outside stowage show that it fired there: the
/// injected status at that position, no answer for a dropped connection, for latency no answer
/// either (the client gave up first) and a run that outlasted the request timeout. The emulator's own faults count positions in the order
/// requests reach it, and its log is in the order it answered them (concurrent requests
/// differ in both from the proxy's order): its log shows exactly one answer by a fault, with
/// the injected status, and the proxy that the client got it.
fn fault_fired(run: &Observed, side: Side, position: usize, kind: Kind) -> Result<ObservedRequest, String> {
    if side == Side::Twilio {
        // Everything but a dropped request reached the emulator.
        let lost = usize::from(kind == Kind::DroppedConnection);
        if run.emulator.len() + lost != run.twilio.len() {
            return Err(format!(
                "the emulator received {} request(s) of the {} the proxy saw",
                run.emulator.len(),
                run.twilio.len()
            ));
        }
    }
    if let (Side::Twilio, Kind::ServerError | Kind::Throttled) = (side, kind) {
        let status = if kind == Kind::ServerError { 500 } else { 429 };
        let faults: Vec<_> = run.emulator.iter().filter(|logged| logged.fault).collect();
        let [logged] = faults[..] else {
            return Err(format!("the emulator answered {} request(s) with a fault, not one", faults.len()));
        };
        if logged.status != status {
            return Err(format!(
                "the emulator's fault answered {} {} with {}, not {status}",
                logged.method, logged.path, logged.status
            ));
        }
        let operation = format!("{} {}", logged.method, logged.path);
        return run
            .twilio
            .iter()
            .find(|request| request.operation == operation && request.status == status)
            .cloned()
            .ok_or(format!("the client never got the {status} the emulator answered {operation} with"));
    }

    let journal = match side {
        Side::Aws => &run.aws,
        Side::Twilio => &run.twilio,
    };
    let Some(hit) = journal.get(position).cloned() else {
        return Err(format!("the run sent {} {side:?} request(s), none at position {position}", journal.len()));
    };
    let expected_status = match kind {
        Kind::ServerError => Some(500),
        Kind::Throttled => Some(if hit.service == "s3" { 503 } else { 400 }),
        Kind::OperationAborted => Some(409),
        // No answer: the connection was dropped, or the client gave up on the delayed answer
        // (the request still reached upstream).
        Kind::DroppedConnection | Kind::Latency => Some(0),
    };
    if let Some(status) = expected_status
        && hit.status != status
    {
        return Err(format!("{hit} at position {position}, not answered {status}"));
    }
    if kind == Kind::Latency && run.elapsed < REQUEST_TIMEOUT {
        return Err(format!("{hit} at position {position} was delayed, yet the run took {:?} only", run.elapsed));
    }
    Ok(hit)
}

/// `s3 PutBucketVersioning`, `s3 DeletePublicAccessBlock`: a write of a bucket's configuration.
fn is_bucket_configuration_write(request: &ObservedRequest) -> bool {
    request.service == "s3"
        && request.is_write
        && (request.operation.contains("Bucket") || request.operation.contains("PublicAccessBlock"))
        && !["CreateBucket", "DeleteBucket"].contains(&request.operation.as_str())
}

fn inject(world: &World, side: Side, position: usize, kind: Kind) {
    let proxy = if side == Side::Aws { &world.aws } else { &world.twilio };
    match kind.injection(side == Side::Twilio) {
        Injection::Proxy(action) => proxy.inject(Fault::new(FaultMatch::Nth(position), action, 1)),
        // Twilio's own error bodies come from the emulator: its `after` counts the requests
        // before the one to fail, as the proxy's position does.
        Injection::Emulator { status, retry_after } => {
            let rule = FaultRule { after: position as u32, retry_after, ..FaultRule::new(status, "") };
            world.emulator.add_fault(rule).expect("a valid fault rule");
        }
    }
}
