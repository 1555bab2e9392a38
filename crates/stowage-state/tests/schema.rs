//! The checked-in JSON Schema and the golden state files under `state-schema/`.

use std::fs;
use std::path::PathBuf;

use serde_json::{Value, json};
use stowage_state::{FORMAT_VERSION, LocalStateFile, State};

fn state_schema_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../state-schema")
}

fn checked_in_schema() -> Value {
    let path = state_schema_directory().join("state.v1.schema.json");
    serde_json::from_slice(&fs::read(&path).expect("schema readable")).expect("schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(&checked_in_schema())
        .expect("a valid draft 2020-12 schema")
}

fn validation_errors(document: &Value) -> Vec<String> {
    validator().iter_errors(document).map(|error| format!("{}: {error}", error.instance_path())).collect()
}

fn golden_v1() -> LocalStateFile {
    LocalStateFile::new(state_schema_directory().join("examples/v1.json"))
}

#[expect(clippy::disallowed_methods, reason = "UPDATE_SCHEMA=1 regenerates the checked-in schema")]
#[test]
fn checked_in_schema_matches_the_types() {
    let path = state_schema_directory().join("state.v1.schema.json");
    let generated = serde_json::to_string_pretty(&stowage_state::json_schema()).expect("serializable") + "\n";

    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|value| value == "1") {
        fs::write(&path, &generated).expect("schema written");
    }
    let checked_in = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date: regenerate it with `UPDATE_SCHEMA=1 cargo test -p stowage-state`",
        path.display()
    );
}

#[test]
fn the_schema_is_for_the_current_format() {
    assert_eq!(FORMAT_VERSION, 1, "a new format needs state.v{FORMAT_VERSION}.schema.json and a golden file");
    assert_eq!(checked_in_schema()["properties"]["version"]["const"], json!(1));
}

#[test]
fn golden_v1_loads_and_rewrites_byte_for_byte() {
    let golden = golden_v1();
    let state = golden.load().expect("golden loads").expect("golden exists");
    assert_eq!(state.serial, 7);
    assert_eq!(state.addresses().count(), 7);

    let directory = tempfile::tempdir().expect("temporary directory");
    let rewritten = LocalStateFile::new(directory.path().join("state.json"));
    rewritten.overwrite(&state).expect("written");

    let original = fs::read_to_string(golden.path()).expect("golden readable");
    let written = fs::read_to_string(rewritten.path()).expect("written readable");
    assert!(original == written, "golden changed on rewrite:\n{written}");
}

#[test]
fn golden_v1_records_the_intent_of_an_interrupted_create() {
    let state = golden_v1().load().expect("golden loads").expect("golden exists");

    let intents: Vec<(&str, Option<&str>)> =
        state.intents.iter().map(|intent| (intent.address.as_str(), intent.marker.as_deref())).collect();
    assert_eq!(intents, [("twilio_aws_credential.main", Some("[dev:5f0c6a0e]"))]);
}

#[test]
fn a_state_written_before_intents_existed_still_loads() {
    let mut document: Value = serde_json::from_slice(&fs::read(golden_v1().path()).expect("readable")).expect("JSON");
    document.as_object_mut().expect("an object").remove("intents");
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("state.json");
    fs::write(&path, serde_json::to_vec_pretty(&document).expect("serializable")).expect("written");

    let state = LocalStateFile::new(&path).load().expect("loads").expect("exists");

    assert!(state.intents.is_empty());
    assert_eq!(state.addresses().count(), 7);
    let rewritten = serde_json::to_string(&state).expect("serializable");
    assert!(!rewritten.contains("intents"), "no intents, no key: {rewritten}");
}

#[test]
fn golden_v1_is_valid_against_the_schema() {
    let golden: Value = serde_json::from_slice(&fs::read(golden_v1().path()).expect("readable")).expect("JSON");

    assert_eq!(validation_errors(&golden), Vec::<String>::new());
}

#[test]
fn golden_v1_holds_no_secret() {
    let golden = fs::read_to_string(golden_v1().path()).expect("readable").to_lowercase();

    for word in ["secret", "token", "password"] {
        assert!(!golden.contains(word), "the golden state mentions `{word}`");
    }
}

#[test]
fn a_written_state_is_valid_against_the_schema() {
    let mut state = State::new("dev", "0.1.0");
    state.serial = 1;
    let golden = golden_v1().load().expect("golden loads").expect("golden exists");
    for mut resource in golden.resources {
        resource.tainted = Some("replaced on the next apply".to_owned());
        state.upsert(resource);
    }
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = LocalStateFile::new(directory.path().join("state.json"));

    file.overwrite(&state).expect("written");

    let written: Value = serde_json::from_slice(&fs::read(file.path()).expect("readable")).expect("JSON");
    assert_eq!(validation_errors(&written), Vec::<String>::new());
}

#[test]
fn the_schema_rejects_what_load_rejects() {
    let valid: Value = serde_json::from_slice(&fs::read(golden_v1().path()).expect("readable")).expect("JSON");
    let mut newer = valid.clone();
    newer["version"] = json!(2);
    let mut without_id = valid.clone();
    without_id["resources"][0].as_object_mut().expect("an object").remove("id");
    let mut unknown_key = valid.clone();
    unknown_key["secret_access_key"] = json!("never");
    let mut bad_lineage = valid;
    bad_lineage["lineage"] = json!("not-a-uuid");

    let errors = [newer, without_id, unknown_key, bad_lineage].map(|document| validation_errors(&document));

    insta::assert_debug_snapshot!(errors);
}
