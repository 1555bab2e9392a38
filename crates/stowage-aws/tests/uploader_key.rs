//! With moto's IAM enforcement on, the key stowage makes for Twilio can PutObject under each
//! stored prefix and nothing else: not elsewhere in the bucket, not GetObject, not ListBucket.
//!
//! The key's secret never leaves stowage, so this test drives the AWS provider directly and
//! takes the secret from the in-memory handoff, as the Twilio credential would.

use std::path::Path;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use stowage_aws::AwsProvider;
use stowage_plan::{DesiredValue, desired_resources};
use stowage_provider::{Attributes, CreateRequest, Provider, ProviderName, SecretHandoff};
use stowage_test_support::{Moto, path_style_s3_client};

const REGION: &str = "us-east-2";
const BUCKET: &str = "acme-video-dev";

#[tokio::test(flavor = "multi_thread")]
async fn the_uploader_key_can_only_put_objects_under_the_stored_prefixes() {
    let moto = Moto::start();
    moto.enforce_iam(true);
    let aws = AwsProvider::from_config(&moto.aws_sdk_config(REGION), REGION.to_owned());

    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/dev.toml")).unwrap();
    let spec = stowage_spec::parse("dev.toml", &text).unwrap().spec;
    let handoff = SecretHandoff::new();
    let mut access_key_id = None;
    // The AWS resources in dependency order, as apply would create them (the key's create
    // also runs the write test under each prefix, with enforcement on).
    for resource in desired_resources(&spec)
        .iter()
        .filter(|resource| resource.address.resource_type.provider() == ProviderName::Aws)
    {
        let attributes: Attributes = resource
            .attributes
            .iter()
            .map(|(name, value)| match value {
                DesiredValue::Known(value) => (name.clone(), value.clone()),
                DesiredValue::Reference(_) | DesiredValue::Template(_) => {
                    unreachable!("without KMS, AWS resources refer to nothing unknown")
                }
            })
            .collect();
        let applied = aws
            .create(CreateRequest {
                address: &resource.address,
                attributes: &attributes,
                handoff: &handoff,
                marker: None,
            })
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", resource.address));
        if resource.address.resource_type == stowage_provider::ResourceType::IamAccessKey {
            access_key_id = Some(applied.id);
        }
    }
    let access_key_id = access_key_id.expect("an access key was created");
    let calls = aws.calls().snapshot();
    for operation in ["s3:CreateBucket", "iam:CreateUser", "iam:PutUserPolicy", "iam:CreateAccessKey", "s3:PutObject"] {
        assert!(calls.get(operation).is_some_and(|count| *count >= 1), "{operation} counted: {calls:?}");
    }
    let secret = handoff.get(&access_key_id).expect("the secret waits in the handoff");

    let uploader_config = moto
        .aws_sdk_config(REGION)
        .into_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new(&access_key_id, secret.expose(), None, None, "test"),
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let uploader = path_style_s3_client(&uploader_config);
    let put = |key: &'static str| {
        uploader.put_object().bucket(BUCKET).key(key).body(ByteStream::from_static(b"video")).send()
    };

    put("recordings/RT123.mka").await.expect("PutObject under recordings/");
    put("compositions/CJ123.mp4").await.expect("PutObject under compositions/");

    let denied = |code: Option<&str>| code == Some("AccessDenied");
    let elsewhere = put("elsewhere/file.txt").await.unwrap_err();
    assert!(denied(elsewhere.code()), "PutObject outside the prefixes: {elsewhere:?}");
    let get = uploader.get_object().bucket(BUCKET).key("recordings/RT123.mka").send().await.unwrap_err();
    assert!(denied(get.code()), "GetObject: {get:?}");
    let list = uploader.list_objects_v2().bucket(BUCKET).send().await.unwrap_err();
    assert!(denied(list.code()), "ListBucket: {list:?}");
}
