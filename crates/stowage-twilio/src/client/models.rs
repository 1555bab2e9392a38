//! Request and response shapes, field for field as Twilio's OpenAPI specs give them
//! (`twilio_accounts_v1.json`, `twilio_video_v1.json`).
//!
//! Every response field is nullable in the specs, so every one is an `Option`. Dates stay the
//! strings Twilio sent: nothing in stowage computes with them, and parsing would only add a way
//! to fail on a harmless format change.

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

/// One page of a credentials list (`ListCredentialAwsResponse`,
/// `ListCredentialPublicKeyResponse`); only what paging needs.
#[derive(Debug, Deserialize)]
pub(crate) struct CredentialsPage<T> {
    pub(crate) credentials: Vec<T>,
    pub(crate) meta: PageMeta,
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
