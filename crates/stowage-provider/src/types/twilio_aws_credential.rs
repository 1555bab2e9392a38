//! `twilio_aws_credential`: the uploader's access key, stored in Twilio.

use serde::{Deserialize, Serialize};

use crate::address::{ProviderName, ResourceType};
use crate::schema::build::{attr, id, identity};
use crate::schema::{DriftMeaning, FoundBy, Leftover, Lifecycle, ReplaceOrder, ResourceSchema};

pub(crate) static SCHEMA: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::TwilioAwsCredential,
    name: "twilio_aws_credential",
    provider: ProviderName::Twilio,
    noun: "Twilio AWS credential",
    attributes: &[identity("access_key_id"), identity("account_sid"), attr("friendly_name"), id("sid")],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    // Found by the marker at the end of its name; it holds a key whose secret is lost with the
    // create's answer, so a leftover is deleted.
    lifecycle: Lifecycle::Created { found_by: FoundBy::Marker, leftover: Leftover::Delete },
    delete_notice: None,
    immovable: None,
    rotation: None,
    max_per_parent: None,
    holds_data: false,
    drift: DriftMeaning {
        deleted: "Twilio's AWS credential is gone: Twilio cannot write to the bucket (debugger 53613), and recordings are lost.",
        attribute: DriftMeaning::plain,
    },
};

/// The attributes of a Twilio AWS credential. Twilio never returns the key it holds: the state
/// remembers which (`access_key_id`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TwilioAwsCredential {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    pub account_sid: Option<String>,
    pub friendly_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

#[cfg(test)]
pub(crate) fn full() -> TwilioAwsCredential {
    TwilioAwsCredential {
        access_key_id: Some("AKIA".into()),
        account_sid: Some("AC".into()),
        friendly_name: Some("n".into()),
        sid: Some("CR".into()),
    }
}
