//! `encryption_public_key` files that cannot be used stop `stowage validate` and `stowage plan`
//! with exit 1 and a diagnostic at the spec value, before any request: AWS and both Twilio APIs
//! point at a loopback listener that must not have seen a single connection.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use stowage_test_support::{Sandbox, insta_filters, stowage_command, twilio_env};

const BINARY: &str = env!("CARGO_BIN_EXE_stowage");
/// One `stowage` run; with nothing to wait for, a run that takes this long has hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

const RSA_PUBLIC_KEY: &str = include_str!("../../stowage-spec/tests/fixtures/rsa_public_key.pem");
const RSA_PRIVATE_KEY: &str = include_str!("../../stowage-spec/tests/fixtures/rsa_private_key.pem");
const EC_PUBLIC_KEY: &str = include_str!("../../stowage-spec/tests/fixtures/ec_public_key.pem");

/// The spec lives in `specs/` and the command runs from the sandbox root, so a key found at all
/// was found relative to the spec, not to the working directory.
const SPEC: &str = "specs/dev.toml";
const KEY: &str = "specs/keys/recordings.pem";

/// A sandbox with the example spec asking for encrypted recordings, and a listener standing in
/// for AWS and Twilio that never answers.
struct Fixture {
    sandbox: Sandbox,
    listener: TcpListener,
}

impl Fixture {
    fn new(key: Option<&str>) -> Fixture {
        let sandbox = Sandbox::new();
        let example = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/dev.toml"))
            .expect("examples/dev.toml is readable");
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

    fn environment(&self) -> HashMap<String, String> {
        let endpoint = format!("http://{}", self.listener.local_addr().expect("bound"));
        let absent = self.sandbox.path().join("absent").to_string_lossy().into_owned();
        let mut environment: HashMap<String, String> = twilio_env(&endpoint).into_iter().collect();
        for (name, value) in [
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ("AWS_REGION", "us-east-2"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", absent.as_str()),
            ("AWS_SHARED_CREDENTIALS_FILE", absent.as_str()),
            ("RUST_LOG", "warn"),
            ("NO_COLOR", "1"),
        ] {
            environment.insert(name.to_owned(), value.to_owned());
        }
        environment
    }

    async fn stowage(&self, command: &str) -> Output {
        let mut child =
            tokio::process::Command::from(stowage_command(Path::new(BINARY), &self.sandbox, self.environment()));
        child.args([command, SPEC]).kill_on_drop(true);
        tokio::time::timeout(RUN_TIMEOUT, child.output())
            .await
            .unwrap_or_else(|_| panic!("`stowage {command}` did not finish within {RUN_TIMEOUT:?}"))
            .expect("stowage ran")
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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `validate` and `plan` on a spec whose key file is `key` (absent when `None`): both exit
/// 1 with the same diagnostic, contact nothing and write no state. Returns the diagnostic.
async fn refused(key: Option<&str>) -> String {
    let fixture = Fixture::new(key);
    let validate = fixture.stowage("validate").await;
    let plan = fixture.stowage("plan").await;
    for (command, output) in [("validate", &validate), ("plan", &plan)] {
        assert_eq!(output.status.code(), Some(1), "`stowage {command}`:\n{}", stderr(output));
        assert!(output.stdout.is_empty(), "`stowage {command}` printed {:?}", String::from_utf8_lossy(&output.stdout));
    }
    assert_eq!(stderr(&validate), stderr(&plan), "both commands report the same problem");
    assert!(!fixture.was_contacted(), "a request was made before the key was checked");
    assert!(!fixture.state_path().exists(), "a state file was written");
    stderr(&plan)
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
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "specs/dev.toml is valid: environment `dev`\n");
    assert!(!fixture.was_contacted(), "validate makes no request");
}
