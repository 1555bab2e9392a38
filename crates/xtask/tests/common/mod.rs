//! What the tests that read the workspace's sources share.

use std::path::{Path, PathBuf};

/// The workspace's root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file at `path` (a file, or a directory read recursively), sorted.
pub fn sources(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .flat_map(|entry| sources(&entry.expect("a directory entry").path()))
        .filter(|file| file.extension().is_some_and(|extension| extension == "rs"))
        .collect();
    files.sort();
    files
}

/// Every line of the sources at `path` that `matches` picks out in a file's text, as
/// `FILE:LINE: CODE` with the file relative to the workspace.
pub fn offending_lines(path: &Path, matches: impl Fn(&str) -> Vec<(usize, String)>) -> Vec<String> {
    let root = workspace();
    let files = sources(path);
    assert!(!files.is_empty(), "{} has no sources", path.display());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        let shown = file.strip_prefix(&root).unwrap_or(&file).display().to_string();
        found.extend(matches(&text).into_iter().map(|(line, code)| format!("{shown}:{line}: {code}")));
    }
    found
}
