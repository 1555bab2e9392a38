//! The state lock, end to end: two runs on one state never interleave. The other run is
//! either this test holding the lock through the library, or a second `stowage` process. Every
//! wait is for a condition (a lock info file, a line on stderr), bounded in time.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::world;
use stowage_state::lock::{lock_info_path, lock_path, read_info};
use stowage_state::{LockInfo, LockMode, LockRequest, StateLock};
use stowage_test_support::{Fault, FaultAction, FaultMatch, RUN_TIMEOUT, Running, World, assert_exit, insta_filters};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Every resource `examples/dev.toml` declares.
const ALL_RESOURCES: [&str; 7] = [
    "aws_iam_access_key.uploader",
    "aws_iam_user.uploader",
    "aws_iam_user_policy.uploader",
    "aws_s3_bucket.main",
    "twilio_aws_credential.main",
    "twilio_video_composition_settings.main",
    "twilio_video_recording_settings.main",
];

fn state_path(world: &World) -> PathBuf {
    world.state_path()
}

/// The lock as another run would hold it, taken by this test through the library.
fn hold(world: &World, mode: LockMode) -> StateLock {
    let request = LockRequest {
        mode,
        operation: "apply".to_owned(),
        user: "alice".to_owned(),
        host: "build-7".to_owned(),
        stowage_version: "0.1.0".to_owned(),
        timeout: Duration::ZERO,
    };
    StateLock::acquire(&state_path(world), &request).expect("the state is free")
}

/// Starts `apply` with its first AWS request held by the proxy, and returns once that request
/// arrived: the run took the lock before reading anything, so it holds it now. Returns the
/// child and its lock record. Nothing waits on time: the hold is an event.
async fn apply_holding_the_lock(world: &World) -> (Running, LockInfo) {
    world.aws.inject(Fault::new(FaultMatch::Nth(0), FaultAction::HoldRequest, 1));
    let running = world.stowage(&["apply", "dev.toml", "--auto-approve"]).spawn();
    tokio::time::timeout(RUN_TIMEOUT, world.aws.held()).await.expect("the apply reached AWS in time");
    let info = read_info(&state_path(world)).unwrap().expect("the holder recorded itself before any request");
    (running, info)
}

fn recorded_addresses(world: &World) -> Vec<String> {
    let state = common::state(&state_path(world));
    state.resources.iter().map(|resource| resource.address.clone()).collect()
}

/// What varies in a refusal: the lock id, the holder's pid and start time.
fn lock_filters() -> Vec<(&'static str, &'static str)> {
    let mut filters = insta_filters();
    filters.push((r"\(pid \d+\)", "(pid [PID])"));
    filters.push((r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z", "[TIME]"));
    filters
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_is_refused_while_another_run_holds_the_lock_and_changes_nothing() {
    let world = world().start().await;
    let holder = hold(&world, LockMode::Exclusive);

    let refused = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&refused, 1);
    let message = refused.stderr;
    assert!(message.contains(&holder.info().id.to_string()), "{message}");
    assert_eq!(world.aws.requests(), vec![], "a refused apply must not even read AWS");
    assert_eq!(world.emulator.requests(), vec![], "a refused apply must not reach Twilio");
    assert!(!state_path(&world).exists(), "a refused apply writes no state");
    assert_eq!(read_info(&state_path(&world)).unwrap().as_ref(), Some(holder.info()), "the holder's record is intact");
    insta::with_settings!({filters => lock_filters()}, {
        insta::assert_snapshot!("refused_apply", message);
    });

    // `--lock=false` is no way around it for a command that writes.
    let unlocked = world.stowage(&["apply", "dev.toml", "--auto-approve", "--lock=false"]).await;
    assert_exit(&unlocked, 1);
    assert!(unlocked.stderr.contains("always takes the state lock"), "{}", unlocked.stderr);
    assert_eq!(world.aws.writes(), vec![]);
    assert!(!state_path(&world).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_concurrent_applies_the_second_is_refused_and_the_first_completes() {
    let world = world().start().await;
    // Apply A waits on its first AWS read, lock in hand, until the proxy lets go.
    let (first, holder) = apply_holding_the_lock(&world).await;
    assert_eq!(holder.operation, "apply");
    assert_eq!(Some(holder.pid), first.child.id());

    let second = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&second, 1);
    assert!(second.stderr.contains(&holder.id.to_string()), "{}", second.stderr);

    // Let go: the held read fails like a dropped connection, and the SDK retries it.
    world.aws.clear();
    let first = first.finish().await;
    assert_exit(&first, 0);
    assert_eq!(recorded_addresses(&world), ALL_RESOURCES);
    assert!(!lock_info_path(&state_path(&world)).exists(), "A released the lock");
    let plan = world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await;
    assert_exit(&plan, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_holder_leaves_no_stuck_lock() {
    let world = world().start().await;
    let (mut first, dead) = apply_holding_the_lock(&world).await;
    first.child.start_kill().expect("SIGKILL sent");
    let killed = first.finish().await;
    assert_eq!(killed.code, None, "killed by a signal");
    assert_eq!(read_info(&state_path(&world)).unwrap(), Some(dead.clone()), "a killed run cannot clean up");

    world.aws.clear();
    let next = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&next, 0);
    let message = next.stderr;
    assert!(message.contains("took over the lock") && message.contains(&dead.id.to_string()), "{message}");
    assert_eq!(recorded_addresses(&world), ALL_RESOURCES);
    assert!(!lock_info_path(&state_path(&world)).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_timeout_waits_for_the_holder_and_then_applies() {
    let world = world().start().await;
    let holder = hold(&world, LockMode::Exclusive);
    let mut waiting = world.stowage(&["apply", "dev.toml", "--auto-approve", "--lock-timeout", "2m"]).spawn();

    // The run says it waits, and for whom; only then does the holder let go.
    let mut lines = BufReader::new(waiting.child.stderr.take().expect("stderr is piped")).lines();
    let announcement = tokio::time::timeout(RUN_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.expect("stderr is readable") {
            if line.starts_with("waiting") {
                return line;
            }
        }
        panic!("stowage ended without saying it waits");
    })
    .await
    .expect("the run said it waits, in time");
    assert!(announcement.starts_with("waiting up to 2m for the lock on state `dev.state.json`"), "{announcement}");
    assert!(announcement.contains(&holder.info().id.to_string()), "{announcement}");
    assert_eq!(world.aws.requests(), vec![], "nothing is read while waiting");
    drop(holder);

    let rest = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push(line);
        }
        rest.join("\n")
    });
    let output = waiting.finish().await;
    assert_eq!(output.code, Some(0), "stderr:\n{}", rest.await.unwrap());
    assert_eq!(recorded_addresses(&world), ALL_RESOURCES);
}

#[tokio::test(flavor = "multi_thread")]
async fn force_unlock_removes_only_the_lock_with_the_given_id() {
    let world = world().start().await;
    let holder = hold(&world, LockMode::Exclusive);
    let id = holder.info().id.to_string();
    let state = state_path(&world);

    let wrong = world.stowage(&["force-unlock", "0b9d1c3e-6f2a-4e8b-9c1d-2a3b4c5d6e7f", "dev.toml"]).await;
    assert_exit(&wrong, 1);
    assert!(wrong.stderr.contains("nothing was removed") && wrong.stderr.contains(&id), "{}", wrong.stderr);
    assert!(lock_info_path(&state).exists() && lock_path(&state).exists());

    let right = world.stowage(&["force-unlock", &id, "--state", "dev.state.json"]).await;
    assert_exit(&right, 0);
    let said = right.stderr;
    assert!(said.contains(&format!("removed the lock {id}")), "{said}");
    assert!(said.contains("dev.state.json.lock.info") && said.contains("`dev.state.json.lock`"), "{said}");
    assert!(!lock_info_path(&state).exists() && !lock_path(&state).exists());

    // The state is free for the next run, and there is nothing left to unlock.
    let plan = world.stowage(&["plan", "dev.toml", "--out", "dev.plan"]).await;
    assert_exit(&plan, 0);
    let again = world.stowage(&["force-unlock", &id, "dev.toml"]).await;
    assert_exit(&again, 1);
    assert!(again.stderr.contains("no lock is recorded"), "{}", again.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_commands_share_the_lock_and_writers_wait_for_them() {
    let world = world().start().await;
    let reader = hold(&world, LockMode::Shared);

    let plan = world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await;
    assert_exit(&plan, 2);
    assert!(plan.stdout.contains("aws_s3_bucket.main"), "{}", plan.stdout);

    // Writers, `plan --out` included, wait for the readers.
    let saved = world.stowage(&["plan", "dev.toml", "--out", "dev.plan"]).await;
    assert_exit(&saved, 1);
    assert!(saved.stderr.contains("read-only runs"), "{}", saved.stderr);
    assert!(!world.sandbox.path().join("dev.plan").exists());
    let apply = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&apply, 1);
    assert_eq!(world.aws.writes(), vec![]);
    drop(reader);

    // A reader may also go without the lock, even past a writer.
    let writer = hold(&world, LockMode::Exclusive);
    let refused = world.stowage(&["plan", "dev.toml"]).await;
    assert_exit(&refused, 1);
    assert!(refused.stderr.contains(&writer.info().id.to_string()), "{}", refused.stderr);
    let unlocked = world.stowage(&["plan", "dev.toml", "--detailed-exitcode", "--lock=false"]).await;
    assert_exit(&unlocked, 2);
    assert_eq!(read_info(&state_path(&world)).unwrap().as_ref(), Some(writer.info()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_whose_state_directory_is_gone_can_still_be_shown() {
    let world = world().start().await;
    std::fs::create_dir(world.sandbox.path().join("states")).unwrap();
    let saved = world.stowage(&["plan", "dev.toml", "--state", "states/dev.state.json", "--out", "dev.plan"]).await;
    assert_exit(&saved, 0);
    std::fs::remove_dir_all(world.sandbox.path().join("states")).unwrap();

    // No state can be written where no directory is, so `show` has nothing to lock there
    // (as for a plan copied to another machine).
    let shown = world.stowage(&["show", "dev.plan"]).await;
    assert_exit(&shown, 0);
    assert!(shown.stdout.contains("aws_s3_bucket.main"), "{}", shown.stdout);
    assert!(!world.sandbox.path().join("states").exists(), "show created nothing");
}
