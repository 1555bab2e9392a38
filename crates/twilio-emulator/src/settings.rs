//! `/v1/RecordingSettings/Default` and `/v1/CompositionSettings/Default`: one per account,
//! replaced whole by each POST, and checked with Twilio's write test when storage is on.

use axum::http::StatusCode;
use serde_json::{Value, json};
use stowage_provider::Secret;

use crate::conformance::{Parameters, parameter};
use crate::error::TwilioError;
use crate::operation::{CredentialKind, SettingsKind};
use crate::server::{ApiResponse, Emulator};
use crate::store::{CredentialMaterial, StorageSettings};
use crate::write_test::{S3Location, WriteFailure};

pub(crate) fn fetch(emulator: &Emulator, account_sid: &str, kind: SettingsKind) -> ApiResponse {
    let settings = emulator.store().settings(account_sid, kind);
    ApiResponse::ok(render(&emulator.base_url, account_sid, kind, &settings))
}

pub(crate) async fn update(
    emulator: &Emulator,
    account_sid: &str,
    kind: SettingsKind,
    form: &Parameters,
) -> Result<ApiResponse, TwilioError> {
    // Parameters not sent are reset: Twilio's documentation asks for the full state each time.
    let desired = StorageSettings {
        friendly_name: parameter(form, "FriendlyName").unwrap_or_default().to_owned(),
        aws_credentials_sid: parameter(form, "AwsCredentialsSid").map(str::to_owned),
        aws_s3_url: parameter(form, "AwsS3Url").map(str::to_owned),
        aws_storage_enabled: parameter(form, "AwsStorageEnabled") == Some("true"),
        encryption_key_sid: parameter(form, "EncryptionKeySid").map(str::to_owned),
        encryption_enabled: parameter(form, "EncryptionEnabled") == Some("true"),
    };
    if let Some(write_test) = prepare_write_test(emulator, account_sid, kind, &desired)? {
        write_test.run(emulator, kind).await?;
    }
    emulator.store().replace_settings(account_sid, kind, desired.clone());
    Ok(ApiResponse::ok(render(&emulator.base_url, account_sid, kind, &desired)))
}

/// The resource as the `video.v1.*_settings` schemas describe it.
fn render(base_url: &str, account_sid: &str, kind: SettingsKind, settings: &StorageSettings) -> Value {
    json!({
        "account_sid": account_sid,
        "friendly_name": settings.friendly_name,
        "aws_credentials_sid": settings.aws_credentials_sid,
        "aws_s3_url": settings.aws_s3_url,
        "aws_storage_enabled": settings.aws_storage_enabled,
        "encryption_key_sid": settings.encryption_key_sid,
        "encryption_enabled": settings.encryption_enabled,
        "url": format!("{base_url}{}", kind.path()),
    })
}

/// Everything the write test needs, taken from the store so that no lock is held while it
/// talks to S3.
struct WriteTest {
    credential_sid: String,
    location: S3Location,
    key: String,
    access_key_id: String,
    secret_access_key: Secret,
}

/// Checks the references of `desired` and, when storage is switched on, prepares the write
/// test.
fn prepare_write_test(
    emulator: &Emulator,
    account_sid: &str,
    kind: SettingsKind,
    desired: &StorageSettings,
) -> Result<Option<WriteTest>, TwilioError> {
    let store = emulator.store();
    let aws_credential = desired
        .aws_credentials_sid
        .as_deref()
        .map(|sid| {
            store
                .credential(account_sid, CredentialKind::Aws, sid)
                .ok_or_else(|| missing_reference("AwsCredentialsSid", "an AWS credential", sid))
        })
        .transpose()?;
    if let Some(sid) = desired.encryption_key_sid.as_deref()
        && store.credential(account_sid, CredentialKind::PublicKey, sid).is_none()
    {
        return Err(missing_reference("EncryptionKeySid", "a public key", sid));
    }
    if desired.encryption_enabled && desired.encryption_key_sid.is_none() {
        return Err(TwilioError::invalid_parameter("EncryptionKeySid is required when EncryptionEnabled is true"));
    }
    if !desired.aws_storage_enabled {
        return Ok(None);
    }
    let (Some(credential), Some(url)) = (aws_credential, desired.aws_s3_url.as_deref()) else {
        return Err(TwilioError::invalid_parameter(
            "AwsCredentialsSid and AwsS3Url are required when AwsStorageEnabled is true",
        ));
    };
    let codes = StorageErrorCodes::of(kind);
    let location = S3Location::parse(url).map_err(|problem| {
        TwilioError::new(
            StatusCode::BAD_REQUEST,
            codes.invalid_url,
            format!("Invalid AwsS3Url for {}: {problem}", kind.noun()),
        )
    })?;
    if let Some(problem) = location.unreachable_because() {
        return Err(TwilioError::new(
            StatusCode::BAD_REQUEST,
            codes.invalid_url,
            format!("Invalid AwsS3Url for {}: {problem}", kind.noun()),
        ));
    }
    let CredentialMaterial::Aws { access_key_id, secret_access_key } = &credential.material else {
        return Err(missing_reference("AwsCredentialsSid", "an AWS credential", &credential.sid));
    };
    Ok(Some(WriteTest {
        credential_sid: credential.sid.clone(),
        key: location.test_object_key(kind),
        location,
        access_key_id: access_key_id.clone(),
        secret_access_key: secret_access_key.clone(),
    }))
}

impl WriteTest {
    async fn run(&self, emulator: &Emulator, kind: SettingsKind) -> Result<(), TwilioError> {
        let result = emulator
            .write_tester
            .put_test_object(&self.location, &self.key, &self.access_key_id, &self.secret_access_key)
            .await;
        let Err(failure) = result else {
            return Ok(());
        };
        Err(match storage_error(kind, &failure, &self.credential_sid, &self.location, &self.key) {
            Ok((code, message)) => TwilioError::new(StatusCode::BAD_REQUEST, code, message),
            Err(detail) => TwilioError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                20500,
                format!("The emulator's storage write test could not use its S3 endpoint: {detail}"),
            ),
        })
    }
}

/// Twilio's error code and message for a failed write of `key` with AWS credential
/// `credential_sid`, by what S3 said; `Err` with what went wrong when the S3 endpoint itself
/// failed, which is the emulator's problem, not the customer's.
pub(crate) fn storage_error(
    kind: SettingsKind,
    failure: &WriteFailure,
    credential_sid: &str,
    location: &S3Location,
    key: &str,
) -> Result<(u32, String), String> {
    let codes = StorageErrorCodes::of(kind);
    let (bucket, region) = (&location.bucket, &location.region);
    Ok(match failure {
        WriteFailure::AccessDenied { s3_code } => (
            codes.access_denied,
            format!(
                "Access denied: AWS credential {credential_sid} may not write {key} to bucket {bucket} \
                 (S3 error {s3_code})"
            ),
        ),
        WriteFailure::InvalidCredentials { s3_code } => (
            codes.invalid_credentials,
            format!("Invalid AWS credentials: S3 does not accept AWS credential {credential_sid} (S3 error {s3_code})"),
        ),
        WriteFailure::BucketUnusable { s3_code } => (
            codes.invalid_url,
            format!(
                "Invalid AwsS3Url for {}: cannot write to bucket {bucket} in region {region} (S3 error {s3_code})",
                kind.noun()
            ),
        ),
        WriteFailure::EndpointFailed { detail } => return Err(detail.clone()),
    })
}

fn missing_reference(parameter: &str, what: &str, sid: &str) -> TwilioError {
    TwilioError::invalid_parameter(format!("{parameter} {sid} is not {what} of this account"))
}

/// Twilio's error codes for storage problems: 5361x for recordings, 5362x for compositions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StorageErrorCodes {
    /// The URL is not a bucket S3 answers at: bad URL, no such bucket, another region.
    pub invalid_url: u32,
    /// S3 does not accept the key or its signature (unknown or deactivated key).
    pub invalid_credentials: u32,
    /// The AWS credential the settings name was deleted from Twilio.
    pub credential_deleted: u32,
    /// S3 refuses the write: the policy, or a KMS key the uploader may not use.
    pub access_denied: u32,
}

impl StorageErrorCodes {
    pub fn of(kind: SettingsKind) -> Self {
        match kind {
            SettingsKind::Recordings => {
                Self { invalid_url: 53610, invalid_credentials: 53611, credential_deleted: 53613, access_denied: 53615 }
            }
            SettingsKind::Compositions => {
                Self { invalid_url: 53620, invalid_credentials: 53621, credential_deleted: 53623, access_denied: 53625 }
            }
        }
    }
}
