//! What the planner needs to know about each resource type: its attributes, which of them
//! force a replacement, how each is compared, how a replacement is ordered, how its objects
//! come to exist and go, and what it means for recordings when one drifts.
//!
//! This is the provider contract written as data: the planner, the engine and the drift report
//! are generic over it, and each type's schema lives in its own file under [`crate::types`].

use serde_json::Value;

use crate::address::{ProviderName, ResourceType};

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

/// How an object of a type comes to exist and goes, which decides what the planner may take
/// over and what the engine guards against losing. One enum, so that no meaningless
/// combination (a singleton that records an intent, say) can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Always exists (Twilio's storage settings): never created or deleted, only configured,
    /// so an object found unrecorded is simply adopted; "delete" switches it back off, and the
    /// boolean attribute `switch` says whether it is on.
    Singleton { switch: &'static str },
    /// Lives inside a managed parent and is found by its natural key (the uploader's inline
    /// policy): adopted when found unrecorded, and its create cannot be lost.
    InsideParent,
    /// Made by stowage's create. One found unrecorded may be someone else's, so it is never
    /// taken over; and the create could be lost with the process that sent it, so the engine
    /// writes an intent into the state first and the next refresh looks for what it left
    /// (`Provider::find_leftovers`).
    Created { found_by: FoundBy, leftover: Leftover },
    /// Never in a spec: made by hand before stowage managed the environment, and replaced by
    /// what stowage makes in its stead (the guide's managed policy, attached to the uploader,
    /// which stowage's inline policy replaces). `import` finds such objects
    /// among the children of a found `parent`: the provider's `find_leftovers`, asked with the
    /// attribute `link` set to the parent's `parent_key`. It records each at an address named
    /// after its `named_by` attribute; the plan that follows removes them, after everything it
    /// creates and updates.
    Superseded { parent: ResourceType, parent_key: &'static str, link: &'static str, named_by: &'static str },
}

/// How what an interrupted create left is found again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    /// By the intent's marker, which the create puts in a tag, description or name (a KMS key,
    /// a Twilio credential).
    Marker,
    /// By the name the intent recorded (a bucket, a user).
    Name,
    /// Among its parent's children, by creation time (an access key among its user's keys).
    Parent,
}

/// What becomes of an object an interrupted create left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover {
    /// It is recorded: nothing of it was lost (a bucket or user, found again by name).
    Adopt,
    /// It is deleted: something only the create's answer held is gone (an access key's secret,
    /// or a Twilio credential holding such a key).
    Delete,
}

impl Lifecycle {
    pub fn is_singleton(self) -> bool {
        matches!(self, Lifecycle::Singleton { .. })
    }

    /// An object found by its natural key but not recorded in the state may be taken over.
    pub fn adopts_unrecorded(self) -> bool {
        matches!(self, Lifecycle::Singleton { .. } | Lifecycle::InsideParent)
    }

    /// Whether a create is recorded as an intent before it is sent.
    pub fn records_intent(self) -> bool {
        matches!(self, Lifecycle::Created { .. })
    }

    /// Whether what an interrupted create left is recorded rather than deleted.
    pub fn adopts_leftovers(self) -> bool {
        matches!(self, Lifecycle::Created { leftover: Leftover::Adopt, .. })
    }

    /// Whether an object can be made anew without losing anything it holds (keys and
    /// credentials, whose leftovers are deleted too): the only objects replaced on request or
    /// tainted by an import.
    pub fn replaceable_without_loss(self) -> bool {
        matches!(self, Lifecycle::Created { leftover: Leftover::Delete, .. })
    }

    /// Whether the create puts the intent's marker on the object.
    pub fn carries_marker(self) -> bool {
        matches!(self, Lifecycle::Created { found_by: FoundBy::Marker, .. })
    }

    /// Whether a singleton's observed attributes say it is switched on (always true for the
    /// other lifecycles, which exist or not).
    pub fn is_on(self, attributes: &crate::Attributes) -> bool {
        match self {
            Lifecycle::Singleton { switch } => attributes.get(switch).and_then(Value::as_bool).unwrap_or(false),
            Lifecycle::InsideParent | Lifecycle::Created { .. } | Lifecycle::Superseded { .. } => true,
        }
    }
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
    /// A read accepts this attribute's value as the object's id (a credential's SID, a KMS
    /// key's ARN, a bucket's name): a reference to it names the object, so what refers to it
    /// leads to it (how `import` follows the settings to the credential they point at).
    pub identifies: bool,
}

impl AttributeSchema {
    /// Whether the attribute takes part in comparing desired with observed (and recorded with
    /// observed): what the spec sets and the service reports.
    pub fn is_compared(&self) -> bool {
        !self.computed && self.comparison != Comparison::NotCompared
    }
}

/// An identity attribute the service never lets change while the object keeps its name, and
/// whose name cannot be reused while it exists (a bucket's region): a replacement could never
/// be applied, so the plan refuses it.
#[derive(Debug, Clone, Copy)]
pub struct Immovable {
    pub attribute: &'static str,
    /// The attribute whose change makes it a different object after all (the bucket's name).
    pub unless: &'static str,
    /// What to tell, from the object's id and the attribute's value found and wanted:
    /// `(message, hint)`.
    pub refusal: fn(id: &str, from: &str, to: &str) -> (String, String),
}

/// How bad a piece of drift is for recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Harm {
    /// Recordings are (or may be) lost or exposed.
    Critical,
    /// Something the spec asked for no longer holds, without loss.
    Warning,
}

/// One attribute found different from what the state recorded.
#[derive(Debug, Clone, Copy)]
pub struct AttributeDrift<'a> {
    pub resource_type: ResourceType,
    pub name: &'a str,
    /// What the state recorded (null when nothing).
    pub expected: &'a Value,
    /// What was found (null when nothing).
    pub actual: &'a Value,
}

/// What drift of an object of this type means for recordings, in a sentence a person on call
/// can act on.
#[derive(Debug, Clone, Copy)]
pub struct DriftMeaning {
    /// The object was deleted outside stowage (always critical: each piece is needed to store
    /// recordings).
    pub deleted: &'static str,
    /// An attribute changed: how bad, and why. `None` means a plain warning that it differs.
    pub attribute: fn(&AttributeDrift<'_>) -> Option<(Harm, String)>,
}

impl DriftMeaning {
    /// For types whose attribute drift has no particular meaning.
    pub fn plain(_: &AttributeDrift<'_>) -> Option<(Harm, String)> {
        None
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ResourceSchema {
    pub resource_type: ResourceType,
    /// The type's name in addresses, the state and plan JSON (`aws_s3_bucket`).
    pub name: &'static str,
    pub provider: ProviderName,
    /// What a person calls it (`bucket`, `IAM user`).
    pub noun: &'static str,
    pub attributes: &'static [AttributeSchema],
    pub replace_order: ReplaceOrder,
    pub lifecycle: Lifecycle,
    /// What a plan that deletes such an object must tell the reader, when its delete is not
    /// what the word suggests (a KMS key's deletion is only scheduled): `(message, hint)`.
    pub delete_notice: Option<(&'static str, &'static str)>,
    pub immovable: Option<Immovable>,
    /// Whether objects of this type age out (an access key): the plan replaces one older than
    /// the spec says.
    pub rotation: Option<Rotation>,
    /// How many objects of this type one parent may hold (IAM: two access keys per user): a
    /// plan that would make one more where objects stowage does not record fill the quota is
    /// refused before any write.
    pub max_per_parent: Option<usize>,
    /// Whether its objects hold what others put there and nobody else has a copy of (a bucket's
    /// recordings): destroy asks the provider what one holds
    /// ([`crate::Provider::contents`]) and keeps it, and what it needs to be read, when it
    /// holds anything.
    pub holds_data: bool,
    pub drift: DriftMeaning,
}

/// How a type's objects are rotated: the desired attribute `after_days` (a number of days) and
/// the observed attribute `created_at` (an RFC 3339 timestamp) say when one is due.
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    pub after_days: &'static str,
    pub created_at: &'static str,
}

impl ResourceSchema {
    pub fn attribute(&self, name: &str) -> Option<&'static AttributeSchema> {
        self.attributes.iter().find(|attribute| attribute.name == name)
    }

    /// The attributes compared between desired, recorded and observed, in schema order.
    pub fn compared(&self) -> impl Iterator<Item = &'static AttributeSchema> + use<> {
        self.attributes.iter().filter(|attribute| attribute.is_compared())
    }

    /// Where an attribute stands in the schema, so every render lists attributes in one order
    /// (unknown names last).
    pub fn position(&self, name: &str) -> usize {
        self.attributes.iter().position(|attribute| attribute.name == name).unwrap_or(usize::MAX)
    }
}

/// Building blocks for the schemas in [`crate::types`].
pub(crate) mod build {
    use super::{AttributeSchema, Comparison};

    pub(crate) const fn attr(name: &'static str) -> AttributeSchema {
        AttributeSchema {
            name,
            forces_replacement: false,
            comparison: Comparison::Exact,
            computed: false,
            derived_from: &[],
            identifies: false,
        }
    }

    pub(crate) const fn identity(name: &'static str) -> AttributeSchema {
        AttributeSchema { forces_replacement: true, ..attr(name) }
    }

    pub(crate) const fn computed(name: &'static str) -> AttributeSchema {
        AttributeSchema { computed: true, ..attr(name) }
    }

    /// A computed attribute a read accepts as the object's id (a SID, an ARN, an access key id).
    pub(crate) const fn id(name: &'static str) -> AttributeSchema {
        AttributeSchema { identifies: true, ..computed(name) }
    }

    /// An identity attribute (see [`identity`]) that is also the object's id (a bucket's or a
    /// user's name).
    pub(crate) const fn natural_id(name: &'static str) -> AttributeSchema {
        AttributeSchema { identifies: true, ..identity(name) }
    }

    /// A computed attribute made from others of the same resource.
    pub(crate) const fn computed_from(name: &'static str, derived_from: &'static [&'static str]) -> AttributeSchema {
        AttributeSchema { computed: true, derived_from, ..attr(name) }
    }

    pub(crate) const fn compared(name: &'static str, comparison: Comparison) -> AttributeSchema {
        AttributeSchema { comparison, ..attr(name) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_names_its_own_type() {
        for ty in ResourceType::ALL {
            assert_eq!(ty.schema().resource_type, ty);
            assert_eq!(ty.schema().name, ty.as_str());
        }
    }

    #[test]
    fn creates_whose_result_could_be_lost_record_an_intent() {
        let recording: Vec<ResourceType> =
            ResourceType::ALL.into_iter().filter(|ty| ty.schema().lifecycle.records_intent()).collect();
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

    #[test]
    fn the_attributes_a_read_accepts_as_the_id() {
        let identifying: Vec<String> = ResourceType::ALL
            .into_iter()
            .flat_map(|ty| {
                ty.schema()
                    .attributes
                    .iter()
                    .filter(|attribute| attribute.identifies)
                    .map(move |attribute| format!("{}.{}", ty.as_str(), attribute.name))
            })
            .collect();
        assert_eq!(
            identifying,
            [
                "aws_kms_key.arn",
                "aws_s3_bucket.name",
                "aws_iam_user.name",
                "aws_iam_access_key.access_key_id",
                "twilio_aws_credential.sid",
                "twilio_public_key.sid"
            ]
        );
    }

    #[test]
    fn only_objects_found_by_marker_carry_one() {
        let marked: Vec<ResourceType> =
            ResourceType::ALL.into_iter().filter(|ty| ty.schema().lifecycle.carries_marker()).collect();
        assert_eq!(marked, [ResourceType::KmsKey, ResourceType::TwilioAwsCredential, ResourceType::TwilioPublicKey]);
    }
}
