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
}
