//! `aws_iam_user_policy_attachment`: a managed policy attached to the uploader by hand (the
//! Twilio guide's way of granting it S3 access). stowage grants the same with its inline
//! policy, so it never makes one: `import` records what it finds, and the plan that follows
//! detaches it once the inline policy is in place.

use serde::{Deserialize, Serialize};

use crate::address::{ProviderName, ResourceType};
use crate::schema::build::{computed, identity};
use crate::schema::{DriftMeaning, Lifecycle, ReplaceOrder, ResourceSchema};

pub(crate) static SCHEMA: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::IamUserPolicyAttachment,
    name: "aws_iam_user_policy_attachment",
    provider: ProviderName::Aws,
    noun: "managed policy attachment",
    attributes: &[identity("user_name"), identity("policy_arn"), computed("policy_name")],
    // Never created, so never replaced; an attachment is the pair, nothing else.
    replace_order: ReplaceOrder::DestroyBeforeCreate,
    lifecycle: Lifecycle::Superseded {
        parent: ResourceType::IamUser,
        parent_key: "name",
        link: "user_name",
        named_by: "policy_name",
    },
    delete_notice: Some((
        "the managed policy is detached from the uploader only after stowage's inline policy is in place; the \
         policy itself is then deleted, with its versions, unless another user, group or role still uses it",
        "to keep the policy, detach it yourself before apply (`aws iam detach-user-policy`): stowage then only \
         forgets the attachment",
    )),
    immovable: None,
    rotation: None,
    max_per_parent: None,
    holds_data: false,
    drift: DriftMeaning {
        deleted: "a managed policy made by hand was detached from the uploader: stowage's inline policy is what lets \
                  Twilio write, so nothing is lost.",
        attribute: DriftMeaning::plain,
    },
};

/// The attributes of a managed policy's attachment to a user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IamUserPolicyAttachment {
    pub user_name: Option<String>,
    pub policy_arn: Option<String>,
    /// The policy's name (its ARN's last part), which names the attachment's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
}

#[cfg(test)]
pub(crate) fn full() -> IamUserPolicyAttachment {
    IamUserPolicyAttachment {
        user_name: Some("u".into()),
        policy_arn: Some("arn:aws:iam::123456789012:policy/p".into()),
        policy_name: Some("p".into()),
    }
}
