//! The local state file as a `StateStore`: a write replaces only the serial it expects, a
//! failed commit changes nothing, and the lock is taken and waited for without blocking.

use std::fs;
use std::time::Duration;

use stowage_state::{LocalStateFile, LockError, LockMode, LockRequest, State, StateError, StateStore};

fn store(directory: &tempfile::TempDir) -> LocalStateFile {
    LocalStateFile::new(directory.path().join("state.json"))
}

fn state_at(serial: u64) -> State {
    let mut state = State::new("dev", "0.1.0");
    state.lineage = "0b9d1c3e-6f2a-4e8b-9c1d-2a3b4c5d6e7f".parse().expect("a uuid");
    state.serial = serial;
    state
}

fn message(error: &StateError, directory: &tempfile::TempDir) -> String {
    error.to_string().replace(&directory.path().display().to_string(), "[TEMP]")
}

fn request(mode: LockMode, timeout: Duration) -> LockRequest {
    LockRequest {
        mode,
        operation: "apply".to_owned(),
        user: "alice".to_owned(),
        host: "build-7".to_owned(),
        stowage_version: "0.1.0".to_owned(),
        timeout,
    }
}

#[tokio::test]
async fn the_first_commit_of_a_new_state_expects_no_state() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = store(&directory);
    let mut state = state_at(0);

    assert_eq!(store.read().await.expect("read"), None);
    store.commit(&mut state).await.expect("committed");

    assert_eq!(state.serial, 1);
    assert_eq!(store.read().await.expect("read"), Some(state));
    assert_eq!(store.location(), store.path().display().to_string());
}

#[tokio::test]
async fn a_write_over_another_serial_is_refused_and_writes_nothing() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = store(&directory);
    // Another run moved the state to serial 5 after this one read serial 4.
    store.overwrite(&state_at(5)).expect("written");
    let before = fs::read(store.path()).expect("readable");
    let mut stale = state_at(4);

    let error = store.commit(&mut stale).await.expect_err("refused");

    assert!(matches!(error, StateError::Conflict { expected_serial: 4, .. }), "{error:?}");
    insta::assert_snapshot!(message(&error, &directory), @"state `[TEMP]/state.json` changed since this run read it: this run read serial 4 of lineage 0b9d1c3e-6f2a-4e8b-9c1d-2a3b4c5d6e7f, it now holds serial 5 of lineage 0b9d1c3e-6f2a-4e8b-9c1d-2a3b4c5d6e7f; nothing was written: run stowage again, it starts from what the state holds now");
    assert_eq!(stale.serial, 4, "a failed commit keeps the serial the state was read at");
    assert_eq!(fs::read(store.path()).expect("readable"), before, "the stored state is untouched");
    assert!(!store.backup_path().exists(), "nothing was backed up either");
}

#[tokio::test]
async fn a_write_over_another_lineage_or_a_vanished_state_is_refused() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = store(&directory);

    // Read at serial 2, then the file was removed.
    let error = store.write(&state_at(3), 2).await.expect_err("no state to replace");
    assert!(message(&error, &directory).contains("it now holds no state"), "{error}");

    // A new state, while another run already wrote one.
    store.overwrite(&state_at(1)).expect("written");
    let mut other = State::new("dev", "0.1.0");
    let error = store.commit(&mut other).await.expect_err("another run's state is there");
    assert!(message(&error, &directory).contains("this run read no state, it now holds serial 1"), "{error}");

    // The same serial of another lineage: another state, restored over this one.
    let mut same_serial = State::new("dev", "0.1.0");
    same_serial.serial = 1;
    let error = store.commit(&mut same_serial).await.expect_err("another lineage");
    assert!(matches!(error, StateError::Conflict { expected_serial: 1, .. }), "{error:?}");

    // Not a state at all.
    fs::write(store.path(), "not json").expect("written");
    let error = store.commit(&mut state_at(1)).await.expect_err("damaged");
    assert!(
        message(&error, &directory).contains("it now holds a file that is not a state stowage can read"),
        "{error}"
    );
}

#[tokio::test]
async fn an_exclusive_lock_keeps_others_out_until_dropped_and_a_waiter_gets_it_then() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = store(&directory);

    let held = store.lock(&request(LockMode::Exclusive, Duration::ZERO)).await.expect("locked");
    let refused = store.lock(&request(LockMode::Shared, Duration::ZERO)).await.expect_err("held");
    assert!(matches!(refused, LockError::Held { holder: Some(_), .. }), "{refused:?}");

    // Released by another task while this one waits: the wait does not block the runtime.
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(held);
    });
    let waited =
        store.lock(&request(LockMode::Exclusive, Duration::from_secs(10))).await.expect("locked after waiting");
    release.await.expect("released");
    assert_eq!(waited.mode(), LockMode::Exclusive);
}
