//! `aws_s3_bucket`: where Twilio stores recordings and compositions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::{ProviderName, ResourceType};
use crate::schema::build::{attr, computed, identity, natural_id};
use crate::schema::{
    AttributeDrift, DriftMeaning, FoundBy, Harm, Immovable, Leftover, Lifecycle, ReplaceOrder, ResourceSchema,
};

pub(crate) static SCHEMA: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::S3Bucket,
    name: "aws_s3_bucket",
    provider: ProviderName::Aws,
    noun: "bucket",
    attributes: &[
        natural_id("name"),
        identity("region"),
        attr("versioning"),
        attr("block_public_access"),
        attr("object_ownership"),
        attr("lifecycle"),
        attr("tags"),
        // Default encryption: the SSE-KMS key (ARN), or null for S3's own default.
        attr("sse_kms_key"),
        attr("bucket_key_enabled"),
        // `aws:kms`, `AES256` (SSE-S3) or null: what verify judges, read with the rest.
        computed("sse_algorithm"),
    ],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    // Found again by name, and adopted: nothing of it is lost with a create's answer.
    lifecycle: Lifecycle::Created { found_by: FoundBy::Name, leftover: Leftover::Adopt },
    delete_notice: None,
    // A bucket keeps its name for life and names are global, so it cannot be recreated in
    // another region under the same name while it exists.
    immovable: Some(Immovable { attribute: "region", unless: "name", refusal: cannot_move }),
    rotation: None,
    max_per_parent: None,
    // Its objects are recordings and compositions: destroy keeps a bucket that holds any.
    holds_data: true,
    drift: DriftMeaning {
        deleted: "the bucket is gone: Twilio cannot store recordings or compositions, and they are lost.",
        attribute: drift,
    },
};

fn cannot_move(name: &str, from: &str, to: &str) -> (String, String) {
    (
        format!("bucket `{name}` is in `{from}`, the spec says `{to}`: S3 cannot move a bucket to another region"),
        format!(
            "keep `region = \"{from}\"`, or choose a new `[bucket] name` to create a new bucket in `{to}` \
             (the old bucket and its recordings stay where they are until you remove them)"
        ),
    )
}

/// The attributes of a bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct S3Bucket {
    pub name: Option<String>,
    pub region: Option<String>,
    pub versioning: Option<bool>,
    pub block_public_access: Option<bool>,
    /// `BucketOwnerEnforced` (ACLs off), or null when the bucket has no ownership controls.
    pub object_ownership: Option<String>,
    pub lifecycle: Option<Vec<LifecycleRule>>,
    pub tags: Option<BTreeMap<String, String>>,
    /// The SSE-KMS key (ARN, or `aws/s3` for the AWS managed key); null for S3's own default.
    pub sse_kms_key: Option<String>,
    pub bucket_key_enabled: Option<bool>,
    /// `aws:kms`, `AES256` or null (nothing configured), as read; absent until read.
    #[serde(default, deserialize_with = "super::present", skip_serializing_if = "Option::is_none")]
    pub sse_algorithm: Option<Option<String>>,
}

/// An expiry rule: objects under `prefix` expire after so many days. A rule found in the bucket
/// that is not enabled says so (`enabled: false`), so the plan brings it back to the spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LifecycleRule {
    pub prefix: String,
    pub expire_after_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

fn drift(drift: &AttributeDrift<'_>) -> Option<(Harm, String)> {
    let critical = |why: String| Some((Harm::Critical, why));
    let warning = |why: &str| Some((Harm::Warning, why.to_owned()));
    match drift.name {
        "block_public_access" if *drift.expected == Value::Bool(true) => {
            critical("the bucket no longer blocks public access: recordings could be made public.".to_owned())
        }
        "versioning" => warning("overwritten or deleted recordings can no longer be recovered from earlier versions."),
        "lifecycle" => warning("recordings are no longer expired as the spec asks."),
        "object_ownership" => warning("object ACLs may apply again, so who can read recordings changes."),
        "tags" => warning("cost reports and ownership lookups by tag see other tags."),
        "sse_kms_key" => critical(format!(
            "the bucket's default encryption is {} instead of SSE-KMS with {}: Twilio may be denied uploads (debugger 53615).",
            if drift.actual.is_null() {
                "SSE-S3 or none".to_owned()
            } else {
                format!("SSE-KMS with {}", inline(drift.actual))
            },
            inline(drift.expected)
        )),
        "bucket_key_enabled" => {
            warning("S3 Bucket Keys are off: every upload calls KMS, which costs more and may be throttled.")
        }
        _ => None,
    }
}

/// A value as JSON on one line.
pub(crate) fn inline(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
pub(crate) fn full() -> S3Bucket {
    S3Bucket {
        name: Some("b".into()),
        region: Some("eu-west-1".into()),
        versioning: Some(true),
        block_public_access: Some(true),
        object_ownership: Some("BucketOwnerEnforced".into()),
        lifecycle: Some(vec![LifecycleRule { prefix: "r/".into(), expire_after_days: Some(1), enabled: None }]),
        tags: Some(BTreeMap::new()),
        sse_kms_key: None,
        bucket_key_enabled: Some(true),
        sse_algorithm: Some(None),
    }
}
