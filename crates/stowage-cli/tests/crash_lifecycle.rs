//! Crash and fault safety beyond a fresh apply: `stowage apply` killed (SIGKILL) at every
//! write, or given a fault at every write, of an apply that updates every resource type and of
//! one that replaces the access key and Twilio credential and the Twilio public key (create
//! before destroy), both on the encrypted example; and a recovering apply killed a second time.
//! The next apply must converge with nothing orphaned.
//!
//! Points are named by operation and occurrence (`CreateAccessKey` #0), not by arrival index:
//! concurrent steps reorder requests between runs, and a kill must land on the same change
//! each time (the matrices are `reliability`'s, shared with `rotation_safety.rs`). Only writes
//! are enumerated here: dying before a write is dying after the read before it, which the
//! fresh-apply matrix of `crash.rs` covers at every request.

mod common;
mod reliability;

use common::world;
use reliability::{
    Kinds, Requests, SHORT_TIMEOUT, Scenario, Tally, after_kill, apply_clean, copy_fixture, crash_matrix,
    encrypted_spec, fault_matrix, hold_at, kill_apply_at_hold, points, proxy_of,
};
use stowage_test_support::World;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_every_resource_type_killed_at_any_write_converges() {
    crash_matrix("update", world().start().await, UpdateEverything, Requests::Writes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_before_destroy_replacement_killed_at_any_write_converges() {
    let tally = crash_matrix("replacement", world().start().await, ReplaceKeys, Requests::Writes).await;
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
    let points = points(&world, Requests::Writes);

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

/// Each write of the apply under test gets one fault, the kinds taken in turn (the fault matrix
/// of `faults.rs` gives a fresh apply every kind at every request); each apply either succeeds
/// or fails naming the operation, and the next converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_every_resource_type_survives_a_fault_at_any_write() {
    fault_matrix("update", world().start().await, UpdateEverything, Requests::Writes, Kinds::InTurn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_before_destroy_replacement_survives_a_fault_at_any_write() {
    fault_matrix("replacement", world().start().await, ReplaceKeys, Requests::Writes, Kinds::InTurn).await;
}
