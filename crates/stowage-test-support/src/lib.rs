//! Shared test support for stowage's integration tests: moto (the AWS emulator) on a free
//! loopback port, a recording and fault-injecting proxy in front of it, the Twilio emulator,
//! sandboxes to run the `stowage` binary in, and insta filters for what varies between runs.
//!
//! Everything listens on loopback only; no test built on this crate touches the internet,
//! and [`stowage_command`] keeps a developer's real AWS and Twilio credentials out of tests.
#![allow(
    clippy::disallowed_methods,
    reason = "test tooling: it reads the test run's settings (STOWAGE_MOTO_SERVER, CARGO_TARGET_DIR) and keeps the developer's own out of tests"
)]

mod moto;
mod proxy;
mod sandbox;
mod snapshot_filters;
mod twilio;

pub use moto::{MOTO_REGION, MOTO_SERVER_VARIABLE, Moto, moto_server_program, path_style_s3_client};
pub use proxy::{AwsProxy, Fault, FaultAction, FaultMatch, ObservedRequest, operation_shape};
pub use sandbox::{Sandbox, stowage_command};
pub use snapshot_filters::insta_filters;
pub use twilio::{TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, start_emulator, twilio_env};
/// The emulator itself, for its fault rules and request log.
pub use twilio_emulator::{self, RunningEmulator};

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
    example_spec("dev.toml")
}
