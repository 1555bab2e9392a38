//! The resource types, one file each: the type's schema (what the planner, the engine and the
//! drift report know of it) and its typed attributes (what its provider reads and writes).
//!
//! Adding a type is a file here, a line in [`resource_types!`] below, and its provider's file
//! (see ARCHITECTURE.md, "Adding a resource type").

mod iam_access_key;
mod iam_user;
mod iam_user_policy;
mod iam_user_policy_attachment;
mod kms_key;
mod s3_bucket;
mod storage_settings;
mod twilio_aws_credential;
mod twilio_public_key;

pub use iam_access_key::IamAccessKey;
pub use iam_user::IamUser;
pub use iam_user_policy::IamUserPolicy;
pub use iam_user_policy_attachment::IamUserPolicyAttachment;
pub use kms_key::KmsKey;
pub use s3_bucket::{LifecycleRule, S3Bucket};
pub use storage_settings::StorageSettings;
pub use twilio_aws_credential::TwilioAwsCredential;
pub use twilio_public_key::TwilioPublicKey;

use serde::{Deserialize, Deserializer};

use crate::schema::ResourceSchema;

/// For an attribute that may be absent, null or set (`Option<Option<T>>`): a null read is
/// `Some(None)`, which serde alone would make `None`, absent.
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The one registration of every type: its variant and its schema, in dependency order (the
/// order plans list resources in).
macro_rules! resource_types {
    ($($(#[$doc:meta])* $variant:ident => $schema:path),+ $(,)?) => {
        /// Every kind of resource stowage manages, in dependency order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ResourceType {
            $($(#[$doc])* $variant),+
        }

        impl ResourceType {
            pub const ALL: [ResourceType; [$(stringify!($variant)),+].len()] = [$(ResourceType::$variant),+];

            pub fn schema(self) -> &'static ResourceSchema {
                match self {
                    $(ResourceType::$variant => &$schema),+
                }
            }
        }
    };
}

resource_types! {
    /// `aws_kms_key`: the bucket's SSE-KMS key.
    KmsKey => kms_key::SCHEMA,
    /// `aws_s3_bucket`: where Twilio stores.
    S3Bucket => s3_bucket::SCHEMA,
    /// `aws_iam_user`: the uploader.
    IamUser => iam_user::SCHEMA,
    /// `aws_iam_user_policy`: what the uploader may do.
    IamUserPolicy => iam_user_policy::SCHEMA,
    /// `aws_iam_user_policy_attachment`: a managed policy attached by hand, which the inline
    /// policy replaces.
    IamUserPolicyAttachment => iam_user_policy_attachment::SCHEMA,
    /// `aws_iam_access_key`: the key Twilio writes with.
    IamAccessKey => iam_access_key::SCHEMA,
    /// `twilio_aws_credential`: that key, stored in Twilio.
    TwilioAwsCredential => twilio_aws_credential::SCHEMA,
    /// `twilio_public_key`: the key Twilio encrypts recordings with.
    TwilioPublicKey => twilio_public_key::SCHEMA,
    /// `twilio_video_recording_settings`: where Twilio stores recordings.
    TwilioRecordingSettings => storage_settings::RECORDINGS,
    /// `twilio_video_composition_settings`: where Twilio stores compositions.
    TwilioCompositionSettings => storage_settings::COMPOSITIONS,
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeSet;

    use serde::Serialize;

    use super::*;
    use crate::resource::encode;

    /// The attribute names a typed value writes, when every field is set.
    fn written<T: Serialize>(full: &T) -> BTreeSet<String> {
        encode(full).into_keys().collect()
    }

    fn schema_names(resource_type: ResourceType) -> BTreeSet<String> {
        resource_type.schema().attributes.iter().map(|attribute| attribute.name.to_owned()).collect()
    }

    /// The typed attributes and the schema name the same attributes: the names providers use
    /// are checked by the compiler, and the schema's by this test.
    #[test]
    fn typed_attributes_are_the_schema_attributes() {
        assert_eq!(written(&kms_key::full()), schema_names(ResourceType::KmsKey));
        assert_eq!(written(&s3_bucket::full()), schema_names(ResourceType::S3Bucket));
        assert_eq!(written(&iam_user::full()), schema_names(ResourceType::IamUser));
        assert_eq!(written(&iam_user_policy::full()), schema_names(ResourceType::IamUserPolicy));
        assert_eq!(written(&iam_user_policy_attachment::full()), schema_names(ResourceType::IamUserPolicyAttachment));
        assert_eq!(written(&iam_access_key::full()), schema_names(ResourceType::IamAccessKey));
        assert_eq!(written(&twilio_aws_credential::full()), schema_names(ResourceType::TwilioAwsCredential));
        assert_eq!(written(&twilio_public_key::full()), schema_names(ResourceType::TwilioPublicKey));
        assert_eq!(written(&storage_settings::full()), schema_names(ResourceType::TwilioRecordingSettings));
        assert_eq!(written(&storage_settings::full()), schema_names(ResourceType::TwilioCompositionSettings));
    }
}
