//! `twilio_public_key`: the RSA public key Twilio encrypts recordings and compositions with.

use serde::{Deserialize, Serialize};

use crate::address::{ProviderName, ResourceType};
use crate::schema::build::{attr, compared, id, identity};
use crate::schema::{Comparison, DriftMeaning, FoundBy, Leftover, Lifecycle, ReplaceOrder, ResourceSchema};

pub(crate) static SCHEMA: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::TwilioPublicKey,
    name: "twilio_public_key",
    provider: ProviderName::Twilio,
    noun: "Twilio public key",
    attributes: &[
        // Twilio never returns the key: the state remembers which one a credential holds, by
        // its fingerprint, and a different PEM means a new credential.
        identity("public_key_sha256"),
        identity("account_sid"),
        compared("public_key", Comparison::NotCompared),
        attr("friendly_name"),
        id("sid"),
    ],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    // Found by the marker at the end of its name; which key a leftover holds is unknown, so it
    // is deleted.
    lifecycle: Lifecycle::Created { found_by: FoundBy::Marker, leftover: Leftover::Delete },
    delete_notice: None,
    immovable: None,
    rotation: None,
    max_per_parent: None,
    holds_data: false,
    drift: DriftMeaning {
        deleted: "Twilio's public key for encrypted recordings is gone: Twilio cannot encrypt them (debugger 53612).",
        attribute: DriftMeaning::plain,
    },
};

/// The attributes of a Twilio public key. Twilio never returns the key: the state remembers it
/// and its fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TwilioPublicKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_sha256: Option<String>,
    pub account_sid: Option<String>,
    /// The PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    pub friendly_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

#[cfg(test)]
pub(crate) fn full() -> TwilioPublicKey {
    TwilioPublicKey {
        public_key_sha256: Some("f".into()),
        account_sid: Some("AC".into()),
        public_key: Some("pem".into()),
        friendly_name: Some("n".into()),
        sid: Some("CR".into()),
    }
}
