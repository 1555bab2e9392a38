//! `twilio_video_recording_settings` and `twilio_video_composition_settings`: the two
//! singletons that tell Twilio where to store recordings and compositions. Both have the same
//! attributes, so one file serves both.

use serde::{Deserialize, Serialize};

use crate::address::{ProviderName, ResourceType};
use crate::schema::build::{attr, compared};
use crate::schema::{
    AttributeDrift, AttributeSchema, Comparison, DriftMeaning, Harm, Lifecycle, ReplaceOrder, ResourceSchema,
};
use crate::types::s3_bucket::inline;

const ATTRIBUTES: &[AttributeSchema] = &[
    attr("friendly_name"),
    attr("aws_storage_enabled"),
    compared("aws_s3_url", Comparison::S3Url),
    attr("aws_credentials_sid"),
    attr("encryption_enabled"),
    attr("encryption_key_sid"),
];

const fn settings(resource_type: ResourceType, name: &'static str, noun: &'static str) -> ResourceSchema {
    ResourceSchema {
        resource_type,
        name,
        provider: ProviderName::Twilio,
        noun,
        attributes: ATTRIBUTES,
        replace_order: ReplaceOrder::CreateBeforeDestroy,
        lifecycle: Lifecycle::Singleton { switch: "aws_storage_enabled" },
        delete_notice: None,
        immovable: None,
        rotation: None,
        max_per_parent: None,
        holds_data: false,
        drift: DriftMeaning {
            deleted: "Twilio's storage settings are gone: Twilio stores in its own cloud, not in the bucket.",
            attribute: drift,
        },
    }
}

pub(crate) static RECORDINGS: ResourceSchema =
    settings(ResourceType::TwilioRecordingSettings, "twilio_video_recording_settings", "recording settings");
pub(crate) static COMPOSITIONS: ResourceSchema =
    settings(ResourceType::TwilioCompositionSettings, "twilio_video_composition_settings", "composition settings");

/// The attributes of either settings. Twilio leaves fields null until they are set; stowage
/// reads a null flag as off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageSettings {
    pub friendly_name: Option<String>,
    pub aws_storage_enabled: Option<bool>,
    /// `https://BUCKET.s3-REGION.amazonaws.com/PREFIX`, or null when storage is off.
    pub aws_s3_url: Option<String>,
    pub aws_credentials_sid: Option<String>,
    pub encryption_enabled: Option<bool>,
    pub encryption_key_sid: Option<String>,
}

/// What is stored: recordings or compositions.
fn stored(resource_type: ResourceType) -> &'static str {
    if resource_type == ResourceType::TwilioCompositionSettings { "compositions" } else { "recordings" }
}

fn drift(drift: &AttributeDrift<'_>) -> Option<(Harm, String)> {
    let stored = stored(drift.resource_type);
    let why = match drift.name {
        "aws_storage_enabled" if drift.actual.as_bool() != Some(true) => {
            format!("Twilio no longer stores {stored} in the bucket.")
        }
        "aws_s3_url" => format!(
            "Twilio stores {stored} at {}, not at {}: another bucket or prefix, outside this environment's policy and lifecycle.",
            inline(drift.actual),
            inline(drift.expected)
        ),
        "aws_credentials_sid" => {
            format!("Twilio writes {stored} with another AWS credential than the one this environment manages.")
        }
        _ => return None,
    };
    Some((Harm::Critical, why))
}

#[cfg(test)]
pub(crate) fn full() -> StorageSettings {
    StorageSettings {
        friendly_name: Some("n".into()),
        aws_storage_enabled: Some(true),
        aws_s3_url: Some("https://b.s3.amazonaws.com/r".into()),
        aws_credentials_sid: Some("CR".into()),
        encryption_enabled: Some(false),
        encryption_key_sid: None,
    }
}
