//! What `stowage alerts` reads from Twilio: the debugger's alerts, and the recordings and
//! compositions whose media Twilio failed to store. Only reads; each retried as the client
//! retries every GET, and its errors turned into [`ProviderError`]s as the resources' are.
//!
//! What the alerts mean is `stowage_plan::alerts`'s to say: this crate only fetches them.

use jiff::Timestamp;
use stowage_provider::ProviderError;

use crate::TwilioProvider;
use crate::client::{Alert, Media, MediaKind};

impl TwilioProvider {
    /// Every debugger alert of the account from `start` to `end`, all pages (see
    /// [`TwilioClient::list_alerts`](crate::TwilioClient::list_alerts) for how the window is
    /// sent, and how far back Twilio answers).
    pub async fn alerts(&self, start: Timestamp, end: Timestamp) -> Result<Vec<Alert>, ProviderError> {
        Ok(self.client.list_alerts(start, end).await?)
    }

    /// Every recording or composition of the account with `status` (`failed`, `deleted`)
    /// created from `after` to `before`, all pages: one list per call (see
    /// [`TwilioClient::list_media`](crate::TwilioClient::list_media)).
    pub async fn media(
        &self,
        kind: MediaKind,
        status: &str,
        after: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<Media>, ProviderError> {
        Ok(self.client.list_media(kind, status, after, before).await?)
    }

    /// As [`TwilioProvider::alerts`], for the account `account_sid`: a subaccount this provider
    /// acts for (see [`TwilioProvider::with_subaccounts`]), authenticating as it, or the account
    /// of its own auth token. Any other account is refused before any request.
    pub async fn alerts_for(
        &self,
        account_sid: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<Alert>, ProviderError> {
        let acting = self.acting_as(Some(account_sid), || "the alerts read".to_owned())?;
        Ok(acting.client.list_alerts(start, end).await?)
    }

    /// As [`TwilioProvider::media`], for the account `account_sid`, as
    /// [`TwilioProvider::alerts_for`] is.
    pub async fn media_for(
        &self,
        account_sid: &str,
        kind: MediaKind,
        status: &str,
        after: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<Media>, ProviderError> {
        let acting = self.acting_as(Some(account_sid), || format!("the {} read", kind.noun()))?;
        Ok(acting.client.list_media(kind, status, after, before).await?)
    }
}
