//! From a validated spec to the resources it asks for. This is where the domain lives: the
//! uploader policy, the Twilio S3 URL, which resource hands what to which.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stowage_provider::{Address, ResourceType};
use stowage_spec::{Spec, StorageSpec};

use crate::model::{DesiredResource, DesiredValue, Reference};
use crate::s3_url;

/// Resource names within one environment: there is one of each.
pub const BUCKET: &str = "main";
pub const UPLOADER: &str = "uploader";
pub const TWILIO: &str = "main";

/// The inline policy's name on the uploader user.
pub const UPLOADER_POLICY_NAME: &str = "stowage-twilio-video-upload";

pub fn bucket_address() -> Address {
    Address::new(ResourceType::S3Bucket, BUCKET)
}
pub fn user_address() -> Address {
    Address::new(ResourceType::IamUser, UPLOADER)
}
pub fn policy_address() -> Address {
    Address::new(ResourceType::IamUserPolicy, UPLOADER)
}
pub fn access_key_address() -> Address {
    Address::new(ResourceType::IamAccessKey, UPLOADER)
}
pub fn credential_address() -> Address {
    Address::new(ResourceType::TwilioAwsCredential, TWILIO)
}
pub fn recording_settings_address() -> Address {
    Address::new(ResourceType::TwilioRecordingSettings, TWILIO)
}
pub fn composition_settings_address() -> Address {
    Address::new(ResourceType::TwilioCompositionSettings, TWILIO)
}

/// Every resource the spec asks for, in dependency order.
pub fn desired_resources(spec: &Spec) -> Vec<DesiredResource> {
    let mut resources = vec![bucket(spec)];
    let stored_prefixes = stored_prefixes(spec);

    if let Some(uploader) = &spec.uploader {
        resources.push(DesiredResource {
            address: user_address(),
            attributes: known([
                ("name", json!(uploader.user_name.as_str())),
                ("path", json!(uploader.path.as_str())),
                ("tags", json!({"managed-by": "stowage", "stowage-environment": spec.environment.name.as_str()})),
            ]),
            depends_on: vec![],
        });
        if !stored_prefixes.is_empty() {
            resources.push(DesiredResource {
                address: policy_address(),
                attributes: known([
                    ("user_name", json!(uploader.user_name.as_str())),
                    ("policy_name", json!(UPLOADER_POLICY_NAME)),
                    (
                        "document",
                        uploader_policy(spec.aws.region.partition(), spec.bucket.name.as_str(), &stored_prefixes),
                    ),
                ]),
                depends_on: vec![user_address(), bucket_address()],
            });
        }
        let mut key_attributes =
            known([("user_name", json!(uploader.user_name.as_str())), ("status", json!("Active"))]);
        let mut key_depends_on = vec![user_address()];
        if spec.twilio.is_some() && !stored_prefixes.is_empty() {
            // Before the key goes to Twilio, apply writes where Twilio will write, with the new
            // key: a policy or encryption mistake fails the apply, not a recording weeks later.
            key_attributes.insert(
                "write_test".to_owned(),
                DesiredValue::Known(json!({
                    "bucket": spec.bucket.name.as_str(),
                    "region": spec.aws.region.as_str(),
                    "prefixes": stored_prefixes,
                })),
            );
            key_depends_on.extend([bucket_address(), policy_address()]);
        }
        resources.push(DesiredResource {
            address: access_key_address(),
            attributes: key_attributes,
            depends_on: key_depends_on,
        });
    }

    if let (Some(twilio), Some(_)) = (&spec.twilio, &spec.uploader) {
        let uses_credential = stored(spec.recordings.as_ref()) || stored(spec.compositions.as_ref());
        if uses_credential {
            resources.push(DesiredResource {
                address: credential_address(),
                attributes: BTreeMap::from([
                    (
                        "access_key_id".to_owned(),
                        DesiredValue::Reference(Reference {
                            address: access_key_address(),
                            attribute: "access_key_id".to_owned(),
                            fresh: true,
                        }),
                    ),
                    ("account_sid".to_owned(), DesiredValue::Known(json!(twilio.account_sid.as_str()))),
                    ("friendly_name".to_owned(), DesiredValue::Known(json!(credential_friendly_name(spec)))),
                ]),
                depends_on: vec![access_key_address()],
            });
        }
        for (address, storage) in [
            (recording_settings_address(), spec.recordings.as_ref()),
            (composition_settings_address(), spec.compositions.as_ref()),
        ] {
            if let Some(storage) = storage {
                resources.push(storage_settings(spec, address, storage));
            }
        }
    }
    resources
}

fn bucket(spec: &Spec) -> DesiredResource {
    let mut lifecycle: Vec<Value> = spec
        .bucket
        .lifecycle
        .iter()
        .map(|rule| json!({"prefix": rule.prefix.as_str(), "expire_after_days": rule.expire_after_days}))
        .collect();
    lifecycle.sort_by_key(Value::to_string);
    DesiredResource {
        address: bucket_address(),
        attributes: known([
            ("name", json!(spec.bucket.name.as_str())),
            ("region", json!(spec.aws.region.as_str())),
            ("versioning", json!(spec.bucket.versioning)),
            ("block_public_access", json!(spec.bucket.block_public_access)),
            ("object_ownership", json!("BucketOwnerEnforced")),
            ("lifecycle", Value::Array(lifecycle)),
            ("tags", json!(spec.bucket.tags)),
        ]),
        depends_on: vec![],
    }
}

fn storage_settings(spec: &Spec, address: Address, storage: &StorageSpec) -> DesiredResource {
    let friendly_name = format!("stowage {}", spec.environment.name.as_str());
    let mut attributes = known([
        ("friendly_name", json!(friendly_name)),
        ("aws_storage_enabled", json!(storage.store_in_s3)),
        ("encryption_enabled", json!(false)),
        ("encryption_key_sid", Value::Null),
    ]);
    let mut depends_on = vec![bucket_address()];
    if storage.store_in_s3 {
        attributes.insert(
            "aws_s3_url".to_owned(),
            DesiredValue::Known(json!(s3_url::build(
                spec.bucket.name.as_str(),
                spec.aws.region.as_str(),
                storage.prefix.as_str()
            ))),
        );
        attributes.insert(
            "aws_credentials_sid".to_owned(),
            DesiredValue::Reference(Reference {
                address: credential_address(),
                attribute: "sid".to_owned(),
                fresh: false,
            }),
        );
        depends_on.push(credential_address());
        if let Some(policy) = spec.uploader.as_ref().map(|_| policy_address()) {
            // Twilio's write test on activation needs the policy in place.
            depends_on.push(policy);
        }
    } else {
        attributes.insert("aws_s3_url".to_owned(), DesiredValue::Known(Value::Null));
        attributes.insert("aws_credentials_sid".to_owned(), DesiredValue::Known(Value::Null));
    }
    DesiredResource { address, attributes, depends_on }
}

/// `FriendlyName` of the Twilio credential: names the environment and bucket, within
/// Twilio's 64 characters.
fn credential_friendly_name(spec: &Spec) -> String {
    let name = format!("stowage {} {}", spec.environment.name.as_str(), spec.bucket.name.as_str());
    name.chars().take(64).collect()
}

fn stored(storage: Option<&StorageSpec>) -> bool {
    storage.is_some_and(|storage| storage.store_in_s3)
}

/// The prefixes Twilio writes under, sorted.
pub fn stored_prefixes(spec: &Spec) -> Vec<String> {
    let mut prefixes: Vec<String> = [spec.recordings.as_ref(), spec.compositions.as_ref()]
        .into_iter()
        .flatten()
        .filter(|storage| storage.store_in_s3)
        .map(|storage| storage.prefix.as_str().to_owned())
        .collect();
    prefixes.sort();
    prefixes.dedup();
    prefixes
}

/// The uploader's policy: `s3:PutObject` under each stored prefix, and nothing else. ARNs
/// carry the region's partition (`aws`, `aws-cn`, `aws-us-gov`).
///
/// The Twilio guide's template also has `Deny NotAction "*"`; that statement denies nothing
/// (the set of actions other than all actions is empty), and IAM's implicit deny already blocks
/// everything not allowed, so it is left out.
pub fn uploader_policy(partition: &str, bucket: &str, prefixes: &[String]) -> Value {
    let resources: Vec<String> =
        prefixes.iter().map(|prefix| format!("arn:{partition}:s3:::{bucket}/{prefix}*")).collect();
    stowage_provider::policy::canonical(&json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "TwilioVideoPutObject",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": resources,
        }]
    }))
}

fn known<const N: usize>(pairs: [(&str, Value); N]) -> BTreeMap<String, DesiredValue> {
    pairs.into_iter().map(|(name, value)| (name.to_owned(), DesiredValue::Known(value))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_arns_carry_the_partition() {
        let policy = uploader_policy("aws-cn", "b", &["recordings/".to_owned()]);
        assert_eq!(policy["Statement"][0]["Resource"], json!(["arn:aws-cn:s3:::b/recordings/*"]));
        let whole_bucket = uploader_policy("aws", "b", &[String::new()]);
        assert_eq!(whole_bucket["Statement"][0]["Resource"], json!(["arn:aws:s3:::b/*"]));
    }
}
