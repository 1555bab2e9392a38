//! Every state write is the engine's (see ARCHITECTURE.md, `crates/stowage-engine`): the CLI
//! reads the state and hands it to the engine, which commits through `StateStore`. This test
//! reads the CLI's sources and fails when one writes a state itself.

mod common;

/// The calls that write a state: `StateStore::commit` and `write`, and the local file's
/// unchecked `overwrite` (for tests and tools).
const WRITES: &[&str] = &[".commit(", ".overwrite(", "StateStore::write", "StateStore::commit", "store.write("];

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
    let found = common::offending_lines(&common::workspace().join("crates/stowage-cli/src"), writing_lines);
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
