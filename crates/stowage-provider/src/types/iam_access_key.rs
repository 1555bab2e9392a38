//! `aws_iam_access_key`: the key Twilio writes with.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::{ProviderName, ResourceType};
use crate::schema::build::{attr, compared, id, identity};
use crate::schema::{
    AttributeDrift, Comparison, DriftMeaning, FoundBy, Harm, Leftover, Lifecycle, ReplaceOrder, ResourceSchema,
};

pub(crate) static SCHEMA: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::IamAccessKey,
    name: "aws_iam_access_key",
    provider: ProviderName::Aws,
    noun: "access key",
    attributes: &[
        identity("user_name"),
        attr("status"),
        compared("write_test", Comparison::NotCompared),
        id("access_key_id"),
    ],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    // Found among its user's keys; its secret was only in the create's answer, so a leftover
    // is deleted.
    lifecycle: Lifecycle::Created { found_by: FoundBy::Parent, leftover: Leftover::Delete },
    delete_notice: None,
    immovable: None,
    drift: DriftMeaning {
        deleted: "the key Twilio writes with is gone: Twilio cannot write to the bucket, and recordings are lost.",
        attribute: drift,
    },
};

/// The attributes of an access key. Its secret is never one: it goes from the create's answer
/// to the Twilio credential in memory (see [`crate::SecretHandoff`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IamAccessKey {
    pub user_name: Option<String>,
    /// `Active` or `Inactive`.
    pub status: Option<String>,
    /// Where the new key must be able to write before it is handed to Twilio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_test: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
}

fn drift(drift: &AttributeDrift<'_>) -> Option<(Harm, String)> {
    (drift.name == "status" && drift.actual.as_str() != Some("Active")).then(|| {
        (
            Harm::Critical,
            "the key Twilio writes with is not active: Twilio cannot write to the bucket, and recordings are lost."
                .to_owned(),
        )
    })
}

#[cfg(test)]
pub(crate) fn full() -> IamAccessKey {
    IamAccessKey {
        user_name: Some("u".into()),
        status: Some("Active".into()),
        write_test: Some(Value::Null),
        access_key_id: Some("AKIA".into()),
    }
}
