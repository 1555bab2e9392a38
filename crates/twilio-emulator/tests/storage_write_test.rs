//! Twilio's storage write test, against moto with IAM enforcement on: switching storage on
//! writes a test file with the stored AWS credential, and a credential that may not write under
//! the URL's path makes the settings POST fail and leaves the settings as they were.

mod support;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use serde_json::Value;
use support::moto::MotoServer;
use support::*;

const REGION: &str = "us-east-2";
const BUCKET: &str = "stowage-emulator-write-test";

/// An access key made in moto.
struct AccessKey {
    id: String,
    secret: String,
}

/// Clients of moto signed with `key`.
fn s3_client(moto: &MotoServer, key: &AccessKey) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .force_path_style(true)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(&key.id, &key.secret, None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn iam_client(moto: &MotoServer) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "setup-before-enforcement",
            None,
            None,
            "test",
        ))
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

/// Makes an IAM user whose only inline policy allows `actions` on `resource`, and a key for it.
async fn user_with_policy(iam: &aws_sdk_iam::Client, name: &str, actions: &str, resource: &str) -> AccessKey {
    iam.create_user().user_name(name).send().await.expect("create user");
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": {actions}, "Resource": "{resource}"}}]}}"#
    );
    iam.put_user_policy()
        .user_name(name)
        .policy_name("only-this")
        .policy_document(policy)
        .send()
        .await
        .expect("put user policy");
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .expect("create access key")
        .access_key
        .expect("an access key");
    AccessKey { id: key.access_key_id, secret: key.secret_access_key }
}

/// The moto world of these tests: the bucket, an administrator, an uploader allowed to write
/// under `recordings/`, and one allowed to write only under `elsewhere/`. IAM enforcement is
/// on when it returns.
struct World {
    moto: MotoServer,
    admin: AccessKey,
    uploader: AccessKey,
    misdirected: AccessKey,
}

impl World {
    async fn create() -> Self {
        let moto = MotoServer::start().await;
        let iam = iam_client(&moto);
        let admin = user_with_policy(&iam, "admin", r#""*""#, "*").await;
        let uploader =
            user_with_policy(&iam, "uploader", r#"["s3:PutObject"]"#, &format!("arn:aws:s3:::{BUCKET}/recordings/*"))
                .await;
        let misdirected =
            user_with_policy(&iam, "misdirected", r#"["s3:PutObject"]"#, &format!("arn:aws:s3:::{BUCKET}/elsewhere/*"))
                .await;
        s3_client(&moto, &admin)
            .create_bucket()
            .bucket(BUCKET)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                    .build(),
            )
            .send()
            .await
            .expect("create bucket");
        moto.enforce_iam().await;
        Self { moto, admin, uploader, misdirected }
    }

    async fn object_keys(&self) -> Vec<String> {
        let listed = s3_client(&self.moto, &self.admin)
            .list_objects_v2()
            .bucket(BUCKET)
            .send()
            .await
            .expect("list objects as the administrator");
        listed.contents().iter().filter_map(|object| object.key().map(str::to_owned)).collect()
    }
}

fn settings_form<'a>(credential_sid: &'a str, url: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("FriendlyName", "stowage"),
        ("AwsCredentialsSid", credential_sid),
        ("AwsS3Url", url),
        ("AwsStorageEnabled", "true"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_is_switched_on_only_when_the_stored_credential_can_write_the_test_file() {
    within(120, async {
        let world = World::create().await;
        let emulator = start_emulator(world.moto.endpoint()).await;
        let twilio = Twilio::account(&emulator);
        let recordings_url = format!("https://{BUCKET}.s3-{REGION}.amazonaws.com/recordings");
        let uploader = twilio.create_aws_credential(&world.uploader.id, &world.uploader.secret).await;
        let misdirected = twilio.create_aws_credential(&world.misdirected.id, &world.misdirected.secret).await;
        let unknown_key = twilio.create_aws_credential("AKIAUNKNOWNKEY000000", &world.uploader.secret).await;
        let recordings = "/v1/RecordingSettings/Default";

        // Allowed only elsewhere in the bucket: access denied, settings unchanged.
        let denied = twilio.post(recordings, &settings_form(&misdirected, &recordings_url)).await;
        assert_twilio_error(&denied, 400, 53615);
        let defaults = twilio.get(recordings).await;
        assert_eq!(defaults.body["aws_storage_enabled"], false);
        assert_eq!(defaults.body["aws_credentials_sid"], Value::Null);

        // A key moto does not know: invalid credentials.
        let unknown = twilio.post(recordings, &settings_form(&unknown_key, &recordings_url)).await;
        assert_twilio_error(&unknown, 400, 53611);

        // A bucket that does not exist, with a key allowed everything: S3 says so.
        let administrator = twilio.create_aws_credential(&world.admin.id, &world.admin.secret).await;
        let missing_bucket_url = format!("https://no-such-bucket.s3.{REGION}.amazonaws.com/recordings");
        let missing = twilio.post(recordings, &settings_form(&administrator, &missing_bucket_url)).await;
        assert_twilio_error(&missing, 400, 53610);
        assert!(world.object_keys().await.is_empty());

        // The uploader, under the path its policy allows: the settings are saved and the test
        // file is in the bucket.
        let saved = twilio.post(recordings, &settings_form(&uploader, &recordings_url)).await;
        assert_eq!(saved.status, 200, "{:#}", saved.body);
        assert_eq!(saved.body["aws_storage_enabled"], true);
        assert_eq!(saved.body["aws_credentials_sid"], uploader.as_str());
        assert_eq!(twilio.get(recordings).await.body, saved.body);
        assert_eq!(world.object_keys().await, ["recordings/twilio-storage-test-recordings.txt"]);

        // Compositions have their own codes: the uploader may not write under compositions/.
        let compositions_url = format!("https://{BUCKET}.s3.{REGION}.amazonaws.com/compositions/");
        let composition_denied =
            twilio.post("/v1/CompositionSettings/Default", &settings_form(&uploader, &compositions_url)).await;
        assert_twilio_error(&composition_denied, 400, 53625);

        // Switching storage off needs no write test.
        let switched_off = twilio
            .post(
                recordings,
                &[
                    ("FriendlyName", "stowage"),
                    ("AwsCredentialsSid", &misdirected),
                    ("AwsS3Url", &recordings_url),
                    ("AwsStorageEnabled", "false"),
                ],
            )
            .await;
        assert_eq!(switched_off.status, 200, "{:#}", switched_off.body);

        let errors = [&denied.body, &unknown.body, &missing.body, &composition_denied.body];
        let text = serde_json::to_string(&errors).unwrap();
        assert!(!text.contains(&world.uploader.secret) && !text.contains(&world.misdirected.secret));
        snapshot_settings().bind(|| insta::assert_json_snapshot!("write_test_errors", errors));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_s3_endpoint_is_the_emulators_failure_not_the_clients() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let twilio = Twilio::account(&emulator);
        let credential = twilio.create_aws_credential(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).await;
        let url = format!("https://{BUCKET}.s3-{REGION}.amazonaws.com/recordings");
        let answer = twilio.post("/v1/RecordingSettings/Default", &settings_form(&credential, &url)).await;
        assert_twilio_error(&answer, 500, 20500);
        let settings = twilio.get("/v1/RecordingSettings/Default").await;
        assert_eq!(settings.body["aws_storage_enabled"], false);
    })
    .await;
}
