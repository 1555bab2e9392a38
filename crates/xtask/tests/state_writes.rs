//! Every state write is the engine's (see ARCHITECTURE.md, `crates/stowage-engine`): the CLI
//! reads the state and hands it to the engine, which commits through `StateStore`. This test
//! reads the CLI's sources and fails when one writes a state itself.

use std::path::{Path, PathBuf};

/// The calls that write a state: `StateStore::commit` and `write`, and the local file's
/// unchecked `overwrite` (for tests and tools).
const WRITES: &[&str] = &[".commit(", ".overwrite(", "StateStore::write", "StateStore::commit", "store.write("];

fn sources(path: &Path) -> Vec<PathBuf> {
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

/// The lines of `text`, each with its number, that write a state.
fn writing_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| WRITES.iter().any(|call| line.contains(call)))
        .map(|(index, line)| (index + 1, line.trim().to_owned()))
        .collect()
}

#[test]
fn the_cli_never_writes_a_state_itself() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cli = root.join("crates/stowage-cli/src");
    let files = sources(&cli);
    assert!(!files.is_empty(), "no CLI sources at {}", cli.display());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        let shown = file.strip_prefix(&root).unwrap_or(&file).display().to_string();
        found.extend(writing_lines(&text).into_iter().map(|(line, code)| format!("{shown}:{line}: {code}")));
    }
    assert!(found.is_empty(), "state writes outside the engine (call the engine instead):\n{found:#?}");
}

#[test]
fn a_commit_or_an_overwrite_is_found() {
    let text = "let a = 1;\nstore.commit(&mut state).await?;\nfile.overwrite(&state)?;\n";
    assert_eq!(
        writing_lines(text),
        [(2, "store.commit(&mut state).await?;".to_owned()), (3, "file.overwrite(&state)?;".to_owned())]
    );
}
