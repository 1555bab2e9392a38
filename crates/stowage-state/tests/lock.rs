//! The state lock through its public API. Two guards in one process conflict just as two
//! processes do: the OS lock belongs to each open file, not to the process.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stowage_state::lock::{lock_info_path, lock_path, read_info};
use stowage_state::{LockError, LockInfo, LockMode, LockRequest, StateLock, force_unlock};

fn request(mode: LockMode, operation: &str) -> LockRequest {
    LockRequest {
        mode,
        operation: operation.to_owned(),
        user: "alice".to_owned(),
        host: "build-7".to_owned(),
        stowage_version: "0.1.0".to_owned(),
        timeout: Duration::ZERO,
    }
}

fn exclusive(state: &Path) -> Result<StateLock, LockError> {
    StateLock::acquire(state, &request(LockMode::Exclusive, "apply"))
}

fn shared(state: &Path) -> Result<StateLock, LockError> {
    StateLock::acquire(state, &request(LockMode::Shared, "plan"))
}

/// A state path in a fresh directory; the state file itself need not exist.
fn state_in(directory: &tempfile::TempDir) -> PathBuf {
    directory.path().join("dev.state.json")
}

fn held_by(error: LockError) -> Option<LockInfo> {
    match error {
        LockError::Held { holder, .. } => holder.map(|holder| *holder),
        other => panic!("expected the lock to be held, got: {other}"),
    }
}

#[test]
fn a_second_exclusive_lock_is_refused_naming_the_first_holder() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let first = exclusive(&state).expect("the first lock is free");

    let error = exclusive(&state).expect_err("the second exclusive lock must be refused");
    let message = error.to_string();
    let holder = held_by(error).expect("an exclusive holder is recorded");
    assert_eq!(&holder, first.info());
    assert_eq!(holder.operation, "apply");
    assert_eq!(holder.pid, std::process::id());
    assert!(message.contains(&first.info().id.to_string()), "{message}");
    assert!(message.contains("--lock-timeout"), "{message}");
    assert!(message.contains(&format!("stowage force-unlock {}", first.info().id)), "{message}");
}

#[test]
fn the_info_file_names_the_holder_and_is_private() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let lock = exclusive(&state).unwrap();

    let recorded: serde_json::Value = serde_json::from_slice(&fs::read(lock_info_path(&state)).unwrap()).unwrap();
    assert_eq!(recorded["id"], lock.info().id.to_string());
    assert_eq!(recorded["operation"], "apply");
    assert_eq!(recorded["user"], "alice");
    assert_eq!(recorded["host"], "build-7");
    assert_eq!(recorded["pid"], std::process::id());
    assert_eq!(recorded["stowage_version"], "0.1.0");
    let started_at = recorded["started_at"].as_str().unwrap();
    assert!(started_at.parse::<jiff::Timestamp>().is_ok(), "not RFC 3339: {started_at}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(lock_info_path(&state)).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(lock_path(&state)).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn shared_locks_coexist_and_record_no_holder() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let first = shared(&state).expect("a shared lock on a free state");
    let second = shared(&state).expect("a second shared lock alongside the first");

    assert_ne!(first.info().id, second.info().id);
    assert!(!lock_info_path(&state).exists(), "shared holders write no info file");
}

#[test]
fn an_exclusive_lock_is_refused_while_a_shared_one_is_held() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let _reader = shared(&state).unwrap();

    let error = exclusive(&state).expect_err("a writer must wait for readers");
    let message = error.to_string();
    assert_eq!(held_by(error), None, "readers record no holder");
    assert!(message.contains("read-only runs"), "{message}");
    assert!(!lock_info_path(&state).exists(), "a refused writer records nothing");
}

#[test]
fn a_shared_lock_is_refused_while_an_exclusive_one_is_held() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let writer = exclusive(&state).unwrap();

    let error = shared(&state).expect_err("a reader must wait for the writer");
    assert_eq!(held_by(error).as_ref(), Some(writer.info()));
    assert_eq!(read_info(&state).unwrap().as_ref(), Some(writer.info()), "the writer's record is intact");
}

#[test]
fn dropping_the_guard_releases_the_lock_and_removes_its_record() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let first = exclusive(&state).unwrap();
    let first_id = first.info().id;
    drop(first);

    assert!(!lock_info_path(&state).exists(), "the info file goes with the lock");
    assert!(lock_path(&state).exists(), "the lock file stays, so waiters and newcomers lock the same file");
    let second = exclusive(&state).expect("the lock is free again");
    assert_ne!(second.info().id, first_id);
    assert_eq!(second.took_over(), None, "nothing stale was left");
}

#[test]
fn a_stale_info_file_whose_holder_died_is_taken_over() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    // What a killed holder leaves: its record, and no OS lock (the kernel released it).
    let dead = LockInfo {
        id: "0b9d1c3e-6f2a-4e8b-9c1d-2a3b4c5d6e7f".parse().unwrap(),
        operation: "apply".to_owned(),
        user: "bob".to_owned(),
        host: "build-3".to_owned(),
        pid: 999_999,
        started_at: "2026-01-01T00:00:00Z".to_owned(),
        stowage_version: "0.1.0".to_owned(),
    };
    fs::write(lock_info_path(&state), serde_json::to_vec(&dead).unwrap()).unwrap();

    let lock = exclusive(&state).expect("a dead holder's record is no reason to refuse");
    assert_eq!(lock.took_over(), Some(&dead));
    assert_eq!(read_info(&state).unwrap().as_ref(), Some(lock.info()), "the record is now ours");
}

#[test]
fn a_reader_clears_a_stale_record_so_nobody_is_blamed_for_its_lock() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let writer = exclusive(&state).unwrap();
    let dead = writer.info().clone();
    // A holder killed before it could clean up: the record stays, the OS lock goes.
    fs::copy(lock_info_path(&state), directory.path().join("saved")).unwrap();
    drop(writer);
    fs::copy(directory.path().join("saved"), lock_info_path(&state)).unwrap();

    let reader = shared(&state).expect("a dead writer does not block readers");
    assert_eq!(reader.took_over(), Some(&dead));
    assert!(!lock_info_path(&state).exists());
    let error = exclusive(&state).expect_err("the reader holds the lock");
    assert_eq!(held_by(error), None, "the dead writer is not named as the holder");
}

#[test]
fn a_timeout_waits_and_then_refuses_with_how_long_it_waited() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let _writer = exclusive(&state).unwrap();

    let timeout = Duration::from_millis(200);
    let started = Instant::now();
    let error = StateLock::acquire(&state, &LockRequest { timeout, ..request(LockMode::Exclusive, "apply") })
        .expect_err("the holder never lets go");
    assert!(started.elapsed() >= timeout, "gave up after {:?}", started.elapsed());
    assert!(matches!(error, LockError::Held { waited, .. } if waited == timeout));
    assert!(error.to_string().contains("after waiting 0.2s"), "{error}");
}

#[test]
fn a_timeout_gets_the_lock_once_the_holder_lets_go() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let writer = exclusive(&state).unwrap();
    let writer_id = writer.info().id;
    let (acquired, result) = std::sync::mpsc::channel();

    let waiter_state = state.clone();
    let waiter = std::thread::spawn(move || {
        let request = LockRequest { timeout: Duration::from_secs(30), ..request(LockMode::Exclusive, "apply") };
        let _ = acquired.send(StateLock::acquire(&waiter_state, &request).map(|lock| lock.info().id));
    });
    drop(writer);
    let id = result.recv_timeout(Duration::from_secs(30)).expect("the waiter finished").expect("the waiter got it");
    waiter.join().unwrap();
    assert!(!lock_info_path(&state).exists(), "the waiter released it in turn");
    assert_ne!(id, writer_id);
}

#[test]
fn force_unlock_refuses_a_wrong_id_and_removes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let lock = exclusive(&state).unwrap();

    for wrong in ["0b9d1c3e-6f2a-4e8b-9c1d-2a3b4c5d6e7f", "not-a-uuid"] {
        let error = force_unlock(&state, wrong).expect_err("a wrong id must be refused");
        assert!(matches!(&error, LockError::IdMismatch { holder, .. } if **holder == *lock.info()), "{error}");
        assert!(error.to_string().contains("nothing was removed"), "{error}");
        assert!(lock_info_path(&state).exists() && lock_path(&state).exists());
    }
}

#[test]
fn force_unlock_with_the_right_id_removes_the_record_and_the_lock_file() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let lock = exclusive(&state).unwrap();
    let id = lock.info().id.to_string();

    let unlocked = force_unlock(&state, &id).expect("the right id unlocks");
    assert_eq!(&unlocked.holder, lock.info());
    assert_eq!(unlocked.removed, vec![lock_info_path(&state), lock_path(&state)]);
    // The unlocked state can be locked again at once, even though the old holder is alive.
    let newcomer = exclusive(&state).expect("force-unlock frees the state");
    // The old holder's drop must not remove the newcomer's record.
    drop(lock);
    assert_eq!(read_info(&state).unwrap().as_ref(), Some(newcomer.info()));
}

#[test]
fn force_unlock_without_a_recorded_lock_says_there_is_nothing_to_unlock() {
    let directory = tempfile::tempdir().unwrap();
    let state = state_in(&directory);
    let _reader = shared(&state).unwrap();

    let error = force_unlock(&state, "0b9d1c3e-6f2a-4e8b-9c1d-2a3b4c5d6e7f").expect_err("no lock is recorded");
    assert!(matches!(error, LockError::NotLocked { .. }), "{error}");
    assert!(lock_path(&state).exists(), "the readers' lock file is left alone");
}

#[test]
fn a_state_in_a_missing_directory_cannot_be_locked_and_says_where() {
    let directory = tempfile::tempdir().unwrap();
    let state = directory.path().join("missing").join("dev.state.json");
    let error = exclusive(&state).expect_err("no directory, no lock file");
    assert!(matches!(error, LockError::Io { step: "opening", .. }), "{error}");
    assert!(error.to_string().contains("dev.state.json.lock"), "{error}");
}
