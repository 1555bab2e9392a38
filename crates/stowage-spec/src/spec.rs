//! The validated spec: what one environment asks for, every value already checked.

use std::collections::BTreeMap;

use crate::source::SpecSource;
use crate::values::{
    AccountSid, BucketName, Encryption, EnvironmentName, IamPath, IamUserName, IgnoreRule, Prefix, PublicKeyPem, Region,
};

/// One environment's desired setup, validated. `source` lets later stages point back at the
/// keys that asked for something: `spec.source.span_of("bucket.name")`.
#[derive(Debug, Clone)]
pub struct Spec {
    pub environment: Environment,
    pub aws: AwsSettings,
    pub twilio: Option<TwilioSettings>,
    /// `[fleet]`: the settings are for the `[twilio]` account's subaccounts. Then `[twilio]`
    /// and `[uploader]` are present and every stored prefix holds
    /// [`Prefix::ACCOUNT_SID_PLACEHOLDER`]; without it no prefix does.
    pub fleet: Option<Fleet>,
    pub bucket: BucketSpec,
    pub uploader: Option<Uploader>,
    pub recordings: Option<StorageSpec>,
    pub compositions: Option<StorageSpec>,
    pub drift: DriftSettings,
    /// `[state]`: where the state is kept; `None` (or `backend = "local"`): beside the spec.
    pub state: Option<RemoteState>,
    pub source: SpecSource,
}

/// `[environment]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub name: EnvironmentName,
    /// `prevent_destroy`: `stowage destroy` is refused before any call.
    pub prevent_destroy: bool,
}

/// `[aws]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: Region,
    /// A named profile; `None` uses the standard credential chain.
    pub profile: Option<String>,
}

/// `[twilio]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioSettings {
    pub account_sid: AccountSid,
}

/// `[fleet]`: one spec for the main account's Twilio subaccounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    pub subaccounts: FleetMembers,
    /// Never managed, even when listed or active.
    pub exclude: Vec<AccountSid>,
    pub uploader: UploaderMode,
}

/// `subaccounts`: which subaccounts of the main account are managed (less `exclude`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetMembers {
    /// `"all"`: every active subaccount.
    All,
    /// These subaccounts: not empty, no duplicates, not the main account, none excluded.
    Listed(Vec<AccountSid>),
}

/// `uploader`: who Twilio writes with for each subaccount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploaderMode {
    /// `"per-subaccount"` (the default): an IAM user and access key per subaccount, named by
    /// [`Uploader::user_name_for`].
    PerSubaccount,
    /// `"shared"`: the `[uploader]` user and its one access key for every subaccount.
    Shared,
}

impl Fleet {
    /// Whether `account_sid`, a subaccount of the main account (active, for `All`), is
    /// managed: a member and not excluded.
    pub fn manages(&self, account_sid: &AccountSid) -> bool {
        let member = match &self.subaccounts {
            FleetMembers::All => true,
            FleetMembers::Listed(listed) => listed.contains(account_sid),
        };
        member && !self.exclude.contains(account_sid)
    }
}

/// `[bucket]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSpec {
    pub name: BucketName,
    /// Default `false`.
    pub versioning: bool,
    /// Default `true`.
    pub block_public_access: bool,
    pub tags: BTreeMap<String, String>,
    /// No two rules share a prefix.
    pub lifecycle: Vec<LifecycleRule>,
    /// `None` keeps S3's default encryption.
    pub encryption: Option<Encryption>,
}

/// `[[bucket.lifecycle]]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    pub prefix: Prefix,
    /// At least 1.
    pub expire_after_days: u32,
}

/// `[uploader]`: the IAM user Twilio writes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploader {
    pub user_name: IamUserName,
    /// Default `/`.
    pub path: IamPath,
    /// `rotate_after_days`: the key is replaced once it is this many days old (1 to 3650).
    pub rotate_after_days: Option<u32>,
}

impl Uploader {
    /// The longest `user_name` with `[fleet] uploader = "per-subaccount"`: IAM's 64 characters
    /// less `-` and an account SID's 34.
    pub const MAX_PER_SUBACCOUNT_USER_NAME: usize = 64 - 1 - 34;

    /// The IAM user one subaccount writes with under `uploader = "per-subaccount"`:
    /// `{user_name}-{account_sid}`.
    pub fn user_name_for(&self, account_sid: &str) -> String {
        format!("{}-{account_sid}", self.user_name)
    }
}

/// `[recordings]` or `[compositions]`. When both are stored in S3 their prefixes do not
/// overlap, and `[uploader]` and `[twilio]` are present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSpec {
    pub store_in_s3: bool,
    /// Default `recordings/` or `compositions/`.
    pub prefix: Prefix,
    /// `encryption_public_key`: Twilio encrypts each file with this key before uploading it.
    /// Only with `store_in_s3 = true`.
    pub encryption_public_key: Option<EncryptionPublicKey>,
}

/// `encryption_public_key = "keys/recordings.pem"`: the file as the spec names it, and the
/// key read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionPublicKey {
    /// The path as written in the spec (not empty), relative to the spec file's directory
    /// unless absolute.
    pub path: String,
    /// The checked key: `None` after [`crate::parse`], which does no IO; set by
    /// [`crate::load_public_keys`].
    pub pem: Option<PublicKeyPem>,
}

/// `[state] backend = "s3"`: the state object every machine shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteState {
    pub bucket: BucketName,
    /// Not empty, not starting or ending with `/`.
    pub key: String,
    /// `None`: the `[aws]` region.
    pub region: Option<Region>,
    /// SSE-KMS for the state object; `None`: the bucket's default encryption.
    pub kms_key: Option<String>,
}

/// `[drift]`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriftSettings {
    pub ignore: Vec<IgnoreRule>,
}
