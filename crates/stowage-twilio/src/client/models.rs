//! Request and response shapes, field for field as Twilio's OpenAPI specs give them
//! (`twilio_accounts_v1.json`, `twilio_video_v1.json`, `twilio_monitor_v1.json`,
//! `twilio_api_v2010.json`).
//!
//! Every response field is nullable in the specs, so every one is an `Option`. Dates stay the
//! strings Twilio sent where nothing in stowage computes with them: parsing would only add a
//! way to fail on a harmless format change. The alerts and media `stowage alerts` reads are
//! the exception: the report is about when things happened, so their identity and date are
//! required, and a response without them is refused as not matching the API (see [`Alert`]).

use jiff::Timestamp;
use serde::Deserialize;
use stowage_provider::Secret;

/// A credential stored in Twilio: an AWS credential (`accounts.v1.credential.credential_aws`,
/// whose secret is write-only: Twilio never returns it) or a public key for encrypting
/// recordings (`accounts.v1.credential.credential_public_key`, whose SID the settings name as
/// `encryption_key_sid`). Both answer with the same fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoredCredential {
    /// `CR` followed by 32 hex digits.
    pub sid: Option<String>,
    pub account_sid: Option<String>,
    pub friendly_name: Option<String>,
    pub date_created: Option<String>,
    pub date_updated: Option<String>,
    pub url: Option<String>,
}

/// An AWS credential stored in Twilio.
pub type AwsCredential = StoredCredential;

/// A public key stored in Twilio.
pub type PublicKey = StoredCredential;

/// Recording or composition storage settings (`video.v1.recording_settings` and
/// `video.v1.composition_settings`, which have the same fields).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StorageSettings {
    pub account_sid: Option<String>,
    pub friendly_name: Option<String>,
    pub aws_credentials_sid: Option<String>,
    pub aws_s3_url: Option<String>,
    pub aws_storage_enabled: Option<bool>,
    pub encryption_key_sid: Option<String>,
    pub encryption_enabled: Option<bool>,
    pub url: Option<String>,
}

/// Which of the two storage settings singletons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageSettingsKind {
    /// `/v1/RecordingSettings/Default`
    Recording,
    /// `/v1/CompositionSettings/Default`
    Composition,
}

/// `POST /v1/Credentials/AWS` (`CreateCredentialAwsRequest`).
#[derive(Debug, Clone, Copy)]
pub struct CreateAwsCredential<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a Secret,
    /// Up to 64 characters.
    pub friendly_name: Option<&'a str>,
    /// A subaccount (`AC...`) to hold the credential instead of the calling account.
    pub account_sid: Option<&'a str>,
}

/// `POST /v1/Credentials/PublicKeys` (`CreateCredentialPublicKeyRequest`).
#[derive(Debug, Clone, Copy)]
pub struct CreatePublicKey<'a> {
    /// The PEM text (`-----BEGIN PUBLIC KEY-----...`).
    pub public_key: &'a str,
    /// Up to 64 characters.
    pub friendly_name: Option<&'a str>,
    /// A subaccount (`AC...`) to hold the key instead of the calling account.
    pub account_sid: Option<&'a str>,
}

/// `POST /v1/RecordingSettings/Default` or `/v1/CompositionSettings/Default`
/// (`CreateRecordingSettingsRequest`, `CreateCompositionSettingsRequest`).
///
/// Twilio replaces the settings with what one POST says, so this is the whole desired state:
/// an absent field is left out of the request. To stop storing in S3, send
/// `aws_storage_enabled: Some(false)`; the settings have no DELETE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSettingsUpdate {
    pub friendly_name: String,
    pub aws_credentials_sid: Option<String>,
    pub aws_s3_url: Option<String>,
    pub aws_storage_enabled: Option<bool>,
    pub encryption_key_sid: Option<String>,
    pub encryption_enabled: Option<bool>,
}

/// A debugger alert (`monitor.v1.alert`): something Twilio reports after the fact, such as a
/// recording it could not upload.
///
/// `sid`, `error_code` and a date (`date_created`, else `date_generated`) are required: an
/// alert without them cannot be reported, so a list holding one fails to decode rather than
/// losing it silently. `alert_text` may quote the request that raised the alert; stowage never
/// logs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "WireAlert")]
pub struct Alert {
    /// `NO` followed by 32 hex digits.
    pub sid: String,
    /// As Twilio sends it: a string, such as `"53615"`.
    pub error_code: String,
    /// `error`, `warning`, `notice` or `debug`.
    pub log_level: Option<String>,
    /// When Twilio created the alert (`date_generated` when Twilio gave no `date_created`).
    pub date_created: Timestamp,
    /// The resource the alert is about (a recording `RT...`, a composition `CJ...`), if any.
    pub resource_sid: Option<String>,
    pub alert_text: Option<String>,
    /// A link to the error's page in Twilio's error dictionary.
    pub more_info: Option<String>,
}

/// `monitor.v1.alert` as it travels: every field nullable.
#[derive(Deserialize)]
struct WireAlert {
    sid: Option<String>,
    error_code: Option<String>,
    log_level: Option<String>,
    date_created: Option<Timestamp>,
    date_generated: Option<Timestamp>,
    resource_sid: Option<String>,
    alert_text: Option<String>,
    more_info: Option<String>,
}

impl TryFrom<WireAlert> for Alert {
    type Error = String;

    fn try_from(wire: WireAlert) -> Result<Self, String> {
        let sid = wire.sid.ok_or("an alert has no `sid`")?;
        let missing = |field: &str| format!("alert `{sid}` has no `{field}`");
        Ok(Alert {
            error_code: wire.error_code.ok_or_else(|| missing("error_code"))?,
            date_created: wire.date_created.or(wire.date_generated).ok_or_else(|| missing("date_created"))?,
            log_level: wire.log_level,
            resource_sid: wire.resource_sid,
            alert_text: wire.alert_text,
            more_info: wire.more_info,
            sid,
        })
    }
}

/// A Video recording (`video.v1.recording`) or composition (`video.v1.composition`): the
/// fields that say whether its media was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: MediaKind,
    /// `RT...` for a recording, `CJ...` for a composition.
    pub sid: String,
    /// As Twilio sends it: `failed`, `deleted`, `completed`, ...
    pub status: String,
    pub date_created: Timestamp,
    /// The room it was recorded in: a composition's `room_sid`, a recording's
    /// `grouping_sids.room_sid`.
    pub room_sid: Option<String>,
}

/// What kind of media: Video's recordings or its compositions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    /// `/v1/Recordings`
    Recording,
    /// `/v1/Compositions`
    Composition,
}

impl MediaKind {
    /// The statuses Twilio documents for this kind (`recording_enum_status`,
    /// `composition_enum_status`): what its list may be filtered by.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            MediaKind::Recording => &["processing", "completed", "deleted", "failed"],
            MediaKind::Composition => &["enqueued", "processing", "completed", "deleted", "failed"],
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            MediaKind::Recording => "recording",
            MediaKind::Composition => "composition",
        }
    }
}

/// A recording as [`Media`], decoded from `video.v1.recording` as it travels.
#[derive(Deserialize)]
#[serde(try_from = "WireRecording")]
pub(crate) struct RecordingMedia(Media);

/// A composition as [`Media`], decoded from `video.v1.composition` as it travels.
#[derive(Deserialize)]
#[serde(try_from = "WireComposition")]
pub(crate) struct CompositionMedia(Media);

/// `video.v1.recording` as it travels: only what [`Media`] takes.
#[derive(Deserialize)]
struct WireRecording {
    sid: Option<String>,
    status: Option<String>,
    date_created: Option<Timestamp>,
    /// An object without a schema in the document; its `room_sid` is the room.
    grouping_sids: Option<serde_json::Value>,
}

/// `video.v1.composition` as it travels: only what [`Media`] takes.
#[derive(Deserialize)]
struct WireComposition {
    sid: Option<String>,
    status: Option<String>,
    date_created: Option<Timestamp>,
    room_sid: Option<String>,
}

impl TryFrom<WireRecording> for RecordingMedia {
    type Error = String;

    fn try_from(wire: WireRecording) -> Result<Self, String> {
        let room_sid = wire
            .grouping_sids
            .as_ref()
            .and_then(|grouping| grouping.get("room_sid"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        media(MediaKind::Recording, wire.sid, wire.status, wire.date_created, room_sid).map(RecordingMedia)
    }
}

impl TryFrom<WireComposition> for CompositionMedia {
    type Error = String;

    fn try_from(wire: WireComposition) -> Result<Self, String> {
        media(MediaKind::Composition, wire.sid, wire.status, wire.date_created, wire.room_sid).map(CompositionMedia)
    }
}

fn media(
    kind: MediaKind,
    sid: Option<String>,
    status: Option<String>,
    date_created: Option<Timestamp>,
    room_sid: Option<String>,
) -> Result<Media, String> {
    let sid = sid.ok_or_else(|| format!("a {} has no `sid`", kind.noun()))?;
    let missing = |field: &str| format!("{} `{sid}` has no `{field}`", kind.noun());
    Ok(Media {
        kind,
        status: status.ok_or_else(|| missing("status"))?,
        date_created: date_created.ok_or_else(|| missing("date_created"))?,
        room_sid,
        sid,
    })
}

/// An account as the 2010 API lists it (`api.v2010.account`): the main account, or one of its
/// subaccounts. Its auth token is a [`Secret`]: held in memory, never shown.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "WireAccount")]
pub struct Account {
    /// `AC` followed by 32 hex digits.
    pub sid: Option<String>,
    /// The account that owns this one; a main account owns itself.
    pub owner_account_sid: Option<String>,
    pub friendly_name: Option<String>,
    /// `active`, `suspended` or `closed`.
    pub status: Option<String>,
    /// What the account authenticates with (Basic `sid:auth_token`).
    pub auth_token: Option<Secret>,
}

/// `api.v2010.account` as it travels: only what [`Account`] takes. No `Debug`: it holds the
/// auth token in the clear.
#[derive(Deserialize)]
struct WireAccount {
    sid: Option<String>,
    owner_account_sid: Option<String>,
    friendly_name: Option<String>,
    status: Option<String>,
    auth_token: Option<String>,
}

impl From<WireAccount> for Account {
    fn from(wire: WireAccount) -> Self {
        Account {
            sid: wire.sid,
            owner_account_sid: wire.owner_account_sid,
            friendly_name: wire.friendly_name,
            status: wire.status,
            auth_token: wire.auth_token.map(Secret::new),
        }
    }
}

/// One page of a list: its items and where the next page is.
pub(crate) trait ListPage: serde::de::DeserializeOwned {
    type Item;

    fn into_parts(self) -> (Vec<Self::Item>, PageMeta);
}

/// One page of a credentials list (`ListCredentialAwsResponse`,
/// `ListCredentialPublicKeyResponse`); only what paging needs.
#[derive(Debug, Deserialize)]
pub(crate) struct CredentialsPage<T> {
    credentials: Vec<T>,
    meta: PageMeta,
}

impl<T: serde::de::DeserializeOwned> ListPage for CredentialsPage<T> {
    type Item = T;

    fn into_parts(self) -> (Vec<T>, PageMeta) {
        (self.credentials, self.meta)
    }
}

/// One page of `GET /v1/Alerts` (`ListAlertResponse`).
#[derive(Deserialize)]
pub(crate) struct AlertsPage {
    alerts: Vec<Alert>,
    meta: PageMeta,
}

impl ListPage for AlertsPage {
    type Item = Alert;

    fn into_parts(self) -> (Vec<Alert>, PageMeta) {
        (self.alerts, self.meta)
    }
}

/// One page of `GET /v1/Recordings` (`ListRecordingResponse`).
#[derive(Deserialize)]
pub(crate) struct RecordingsPage {
    recordings: Vec<RecordingMedia>,
    meta: PageMeta,
}

impl ListPage for RecordingsPage {
    type Item = Media;

    fn into_parts(self) -> (Vec<Media>, PageMeta) {
        (self.recordings.into_iter().map(|RecordingMedia(media)| media).collect(), self.meta)
    }
}

/// One page of `GET /v1/Compositions` (`ListCompositionResponse`).
#[derive(Deserialize)]
pub(crate) struct CompositionsPage {
    compositions: Vec<CompositionMedia>,
    meta: PageMeta,
}

impl ListPage for CompositionsPage {
    type Item = Media;

    fn into_parts(self) -> (Vec<Media>, PageMeta) {
        (self.compositions.into_iter().map(|CompositionMedia(media)| media).collect(), self.meta)
    }
}

/// One page of `GET /2010-04-01/Accounts.json` (`ListAccountResponse`): the 2010 API's
/// envelope, whose `next_page_uri` is a path from the API's root (null on the last page).
#[derive(Deserialize)]
pub(crate) struct AccountsPage {
    accounts: Vec<Account>,
    next_page_uri: Option<String>,
}

impl ListPage for AccountsPage {
    type Item = Account;

    fn into_parts(self) -> (Vec<Account>, PageMeta) {
        (self.accounts, PageMeta { next_page_url: self.next_page_uri })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageMeta {
    pub(crate) next_page_url: Option<String>,
}

/// An `application/x-www-form-urlencoded` body: PascalCase names, booleans as `true` /
/// `false`, absent optionals left out.
pub(crate) struct Form(url::form_urlencoded::Serializer<'static, String>);

impl Form {
    pub(crate) fn new() -> Self {
        Self(url::form_urlencoded::Serializer::new(String::new()))
    }

    pub(crate) fn text(mut self, name: &str, value: &str) -> Self {
        self.0.append_pair(name, value);
        self
    }

    pub(crate) fn optional_text(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.text(name, value),
            None => self,
        }
    }

    pub(crate) fn optional_bool(self, name: &str, value: Option<bool>) -> Self {
        self.optional_text(name, value.map(|flag| if flag { "true" } else { "false" }))
    }

    /// The encoded body. It may hold a secret: it goes into the request and nowhere else.
    pub(crate) fn finish(mut self) -> String {
        self.0.finish()
    }
}

impl CreateAwsCredential<'_> {
    pub(crate) fn form(&self) -> String {
        let credentials = format!("{}:{}", self.access_key_id, self.secret_access_key.expose());
        Form::new()
            .text("Credentials", &credentials)
            .optional_text("FriendlyName", self.friendly_name)
            .optional_text("AccountSid", self.account_sid)
            .finish()
    }
}

impl CreatePublicKey<'_> {
    pub(crate) fn form(&self) -> String {
        Form::new()
            .text("PublicKey", self.public_key)
            .optional_text("FriendlyName", self.friendly_name)
            .optional_text("AccountSid", self.account_sid)
            .finish()
    }
}

impl StorageSettingsUpdate {
    pub(crate) fn form(&self) -> String {
        Form::new()
            .text("FriendlyName", &self.friendly_name)
            .optional_text("AwsCredentialsSid", self.aws_credentials_sid.as_deref())
            .optional_text("AwsS3Url", self.aws_s3_url.as_deref())
            .optional_bool("AwsStorageEnabled", self.aws_storage_enabled)
            .optional_text("EncryptionKeySid", self.encryption_key_sid.as_deref())
            .optional_bool("EncryptionEnabled", self.encryption_enabled)
            .finish()
    }
}

/// `FriendlyName` alone: the only field a credential or public key update accepts.
pub(crate) fn rename_form(friendly_name: &str) -> String {
    Form::new().text("FriendlyName", friendly_name).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_form_leaves_out_absent_fields_and_spells_booleans() {
        let update = StorageSettingsUpdate {
            friendly_name: "stowage dev".to_owned(),
            aws_credentials_sid: None,
            aws_s3_url: None,
            aws_storage_enabled: Some(false),
            encryption_key_sid: None,
            encryption_enabled: Some(true),
        };
        assert_eq!(update.form(), "FriendlyName=stowage+dev&AwsStorageEnabled=false&EncryptionEnabled=true");
    }

    #[test]
    fn credential_form_escapes_the_secret() {
        let secret = Secret::new("a/b+c=d");
        let request = CreateAwsCredential {
            access_key_id: "AKIA",
            secret_access_key: &secret,
            friendly_name: None,
            account_sid: None,
        };
        assert_eq!(request.form(), "Credentials=AKIA%3Aa%2Fb%2Bc%3Dd");
    }

    #[test]
    fn an_account_holds_its_token_as_a_secret() {
        let token = "5ec7e75ec7e75ec7e75ec7e75ec7e75e";
        let page: AccountsPage = serde_json::from_value(serde_json::json!({
            "accounts": [{
                "auth_token": token,
                "date_created": "Thu, 30 Jul 2015 20:00:00 +0000",
                "friendly_name": "tenant",
                "owner_account_sid": "AC0123456789abcdef0123456789abcdef",
                "sid": "ACfedcba9876543210fedcba9876543210",
                "status": "active",
                "type": "Full",
                "uri": "/2010-04-01/Accounts/ACfedcba9876543210fedcba9876543210.json",
            }],
            "end": 0,
            "first_page_uri": "/2010-04-01/Accounts.json?Status=active&PageSize=1&Page=0",
            "next_page_uri": "/2010-04-01/Accounts.json?Status=active&PageSize=1&Page=1&PageToken=PA",
            "page": 0,
            "page_size": 1,
            "previous_page_uri": null,
            "start": 0,
            "uri": "/2010-04-01/Accounts.json?Status=active&PageSize=1&Page=0",
        }))
        .expect("a page as Twilio answers it");
        let (accounts, meta) = page.into_parts();
        assert_eq!(accounts[0].auth_token.as_ref().map(Secret::expose), Some(token));
        assert!(!format!("{accounts:?}").contains(token), "{accounts:?}");
        assert_eq!(
            meta.next_page_url.as_deref(),
            Some("/2010-04-01/Accounts.json?Status=active&PageSize=1&Page=1&PageToken=PA")
        );
    }

    #[test]
    fn debug_of_a_create_request_hides_the_secret() {
        let secret = Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        let request = CreateAwsCredential {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: &secret,
            friendly_name: Some("dev"),
            account_sid: None,
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains(secret.expose()), "{shown}");
        assert!(shown.contains("AKIAIOSFODNN7EXAMPLE"), "{shown}");
    }
}
