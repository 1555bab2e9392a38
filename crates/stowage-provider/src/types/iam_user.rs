//! `aws_iam_user`: the uploader whose key Twilio writes with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::address::{ProviderName, ResourceType};
use crate::schema::build::{attr, computed, computed_from, natural_id};
use crate::schema::{AttributeDrift, DriftMeaning, FoundBy, Harm, Leftover, Lifecycle, ReplaceOrder, ResourceSchema};

pub(crate) static SCHEMA: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::IamUser,
    name: "aws_iam_user",
    provider: ProviderName::Aws,
    noun: "IAM user",
    // `arn:PARTITION:iam::ACCOUNT:user/PATH/NAME`: a new path is a new ARN.
    attributes: &[
        natural_id("name"),
        attr("path"),
        attr("tags"),
        computed_from("arn", &["path"]),
        computed("account_id"),
    ],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    // Found again by name, and adopted: nothing of it is lost with a create's answer.
    lifecycle: Lifecycle::Created { found_by: FoundBy::Name, leftover: Leftover::Adopt },
    delete_notice: None,
    immovable: None,
    rotation: None,
    max_per_parent: None,
    holds_data: false,
    drift: DriftMeaning {
        deleted: "the uploader user is gone with its key: Twilio cannot write to the bucket, and recordings are lost.",
        attribute: drift,
    },
};

/// The attributes of an IAM user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IamUser {
    pub name: Option<String>,
    /// `/` unless the spec says otherwise.
    pub path: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

fn drift(drift: &AttributeDrift<'_>) -> Option<(Harm, String)> {
    (drift.name == "tags")
        .then(|| (Harm::Warning, "cost reports and ownership lookups by tag see other tags.".to_owned()))
}

#[cfg(test)]
pub(crate) fn full() -> IamUser {
    IamUser {
        name: Some("u".into()),
        path: Some("/".into()),
        tags: Some(BTreeMap::new()),
        arn: Some("arn".into()),
        account_id: Some("1".into()),
    }
}
