//! `aws_iam_access_key`: the key Twilio writes with.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::{ProviderName, ResourceType};
use crate::schema::build::{attr, compared, computed, id, identity};
use crate::schema::{
    AttributeDrift, Comparison, DriftMeaning, FoundBy, Harm, Leftover, Lifecycle, ReplaceOrder, ResourceSchema,
    Rotation,
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
        compared("rotate_after_days", Comparison::NotCompared),
        id("access_key_id"),
        computed("created_at"),
    ],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    // Found among its user's keys; its secret was only in the create's answer, so a leftover
    // is deleted.
    lifecycle: Lifecycle::Created { found_by: FoundBy::Parent, leftover: Leftover::Delete },
    delete_notice: None,
    immovable: None,
    rotation: Some(Rotation { after_days: "rotate_after_days", created_at: "created_at" }),
    // IAM allows two access keys per user.
    max_per_parent: Some(2),
    holds_data: false,
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
    /// Days after which the plan replaces the key (the spec's `rotate_after_days`): an input
    /// of the plan, never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_after_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// When IAM made the key (RFC 3339): how old it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
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
        rotate_after_days: Some(90),
        access_key_id: Some("AKIA".into()),
        created_at: Some("2026-01-01T00:00:00Z".into()),
    }
}
