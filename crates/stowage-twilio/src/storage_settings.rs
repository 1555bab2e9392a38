//! `twilio_video_recording_settings` and `twilio_video_composition_settings`: the two
//! singletons that tell Twilio where to store recordings and compositions. Both have the same
//! API, so one file serves both.
//!
//! Each POST replaces the whole settings, so stowage always sends the whole desired state.
//! There is no DELETE: "destroy" switches storage off.

use stowage_provider::resource::Operations;
use stowage_provider::types::StorageSettings;
use stowage_provider::{
    Address, Applied, Attributes, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError,
    ReadRequest, ResourceType, UpdateRequest, encode,
};

use crate::TwilioProvider;
use crate::client::{self, StorageSettingsKind, StorageSettingsUpdate};

/// The storage settings' operations.
pub(crate) struct Settings;

impl Operations<TwilioProvider> for Settings {
    async fn read(twilio: &TwilioProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
        let client = twilio.acting_for(request.address)?.client;
        let settings = client.fetch_storage_settings(kind(request.address.resource_type)).await?;
        Ok(Some(Observed { id: id(&settings), attributes: attributes(&settings) }))
    }

    async fn create(twilio: &TwilioProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
        put(twilio, request.address, request.attributes.decode(request.address)?).await
    }

    async fn update(twilio: &TwilioProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
        put(twilio, request.address, request.after.decode(request.address)?).await
    }

    /// Switch storage off: Twilio stores in its own cloud again. The friendly name is kept.
    async fn delete(twilio: &TwilioProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
        let found: StorageSettings = request.attributes.decode(request.address)?;
        let off = StorageSettings {
            friendly_name: found.friendly_name,
            aws_storage_enabled: Some(false),
            encryption_enabled: Some(false),
            ..StorageSettings::default()
        };
        put(twilio, request.address, off).await.map(|_| ())
    }
}

fn kind(resource_type: ResourceType) -> StorageSettingsKind {
    match resource_type {
        ResourceType::TwilioCompositionSettings => StorageSettingsKind::Composition,
        _ => StorageSettingsKind::Recording,
    }
}

/// The settings as attributes. Twilio leaves fields null until they are set; stowage reads a
/// null flag as off.
fn attributes(settings: &client::StorageSettings) -> Attributes {
    encode(&StorageSettings {
        friendly_name: Some(settings.friendly_name.clone().unwrap_or_default()),
        aws_storage_enabled: Some(settings.aws_storage_enabled.unwrap_or(false)),
        aws_s3_url: settings.aws_s3_url.clone(),
        aws_credentials_sid: settings.aws_credentials_sid.clone(),
        encryption_enabled: Some(settings.encryption_enabled.unwrap_or(false)),
        encryption_key_sid: settings.encryption_key_sid.clone(),
    })
}

fn id(settings: &client::StorageSettings) -> String {
    settings.account_sid.clone().unwrap_or_else(|| "Default".to_owned())
}

/// Each POST replaces the whole settings: `wanted` is all of them. Sent as the account the
/// address is for (its key: a subaccount), as is the read back.
async fn put(twilio: &TwilioProvider, address: &Address, wanted: StorageSettings) -> Result<Applied, ProviderError> {
    let client = twilio.acting_for(address)?.client;
    let update = StorageSettingsUpdate {
        friendly_name: wanted.friendly_name.unwrap_or_default(),
        aws_credentials_sid: wanted.aws_credentials_sid,
        aws_s3_url: wanted.aws_s3_url,
        aws_storage_enabled: wanted.aws_storage_enabled,
        encryption_key_sid: wanted.encryption_key_sid,
        encryption_enabled: wanted.encryption_enabled,
    };
    client.update_storage_settings(kind(address.resource_type), &update).await?;
    // Read back before anything that waits for this step (the old credential's delete) runs:
    // what Twilio stores now is what Twilio uses, not what its answer to the POST said.
    let settings = client.fetch_storage_settings(kind(address.resource_type)).await?;
    if let Some(differs) = not_taken(&update, &settings) {
        return Err(ProviderError::new(
            ErrorKind::Conflict,
            "twilio",
            "POST StorageSettings",
            format!("Twilio answered the update of `{address}`, but reading it back gives {differs}"),
        )
        .with_hint("nothing that depends on these settings was changed; run apply again"));
    }
    Ok(Applied { id: id(&settings), attributes: attributes(&settings) })
}

/// What of `sent` the settings read back do not hold, if anything: the credential, storage on
/// or off, the encryption key and whether encryption is on. (The URL is left out: Twilio may
/// write it in its own form, which `Comparison::S3Url` compares by meaning at the next plan.)
fn not_taken(sent: &StorageSettingsUpdate, read: &client::StorageSettings) -> Option<String> {
    let mut differs = Vec::new();
    if sent.aws_credentials_sid.is_some() && sent.aws_credentials_sid != read.aws_credentials_sid {
        differs.push(format!("credential {:?}, not {:?}", read.aws_credentials_sid, sent.aws_credentials_sid));
    }
    if let Some(enabled) = sent.aws_storage_enabled
        && read.aws_storage_enabled.unwrap_or(false) != enabled
    {
        differs.push(format!("storage in S3 {}", if enabled { "off" } else { "on" }));
    }
    if sent.encryption_key_sid.is_some() && sent.encryption_key_sid != read.encryption_key_sid {
        differs.push(format!("encryption key {:?}, not {:?}", read.encryption_key_sid, sent.encryption_key_sid));
    }
    if let Some(enabled) = sent.encryption_enabled
        && read.encryption_enabled.unwrap_or(false) != enabled
    {
        differs.push(format!("encryption {}", if enabled { "off" } else { "on" }));
    }
    (!differs.is_empty()).then(|| differs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent() -> StorageSettingsUpdate {
        StorageSettingsUpdate {
            friendly_name: "stowage dev".to_owned(),
            aws_credentials_sid: Some("CRnew".to_owned()),
            aws_s3_url: Some("https://b.s3-us-east-2.amazonaws.com/recordings".to_owned()),
            aws_storage_enabled: Some(true),
            encryption_key_sid: None,
            encryption_enabled: Some(false),
        }
    }

    fn read(credential: &str, enabled: bool) -> client::StorageSettings {
        serde_json::from_value(serde_json::json!({
            "account_sid": "AC0123456789abcdef0123456789abcdef",
            "friendly_name": "stowage dev",
            "aws_credentials_sid": credential,
            "aws_s3_url": "https://b.s3.us-east-2.amazonaws.com/recordings/",
            "aws_storage_enabled": enabled,
            "encryption_enabled": false,
        }))
        .expect("settings as Twilio returns them")
    }

    #[test]
    fn settings_read_back_must_hold_what_was_sent_but_the_url_form() {
        assert_eq!(not_taken(&sent(), &read("CRnew", true)), None);
        let old = not_taken(&sent(), &read("CRold", true)).unwrap_or_default();
        assert!(old.contains("credential Some(\"CRold\")"), "{old}");
        assert_eq!(not_taken(&sent(), &read("CRnew", false)).as_deref(), Some("storage in S3 off"));
    }
}
