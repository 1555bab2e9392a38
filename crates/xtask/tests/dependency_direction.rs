//! Dependencies between the workspace's crates point one way (see ARCHITECTURE.md). This test
//! reads `cargo metadata` and fails when a crate gains a dependency its layer does not allow.
//! Dev-dependencies are free: tests may use anything.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each crate and the workspace crates it may depend on (normal and build dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    // The bottom: no stowage dependencies at all.
    ("stowage-spec", &[]),
    ("stowage-state", &[]),
    ("stowage-provider", &[]),
    // moto's S3 quirk, repaired for every S3 client stowage makes.
    ("stowage-s3-compat", &[]),
    // Pure planning over the three above.
    ("stowage-plan", &["stowage-spec", "stowage-state", "stowage-provider"]),
    // The state kept in S3: the format crate's store, with the AWS SDK the format crate lacks.
    ("stowage-state-s3", &["stowage-state", "stowage-s3-compat"]),
    // Providers know only the contract.
    ("stowage-aws", &["stowage-provider", "stowage-s3-compat"]),
    ("stowage-twilio", &["stowage-provider"]),
    // The engine drives providers through the contract, never a concrete one.
    ("stowage-engine", &["stowage-state", "stowage-provider", "stowage-plan"]),
    // The binary puts everything together.
    (
        "stowage-cli",
        &[
            "stowage-spec",
            "stowage-state",
            "stowage-state-s3",
            "stowage-provider",
            "stowage-plan",
            "stowage-aws",
            "stowage-twilio",
            "stowage-engine",
        ],
    ),
    // The emulator is a fake of Twilio: it shares no code with the client it fakes, only the
    // bottom crate's redacting `Secret` for the AWS keys it stores.
    ("twilio-emulator", &["stowage-provider"]),
    ("stowage-test-support", &["twilio-emulator"]),
    ("xtask", &[]),
];

#[test]
fn workspace_dependencies_point_one_way() {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");

    let packages = metadata["packages"].as_array().expect("packages");
    let members: BTreeSet<&str> = packages.iter().filter_map(|package| package["name"].as_str()).collect();
    let allowed: BTreeMap<&str, BTreeSet<&str>> =
        ALLOWED.iter().map(|(name, deps)| (*name, deps.iter().copied().collect())).collect();

    let unlisted: Vec<&&str> = members.iter().filter(|member| !allowed.contains_key(**member)).collect();
    assert!(unlisted.is_empty(), "add these crates to ALLOWED, in their layer: {unlisted:?}");

    let mut violations = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap_or_default();
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let dependency_name = dependency["name"].as_str().unwrap_or_default();
            let is_dev = dependency["kind"].as_str() == Some("dev");
            if is_dev || !members.contains(dependency_name) {
                continue;
            }
            if !allowed[name].contains(dependency_name) {
                violations.push(format!("{name} -> {dependency_name}"));
            }
        }
    }
    assert!(violations.is_empty(), "dependencies that point the wrong way: {violations:#?}");
}
