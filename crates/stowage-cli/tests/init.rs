//! `stowage init [PATH]` with flags, through the binary: the spec it writes (snapshot), that
//! `stowage validate` accepts it, and its refusals: an existing file (left as it was), a bad
//! flag value and missing flags off a terminal (nothing written). No network: plain init makes
//! no call. `--from-existing` is in `init_from_existing.rs`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use stowage_test_support::insta_filters;

const STOWAGE: &str = env!("CARGO_BIN_EXE_stowage");
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const DEV_FLAGS: [&str; 8] =
    ["--name", "dev", "--region", "us-east-2", "--bucket", "acme-video-dev", "--account-sid", ACCOUNT];

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Ran {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "exit {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// `stowage ARGS` in `directory`, with an empty environment (no credentials, no AWS config),
/// standard input not a terminal, as in CI.
fn stowage(directory: &Path, args: &[&str]) -> Ran {
    let mut command = Command::new(STOWAGE);
    command.args(args).current_dir(directory).env_clear().stdin(Stdio::null()).env("NO_COLOR", "1");
    command.env("HOME", directory);
    let Output { status, stdout, stderr } = command.output().expect("stowage runs");
    Ran {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn init(directory: &Path, extra: &[&str]) -> Ran {
    let mut args = vec!["init"];
    args.extend(extra);
    stowage(directory, &args)
}

/// The names in `directory`, sorted.
fn files(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .expect("the directory lists")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn init_with_flags_writes_a_commented_spec_that_validates() {
    let directory = tempfile::tempdir().unwrap();
    let written = init(directory.path(), &DEV_FLAGS);
    assert_eq!(written.code, Some(0), "{written}");
    assert_eq!(written.stderr, "", "{written}");
    assert_eq!(files(directory.path()), ["dev.toml"], "{written}");
    let spec = std::fs::read_to_string(directory.path().join("dev.toml")).unwrap();
    assert!(spec.starts_with("#:schema https://"), "outside the repository the schema is its URL:\n{spec}");
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!("dev_spec", spec);
        insta::assert_snapshot!("dev_stdout", written.stdout);
    });

    let validated = stowage(directory.path(), &["validate", "dev.toml"]);
    assert_eq!(validated.code, Some(0), "the written spec does not validate\n{validated}");
    assert!(validated.stdout.contains("dev.toml is valid: environment `dev`"), "{validated}");
}

#[test]
fn kms_alone_asks_for_a_key_stowage_creates() {
    let directory = tempfile::tempdir().unwrap();
    let mut flags = DEV_FLAGS.to_vec();
    flags.push("--kms");
    let written = init(directory.path(), &flags);
    assert_eq!(written.code, Some(0), "{written}");
    let spec = std::fs::read_to_string(directory.path().join("dev.toml")).unwrap();
    assert!(spec.contains("\nencryption = { kms_key = \"create\" }\n"), "{spec}");
    let validated = stowage(directory.path(), &["validate", "dev.toml"]);
    assert_eq!(validated.code, Some(0), "{validated}");
}

#[test]
fn a_directory_gets_the_environments_file() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::create_dir(directory.path().join("envs")).unwrap();
    let mut flags = vec!["envs"];
    flags.extend([
        "--name",
        "prod",
        "--region",
        "eu-central-1",
        "--bucket",
        "acme-video-prod",
        "--account-sid",
        ACCOUNT,
    ]);
    flags.extend(["--kms", "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]);
    let written = init(directory.path(), &flags);
    assert_eq!(written.code, Some(0), "{written}");
    assert_eq!(files(&directory.path().join("envs")), ["prod.toml"], "{written}");
    assert!(written.stdout.contains("Wrote envs/prod.toml"), "{written}");
    let validated = stowage(directory.path(), &["validate", "envs/prod.toml"]);
    assert_eq!(validated.code, Some(0), "{validated}");
}

#[test]
fn an_existing_file_is_refused_and_left_as_it_was() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("dev.toml");
    std::fs::write(&path, "# someone's own spec\n").unwrap();
    // By its default name, and named as PATH.
    for extra in [&[][..], &["dev.toml"][..]] {
        let mut flags = extra.to_vec();
        flags.extend(DEV_FLAGS);
        let refused = init(directory.path(), &flags);
        assert_eq!(refused.code, Some(1), "{refused}");
        assert!(refused.stderr.contains("`dev.toml` already exists; it was left as it was"), "{refused}");
        assert!(refused.stderr.contains("never overwrites"), "{refused}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# someone's own spec\n", "{refused}");
        assert_eq!(refused.stdout, "", "{refused}");
    }
    let refused = init(directory.path(), &DEV_FLAGS);
    insta::assert_snapshot!("existing_file_stderr", refused.stderr);
}

#[test]
fn a_bad_flag_value_names_the_flag_and_writes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let mut flags = DEV_FLAGS.to_vec();
    flags[5] = "Acme_Video";
    let refused = init(directory.path(), &flags);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("--bucket"), "{refused}");
    assert_eq!(files(directory.path()), Vec::<String>::new(), "{refused}");
    insta::assert_snapshot!("bad_bucket_stderr", refused.stderr);

    // A KMS key in another region than the bucket's.
    let mut flags = DEV_FLAGS.to_vec();
    flags.extend(["--kms", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd"]);
    let refused = init(directory.path(), &flags);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("--kms: the key"), "{refused}");
    assert!(refused.stderr.contains("`eu-west-1`"), "{refused}");
    assert_eq!(files(directory.path()), Vec::<String>::new(), "{refused}");

    // An account SID that is an API key's.
    let mut flags = DEV_FLAGS.to_vec();
    flags[7] = "SK0123456789abcdef0123456789abcdef";
    let refused = init(directory.path(), &flags);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("--account-sid: `SK0123456789abcdef0123456789abcdef` is an API key SID"),
        "{refused}"
    );
    assert_eq!(files(directory.path()), Vec::<String>::new(), "{refused}");
}

#[test]
fn missing_flags_off_a_terminal_are_listed_at_once() {
    let directory = tempfile::tempdir().unwrap();
    let refused = init(directory.path(), &["--name", "dev"]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("`--region`, `--bucket` and `--account-sid`"), "{refused}");
    assert_eq!(files(directory.path()), Vec::<String>::new(), "{refused}");
    insta::assert_snapshot!("missing_flags_stderr", refused.stderr);

    // Nothing given: every flag, and the example.
    let refused = init(directory.path(), &[]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("`--name`, `--region`, `--bucket` and `--account-sid`"), "{refused}");
    assert!(refused.stderr.contains("stowage init --name dev --region us-east-2"), "{refused}");
}

#[test]
fn a_missing_directory_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let mut flags = vec!["nowhere/dev.toml"];
    flags.extend(DEV_FLAGS);
    let refused = init(directory.path(), &flags);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("its directory does not exist"), "{refused}");
    assert_eq!(files(directory.path()), Vec::<String>::new(), "{refused}");
}
