//! Waiting for AWS to propagate a new access key, end to end. moto knows a new key at once;
//! real S3 refuses it for a few seconds (`InvalidAccessKeyId`, then `AccessDenied` while the
//! user's policy propagates, or a `KMS.*` error S3 passes on while KMS does not see the user
//! yet). The proxy answers the write test's first `PutObject`s that way, and the apply must wait
//! it out, saying so on stderr; an error waiting cannot fix must fail at once.

mod common;

use common::world;
use stowage_test_support::{Fault, FaultAction, FaultMatch, World, assert_exit};

/// How long stowage waits for AWS to propagate a new key.
const WINDOW_VARIABLE: &str = "STOWAGE_PROPAGATION_WINDOW";
/// Long enough for the few retries below; the default against a loopback endpoint is none.
const WINDOW: &str = "30s";

fn put_object_answers(world: &World, status: u16, code: &str, times: usize) {
    world.aws.inject(Fault::new(
        FaultMatch::Operation("PutObject".to_owned()),
        FaultAction::Error { status, code: code.to_owned() },
        times,
    ));
}

fn put_objects(world: &World) -> Vec<u16> {
    world.aws.requests().into_iter().filter(|request| request.operation == "PutObject").map(|r| r.status).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_key_s3_does_not_know_yet_is_waited_for_with_a_progress_line() {
    let world = world().start().await;
    put_object_answers(&world, 403, "InvalidAccessKeyId", 2);
    put_object_answers(&world, 400, "KMS.NotFoundException", 1);

    let apply = world.stowage(&["apply", "dev.toml", "--auto-approve"]).env(WINDOW_VARIABLE, WINDOW).await;
    assert_exit(&apply, 0);
    let waits: Vec<String> = apply
        .stderr
        .lines()
        .filter(|line| line.starts_with("waiting for AWS to propagate the new access key, "))
        .map(str::to_owned)
        .collect();
    assert_eq!(waits.len(), 3, "one line per wait:\n{}", apply.stderr);
    // Three refusals, then the write under each of the two prefixes.
    assert_eq!(put_objects(&world), vec![403, 403, 400, 200, 200]);
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_kms_key_is_not_waited_for() {
    let world = world().start().await;
    put_object_answers(&world, 400, "KMS.DisabledException", 1);

    let apply = world.stowage(&["apply", "dev.toml", "--auto-approve"]).env(WINDOW_VARIABLE, WINDOW).await;
    assert_exit(&apply, 1);
    let printed = apply.stderr;
    assert!(!printed.contains("waiting for AWS"), "waited for what waiting cannot fix:\n{printed}");
    assert!(printed.contains("write test failed"), "{printed}");
    assert_eq!(put_objects(&world), vec![400], "one attempt only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_that_is_not_a_duration_is_refused_before_anything_is_done() {
    let world = world().start().await;
    let apply = world.stowage(&["apply", "dev.toml", "--auto-approve"]).env(WINDOW_VARIABLE, "two minutes").await;
    assert_exit(&apply, 1);
    assert!(world.aws.writes().is_empty());
    insta::assert_snapshot!(apply.stderr);
}
