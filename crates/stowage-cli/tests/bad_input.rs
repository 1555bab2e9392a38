//! The bad-input corpus: every case under `tests/bad_input/` runs the real `stowage` binary
//! against one shared moto (behind a recording proxy) and Twilio emulator. Each must exit 1
//! with the message in its `stderr.snap`, send no write to AWS or Twilio, and leave its
//! sandbox exactly as it found it: the state, its backup and plan files unchanged byte for
//! byte, and no new file.
//!
//! A case is a directory holding `case.toml`, its expected `stderr.snap`, and any files to put
//! in the sandbox (a `dev.toml` of its own replaces `examples/dev.toml`). `case.toml`:
//!
//! ```toml
//! about = "what is wrong, in one line"
//! args = ["plan", "dev.toml"]                  # the command under test
//! setup = [["plan", "dev.toml", "--out", "dev.plan"]]  # run first, each must succeed
//! edits = [{ file = "dev.plan", replace = "a", with = "b" }]  # or truncate_to, or remove
//! unset = ["TWILIO_AUTH_TOKEN"]                # only for the command under test
//! set = { STOWAGE_TWILIO_VIDEO_URL = "http://example.com" }
//! ```
//!
//! Cases run one after another, with moto and the emulator reset in between.

mod common;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::world;
use serde::Deserialize;
use stowage_test_support::{Entry, Sandbox, World, dev_spec, insta_filters, within};

/// The whole corpus, once moto is up.
const CORPUS_TIMEOUT: Duration = Duration::from_secs(600);
/// Files of a case directory that describe the case rather than belong in its sandbox.
const CASE_FILES: [&str; 2] = ["case.toml", "stderr.snap"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    about: String,
    args: Vec<String>,
    #[serde(default)]
    setup: Vec<Vec<String>>,
    #[serde(default)]
    edits: Vec<Edit>,
    #[serde(default)]
    unset: Vec<String>,
    #[serde(default)]
    set: BTreeMap<String, String>,
}

/// A change to a sandbox file after the setup commands ran.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    file: String,
    /// Replace the first occurrence of this text (which must be there) with `with`.
    replace: Option<String>,
    with: Option<String>,
    /// Keep only the first bytes.
    truncate_to: Option<usize>,
    #[serde(default)]
    remove: bool,
}

fn corpus_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input")
}

fn apply_edit(sandbox: &Sandbox, edit: &Edit) {
    let path = sandbox.path().join(&edit.file);
    if edit.remove {
        std::fs::remove_file(&path).unwrap();
        return;
    }
    let mut bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("edit of {}: {error}", edit.file));
    if let Some(length) = edit.truncate_to {
        assert!(length < bytes.len(), "truncating {} to {length} bytes would not shorten it", edit.file);
        bytes.truncate(length);
    }
    if let Some(from) = &edit.replace {
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(from.as_str()), "{} does not contain {from:?}", edit.file);
        bytes = text.replacen(from.as_str(), edit.with.as_deref().unwrap_or(""), 1).into_bytes();
    }
    std::fs::write(&path, bytes).unwrap();
}

/// Runs one case; returns what went wrong, if anything.
async fn run_case(world: &World, directory: &Path) -> Result<(), String> {
    let name = directory.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(directory.join("case.toml")).map_err(|error| format!("case.toml: {error}"))?;
    let case: Case = toml::from_str(&text).map_err(|error| format!("case.toml: {error}"))?;

    world.reset();
    let sandbox = Sandbox::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !CASE_FILES.contains(&file_name.as_str()) {
            std::fs::copy(&path, sandbox.path().join(&file_name)).unwrap();
        }
    }
    if !sandbox.path().join("dev.toml").exists() {
        sandbox.write_spec("dev.toml", &dev_spec());
    }
    for args in &case.setup {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = world.stowage(&args).in_sandbox(&sandbox).await;
        if run.code != Some(0) {
            return Err(format!("setup `stowage {}` failed\n{run}", args.join(" ")));
        }
    }
    for edit in &case.edits {
        apply_edit(&sandbox, edit);
    }

    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let mut invocation = world.stowage(&args).in_sandbox(&sandbox);
    for name in &case.unset {
        invocation = invocation.env_remove(name);
    }
    let invocation = invocation.envs(case.set.clone());
    let before = sandbox.entries();
    world.aws.clear();
    let twilio_seen = world.twilio_log_mark();

    let run = invocation.await;

    let mut problems = Vec::new();
    if run.code != Some(1) {
        problems.push(format!("expected exit 1\n{run}"));
    }
    let aws_writes = world.aws.writes();
    if !aws_writes.is_empty() {
        let writes: Vec<String> = aws_writes.iter().map(ToString::to_string).collect();
        problems.push(format!("AWS writes: {writes:?}"));
    }
    let twilio_writes = world.twilio_writes_since(twilio_seen);
    if !twilio_writes.is_empty() {
        problems.push(format!("Twilio writes: {twilio_writes:?}"));
    }
    let mut after = sandbox.entries();
    // The state lock's file stays on purpose once made (see stowage-state's `lock.rs`): it
    // is empty and says nothing. Its `.lock.info` must be gone, and is not exempt.
    after.retain(|path, entry: &mut Entry| {
        before.contains_key(path) || !(path.to_string_lossy().ends_with(".lock") && entry.bytes.is_empty())
    });
    if after != before {
        let changed: Vec<String> = before
            .keys()
            .chain(after.keys())
            .filter(|path| before.get(*path) != after.get(*path))
            .map(|path| path.display().to_string())
            .collect();
        problems.push(format!("the sandbox changed: {changed:?}"));
    }

    let mut shown = run.diagnostics();
    if !run.stdout.is_empty() {
        shown.push_str("--- stdout\n");
        shown.push_str(&run.stdout);
    }
    let snapshot = catch_unwind(AssertUnwindSafe(|| {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(directory);
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_description(format!("{}\nstowage {}", case.about, case.args.join(" ")));
        settings.set_input_file(directory.join("case.toml"));
        // How many writes an apply makes is the engine's business, not these messages'.
        settings.add_filter(r"\bserial \d+", "serial [SERIAL]");
        for (pattern, replacement) in insta_filters() {
            settings.add_filter(pattern, replacement);
        }
        settings.bind(|| insta::assert_snapshot!("stderr", shown));
    }));
    if snapshot.is_err() {
        problems.push("stderr differs from stderr.snap (see above)".to_owned());
    }

    if problems.is_empty() { Ok(()) } else { Err(format!("case `{name}`:\n{}", problems.join("\n"))) }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_input_is_refused_clearly_and_changes_nothing() {
    let world = world().plain_output().start().await;

    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus_directory())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("case.toml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "the corpus should hold at least 40 cases, found {}", cases.len());

    let failures = within(CORPUS_TIMEOUT, async {
        let mut failures = Vec::new();
        for case in &cases {
            if let Err(failure) = run_case(&world, case).await {
                failures.push(failure);
            }
        }
        failures
    })
    .await;
    assert!(failures.is_empty(), "{} of {} cases failed:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}
