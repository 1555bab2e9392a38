//! From a validated spec to the resources it asks for. This is where the domain lives: the
//! uploader policy, the Twilio S3 URL, which resource hands what to which.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use stowage_provider::types::{
    IamAccessKey, IamUser, IamUserPolicy, KmsKey as KmsKeyAttributes, LifecycleRule, S3Bucket, StorageSettings,
    TwilioAwsCredential, TwilioPublicKey,
};
use stowage_provider::{Address, ResourceType};
use stowage_spec::{Encryption, Spec, StorageSpec, UploaderMode};

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

    /// The key's ARN, or the placeholder that stands for it until the key exists; none without
    /// encryption.
    fn arn_text(&self) -> Option<String> {
        match self {
            KmsKey::None => None,
            KmsKey::Existing(arn) => Some(arn.clone()),
            KmsKey::Created => Some(Template::placeholder(&Self::arn_reference())),
        }
    }

    /// What a resource naming the key refers to: the key stowage creates, if it does.
    fn references(&self) -> Vec<Reference> {
        match self {
            KmsKey::Created => vec![Self::arn_reference()],
            KmsKey::None | KmsKey::Existing(_) => Vec::new(),
        }
    }
}

/// A resource's typed attributes as desired values: a string that is a reference's placeholder
/// is that reference, a value holding placeholders is a template of the references in it, and
/// anything else is known. Every desired resource is built through here, so its attribute
/// names are its type's (see `stowage_provider::types`). No value from a spec can hold a
/// placeholder: validation refuses `${` in prefixes, and `$` and `{` in every name, tag and
/// region.
fn desired<T: Serialize>(typed: &T, references: &[Reference]) -> BTreeMap<String, DesiredValue> {
    stowage_provider::encode(typed)
        .into_iter()
        .map(|(name, value)| {
            let exactly = references.iter().find(|reference| value.as_str() == Some(&Template::placeholder(reference)));
            let inside: Vec<Reference> = references
                .iter()
                .filter(|reference| holds(&value, &Template::placeholder(reference)))
                .cloned()
                .collect();
            let value = match (exactly, inside.is_empty()) {
                (Some(reference), _) => DesiredValue::Reference(reference.clone()),
                (None, true) => DesiredValue::Known(value),
                (None, false) => DesiredValue::Template(Template { value, references: inside }),
            };
            (name, value)
        })
        .collect()
}

/// Whether some string in `value` holds `placeholder`.
fn holds(value: &Value, placeholder: &str) -> bool {
    match value {
        Value::String(text) => text.contains(placeholder),
        Value::Array(items) => items.iter().any(|item| holds(item, placeholder)),
        Value::Object(fields) => fields.values().any(|item| holds(item, placeholder)),
        _ => false,
    }
}

/// Every resource a single-account spec asks for, in dependency order. A fleet spec asks for
/// its shared resources only, as with no member: see [`desired_fleet_resources`].
pub fn desired_resources(spec: &Spec) -> Vec<DesiredResource> {
    desired_fleet_resources(spec, &[])
}

/// Every resource the spec asks for, in dependency order, for a fleet (`[fleet]`) with these
/// `members`: the subaccounts it manages now, as discovered (`crate::fleet::members`). The
/// bucket and its KMS key are the fleet's; each member has its own credential, settings and
/// public keys at addresses keyed by its SID (`twilio_aws_credential.main["AC…"]`), each
/// writing under its own prefixes; and, with `uploader = "per-subaccount"`, its own IAM user,
/// policy and access key, allowed to write only there. A spec without `[fleet]` ignores
/// `members`: its addresses carry no key.
pub fn desired_fleet_resources(spec: &Spec, members: &[String]) -> Vec<DesiredResource> {
    let kms_key = KmsKey::of(spec);
    let tenants = Tenant::all(spec, members);
    let uploaders = UploaderShare::all(spec, &tenants);
    let mut resources = Vec::new();
    if kms_key == KmsKey::Created {
        resources.push(kms_key_resource(spec, &uploaders));
    }
    resources.push(bucket(spec, &kms_key));

    if let Some(uploader) = &spec.uploader {
        for share in &uploaders {
            resources.push(user(spec, uploader, share));
            if !share.policy_prefixes.is_empty() {
                resources.push(user_policy(spec, share, &kms_key));
            }
            if share.has_key {
                resources.push(access_key(spec, uploader, share, &kms_key));
            }
        }
    }

    if let (Some(_), Some(_)) = (&spec.twilio, &spec.uploader) {
        let uses_credential = stored(spec.recordings.as_ref()) || stored(spec.compositions.as_ref());
        for tenant in &tenants {
            if uses_credential {
                resources.push(credential(spec, tenant));
            }
            for (kind, address, storage) in [
                ("recordings", recording_settings_address(), spec.recordings.as_ref()),
                ("compositions", composition_settings_address(), spec.compositions.as_ref()),
            ] {
                let Some(storage) = storage else { continue };
                let public_key = storage.encryption_public_key.as_ref().filter(|_| storage.store_in_s3);
                let key_address = public_key.map(|_| tenant.at(public_key_address(kind)));
                if let Some(public_key) = public_key {
                    resources.push(public_key_resource(spec, tenant, kind, public_key));
                }
                resources.push(storage_settings(spec, tenant, tenant.at(address), storage, key_address));
            }
        }
    }
    if spec.fleet.is_some() {
        // Dependency order is by type first: a fleet's instances interleave.
        resources.sort_by_key(|resource| resource.address.resource_type);
    }
    resources
}

/// One Twilio account the spec configures: the spec's account, or a fleet member.
struct Tenant {
    /// The instance key of its resources: its SID in a fleet, none for a single account.
    key: Option<String>,
    account_sid: String,
    /// The instance key of the uploader it writes with: its own (per-subaccount), or none.
    uploader: Option<String>,
}

impl Tenant {
    fn all(spec: &Spec, members: &[String]) -> Vec<Tenant> {
        let Some(twilio) = &spec.twilio else { return Vec::new() };
        match &spec.fleet {
            None => vec![Tenant { key: None, account_sid: twilio.account_sid.as_str().to_owned(), uploader: None }],
            Some(fleet) => members
                .iter()
                .map(|sid| Tenant {
                    key: Some(sid.clone()),
                    account_sid: sid.clone(),
                    uploader: (fleet.uploader == UploaderMode::PerSubaccount).then(|| sid.clone()),
                })
                .collect(),
        }
    }

    /// `address` as this tenant's instance.
    fn at(&self, address: Address) -> Address {
        keyed(address, self.key.as_deref())
    }

    /// Where its `storage` is written: the prefix with its account SID.
    fn prefix(&self, storage: &StorageSpec) -> String {
        storage.prefix.for_account(&self.account_sid)
    }
}

fn keyed(address: Address, key: Option<&str>) -> Address {
    match key {
        Some(key) => address.instance(key),
        None => address,
    }
}

/// One IAM uploader (user, policy, access key) and what it writes for.
struct UploaderShare {
    /// The instance key of its resources: a member's SID (per-subaccount), or none.
    key: Option<String>,
    user_name: String,
    /// What its policy allows it to write under.
    policy_prefixes: Vec<String>,
    /// Where its new key's write test writes: the prefixes of one tenant it serves.
    test_prefixes: Vec<String>,
    /// Whether it has an access key: not while a shared uploader serves no member (its secret
    /// would be lost before a credential could take it).
    has_key: bool,
    /// Its user's tags beyond stowage's own.
    subaccount: Option<String>,
}

impl UploaderShare {
    fn all(spec: &Spec, tenants: &[Tenant]) -> Vec<UploaderShare> {
        let Some(uploader) = &spec.uploader else { return Vec::new() };
        let storages = || [spec.recordings.as_ref(), spec.compositions.as_ref()].into_iter().flatten();
        let prefixes_of = |account_sid: &str| -> Vec<String> {
            sorted(
                storages().filter(|storage| storage.store_in_s3).map(|storage| storage.prefix.for_account(account_sid)),
            )
        };
        match spec.fleet.as_ref().map(|fleet| fleet.uploader) {
            None => {
                let prefixes = stored_prefixes(spec);
                vec![UploaderShare {
                    key: None,
                    user_name: uploader.user_name.as_str().to_owned(),
                    policy_prefixes: prefixes.clone(),
                    test_prefixes: prefixes,
                    has_key: true,
                    subaccount: None,
                }]
            }
            Some(UploaderMode::PerSubaccount) => tenants
                .iter()
                .map(|tenant| UploaderShare {
                    key: tenant.key.clone(),
                    user_name: uploader.user_name_for(&tenant.account_sid),
                    policy_prefixes: prefixes_of(&tenant.account_sid),
                    test_prefixes: prefixes_of(&tenant.account_sid),
                    has_key: true,
                    subaccount: Some(tenant.account_sid.clone()),
                })
                .collect(),
            Some(UploaderMode::Shared) => vec![UploaderShare {
                key: None,
                user_name: uploader.user_name.as_str().to_owned(),
                // One key for every member, present and future: every account's prefix. A
                // policy naming a thousand prefixes would pass IAM's 2,048 characters.
                policy_prefixes: prefixes_of(SHARED_ACCOUNT_PATTERN),
                test_prefixes: tenants.first().map(|tenant| prefixes_of(&tenant.account_sid)).unwrap_or_default(),
                has_key: !tenants.is_empty(),
                subaccount: None,
            }],
        }
    }

    fn at(&self, address: Address) -> Address {
        keyed(address, self.key.as_deref())
    }
}

/// What a shared uploader's policy has in place of `{account_sid}`: any account SID.
pub const SHARED_ACCOUNT_PATTERN: &str = "AC*";

fn sorted(prefixes: impl Iterator<Item = String>) -> Vec<String> {
    let mut prefixes: Vec<String> = prefixes.collect();
    prefixes.sort();
    prefixes.dedup();
    prefixes
}

/// The uploader: the IAM user whose key Twilio writes with, tagged as stowage's.
fn user(spec: &Spec, uploader: &stowage_spec::Uploader, share: &UploaderShare) -> DesiredResource {
    let mut tags = BTreeMap::from([
        ("managed-by".to_owned(), "stowage".to_owned()),
        ("stowage-environment".to_owned(), spec.environment.name.as_str().to_owned()),
    ]);
    if let Some(subaccount) = &share.subaccount {
        tags.insert("stowage-subaccount".to_owned(), subaccount.clone());
    }
    let user = IamUser {
        name: Some(share.user_name.clone()),
        path: Some(uploader.path.as_str().to_owned()),
        tags: Some(tags),
        ..IamUser::default()
    };
    DesiredResource { address: share.at(user_address()), attributes: desired(&user, &[]), depends_on: vec![] }
}

/// The uploader's inline policy: what the key Twilio holds may do (see [`uploader_policy`]).
fn user_policy(spec: &Spec, share: &UploaderShare, kms_key: &KmsKey) -> DesiredResource {
    let policy = IamUserPolicy {
        user_name: Some(share.user_name.clone()),
        policy_name: Some(UPLOADER_POLICY_NAME.to_owned()),
        document: Some(uploader_policy(
            spec.aws.region.partition(),
            spec.bucket.name.as_str(),
            &share.policy_prefixes,
            kms_key.arn_text().as_deref(),
        )),
    };
    let mut depends_on = vec![share.at(user_address()), bucket_address()];
    if *kms_key == KmsKey::Created {
        depends_on.push(kms_key_address());
    }
    DesiredResource {
        address: share.at(policy_address()),
        attributes: desired(&policy, &kms_key.references()),
        depends_on,
    }
}

/// The key Twilio writes with. Before it goes to Twilio, apply writes where Twilio will write,
/// with the new key: a policy or encryption mistake fails the apply, not a recording weeks
/// later. With SSE-KMS the test also checks the object landed encrypted with the key.
fn access_key(
    spec: &Spec,
    uploader: &stowage_spec::Uploader,
    share: &UploaderShare,
    kms_key: &KmsKey,
) -> DesiredResource {
    let mut key = IamAccessKey {
        user_name: Some(share.user_name.clone()),
        status: Some("Active".to_owned()),
        rotate_after_days: uploader.rotate_after_days,
        ..IamAccessKey::default()
    };
    let mut depends_on = vec![share.at(user_address())];
    if spec.twilio.is_some() && !share.test_prefixes.is_empty() {
        let mut target = json!({
            "bucket": spec.bucket.name.as_str(),
            "region": spec.aws.region.as_str(),
            "prefixes": share.test_prefixes,
        });
        if let Some(arn) = kms_key.arn_text() {
            target["kms_key"] = json!(arn);
        }
        key.write_test = Some(target);
        depends_on.extend([bucket_address(), share.at(policy_address())]);
    }
    DesiredResource {
        address: share.at(access_key_address()),
        attributes: desired(&key, &kms_key.references()),
        depends_on,
    }
}

/// The uploader's key, stored in Twilio: made from the key's secret, which exists only while
/// the key is created, so the key is made afresh with it.
fn credential(spec: &Spec, tenant: &Tenant) -> DesiredResource {
    let key_address = keyed(access_key_address(), tenant.uploader.as_deref());
    let access_key_id = Reference { address: key_address.clone(), attribute: "access_key_id".to_owned(), fresh: true };
    let credential = TwilioAwsCredential {
        access_key_id: Some(Template::placeholder(&access_key_id)),
        account_sid: Some(tenant.account_sid.clone()),
        friendly_name: Some(credential_friendly_name(spec)),
        sid: None,
    };
    DesiredResource {
        address: tenant.at(credential_address()),
        attributes: desired(&credential, &[access_key_id]),
        depends_on: vec![key_address],
    }
}

/// The SSE-KMS key stowage creates: symmetric, rotated yearly, named by an alias, with a key
/// policy that keeps the account's administrators in control and lets the uploader use it.
fn kms_key_resource(spec: &Spec, uploaders: &[UploaderShare]) -> DesiredResource {
    let environment = spec.environment.name.as_str();
    let mut key = KmsKeyAttributes {
        region: Some(spec.aws.region.as_str().to_owned()),
        description: Some(format!(
            "stowage: SSE-KMS key of bucket {} (environment {environment}), for Twilio Video",
            spec.bucket.name.as_str()
        )),
        alias: Some(format!("alias/stowage-{environment}")),
        enabled: Some(true),
        rotation_enabled: Some(true),
        bucket: Some(spec.bucket.name.as_str().to_owned()),
        ..KmsKeyAttributes::default()
    };
    let mut references = Vec::new();
    let mut depends_on = Vec::new();
    // Without an uploader the key keeps AWS's default key policy, which gives the account
    // (and so its administrators, through IAM) full control and nobody else anything. A
    // fleet's uploaders per subaccount are as many principals as members, past the key
    // policy's 32 KB: they are let in by their own IAM policies (which name the key), through
    // the account statement, like administrators.
    let one_uploader = uploaders.len() == 1 && uploaders[0].key.is_none();
    if spec.uploader.is_some() && one_uploader {
        let user =
            |attribute: &str| Reference { address: user_address(), attribute: attribute.to_owned(), fresh: false };
        let (arn, account) = (user("arn"), user("account_id"));
        key.policy = Some(kms_key_policy(
            spec.aws.region.partition(),
            &Template::placeholder(&account),
            Some(&Template::placeholder(&arn)),
        ));
        references = vec![arn, account];
        depends_on.push(user_address());
    }
    DesiredResource { address: kms_key_address(), attributes: desired(&key, &references), depends_on }
}

/// The key policy: the account's administrators keep full control (so the key can never
/// lock everyone out), and the uploader may use the key for uploads and nothing else.
pub fn kms_key_policy(partition: &str, account_id: &str, uploader_arn: Option<&str>) -> Value {
    let mut statements = vec![json!({
        "Sid": "AccountAdministrators",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:{partition}:iam::{account_id}:root")},
        "Action": "kms:*",
        "Resource": "*",
    })];
    if let Some(uploader_arn) = uploader_arn {
        statements.push(json!({
            "Sid": "TwilioVideoUploader",
            "Effect": "Allow",
            "Principal": {"AWS": uploader_arn},
            "Action": UPLOADER_KMS_ACTIONS,
            "Resource": "*",
        }));
    }
    stowage_provider::policy::canonical(&json!({"Version": "2012-10-17", "Statement": statements}))
}

fn bucket(spec: &Spec, kms_key: &KmsKey) -> DesiredResource {
    let mut lifecycle: Vec<LifecycleRule> = spec
        .bucket
        .lifecycle
        .iter()
        .map(|rule| LifecycleRule {
            prefix: rule.prefix.as_str().to_owned(),
            expire_after_days: Some(rule.expire_after_days),
            enabled: None,
        })
        .collect();
    // In one order, whatever the spec's: as a read lists them (by their JSON text).
    lifecycle.sort_by_key(|rule| serde_json::to_string(rule).unwrap_or_default());
    let bucket = S3Bucket {
        name: Some(spec.bucket.name.as_str().to_owned()),
        region: Some(spec.aws.region.as_str().to_owned()),
        versioning: Some(spec.bucket.versioning),
        block_public_access: Some(spec.bucket.block_public_access),
        object_ownership: Some("BucketOwnerEnforced".to_owned()),
        lifecycle: Some(lifecycle),
        tags: Some(spec.bucket.tags.clone()),
        sse_kms_key: kms_key.arn_text(),
        bucket_key_enabled: Some(*kms_key != KmsKey::None),
        sse_algorithm: None,
    };
    let depends_on = if *kms_key == KmsKey::Created { vec![kms_key_address()] } else { vec![] };
    DesiredResource { address: bucket_address(), attributes: desired(&bucket, &kms_key.references()), depends_on }
}

/// Where Twilio stores `storage` (recordings or compositions): the bucket and prefix, with the
/// credential; or Twilio's own cloud when the spec says so. Encrypted with `public_key`, the
/// customer's key Twilio holds, if there is one.
fn storage_settings(
    spec: &Spec,
    tenant: &Tenant,
    address: Address,
    storage: &StorageSpec,
    public_key: Option<Address>,
) -> DesiredResource {
    let credential_sid =
        Reference { address: tenant.at(credential_address()), attribute: "sid".to_owned(), fresh: false };
    let mut settings = StorageSettings {
        friendly_name: Some(format!("stowage {}", spec.environment.name.as_str())),
        aws_storage_enabled: Some(storage.store_in_s3),
        encryption_enabled: Some(false),
        ..StorageSettings::default()
    };
    let mut references = Vec::new();
    let mut depends_on = vec![bucket_address()];
    if storage.store_in_s3 {
        settings.aws_s3_url =
            Some(s3_url::build(spec.bucket.name.as_str(), spec.aws.region.as_str(), &tenant.prefix(storage)));
        settings.aws_credentials_sid = Some(Template::placeholder(&credential_sid));
        references.push(credential_sid);
        depends_on.push(tenant.at(credential_address()));
        if spec.uploader.is_some() {
            // Twilio's write test on activation needs the policy in place.
            depends_on.push(keyed(policy_address(), tenant.uploader.as_deref()));
        }
    }
    if let Some(public_key) = public_key {
        let key_sid = Reference { address: public_key.clone(), attribute: "sid".to_owned(), fresh: false };
        settings.encryption_enabled = Some(true);
        settings.encryption_key_sid = Some(Template::placeholder(&key_sid));
        references.push(key_sid);
        depends_on.push(public_key);
    }
    DesiredResource { address, attributes: desired(&settings, &references), depends_on }
}

/// The customer's RSA public key, held by Twilio to encrypt `kind` (client-side encryption).
/// Twilio never returns the key, so it is known by the fingerprint of its DER: a new PEM is a
/// new credential. The spec's PEMs must have been loaded (`stowage_spec::load_public_keys`).
fn public_key_resource(
    spec: &Spec,
    tenant: &Tenant,
    kind: &str,
    public_key: &stowage_spec::EncryptionPublicKey,
) -> DesiredResource {
    let pem = public_key.pem.as_ref();
    let key = TwilioPublicKey {
        public_key_sha256: pem.map(|pem| pem.sha256().to_owned()),
        public_key: pem.map(|pem| pem.pem().to_owned()),
        account_sid: Some(tenant.account_sid.clone()),
        friendly_name: Some(format!("stowage {} {kind}", spec.environment.name.as_str())),
        sid: None,
    };
    DesiredResource { address: tenant.at(public_key_address(kind)), attributes: desired(&key, &[]), depends_on: vec![] }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reference names a resource the spec asks for and an attribute its type has: the
    /// names of the resource's own attributes are its typed struct's, checked by the compiler,
    /// and these are checked here.
    #[test]
    fn references_name_attributes_their_targets_have() {
        let text = r#"
[environment]
name = "dev"
[aws]
region = "eu-west-1"
[twilio]
account_sid = "AC0123456789abcdef0123456789abcdef"
[bucket]
name = "acme-video-dev"
encryption = { kms_key = "create" }
[uploader]
user_name = "twilio-uploader"
[recordings]
store_in_s3 = true
prefix = "recordings/"
[compositions]
store_in_s3 = true
prefix = "compositions/"
"#;
        let spec = stowage_spec::parse("dev.toml", text).unwrap_or_else(|errors| panic!("{errors}")).spec;
        let resources = desired_resources(&spec);
        let mut references = Vec::new();
        for resource in &resources {
            for value in resource.attributes.values() {
                match value {
                    DesiredValue::Known(_) => {}
                    DesiredValue::Reference(reference) => references.push(reference.clone()),
                    DesiredValue::Template(template) => references.extend(template.references.iter().cloned()),
                }
            }
        }
        assert_eq!(references.len(), 8, "{references:#?}");
        for reference in references {
            assert!(resources.iter().any(|resource| resource.address == reference.address), "{reference:?}");
            let schema = reference.address.resource_type.schema();
            assert!(schema.attribute(&reference.attribute).is_some(), "{reference:?}");
        }
    }

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
