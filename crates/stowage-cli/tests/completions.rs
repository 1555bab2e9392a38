//! `stowage completions SHELL`: every shell clap_complete knows is accepted and gets a script on
//! standard output; anything else is refused as bad input (exit 1, like every usage error).
//! The snapshots keep the opening of each script, so a reader sees what a shell gets.

use std::process::{Command, Output};

const STOWAGE: &str = env!("CARGO_BIN_EXE_stowage");

fn stowage(args: &[&str]) -> Output {
    Command::new(STOWAGE).args(args).output().expect("stowage runs")
}

/// The script for `shell`, after checking the run succeeded and printed nothing else.
fn script(shell: &str) -> String {
    let output = stowage(&["completions", shell]);
    assert!(output.status.success(), "completions {shell}: {output:?}");
    assert!(
        output.stderr.is_empty(),
        "completions {shell} wrote to stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the script is UTF-8")
}

fn first_lines(text: &str, count: usize) -> String {
    text.lines().take(count).collect::<Vec<_>>().join("\n")
}

#[test]
fn every_shell_is_accepted() {
    // Something each script must hold to be the right shell's, and complete `stowage plan`.
    let shells = [
        ("bash", "complete -F _stowage"),
        ("zsh", "#compdef stowage"),
        ("fish", "complete -c stowage"),
        ("powershell", "Register-ArgumentCompleter -Native -CommandName 'stowage'"),
        ("elvish", "set edit:completion:arg-completer[stowage]"),
    ];
    for (shell, marker) in shells {
        let script = script(shell);
        assert!(script.contains(marker), "completions {shell} has no `{marker}`:\n{script}");
        assert!(script.contains("plan"), "completions {shell} does not complete `plan`");
        // `cargo xtask man`'s internal entry point is no command to offer.
        assert!(!script.contains("__man"), "completions {shell} offers `__man`");
    }
}

#[test]
fn bash_script_is_valid_bash() {
    let path = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(path.path(), script("bash")).unwrap();
    let output = Command::new("bash").arg("-n").arg(path.path()).output().expect("bash runs");
    assert!(output.status.success(), "bash -n: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn bash_script_opening() {
    insta::assert_snapshot!(first_lines(&script("bash"), 20));
}

#[test]
fn zsh_script_opening() {
    insta::assert_snapshot!(first_lines(&script("zsh"), 20));
}

/// The whole fish script is one line per option of every command (hundreds); its helper
/// functions and the top-level commands it offers, each with its description, show it is real.
#[test]
fn fish_script_commands() {
    let script = script("fish");
    let helpers = first_lines(&script, 24);
    let commands: Vec<&str> = script
        .lines()
        .filter(|line| line.starts_with("complete -c stowage -n \"__fish_stowage_needs_command\" -f -a"))
        .collect();
    insta::assert_snapshot!(format!("{helpers}\n...\n{}", commands.join("\n")));
}

#[test]
fn unknown_shell_is_refused() {
    let output = stowage(&["completions", "tcsh"]);
    assert_eq!(output.status.code(), Some(1), "a usage error exits 1: {output:?}");
    assert!(output.stdout.is_empty());
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stderr));
}

#[test]
fn missing_shell_is_refused() {
    let output = stowage(&["completions"]);
    assert_eq!(output.status.code(), Some(1), "a usage error exits 1: {output:?}");
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("<SHELL>"));
}
