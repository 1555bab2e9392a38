//! Rotation's safety: `stowage rotate dev.toml --auto-approve` (a new access key and its write
//! test, a new Twilio credential, both settings repointed, then the old credential and the old
//! key deleted) killed (SIGKILL) at every request it sends, reads and writes, AWS's and
//! Twilio's alike, or given a fault at every request; after each, `stowage apply` must converge
//! with nothing orphaned. And at no moment anyone can look (after the clean rotation, after
//! each kill or faulted run before anything repairs it, after the apply that converges) may
//! Twilio's recording or composition settings point at a credential that is gone, or at one
//! whose access key is gone or inactive: Twilio would fail every upload until someone noticed.
//!
//! The matrices are `reliability`'s, shared with `crash_lifecycle.rs`: points named by
//! operation and occurrence, so each kill or fault lands on the same request every run. The
//! fault matrix gives every kind of fault at every request (over a hundred runs, under three
//! minutes on two cores), not the kinds in turn as `crash_lifecycle.rs` does.
//!
//! Which access key a Twilio credential holds, Twilio's API never answers; the emulator, which
//! stores it, tells the test (`RunningEmulator::aws_credential_key`), so the check holds what
//! Twilio would really write with, whatever stowage's state believes.

mod common;
mod reliability;

use std::collections::BTreeMap;
use std::time::Duration;

use common::world;
use reliability::{Kinds, Requests, Scenario, Tally, apply_clean, crash_matrix, fault_matrix};
use stowage_test_support::dev::USER;
use stowage_test_support::{World, dev_spec, within};

/// Far beyond what either matrix takes (about 15 seconds and under 3 minutes on two cores): a
/// bound, not an estimate.
const TEST_LIMIT: Duration = Duration::from_secs(10 * 60);

/// The dev environment applied, then rotated.
struct Rotation;

impl Scenario for Rotation {
    async fn before(&self, world: &World) {
        apply_clean(world, &dev_spec()).await;
    }

    fn command(&self) -> &'static str {
        "rotate"
    }

    async fn invariant(&self, world: &World) -> Option<Result<(), String>> {
        Some(settings_write_with_a_live_key(world).await)
    }
}

/// Both settings store in S3 with a credential Twilio has, holding an access key IAM has, and
/// that key is active.
async fn settings_write_with_a_live_key(world: &World) -> Result<(), String> {
    let keys = access_key_statuses(world).await;
    let mut problems = Vec::new();
    for settings in ["RecordingSettings", "CompositionSettings"] {
        let found = world.twilio_get(&format!("/v1/{settings}/Default")).await;
        if found["aws_storage_enabled"] != true {
            problems.push(format!("{settings} do not store in S3: {found}"));
        }
        let Some(sid) = found["aws_credentials_sid"].as_str() else {
            problems.push(format!("{settings} name no credential: {found}"));
            continue;
        };
        let pointing = format!("{settings} point at credential {sid}");
        let path = format!("/v1/Credentials/AWS/{sid}");
        let fetched = world.twilio_request(reqwest::Method::GET, &path).send().await.expect("the emulator answers");
        if fetched.status() != reqwest::StatusCode::OK {
            problems.push(format!("{pointing}, which Twilio answers with {}", fetched.status()));
            continue;
        }
        let Some(key) = world.emulator.aws_credential_key(sid) else {
            problems.push(format!("{pointing}, which holds no access key"));
            continue;
        };
        match keys.get(&key).map(String::as_str) {
            Some("Active") => {}
            Some(status) => problems.push(format!("{pointing}, whose access key {key} is {status}")),
            None => problems.push(format!("{pointing}, whose access key {key} is deleted")),
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// The uploader's access keys in IAM, each with its status (`Active`, `Inactive`).
async fn access_key_statuses(world: &World) -> BTreeMap<String, String> {
    let listed = world.moto.iam_client().list_access_keys().user_name(USER).send().await;
    let listed = listed.unwrap_or_else(|error| panic!("moto lists {USER}'s access keys: {error:?}"));
    listed
        .access_key_metadata()
        .iter()
        .filter_map(|key| Some((key.access_key_id()?.to_owned(), key.status()?.as_str().to_owned())))
        .collect()
}

/// The invariant was checked twice a run: after the kill or the fault, and after the next apply
/// (the matrices have already failed the test for any run that did not converge).
fn assert_checked_twice_a_run(tally: &Tally) {
    assert!(tally.converged > 0, "no run converged");
    assert_eq!(tally.checks, 2 * tally.converged, "the invariant is checked before and after each converging apply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_at_any_request_converges_and_never_strands_the_settings() {
    within(TEST_LIMIT, async {
        let tally = crash_matrix("rotation", world().start().await, Rotation, Requests::Every).await;
        assert_checked_twice_a_run(&tally);
        assert!(tally.leftovers > 0, "no kill left anything for the next apply to find: the intents went untested");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_given_any_fault_at_any_request_converges_and_never_strands_the_settings() {
    within(TEST_LIMIT, async {
        let tally = fault_matrix("rotation", world().start().await, Rotation, Requests::Every, Kinds::Every).await;
        assert_checked_twice_a_run(&tally);
    })
    .await;
}
