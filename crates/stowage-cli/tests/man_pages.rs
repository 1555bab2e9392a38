//! `stowage __man DIR`, which `cargo xtask man` runs: a page for `stowage` and one for each
//! subcommand, in roff, rendered from the same clap command as `--help`.

use std::process::Command;

const STOWAGE: &str = env!("CARGO_BIN_EXE_stowage");

/// The pages written into a fresh directory (made by `__man` itself), and the directory.
fn pages() -> (tempfile::TempDir, Vec<String>) {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("man");
    let output = Command::new(STOWAGE).arg("__man").arg(&dir).output().expect("stowage runs");
    assert!(output.status.success(), "stowage __man: {output:?}");
    assert!(output.stdout.is_empty() && output.stderr.is_empty(), "stowage __man printed: {output:?}");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (scratch, names)
}

/// The version (in each page's title line) as `[VERSION]`, so a release changes no snapshot.
fn versionless(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}

#[test]
fn one_page_per_command() {
    let (_scratch, names) = pages();
    for expected in ["stowage.1", "stowage-plan.1", "stowage-completions.1", "stowage-state.1", "stowage-state-list.1"]
    {
        assert!(names.iter().any(|name| name == expected), "no {expected} among {names:?}");
    }
    assert!(!names.iter().any(|name| name.contains("__man") || name.contains("help")), "{names:?}");
}

#[test]
fn stowage_page_opening() {
    let (scratch, _) = pages();
    let page = std::fs::read_to_string(scratch.path().join("man/stowage.1")).unwrap();
    assert!(!page.contains("__man"), "the page lists the internal `__man`");
    let opening: Vec<&str> = page.lines().take(25).collect();
    insta::assert_snapshot!(versionless(&opening.join("\n")));
}

#[test]
fn plan_page_opening() {
    let (scratch, _) = pages();
    let page = std::fs::read_to_string(scratch.path().join("man/stowage-plan.1")).unwrap();
    let opening: Vec<&str> = page.lines().take(12).collect();
    insta::assert_snapshot!(versionless(&opening.join("\n")));
}

#[test]
fn dir_argument_is_required() {
    let output = Command::new(STOWAGE).arg("__man").output().expect("stowage runs");
    assert_eq!(output.status.code(), Some(1), "a usage error exits 1: {output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("<DIR>"));
}
