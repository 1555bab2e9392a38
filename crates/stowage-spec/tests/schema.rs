//! The checked-in JSON Schema matches the types, and every example spec satisfies it.

use std::fs;
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[expect(clippy::disallowed_methods, reason = "UPDATE_SCHEMA=1 regenerates the checked-in schema")]
#[test]
fn checked_in_schema_matches_the_types() {
    let path = workspace_root().join("docs/stowage-spec.schema.json");
    let generated =
        format!("{}\n", serde_json::to_string_pretty(&stowage_spec::json_schema()).expect("schema serializes"));
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        fs::write(&path, &generated).expect("write the schema");
    }
    let checked_in = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/stowage-spec.schema.json is out of date; regenerate it with `UPDATE_SCHEMA=1 cargo test -p stowage-spec --test schema`"
    );
}

#[test]
fn schema_is_a_valid_draft_7_schema() {
    let schema = stowage_spec::json_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(jsonschema::draft7::meta::is_valid(&schema));
}

fn example_specs() -> Vec<PathBuf> {
    let mut examples: Vec<PathBuf> = fs::read_dir(workspace_root().join("examples"))
        .expect("examples directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "toml"))
        .collect();
    examples.sort();
    assert!(!examples.is_empty(), "no examples/*.toml found");
    examples
}

/// Reads an example's base, as the CLI does: relative to the working directory, here the
/// examples'.
fn read_example(path: &Path) -> std::io::Result<String> {
    fs::read_to_string(workspace_root().join("examples").join(path))
}

/// The examples other examples extend: bases, not specs of their own (a base has no
/// `[environment]`), checked through the specs that extend them.
fn example_bases() -> Vec<String> {
    example_specs()
        .iter()
        .filter_map(|path| {
            let text = fs::read_to_string(path).expect("read example");
            let table: toml::Table = toml::from_str(&text).expect("example is TOML");
            table.get("extends").and_then(toml::Value::as_str).map(str::to_owned)
        })
        .collect()
}

/// Each example that is not a base, validated with the bases it extends.
fn validated_examples() -> Vec<(String, String, stowage_spec::Validated)> {
    let bases = example_bases();
    let mut validated = Vec::new();
    for path in example_specs() {
        let text = fs::read_to_string(&path).expect("read example");
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
        if bases.contains(&name) {
            continue;
        }
        match stowage_spec::parse_with_bases(&name, &text, &read_example) {
            Ok(spec) => validated.push((name, text, spec)),
            Err(errors) => {
                let messages: Vec<&str> = errors.diagnostics.iter().map(stowage_spec::Diagnostic::message).collect();
                panic!("{name} does not validate: {messages:#?}");
            }
        }
    }
    validated
}

#[test]
fn every_example_validates() {
    let validated = validated_examples();
    assert!(validated.len() >= 3, "examples: {:?}", validated.iter().map(|(name, ..)| name).collect::<Vec<_>>());
    assert!(example_bases().contains(&"base.toml".to_owned()), "an example shows `extends`");
}

/// The schema sees one file at a time; an example that extends a base satisfies it merged
/// with its base, as `--effective` prints it (and with its `extends`, which the schema knows).
#[test]
fn every_example_satisfies_the_json_schema() {
    let validator = jsonschema::validator_for(&stowage_spec::json_schema()).expect("schema compiles");
    for (name, text, validated) in validated_examples() {
        let mut instance: serde_json::Value = toml::from_str(&text).expect("example is TOML");
        if let Some(extends) = instance.get("extends").cloned() {
            instance = toml::from_str(&stowage_spec::effective_toml(&validated.spec.source)).expect("effective TOML");
            instance["extends"] = extends;
        }
        let problems: Vec<String> =
            validator.iter_errors(&instance).map(|error| format!("{}: {error}", error.instance_path())).collect();
        assert!(problems.is_empty(), "{name} breaks the schema: {problems:#?}");
    }
}

#[test]
fn schema_rejects_what_the_structural_check_rejects() {
    let validator = jsonschema::validator_for(&stowage_spec::json_schema()).expect("schema compiles");
    let unknown_key: serde_json::Value = toml::from_str(
        "[environment]\nname = \"dev\"\n[aws]\nregion = \"us-east-2\"\n[bucket]\nname = \"abc\"\nversionning = true\n",
    )
    .expect("TOML");
    assert!(!validator.is_valid(&unknown_key));
    let missing_section: serde_json::Value = toml::from_str("[environment]\nname = \"dev\"\n").expect("TOML");
    assert!(!validator.is_valid(&missing_section));
}

fn reference() -> String {
    fs::read_to_string(workspace_root().join("docs/spec-reference.md")).expect("docs/spec-reference.md")
}

/// Every key name in the schema, found by following properties and references.
fn schema_keys(schema: &serde_json::Value, root: &serde_json::Value, keys: &mut Vec<String>) {
    let schema = match schema.get("$ref").and_then(serde_json::Value::as_str) {
        Some(reference) => root.pointer(reference.trim_start_matches('#')).expect("reference resolves"),
        None => schema,
    };
    for nested in ["items", "additionalProperties"] {
        if let Some(nested) = schema.get(nested).filter(|nested| nested.is_object()) {
            schema_keys(nested, root, keys);
        }
    }
    for alternative in schema.get("allOf").and_then(serde_json::Value::as_array).into_iter().flatten() {
        schema_keys(alternative, root, keys);
    }
    for (key, property) in schema.get("properties").and_then(serde_json::Value::as_object).into_iter().flatten() {
        keys.push(key.clone());
        schema_keys(property, root, keys);
    }
}

#[test]
fn reference_documents_every_key() {
    let schema = stowage_spec::json_schema();
    let mut keys = Vec::new();
    schema_keys(&schema, &schema, &mut keys);
    assert!(keys.len() > 20, "the walk found too few keys: {keys:?}");
    let reference = reference();
    // A key is documented as `key`, a section as `[section]`.
    let documented =
        |key: &String| reference.contains(&format!("`{key}`")) || reference.contains(&format!("`[{key}]`"));
    let missing: Vec<&String> = keys.iter().filter(|key| !documented(key)).collect();
    assert!(missing.is_empty(), "docs/spec-reference.md does not mention {missing:?}");
}

#[test]
fn reference_example_validates() {
    let reference = reference();
    let example = reference
        .split("## A complete example")
        .nth(1)
        .and_then(|rest| rest.split("```toml\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("the reference has a complete example");
    let validated = stowage_spec::parse("reference.toml", example).expect("the reference's example is valid");
    assert!(validated.warnings.is_empty(), "{:#?}", validated.warnings);
}
