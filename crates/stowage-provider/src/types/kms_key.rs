//! `aws_kms_key`: the symmetric KMS key a bucket encrypts with (SSE-KMS).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::{ProviderName, ResourceType};
use crate::schema::build::{attr, compared, id, identity};
use crate::schema::{
    AttributeDrift, Comparison, DriftMeaning, FoundBy, Harm, Leftover, Lifecycle, ReplaceOrder, ResourceSchema,
};

pub(crate) static SCHEMA: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::KmsKey,
    name: "aws_kms_key",
    provider: ProviderName::Aws,
    noun: "KMS key",
    attributes: &[
        identity("region"),
        attr("description"),
        attr("alias"),
        attr("enabled"),
        attr("rotation_enabled"),
        compared("policy", Comparison::PolicyDocument),
        // The bucket the key encrypts: deleting the key is refused while that bucket uses it.
        compared("bucket", Comparison::NotCompared),
        id("arn"),
    ],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    // Found again by the marker tag its create puts on it, and adopted: nothing of it is lost.
    lifecycle: Lifecycle::Created { found_by: FoundBy::Marker, leftover: Leftover::Adopt },
    delete_notice: Some((
        "the KMS key is not deleted now: its deletion is scheduled for 30 days after apply, the longest \
         window AWS allows; objects encrypted with it become unreadable then",
        "to keep the key, cancel the deletion within those 30 days: `aws kms cancel-key-deletion --key-id KEY_ID`",
    )),
    immovable: None,
    rotation: None,
    max_per_parent: None,
    holds_data: false,
    drift: DriftMeaning {
        deleted: "the bucket's KMS key is gone: Twilio cannot encrypt uploads (debugger 53615), and recordings are lost.",
        attribute: drift,
    },
};

/// The attributes of a KMS key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KmsKey {
    pub region: Option<String>,
    pub description: Option<String>,
    /// `alias/stowage-ENV`.
    pub alias: Option<String>,
    pub enabled: Option<bool>,
    pub rotation_enabled: Option<bool>,
    /// The key policy; absent when the spec leaves it to KMS's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
    /// The bucket that encrypts with the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

fn drift(drift: &AttributeDrift<'_>) -> Option<(Harm, String)> {
    match drift.name {
        "enabled" if *drift.actual != Value::Bool(true) => Some((
            Harm::Critical,
            "the bucket's KMS key is disabled: Twilio cannot encrypt uploads (debugger 53615), and recordings are lost."
                .to_owned(),
        )),
        "policy" => Some((
            Harm::Critical,
            "the KMS key policy changed: the uploader may no longer encrypt with the key, or others may use it."
                .to_owned(),
        )),
        "rotation_enabled" => Some((Harm::Warning, "automatic yearly rotation of the KMS key is off.".to_owned())),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) fn full() -> KmsKey {
    KmsKey {
        region: Some("eu-west-1".into()),
        description: Some("d".into()),
        alias: Some("alias/a".into()),
        enabled: Some(true),
        rotation_enabled: Some(true),
        policy: Some(Value::Null),
        bucket: Some("b".into()),
        arn: Some("arn".into()),
    }
}
