//! Every format a person's tools read has explicit boundary types and a JSON Schema generated
//! from them, checked in under `docs/`: this test fails when one is out of date. Regenerate them
//! all with `UPDATE_SCHEMA=1 cargo test -p stowage-plan --test render_schemas`.
//!
//! That what stowage prints validates against them is each format's own test: the plan JSON's in
//! `render_plans.rs`, the plan file's in `render_plan_file.rs`, the drift, verify and alerts
//! reports' beside their code.

use std::fs;
use std::path::PathBuf;

use serde_json::Value;
use stowage_plan::{alerts, drift_report, plan_file, render, verify};

/// Each checked-in schema, by its file under `docs/`, and the schema its types generate.
fn schemas() -> [(&'static str, Value); 5] {
    [
        ("plan-json.schema.json", render::json_schema()),
        ("plan-file.schema.json", plan_file::json::json_schema()),
        ("drift-report.schema.json", drift_report::json::json_schema()),
        ("verify-report.schema.json", verify::json::json_schema()),
        ("alerts-report.schema.json", alerts::json::json_schema()),
    ]
}

#[expect(clippy::disallowed_methods, reason = "UPDATE_SCHEMA=1 regenerates the checked-in schemas")]
#[test]
fn checked_in_schemas_match_the_types() {
    let update = std::env::var_os("UPDATE_SCHEMA").is_some_and(|value| value == "1");
    for (file, schema) in schemas() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs").join(file);
        let generated = serde_json::to_string_pretty(&schema).expect("serializable") + "\n";
        if update {
            fs::write(&path, &generated).expect("schema written");
        }
        let checked_in = fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "docs/{file} is out of date: regenerate it with `UPDATE_SCHEMA=1 cargo test -p stowage-plan --test render_schemas`"
        );
    }
}

#[test]
fn every_schema_compiles() {
    for (file, schema) in schemas() {
        assert!(jsonschema::validator_for(&schema).is_ok(), "{file}");
    }
}
