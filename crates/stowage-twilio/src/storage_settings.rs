//! `twilio_video_recording_settings` and `twilio_video_composition_settings`: the two
//! singletons that tell Twilio where to store recordings and compositions. Both have the same
//! API, so one file serves both.
//!
//! Each POST replaces the whole settings, so stowage always sends the whole desired state.
//! There is no DELETE: "destroy" switches storage off.

use stowage_provider::resource::Operations;
use stowage_provider::types::StorageSettings;
use stowage_provider::{
    Address, Applied, Attributes, AttributesExt, CreateRequest, DeleteRequest, Observed, ProviderError, ReadRequest,
    ResourceType, UpdateRequest, encode,
};

use crate::TwilioProvider;
use crate::client::{self, StorageSettingsKind, StorageSettingsUpdate};

/// The storage settings' operations.
pub(crate) struct Settings;

impl Operations<TwilioProvider> for Settings {
    async fn read(twilio: &TwilioProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
        let settings = twilio.client.fetch_storage_settings(kind(request.address.resource_type)).await?;
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

/// Each POST replaces the whole settings: `wanted` is all of them.
async fn put(twilio: &TwilioProvider, address: &Address, wanted: StorageSettings) -> Result<Applied, ProviderError> {
    let update = StorageSettingsUpdate {
        friendly_name: wanted.friendly_name.unwrap_or_default(),
        aws_credentials_sid: wanted.aws_credentials_sid,
        aws_s3_url: wanted.aws_s3_url,
        aws_storage_enabled: wanted.aws_storage_enabled,
        encryption_key_sid: wanted.encryption_key_sid,
        encryption_enabled: wanted.encryption_enabled,
    };
    let settings = twilio.client.update_storage_settings(kind(address.resource_type), &update).await?;
    Ok(Applied { id: id(&settings), attributes: attributes(&settings) })
}
