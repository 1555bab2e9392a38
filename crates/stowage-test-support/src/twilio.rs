//! The Twilio emulator with one known account, the credentials a `stowage` run can be given,
//! and the environment that points `stowage` at the emulator.

use twilio_emulator::{EmulatorConfig, RunningEmulator};

/// The account of `examples/dev.toml`, the one [`start_emulator`] knows.
pub const TEST_ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
/// The auth token of [`TEST_ACCOUNT_SID`] in the emulator; a fake, shaped like a real one.
pub const TEST_AUTH_TOKEN: &str = "feedc0defeedc0defeedc0defeedc0de";

/// The variables that point `stowage` at Twilio's four APIs.
const ENDPOINT_VARIABLES: [&str; 4] =
    ["STOWAGE_TWILIO_ACCOUNTS_URL", "STOWAGE_TWILIO_VIDEO_URL", "STOWAGE_TWILIO_MONITOR_URL", "STOWAGE_TWILIO_API_URL"];

/// Starts the Twilio emulator on a free loopback port, knowing the test account, with its
/// storage write test aimed at `s3_endpoint` (moto, or an [`crate::AwsProxy`] in front of it).
/// Stops when the returned handle is dropped.
///
/// # Panics
/// When the emulator cannot start.
pub async fn start_emulator(s3_endpoint: &str) -> RunningEmulator {
    spawn_emulator(test_account_config(s3_endpoint)).await
}

/// The configuration of [`start_emulator`], for a test that adds accounts or API keys to it.
pub(crate) fn test_account_config(s3_endpoint: &str) -> EmulatorConfig {
    EmulatorConfig::new(s3_endpoint).account(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
}

/// # Panics
/// When the emulator cannot start.
pub(crate) async fn spawn_emulator(config: EmulatorConfig) -> RunningEmulator {
    twilio_emulator::spawn(config).await.unwrap_or_else(|error| panic!("could not start the Twilio emulator: {error}"))
}

/// The environment for a child `stowage` process: the test account's credentials, and every
/// Twilio API at `base_url` ([`RunningEmulator::base_url`]).
pub fn twilio_env(base_url: &str) -> Vec<(String, String)> {
    let mut environment = TwilioCredentials::TEST_ACCOUNT.environment();
    environment.extend(twilio_endpoints_env(base_url));
    environment
}

/// Every Twilio API at `base_url`, without credentials.
pub(crate) fn twilio_endpoints_env(base_url: &str) -> Vec<(String, String)> {
    ENDPOINT_VARIABLES.iter().map(|name| ((*name).to_owned(), base_url.to_owned())).collect()
}

/// Which Twilio credentials a `stowage` run is given, as the variables a user would set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwilioCredentials {
    /// `TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN`.
    AuthToken { account: &'static str, token: &'static str },
    /// `TWILIO_API_KEY` and `TWILIO_API_SECRET`: the key knows its account.
    ApiKey { sid: &'static str, secret: &'static str },
    /// An API key with `TWILIO_ACCOUNT_SID` set too, as Twilio's own tools expect.
    ApiKeyAndAccountSid { sid: &'static str, secret: &'static str, account: &'static str },
}

impl TwilioCredentials {
    /// The test account's SID and auth token: what every run is given unless it says otherwise.
    pub const TEST_ACCOUNT: TwilioCredentials =
        TwilioCredentials::AuthToken { account: TEST_ACCOUNT_SID, token: TEST_AUTH_TOKEN };

    /// Every variable any kind of credentials sets: a run given other credentials has none of
    /// the previous kind's left over.
    pub const VARIABLES: [&'static str; 4] =
        ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET"];

    /// The variables and their values, in the order a user would write them.
    pub fn environment(self) -> Vec<(String, String)> {
        let pairs = match self {
            TwilioCredentials::AuthToken { account, token } => {
                vec![("TWILIO_ACCOUNT_SID", account), ("TWILIO_AUTH_TOKEN", token)]
            }
            TwilioCredentials::ApiKey { sid, secret } => vec![("TWILIO_API_KEY", sid), ("TWILIO_API_SECRET", secret)],
            TwilioCredentials::ApiKeyAndAccountSid { sid, secret, account } => {
                vec![("TWILIO_API_KEY", sid), ("TWILIO_API_SECRET", secret), ("TWILIO_ACCOUNT_SID", account)]
            }
        };
        pairs.into_iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_sets_only_known_variables() {
        let kinds = [
            TwilioCredentials::TEST_ACCOUNT,
            TwilioCredentials::ApiKey { sid: "SK1", secret: "s" },
            TwilioCredentials::ApiKeyAndAccountSid { sid: "SK1", secret: "s", account: "AC1" },
        ];
        for kind in kinds {
            for (name, _) in kind.environment() {
                assert!(TwilioCredentials::VARIABLES.contains(&name.as_str()), "{kind:?} sets {name}");
            }
        }
    }
}
