//! moto for the emulator's tests, started by the project's one launcher
//! (`stowage_test_support::Moto`): the `moto_server` that `cargo xtask` installs, or
//! `$STOWAGE_MOTO_SERVER`, never one found on `PATH`. A test that needs moto fails when moto
//! cannot start: it is never skipped.

use std::sync::atomic::{AtomicBool, Ordering};

use stowage_test_support::Moto;

/// The region of every bucket and KMS key these tests make.
pub const REGION: &str = "us-east-2";

/// An IAM access key made in moto.
#[derive(Debug, Clone)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
}

pub struct MotoServer {
    moto: Moto,
    endpoint: String,
    /// Whether IAM enforcement is on.
    enforcing: AtomicBool,
}

impl MotoServer {
    /// Starts moto on a free loopback port and waits until it answers.
    pub async fn start() -> Self {
        let moto = Moto::start();
        let endpoint = moto.endpoint();
        Self { moto, endpoint, enforcing: AtomicBool::new(false) }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Turns IAM enforcement on: from now on every request must be signed by a known access key
    /// whose policies allow the action.
    pub async fn enforce_iam(&self) {
        self.moto.enforce_iam(true);
        self.enforcing.store(true, Ordering::SeqCst);
    }

    /// Turns IAM enforcement off: moto accepts any call again.
    pub async fn stop_enforcing_iam(&self) {
        self.moto.enforce_iam(false);
        self.enforcing.store(false, Ordering::SeqCst);
    }

    /// S3 as an administrator (moto's own admin key once enforcement is on).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        self.moto.s3_client(REGION)
    }

    /// S3 signed with `key`, as Twilio's uploader is.
    pub fn s3_as(&self, key: &AccessKey) -> aws_sdk_s3::Client {
        let credentials = aws_sdk_s3::config::Credentials::new(&key.id, &key.secret, None, None, "test");
        let config = aws_sdk_s3::config::Builder::from(&self.moto.aws_sdk_config(REGION))
            .credentials_provider(credentials)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        self.moto.iam_client()
    }

    /// The ARN of a new symmetric KMS key in [`REGION`], with moto's default key policy (the
    /// account may use it through IAM policies; nobody is named).
    pub async fn create_kms_key(&self) -> String {
        let created = self.moto.kms_client(REGION).create_key().send().await.expect("create a KMS key");
        created.key_metadata().expect("key metadata").arn().expect("a key ARN").to_owned()
    }

    /// Replaces the key policy of `key_arn`.
    pub async fn put_key_policy(&self, key_arn: &str, policy: &str) {
        let kms = self.moto.kms_client(REGION);
        let put = kms.put_key_policy().key_id(key_arn).policy_name("default").policy(policy).send().await;
        put.expect("put the key policy");
    }

    /// Creates `bucket` in [`REGION`].
    pub async fn create_bucket(&self, bucket: &str) {
        self.s3()
            .create_bucket()
            .bucket(bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                    .build(),
            )
            .send()
            .await
            .expect("create the bucket");
    }

    /// Sets `bucket`'s default encryption to SSE-KMS with `key_arn`.
    pub async fn encrypt_bucket_with(&self, bucket: &str, key_arn: &str) {
        use aws_sdk_s3::types::{
            ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
            ServerSideEncryptionRule,
        };
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(key_arn)
            .build()
            .expect("a default encryption");
        let configuration = ServerSideEncryptionConfiguration::builder()
            .rules(ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(by_default).build())
            .build()
            .expect("an encryption configuration");
        let put = self.s3().put_bucket_encryption().bucket(bucket).server_side_encryption_configuration(configuration);
        put.send().await.expect("put the bucket encryption");
    }

    /// Every key in `bucket` with its size, listed by the administrator.
    pub async fn objects(&self, bucket: &str) -> Vec<(String, i64)> {
        let listed = self.s3().list_objects_v2().bucket(bucket).send().await.expect("list the objects");
        let mut objects: Vec<(String, i64)> =
            listed.contents().iter().filter_map(|object| Some((object.key()?.to_owned(), object.size()?))).collect();
        objects.sort();
        objects
    }

    /// Makes IAM user `name` whose only inline policy is `policy` (a JSON document), and a key
    /// for it.
    pub async fn user_with_policy(&self, name: &str, policy: &str) -> AccessKey {
        let iam = self.iam();
        iam.create_user().user_name(name).send().await.expect("create the user");
        self.put_user_policy(name, policy).await;
        let created = iam.create_access_key().user_name(name).send().await.expect("create an access key");
        let key = created.access_key.expect("an access key");
        AccessKey { id: key.access_key_id, secret: key.secret_access_key }
    }

    /// Replaces the inline policy of user `name` with `policy`. Under IAM enforcement moto 5.2.1
    /// miscalculates the signature of a `PutUserPolicy` whose form holds a policy document
    /// (SignatureDoesNotMatch), so enforcement is off for that one call.
    pub async fn put_user_policy(&self, name: &str, policy: &str) {
        let enforcing = self.enforcing.load(Ordering::SeqCst);
        if enforcing {
            self.moto.enforce_iam(false);
        }
        let put = self.iam().put_user_policy().user_name(name).policy_name("only-this").policy_document(policy);
        let result = put.send().await;
        if enforcing {
            self.moto.enforce_iam(true);
        }
        result.expect("put the user policy");
    }

    /// Deactivates `key` of user `name`.
    pub async fn deactivate(&self, name: &str, key: &AccessKey) {
        let update = self.iam().update_access_key().user_name(name).access_key_id(&key.id);
        update.status(aws_sdk_iam::types::StatusType::Inactive).send().await.expect("deactivate the key");
    }
}

/// A policy document allowing `actions` (a JSON string or list) on `resource`, and any further
/// statements.
pub fn allow(actions: &str, resource: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#, allow_statement(actions, resource))
}

/// One `Allow` statement.
pub fn allow_statement(actions: &str, resource: &str) -> String {
    format!(r#"{{"Effect": "Allow", "Action": {actions}, "Resource": "{resource}"}}"#)
}
