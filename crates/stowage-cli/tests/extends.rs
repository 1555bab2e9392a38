//! `extends` through the binary: `stowage validate SPEC --effective` prints the spec merged
//! over its bases, and a problem in a base is reported at the base's file and line. No
//! service is involved: `validate` makes no request.

mod common;

use std::path::Path;

use common::STOWAGE;
use stowage_test_support::{Invocation, Run, Sandbox, insta_filters, twilio_env, unreachable_aws_env};

const BASE: &str = include_str!("../../../examples/base.toml");
const STAGING: &str = include_str!("../../../examples/staging.toml");

/// A sandbox holding the example base and the staging spec written over it, in `examples/`.
fn sandbox(base: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.path().join("examples")).expect("sandbox directory");
    sandbox.write_spec("examples/base.toml", base);
    sandbox.write_spec("examples/staging.toml", STAGING);
    sandbox
}

/// `stowage ARGS` in `sandbox`, with AWS and Twilio pointed at a port nothing listens on.
async fn stowage(sandbox: &Sandbox, args: &[&str]) -> Run {
    let endpoint = "http://127.0.0.1:9";
    let mut environment = unreachable_aws_env(endpoint, &sandbox.path().join("absent"));
    environment.extend(twilio_env(endpoint));
    Invocation::new(Path::new(STOWAGE), sandbox, environment, args).env("NO_COLOR", "1").await
}

#[tokio::test]
async fn validate_effective_prints_the_merged_spec() {
    let sandbox = sandbox(BASE);
    let run = stowage(&sandbox, &["validate", "examples/staging.toml", "--effective"]).await;
    assert_eq!(run.code, Some(0), "{run}");
    // The lint's finding is about a value the base writes: it points there.
    let stderr = run.diagnostics();
    assert!(stderr.contains("[examples/base.toml:32:15]"), "{stderr}");
    assert!(stderr.contains("examples/staging.toml is valid: environment `staging`"), "{stderr}");
    insta::assert_snapshot!("effective_staging", run.stdout);

    // What it prints is a spec of its own, without `extends`, and the same environment.
    assert!(!run.stdout.contains("extends"), "{}", run.stdout);
    sandbox.write_spec("effective.toml", &run.stdout);
    let again = stowage(&sandbox, &["validate", "effective.toml", "--effective"]).await;
    assert_eq!(again.code, Some(0), "{again}");
    let body = |text: &str| text.lines().skip_while(|line| line.starts_with('#')).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&again.stdout), body(&run.stdout), "the effective spec of the effective spec is itself");
}

#[tokio::test]
async fn validate_without_effective_prints_one_line() {
    let sandbox = sandbox(BASE);
    let run = stowage(&sandbox, &["validate", "examples/staging.toml"]).await;
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.stdout, "examples/staging.toml is valid: environment `staging`\n");
}

#[tokio::test]
async fn a_bad_value_in_the_base_is_reported_in_the_base() {
    let sandbox = sandbox(&BASE.replace("region = \"us-east-2\"", "region = \"us-east2\""));
    let run = stowage(&sandbox, &["validate", "examples/staging.toml"]).await;
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    let stderr = run.diagnostics();
    assert!(stderr.contains("[examples/base.toml:9:10]"), "{stderr}");
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!("bad_value_in_base", stderr);
    });
}

#[tokio::test]
async fn a_missing_base_is_reported_at_the_extends() {
    let sandbox = sandbox(BASE);
    std::fs::remove_file(sandbox.path().join("examples/base.toml")).expect("base removed");
    let run = stowage(&sandbox, &["validate", "examples/staging.toml", "--effective"]).await;
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stdout.is_empty(), "nothing printed for a spec that does not validate: {run}");
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!("missing_base", run.diagnostics());
    });
}
