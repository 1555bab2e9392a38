//! `encryption_public_key` files that cannot be used stop `stowage validate` and `stowage plan`
//! with exit 1 and a diagnostic at the spec value, before any request: AWS and both Twilio APIs
//! point at a loopback listener that must not have seen a single connection.

mod common;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::STOWAGE;
use stowage_test_support::{Invocation, Run, Sandbox, dev_spec, insta_filters, twilio_env, unreachable_aws_env};

const RSA_PUBLIC_KEY: &str = include_str!("../../stowage-spec/tests/fixtures/rsa_public_key.pem");
const RSA_PRIVATE_KEY: &str = include_str!("../../stowage-spec/tests/fixtures/rsa_private_key.pem");
const EC_PUBLIC_KEY: &str = include_str!("../../stowage-spec/tests/fixtures/ec_public_key.pem");

/// The spec lives in `specs/` and the command runs from the sandbox root, so a key found at all
/// was found relative to the spec, not to the working directory.
const SPEC: &str = "specs/dev.toml";
const KEY: &str = "specs/keys/recordings.pem";

/// A sandbox with the example spec asking for encrypted recordings, and a listener standing in
/// for AWS and Twilio that never answers. No world of services: a run that reached for one
/// would already have failed the test.
struct Fixture {
    sandbox: Sandbox,
    listener: TcpListener,
}

impl Fixture {
    fn new(key: Option<&str>) -> Fixture {
        let sandbox = Sandbox::new();
        let example = dev_spec();
        let recordings = "[recordings]\nstore_in_s3 = true\n";
        assert!(example.contains(recordings), "the example stores recordings in S3");
        let spec =
            example.replace(recordings, &format!("{recordings}encryption_public_key = \"keys/recordings.pem\"\n"));
        std::fs::create_dir_all(sandbox.path().join("specs/keys")).expect("sandbox directories");
        std::fs::write(sandbox.path().join(SPEC), spec).expect("spec written");
        if let Some(key) = key {
            std::fs::write(sandbox.path().join(KEY), key).expect("key written");
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        Fixture { sandbox, listener }
    }

    /// `stowage COMMAND SPEC`, with AWS and both Twilio APIs at the listener.
    async fn stowage(&self, command: &str) -> Run {
        let endpoint = format!("http://{}", self.listener.local_addr().expect("bound"));
        let mut environment = unreachable_aws_env(&endpoint, &self.sandbox.path().join("absent"));
        environment.extend(twilio_env(&endpoint));
        let invocation = Invocation::new(Path::new(STOWAGE), &self.sandbox, environment, &[command, SPEC]);
        invocation.env("RUST_LOG", "warn").env("NO_COLOR", "1").await
    }

    /// Whether anything connected to the stand-in for AWS and Twilio. The kernel queues a
    /// connection whether or not it is accepted, so an empty queue means none was made.
    fn was_contacted(&self) -> bool {
        match self.listener.accept() {
            Ok(_) => true,
            Err(error) if error.kind() == ErrorKind::WouldBlock => false,
            Err(error) => panic!("accept failed: {error}"),
        }
    }

    fn state_path(&self) -> PathBuf {
        self.sandbox.path().join("specs/dev.state.json")
    }
}

/// Runs `validate` and `plan` on a spec whose key file is `key` (absent when `None`): both exit
/// 1 with the same diagnostic, contact nothing and write no state. Returns the diagnostic.
async fn refused(key: Option<&str>) -> String {
    let fixture = Fixture::new(key);
    let validate = fixture.stowage("validate").await;
    let plan = fixture.stowage("plan").await;
    for (command, output) in [("validate", &validate), ("plan", &plan)] {
        assert_eq!(output.code, Some(1), "`stowage {command}`:\n{}", output.stderr);
        assert!(output.stdout.is_empty(), "`stowage {command}` printed {:?}", output.stdout);
    }
    assert_eq!(validate.stderr, plan.stderr, "both commands report the same problem");
    assert!(!fixture.was_contacted(), "a request was made before the key was checked");
    assert!(!fixture.state_path().exists(), "a state file was written");
    plan.stderr
}

#[tokio::test]
async fn a_missing_key_file_is_reported_with_its_resolved_path() {
    let stderr = refused(None).await;
    assert!(stderr.contains("No such file or directory"), "{stderr}");
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!("missing_key_file", stderr);
    });
}

#[tokio::test]
async fn a_private_key_is_refused_before_it_can_be_sent() {
    let stderr = refused(Some(RSA_PRIVATE_KEY)).await;
    assert!(stderr.contains("must never be shared with anyone, Twilio included"), "{stderr}");
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!("private_key", stderr);
    });
}

#[tokio::test]
async fn a_key_that_is_not_rsa_is_refused() {
    let stderr = refused(Some(EC_PUBLIC_KEY)).await;
    assert!(stderr.contains("it is not an RSA key but an EC key"), "{stderr}");
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!("ec_key", stderr);
    });
}

#[tokio::test]
async fn a_valid_key_beside_the_spec_validates() {
    let fixture = Fixture::new(Some(RSA_PUBLIC_KEY));
    let output = fixture.stowage("validate").await;
    assert_eq!(output.code, Some(0), "{}", output.stderr);
    assert_eq!(output.stdout, "specs/dev.toml is valid: environment `dev`\n");
    assert!(!fixture.was_contacted(), "validate makes no request");
}
