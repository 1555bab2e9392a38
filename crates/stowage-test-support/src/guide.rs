//! Twilio's guide "Storing into AWS S3" (`shared/seed/storing-into-aws-s3.txt`), done by hand:
//! what a person who never heard of stowage does, step by step as the guide's text says,
//! through the AWS SDK against moto and through HTTP against the Twilio emulator.
//! [`follow_the_guide`] is the whole guide; each step is one small function named after it.
//!
//! Where the guide leaves a choice (the bucket's and the user's names, the paths Twilio writes
//! under, the names a person gives things), the person here makes the choice that matches
//! `examples/dev.toml`, so that what they made is what `stowage import dev.toml` should find:
//! bucket `acme-video-dev` in `us-east-2`, user `twilio-video-uploader-dev` on path `/twilio/`,
//! recordings under `recordings/` and compositions under `compositions/`.
//!
//! Everything goes straight to moto and to the emulator, not through the [`World`]'s proxies,
//! as [`World::twilio_request`] and the tests' other out-of-band changes do: the proxies'
//! journals stay stowage's own requests.

use std::fmt;

use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use serde_json::Value;

use crate::World;
use crate::dev;

/// The guide's policy template ("You can use the following JSON snippet as a template for the
/// policy document"), as the guide prints it.
pub const POLICY_TEMPLATE: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "UploadUserDenyEverything",
      "Effect": "Deny",
      "NotAction": "*",
      "Resource": "*"
    },
    {
      "Sid": "UploadUserAllowPutObject",
      "Effect": "Allow",
      "Action": [
        "s3:PutObject"
      ],
      "Resource": [
        "arn:aws:s3:::my_bucket_name/folder/for/storage/*"
      ]
    }
  ]
}"#;

/// The guide's SSE-KMS template ("you must grant access to the KMS key in your policy
/// document. The following template illustrates how to do it"), as the guide prints it.
pub const SSE_KMS_POLICY_TEMPLATE: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "UploadUserDenyEverything",
      "Effect": "Deny",
      "NotAction": "*",
      "Resource": "*"
    },
    {
      "Sid": "UploadUserAllowPutObject",
      "Effect": "Allow",
      "Action": [
        "s3:PutObject"
      ],
      "Resource": [
        "arn:aws:s3:::my_bucket_name/folder/for/storage/*"
      ]
    },
    {
      "Sid": "AccessToKmsForEncryption",
      "Effect": "Allow",
      "Action": [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey"
      ],
      "Resource": [
        "arn:aws:kms:region:account-id:key/key-id"
      ]
    }
  ]
}"#;

/// What the templates say to replace ("Replace my_bucket_name ...", "Replace the string
/// /folder/for/storage/ ...") and the KMS key ARN placeholder.
const BUCKET_PLACEHOLDER: &str = "my_bucket_name";
const PATH_PLACEHOLDER: &str = "/folder/for/storage/";
const KMS_KEY_PLACEHOLDER: &str = "arn:aws:kms:region:account-id:key/key-id";

/// The paths Twilio writes under, in the guide's form ("the path (e.g. /folder/for/storage/)"):
/// `examples/dev.toml`'s prefixes, `recordings/` and `compositions/`.
pub const RECORDINGS_PATH: &str = "/recordings/";
pub const COMPOSITIONS_PATH: &str = "/compositions/";
/// The user's IAM path: the guide's console never asks for one (it would be `/`); this person
/// gives the one `examples/dev.toml` names, so that the user is the one the spec describes.
pub const USER_PATH: &str = "/twilio/";
/// The name the person gives the Twilio credential ("specify the friendly name you wish"):
/// the one stowage gives `examples/dev.toml`'s, so an import has nothing to rename.
pub const CREDENTIAL_FRIENDLY_NAME: &str = "stowage dev acme-video-dev";
/// The settings' `FriendlyName`, which the Settings API requires and the guide does not
/// mention: the one stowage gives `examples/dev.toml`'s.
pub const SETTINGS_FRIENDLY_NAME: &str = "stowage dev";

const CREDENTIALS_PATH: &str = "/v1/Credentials/AWS";
const RECORDING_SETTINGS_PATH: &str = "/v1/RecordingSettings/Default";
const COMPOSITION_SETTINGS_PATH: &str = "/v1/CompositionSettings/Default";

/// Which of the guide's two policy templates the person follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuideVariant {
    /// The bucket with S3's own default encryption and the first template.
    PolicyTemplate,
    /// "Uploading to buckets with Server-Side Encryption (SSE)": a KMS key the person makes,
    /// the bucket's default encryption SSE-KMS with it, and the second template naming it.
    SseKms,
}

/// Everything the person made, with the ids a test needs.
#[derive(Debug, Clone)]
pub struct HandMade {
    pub variant: GuideVariant,
    pub region: String,
    pub bucket: String,
    /// Step 1's "AWS S3 Bucket URL", in the guide's form: `https://BUCKET.s3-REGION.amazonaws.com`.
    pub bucket_url: String,
    /// The SSE-KMS variant's key, the bucket's default encryption.
    pub kms_key: Option<HandMadeKmsKey>,
    pub user_name: String,
    pub user_arn: String,
    /// The customer-managed policy made from the template, attached to the user.
    pub policy_arn: String,
    /// The filled-in template, as sent to IAM.
    pub policy_document: Value,
    pub access_key_id: String,
    pub secret_access_key: HandMadeSecret,
    /// The Twilio AWS credential's SID (`CR...`).
    pub credential_sid: String,
    /// The recording settings' `AwsS3Url`: the bucket URL and [`RECORDINGS_PATH`].
    pub recordings_url: String,
    /// The composition settings' `AwsS3Url`: the bucket URL and [`COMPOSITIONS_PATH`].
    pub compositions_url: String,
}

/// The KMS key of [`GuideVariant::SseKms`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandMadeKmsKey {
    pub id: String,
    pub arn: String,
}

/// The access key's secret: redacted when printed, read only through [`HandMadeSecret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct HandMadeSecret(String);

impl HandMadeSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HandMadeSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("HandMadeSecret([redacted])")
    }
}

/// Does by hand what Twilio's guide says, in its order, with `examples/dev.toml`'s names:
/// step 1 (the bucket, and for [`GuideVariant::SseKms`] its KMS key and default encryption),
/// step 2 (the user, the template as a managed policy attached to it, its access key), step 3
/// (the Twilio AWS credential) and step 4 (recordings and compositions stored in the bucket).
///
/// # Panics
/// When moto or the emulator refuses a step; the message says which step and what was said.
pub async fn follow_the_guide(world: &World, variant: GuideVariant) -> HandMade {
    let (region, bucket) = (dev::REGION, dev::BUCKET);
    // Step 1: Create an AWS S3 bucket and obtain its URL.
    create_an_s3_bucket(world, region, bucket).await;
    let kms_key = match variant {
        GuideVariant::PolicyTemplate => None,
        GuideVariant::SseKms => {
            let key = create_a_kms_key(world, region, bucket).await;
            use_sse_kms_for_the_bucket(world, region, bucket, &key).await;
            Some(key)
        }
    };
    let bucket_url = get_the_bucket_url(bucket, region);
    // Step 2: Create an IAM user and get its credentials.
    let user_arn = create_an_iam_user(world, dev::USER).await;
    let policy_document = fill_in_the_template(variant, bucket, kms_key.as_ref());
    let policy_arn = create_policy(world, dev::POLICY_NAME, &policy_document).await;
    attach_the_policy_and_complete_the_user(world, dev::USER, &policy_arn).await;
    let (access_key_id, secret_access_key) = get_the_access_key(world, dev::USER).await;
    // Step 3: Configure Twilio with the AWS Credentials you created.
    let credential_sid = create_new_aws_credential(world, &access_key_id, &secret_access_key).await;
    // Step 4: Configure Twilio to store into the S3 bucket.
    let recordings_url = format!("{bucket_url}{}", RECORDINGS_PATH.trim_end_matches('/'));
    let compositions_url = format!("{bucket_url}{}", COMPOSITIONS_PATH.trim_end_matches('/'));
    store_recordings_in_the_bucket(world, &credential_sid, &recordings_url).await;
    store_compositions_in_the_bucket(world, &credential_sid, &compositions_url).await;
    HandMade {
        variant,
        region: region.to_owned(),
        bucket: bucket.to_owned(),
        bucket_url,
        kms_key,
        user_name: dev::USER.to_owned(),
        user_arn,
        policy_arn,
        policy_document,
        access_key_id,
        secret_access_key,
        credential_sid,
        recordings_url,
        compositions_url,
    }
}

/// "First, create an S3 bucket. Use whatever bucket configuration that makes sense for your
/// application; Twilio does not have any special bucket requirements." The person takes S3's
/// defaults, in the spec's region.
async fn create_an_s3_bucket(world: &World, region: &str, bucket: &str) {
    let location =
        CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(region)).build();
    let created = world.moto.s3_client(region).create_bucket().bucket(bucket).create_bucket_configuration(location);
    created.send().await.unwrap_or_else(|error| panic!("step 1: moto refused CreateBucket {bucket}: {error:?}"));
}

/// "the only option we support is SSE-KMS (SSE with AWS KMS-Managed Keys)": the person makes
/// a symmetric key in the bucket's region, with KMS's default key policy (the account's IAM
/// policies decide who uses it, which is what the guide's second template relies on).
async fn create_a_kms_key(world: &World, region: &str, bucket: &str) -> HandMadeKmsKey {
    let created = world
        .moto
        .kms_client(region)
        .create_key()
        .description(format!("SSE-KMS key of bucket {bucket}, for Twilio Video"))
        .send()
        .await
        .unwrap_or_else(|error| panic!("SSE: moto refused CreateKey: {error:?}"));
    let metadata = created.key_metadata().expect("CreateKey answers with the key's metadata");
    let arn = metadata.arn().expect("a new key has an ARN").to_owned();
    HandMadeKmsKey { id: metadata.key_id().to_owned(), arn }
}

/// "Amazon S3 buckets support SSE (Server-Side Encryption). When enabled, all data written to
/// disk is encrypted": the bucket's default encryption becomes SSE-KMS with the key. The guide
/// says nothing of S3 Bucket Keys; the person keeps S3's console default, on.
async fn use_sse_kms_for_the_bucket(world: &World, region: &str, bucket: &str, key: &HandMadeKmsKey) {
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id(&key.arn)
        .build()
        .expect("an algorithm is given");
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default)
        .bucket_key_enabled(true)
        .build();
    let configuration = ServerSideEncryptionConfiguration::builder().rules(rule).build().expect("a rule is given");
    let put = world.moto.s3_client(region).put_bucket_encryption().bucket(bucket);
    put.server_side_encryption_configuration(configuration)
        .send()
        .await
        .unwrap_or_else(|error| panic!("SSE: moto refused PutBucketEncryption {bucket}: {error:?}"));
}

/// "We recommend that you use the virtual-host-style URL based on the scheme
/// https://bucket-name.s3-aws-region-code.amazonaws.com", e.g.
/// "https://my-new-bucket.s3-us-east-2.amazonaws.com".
fn get_the_bucket_url(bucket: &str, region: &str) -> String {
    format!("https://{bucket}.s3-{region}.amazonaws.com")
}

/// "Create an IAM user using the AWS Console ... Set Programmatic access as the "Access type"":
/// a user with no console password, on `examples/dev.toml`'s path ([`USER_PATH`]). The user's
/// ARN.
async fn create_an_iam_user(world: &World, user: &str) -> String {
    let created = world.moto.iam_client().create_user().user_name(user).path(USER_PATH).send().await;
    let created = created.unwrap_or_else(|error| panic!("step 2: moto refused CreateUser {user}: {error:?}"));
    created.user().expect("CreateUser answers with the user").arn().to_owned()
}

/// "Replace my_bucket_name at the bottom of the snippet with the actual bucket-name" and
/// "Replace the string /folder/for/storage/ with the specific path where you want Twilio to
/// store your recordings ... Don't forget the * wildcard at the end." The person stores
/// recordings and compositions under two paths, so the template's one resource becomes one per
/// path ([`RECORDINGS_PATH`], [`COMPOSITIONS_PATH`]). In the SSE-KMS template the key's
/// placeholder ARN becomes the key's. Nothing else of the template changes: its
/// `Deny NotAction "*"` statement stays.
///
/// # Panics
/// For [`GuideVariant::SseKms`] without a key.
pub fn fill_in_the_template(variant: GuideVariant, bucket: &str, kms_key: Option<&HandMadeKmsKey>) -> Value {
    let template = match variant {
        GuideVariant::PolicyTemplate => POLICY_TEMPLATE,
        GuideVariant::SseKms => SSE_KMS_POLICY_TEMPLATE,
    };
    let mut document: Value = serde_json::from_str(template).expect("the guide's template is JSON");
    let statements = document["Statement"].as_array_mut().expect("the template has statements");
    for statement in statements {
        let Some(resources) = statement.get_mut("Resource").and_then(Value::as_array_mut) else {
            continue; // "Resource": "*" of the Deny statement
        };
        let filled: Vec<Value> = resources
            .iter()
            .filter_map(Value::as_str)
            .flat_map(|resource| fill_in(resource, bucket, kms_key))
            .map(Value::from)
            .collect();
        *resources = filled;
    }
    let text = document.to_string();
    for placeholder in [BUCKET_PLACEHOLDER, PATH_PLACEHOLDER, KMS_KEY_PLACEHOLDER] {
        assert!(!text.contains(placeholder), "`{placeholder}` is left in the filled-in template: {text}");
    }
    document
}

/// One resource of a template, filled in: the bucket's, once per path; the key's.
fn fill_in(resource: &str, bucket: &str, kms_key: Option<&HandMadeKmsKey>) -> Vec<String> {
    if resource == KMS_KEY_PLACEHOLDER {
        let key = kms_key.expect("the SSE-KMS template needs the key the person made");
        return vec![key.arn.clone()];
    }
    let resource = resource.replace(BUCKET_PLACEHOLDER, bucket);
    [RECORDINGS_PATH, COMPOSITIONS_PATH].iter().map(|path| resource.replace(PATH_PLACEHOLDER, path)).collect()
}

/// "select Create policy, pick the JSON editor and create a policy document with write
/// permissions": a customer-managed policy, named as stowage names `examples/dev.toml`'s
/// uploader policy ([`dev::POLICY_NAME`]), the guide leaving the name to the person. Its ARN.
async fn create_policy(world: &World, name: &str, document: &Value) -> String {
    let created = world.moto.iam_client().create_policy().policy_name(name).policy_document(document.to_string());
    let created =
        created.send().await.unwrap_or_else(|error| panic!("step 2: moto refused CreatePolicy {name}: {error:?}"));
    created.policy().and_then(|policy| policy.arn()).expect("CreatePolicy answers with the policy's ARN").to_owned()
}

/// "Select Attach existing policies directly ... press the Refresh button to see the policy you
/// created. You can select it and complete the IAM user creation."
async fn attach_the_policy_and_complete_the_user(world: &World, user: &str, policy_arn: &str) {
    let attached = world.moto.iam_client().attach_user_policy().user_name(user).policy_arn(policy_arn).send().await;
    attached.unwrap_or_else(|error| panic!("step 2: moto refused AttachUserPolicy {policy_arn} to {user}: {error:?}"));
}

/// "Once the IAM user is created, Amazon provides you its credentials. They include an Access
/// Key ID and a Secret Access Key."
async fn get_the_access_key(world: &World, user: &str) -> (String, HandMadeSecret) {
    let created = world.moto.iam_client().create_access_key().user_name(user).send().await;
    let created = created.unwrap_or_else(|error| panic!("step 2: moto refused CreateAccessKey for {user}: {error:?}"));
    let key = created.access_key().expect("CreateAccessKey answers with the key");
    (key.access_key_id().to_owned(), HandMadeSecret(key.secret_access_key().to_owned()))
}

/// "press Create new AWS Credential. On the popup that opens, specify the friendly name you
/// wish. Then, provide the AWS Access Key ID and the AWS Access Secret Key ... Write down the
/// AWS Credential SID that has the form CRxx." What the console sends: Accounts v1
/// `POST /v1/Credentials/AWS` with `Credentials=ACCESS_KEY_ID:SECRET_ACCESS_KEY`.
async fn create_new_aws_credential(world: &World, access_key_id: &str, secret: &HandMadeSecret) -> String {
    let credentials = format!("{access_key_id}:{}", secret.expose());
    let form = [("FriendlyName", CREDENTIAL_FRIENDLY_NAME), ("Credentials", credentials.as_str())];
    let created = post(world, "step 3", CREDENTIALS_PATH, &form).await;
    created["sid"].as_str().unwrap_or_else(|| panic!("step 3: the credential has no SID: {created}")).to_owned()
}

/// "Enabling S3 Recordings storage using the Recording Settings API": Video v1
/// `POST /v1/RecordingSettings/Default`, storage on, at the bucket URL and the recordings path.
async fn store_recordings_in_the_bucket(world: &World, credential_sid: &str, url: &str) {
    store_in_the_bucket(world, "step 4 (recordings)", RECORDING_SETTINGS_PATH, credential_sid, url).await;
}

/// "Enabling S3 Compositions storage using the Recording Settings API" (the guide's words; the
/// API is the Composition Settings API): Video v1 `POST /v1/CompositionSettings/Default`.
async fn store_compositions_in_the_bucket(world: &World, credential_sid: &str, url: &str) {
    store_in_the_bucket(world, "step 4 (compositions)", COMPOSITION_SETTINGS_PATH, credential_sid, url).await;
}

async fn store_in_the_bucket(world: &World, step: &str, path: &str, credential_sid: &str, url: &str) {
    let form = [
        ("FriendlyName", SETTINGS_FRIENDLY_NAME),
        ("AwsCredentialsSid", credential_sid),
        ("AwsS3Url", url),
        ("AwsStorageEnabled", "true"),
    ];
    post(world, step, path, &form).await;
}

/// `POST PATH` to the emulator as the test account, as Twilio's console or API would be used;
/// the JSON it answers.
///
/// # Panics
/// When it does not answer with success: the guide's step was refused.
async fn post(world: &World, step: &str, path: &str, form: &[(&str, &str)]) -> Value {
    let response = world.twilio_request(reqwest::Method::POST, path).form(form).send().await;
    let response = response.unwrap_or_else(|error| panic!("{step}: the emulator did not answer POST {path}: {error}"));
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{step}: the emulator refused POST {path}: {status} {body}");
    serde_json::from_str(&body).unwrap_or_else(|error| panic!("{step}: POST {path} answered no JSON ({error}): {body}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_first_template_is_filled_in_for_both_paths_and_keeps_its_deny() {
        let document = fill_in_the_template(GuideVariant::PolicyTemplate, "acme-video-dev", None);
        assert_eq!(
            document,
            json!({
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "UploadUserDenyEverything", "Effect": "Deny", "NotAction": "*", "Resource": "*"},
                    {
                        "Sid": "UploadUserAllowPutObject",
                        "Effect": "Allow",
                        "Action": ["s3:PutObject"],
                        "Resource": [
                            "arn:aws:s3:::acme-video-dev/recordings/*",
                            "arn:aws:s3:::acme-video-dev/compositions/*",
                        ],
                    },
                ],
            })
        );
    }

    #[test]
    fn the_sse_kms_template_names_the_key() {
        let key = HandMadeKmsKey { id: "k".to_owned(), arn: "arn:aws:kms:us-east-2:123456789012:key/k".to_owned() };
        let document = fill_in_the_template(GuideVariant::SseKms, "acme-video-dev", Some(&key));
        assert_eq!(document["Statement"][2]["Sid"], "AccessToKmsForEncryption");
        assert_eq!(document["Statement"][2]["Resource"], json!([key.arn]));
        assert_eq!(document["Statement"][1]["Resource"][0], "arn:aws:s3:::acme-video-dev/recordings/*");
    }

    /// The person's choices are `examples/dev.toml`'s: if the spec changes, so must they.
    #[test]
    fn the_choices_are_those_of_the_dev_spec() {
        let spec = crate::dev_spec();
        for line in [
            format!("prefix = \"{}\"", RECORDINGS_PATH.trim_start_matches('/')),
            format!("prefix = \"{}\"", COMPOSITIONS_PATH.trim_start_matches('/')),
            format!("path = \"{USER_PATH}\""),
            format!("name = \"{}\"", dev::BUCKET),
            format!("user_name = \"{}\"", dev::USER),
            format!("region = \"{}\"", dev::REGION),
        ] {
            assert!(spec.contains(&line), "examples/dev.toml has no `{line}`");
        }
        assert_eq!(get_the_bucket_url(dev::BUCKET, dev::REGION), "https://acme-video-dev.s3-us-east-2.amazonaws.com");
    }
}
