//! The spec file's shape as serde types: the one source of truth for which keys exist, their
//! types and defaults. The JSON Schema is generated from these types (doc comments become the
//! descriptions editors show) and the structural check walks that schema; the values' finer
//! rules live in the validated newtypes (`crate::values`), which give better messages.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use schemars::JsonSchema;
use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lint::Lint;

/// One environment: an S3 bucket, the IAM user Twilio writes into it with, and the Twilio
/// Video settings that store recordings and compositions there.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "stowage environment spec")]
// Only the schema is generated from the whole file: sections are deserialized one by one so
// that a problem in one does not hide the problems in the others.
#[expect(dead_code, reason = "only the schema is generated from the whole file")]
pub(crate) struct SpecFile {
    /// The path of a base spec this file is written over, relative to this file's directory:
    /// its tables merge with the base's key by key, and any other value written here (arrays
    /// included) replaces the base's. A base may extend another; a cycle is an error.
    #[serde(default)]
    #[schemars(length(min = 1), example = &"base.toml")]
    extends: Option<String>,
    environment: EnvironmentSection,
    aws: AwsSection,
    #[serde(default)]
    twilio: Option<TwilioSection>,
    #[serde(default)]
    fleet: Option<FleetSection>,
    bucket: BucketSection,
    #[serde(default)]
    uploader: Option<UploaderSection>,
    #[serde(default)]
    recordings: Option<RecordingsSection>,
    #[serde(default)]
    compositions: Option<CompositionsSection>,
    #[serde(default)]
    drift: Option<DriftSection>,
    #[serde(default)]
    state: Option<StateSection>,
    #[serde(default)]
    lints: Option<LintsSection>,
}

/// Which environment this file describes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvironmentSection {
    /// The environment's name, used in resource names and tags: 1 to 32 lowercase letters,
    /// digits and hyphens, starting with a letter or digit.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]{0,31}$"), example = &"dev")]
    pub name: String,
    /// Refuse `stowage destroy` (and `plan --destroy`) for this environment, before any call.
    #[serde(default)]
    pub prevent_destroy: bool,
}

/// Where the bucket lives and how to reach AWS.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AwsSection {
    /// The AWS region code of the bucket (and of its KMS key); also the region in the S3 URL
    /// Twilio writes to.
    #[schemars(pattern(r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$"), example = &"us-east-2")]
    pub region: String,
    /// A named profile from the AWS config files; without it the standard credential chain is
    /// used.
    #[serde(default)]
    #[schemars(length(min = 1), example = &"video-dev")]
    pub profile: Option<String>,
}

/// The Twilio account whose recordings and compositions are stored. Credentials come from the
/// environment: `TWILIO_API_KEY` and `TWILIO_API_SECRET`, or `TWILIO_ACCOUNT_SID` and
/// `TWILIO_AUTH_TOKEN`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TwilioSection {
    /// The account SID: `AC` followed by 32 lowercase hexadecimal digits.
    #[schemars(pattern(r"^AC[0-9a-f]{32}$"), example = &"AC0123456789abcdef0123456789abcdef")]
    pub account_sid: String,
}

/// Fleet mode: one spec for the subaccounts of the `[twilio]` account (the main account). Each
/// managed subaccount gets the recording and composition settings of this file, stores under
/// its own prefix (`{account_sid}` in the stored prefixes stands for its SID) and writes with
/// the `[uploader]` user or a user of its own.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FleetSection {
    // Described on its type, where the structural check finds the description and example.
    pub subaccounts: SubaccountsEntry,
    /// Subaccount SIDs never managed, even when listed or active.
    #[serde(default)]
    #[schemars(inner(pattern(r"^AC[0-9a-f]{32}$")), example = fleet_exclude_example())]
    pub exclude: Vec<String>,
    /// `per-subaccount`: each subaccount writes with an IAM user and access key of its own,
    /// named `USER_NAME-ACCOUNT_SID` after `[uploader] user_name` (which is then at most 29
    /// characters); `shared`: one IAM user and access key for all of them.
    #[serde(default)]
    pub uploader: UploaderModeEntry,
}

fn fleet_exclude_example() -> [&'static str; 1] {
    ["AC00000000000000000000000000000001"]
}

/// The subaccounts to manage: `"all"` for every active subaccount of the main account, or a
/// list of subaccount SIDs (`AC` followed by 32 lowercase hexadecimal digits).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(example = &"all")]
pub(crate) enum SubaccountsEntry {
    All(AllSubaccounts),
    Listed(#[schemars(inner(pattern(r"^AC[0-9a-f]{32}$")))] Vec<String>),
}

/// Every active subaccount.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub(crate) enum AllSubaccounts {
    #[serde(rename = "all")]
    All,
}

/// Who Twilio writes with in fleet mode.
// `Serialize` only for the schema's `default`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum UploaderModeEntry {
    #[default]
    PerSubaccount,
    Shared,
}

/// The S3 bucket recordings and compositions are stored in.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BucketSection {
    /// The bucket's name: 3 to 63 lowercase letters, digits, hyphens and dots, starting and
    /// ending with a letter or digit, 7-bit ASCII only (Twilio cannot store into other
    /// buckets).
    #[schemars(length(min = 3, max = 63), pattern(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$"), example = &"acme-video-dev")]
    pub name: String,
    /// Whether S3 keeps every version of each object.
    #[serde(default)]
    pub versioning: bool,
    /// Whether the bucket blocks every form of public access.
    #[serde(default = "default_true")]
    pub block_public_access: bool,
    /// Tags on the bucket: at most 50; keys of 1 to 128 characters not starting with `aws:`,
    /// values of up to 256 characters.
    #[serde(default)]
    #[schemars(extend("maxProperties" = 50))]
    pub tags: BTreeMap<String, String>,
    /// Rules that delete objects under a prefix some days after they are written.
    #[serde(default)]
    pub lifecycle: Vec<LifecycleRuleEntry>,
    /// Default encryption with a KMS key (SSE-KMS, the only server-side encryption Twilio
    /// supports). Without it the bucket keeps S3's default encryption.
    #[serde(default)]
    pub encryption: Option<EncryptionEntry>,
}

fn default_true() -> bool {
    true
}

/// Deletes objects under a prefix some days after they are written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LifecycleRuleEntry {
    /// The key prefix the rule applies to; `recordings` means `recordings/`, `/` the whole
    /// bucket.
    #[schemars(example = &"recordings/")]
    pub prefix: String,
    /// Days after which an object is deleted; at least 1, at most 2147483647 (S3 counts the
    /// days in a 32-bit signed integer).
    #[schemars(range(min = 1, max = 2147483647), example = 90)]
    pub expire_after_days: u32,
}

/// The bucket's default encryption key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EncryptionEntry {
    /// `create` for a new KMS key managed by stowage, or the ARN of an existing key in the
    /// bucket's region: `arn:aws:kms:REGION:ACCOUNT:key/ID`.
    #[schemars(
        pattern(r"^(create|arn:aws(-cn|-us-gov|-eusc)?:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+)$"),
        example = &"create"
    )]
    pub kms_key: String,
}

/// The IAM user whose access key Twilio writes with; its policy allows `s3:PutObject` under the
/// stored prefixes and nothing else.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploaderSection {
    /// The user's name: 1 to 64 letters, digits and `+=,.@_-`.
    #[schemars(pattern(r"^[A-Za-z0-9+=,.@_-]{1,64}$"), example = &"twilio-video-uploader-dev")]
    pub user_name: String,
    /// The user's IAM path: `/` or `/SOME/PATH/`, printable ASCII, up to 512 characters.
    #[serde(default = "default_iam_path")]
    #[schemars(pattern(r"^/([!-~]{0,510}/)?$"))]
    pub path: String,
    /// Rotate the access key Twilio writes with once it is this many days old (1 to 3650): the
    /// plan then replaces the key and Twilio's credential, new before old, so a nightly
    /// `stowage apply` rotates on schedule. Unset: the key is rotated only on request
    /// (`stowage rotate`).
    #[schemars(range(min = 1, max = 3650), example = 90)]
    pub rotate_after_days: Option<u32>,
}

fn default_iam_path() -> String {
    "/".to_owned()
}

/// Twilio's recording settings: whether recordings go to the bucket, and under which prefix.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordingsSection {
    /// Whether Twilio stores recordings in the bucket (`true`) or in its own cloud (`false`).
    /// Recordings stored in S3 cannot be composed.
    pub store_in_s3: bool,
    /// The key prefix recordings are written under; must not overlap the compositions prefix.
    /// With `[fleet]`, it holds `{account_sid}`, which stands for each subaccount's SID:
    /// `recordings/{account_sid}/`.
    #[serde(default = "default_recordings_prefix")]
    pub prefix: String,
    /// A PEM file holding an RSA public key (`-----BEGIN PUBLIC KEY-----`), relative to this
    /// file's directory. Twilio encrypts each recording with it before uploading; only the
    /// holder of the private key can decrypt. Needs `store_in_s3 = true` and Twilio's
    /// Enterprise or Security Edition. Never name a private key here.
    #[serde(default)]
    #[schemars(length(min = 1), example = &"keys/recordings.pem")]
    pub encryption_public_key: Option<String>,
}

fn default_recordings_prefix() -> String {
    "recordings/".to_owned()
}

/// Twilio's composition settings: whether compositions go to the bucket, and under which
/// prefix.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompositionsSection {
    /// Whether Twilio stores compositions in the bucket (`true`) or in its own cloud (`false`).
    pub store_in_s3: bool,
    /// The key prefix compositions are written under; must not overlap the recordings prefix.
    /// With `[fleet]`, it holds `{account_sid}`, which stands for each subaccount's SID:
    /// `compositions/{account_sid}/`.
    #[serde(default = "default_compositions_prefix")]
    pub prefix: String,
    /// A PEM file holding an RSA public key (`-----BEGIN PUBLIC KEY-----`), relative to this
    /// file's directory. Twilio encrypts each composition with it before uploading; only the
    /// holder of the private key can decrypt. Needs `store_in_s3 = true` and Twilio's
    /// Enterprise or Security Edition. Never name a private key here.
    #[serde(default)]
    #[schemars(length(min = 1), example = &"keys/compositions.pem")]
    pub encryption_public_key: Option<String>,
}

fn default_compositions_prefix() -> String {
    "compositions/".to_owned()
}

/// How `stowage drift` compares.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DriftSection {
    /// Differences not to report: a resource (`TYPE.NAME`) or one of its attributes
    /// (`TYPE.NAME.ATTRIBUTE`).
    #[serde(default)]
    #[schemars(inner(pattern(r"^[a-z0-9_]+\.[a-z0-9_]+(\.[a-z0-9_]+)?$")), example = drift_ignore_example())]
    pub ignore: Vec<String>,
}

fn drift_ignore_example() -> [&'static str; 1] {
    ["aws_s3_bucket.main.tags"]
}

/// Where the environment's state is kept: the local file beside the spec (the default), or an
/// object in S3 that every machine running stowage for it shares, locked by a conditional write.
/// `--state` on the command line overrides it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateSection {
    /// `local` (the file beside the spec) or `s3`.
    pub backend: StateBackendKind,
    /// The state bucket (`s3` only). Not the recordings' bucket: keep state where Twilio's
    /// uploader cannot write.
    #[serde(default)]
    #[schemars(length(min = 3, max = 63), pattern(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$"), example = &"acme-stowage-state")]
    pub bucket: Option<String>,
    /// The state object's key (`s3` only); the lock is `KEY.lock`.
    #[serde(default)]
    #[schemars(length(min = 1, max = 1019), example = &"envs/prod.state.json")]
    pub key: Option<String>,
    /// The state bucket's region (`s3` only); default: `[aws] region`.
    #[serde(default)]
    #[schemars(pattern(r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$"), example = &"us-east-2")]
    pub region: Option<String>,
    /// A KMS key (id, ARN or `alias/NAME`) the state object is encrypted with (SSE-KMS, `s3`
    /// only); default: the bucket's default encryption.
    #[serde(default)]
    #[schemars(length(min = 1), example = &"alias/stowage-state")]
    pub kms_key: Option<String>,
}

/// Warnings accepted on purpose.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LintsSection {
    /// The lints not to report for this spec, by name: `recordings-not-composable`,
    /// `unknown-region`, `bucket-name-dots`, `twilio-unreachable-region` (see
    /// docs/spec-reference.md).
    #[serde(default)]
    #[schemars(example = lints_allow_example())]
    pub allow: Vec<Lint>,
}

fn lints_allow_example() -> [&'static str; 1] {
    ["recordings-not-composable"]
}

/// Which state backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StateBackendKind {
    Local,
    S3,
}

/// The JSON Schema of the spec file, generated from the types above once.
pub(crate) static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    // Draft 7 is what editors' TOML tooling (taplo) understands best.
    let mut settings = SchemaSettings::draft07();
    // First, so that draft 7's own transforms (moving `$ref` siblings into `allOf`) see the result.
    settings.transforms.insert(0, Box::new(RecursiveTransform(for_toml)));
    settings.into_generator().into_root_schema_for::<SpecFile>().to_value()
});

/// Fits the generated schema to TOML and to editors.
fn for_toml(schema: &mut Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    // TOML has no null: an absent optional key is simply not written.
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|kind| kind != "null");
        if let [single] = types.as_slice() {
            let single = single.clone();
            object.insert("type".to_owned(), single);
        }
    }
    if let Some(Value::Array(alternatives)) = object.get_mut("anyOf") {
        alternatives.retain(|alternative| alternative.get("type").is_none_or(|kind| kind != "null"));
        if let [Value::Object(single)] = alternatives.as_slice() {
            let single = single.clone();
            object.remove("anyOf");
            object.extend(single);
        }
    }
    if object.get("default").is_some_and(Value::is_null) {
        object.remove("default");
    }
    // Doc comments wrap at 100 columns; editors wrap descriptions themselves.
    if let Some(Value::String(description)) = object.get_mut("description") {
        *description =
            description.split("\n\n").map(|paragraph| paragraph.replace('\n', " ")).collect::<Vec<_>>().join("\n\n");
    }
}
