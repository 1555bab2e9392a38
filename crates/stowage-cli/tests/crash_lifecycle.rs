//! Crash and fault safety beyond a fresh apply: `stowage apply` killed (SIGKILL) at every
//! write, or given a fault at every write, of an apply that updates every resource type and of
//! one that replaces the access key and Twilio credential and the Twilio public key (create
//! before destroy), both on the encrypted example; and a recovering apply killed a second time.
//! The next apply must converge with nothing orphaned.
//!
//! Points are named by operation and occurrence (`CreateAccessKey` #0), not by arrival index:
//! concurrent steps reorder requests between runs, and a kill must land on the same change
//! each time. Only writes are enumerated here: dying before a write is dying after the read
//! before it, which the fresh-apply matrix of `crash.rs` covers at every request.

mod common;
mod reliability;

use std::collections::BTreeMap;

use common::world;
use reliability::{
    AWS_FAULT_KINDS, CONVERGING_TIMEOUT, FaultKind as Kind, Injection, SHORT_TIMEOUT, TWILIO_FAULT_KINDS, Tally,
    copy_fixture, encrypted_spec, kill_apply_at_hold, names_an_operation,
};
use stowage_test_support::twilio_emulator::FaultRule;
use stowage_test_support::{AwsProxy, Fault, FaultAction, FaultMatch, ObservedRequest, World, operation_shape};

/// A point of a run: the side, the operation and which of its requests.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Point {
    twilio: bool,
    operation: String,
    nth: usize,
}

impl std::fmt::Display for Point {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = if self.twilio { "twilio" } else { "aws" };
        write!(formatter, "{side} {} #{}", self.operation, self.nth)
    }
}

/// The writes a run sent, as points.
fn write_points(twilio: bool, requests: &[ObservedRequest]) -> Vec<Point> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    requests
        .iter()
        .filter_map(|request| {
            let operation = operation_shape(&request.operation);
            let nth = seen.entry(operation.clone()).or_default();
            let point = Point { twilio, operation, nth: *nth };
            *nth += 1;
            request.is_write.then_some(point)
        })
        .collect()
}

fn proxy_of<'a>(world: &'a World, point: &Point) -> &'a AwsProxy {
    if point.twilio { &world.twilio } else { &world.aws }
}

fn hold_at(world: &World, point: &Point) {
    let matches = FaultMatch::Occurrence { operation: point.operation.clone(), nth: point.nth };
    proxy_of(world, point).inject(Fault::new(matches, FaultAction::HoldAnswer, 1));
}

/// How a scenario gets from an untouched account to the apply under test.
trait Scenario {
    /// Make the environment as it was before the apply under test (after `world.reset()`).
    async fn before(&self, world: &World);
}

/// Applies `spec` as the spec the scenario starts from.
async fn apply_clean(world: &World, spec: &str) {
    world.rewrite_spec(spec);
    let apply = reliability::apply(world).request_timeout(CONVERGING_TIMEOUT).await;
    assert_eq!(apply.code, Some(0), "the starting apply fails:\n{apply}");
}

/// Every updatable resource type changes in place: the bucket's versioning and tags, the
/// user's path (and with it its ARN, so the KMS key policy), the uploader policy and the
/// recording settings (a new prefix).
struct UpdateEverything;

impl Scenario for UpdateEverything {
    async fn before(&self, world: &World) {
        copy_fixture(world, "recordings-2025.pem", "recordings.pem");
        apply_clean(world, &encrypted_spec("recordings.pem")).await;
        let edited = encrypted_spec("recordings.pem")
            .replace("versioning = true", "versioning = false")
            .replace("tags = { team = \"video\", env = \"dev\" }", "tags = { team = \"media\" }")
            .replace("path = \"/twilio/\"", "path = \"/twilio/video/\"")
            .replace(
                "encryption_public_key = \"recordings.pem\"\nprefix = \"recordings/\"",
                "encryption_public_key = \"recordings.pem\"\nprefix = \"calls/\"",
            );
        assert_ne!(edited, encrypted_spec("recordings.pem"), "the edit changes the spec");
        world.rewrite_spec(&edited);
    }
}

/// Replacements, created before the old ones are destroyed: the Twilio credential deleted
/// behind stowage's back (so a new access key and credential are made and the old key
/// deleted), and a new recordings public key (new Twilio public key, settings repointed, the
/// old one deleted).
struct ReplaceKeys;

impl Scenario for ReplaceKeys {
    async fn before(&self, world: &World) {
        copy_fixture(world, "recordings-2025.pem", "recordings.pem");
        apply_clean(world, &encrypted_spec("recordings.pem")).await;
        for sid in world.twilio_aws_credentials().await {
            delete_credential(world, &sid).await;
        }
        copy_fixture(world, "recordings-2026.pem", "recordings.pem");
    }
}

/// Deletes a Twilio AWS credential as a person would, in the Console.
async fn delete_credential(world: &World, sid: &str) {
    let path = format!("/v1/Credentials/AWS/{sid}");
    let response = world.twilio_request(reqwest::Method::DELETE, &path).send().await.expect("the emulator answers");
    assert_eq!(response.status().as_u16(), 204, "the credential is deleted");
}

/// Reset, reach the apply under test, and clear what the proxies saw, so points count from it.
async fn prepare(world: &World, scenario: &impl Scenario) {
    world.reset();
    scenario.before(world).await;
    world.aws.clear();
    world.twilio.clear();
}

#[expect(clippy::print_stderr, reason = "the counts are the report of this test")]
async fn crash_matrix(name: &str, world: World, scenario: impl Scenario) -> Tally {
    // The apply under test, clean: the points to kill at, and that it converges at all.
    prepare(&world, &scenario).await;
    let apply = reliability::apply(&world).request_timeout(SHORT_TIMEOUT).await;
    assert_eq!(apply.code, Some(0), "a clean apply fails:\n{apply}");
    let mut points = write_points(false, &world.aws.requests());
    points.extend(write_points(true, &world.twilio.requests()));
    assert_eq!(reliability::orphans(&world).await, Ok(Vec::new()), "a clean apply leaves orphans");
    assert!(points.len() >= 4, "too few writes to be the scenario: {points:?}");
    // One apply is enough: the next plan has nothing left to do.
    let plan = world.stowage(&["plan", &world.spec.display().to_string(), "--detailed-exitcode"]);
    let plan = plan.request_timeout(CONVERGING_TIMEOUT).await;
    assert_eq!(plan.code, Some(0), "a clean apply leaves changes for the next one:\n{plan}");

    let (mut killed, mut missed, mut tally) = (0, Vec::new(), Tally::default());
    for point in &points {
        prepare(&world, &scenario).await;
        hold_at(&world, point);
        let held = kill_apply_at_hold(&world, proxy_of(&world, point)).await;
        killed += usize::from(held.is_some());
        if held.is_none() {
            missed.push(point.to_string());
        }
        after_kill(&world).await;
        tally.converge(&world, &format!("{name}: killed at {point}")).await;
    }
    let shown: Vec<String> = points.iter().map(ToString::to_string).collect();
    eprintln!(
        "crash safety ({name}): {} runs, one per write ({}), {killed} killed at a held request, {} converged ({} \
         leftovers of interrupted applies deleted), {} orphans left",
        points.len(),
        shown.join(", "),
        tally.converged,
        tally.leftovers,
        tally.orphans
    );
    assert_eq!(tally.orphans, 0, "orphans were left:\n{}", tally.problems.join("\n"));
    assert!(tally.problems.is_empty(), "{} runs went wrong:\n{}", tally.problems.len(), tally.problems.join("\n\n"));
    assert!(missed.is_empty(), "writes of the clean apply not reached again: {missed:?}");
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_every_resource_type_killed_at_any_write_converges() {
    crash_matrix("update", world().start().await, UpdateEverything).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_before_destroy_replacement_killed_at_any_write_converges() {
    let tally = crash_matrix("replacement", world().start().await, ReplaceKeys).await;
    assert!(tally.leftovers > 0, "no kill left anything for the next run to find: the intents went untested");
}

/// A fresh apply killed at a write, then the apply that recovers from it killed at the same
/// write (the riskiest: it redoes that very change, around the leftovers of the first), then a
/// third apply must converge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::print_stderr, reason = "the counts are the report of this test")]
async fn a_recovering_apply_killed_again_converges() {
    let world = world().start().await;
    let apply = reliability::apply(&world).request_timeout(SHORT_TIMEOUT).await;
    assert_eq!(apply.code, Some(0), "a clean apply fails:\n{apply}");
    let mut points = write_points(false, &world.aws.requests());
    points.extend(write_points(true, &world.twilio.requests()));

    let (mut first_kills, mut second_kills, mut tally) = (0, 0, Tally::default());
    for point in &points {
        world.reset();
        hold_at(&world, point);
        first_kills += usize::from(kill_apply_at_hold(&world, proxy_of(&world, point)).await.is_some());
        after_kill(&world).await;
        hold_at(&world, point);
        second_kills += usize::from(kill_apply_at_hold(&world, proxy_of(&world, point)).await.is_some());
        after_kill(&world).await;
        tally.converge(&world, &format!("killed twice at {point}")).await;
    }
    eprintln!(
        "crash safety (killed twice): {} runs, {first_kills} first kills, {second_kills} recovering applies killed \
         at the same write, {} converged ({} leftovers deleted), {} orphans left",
        points.len(),
        tally.converged,
        tally.leftovers,
        tally.orphans
    );
    tally.assert_clean(points.len());
    assert_eq!(first_kills, points.len(), "every write of the clean apply is reached again");
    // A recovering apply redoes most writes; the ones it skips (a leftover adopted instead of
    // made again) are the point of the recovery, so no count is demanded of them.
    assert!(second_kills > 0, "no recovering apply reached its first kill's write");
}

/// Lets go of held requests and waits until the requests the killed process had on their way
/// (concurrent steps) have landed: they reach the services within moments, long before a
/// person runs apply again.
async fn after_kill(world: &World) {
    world.aws.clear();
    world.twilio.clear();
    world.settled().await;
}

/// Injects `kind` at `point` (the kinds of the fault matrix of `faults.rs`, which injects them
/// at every request of a fresh apply), by occurrence: through a proxy, or as the emulator's own
/// answer (it matches a method and a path prefix, and lets `after` matching requests through).
fn inject(world: &World, point: &Point, kind: Kind) {
    match kind.injection(point.twilio) {
        Injection::Proxy(action) => {
            let matches = FaultMatch::Occurrence { operation: point.operation.clone(), nth: point.nth };
            proxy_of(world, point).inject(Fault::new(matches, action, 1));
        }
        Injection::Emulator { status, retry_after } => {
            let (method, path) = point.operation.split_once(' ').expect("a Twilio operation is METHOD PATH");
            let rule = FaultRule {
                method: Some(method.to_owned()),
                after: u32::try_from(point.nth).expect("a small count"),
                retry_after,
                ..FaultRule::new(status, path.split("{Sid}").next().unwrap_or(path))
            };
            world.emulator.add_fault(rule).expect("a valid fault rule");
        }
    }
}

/// Whether the fault at `point` answered its request: the status the proxy passed on (none for
/// a dropped connection or a request given up), or the emulator's log.
fn fault_fired(world: &World, point: &Point, kind: Kind) -> bool {
    let expected: &[u16] = match (kind, point.twilio) {
        (Kind::DroppedConnection | Kind::Latency, _) => &[0],
        (Kind::ServerError, _) => &[500],
        (Kind::Throttled, false) => &[503, 400],
        (Kind::Throttled, true) => &[429],
        (Kind::OperationAborted, _) => &[409],
    };
    let seen = proxy_of(world, point)
        .requests()
        .into_iter()
        .filter(|request| operation_shape(&request.operation) == point.operation)
        .nth(point.nth);
    seen.is_some_and(|request| expected.contains(&request.status))
}

/// Each write of the apply under test gets one fault, the kinds taken in turn (the fault matrix
/// gives a fresh apply every kind at every request); each apply either succeeds or fails
/// naming the operation, and the next converges.
#[expect(clippy::print_stderr, reason = "the counts are the report of this test")]
async fn fault_matrix(name: &str, world: World, scenario: impl Scenario) {
    prepare(&world, &scenario).await;
    let apply = reliability::apply(&world).request_timeout(SHORT_TIMEOUT).await;
    assert_eq!(apply.code, Some(0), "a clean apply fails:\n{apply}");
    let mut points = write_points(false, &world.aws.requests());
    points.extend(write_points(true, &world.twilio.requests()));

    let (mut applied, mut failed_cleanly, mut tally) = (0, 0, Tally::default());
    for (index, point) in points.iter().enumerate() {
        let kinds: &[Kind] = if point.twilio { &TWILIO_FAULT_KINDS } else { &AWS_FAULT_KINDS };
        let kind = kinds[index % kinds.len()];
        prepare(&world, &scenario).await;
        world.clear_emulator_faults().await;
        inject(&world, point, kind);
        let run = reliability::apply(&world).request_timeout(SHORT_TIMEOUT).await;
        let case = format!("{name}: {kind:?} at {point}");
        match run.code {
            Some(0) => applied += 1,
            Some(1) if names_an_operation(&run.stderr) => failed_cleanly += 1,
            other => tally.problems.push(format!("{case}: exited {other:?} without naming an operation\n{run}")),
        }
        world.settled().await;
        if !fault_fired(&world, point, kind) {
            tally.problems.push(format!("{case}: the fault never answered its request"));
        }
        world.aws.clear();
        world.twilio.clear();
        world.clear_emulator_faults().await;
        tally.converge(&world, &case).await;
    }
    eprintln!(
        "fault safety ({name}): {} runs, one fault per write, {applied} applied despite the fault, {failed_cleanly} \
         failed with a clear error, {} converged, {} orphans left",
        points.len(),
        tally.converged,
        tally.orphans
    );
    assert_eq!(tally.orphans, 0, "orphans were left:\n{}", tally.problems.join("\n"));
    assert!(tally.problems.is_empty(), "{} runs went wrong:\n{}", tally.problems.len(), tally.problems.join("\n\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_every_resource_type_survives_a_fault_at_any_write() {
    fault_matrix("update", world().start().await, UpdateEverything).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_before_destroy_replacement_survives_a_fault_at_any_write() {
    fault_matrix("replacement", world().start().await, ReplaceKeys).await;
}
