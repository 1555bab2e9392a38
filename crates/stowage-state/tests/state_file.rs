//! The local state file through its public API: round trips, atomic writes with a backup, file
//! modes, and every way a load can fail.

use std::fs;
use std::path::Path;

use serde_json::json;
use stowage_state::{LocalStateFile, ResourceState, State, StateError, StateStore, check_compatible};

fn bucket(name: &str) -> ResourceState {
    // Keys deliberately out of order: the file must list them sorted.
    let attributes = json!({
        "versioning": true,
        "tags": {"team": "video", "managed-by": "stowage"},
        "name": name,
    });
    ResourceState {
        address: "aws_s3_bucket.main".to_owned(),
        resource_type: "aws_s3_bucket".to_owned(),
        id: name.to_owned(),
        attributes: attributes.as_object().cloned().expect("an object"),
        depends_on: Vec::new(),
        tainted: None,
        deposed: Vec::new(),
        unproven: None,
    }
}

fn access_key(access_key_id: &str) -> ResourceState {
    ResourceState {
        address: "aws_iam_access_key.main".to_owned(),
        resource_type: "aws_iam_access_key".to_owned(),
        id: access_key_id.to_owned(),
        attributes: json!({"access_key_id": access_key_id, "user_name": "uploader"})
            .as_object()
            .cloned()
            .expect("an object"),
        depends_on: vec!["aws_iam_user.main".to_owned()],
        tainted: Some("its secret was lost before it reached Twilio".to_owned()),
        deposed: Vec::new(),
        unproven: None,
    }
}

fn sample_state() -> State {
    let mut state = State::new("dev", "0.1.0");
    state.lineage = "0b9d1c3e-6f2a-4e8b-9c1d-2a3b4c5d6e7f".parse().expect("a uuid");
    state.serial = 3;
    state.upsert(bucket("acme-video-dev"));
    state.upsert(access_key("AKIAIOSFODNN7EXAMPLE"));
    state
}

fn state_file(directory: &tempfile::TempDir) -> LocalStateFile {
    LocalStateFile::new(directory.path().join("state.json"))
}

fn file_names(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(directory)
        .expect("readable directory")
        .map(|entry| entry.expect("directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The error's message with the temporary directory's path replaced, for snapshots.
fn message(error: &StateError, directory: &tempfile::TempDir) -> String {
    error.to_string().replace(&directory.path().display().to_string(), "[TEMP]")
}

/// Loads `contents` from a fresh state file and returns the error message.
fn load_error(contents: &str) -> String {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = state_file(&directory);
    fs::write(file.path(), contents).expect("fixture written");
    let error = file.load().expect_err("the load must fail");
    message(&error, &directory)
}

#[test]
fn write_then_load_round_trips_serial_lineage_and_resources() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = state_file(&directory);
    let state = sample_state();

    file.overwrite(&state).expect("written");
    let loaded = file.load().expect("loaded").expect("the file exists");

    assert_eq!(loaded, state);
    assert_eq!(loaded.serial, 3);
    assert_eq!(loaded.lineage.to_string(), "0b9d1c3e-6f2a-4e8b-9c1d-2a3b4c5d6e7f");
}

#[test]
fn the_file_is_pretty_json_with_sorted_keys_and_a_trailing_newline() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = state_file(&directory);

    file.overwrite(&sample_state()).expect("written");

    let written = fs::read_to_string(file.path()).expect("readable");
    // Snapshots ignore trailing whitespace: check the newline on its own.
    assert!(written.ends_with("]\n}\n"), "no single trailing newline: {written:?}");
    insta::assert_snapshot!(written);
}

#[tokio::test]
async fn a_commit_writes_the_next_serial() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = state_file(&directory);
    let mut state = sample_state();
    let serial = state.serial;
    // The state as a run read it: a commit replaces the serial it was read at.
    file.overwrite(&state).expect("written");

    file.commit(&mut state).await.expect("committed");
    assert_eq!(state.serial, serial + 1);
    assert_eq!(file.load().expect("loaded").map(|loaded| loaded.serial), Some(serial + 1));
    state.upsert(bucket("acme-video-dev-2"));
    file.commit(&mut state).await.expect("committed again");
    assert_eq!(file.load().expect("loaded"), Some(state));
    assert_eq!(file.load().expect("loaded").map(|loaded| loaded.serial), Some(serial + 2));
}

#[test]
fn write_keeps_the_previous_state_as_backup_and_leaves_no_temporary_files() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = state_file(&directory);
    let mut state = sample_state();

    file.overwrite(&state).expect("first write");
    assert_eq!(file_names(directory.path()), ["state.json"], "no backup without a previous state");
    let first = fs::read(file.path()).expect("readable");

    state.serial += 1;
    state.upsert(bucket("acme-video-dev-2"));
    file.overwrite(&state).expect("second write");

    assert_eq!(file_names(directory.path()), ["state.json", "state.json.backup"]);
    assert_eq!(fs::read(file.backup_path()).expect("backup readable"), first);
    assert_eq!(file.load().expect("loaded"), Some(state));
}

#[test]
fn rewriting_an_unchanged_state_keeps_the_older_backup() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = state_file(&directory);
    let mut state = sample_state();
    file.overwrite(&state).expect("first write");
    let first = fs::read(file.path()).expect("readable");
    state.serial += 1;
    file.overwrite(&state).expect("second write");

    file.overwrite(&state).expect("the same state again");

    assert_eq!(fs::read(file.backup_path()).expect("backup readable"), first);
}

#[cfg(unix)]
#[test]
fn state_and_backup_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let directory = tempfile::tempdir().expect("temporary directory");
    let file = state_file(&directory);
    let mut state = sample_state();
    // A state file copied in by hand, readable by everyone.
    fs::write(file.path(), serde_json::to_vec(&state).expect("serializable")).expect("written");
    fs::set_permissions(file.path(), fs::Permissions::from_mode(0o644)).expect("chmod");

    state.serial += 1;
    file.overwrite(&state).expect("written");

    let mode = |path: &Path| fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(file.path()), 0o600, "state mode");
    assert_eq!(mode(&file.backup_path()), 0o600, "backup mode");
}

#[test]
fn a_failed_write_leaves_the_state_untouched_and_no_temporary_files() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = state_file(&directory);
    let mut state = sample_state();
    file.overwrite(&state).expect("first write");
    let first = fs::read(file.path()).expect("readable");
    // A non-empty directory where the backup goes: renaming over it fails.
    fs::create_dir_all(file.backup_path().join("in-the-way")).expect("directory created");

    state.serial += 1;
    let error = file.overwrite(&state).expect_err("the backup cannot be replaced");

    insta::assert_snapshot!(message(&error, &directory));
    assert_eq!(fs::read(file.path()).expect("readable"), first);
    assert_eq!(file_names(directory.path()), ["state.json", "state.json.backup"]);
}

#[test]
fn write_refuses_a_state_that_load_would_refuse() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = state_file(&directory);

    let mut duplicated = sample_state();
    duplicated.resources.push(bucket("acme-video-dev"));
    let mut mismatched = sample_state();
    mismatched.resources[0].resource_type = "aws_iam_user".to_owned();
    let mut wrong_version = sample_state();
    wrong_version.version = 0;

    let messages: Vec<String> = [duplicated, mismatched, wrong_version]
        .iter()
        .map(|state| message(&file.overwrite(state).expect_err("refused"), &directory))
        .collect();
    insta::assert_snapshot!(messages.join("\n"));
    assert_eq!(file.load().expect("nothing to load"), None, "nothing was written");
}

#[test]
fn load_of_a_missing_file_is_none() {
    let directory = tempfile::tempdir().expect("temporary directory");

    assert_eq!(state_file(&directory).load().expect("no error"), None);
}

#[test]
fn load_sorts_resources_edited_out_of_order() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = state_file(&directory);
    let mut document = serde_json::to_value(sample_state()).expect("serializable");
    document["resources"].as_array_mut().expect("an array").reverse();
    fs::write(file.path(), document.to_string()).expect("written");

    let loaded = file.load().expect("loaded").expect("the file exists");

    assert_eq!(loaded.addresses().collect::<Vec<_>>(), ["aws_iam_access_key.main", "aws_s3_bucket.main"]);
}

#[test]
fn load_of_an_unreadable_path() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = state_file(&directory);
    fs::create_dir(file.path()).expect("a directory where the file should be");

    let error = file.load().expect_err("a directory is not a state file");

    insta::assert_snapshot!(message(&error, &directory));
}

#[test]
fn load_of_a_file_that_is_not_json() {
    insta::assert_snapshot!(load_error("serial = 3\n"));
}

#[test]
fn load_of_a_truncated_file() {
    let complete = serde_json::to_string_pretty(&sample_state()).expect("serializable");

    insta::assert_snapshot!(load_error(&complete[..complete.len() / 2]));
}

#[test]
fn load_of_json_that_is_not_a_state() {
    let mut document = serde_json::to_value(sample_state()).expect("serializable");
    document["serial"] = json!("three");

    insta::assert_snapshot!(load_error(&serde_json::to_string_pretty(&document).expect("serializable")));
}

#[test]
fn load_of_a_newer_format_wins_over_fields_it_does_not_know() {
    let newer = json!({
        "version": 2,
        "stowage_version": "0.9.0",
        "resources": {"keyed": "differently"},
        "checksum": "whatever format 2 adds",
    });

    insta::assert_snapshot!(load_error(&newer.to_string()));
}

#[test]
fn load_of_a_newer_format_without_a_stowage_version() {
    insta::assert_snapshot!(load_error(r#"{"version": 7}"#));
}

#[test]
fn load_of_a_file_without_a_usable_version() {
    let messages = [r#"{"serial": 3}"#, r#"{"version": 0}"#, r#"{"version": "1"}"#, "[]"].map(load_error);

    insta::assert_snapshot!(messages.join("\n"));
}

#[test]
fn load_of_duplicate_addresses() {
    let mut document = serde_json::to_value(sample_state()).expect("serializable");
    let resources = document["resources"].as_array_mut().expect("an array");
    resources.push(resources[0].clone());

    insta::assert_snapshot!(load_error(&document.to_string()));
}

#[test]
fn load_of_a_resource_whose_address_does_not_match_its_type() {
    let messages = ["aws_iam_user.main", "aws_s3_bucket", "aws_s3_bucket."].map(|address| {
        let mut document = serde_json::to_value(sample_state()).expect("serializable");
        document["resources"][1]["address"] = json!(address);
        load_error(&document.to_string())
    });

    insta::assert_snapshot!(messages.join("\n"));
}

#[test]
fn a_state_of_another_environment_is_refused() {
    let state = State::new("prod", "0.1.0");

    assert!(check_compatible(&state, "prod").is_ok());
    let error = check_compatible(&state, "dev").expect_err("another environment");
    insta::assert_snapshot!(error.to_string());
}
