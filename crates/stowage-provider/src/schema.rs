//! What the planner needs to know about each resource type: its attributes, which of them
//! force a replacement, how each is compared, and how a replacement is ordered.
//!
//! This is the provider contract written as data: the planner is generic over it, and each
//! provider implements the attributes listed here, no more.

use crate::address::ResourceType;

/// How two values of an attribute are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// JSON equality.
    Exact,
    /// IAM policy documents, by meaning: statement order, single values versus lists,
    /// action case and `Sid` do not matter (see [`crate::policy`]).
    PolicyDocument,
    /// Twilio `AwsS3Url`: the `s3-REGION` and `s3.REGION` host forms are the same URL, and so
    /// are a missing and a present trailing slash.
    S3Url,
    /// An input to the create only, never compared with what exists (the targets of the
    /// access key's write test).
    NotCompared,
}

/// When a resource must be replaced, which half comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaceOrder {
    /// Create the new object, repoint what depends on it, then delete the old one
    /// (access keys and Twilio credentials: Twilio keeps writing with the old one meanwhile).
    CreateBeforeDestroy,
    /// Delete first (when two objects with the same identity cannot coexist).
    DestroyBeforeCreate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeSchema {
    pub name: &'static str,
    /// A change cannot be applied in place: the resource is replaced.
    pub forces_replacement: bool,
    pub comparison: Comparison,
    /// Set by the service, never by the spec (an ARN, a creation date): shown, never compared.
    pub computed: bool,
    /// For a computed attribute, the attributes it is made from: an update that changes one of
    /// them changes it too (an IAM user's ARN holds its path), so what refers to it is known
    /// only after that update.
    pub derived_from: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSchema {
    pub resource_type: ResourceType,
    pub attributes: &'static [AttributeSchema],
    pub replace_order: ReplaceOrder,
    /// A singleton that always exists (Twilio's settings): it is never created or deleted, only
    /// configured, so an observed object that is not in the state is simply adopted; "delete"
    /// means switching it back off.
    pub singleton: bool,
    /// An object found by its natural key but not recorded in the state may be taken over.
    /// True for singletons and for things that live inside a managed parent (the inline policy
    /// of the managed user); false for buckets and users, which may belong to someone else.
    pub adopt_unrecorded: bool,
    /// Whether a create lost with the process that sent it would leave something behind that
    /// the next run cannot deal with on its own: an access key (its secret is only in the
    /// create's answer), a Twilio credential or public key (found by no natural key), a bucket
    /// or user (found by name, but refused as "someone else's" when unrecorded). For these the
    /// engine writes an intent into the state before the create, and the next refresh asks the
    /// provider for what an interrupted create left (`Provider::find_leftovers`).
    pub records_intent: bool,
    /// What to do with an object an interrupted create left: record it (`true`: nothing of it
    /// was lost, e.g. a bucket or a user, found again by name) or delete it (`false`: an access
    /// key whose secret is gone, a Twilio credential holding such a key).
    pub adopt_leftovers: bool,
    /// What a plan that deletes such an object must tell the reader, when its delete is not
    /// what the word suggests (a KMS key's deletion is only scheduled): `(message, hint)`.
    pub delete_notice: Option<(&'static str, &'static str)>,
}

impl ResourceSchema {
    pub fn attribute(&self, name: &str) -> Option<&'static AttributeSchema> {
        self.attributes.iter().find(|attribute| attribute.name == name)
    }
}

const fn attr(name: &'static str) -> AttributeSchema {
    AttributeSchema {
        name,
        forces_replacement: false,
        comparison: Comparison::Exact,
        computed: false,
        derived_from: &[],
    }
}

const fn identity(name: &'static str) -> AttributeSchema {
    AttributeSchema {
        name,
        forces_replacement: true,
        comparison: Comparison::Exact,
        computed: false,
        derived_from: &[],
    }
}

const fn computed(name: &'static str) -> AttributeSchema {
    AttributeSchema {
        name,
        forces_replacement: false,
        comparison: Comparison::Exact,
        computed: true,
        derived_from: &[],
    }
}

/// A computed attribute made from others of the same resource.
const fn computed_from(name: &'static str, derived_from: &'static [&'static str]) -> AttributeSchema {
    AttributeSchema { name, forces_replacement: false, comparison: Comparison::Exact, computed: true, derived_from }
}

const fn compared(name: &'static str, comparison: Comparison) -> AttributeSchema {
    AttributeSchema { name, forces_replacement: false, comparison, computed: false, derived_from: &[] }
}

static KMS_KEY: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::KmsKey,
    attributes: &[
        identity("region"),
        attr("description"),
        attr("alias"),
        attr("enabled"),
        attr("rotation_enabled"),
        compared("policy", Comparison::PolicyDocument),
        // The bucket the key encrypts: deleting the key is refused while that bucket uses it.
        compared("bucket", Comparison::NotCompared),
        computed("arn"),
    ],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    singleton: false,
    adopt_unrecorded: false,
    records_intent: true,
    adopt_leftovers: true,
    delete_notice: Some((
        "the KMS key is not deleted now: its deletion is scheduled for 30 days after apply, the longest \
         window AWS allows; objects encrypted with it become unreadable then",
        "to keep the key, cancel the deletion within those 30 days: `aws kms cancel-key-deletion --key-id KEY_ID`",
    )),
};

static S3_BUCKET: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::S3Bucket,
    attributes: &[
        identity("name"),
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
    singleton: false,
    adopt_unrecorded: false,
    records_intent: true,
    adopt_leftovers: true,
    delete_notice: None,
};

static IAM_USER: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::IamUser,
    // `arn:PARTITION:iam::ACCOUNT:user/PATH/NAME`: a new path is a new ARN.
    attributes: &[
        identity("name"),
        attr("path"),
        attr("tags"),
        computed_from("arn", &["path"]),
        computed("account_id"),
    ],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    singleton: false,
    adopt_unrecorded: false,
    records_intent: true,
    adopt_leftovers: true,
    delete_notice: None,
};

static IAM_USER_POLICY: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::IamUserPolicy,
    attributes: &[identity("user_name"), identity("policy_name"), compared("document", Comparison::PolicyDocument)],
    // Replaced only when its user or name changes, so the new policy is a different object:
    // create it first, and Twilio's uploader is never without permission in between.
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    singleton: false,
    adopt_unrecorded: true,
    records_intent: false,
    adopt_leftovers: false,
    delete_notice: None,
};

static IAM_ACCESS_KEY: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::IamAccessKey,
    attributes: &[
        identity("user_name"),
        attr("status"),
        compared("write_test", Comparison::NotCompared),
        computed("access_key_id"),
    ],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    singleton: false,
    adopt_unrecorded: false,
    records_intent: true,
    adopt_leftovers: false,
    delete_notice: None,
};

static TWILIO_AWS_CREDENTIAL: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::TwilioAwsCredential,
    attributes: &[identity("access_key_id"), identity("account_sid"), attr("friendly_name"), computed("sid")],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    singleton: false,
    adopt_unrecorded: false,
    records_intent: true,
    adopt_leftovers: false,
    delete_notice: None,
};

static TWILIO_PUBLIC_KEY: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::TwilioPublicKey,
    attributes: &[
        // Twilio never returns the key: the state remembers which one a credential holds, by
        // its fingerprint, and a different PEM means a new credential.
        identity("public_key_sha256"),
        identity("account_sid"),
        compared("public_key", Comparison::NotCompared),
        attr("friendly_name"),
        computed("sid"),
    ],
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    singleton: false,
    adopt_unrecorded: false,
    records_intent: true,
    adopt_leftovers: false,
    delete_notice: None,
};

const STORAGE_SETTINGS: &[AttributeSchema] = &[
    attr("friendly_name"),
    attr("aws_storage_enabled"),
    compared("aws_s3_url", Comparison::S3Url),
    attr("aws_credentials_sid"),
    attr("encryption_enabled"),
    attr("encryption_key_sid"),
];

static TWILIO_RECORDING_SETTINGS: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::TwilioRecordingSettings,
    attributes: STORAGE_SETTINGS,
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    singleton: true,
    adopt_unrecorded: true,
    records_intent: false,
    adopt_leftovers: false,
    delete_notice: None,
};

static TWILIO_COMPOSITION_SETTINGS: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::TwilioCompositionSettings,
    attributes: STORAGE_SETTINGS,
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    singleton: true,
    adopt_unrecorded: true,
    records_intent: false,
    adopt_leftovers: false,
    delete_notice: None,
};

pub(crate) fn of(resource_type: ResourceType) -> &'static ResourceSchema {
    match resource_type {
        ResourceType::KmsKey => &KMS_KEY,
        ResourceType::S3Bucket => &S3_BUCKET,
        ResourceType::IamUser => &IAM_USER,
        ResourceType::IamUserPolicy => &IAM_USER_POLICY,
        ResourceType::IamAccessKey => &IAM_ACCESS_KEY,
        ResourceType::TwilioAwsCredential => &TWILIO_AWS_CREDENTIAL,
        ResourceType::TwilioPublicKey => &TWILIO_PUBLIC_KEY,
        ResourceType::TwilioRecordingSettings => &TWILIO_RECORDING_SETTINGS,
        ResourceType::TwilioCompositionSettings => &TWILIO_COMPOSITION_SETTINGS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_names_its_own_type() {
        for ty in ResourceType::ALL {
            assert_eq!(ty.schema().resource_type, ty);
        }
    }

    #[test]
    fn creates_whose_result_could_be_lost_record_an_intent() {
        let recording: Vec<ResourceType> =
            ResourceType::ALL.into_iter().filter(|ty| ty.schema().records_intent).collect();
        assert_eq!(
            recording,
            [
                ResourceType::KmsKey,
                ResourceType::S3Bucket,
                ResourceType::IamUser,
                ResourceType::IamAccessKey,
                ResourceType::TwilioAwsCredential,
                ResourceType::TwilioPublicKey
            ]
        );
    }
}
