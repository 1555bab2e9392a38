//! `twilio_video_recording_settings` and `twilio_video_composition_settings`: the two
//! singletons that tell Twilio where to store recordings and compositions. Both have the same
//! API, so one file serves both.
//!
//! Each POST replaces the whole settings, so stowage always sends the whole desired state.
//! There is no DELETE: "destroy" switches storage off.

use serde_json::{Value, json};
use stowage_provider::{
    Applied, Attributes, AttributesExt, CreateRequest, DeleteRequest, Observed, ProviderError, ReadRequest,
    ResourceType, UpdateRequest,
};

use crate::TwilioProvider;
use crate::client::{StorageSettings, StorageSettingsKind, StorageSettingsUpdate};

fn kind(resource_type: ResourceType) -> StorageSettingsKind {
    match resource_type {
        ResourceType::TwilioCompositionSettings => StorageSettingsKind::Composition,
        _ => StorageSettingsKind::Recording,
    }
}

/// The settings as attributes. Twilio leaves fields null until they are set; stowage reads a
/// null flag as off.
fn attributes(settings: &StorageSettings) -> Attributes {
    Attributes::from([
        ("friendly_name".to_owned(), json!(settings.friendly_name.as_deref().unwrap_or_default())),
        ("aws_storage_enabled".to_owned(), json!(settings.aws_storage_enabled.unwrap_or(false))),
        ("aws_s3_url".to_owned(), json!(settings.aws_s3_url)),
        ("aws_credentials_sid".to_owned(), json!(settings.aws_credentials_sid)),
        ("encryption_enabled".to_owned(), json!(settings.encryption_enabled.unwrap_or(false))),
        ("encryption_key_sid".to_owned(), json!(settings.encryption_key_sid)),
    ])
}

fn id(settings: &StorageSettings) -> String {
    settings.account_sid.clone().unwrap_or_else(|| "Default".to_owned())
}

pub(crate) async fn read(twilio: &TwilioProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
    let settings = twilio.client.fetch_storage_settings(kind(request.address.resource_type)).await?;
    Ok(Some(Observed { id: id(&settings), attributes: attributes(&settings) }))
}

pub(crate) async fn put(
    twilio: &TwilioProvider,
    resource_type: ResourceType,
    desired: &Attributes,
) -> Result<Applied, ProviderError> {
    let text = |name: &str| desired.str(name).map(str::to_owned);
    let update = StorageSettingsUpdate {
        friendly_name: text("friendly_name").unwrap_or_default(),
        aws_credentials_sid: text("aws_credentials_sid"),
        aws_s3_url: text("aws_s3_url"),
        aws_storage_enabled: desired.bool("aws_storage_enabled"),
        encryption_key_sid: text("encryption_key_sid"),
        encryption_enabled: desired.bool("encryption_enabled"),
    };
    let settings = twilio.client.update_storage_settings(kind(resource_type), &update).await?;
    Ok(Applied { id: id(&settings), attributes: attributes(&settings) })
}

pub(crate) async fn create(twilio: &TwilioProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
    put(twilio, request.address.resource_type, request.attributes).await
}

pub(crate) async fn update(twilio: &TwilioProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
    put(twilio, request.address.resource_type, request.after).await
}

/// Switch storage off: Twilio stores in its own cloud again. The friendly name is kept.
pub(crate) async fn delete(twilio: &TwilioProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
    let off = Attributes::from([
        ("friendly_name".to_owned(), request.attributes.get("friendly_name").cloned().unwrap_or(Value::Null)),
        ("aws_storage_enabled".to_owned(), json!(false)),
        ("encryption_enabled".to_owned(), json!(false)),
    ]);
    put(twilio, request.address.resource_type, &off).await.map(|_| ())
}
