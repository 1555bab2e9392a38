//! A stateful, in-memory emulator of the parts of the Twilio API that stowage uses, for
//! stowage's integration tests and the local demo: fleets of subaccounts, each pointing its
//! Video recording storage at S3.
//!
//! # What it serves
//!
//! On one address, as Twilio's OpenAPI documents (embedded from `openapi/`) describe them:
//!
//! - Accounts v1 `/v1/Credentials/AWS` and `/v1/Credentials/PublicKeys`: create (201), list
//!   with paging (`PageSize`, `Page`, `PageToken`, and `meta` with absolute page URLs on the
//!   emulator's own address), fetch, update (`FriendlyName` only) and delete (204). The AWS
//!   secret is kept for the write test and the uploads below; it is never answered, logged or
//!   recorded.
//! - Video v1 `/v1/RecordingSettings/Default` and `/v1/CompositionSettings/Default`: fetch
//!   (Twilio's defaults before the first POST) and POST, which replaces the whole settings.
//!   When a POST switches storage on, the emulator does what Twilio does: it writes
//!   `PATH/twilio-storage-test-<recordings|compositions>.txt` into the bucket of `AwsS3Url`
//!   with the stored AWS credential, against the configured S3 endpoint (moto), and refuses
//!   the settings if that fails: 53615/53625 access denied, 53611/53621 key or signature not
//!   accepted, 53610/53620 bad URL, missing bucket or wrong region (5361x for recordings,
//!   5362x for compositions, as in Twilio's error catalogue).
//! - Video v1 `GET /v1/Recordings` (filters `Status`, `SourceSid`, `GroupingSid` (repeated;
//!   every one must be among the recording's room and participant), `MediaType`,
//!   `DateCreatedAfter` (on or after), `DateCreatedBefore` (before)), `GET /v1/Recordings/{Sid}`,
//!   `GET /v1/Compositions` (filters `Status`, `RoomSid`, `DateCreatedAfter`,
//!   `DateCreatedBefore`) and `GET /v1/Compositions/{Sid}`: the media files Twilio finished
//!   (see "Controlling it from tests"), newest first, paged like the credentials with the
//!   filters repeated in every page URL. A recording is one participant's audio track (`RT…`,
//!   `mka`, `OPUS`, `grouping_sids` with its room `RM…` and participant `PA…`, `source_sid`
//!   `MT…`); a composition (`CJ…`) is an `mp4` of its room. Statuses are `completed` and
//!   `deleted`; `media_external_location` is the object's URL at the settings' own host form
//!   while it is in the bucket, and compositions carry `date_completed` and `date_deleted`.
//! - Monitor v1 `GET /v1/Alerts` (filters `LogLevel`, and `StartDate` (on or after) and
//!   `EndDate` (on or before), each `YYYY-MM-DDThh:mm:ssZ` or, as the document's prose allows,
//!   a bare `YYYY-MM-DD` in GMT meaning that whole day) and `GET /v1/Alerts/{Sid}` (`NO…`):
//!   the debugger's alerts, newest first, paged. A list item has the fields of
//!   `monitor.v1.alert` (`error_code` a string, `more_info`
//!   `https://www.twilio.com/docs/errors/CODE`, `resource_sid` the media's SID, `log_level`,
//!   `alert_text`, the three dates equal); a fetch adds the request and response fields of
//!   `monitor.v1.alert-instance`. What Twilio fills only for alerts raised by an HTTP request
//!   (`api_version`, `request_method`, `request_url`, `service_sid`, and the request and
//!   response fields) is null: uploads are no request of the customer's application.
//! - The 2010 API's Accounts resource (only the part of its document embedded, see
//!   [`openapi`]): `POST /2010-04-01/Accounts.json` (`FriendlyName` optional, Twilio's default
//!   `SubAccount Created at YYYY-MM-DD HH:MM am|pm`) makes a subaccount of the caller, 201;
//!   `GET /2010-04-01/Accounts.json` (filters `FriendlyName` (exact) and `Status`) lists the
//!   caller itself and its subaccounts in creation order, paged the 2010 way (`accounts`,
//!   `start`, `end`, `page`, `page_size`, and `uri`, `first_page_uri`, `next_page_uri`,
//!   `previous_page_uri` relative to the host, filters kept); `GET /2010-04-01/Accounts/{Sid}.json`
//!   fetches the caller or one of its subaccounts (anything else 404, code 20404); `POST` to it
//!   renames (`FriendlyName`) and, for the owner only, suspends, reactivates or closes a
//!   subaccount (`Status`). An account has `sid`, a 32-hex-digit `auth_token`,
//!   `owner_account_sid` (a main account's is itself), `status`, `type` `Full`,
//!   `friendly_name`, `date_created` and `date_updated` (RFC 2822 in GMT, `Tue, 31 Aug 2010
//!   20:36:28 +0000`), `uri` and `subresource_uris`. Closing is final (400, code 20001, for
//!   any change after it); a main account cannot be suspended or closed and a subaccount cannot
//!   change its own status (403, code 20003); a subaccount makes no subaccounts (400, code
//!   21101, "Subaccounts cannot contain subaccounts"); at most [`MAX_SUBACCOUNTS`] open
//!   subaccounts per main account (400, code 21480).
//!
//! Dates of the v1 APIs are UTC, whole seconds, `YYYY-MM-DDThh:mm:ssZ` (the documents'
//! `format: date-time`).
//!
//! Every request authenticates with HTTP Basic, as an account (SID and auth token) or an API
//! key (SID and secret) of an active account. As Twilio documents it:
//!
//! - The v1 APIs (Twilio's `accounts.`, `video.` and `monitor.` subdomains) act as the
//!   authenticated account only: a subaccount's resources (credentials, settings, media,
//!   alerts) are reached with the subaccount's own SID and auth token or an API key of the
//!   subaccount, never with its owner's credentials, and never by a sibling. A credential's
//!   `AccountSid` may name the caller or one of its subaccounts that is not closed; any other
//!   account is refused with 403, code 20003 (Permission Denied).
//! - The Accounts resource: a main account's auth token or Main API key ([`ApiKeyKind::Main`],
//!   [`EmulatorConfig::api_key_main`], `--main-api-key`) see the account and its subaccounts;
//!   a subaccount's credentials see only the subaccount itself. Standard API keys (the default
//!   kind) may not use it at all: 401, code 20003, as Twilio answers them ("Authenticate").
//! - A suspended or closed account's auth token and API keys are refused everywhere with 401,
//!   code 20003 (whose documented causes include "Account is suspended or closed"); its owner
//!   still lists and fetches it.
//!
//! Subaccounts are configured ([`EmulatorConfig::subaccount`], `--subaccount`) or made through
//! the API or by a test; either kind has its own settings, credentials, media and alerts.
//!
//! A concurrency limit ([`EmulatorConfig::concurrency_limit`], `--concurrency-limit N`, none by
//! default) caps the API requests in flight per account family: a main account and all its
//! subaccounts share one count (Twilio's limit is per account; sharing is the conservative
//! reading). A request arriving while N of its family are in flight is answered at once with
//! 429, code 20429 ("Too Many Requests"), without `Retry-After` (Twilio sends none for it), and
//! is not processed: Twilio documents that such a request "is never processed and is always safe
//! to retry". It is recorded in the request log (`"throttled": true`) and counted
//! ([`RunningEmulator::throttled`]). Only authenticated requests count; the added latency (below)
//! is what makes requests overlap.
//!
//! Errors are Twilio's JSON: `{"code", "message", "more_info", "status"}`.
//!
//! Every request is checked against the OpenAPI documents: unknown parameters, wrong types,
//! patterns, lengths, missing required parameters. The emulator is stricter than Twilio, which
//! ignores unknown parameters: it answers 400 (code 20001), so a client that passes its tests
//! here is proven to send what the documents describe. Each request is recorded with its
//! method, path, status, parameter names (never values), account and violations.
//!
//! # Running it
//!
//! In process, [`spawn`] an [`EmulatorConfig`]; as a process:
//!
//! ```text
//! twilio-emulator --listen 127.0.0.1:0 --s3-endpoint http://127.0.0.1:5000 \
//!     --account AC0123456789abcdef0123456789abcdef:TOKEN [--api-key SK…:SECRET:AC…] \
//!     [--main-api-key SK…:SECRET:AC…] [--subaccount AC…:TOKEN:OWNER_AC…] \
//!     [--concurrency-limit N]
//! ```
//!
//! which prints `twilio-emulator listening on http://IP:PORT` as its first stdout line and
//! serves the four APIs there until interrupted.
//!
//! # Controlling it from tests
//!
//! Admin endpoints need no authentication and are not recorded:
//! `POST /__emulator/reset` (forgets every resource, media and alerts included, the faults, the
//! latency, the request log and its throttled count, and the subaccounts and API keys made
//! since the start: accounts, API keys and the concurrency limit are as configured again, and
//! active), `GET /__emulator/requests`, `POST /__emulator/faults` (see [`FaultRule`]; `DELETE`
//! clears them), `POST /__emulator/latency` (`{"ms": 50}`, added to every API response but the
//! 429s of the concurrency limit), and:
//!
//! - `POST /__emulator/concurrency` `{"limit": N}` (`null` or absent: no limit) sets the
//!   concurrency limit; it and `GET /__emulator/concurrency` answer `{"limit", "throttled"}`.
//! - `POST /__emulator/subaccounts` `{"owner_account_sid": "AC…", "friendly_name": "…"}`
//!   (name optional) makes a subaccount as the API does: 201 [`Subaccount`] `{"sid",
//!   "auth_token", "owner_account_sid", "friendly_name", "status"}`.
//!   `GET /__emulator/subaccounts?owner_account_sid=AC…` lists an owner's (closed ones
//!   included); `POST /__emulator/subaccounts/{sid}/close` closes one (200 [`Subaccount`]).
//!   `POST /__emulator/api-keys` `{"account_sid", "kind": "standard" | "main"}` makes an API key
//!   (201 [`CreatedApiKey`] `{"sid", "secret", "account_sid", "kind"}`). Refusals are 400
//!   `{"error"}` (404 for an unknown account).
//!
//! And Twilio's asynchronous side:
//!
//! - `POST /__emulator/media` ([`MediaRequest`]): `{"kind": "recording" | "composition",
//!   "count": N}`, optionally `"account_sid"` (default: the first configured account), means
//!   "Twilio finishes N media files now". With storage off in that account's recording or
//!   composition settings they stay in Twilio's cloud, `completed`. With storage on, each is
//!   uploaded with one real `PutObject` (4 KiB, key `PATH/SID.mka` or `PATH/SID.mp4` under
//!   the settings' `AwsS3Url`, signed with the stored AWS credential, no SSE headers so the
//!   bucket's default encryption applies) to the S3 endpoint, and is `completed`; when that
//!   fails, Twilio's alert for the cause is raised (`error` level, `resource_sid` the media's
//!   SID): 53613/53623 the settings name an AWS credential deleted from Twilio (no upload is
//!   tried), 53611/53621 S3 refuses the key or its signature (`InvalidAccessKeyId`,
//!   `SignatureDoesNotMatch`, a deactivated key), 53615/53625 `AccessDenied` (the policy, or
//!   a KMS key the uploader may not use), 53610/53620 a bad URL, a missing bucket or another
//!   region; then, as Twilio does once its upload retries run out (at once here), the media
//!   is `deleted` and a second alert raised, [`UPLOAD_RETRIES_EXHAUSTED`] (53616). Twilio's
//!   error catalogue has 53616 for recordings only; its composition neighbours mean other
//!   things (53626 "Internal failure while processing media composition", 53627, 53628), so
//!   compositions raise 53616 too. The answer (200, [`MediaOutcome`]):
//!   `{"kind", "account_sid", "stored": [{"sid", "bucket", "key"}], "failed": [{"sid",
//!   "error_code", "alert_sids": [CAUSE, 53616]}], "in_twilio_cloud": [SID]}`. 400
//!   `{"error"}` for a request that cannot work (count outside 1 to [`MAX_MEDIA_COUNT`], an
//!   unknown account, malformed JSON); 502 `{"error"}` when the S3 endpoint itself cannot be
//!   used (the emulator's setup is at fault, not the customer's): the media files finished
//!   before stay, the one being uploaded and those after it are not made.
//! - `POST /__emulator/alerts` ([`AlertRequest`]): `{"error_code": 53615, "count": 120,
//!   "date_created": "2025-01-31T12:00:00Z"}`, optionally `"account_sid"`, `"log_level"`
//!   (`error` by default, `warning`, `notice`, `debug`), `"resource_sid"`, `"alert_text"`:
//!   that many alerts at once (at most [`MAX_ALERT_COUNT`]), at that date (now by default),
//!   for paging and date filters. 201 `{"alert_sids": [...]}` in the order made.
//! - `POST /__emulator/backdate` ([`Backdate`]): `{"seconds": 7200}` moves every media file's
//!   and alert's dates that far into the past, as if that much time had passed.
//!
//! In process, [`RunningEmulator`] has the same controls as methods
//! ([`RunningEmulator::simulate_media`], [`RunningEmulator::simulate`],
//! [`RunningEmulator::add_alerts`], [`RunningEmulator::backdate`],
//! [`RunningEmulator::create_subaccount`], [`RunningEmulator::close_subaccount`],
//! [`RunningEmulator::subaccounts`], [`RunningEmulator::create_api_key`],
//! [`RunningEmulator::set_concurrency_limit`], [`RunningEmulator::throttled`], ...), and
//! [`RunningEmulator::in_flight_reaches`] waits until a family has that many requests in flight,
//! so that a test sends its next requests while the first ones hold their places (no sleeping).
//! A media or alert request for a closed account is refused
//! ([`SimulationError::ClosedAccount`]).
//!
//! # Limits: what is not emulated
//!
//! - Only the operations above; every other Twilio path answers 404. Of the 2010 API, only the
//!   Accounts resource itself, JSON only: none of an account's subresources (`Calls`, `Keys`,
//!   ... the `subresource_uris` name them), so a main account's credentials reaching a
//!   subaccount's 2010 resources is not modelled; API keys are made by tests, not by a Keys
//!   API, and Restricted keys do not exist.
//! - Subaccounts: a closed one stays forever (Twilio deletes them 30 days after closure), and
//!   nothing is released or deleted when one closes (its resources are merely unreachable). A
//!   suspended main account suspending its subaccounts, Trial accounts, and Twilio's
//!   numeric `Status` values are not modelled. Default names are in GMT (Twilio writes them in
//!   its own time zone). Configured main accounts are named "My first Twilio account" and made
//!   at the emulator's start.
//! - The concurrency limit counts requests per family only; Twilio's other rate limits and
//!   its concurrency response headers are not modelled.
//! - A URL naming the wrong region fails the write test and the uploads only if the S3
//!   endpoint refuses it: AWS does, moto does not.
//! - The write test checks only that one `PutObject` succeeds.
//! - Rooms, participants, tracks, recording rules and composition requests do not exist: media
//!   files appear only when a test asks (`POST /__emulator/media`), already finished, never
//!   `processing`, `enqueued` or `failed`, and are never encrypted with the settings' public
//!   key. Their bytes are a stand-in of 4 KiB, not playable media; `/Media` (the download
//!   link of `links.media`), `DELETE` of recordings and compositions, `POST /v1/Compositions`,
//!   composition hooks and Monitor's `/v1/Events` are not served.
//! - Each upload is one attempt: Twilio's retries over time, its alerts for every failed
//!   attempt, and status callbacks are not reproduced; a failure is final at once. Twilio
//!   supports SSE-KMS default encryption only and reports a bucket encrypted with SSE-S3 as
//!   53615/53625; here S3 accepts such a put and the media file is stored.
//! - Alert texts are the emulator's own sentences, not Twilio's (which vary by product);
//!   Twilio's 30-day retention of alerts and its refusal of older windows are not modelled.
//! - Public keys are checked for shape (PEM, DER `SubjectPublicKeyInfo`, RSA), not size or
//!   usability; encryption is never performed.
//! - The exact wording of Twilio's error messages, and response headers other than
//!   `Retry-After` (injected faults only) and `WWW-Authenticate`. Which status and code Twilio
//!   answers a subaccount making a subaccount (21101 here, 400), a main account closing itself
//!   or a subaccount changing its own status (403, 20003 here) and a closed account's
//!   reopening (400, 20001 here) is the emulator's reading: Twilio documents the rules, not
//!   those answers.
//! - State lives in memory only and is lost when the emulator stops.

mod accounts;
mod alerts;
mod concurrency;
mod config;
mod conformance;
mod control;
mod credentials;
mod dates;
mod error;
mod media;
pub mod openapi;
mod operation;
mod paging;
mod public_key;
mod server;
mod settings;
mod sid;
mod simulation;
mod store;
mod write_test;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use accounts::{AccountError, AccountStatus, CreatedApiKey, MAX_SUBACCOUNTS, Subaccount};
pub use config::{Account, ApiKey, ApiKeyKind, EmulatorConfig, ParseCredentialError};
pub use control::{FaultRule, FaultRuleError, RecordedRequest};
pub use error::EmulatorError;
pub use simulation::{
    AddedAlerts, AlertRequest, Backdate, FailedMediaFile, MAX_ALERT_COUNT, MAX_MEDIA_COUNT, MediaKind, MediaOutcome,
    MediaRequest, SimulationError, StoredMediaFile, UPLOAD_RETRIES_EXHAUSTED,
};

use server::Emulator;

/// Starts an emulator on `config.listen` and serves it in the background of the current tokio
/// runtime until the returned handle is dropped or shut down.
pub async fn spawn(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    config.validate()?;
    let bind_error = |source| EmulatorError::Bind { address: config.listen, source };
    let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
    let address = listener.local_addr().map_err(bind_error)?;
    let emulator = Arc::new(Emulator::new(config, format!("http://{address}"))?);
    let router = server::router(Arc::clone(&emulator));
    let (shutdown, shutdown_requested) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                // A dropped sender also means stop.
                let _ = shutdown_requested.await;
            })
            .await
    });
    tracing::info!(%address, "twilio-emulator listening");
    Ok(RunningEmulator { address, emulator, shutdown: Some(shutdown), server: Some(server) })
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningEmulator {
    address: SocketAddr,
    emulator: Arc<Emulator>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// `http://IP:PORT`, the base of both APIs.
    pub fn base_url(&self) -> String {
        self.emulator.base_url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.address
    }

    /// The API requests answered so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.emulator.control().requests()
    }

    /// The access key id the AWS credential `sid` holds (Twilio's API never returns it; the
    /// secret is never given out), or `None` when there is no such AWS credential.
    pub fn aws_credential_key(&self, sid: &str) -> Option<String> {
        self.emulator.store().aws_key_of(sid).map(str::to_owned)
    }

    /// Forgets every resource (media and alerts included), fault, the latency, the request log
    /// and its count of throttled requests, and the subaccounts and API keys made since the
    /// start: accounts, API keys and the concurrency limit are as configured again.
    pub fn reset(&self) {
        self.emulator.reset();
    }

    /// Twilio finishes `count` media files of `kind` now, for the first configured account:
    /// `POST /__emulator/media` without `account_sid`.
    pub async fn simulate_media(&self, kind: MediaKind, count: u32) -> Result<MediaOutcome, SimulationError> {
        self.simulate(&MediaRequest { kind, count, account_sid: None }).await
    }

    /// Twilio finishes media files as `request` says: `POST /__emulator/media`.
    pub async fn simulate(&self, request: &MediaRequest) -> Result<MediaOutcome, SimulationError> {
        simulation::simulate_media(&self.emulator, request).await
    }

    /// Adds alerts as `request` says, answering their SIDs in the order made:
    /// `POST /__emulator/alerts`.
    pub fn add_alerts(&self, request: &AlertRequest) -> Result<Vec<String>, SimulationError> {
        simulation::add_alerts(&self.emulator, request).map(|added| added.alert_sids)
    }

    /// Moves every media file's and alert's dates `by` into the past, as if that much time had
    /// passed since Twilio made them: `POST /__emulator/backdate`. Credentials and settings
    /// keep theirs.
    pub fn backdate(&self, by: Duration) {
        self.emulator.store().backdate(by);
    }

    pub fn add_fault(&self, rule: FaultRule) -> Result<(), FaultRuleError> {
        self.emulator.control().add_fault(rule)
    }

    /// Delays every API response by `latency` (but the ones refused for the concurrency
    /// limit, answered at once).
    pub fn set_latency(&self, latency: Duration) {
        self.emulator.control().set_latency(latency);
    }

    /// Makes a subaccount of the main account `owner_sid`, as `POST /2010-04-01/Accounts.json`
    /// with the owner's credentials would (`friendly_name` `None`: Twilio's default name), and
    /// answers its SID and auth token. `POST /__emulator/subaccounts`.
    pub fn create_subaccount(
        &self,
        owner_sid: &str,
        friendly_name: Option<&str>,
    ) -> Result<(String, String), AccountError> {
        let subaccount = self.emulator.create_subaccount(owner_sid, friendly_name)?;
        Ok((subaccount.sid, subaccount.auth_token))
    }

    /// Closes the subaccount `sid`, as its owner's `Status=closed` would: from now on its
    /// credentials and API keys are refused (401, code 20003). Closing a closed subaccount
    /// changes nothing. `POST /__emulator/subaccounts/{sid}/close`.
    pub fn close_subaccount(&self, sid: &str) -> Result<(), AccountError> {
        self.emulator.accounts().close_subaccount(sid, dates::now()).map(drop)
    }

    /// The subaccounts of `owner_sid`, configured and made, closed ones included, in creation
    /// order. `GET /__emulator/subaccounts?owner_account_sid=AC…`.
    pub fn subaccounts(&self, owner_sid: &str) -> Vec<Subaccount> {
        self.emulator.accounts().subaccounts(owner_sid)
    }

    /// Makes an API key of `account_sid` (any account that is not closed).
    /// `POST /__emulator/api-keys`.
    pub fn create_api_key(&self, account_sid: &str, kind: ApiKeyKind) -> Result<CreatedApiKey, AccountError> {
        self.emulator.accounts().create_api_key(account_sid, kind)
    }

    /// Allows at most `limit` API requests in flight per account family (`None`: no limit),
    /// from now on. `POST /__emulator/concurrency`.
    pub fn set_concurrency_limit(&self, limit: Option<usize>) {
        self.emulator.concurrency.set_limit(limit);
    }

    /// The concurrency limit in force.
    pub fn concurrency_limit(&self) -> Option<usize> {
        self.emulator.concurrency.limit()
    }

    /// How many API requests were answered 429 (code 20429) for the concurrency limit since
    /// the start or the last reset: the requests of the log marked `throttled`.
    pub fn throttled(&self) -> u64 {
        self.emulator.control().throttled()
    }

    /// How many API requests of `account_sid`'s family (its main account and the main
    /// account's subaccounts) are in flight now.
    pub fn in_flight(&self, account_sid: &str) -> usize {
        let family = self.emulator.accounts().family_of(account_sid);
        self.emulator.concurrency.in_flight(&family)
    }

    /// Waits until at least `count` API requests of `account_sid`'s family are in flight: how a
    /// test knows that requests it sent hold their places (with latency added) before it sends
    /// more.
    pub async fn in_flight_reaches(&self, account_sid: &str, count: usize) {
        let family = self.emulator.accounts().family_of(account_sid);
        self.emulator.concurrency.in_flight_reaches(&family, count).await;
    }

    /// Stops accepting connections and waits for the open ones to finish.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let Some(server) = self.server.take() else {
            return Ok(());
        };
        match server.await {
            Ok(result) => result.map_err(EmulatorError::Serve),
            // The task was cancelled or panicked: either way the server is gone.
            Err(_) => Ok(()),
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
