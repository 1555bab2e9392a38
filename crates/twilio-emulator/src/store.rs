//! The emulator's in-memory Twilio state, per account: credentials, storage settings, the
//! recordings and compositions Twilio finished, and the debugger's alerts.

use std::collections::HashMap;

use jiff::Timestamp;
use stowage_provider::Secret;

use crate::operation::{CredentialKind, SettingsKind};
use crate::simulation::MediaKind;

#[derive(Debug, Default)]
pub(crate) struct Store {
    /// The sequence given last: each credential, media file and alert takes the next.
    last_sequence: u64,
    /// In creation order; lists page through them in this order.
    credentials: Vec<StoredCredential>,
    settings: HashMap<(String, SettingsKind), StorageSettings>,
    /// Recordings and compositions, in creation order.
    media: Vec<StoredMedia>,
    /// Monitor alerts, in creation order.
    alerts: Vec<StoredAlert>,
}

/// A Video recording (`RT…`) or composition (`CJ…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredMedia {
    pub sid: String,
    pub account_sid: String,
    pub kind: MediaKind,
    pub status: MediaStatus,
    pub date_created: Timestamp,
    /// When its processing finished (compositions' `date_completed`).
    pub date_completed: Option<Timestamp>,
    /// When its media was deleted (compositions' `date_deleted`).
    pub date_deleted: Option<Timestamp>,
    /// The Group Room it was recorded in or composed from (`RM…`).
    pub room_sid: String,
    /// The participant whose track it is (`PA…`; recordings only).
    pub participant_sid: String,
    /// The recorded track (`MT…`; recordings only).
    pub source_sid: String,
    /// Bytes of the media file.
    pub size: u64,
    /// Seconds.
    pub duration: u64,
    /// The object in the customer's bucket, once uploaded there.
    pub media_external_location: Option<String>,
    pub sequence: u64,
}

/// The statuses of both media kinds in the documents (`recording_enum_status`,
/// `composition_enum_status`) that the emulator reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaStatus {
    Completed,
    Deleted,
}

impl MediaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Deleted => "deleted",
        }
    }
}

/// A Monitor alert (`NO…`): what the debugger reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredAlert {
    pub sid: String,
    pub account_sid: String,
    pub error_code: u32,
    /// `error`, `warning`, `notice` or `debug`.
    pub log_level: String,
    pub alert_text: String,
    pub resource_sid: Option<String>,
    /// Created, generated and updated at once.
    pub date_created: Timestamp,
    pub sequence: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct StoredCredential {
    pub sid: String,
    pub account_sid: String,
    pub friendly_name: Option<String>,
    pub date_created: Timestamp,
    pub date_updated: Timestamp,
    /// Increases with every credential made; page tokens point between these.
    pub sequence: u64,
    pub material: CredentialMaterial,
}

/// What a credential holds besides its name. Never returned by the API.
#[derive(Debug, Clone)]
pub(crate) enum CredentialMaterial {
    Aws { access_key_id: String, secret_access_key: Secret },
    PublicKey,
}

impl CredentialMaterial {
    pub fn kind(&self) -> CredentialKind {
        match self {
            Self::Aws { .. } => CredentialKind::Aws,
            Self::PublicKey => CredentialKind::PublicKey,
        }
    }
}

/// Recording or composition settings: the whole state, as each POST replaces it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StorageSettings {
    pub friendly_name: String,
    pub aws_credentials_sid: Option<String>,
    pub aws_s3_url: Option<String>,
    pub aws_storage_enabled: bool,
    pub encryption_key_sid: Option<String>,
    pub encryption_enabled: bool,
}

/// New credential fields, before the store gives them a place.
#[derive(Debug)]
pub(crate) struct NewCredential {
    pub sid: String,
    pub account_sid: String,
    pub friendly_name: Option<String>,
    pub material: CredentialMaterial,
}

impl Store {
    pub fn insert_credential(&mut self, new: NewCredential, now: Timestamp) -> StoredCredential {
        let credential = StoredCredential {
            sequence: self.next_sequence(),
            sid: new.sid,
            account_sid: new.account_sid,
            friendly_name: new.friendly_name,
            date_created: now,
            date_updated: now,
            material: new.material,
        };
        self.credentials.push(credential.clone());
        credential
    }

    /// The credentials of `kind` that belong to `account_sid`, in creation order.
    pub fn credentials<'a>(
        &'a self,
        account_sid: &'a str,
        kind: CredentialKind,
    ) -> impl DoubleEndedIterator<Item = &'a StoredCredential> {
        self.credentials
            .iter()
            .filter(move |credential| credential.account_sid == account_sid && credential.material.kind() == kind)
    }

    pub fn credential<'a>(
        &'a self,
        account_sid: &'a str,
        kind: CredentialKind,
        sid: &str,
    ) -> Option<&'a StoredCredential> {
        self.credentials(account_sid, kind).find(|credential| credential.sid == sid)
    }

    pub fn credential_mut(
        &mut self,
        account_sid: &str,
        kind: CredentialKind,
        sid: &str,
    ) -> Option<&mut StoredCredential> {
        self.credentials.iter_mut().find(|credential| {
            credential.account_sid == account_sid && credential.material.kind() == kind && credential.sid == sid
        })
    }

    /// The access key id the AWS credential `sid` holds, in any account: what Twilio writes
    /// with, which its API never returns (for tests, never the secret).
    pub fn aws_key_of(&self, sid: &str) -> Option<&str> {
        self.credentials.iter().find(|credential| credential.sid == sid).and_then(|credential| {
            match &credential.material {
                CredentialMaterial::Aws { access_key_id, .. } => Some(access_key_id.as_str()),
                CredentialMaterial::PublicKey => None,
            }
        })
    }

    /// Removes the credential; whether it existed.
    pub fn remove_credential(&mut self, account_sid: &str, kind: CredentialKind, sid: &str) -> bool {
        let before = self.credentials.len();
        self.credentials.retain(|credential| {
            !(credential.account_sid == account_sid && credential.material.kind() == kind && credential.sid == sid)
        });
        self.credentials.len() != before
    }

    /// The settings of the account, or Twilio's defaults before the first POST.
    pub fn settings(&self, account_sid: &str, kind: SettingsKind) -> StorageSettings {
        self.settings.get(&(account_sid.to_owned(), kind)).cloned().unwrap_or_default()
    }

    pub fn replace_settings(&mut self, account_sid: &str, kind: SettingsKind, settings: StorageSettings) {
        self.settings.insert((account_sid.to_owned(), kind), settings);
    }

    fn next_sequence(&mut self) -> u64 {
        self.last_sequence += 1;
        self.last_sequence
    }

    /// Keeps `media`, giving it the next sequence.
    pub fn insert_media(&mut self, mut media: StoredMedia) -> StoredMedia {
        media.sequence = self.next_sequence();
        self.media.push(media.clone());
        media
    }

    /// The media of `kind` that belong to `account_sid`, in creation order.
    pub fn media<'a>(&'a self, account_sid: &'a str, kind: MediaKind) -> impl Iterator<Item = &'a StoredMedia> {
        self.media.iter().filter(move |media| media.account_sid == account_sid && media.kind == kind)
    }

    /// Keeps `alert`, giving it the next sequence.
    pub fn insert_alert(&mut self, mut alert: StoredAlert) -> StoredAlert {
        alert.sequence = self.next_sequence();
        self.alerts.push(alert.clone());
        alert
    }

    /// Moves every media file's and alert's dates `by` into the past.
    pub fn backdate(&mut self, by: std::time::Duration) {
        let back = |date: Timestamp| date.checked_sub(by).unwrap_or(Timestamp::MIN);
        for media in &mut self.media {
            media.date_created = back(media.date_created);
            media.date_completed = media.date_completed.map(back);
            media.date_deleted = media.date_deleted.map(back);
        }
        for alert in &mut self.alerts {
            alert.date_created = back(alert.date_created);
        }
    }

    /// The alerts of `account_sid`, in creation order.
    pub fn alerts<'a>(&'a self, account_sid: &'a str) -> impl Iterator<Item = &'a StoredAlert> {
        self.alerts.iter().filter(move |alert| alert.account_sid == account_sid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
    const OTHER_ACCOUNT: &str = "ACffffffffffffffffffffffffffffffff";

    fn new_public_key(sid: &str, account_sid: &str) -> NewCredential {
        NewCredential {
            sid: sid.to_owned(),
            account_sid: account_sid.to_owned(),
            friendly_name: None,
            material: CredentialMaterial::PublicKey,
        }
    }

    #[test]
    fn credentials_are_scoped_by_account_and_kind() {
        let mut store = Store::default();
        let now = Timestamp::UNIX_EPOCH;
        store.insert_credential(new_public_key("CR1", ACCOUNT), now);
        store.insert_credential(new_public_key("CR2", OTHER_ACCOUNT), now);
        assert!(store.credential(ACCOUNT, CredentialKind::PublicKey, "CR1").is_some());
        assert!(store.credential(ACCOUNT, CredentialKind::Aws, "CR1").is_none());
        assert!(store.credential(ACCOUNT, CredentialKind::PublicKey, "CR2").is_none());
        assert!(!store.remove_credential(ACCOUNT, CredentialKind::PublicKey, "CR2"));
        assert!(store.remove_credential(OTHER_ACCOUNT, CredentialKind::PublicKey, "CR2"));
        assert_eq!(store.credentials(OTHER_ACCOUNT, CredentialKind::PublicKey).count(), 0);
    }

    #[test]
    fn sequences_increase() {
        let mut store = Store::default();
        let first = store.insert_credential(new_public_key("CR1", ACCOUNT), Timestamp::UNIX_EPOCH);
        let second = store.insert_credential(new_public_key("CR2", ACCOUNT), Timestamp::UNIX_EPOCH);
        assert!(second.sequence > first.sequence);
    }

    #[test]
    fn settings_default_until_replaced() {
        let mut store = Store::default();
        assert_eq!(store.settings(ACCOUNT, SettingsKind::Recordings), StorageSettings::default());
        let settings = StorageSettings { friendly_name: "video".into(), ..StorageSettings::default() };
        store.replace_settings(ACCOUNT, SettingsKind::Recordings, settings.clone());
        assert_eq!(store.settings(ACCOUNT, SettingsKind::Recordings), settings);
        assert_eq!(store.settings(ACCOUNT, SettingsKind::Compositions), StorageSettings::default());
    }

    #[test]
    fn the_key_an_aws_credential_holds_is_told_and_no_other() {
        let mut store = Store::default();
        let aws = NewCredential {
            sid: "CR1".to_owned(),
            account_sid: ACCOUNT.to_owned(),
            friendly_name: None,
            material: CredentialMaterial::Aws {
                access_key_id: "AKIA1".to_owned(),
                secret_access_key: Secret::new("s"),
            },
        };
        store.insert_credential(aws, Timestamp::UNIX_EPOCH);
        store.insert_credential(new_public_key("CR2", OTHER_ACCOUNT), Timestamp::UNIX_EPOCH);
        assert_eq!(store.aws_key_of("CR1"), Some("AKIA1"));
        assert_eq!(store.aws_key_of("CR2"), None);
        assert_eq!(store.aws_key_of("CR3"), None);
    }
}
