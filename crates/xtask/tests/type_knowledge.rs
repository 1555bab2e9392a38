//! What the core knows of a resource type is its schema (see ARCHITECTURE.md, "Adding a
//! resource type"): the planner, the steps, the renderers, the drift report and the engine name
//! no type. This test reads their sources and fails when one names a `ResourceType` variant
//! outside its tests, which is how per-type knowledge would creep back in.

mod common;

/// The code that must stay generic over resource types.
const GENERIC: &[&str] = &[
    "crates/stowage-plan/src/planner.rs",
    "crates/stowage-plan/src/steps.rs",
    "crates/stowage-plan/src/model.rs",
    "crates/stowage-plan/src/leftovers.rs",
    "crates/stowage-plan/src/drift_report.rs",
    "crates/stowage-plan/src/render",
    "crates/stowage-engine/src",
];

/// The lines of `text` before its unit tests, each with its number, that name a variant of
/// `ResourceType` (`ResourceType::ALL` lists them all and names none).
fn naming_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| !line.trim_start().starts_with("#[cfg(test)]"))
        .filter(|(_, line)| {
            line.match_indices("ResourceType::").any(|(at, found)| {
                let rest = &line[at + found.len()..];
                rest.starts_with(|character: char| character.is_ascii_uppercase()) && !rest.starts_with("ALL")
            })
        })
        .map(|(index, line)| (index + 1, line.trim().to_owned()))
        .collect()
}

#[test]
fn the_generic_core_names_no_resource_type() {
    let found: Vec<String> = GENERIC
        .iter()
        .flat_map(|path| common::offending_lines(&common::workspace().join(path), naming_lines))
        .collect();
    assert!(found.is_empty(), "per-type knowledge outside the type files (move it into the schema):\n{found:#?}");
}

#[test]
fn a_named_variant_is_found_and_the_list_of_all_is_not() {
    let text = "fn f() {\n    let all = ResourceType::ALL;\n    if ty == ResourceType::S3Bucket {}\n}\n#[cfg(test)]\nmod tests { ResourceType::KmsKey }\n";
    assert_eq!(naming_lines(text), [(3, "if ty == ResourceType::S3Bucket {}".to_owned())]);
}
