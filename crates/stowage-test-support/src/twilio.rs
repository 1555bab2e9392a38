//! The Twilio emulator with one known account, and the environment that points `stowage` at it.

use twilio_emulator::{EmulatorConfig, RunningEmulator};

/// The account of `examples/dev.toml`, the one [`start_emulator`] knows.
pub const TEST_ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
/// The auth token of [`TEST_ACCOUNT_SID`] in the emulator; a fake, shaped like a real one.
pub const TEST_AUTH_TOKEN: &str = "feedc0defeedc0defeedc0defeedc0de";

/// Starts the Twilio emulator on a free loopback port, knowing the test account, with its
/// storage write test aimed at `s3_endpoint` (moto, or an [`crate::AwsProxy`] in front of it).
/// Stops when the returned handle is dropped.
///
/// # Panics
/// When the emulator cannot start.
pub async fn start_emulator(s3_endpoint: &str) -> RunningEmulator {
    let config = EmulatorConfig::new(s3_endpoint).account(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN);
    twilio_emulator::spawn(config).await.unwrap_or_else(|error| panic!("could not start the Twilio emulator: {error}"))
}

/// The environment for a child `stowage` process: the test account's credentials, and both
/// Twilio APIs at `base_url` ([`RunningEmulator::base_url`]).
pub fn twilio_env(base_url: &str) -> Vec<(String, String)> {
    [
        ("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID),
        ("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN),
        ("STOWAGE_TWILIO_ACCOUNTS_URL", base_url),
        ("STOWAGE_TWILIO_VIDEO_URL", base_url),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}
