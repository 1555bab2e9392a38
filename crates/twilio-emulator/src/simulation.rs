//! What Twilio does on its own, done when a test says so: finishing recordings and
//! compositions (and storing them where the account's settings say, or failing to), and the
//! debugger alerts that follow.
//!
//! Twilio uploads a finished media file to the customer's bucket with the stored AWS
//! credential; when that fails it reports the cause in the debugger (an alert), retries for a
//! while, then deletes the media and reports 53616. The emulator does it all at once: one
//! `PutObject` per media file, and on failure the cause's alert, the media `deleted`, and the
//! 53616 alert.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use stowage_provider::Secret;

use crate::dates;
use crate::operation::{CredentialKind, SettingsKind};
use crate::server::Emulator;
use crate::settings::{StorageErrorCodes, storage_error};
use crate::sid::{is_sid, new_sid};
use crate::store::{CredentialMaterial, MediaStatus, Store, StoredAlert, StoredMedia};
use crate::write_test::{S3Location, S3Object};

/// The most media files one request finishes (each is an upload).
pub const MAX_MEDIA_COUNT: u32 = 1000;
/// The most alerts one request adds: enough to need more than one page of the largest size.
pub const MAX_ALERT_COUNT: u32 = 10_000;

/// Twilio's alert when a media file is deleted because its upload retries ran out. Twilio's
/// error catalogue has it for recordings; the composition codes beside it (53626 "Internal
/// failure while processing media composition", 53627, 53628) mean other things, so
/// compositions get 53616 too.
pub const UPLOAD_RETRIES_EXHAUSTED: u32 = 53616;

/// The size of every media file the emulator makes.
const MEDIA_BYTES: usize = 4096;
/// The duration every media file claims, in seconds.
const MEDIA_SECONDS: u64 = 10;

const LOG_LEVELS: [&str; 4] = ["error", "warning", "notice", "debug"];

/// A Video recording (`RT…`, Matroska audio) or composition (`CJ…`, MP4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Recording,
    Composition,
}

impl MediaKind {
    /// The storage settings that decide where this kind goes.
    pub(crate) fn settings_kind(self) -> SettingsKind {
        match self {
            Self::Recording => SettingsKind::Recordings,
            Self::Composition => SettingsKind::Compositions,
        }
    }

    fn sid_prefix(self) -> &'static str {
        match self {
            Self::Recording => "RT",
            Self::Composition => "CJ",
        }
    }

    /// The file extension of the object in the bucket.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Self::Recording => "mka",
            Self::Composition => "mp4",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Recording => "audio/x-matroska",
            Self::Composition => "video/mp4",
        }
    }

    /// The key of the list in a list answer (`meta.key`).
    pub(crate) fn list_key(self) -> &'static str {
        match self {
            Self::Recording => "recordings",
            Self::Composition => "compositions",
        }
    }

    /// The noun that starts a sentence about one.
    fn title(self) -> &'static str {
        match self {
            Self::Recording => "Recording",
            Self::Composition => "Composition",
        }
    }
}

/// The body of `POST /__emulator/media`: "Twilio finishes `count` media files of `kind` now",
/// for `account_sid` (default: the first configured account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaRequest {
    pub kind: MediaKind,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_sid: Option<String>,
}

/// What became of the media files one request finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaOutcome {
    pub kind: MediaKind,
    pub account_sid: String,
    /// Uploaded to the customer's bucket: `completed`.
    pub stored: Vec<StoredMediaFile>,
    /// Not uploaded: an alert with the cause, `deleted`, and a 53616 alert.
    pub failed: Vec<FailedMediaFile>,
    /// Storage is off: kept in Twilio's cloud, `completed`, nothing uploaded.
    pub in_twilio_cloud: Vec<String>,
}

/// A media file in the customer's bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMediaFile {
    pub sid: String,
    pub bucket: String,
    pub key: String,
}

/// A media file Twilio could not store, and the alerts it raised: the cause's, then 53616.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedMediaFile {
    pub sid: String,
    /// The cause: 5361x for recordings, 5362x for compositions.
    pub error_code: u32,
    pub alert_sids: Vec<String>,
}

/// The body of `POST /__emulator/alerts`: `count` alerts with `error_code`, made at once, for
/// tests that need many (paging) or particular dates (filters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRequest {
    pub error_code: u32,
    #[serde(default = "AlertRequest::one")]
    pub count: u32,
    /// RFC 3339 (`2025-01-31T12:00:00Z`); the emulator's now when absent. Also the alerts'
    /// `date_generated` and `date_updated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<Timestamp>,
    /// Default: the first configured account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_sid: Option<String>,
    /// `error` (the default), `warning`, `notice` or `debug`.
    #[serde(default = "AlertRequest::error")]
    pub log_level: String,
    /// Two letters and 32 hexadecimal digits, as the document's pattern says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_text: Option<String>,
}

impl AlertRequest {
    /// `count` `error` alerts with `error_code`, made now, for the first configured account.
    pub fn new(error_code: u32, count: u32) -> Self {
        Self { error_code, count, ..Self::default() }
    }

    fn one() -> u32 {
        1
    }

    fn error() -> String {
        "error".to_owned()
    }
}

/// One `error` alert with no code (set `error_code`), made now, for the first configured
/// account.
impl Default for AlertRequest {
    fn default() -> Self {
        Self {
            error_code: 0,
            count: Self::one(),
            date_created: None,
            account_sid: None,
            log_level: Self::error(),
            resource_sid: None,
            alert_text: None,
        }
    }
}

/// The body of `POST /__emulator/backdate`: move what Twilio's asynchronous side made (media
/// and alerts) `seconds` into the past, as if that much time had passed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backdate {
    pub seconds: u64,
}

/// The answer to `POST /__emulator/alerts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedAlerts {
    /// In the order made.
    pub alert_sids: Vec<String>,
}

/// Why a simulation request was refused, or could not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulationError {
    #[error("the emulator has no account to act for")]
    NoAccount,
    #[error("account {0} is not one of the emulator's accounts")]
    UnknownAccount(String),
    /// Twilio finishes nothing for a closed account.
    #[error("account {0} is closed")]
    ClosedAccount(String),
    #[error("count must be from 1 to {max}")]
    Count { max: u32 },
    #[error("log_level must be one of error, warning, notice, debug")]
    LogLevel,
    #[error("resource_sid must be two letters and 32 hexadecimal digits")]
    ResourceSid,
    /// The S3 endpoint failed or could not be reached: the emulator's setup, not the
    /// customer's, is at fault. Media finished before it stay.
    #[error("the emulator could not use its S3 endpoint: {detail}")]
    S3Endpoint { detail: String },
}

/// Where the settings send a new media file, decided once per request.
enum Destination {
    TwilioCloud,
    /// Storage is on, but Twilio cannot even try: the cause's code and words.
    Unusable {
        error_code: u32,
        reason: String,
    },
    Bucket(Upload),
}

/// An upload's target and credential, copied out of the store so no lock is held while it
/// talks to S3.
struct Upload {
    location: S3Location,
    credential_sid: String,
    access_key_id: String,
    secret_access_key: Secret,
}

fn destination(store: &Store, account_sid: &str, kind: MediaKind) -> Destination {
    let settings_kind = kind.settings_kind();
    let settings = store.settings(account_sid, settings_kind);
    if !settings.aws_storage_enabled {
        return Destination::TwilioCloud;
    }
    let codes = StorageErrorCodes::of(settings_kind);
    let noun = settings_kind.noun();
    let credential_sid = settings.aws_credentials_sid.unwrap_or_default();
    let Some(CredentialMaterial::Aws { access_key_id, secret_access_key }) =
        store.credential(account_sid, CredentialKind::Aws, &credential_sid).map(|credential| &credential.material)
    else {
        return Destination::Unusable {
            error_code: codes.credential_deleted,
            reason: format!("AWS credential {credential_sid} of the {noun} settings no longer exists"),
        };
    };
    let url = settings.aws_s3_url.unwrap_or_default();
    let problem = match S3Location::parse(&url) {
        Ok(location) => match location.unreachable_because() {
            None => {
                return Destination::Bucket(Upload {
                    location,
                    credential_sid,
                    access_key_id: access_key_id.clone(),
                    secret_access_key: secret_access_key.clone(),
                });
            }
            Some(problem) => problem,
        },
        Err(problem) => problem.to_string(),
    };
    Destination::Unusable { error_code: codes.invalid_url, reason: format!("Invalid AwsS3Url for {noun}: {problem}") }
}

pub(crate) async fn simulate_media(
    emulator: &Emulator,
    request: &MediaRequest,
) -> Result<MediaOutcome, SimulationError> {
    let account_sid = emulator.account_to_simulate_for(request.account_sid.as_deref())?;
    if !(1..=MAX_MEDIA_COUNT).contains(&request.count) {
        return Err(SimulationError::Count { max: MAX_MEDIA_COUNT });
    }
    let kind = request.kind;
    let destination = destination(&emulator.store(), &account_sid, kind);
    // One Group Room for the batch; each recording is another participant's track.
    let room_sid = new_sid("RM");
    let mut outcome = MediaOutcome {
        kind,
        account_sid: account_sid.clone(),
        stored: Vec::new(),
        failed: Vec::new(),
        in_twilio_cloud: Vec::new(),
    };
    for _ in 0..request.count {
        let mut media = new_media(kind, &account_sid, &room_sid);
        let failure = match &destination {
            Destination::TwilioCloud => {
                outcome.in_twilio_cloud.push(emulator.store().insert_media(media).sid);
                continue;
            }
            Destination::Unusable { error_code, reason } => (*error_code, reason.clone()),
            Destination::Bucket(upload) => {
                let key = upload.location.key_of(&format!("{}.{}", media.sid, kind.extension()));
                let object = S3Object { key: &key, content_type: kind.content_type(), body: media_body(&media) };
                let result = emulator
                    .write_tester
                    .put_object(&upload.location, object, &upload.access_key_id, &upload.secret_access_key)
                    .await;
                match result {
                    Ok(()) => {
                        media.media_external_location = Some(upload.location.object_url(&key));
                        let sid = emulator.store().insert_media(media).sid;
                        outcome.stored.push(StoredMediaFile { sid, bucket: upload.location.bucket.clone(), key });
                        continue;
                    }
                    Err(failure) => {
                        storage_error(kind.settings_kind(), &failure, &upload.credential_sid, &upload.location, &key)
                            .map_err(|detail| SimulationError::S3Endpoint { detail })?
                    }
                }
            }
        };
        outcome.failed.push(record_failure(&mut emulator.store(), media, failure));
    }
    Ok(outcome)
}

fn new_media(kind: MediaKind, account_sid: &str, room_sid: &str) -> StoredMedia {
    let now = dates::now();
    StoredMedia {
        sid: new_sid(kind.sid_prefix()),
        account_sid: account_sid.to_owned(),
        kind,
        status: MediaStatus::Completed,
        date_created: now,
        date_completed: Some(now),
        date_deleted: None,
        room_sid: room_sid.to_owned(),
        participant_sid: new_sid("PA"),
        source_sid: new_sid("MT"),
        size: MEDIA_BYTES as u64,
        duration: MEDIA_SECONDS,
        media_external_location: None,
        sequence: 0,
    }
}

/// Stand-in media bytes: not a playable file, only its size.
fn media_body(media: &StoredMedia) -> Vec<u8> {
    let line = format!("twilio-emulator {} {}\n", media.kind.list_key(), media.sid);
    line.bytes().cycle().take(MEDIA_BYTES).collect()
}

/// What Twilio does once a media file's upload has failed for good: the cause's alert, the
/// media deleted, and the 53616 alert, at once.
fn record_failure(store: &mut Store, mut media: StoredMedia, (error_code, reason): (u32, String)) -> FailedMediaFile {
    let now = media.date_created;
    media.status = MediaStatus::Deleted;
    media.date_deleted = Some(now);
    let (sid, title) = (media.sid.clone(), media.kind.title());
    let account_sid = media.account_sid.clone();
    store.insert_media(media);
    let alert = |error_code, alert_text| StoredAlert {
        sid: new_sid("NO"),
        account_sid: account_sid.clone(),
        error_code,
        log_level: "error".to_owned(),
        alert_text,
        resource_sid: Some(sid.clone()),
        date_created: now,
        sequence: 0,
    };
    let cause = store.insert_alert(alert(error_code, format!("{title} {sid} could not be uploaded: {reason}")));
    let deleted = store.insert_alert(alert(
        UPLOAD_RETRIES_EXHAUSTED,
        format!("{title} {sid} was deleted: its upload retries ran out (error {error_code})"),
    ));
    FailedMediaFile { sid, error_code, alert_sids: vec![cause.sid, deleted.sid] }
}

pub(crate) fn add_alerts(emulator: &Emulator, request: &AlertRequest) -> Result<AddedAlerts, SimulationError> {
    let account_sid = emulator.account_to_simulate_for(request.account_sid.as_deref())?;
    if !(1..=MAX_ALERT_COUNT).contains(&request.count) {
        return Err(SimulationError::Count { max: MAX_ALERT_COUNT });
    }
    if !LOG_LEVELS.contains(&request.log_level.as_str()) {
        return Err(SimulationError::LogLevel);
    }
    let resource_is_sid = |sid: &str| {
        sid.get(..2).is_some_and(|prefix| prefix.bytes().all(|byte| byte.is_ascii_alphabetic()))
            && is_sid(sid, &sid[..2])
    };
    if request.resource_sid.as_deref().is_some_and(|sid| !resource_is_sid(sid)) {
        return Err(SimulationError::ResourceSid);
    }
    let date_created = request.date_created.map_or_else(dates::now, dates::whole_seconds);
    let alert_text = request
        .alert_text
        .clone()
        .unwrap_or_else(|| format!("Alert {} added by a test through the emulator", request.error_code));
    let mut store = emulator.store();
    let alert_sids = (0..request.count)
        .map(|_| {
            store
                .insert_alert(StoredAlert {
                    sid: new_sid("NO"),
                    account_sid: account_sid.clone(),
                    error_code: request.error_code,
                    log_level: request.log_level.clone(),
                    alert_text: alert_text.clone(),
                    resource_sid: request.resource_sid.clone(),
                    date_created,
                    sequence: 0,
                })
                .sid
        })
        .collect();
    Ok(AddedAlerts { alert_sids })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_the_documented_json() {
        let media: MediaRequest = serde_json::from_str(r#"{"kind": "composition", "count": 3}"#).unwrap();
        assert_eq!(media, MediaRequest { kind: MediaKind::Composition, count: 3, account_sid: None });
        assert!(serde_json::from_str::<MediaRequest>(r#"{"kind": "recordings", "count": 3}"#).is_err());
        assert!(serde_json::from_str::<MediaRequest>(r#"{"kind": "recording", "count": 3, "n": 1}"#).is_err());

        let alerts: AlertRequest =
            serde_json::from_str(r#"{"error_code": 53615, "count": 120, "date_created": "2025-01-31T12:00:00Z"}"#)
                .unwrap();
        assert_eq!(
            alerts,
            AlertRequest {
                date_created: Some("2025-01-31T12:00:00Z".parse().unwrap()),
                ..AlertRequest::new(53615, 120)
            }
        );
        let one: AlertRequest = serde_json::from_str(r#"{"error_code": 53616}"#).unwrap();
        assert_eq!(one, AlertRequest::new(53616, 1));
    }

    #[test]
    fn media_bodies_are_a_few_kilobytes_naming_their_media() {
        let media = new_media(MediaKind::Recording, "AC0", "RM0");
        let body = media_body(&media);
        assert_eq!(body.len(), MEDIA_BYTES);
        assert!(String::from_utf8(body).unwrap().starts_with(&format!("twilio-emulator recordings {}", media.sid)));
        assert!(is_sid(&media.sid, "RT") && is_sid(&media.participant_sid, "PA") && is_sid(&media.source_sid, "MT"));
    }

    #[test]
    fn a_failure_deletes_the_media_and_raises_the_cause_then_53616() {
        let mut store = Store::default();
        let media = new_media(MediaKind::Composition, "AC0", "RM0");
        let sid = media.sid.clone();
        let failed = record_failure(&mut store, media, (53625, "Access denied".to_owned()));
        assert_eq!(failed.sid, sid);
        assert_eq!(failed.error_code, 53625);
        let stored: Vec<&StoredMedia> = store.media("AC0", MediaKind::Composition).collect();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].status, MediaStatus::Deleted);
        assert_eq!(stored[0].date_deleted, Some(stored[0].date_created));
        let alerts: Vec<(u32, &str)> =
            store.alerts("AC0").map(|alert| (alert.error_code, alert.resource_sid.as_deref().unwrap())).collect();
        assert_eq!(alerts, [(53625, sid.as_str()), (53616, sid.as_str())]);
        let sids: Vec<String> = store.alerts("AC0").map(|alert| alert.sid.clone()).collect();
        assert_eq!(failed.alert_sids, sids);
    }
}
