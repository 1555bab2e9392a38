//! Crash safety: `stowage apply` killed (SIGKILL) at every request of a fresh apply of
//! `examples/dev.toml`, AWS and Twilio alike, and then applied again, must converge with
//! nothing orphaned: no access key and no Twilio credential that the state does not record.
//!
//! Each kill is synchronised on an event, never on time: the proxy in front of moto or of the
//! emulator holds the chosen request's answer (the change is made, the client never learns of
//! it: the worst moment to die) and tells the test, which kills the process there.

mod reliability;

use reliability::{Rig, SHORT_TIMEOUT, Tally, describe};
use stowage_test_support::{Fault, FaultAction, FaultMatch};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Aws,
    Twilio,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_killed_at_any_request_converges_on_the_next_run() {
    crash_matrix("dev", Rig::new().await).await;
}

/// The same with everything that encrypts: a KMS key stowage creates (tagged with the intent's
/// marker, adopted when a kill left it) and a Twilio public key for recordings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_apply_killed_at_any_request_converges_on_the_next_run() {
    let spec = reliability::dev_spec()
        .replace("block_public_access = true\n", "block_public_access = true\nencryption = { kms_key = \"create\" }\n")
        .replace(
            "[recordings]\nstore_in_s3 = true\n",
            "[recordings]\nstore_in_s3 = true\nencryption_public_key = \"recordings.pem\"\n",
        );
    let rig = Rig::with_spec(&spec).await;
    let pem = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recordings-2025.pem");
    std::fs::copy(pem, rig.sandbox.path().join("recordings.pem")).expect("the key is copied");
    crash_matrix("encrypted", rig).await;
}

#[expect(clippy::print_stderr, reason = "the counts are the report of this test")]
async fn crash_matrix(name: &str, rig: Rig) {
    // A clean apply first: how many requests each side sees, and that the checks pass at all.
    let apply = rig.run(&as_str(&rig.apply_args()), SHORT_TIMEOUT).await;
    assert_eq!(apply.status.code(), Some(0), "a clean apply fails:\n{}", describe(&apply));
    let positions = [(Side::Aws, rig.aws.requests().len()), (Side::Twilio, rig.twilio.requests().len())];
    let writes = rig.aws.writes().len() + rig.twilio.writes().len();
    assert_eq!(rig.orphans().await, Ok(Vec::new()), "a clean apply leaves orphans");
    assert!(positions.iter().all(|(_, count)| *count > 0) && writes > 0, "no requests seen: {positions:?}");

    let (mut runs, mut killed) = (0, 0);
    let mut tally = Tally::default();
    for (side, count) in positions {
        for position in 0..count {
            rig.reset().await;
            runs += 1;
            let proxy = match side {
                Side::Aws => &rig.aws,
                Side::Twilio => &rig.twilio,
            };
            proxy.inject(Fault::new(FaultMatch::Nth(position), FaultAction::HoldAnswer, 1));
            let held = rig.kill_at_hold(proxy).await;
            killed += usize::from(held.is_some());
            // Let go of the held connection before anything else runs.
            rig.aws.clear();
            rig.twilio.clear();
            tally.converge(&rig, &format!("{side:?} request {position} ({})", held.unwrap_or_default())).await;
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

fn as_str(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
