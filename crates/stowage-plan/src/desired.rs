//! From a validated spec to the resources it asks for. This is where the domain lives: the
//! uploader policy, the Twilio S3 URL, which resource hands what to which.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stowage_provider::{Address, ResourceType};
use stowage_spec::{Encryption, Spec, StorageSpec};

use crate::model::{DesiredResource, DesiredValue, Reference, Template};
use crate::s3_url;

/// Resource names within one environment: there is one of each.
pub const BUCKET: &str = "main";
pub const UPLOADER: &str = "uploader";
pub const TWILIO: &str = "main";

/// The inline policy's name on the uploader user.
pub const UPLOADER_POLICY_NAME: &str = "stowage-twilio-video-upload";

pub fn kms_key_address() -> Address {
    Address::new(ResourceType::KmsKey, BUCKET)
}
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
/// The Twilio public key recordings (`recordings`) or compositions (`compositions`) are
/// encrypted with.
pub fn public_key_address(kind: &str) -> Address {
    Address::new(ResourceType::TwilioPublicKey, kind)
}
pub fn recording_settings_address() -> Address {
    Address::new(ResourceType::TwilioRecordingSettings, TWILIO)
}
pub fn composition_settings_address() -> Address {
    Address::new(ResourceType::TwilioCompositionSettings, TWILIO)
}

/// The actions the uploader needs on the bucket's KMS key to upload with SSE-KMS (the Twilio
/// guide's second template).
pub const UPLOADER_KMS_ACTIONS: [&str; 5] =
    ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"];

/// The bucket's SSE-KMS key, as the resources that use it see it.
#[derive(Debug, Clone, PartialEq)]
enum KmsKey {
    /// No default encryption asked for: S3's own default applies.
    None,
    /// An existing key, by ARN.
    Existing(String),
    /// The key stowage creates: its ARN is known once it exists.
    Created,
}

impl KmsKey {
    fn of(spec: &Spec) -> Self {
        match &spec.bucket.encryption {
            None => KmsKey::None,
            Some(Encryption::KmsCreate) => KmsKey::Created,
            Some(Encryption::KmsKeyArn(arn)) => KmsKey::Existing(arn.as_str().to_owned()),
        }
    }

    fn arn_reference() -> Reference {
        Reference { address: kms_key_address(), attribute: "arn".to_owned(), fresh: false }
    }

    /// The key's ARN as a whole value: known, a reference, or null without encryption.
    fn arn_value(&self) -> DesiredValue {
        match self {
            KmsKey::None => DesiredValue::Known(Value::Null),
            KmsKey::Existing(arn) => DesiredValue::Known(json!(arn)),
            KmsKey::Created => DesiredValue::Reference(Self::arn_reference()),
        }
    }

    /// The key's ARN inside a larger value: the ARN itself, or the placeholder of a template.
    fn arn_text(&self) -> Option<String> {
        match self {
            KmsKey::None => None,
            KmsKey::Existing(arn) => Some(arn.clone()),
            KmsKey::Created => Some(Template::placeholder(&Self::arn_reference())),
        }
    }

    /// `value` as a desired value: a template when it names the key stowage creates.
    fn wrap(&self, value: Value) -> DesiredValue {
        match self {
            KmsKey::Created => DesiredValue::Template(Template { value, references: vec![Self::arn_reference()] }),
            KmsKey::None | KmsKey::Existing(_) => DesiredValue::Known(value),
        }
    }
}

/// Every resource the spec asks for, in dependency order.
pub fn desired_resources(spec: &Spec) -> Vec<DesiredResource> {
    let kms_key = KmsKey::of(spec);
    let mut resources = Vec::new();
    if kms_key == KmsKey::Created {
        resources.push(kms_key_resource(spec));
    }
    resources.push(bucket(spec, &kms_key));
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
            let document = uploader_policy(
                spec.aws.region.partition(),
                spec.bucket.name.as_str(),
                &stored_prefixes,
                kms_key.arn_text().as_deref(),
            );
            let mut attributes = known([
                ("user_name", json!(uploader.user_name.as_str())),
                ("policy_name", json!(UPLOADER_POLICY_NAME)),
            ]);
            attributes.insert("document".to_owned(), kms_key.wrap(document));
            let mut depends_on = vec![user_address(), bucket_address()];
            if kms_key == KmsKey::Created {
                depends_on.push(kms_key_address());
            }
            resources.push(DesiredResource { address: policy_address(), attributes, depends_on });
        }
        let mut key_attributes =
            known([("user_name", json!(uploader.user_name.as_str())), ("status", json!("Active"))]);
        let mut key_depends_on = vec![user_address()];
        if spec.twilio.is_some() && !stored_prefixes.is_empty() {
            // Before the key goes to Twilio, apply writes where Twilio will write, with the new
            // key: a policy or encryption mistake fails the apply, not a recording weeks later.
            // With SSE-KMS the test also checks the object landed encrypted with the key.
            let mut target = json!({
                "bucket": spec.bucket.name.as_str(),
                "region": spec.aws.region.as_str(),
                "prefixes": stored_prefixes,
            });
            if let Some(arn) = kms_key.arn_text() {
                target["kms_key"] = json!(arn);
            }
            key_attributes.insert("write_test".to_owned(), kms_key.wrap(target));
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
        for (kind, address, storage) in [
            ("recordings", recording_settings_address(), spec.recordings.as_ref()),
            ("compositions", composition_settings_address(), spec.compositions.as_ref()),
        ] {
            let Some(storage) = storage else { continue };
            let public_key = storage.encryption_public_key.as_ref().filter(|_| storage.store_in_s3);
            if let Some(public_key) = public_key {
                resources.push(public_key_resource(spec, twilio.account_sid.as_str(), kind, public_key));
            }
            let mut settings = storage_settings(spec, address, storage);
            if public_key.is_some() {
                let sid = Reference { address: public_key_address(kind), attribute: "sid".to_owned(), fresh: false };
                settings.attributes.insert("encryption_enabled".to_owned(), DesiredValue::Known(json!(true)));
                settings.attributes.insert("encryption_key_sid".to_owned(), DesiredValue::Reference(sid));
                settings.depends_on.push(public_key_address(kind));
            }
            resources.push(settings);
        }
    }
    resources
}

/// The SSE-KMS key stowage creates: symmetric, rotated yearly, named by an alias, with a key
/// policy that keeps the account's administrators in control and lets the uploader use it.
fn kms_key_resource(spec: &Spec) -> DesiredResource {
    let environment = spec.environment.name.as_str();
    let mut attributes = known([
        ("region", json!(spec.aws.region.as_str())),
        (
            "description",
            json!(format!(
                "stowage: SSE-KMS key of bucket {} (environment {environment}), for Twilio Video",
                spec.bucket.name.as_str()
            )),
        ),
        ("alias", json!(format!("alias/stowage-{environment}"))),
        ("enabled", json!(true)),
        ("rotation_enabled", json!(true)),
        ("bucket", json!(spec.bucket.name.as_str())),
    ]);
    let mut depends_on = Vec::new();
    // Without an uploader the key keeps AWS's default key policy, which gives the account
    // (and so its administrators, through IAM) full control and nobody else anything.
    if spec.uploader.is_some() {
        let user =
            |attribute: &str| Reference { address: user_address(), attribute: attribute.to_owned(), fresh: false };
        let (arn, account) = (user("arn"), user("account_id"));
        let policy =
            kms_key_policy(spec.aws.region.partition(), &Template::placeholder(&account), &Template::placeholder(&arn));
        attributes.insert(
            "policy".to_owned(),
            DesiredValue::Template(Template { value: policy, references: vec![arn, account] }),
        );
        depends_on.push(user_address());
    }
    DesiredResource { address: kms_key_address(), attributes, depends_on }
}

/// The key policy: the account's administrators keep full control (so the key can never
/// lock everyone out), and the uploader may use the key for uploads and nothing else.
pub fn kms_key_policy(partition: &str, account_id: &str, uploader_arn: &str) -> Value {
    stowage_provider::policy::canonical(&json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministrators",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:{partition}:iam::{account_id}:root")},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "TwilioVideoUploader",
                "Effect": "Allow",
                "Principal": {"AWS": uploader_arn},
                "Action": UPLOADER_KMS_ACTIONS,
                "Resource": "*",
            },
        ]
    }))
}

fn bucket(spec: &Spec, kms_key: &KmsKey) -> DesiredResource {
    let mut lifecycle: Vec<Value> = spec
        .bucket
        .lifecycle
        .iter()
        .map(|rule| json!({"prefix": rule.prefix.as_str(), "expire_after_days": rule.expire_after_days}))
        .collect();
    lifecycle.sort_by_key(Value::to_string);
    let mut attributes = known([
        ("name", json!(spec.bucket.name.as_str())),
        ("region", json!(spec.aws.region.as_str())),
        ("versioning", json!(spec.bucket.versioning)),
        ("block_public_access", json!(spec.bucket.block_public_access)),
        ("object_ownership", json!("BucketOwnerEnforced")),
        ("lifecycle", Value::Array(lifecycle)),
        ("tags", json!(spec.bucket.tags)),
        ("bucket_key_enabled", json!(*kms_key != KmsKey::None)),
    ]);
    attributes.insert("sse_kms_key".to_owned(), kms_key.arn_value());
    let depends_on = if *kms_key == KmsKey::Created { vec![kms_key_address()] } else { vec![] };
    DesiredResource { address: bucket_address(), attributes, depends_on }
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

/// The customer's RSA public key, held by Twilio to encrypt `kind` (client-side encryption).
/// Twilio never returns the key, so it is known by the fingerprint of its DER: a new PEM is a
/// new credential. The spec's PEMs must have been loaded (`stowage_spec::load_public_keys`).
fn public_key_resource(
    spec: &Spec,
    account_sid: &str,
    kind: &str,
    public_key: &stowage_spec::EncryptionPublicKey,
) -> DesiredResource {
    let pem = public_key.pem.as_ref();
    DesiredResource {
        address: public_key_address(kind),
        attributes: known([
            ("public_key_sha256", json!(pem.map(stowage_spec::PublicKeyPem::sha256))),
            ("public_key", json!(pem.map(stowage_spec::PublicKeyPem::pem))),
            ("account_sid", json!(account_sid)),
            ("friendly_name", json!(format!("stowage {} {kind}", spec.environment.name.as_str()))),
        ]),
        depends_on: vec![],
    }
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

/// The uploader's policy: `s3:PutObject` under each stored prefix, and, when the bucket
/// encrypts with SSE-KMS, the use of that one key; nothing else. ARNs carry the region's
/// partition (`aws`, `aws-cn`, `aws-us-gov`).
///
/// The Twilio guide's template also has `Deny NotAction "*"`; that statement denies nothing
/// (the set of actions other than all actions is empty), and IAM's implicit deny already blocks
/// everything not allowed, so it is left out.
pub fn uploader_policy(partition: &str, bucket: &str, prefixes: &[String], kms_key_arn: Option<&str>) -> Value {
    let resources: Vec<String> =
        prefixes.iter().map(|prefix| format!("arn:{partition}:s3:::{bucket}/{prefix}*")).collect();
    let mut statements = vec![json!({
        "Sid": "TwilioVideoPutObject",
        "Effect": "Allow",
        "Action": ["s3:PutObject"],
        "Resource": resources,
    })];
    if let Some(key) = kms_key_arn {
        statements.push(json!({
            "Sid": "TwilioVideoKmsKey",
            "Effect": "Allow",
            "Action": UPLOADER_KMS_ACTIONS,
            "Resource": [key],
        }));
    }
    stowage_provider::policy::canonical(&json!({"Version": "2012-10-17", "Statement": statements}))
}

fn known<const N: usize>(pairs: [(&str, Value); N]) -> BTreeMap<String, DesiredValue> {
    pairs.into_iter().map(|(name, value)| (name.to_owned(), DesiredValue::Known(value))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_arns_carry_the_partition() {
        let policy = uploader_policy("aws-cn", "b", &["recordings/".to_owned()], None);
        assert_eq!(policy["Statement"][0]["Resource"], json!(["arn:aws-cn:s3:::b/recordings/*"]));
        let whole_bucket = uploader_policy("aws", "b", &[String::new()], None);
        assert_eq!(whole_bucket["Statement"][0]["Resource"], json!(["arn:aws:s3:::b/*"]));
    }

    /// IAM limits a user's inline policies to 2,048 characters, not counting whitespace. The
    /// longest spec the validation allows (a 63-character bucket, two prefixes of the longest
    /// length, the longest partition, a multi-Region KMS key ARN) must fit, with room to spare.
    #[test]
    fn the_longest_allowed_spec_makes_a_policy_within_iams_limit() {
        let prefix = |first: char| {
            let body: String =
                std::iter::once(first).chain(std::iter::repeat_n('x', stowage_spec::MAX_PREFIX_LENGTH - 2)).collect();
            format!("{body}/")
        };
        let (recordings, compositions) = (prefix('r'), prefix('c'));
        let bucket = "b".repeat(63);
        let text = format!(
            r#"
[environment]
name = "production-eu"
[aws]
region = "us-gov-west-1"
[twilio]
account_sid = "AC0123456789abcdef0123456789abcdef"
[bucket]
name = "{bucket}"
encryption = {{ kms_key = "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef" }}
[uploader]
user_name = "{user}"
path = "/twilio/"
[recordings]
store_in_s3 = true
prefix = "{recordings}"
[compositions]
store_in_s3 = true
prefix = "{compositions}"
"#,
            user = "u".repeat(64)
        );
        let spec = stowage_spec::parse("longest.toml", &text).unwrap_or_else(|errors| panic!("{errors}")).spec;
        assert_eq!(stowage_spec::Prefix::new(&recordings).unwrap().as_str().len(), stowage_spec::MAX_PREFIX_LENGTH);
        let policy = desired_resources(&spec)
            .into_iter()
            .find(|resource| resource.address == policy_address())
            .and_then(|resource| match resource.attributes.get("document") {
                Some(DesiredValue::Known(document)) => Some(document.clone()),
                _ => None,
            })
            .expect("the uploader policy is known at plan time");
        let counted =
            serde_json::to_string(&policy).unwrap().chars().filter(|character| !character.is_whitespace()).count();
        assert!(counted <= 2048, "the policy has {counted} characters:\n{policy:#}");
        // Measured, so a change that grows the policy shows in review.
        insta::assert_snapshot!(counted.to_string(), @"1025");
    }
}
