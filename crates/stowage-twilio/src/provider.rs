//! The Twilio provider: its client, and each resource type routed to its file.

use crate::client::{CredentialKind, RetryPolicy, Timeouts, TwilioAuth, TwilioClient, TwilioEndpoints, TwilioError};
use crate::credential::Credentials;
use crate::{aws_credential, public_key, storage_settings};

/// Twilio resources of one account.
#[derive(Debug, Clone)]
pub struct TwilioProvider {
    pub(crate) client: TwilioClient,
    /// The account the client authenticates as, when the credentials say (`AC...` + token).
    authenticated_account: Option<String>,
}

impl TwilioProvider {
    /// A provider whose client authenticates with `auth`.
    pub fn connect(auth: TwilioAuth, endpoints: TwilioEndpoints, retry: RetryPolicy) -> Result<Self, TwilioError> {
        Self::connect_with_timeouts(auth, endpoints, retry, Timeouts::default())
    }

    /// As [`TwilioProvider::connect`], with the client's timeouts given.
    pub fn connect_with_timeouts(
        auth: TwilioAuth,
        endpoints: TwilioEndpoints,
        retry: RetryPolicy,
        timeouts: Timeouts,
    ) -> Result<Self, TwilioError> {
        let authenticated_account =
            (auth.kind() == CredentialKind::AccountAuthToken).then(|| auth.username().to_owned());
        Ok(Self { client: TwilioClient::with_timeouts(auth, endpoints, retry, timeouts)?, authenticated_account })
    }

    pub fn client(&self) -> &TwilioClient {
        &self.client
    }

    /// Whether `account_sid` names an account other than the one we authenticate as (a
    /// subaccount): only then is `AccountSid` sent.
    pub(crate) fn is_other_account(&self, account_sid: &str) -> bool {
        self.authenticated_account.as_deref().is_some_and(|own| own != account_sid)
    }
}

stowage_provider::routes!(TwilioProvider {
    TwilioAwsCredential => Credentials<aws_credential::AwsCredential>,
    TwilioPublicKey => Credentials<public_key::PublicKey>,
    TwilioRecordingSettings | TwilioCompositionSettings => storage_settings::Settings,
});
