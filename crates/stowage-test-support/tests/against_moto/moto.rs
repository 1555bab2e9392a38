use std::net::TcpStream;
use std::path::Path;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use stowage_test_support::{MOTO_REGION, Moto, insta_filters, path_style_s3_client};

use crate::bounded;

fn env_value<'a>(environment: &'a [(String, String)], name: &str) -> &'a str {
    environment
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .unwrap_or_else(|| panic!("{name} is missing from {environment:?}"))
}

#[test]
fn dropping_moto_stops_the_server() {
    let moto = Moto::start();
    let address = moto.endpoint().trim_start_matches("http://").to_owned();
    TcpStream::connect(&address).expect("moto should be listening while alive");

    drop(moto);

    let error = TcpStream::connect(&address).expect_err("nothing should listen after the drop");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn aws_env_points_at_moto_and_away_from_the_developers_aws_files() {
    let moto = Moto::start();
    let environment = moto.aws_env();

    assert_eq!(env_value(&environment, "AWS_ENDPOINT_URL"), moto.endpoint());
    for file in ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"] {
        assert!(!Path::new(env_value(&environment, file)).exists());
    }
    let rendered: Vec<String> = environment.iter().map(|(name, value)| format!("{name}={value}")).collect();
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!(rendered.join("\n"));
    });
}

#[tokio::test]
async fn reset_wipes_what_tests_made() {
    bounded(async {
        let moto = Moto::start();
        let s3 = moto.s3_client(MOTO_REGION);
        s3.create_bucket().bucket("stowage-reset-check").send().await.unwrap();
        assert_eq!(bucket_names(&s3).await, ["stowage-reset-check"]);

        moto.reset();

        assert!(bucket_names(&s3).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn enforced_iam_lets_the_admin_in_and_holds_a_narrow_key_to_its_policy() {
    bounded(async {
        let moto = Moto::start();
        moto.enforce_iam(true);
        let admin_key_id = env_value(&moto.aws_env(), "AWS_ACCESS_KEY_ID").to_owned();
        assert!(admin_key_id.starts_with("AKIA"), "{admin_key_id}");

        let admin_s3 = moto.s3_client(MOTO_REGION);
        admin_s3.create_bucket().bucket("stowage-enforced").send().await.unwrap();

        let iam = moto.iam_client();
        iam.create_user().user_name("uploader").send().await.unwrap();
        iam.put_user_policy()
            .user_name("uploader")
            .policy_name("put-recordings")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::stowage-enforced/recordings/*"}]}"#,
            )
            .send()
            .await
            .unwrap();
        let created = iam.create_access_key().user_name("uploader").send().await.unwrap();
        let key = created.access_key().unwrap();
        let uploader_s3 = s3_with_key(&moto, key.access_key_id(), key.secret_access_key());

        put(&uploader_s3, "recordings/allowed.txt").await.unwrap();
        let denied = put(&uploader_s3, "elsewhere/denied.txt").await.unwrap_err();
        assert_eq!(denied.code(), Some("AccessDenied"));
        let stranger = s3_with_key(&moto, "testing", "testing");
        let refused = put(&stranger, "recordings/stranger.txt").await.unwrap_err();
        assert_eq!(refused.code(), Some("InvalidAccessKeyId"));

        moto.enforce_iam(false);
        put(&stranger, "recordings/stranger.txt").await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_reset_under_enforcement_makes_a_new_admin() {
    bounded(async {
        let moto = Moto::start();
        moto.enforce_iam(true);
        let first_key_id = env_value(&moto.aws_env(), "AWS_ACCESS_KEY_ID").to_owned();

        moto.reset();

        let second_key_id = env_value(&moto.aws_env(), "AWS_ACCESS_KEY_ID").to_owned();
        assert_ne!(first_key_id, second_key_id);
        let s3 = moto.s3_client(MOTO_REGION);
        s3.create_bucket().bucket("stowage-after-reset").send().await.unwrap();
        let stale = s3_with_key(&moto, &first_key_id, "whatever");
        let refused = stale.list_buckets().send().await.unwrap_err();
        assert_eq!(refused.code(), Some("InvalidAccessKeyId"));
    })
    .await;
}

async fn bucket_names(s3: &aws_sdk_s3::Client) -> Vec<String> {
    let listed = s3.list_buckets().send().await.unwrap();
    listed.buckets().iter().filter_map(|bucket| bucket.name().map(str::to_owned)).collect()
}

fn s3_with_key(moto: &Moto, key_id: &str, secret: &str) -> aws_sdk_s3::Client {
    let credentials = Credentials::new(key_id, secret, None, None, "test");
    let config = moto
        .aws_sdk_config(MOTO_REGION)
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build();
    path_style_s3_client(&config)
}

async fn put(
    s3: &aws_sdk_s3::Client,
    key: &str,
) -> Result<(), aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::put_object::PutObjectError>> {
    s3.put_object()
        .bucket("stowage-enforced")
        .key(key)
        .body(ByteStream::from_static(b"twilio write check"))
        .send()
        .await
        .map(drop)
}

/// AWS keeps a user's tags when its path changes; moto 5.2.1 keyed them by the old ARN and lost
/// them, until the launcher's `sitecustomize.py` made it keep them.
#[tokio::test]
async fn a_users_tags_survive_a_new_path_as_on_aws() {
    bounded(async {
        let moto = Moto::start();
        let iam = moto.iam_client();
        let tag = aws_sdk_iam::types::Tag::builder().key("managed-by").value("stowage").build().unwrap();
        iam.create_user().user_name("u").path("/twilio/").tags(tag).send().await.unwrap();
        iam.update_user().user_name("u").new_path("/twilio/video/").send().await.unwrap();

        let user = iam.get_user().user_name("u").send().await.unwrap();
        let user = user.user().unwrap();
        assert_eq!(user.arn(), "arn:aws:iam::123456789012:user/twilio/video/u");
        let tags: Vec<(String, String)> =
            user.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect();
        assert_eq!(tags, [("managed-by".to_owned(), "stowage".to_owned())]);
    })
    .await;
}

/// AWS refuses to delete a managed policy while it is attached or has versions besides its
/// default (`DeleteConflict`); moto 5.2.1 deleted it, until the launcher's `sitecustomize.py`
/// made it refuse.
#[tokio::test]
async fn a_managed_policy_in_use_or_with_versions_cannot_be_deleted_as_on_aws() {
    bounded(async {
        let moto = Moto::start();
        let iam = moto.iam_client();
        let document =
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}"#;
        let policy = iam.create_policy().policy_name("p").policy_document(document).send().await.unwrap();
        let arn = policy.policy().and_then(|policy| policy.arn()).unwrap().to_owned();
        iam.create_user().user_name("u").send().await.unwrap();
        iam.attach_user_policy().user_name("u").policy_arn(&arn).send().await.unwrap();
        let code = |error: &aws_sdk_iam::error::SdkError<_>| {
            use aws_sdk_iam::error::ProvideErrorMetadata;
            error.as_service_error().and_then(|error: &aws_sdk_iam::operation::delete_policy::DeletePolicyError| {
                error.code().map(str::to_owned)
            })
        };

        let attached = iam.delete_policy().policy_arn(&arn).send().await.expect_err("deleted while attached");
        assert_eq!(code(&attached).as_deref(), Some("DeleteConflict"), "{attached:?}");
        iam.detach_user_policy().user_name("u").policy_arn(&arn).send().await.unwrap();
        iam.create_policy_version().policy_arn(&arn).policy_document(document).send().await.unwrap();
        let versioned = iam.delete_policy().policy_arn(&arn).send().await.expect_err("deleted with two versions");
        assert_eq!(code(&versioned).as_deref(), Some("DeleteConflict"), "{versioned:?}");
        iam.delete_policy_version().policy_arn(&arn).version_id("v2").send().await.unwrap();
        iam.delete_policy().policy_arn(&arn).send().await.expect("an unused policy with one version is deleted");
    })
    .await;
}
