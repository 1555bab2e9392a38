//! A small typed client for the Twilio endpoints stowage manages: AWS credentials and public
//! keys (Accounts v1), recording and composition storage settings (Video v1); for what
//! `stowage alerts` reads: the debugger's alerts (Monitor v1), failed and deleted recordings
//! and compositions (Video v1); and for a fleet, the account's subaccounts (2010 API).
//!
//! Every call is authenticated with HTTP Basic, bounded by timeouts, retried when that is
//! safe (see [`RetryPolicy`]), kept within the account's adaptive concurrency limit (see
//! `limit.rs`), counted (see [`TwilioClient::calls`]) and logged at `debug` level without its
//! body.

mod auth;
mod calls;
mod endpoints;
mod error;
mod limit;
mod models;
mod operation;
mod retry;
mod transport;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

pub use auth::{CredentialKind, CredentialsError, SidShape, TwilioAuth};
pub use calls::CallCounts;
pub use endpoints::{EndpointError, TwilioApi, TwilioEndpoints};
pub use error::{ApiError, Failure, TwilioError, Unanswered};
pub use models::{
    Account, Alert, AwsCredential, CreateAwsCredential, CreatePublicKey, Media, MediaKind, PublicKey, StorageSettings,
    StorageSettingsKind, StorageSettingsUpdate, StoredCredential,
};
pub use operation::Operation;
pub use retry::RetryPolicy;

use calls::CallCounter;
use jiff::{RoundMode, Timestamp, TimestampRound, Unit};
use limit::{AdaptiveLimit, Limits};
use models::{AccountsPage, AlertsPage, CompositionsPage, CredentialsPage, RecordingsPage};
use stowage_provider::Secret;

const AWS_CREDENTIALS: [&str; 3] = ["v1", "Credentials", "AWS"];
const PUBLIC_KEYS: [&str; 3] = ["v1", "Credentials", "PublicKeys"];
const ALERTS: [&str; 2] = ["v1", "Alerts"];
const RECORDINGS: [&str; 2] = ["v1", "Recordings"];
const COMPOSITIONS: [&str; 2] = ["v1", "Compositions"];
const ACCOUNTS: [&str; 2] = ["2010-04-01", "Accounts.json"];

/// The largest `PageSize` each list takes, as Twilio's documents give it: the fewer pages, the
/// fewer round trips. Credentials, alerts and accounts take 1000, recordings and compositions
/// 100.
const CREDENTIALS_PAGE_SIZE: &str = "1000";
const ACCOUNTS_PAGE_SIZE: &str = "1000";
const ALERTS_PAGE_SIZE: &str = "1000";
const MEDIA_PAGE_SIZE: &str = "100";

/// How far back Monitor keeps alerts: it does not answer queries for older ones
/// (`twilio_monitor_v1.json`, `StartDate`). A window reaching further back finds nothing more.
pub const ALERTS_RETENTION_DAYS: u32 = 30;

/// How long a request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To establish the connection (TCP and TLS).
    pub connect: Duration,
    /// For one attempt, from connecting until the whole response body is read.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(5), request: Duration::from_secs(30) }
    }
}

/// The Twilio REST client. Cheap to clone; clones share the connection pool, the call counts
/// and the concurrency limits.
#[derive(Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    auth: TwilioAuth,
    endpoints: TwilioEndpoints,
    retry: RetryPolicy,
    timeouts: Timeouts,
    calls: Arc<CallCounter>,
    /// Every account's concurrency limit, shared with the clients acting for subaccounts.
    limits: Arc<Limits>,
    /// The limit of the account this client authenticates as.
    limit: Arc<AdaptiveLimit>,
    /// The subaccount this client authenticates as, when it is one (see
    /// [`TwilioClient::for_subaccount`]): named in its errors.
    subaccount: Option<String>,
}

impl fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioClient")
            .field("auth", &self.auth)
            .field("subaccount", &self.subaccount)
            .field("accounts", &self.endpoints.accounts().as_str())
            .field("video", &self.endpoints.video().as_str())
            .field("monitor", &self.endpoints.monitor().as_str())
            .field("api", &self.endpoints.api().as_str())
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl TwilioClient {
    /// A client with the default [`Timeouts`] (connect 5 s, request 30 s).
    pub fn new(auth: TwilioAuth, endpoints: TwilioEndpoints, retry: RetryPolicy) -> Result<Self, TwilioError> {
        Self::with_timeouts(auth, endpoints, retry, Timeouts::default())
    }

    pub fn with_timeouts(
        auth: TwilioAuth,
        endpoints: TwilioEndpoints,
        retry: RetryPolicy,
        timeouts: Timeouts,
    ) -> Result<Self, TwilioError> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            // Twilio's API does not redirect; following one would send the credentials, and a
            // create's AWS secret, wherever it pointed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("stowage/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(TwilioError::client_setup)?;
        let limits = Arc::new(Limits::default());
        let limit = limits.of(auth.username());
        Ok(Self { http, auth, endpoints, retry, timeouts, calls: Arc::default(), limits, limit, subaccount: None })
    }

    /// This client, authenticating as the subaccount `sid` with its own auth token instead:
    /// what Twilio asks of every request to the subdomain APIs (Accounts v1, Video v1, Monitor
    /// v1) about a subaccount. It shares this client's connections and call counts, and has
    /// the subaccount's own concurrency limit.
    pub(crate) fn for_subaccount(&self, sid: &str, auth_token: Secret) -> TwilioClient {
        let auth = TwilioAuth::account(sid, auth_token);
        TwilioClient { limit: self.limits.of(auth.username()), auth, subaccount: Some(sid.to_owned()), ..self.clone() }
    }

    /// Requests sent so far by this client and its clones.
    pub fn calls(&self) -> CallCounts {
        self.calls.snapshot()
    }

    // AWS credentials (Accounts v1)

    /// Every AWS credential of the account, all pages.
    pub async fn list_aws_credentials(&self) -> Result<Vec<AwsCredential>, TwilioError> {
        let url = self.list_url(TwilioApi::Accounts, &AWS_CREDENTIALS, &[], CREDENTIALS_PAGE_SIZE);
        self.list::<CredentialsPage<AwsCredential>>(Operation::ListAwsCredentials, TwilioApi::Accounts, url).await
    }

    /// The credential, or `None` when Twilio does not know it (404).
    pub async fn fetch_aws_credential(&self, sid: &str) -> Result<Option<AwsCredential>, TwilioError> {
        let url = self.credential_url(Operation::FetchAwsCredential, &AWS_CREDENTIALS, sid)?;
        self.fetch_optional(Operation::FetchAwsCredential, &url).await
    }

    /// Stores an AWS access key in Twilio. Retried only when Twilio throttles it (429), since
    /// a create whose answer was lost may have happened: see [`TwilioError::outcome_unknown`].
    pub async fn create_aws_credential(&self, request: &CreateAwsCredential<'_>) -> Result<AwsCredential, TwilioError> {
        let url = self.endpoints.url(TwilioApi::Accounts, &AWS_CREDENTIALS);
        self.call(Operation::CreateAwsCredential, &url, Some(&request.form())).await
    }

    /// Renames the credential, the only change Twilio allows: the AWS key inside can never
    /// be replaced, so a new key needs a new credential.
    pub async fn update_aws_credential(&self, sid: &str, friendly_name: &str) -> Result<AwsCredential, TwilioError> {
        let url = self.credential_url(Operation::UpdateAwsCredential, &AWS_CREDENTIALS, sid)?;
        self.call(Operation::UpdateAwsCredential, &url, Some(&models::rename_form(friendly_name))).await
    }

    /// Deletes the credential; `false` when it was already gone (404).
    pub async fn delete_aws_credential(&self, sid: &str) -> Result<bool, TwilioError> {
        let url = self.credential_url(Operation::DeleteAwsCredential, &AWS_CREDENTIALS, sid)?;
        self.delete(Operation::DeleteAwsCredential, &url).await
    }

    // Public keys (Accounts v1)

    /// Every public key of the account, all pages.
    pub async fn list_public_keys(&self) -> Result<Vec<PublicKey>, TwilioError> {
        let url = self.list_url(TwilioApi::Accounts, &PUBLIC_KEYS, &[], CREDENTIALS_PAGE_SIZE);
        self.list::<CredentialsPage<PublicKey>>(Operation::ListPublicKeys, TwilioApi::Accounts, url).await
    }

    /// The public key, or `None` when Twilio does not know it (404).
    pub async fn fetch_public_key(&self, sid: &str) -> Result<Option<PublicKey>, TwilioError> {
        let url = self.credential_url(Operation::FetchPublicKey, &PUBLIC_KEYS, sid)?;
        self.fetch_optional(Operation::FetchPublicKey, &url).await
    }

    /// Stores a public key in Twilio. Retried only on 429, like
    /// [`create_aws_credential`](Self::create_aws_credential).
    pub async fn create_public_key(&self, request: &CreatePublicKey<'_>) -> Result<PublicKey, TwilioError> {
        let url = self.endpoints.url(TwilioApi::Accounts, &PUBLIC_KEYS);
        self.call(Operation::CreatePublicKey, &url, Some(&request.form())).await
    }

    /// Renames the public key, the only change Twilio allows.
    pub async fn update_public_key(&self, sid: &str, friendly_name: &str) -> Result<PublicKey, TwilioError> {
        let url = self.credential_url(Operation::UpdatePublicKey, &PUBLIC_KEYS, sid)?;
        self.call(Operation::UpdatePublicKey, &url, Some(&models::rename_form(friendly_name))).await
    }

    /// Deletes the public key; `false` when it was already gone (404).
    pub async fn delete_public_key(&self, sid: &str) -> Result<bool, TwilioError> {
        let url = self.credential_url(Operation::DeletePublicKey, &PUBLIC_KEYS, sid)?;
        self.delete(Operation::DeletePublicKey, &url).await
    }

    // Storage settings (Video v1)

    /// The recording or composition settings singleton.
    pub async fn fetch_storage_settings(&self, kind: StorageSettingsKind) -> Result<StorageSettings, TwilioError> {
        let (operation, _) = settings_operations(kind);
        self.call(operation, &self.settings_url(kind), None).await
    }

    /// Replaces the recording or composition settings with `settings`.
    pub async fn update_storage_settings(
        &self,
        kind: StorageSettingsKind,
        settings: &StorageSettingsUpdate,
    ) -> Result<StorageSettings, TwilioError> {
        let (_, operation) = settings_operations(kind);
        self.call(operation, &self.settings_url(kind), Some(&settings.form())).await
    }

    pub async fn fetch_recording_settings(&self) -> Result<StorageSettings, TwilioError> {
        self.fetch_storage_settings(StorageSettingsKind::Recording).await
    }

    pub async fn update_recording_settings(
        &self,
        settings: &StorageSettingsUpdate,
    ) -> Result<StorageSettings, TwilioError> {
        self.update_storage_settings(StorageSettingsKind::Recording, settings).await
    }

    pub async fn fetch_composition_settings(&self) -> Result<StorageSettings, TwilioError> {
        self.fetch_storage_settings(StorageSettingsKind::Composition).await
    }

    pub async fn update_composition_settings(
        &self,
        settings: &StorageSettingsUpdate,
    ) -> Result<StorageSettings, TwilioError> {
        self.update_storage_settings(StorageSettingsKind::Composition, settings).await
    }

    // Alerts (Monitor v1), recordings and compositions (Video v1)

    /// Every debugger alert of the account that occurred from `start` to `end`, both included,
    /// all pages, in the order Twilio lists them. Twilio takes whole seconds: `start` is
    /// rounded down and `end` down (an alert's time has whole seconds, so none within the
    /// window is missed). Monitor answers for the last [`ALERTS_RETENTION_DAYS`] days only.
    pub async fn list_alerts(&self, start: Timestamp, end: Timestamp) -> Result<Vec<Alert>, TwilioError> {
        let query = [("StartDate", date_time(start, RoundMode::Floor)), ("EndDate", date_time(end, RoundMode::Floor))];
        let url = self.list_url(TwilioApi::Monitor, &ALERTS, &query, ALERTS_PAGE_SIZE);
        self.list::<AlertsPage>(Operation::ListAlerts, TwilioApi::Monitor, url).await
    }

    /// Every recording or composition of the account with `status` (one of
    /// [`MediaKind::statuses`]: `failed`, `deleted`, ...) created from `after` (included) to
    /// `before` (excluded), all pages. Twilio takes whole seconds: `after` is rounded down and
    /// `before` up, so the window asked for is covered. A status Twilio does not document is
    /// refused before any request.
    pub async fn list_media(
        &self,
        kind: MediaKind,
        status: &str,
        after: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<Media>, TwilioError> {
        let operation = match kind {
            MediaKind::Recording => Operation::ListRecordings,
            MediaKind::Composition => Operation::ListCompositions,
        };
        if !kind.statuses().contains(&status) {
            return Err(TwilioError::new(
                operation,
                Failure::InvalidStatus { kind: kind.noun(), status: status.to_owned(), documented: kind.statuses() },
            ));
        }
        let query = [
            ("Status", status.to_owned()),
            ("DateCreatedAfter", date_time(after, RoundMode::Floor)),
            ("DateCreatedBefore", date_time(before, RoundMode::Ceil)),
        ];
        match kind {
            MediaKind::Recording => {
                let url = self.list_url(TwilioApi::Video, &RECORDINGS, &query, MEDIA_PAGE_SIZE);
                self.list::<RecordingsPage>(operation, TwilioApi::Video, url).await
            }
            MediaKind::Composition => {
                let url = self.list_url(TwilioApi::Video, &COMPOSITIONS, &query, MEDIA_PAGE_SIZE);
                self.list::<CompositionsPage>(operation, TwilioApi::Video, url).await
            }
        }
    }

    // Accounts (2010 API)

    /// Every active account the credentials may see, all pages: for a main account's auth
    /// token or Main API key, the account itself and its subaccounts, each with its auth token
    /// (Twilio: a Standard API key may not use `/Accounts`).
    pub async fn list_active_accounts(&self) -> Result<Vec<Account>, TwilioError> {
        let query = [("Status", "active".to_owned())];
        let url = self.list_url(TwilioApi::Api2010, &ACCOUNTS, &query, ACCOUNTS_PAGE_SIZE);
        self.list::<AccountsPage>(Operation::ListAccounts, TwilioApi::Api2010, url).await
    }

    /// The first page of a list: the collection's URL with `query` and the page size.
    fn list_url(&self, api: TwilioApi, collection: &[&str], query: &[(&str, String)], page_size: &str) -> Url {
        let mut url = self.endpoints.url(api, collection);
        let mut pairs = url.query_pairs_mut();
        for (name, value) in query {
            pairs.append_pair(name, value);
        }
        pairs.append_pair("PageSize", page_size);
        drop(pairs);
        url
    }

    /// `collection/{sid}`, once the SID has the shape Twilio gives it (`CR` and 32 hex digits).
    fn credential_url(&self, operation: Operation, collection: &[&str], sid: &str) -> Result<Url, TwilioError> {
        let is_credential_sid = sid
            .strip_prefix("CR")
            .is_some_and(|digits| digits.len() == 32 && digits.bytes().all(|byte| byte.is_ascii_hexdigit()));
        if !is_credential_sid {
            return Err(TwilioError::new(operation, Failure::InvalidSid { sid: sid.to_owned() }));
        }
        let segments: Vec<&str> = collection.iter().copied().chain([sid]).collect();
        Ok(self.endpoints.url(TwilioApi::Accounts, &segments))
    }

    fn settings_url(&self, kind: StorageSettingsKind) -> Url {
        let resource = match kind {
            StorageSettingsKind::Recording => "RecordingSettings",
            StorageSettingsKind::Composition => "CompositionSettings",
        };
        self.endpoints.url(TwilioApi::Video, &["v1", resource, "Default"])
    }
}

/// A `date-time` query parameter as Twilio's documents ask for it: `YYYY-MM-DDThh:mm:ssZ`, in
/// UTC, whole seconds rounded by `mode`.
fn date_time(at: Timestamp, mode: RoundMode) -> String {
    let seconds = TimestampRound::new().smallest(Unit::Second).mode(mode);
    // Rounding to a second fails only at the very ends of the representable range, where the
    // rounded time would not exist: keep the time as given then (its seconds are printed).
    let rounded = at.round(seconds).unwrap_or(at);
    rounded.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The fetch and update operations of a settings singleton.
fn settings_operations(kind: StorageSettingsKind) -> (Operation, Operation) {
    match kind {
        StorageSettingsKind::Recording => (Operation::FetchRecordingSettings, Operation::UpdateRecordingSettings),
        StorageSettingsKind::Composition => (Operation::FetchCompositionSettings, Operation::UpdateCompositionSettings),
    }
}
