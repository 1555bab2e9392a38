//! Shared test support for stowage's integration tests: moto (the AWS emulator) on a free
//! loopback port, a recording and fault-injecting proxy in front of it, the Twilio emulator,
//! sandboxes, the [`World`] every end-to-end test runs the `stowage` binary in, the one
//! secret-leak detector ([`SecretScan`]), and insta filters for what varies between runs.
//!
//! Everything listens on loopback only; no test built on this crate touches the internet,
//! and [`stowage_command`] keeps a developer's real AWS and Twilio credentials out of tests.
#![allow(
    clippy::disallowed_methods,
    reason = "test tooling: it reads the test run's settings (STOWAGE_MOTO_SERVER, CARGO_TARGET_DIR) and keeps the developer's own out of tests"
)]

pub mod guide;
mod leaks;
mod moto;
mod proxy;
mod run;
mod sandbox;
mod snapshot_filters;
mod twilio;
mod world;

use std::time::Duration;

pub use guide::{GuideVariant, HandMade, HandMadeKmsKey, HandMadeSecret, fill_in_the_template, follow_the_guide};
pub use leaks::{SecretScan, looks_like_aws_secret};
pub use moto::{
    MOTO_REGION, MOTO_SERVER_VARIABLE, Moto, moto_server_program, path_style_s3_client, unreachable_aws_env,
};
pub use proxy::{AwsProxy, Fault, FaultAction, FaultMatch, ObservedRequest, operation_shape};
pub use run::{Invocation, RUN_TIMEOUT, Run, Running, assert_exit};
pub use sandbox::{Entry, Sandbox, stowage_command};
pub use snapshot_filters::insta_filters;
pub use twilio::{TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TwilioCredentials, start_emulator, twilio_env};
/// The emulator itself, for its fault rules and request log.
pub use twilio_emulator::{self, RunningEmulator};
pub use world::{World, WorldBuilder};

/// What `examples/dev.toml` ([`dev_spec`]) names, for tests that look at what it made.
pub mod dev {
    /// The spec's file name in a sandbox.
    pub const SPEC: &str = "dev.toml";
    pub const REGION: &str = "us-east-2";
    pub const BUCKET: &str = "acme-video-dev";
    /// The uploader: the IAM user whose access key Twilio writes with.
    pub const USER: &str = "twilio-video-uploader-dev";
    /// The uploader's inline policy, which lets it write under the spec's prefixes.
    pub const POLICY_NAME: &str = "stowage-twilio-video-upload";
}

/// The text of `examples/NAME`, a spec the repository ships (`dev.toml`, `prod.toml`).
///
/// # Panics
/// When the file cannot be read.
pub fn example_spec(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// `examples/dev.toml`, the spec most tests start from.
pub fn dev_spec() -> String {
    example_spec(dev::SPEC)
}

/// `body`, failing the test instead of hanging when it does not finish within `limit`.
///
/// # Panics
/// When `body` takes longer.
pub async fn within<Output>(limit: Duration, body: impl Future<Output = Output>) -> Output {
    tokio::time::timeout(limit, body).await.unwrap_or_else(|_| panic!("the test did not finish within {limit:?}"))
}
