//! `cargo xtask man` builds `stowage` and has it write the man pages into `target/man`.
//! `XTASK_DRY_RUN` prints the commands instead of running them; the pages themselves are
//! tested in `crates/stowage-cli/tests/man_pages.rs`.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("XTASK_DRY_RUN", "1")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("xtask runs")
}

#[test]
fn man_builds_stowage_then_writes_the_pages_into_target_man() {
    let output = xtask(&["man"]);
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8_lossy(&output.stdout);
    let build = printed.find(r#""build" "--quiet" "--workspace" "--bin" "stowage""#);
    let pages = printed.find(r#"/target/debug/stowage" "__man" ""#);
    assert!(build.is_some() && pages.is_some() && build < pages, "{printed}");
    assert!(printed.contains(r#"/target/man""#), "{printed}");
}

#[test]
fn man_refuses_an_argument() {
    let output = xtask(&["man", "--out"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("unexpected argument `--out`"));
}
