//! Crash safety: `stowage apply` killed (SIGKILL) at every request of a fresh apply of
//! `examples/dev.toml`, AWS and Twilio alike, and then applied again, must converge with
//! nothing orphaned: no access key and no Twilio credential that the state does not record.
//!
//! Each kill is synchronised on an event, never on time: the proxy in front of moto or of the
//! emulator holds the chosen request's answer (the change is made, the client never learns of
//! it: the worst moment to die) and tells the test, which kills the process there.

mod common;
mod reliability;

use common::world;
use reliability::{SHORT_TIMEOUT, Tally, copy_fixture, encrypted_spec, kill_apply_at_hold};
use stowage_test_support::{Fault, FaultAction, FaultMatch, World};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Aws,
    Twilio,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_killed_at_any_request_converges_on_the_next_run() {
    crash_matrix("dev", world().start().await).await;
}

/// The same with everything that encrypts: a KMS key stowage creates (tagged with the intent's
/// marker, adopted when a kill left it) and a Twilio public key for recordings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_apply_killed_at_any_request_converges_on_the_next_run() {
    let world = world().spec(&encrypted_spec("recordings.pem")).start().await;
    copy_fixture(&world, "recordings-2025.pem", "recordings.pem");
    crash_matrix("encrypted", world).await;
}

#[expect(clippy::print_stderr, reason = "the counts are the report of this test")]
async fn crash_matrix(name: &str, world: World) {
    // A clean apply first: how many requests each side sees, and that the checks pass at all.
    let apply = reliability::apply(&world).request_timeout(SHORT_TIMEOUT).await;
    assert_eq!(apply.code, Some(0), "a clean apply fails:\n{apply}");
    let positions = [(Side::Aws, world.aws.requests().len()), (Side::Twilio, world.twilio.requests().len())];
    let writes = world.aws.writes().len() + world.twilio.writes().len();
    assert_eq!(reliability::orphans(&world).await, Ok(Vec::new()), "a clean apply leaves orphans");
    assert!(positions.iter().all(|(_, count)| *count > 0) && writes > 0, "no requests seen: {positions:?}");

    let (mut runs, mut killed) = (0, 0);
    let mut tally = Tally::default();
    for (side, count) in positions {
        for position in 0..count {
            world.reset();
            runs += 1;
            let proxy = match side {
                Side::Aws => &world.aws,
                Side::Twilio => &world.twilio,
            };
            proxy.inject(Fault::new(FaultMatch::Nth(position), FaultAction::HoldAnswer, 1));
            let held = kill_apply_at_hold(&world, proxy).await;
            killed += usize::from(held.is_some());
            // Let go of the held connection before anything else runs.
            world.aws.clear();
            world.twilio.clear();
            tally.converge(&world, &format!("{side:?} request {position} ({})", held.unwrap_or_default())).await;
        }
    }

    eprintln!(
        "crash safety ({name}): {runs} runs, {killed} killed at a held request ({writes} writes in a clean apply), \
         {} converged ({} leftovers of interrupted applies deleted), {} orphans left",
        tally.converged, tally.leftovers, tally.orphans
    );
    tally.assert_clean(runs);
    assert_eq!(killed, runs, "every position of a clean apply is reached again");
}
