use stowage_test_support::{
    MOTO_REGION, Moto, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, insta_filters, start_emulator, twilio_env,
};

use crate::bounded;

const BUCKET: &str = "acme-video-test";

#[tokio::test]
async fn twilio_env_points_both_apis_at_the_emulator() {
    bounded(async {
        let moto = Moto::start();
        let emulator = start_emulator(&moto.endpoint()).await;

        let rendered: Vec<String> =
            twilio_env(&emulator.base_url()).iter().map(|(name, value)| format!("{name}={value}")).collect();

        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!(rendered.join("\n"));
        });
    })
    .await;
}

#[tokio::test]
async fn the_emulator_knows_the_test_account_and_writes_its_check_into_moto() {
    bounded(async {
        let moto = Moto::start();
        let s3 = moto.s3_client(MOTO_REGION);
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        let emulator = start_emulator(&moto.endpoint()).await;
        let base_url = emulator.base_url();
        let http = reqwest::Client::new();

        let stranger = http
            .get(format!("{base_url}/v1/Credentials/AWS"))
            .basic_auth(TEST_ACCOUNT_SID, Some("not-the-token"))
            .send()
            .await
            .unwrap();
        assert_eq!(stranger.status(), 401);

        let credential = http
            .post(format!("{base_url}/v1/Credentials/AWS"))
            .basic_auth(TEST_ACCOUNT_SID, Some(TEST_AUTH_TOKEN))
            .form(&[("Credentials", "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")])
            .send()
            .await
            .unwrap();
        assert_eq!(credential.status(), 201);
        let credential: serde_json::Value = credential.json().await.unwrap();
        let credential_sid = credential["sid"].as_str().unwrap();

        let settings = http
            .post(format!("{base_url}/v1/RecordingSettings/Default"))
            .basic_auth(TEST_ACCOUNT_SID, Some(TEST_AUTH_TOKEN))
            .form(&[
                ("FriendlyName", "stowage"),
                ("AwsCredentialsSid", credential_sid),
                ("AwsS3Url", &format!("https://{BUCKET}.s3-{MOTO_REGION}.amazonaws.com/recordings")),
                ("AwsStorageEnabled", "true"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(settings.status(), 200, "{}", settings.text().await.unwrap());

        // The emulator's write test reached the moto it was given.
        let listed = s3.list_objects_v2().bucket(BUCKET).send().await.unwrap();
        let keys: Vec<&str> = listed.contents().iter().filter_map(|object| object.key()).collect();
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert!(keys[0].starts_with("recordings/"), "{keys:?}");
    })
    .await;
}
