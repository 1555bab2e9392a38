use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;
use stowage_test_support::{
    AwsProxy, Fault, FaultAction, FaultMatch, MOTO_REGION, Moto, ObservedRequest, path_style_s3_client,
};

use crate::bounded;

const BUCKET: &str = "stowage-proxy-check";

/// moto with a proxy in front, and SDK clients that go through the proxy.
struct Fixture {
    // The proxy goes first: it forwards to moto.
    proxy: AwsProxy,
    moto: Moto,
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
}

impl Fixture {
    async fn start() -> Fixture {
        let moto = Moto::start();
        let proxy = AwsProxy::start(&moto.endpoint()).await;
        let s3 = path_style_s3_client(&moto.aws_sdk_config_via(&proxy.endpoint(), MOTO_REGION));
        let iam = aws_sdk_iam::Client::new(&moto.aws_sdk_config_via(&proxy.endpoint(), MOTO_REGION));
        Fixture { proxy, moto, s3, iam }
    }

    /// What the proxy saw, one line per request.
    fn observed(&self) -> Vec<String> {
        self.proxy.requests().iter().map(ObservedRequest::to_string).collect()
    }

    async fn create_bucket(&self) {
        self.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    }

    async fn put(
        &self,
        key: &str,
    ) -> Result<(), aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::put_object::PutObjectError>> {
        self.s3.put_object().bucket(BUCKET).key(key).body(ByteStream::from_static(b"0123456789")).send().await.map(drop)
    }
}

#[tokio::test]
async fn reads_and_writes_are_recorded_in_order_as_the_sdk_names_them() {
    bounded(async {
        let fixture = Fixture::start().await;
        fixture.create_bucket().await;
        fixture.s3.head_bucket().bucket(BUCKET).send().await.unwrap();
        fixture.s3.get_bucket_location().bucket(BUCKET).send().await.unwrap();
        fixture.put("recordings/RT1.mka").await.unwrap();
        let head = fixture.s3.head_object().bucket(BUCKET).key("recordings/RT1.mka").send().await.unwrap();
        fixture.s3.list_objects_v2().bucket(BUCKET).send().await.unwrap();
        fixture.iam.create_user().user_name("uploader").send().await.unwrap();
        fixture.iam.get_user().user_name("uploader").send().await.unwrap();

        // HEAD keeps the object's size though its body is empty.
        assert_eq!(head.content_length(), Some(10));
        insta::assert_snapshot!(fixture.observed().join("\n"));
        let writes: Vec<String> = fixture.proxy.writes().iter().map(|request| request.operation.clone()).collect();
        assert_eq!(writes, ["CreateBucket", "PutObject", "CreateUser"]);
    })
    .await;
}

#[tokio::test]
async fn an_injected_500_is_retried_to_success() {
    bounded(async {
        let fixture = Fixture::start().await;
        fixture.create_bucket().await;
        fixture.proxy.clear();
        fixture.proxy.inject(Fault::once("PutObject", FaultAction::Status(500)));

        fixture.put("recordings/RT1.mka").await.unwrap();

        assert_eq!(fixture.observed(), ["s3 PutObject write 500", "s3 PutObject write 200"]);
        let stored = fixture.moto.s3_client(MOTO_REGION);
        let object = stored.get_object().bucket(BUCKET).key("recordings/RT1.mka").send().await.unwrap();
        let body = object.body.collect().await.unwrap().into_bytes();
        assert_eq!(&body[..], b"0123456789");
    })
    .await;
}

#[tokio::test]
async fn throttling_past_the_retry_budget_surfaces_as_throttling() {
    bounded(async {
        let fixture = Fixture::start().await;
        fixture.proxy.inject(Fault::new(FaultMatch::Operation("CreateUser".to_owned()), FaultAction::Throttle, 10));

        let error = fixture.iam.create_user().user_name("uploader").send().await.unwrap_err();

        assert_eq!(error.code(), Some("Throttling"), "{}", DisplayErrorContext(&error));
        // The SDK's standard retry makes three attempts; none reached moto.
        assert_eq!(fixture.observed(), ["iam CreateUser write 400"; 3]);
        let listed = fixture.moto.iam_client().list_users().send().await.unwrap();
        assert!(listed.users().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_dropped_connection_is_recorded_without_a_status_and_retried() {
    bounded(async {
        let fixture = Fixture::start().await;
        fixture.create_bucket().await;
        fixture.proxy.inject(Fault::once("PutObject", FaultAction::DropConnection));

        fixture.put("recordings/RT1.mka").await.unwrap();

        assert_eq!(fixture.observed(), ["s3 CreateBucket write 200", "s3 PutObject write 0", "s3 PutObject write 200"]);
    })
    .await;
}

#[tokio::test]
async fn a_delay_longer_than_the_client_timeout_times_the_call_out() {
    bounded(async {
        let fixture = Fixture::start().await;
        let impatient_config = fixture
            .moto
            .aws_sdk_config_via(&fixture.proxy.endpoint(), MOTO_REGION)
            .to_builder()
            .timeout_config(TimeoutConfig::builder().operation_timeout(Duration::from_millis(300)).build())
            .build();
        let impatient = path_style_s3_client(&impatient_config);
        fixture.proxy.inject(Fault::new(FaultMatch::Any, FaultAction::Delay(Duration::from_secs(60)), 1));

        let error = impatient.list_buckets().send().await.unwrap_err();

        assert!(matches!(error, aws_sdk_s3::error::SdkError::TimeoutError(_)), "{}", DisplayErrorContext(&error));
        // The delayed request is still held by the proxy, so it has no status yet.
        assert_eq!(fixture.observed(), ["s3 ListBuckets read 0"]);
    })
    .await;
}

#[tokio::test]
async fn nth_counts_from_the_last_clear() {
    bounded(async {
        let fixture = Fixture::start().await;
        fixture.create_bucket().await;
        fixture.proxy.clear();
        assert!(fixture.proxy.requests().is_empty());
        fixture.proxy.inject(Fault::new(FaultMatch::Nth(1), FaultAction::Status(403), 1));

        fixture.s3.head_bucket().bucket(BUCKET).send().await.unwrap();
        let denied = fixture.s3.get_bucket_location().bucket(BUCKET).send().await.unwrap_err();
        fixture.s3.get_bucket_location().bucket(BUCKET).send().await.unwrap();

        assert_eq!(denied.code(), Some("AccessDenied"));
        assert_eq!(
            fixture.observed(),
            ["s3 HeadBucket read 200", "s3 GetBucketLocation read 403", "s3 GetBucketLocation read 200"]
        );
    })
    .await;
}

#[tokio::test]
async fn signatures_stay_valid_through_the_proxy_under_iam_enforcement() {
    bounded(async {
        let moto = Moto::start();
        moto.enforce_iam(true);
        let proxy = AwsProxy::start(&moto.endpoint()).await;
        let config = moto.aws_sdk_config_via(&proxy.endpoint(), MOTO_REGION);
        let s3 = path_style_s3_client(&config);
        let iam = aws_sdk_iam::Client::new(&config);

        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        iam.create_user().user_name("uploader").send().await.unwrap();

        let statuses: Vec<u16> = proxy.requests().iter().map(|request| request.status).collect();
        assert_eq!(statuses, [200, 200]);
    })
    .await;
}
