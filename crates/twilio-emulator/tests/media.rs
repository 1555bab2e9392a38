//! Twilio's asynchronous side against moto with IAM enforcement on: finished recordings and
//! compositions are uploaded with the stored AWS credential to the bucket and path of the
//! settings, and each way that upload breaks raises the alert Twilio would, deletes the media
//! and raises 53616. What exists is checked in S3 as moto's administrator and through the
//! emulator's API, every answer against the OpenAPI documents.

mod support;

use serde_json::{Value, json};
use support::checked::CheckedTwilio;
use support::moto::{AccessKey, MotoServer, REGION, allow};
use support::*;
use twilio_emulator::{MediaKind, MediaOutcome, RunningEmulator};

const BUCKET: &str = "stowage-emulator-media";
const UPLOADER: &str = "uploader";
const RECORDINGS_SETTINGS: &str = "/v1/RecordingSettings/Default";
const COMPOSITIONS_SETTINGS: &str = "/v1/CompositionSettings/Default";
/// The test files Twilio's write test left when storage was switched on.
const TEST_FILES: [&str; 2] =
    ["compositions/twilio-storage-test-compositions.txt", "recordings/twilio-storage-test-recordings.txt"];

/// The uploader's policy: `PutObject` under both prefixes, and `extra` statements.
fn uploader_policy(extra: &[String]) -> String {
    let put = format!(
        r#"{{"Effect": "Allow", "Action": "s3:PutObject", "Resource": ["arn:aws:s3:::{BUCKET}/recordings/*", "arn:aws:s3:::{BUCKET}/compositions/*"]}}"#
    );
    let statements: Vec<String> = std::iter::once(put).chain(extra.iter().cloned()).collect();
    format!(r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#, statements.join(", "))
}

/// moto with the bucket and the uploader, IAM enforcement on; the emulator with the
/// uploader's credential and both settings storing into the bucket (recordings at the guide's
/// dash host, compositions at the dot host).
struct World {
    moto: MotoServer,
    emulator: RunningEmulator,
    twilio: CheckedTwilio,
    uploader: AccessKey,
    credential_sid: String,
}

impl World {
    async fn create() -> Self {
        let moto = MotoServer::start().await;
        moto.create_bucket(BUCKET).await;
        let uploader = moto.user_with_policy(UPLOADER, &uploader_policy(&[])).await;
        moto.enforce_iam().await;
        let emulator = start_emulator(moto.endpoint()).await;
        let twilio = CheckedTwilio::new(Twilio::account(&emulator));
        let credentials = format!("{}:{}", uploader.id, uploader.secret);
        let created = twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials)]).await;
        assert_eq!(created.status, 201, "{:#}", created.body);
        let credential_sid = created.body["sid"].as_str().unwrap().to_owned();
        let world = Self { moto, emulator, twilio, uploader, credential_sid };
        world.switch_storage(true).await;
        world
    }

    /// Saves both settings with storage `on` (Twilio's write test runs when it is).
    async fn switch_storage(&self, on: bool) {
        let enabled = if on { "true" } else { "false" };
        for (path, url) in [
            (RECORDINGS_SETTINGS, format!("https://{BUCKET}.s3-{REGION}.amazonaws.com/recordings")),
            (COMPOSITIONS_SETTINGS, format!("https://{BUCKET}.s3.{REGION}.amazonaws.com/compositions")),
        ] {
            let form = [
                ("FriendlyName", "stowage"),
                ("AwsCredentialsSid", self.credential_sid.as_str()),
                ("AwsS3Url", url.as_str()),
                ("AwsStorageEnabled", enabled),
            ];
            let saved = self.twilio.post(path, &form).await;
            assert_eq!(saved.status, 200, "{path}: {:#}", saved.body);
        }
    }

    async fn simulate(&self, kind: MediaKind, count: u32) -> MediaOutcome {
        self.emulator.simulate_media(kind, count).await.expect("the simulation runs")
    }

    /// Every object in the bucket, but the write test's files: key and size.
    async fn media_objects(&self) -> Vec<(String, i64)> {
        let objects = self.moto.objects(BUCKET).await;
        let (test_files, media): (Vec<_>, Vec<_>) =
            objects.into_iter().partition(|(key, _)| TEST_FILES.contains(&key.as_str()));
        assert_eq!(test_files.len(), 2, "the write test's files are there");
        media
    }

    /// The alerts, newest first, as `(error_code, resource_sid)`.
    async fn alerts(&self) -> Vec<(String, String)> {
        let listed = self.twilio.get("/v1/Alerts").await;
        assert_eq!(listed.status, 200, "{:#}", listed.body);
        let alerts = listed.body["alerts"].as_array().unwrap();
        alerts
            .iter()
            .map(|alert| {
                assert_eq!(alert["log_level"], "error");
                let code = alert["error_code"].as_str().unwrap();
                assert_eq!(alert["more_info"], format!("https://www.twilio.com/docs/errors/{code}"));
                (code.to_owned(), alert["resource_sid"].as_str().unwrap_or_default().to_owned())
            })
            .collect()
    }

    /// What a person reads of the alerts, newest first.
    async fn alert_texts(&self) -> Value {
        let listed = self.twilio.get("/v1/Alerts").await;
        let alerts = listed.body["alerts"].as_array().unwrap();
        alerts
            .iter()
            .map(|alert| json!({"error_code": alert["error_code"], "alert_text": alert["alert_text"]}))
            .collect()
    }

    async fn media(&self, kind: MediaKind, sid: &str) -> Value {
        let path = match kind {
            MediaKind::Recording => format!("/v1/Recordings/{sid}"),
            MediaKind::Composition => format!("/v1/Compositions/{sid}"),
        };
        let fetched = self.twilio.get(&path).await;
        assert_eq!(fetched.status, 200, "{:#}", fetched.body);
        fetched.body
    }

    /// Finishes one recording and one composition, which must both fail with `recording_code`
    /// (and the composition's counterpart, ten above): each is deleted, raises its cause and
    /// 53616, and nothing reaches the bucket.
    async fn assert_both_fail_with(&self, recording_code: u32) -> Value {
        let recording = self.simulate(MediaKind::Recording, 1).await;
        let composition = self.simulate(MediaKind::Composition, 1).await;
        let mut expected_alerts = Vec::new();
        for (outcome, code) in [(&recording, recording_code), (&composition, recording_code + 10)] {
            assert!(outcome.stored.is_empty() && outcome.in_twilio_cloud.is_empty(), "{outcome:#?}");
            let [failed] = outcome.failed.as_slice() else { panic!("one failure: {outcome:#?}") };
            assert_eq!(failed.error_code, code, "{outcome:#?}");
            assert_eq!(failed.alert_sids.len(), 2);
            let media = self.media(outcome.kind, &failed.sid).await;
            assert_eq!(media["status"], "deleted");
            assert_eq!(media["media_external_location"], Value::Null);
            if outcome.kind == MediaKind::Composition {
                assert_eq!(media["date_deleted"], media["date_created"]);
            }
            for (alert_sid, alert_code) in failed.alert_sids.iter().zip([code, 53616]) {
                let alert = self.twilio.get(&format!("/v1/Alerts/{alert_sid}")).await;
                assert_eq!(alert.body["error_code"], alert_code.to_string());
                assert_eq!(alert.body["resource_sid"], failed.sid.as_str());
            }
            // Newest first: 53616 after the cause.
            expected_alerts.insert(0, (code.to_string(), failed.sid.clone()));
            expected_alerts.insert(0, ("53616".to_owned(), failed.sid.clone()));
        }
        assert_eq!(self.alerts().await, expected_alerts);
        assert!(self.media_objects().await.is_empty());
        let text = serde_json::to_string(&self.alert_texts().await).unwrap();
        assert!(!text.contains(&self.uploader.secret), "{text}");
        self.alert_texts().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_on_stores_every_media_file_under_its_prefix() {
    within(120, async {
        let world = World::create().await;
        let admin = Admin::new(&world.emulator);
        let (status, recordings) = admin.post("media", json!({"kind": "recording", "count": 3})).await;
        assert_eq!(status, 200, "{recordings:#}");
        let compositions = world.simulate(MediaKind::Composition, 2).await;

        // Each under its prefix, named by its SID, a few KB.
        let stored: Vec<(String, String)> = recordings["stored"]
            .as_array()
            .unwrap()
            .iter()
            .map(|file| (file["sid"].as_str().unwrap().to_owned(), file["key"].as_str().unwrap().to_owned()))
            .chain(compositions.stored.iter().map(|file| (file.sid.clone(), file.key.clone())))
            .collect();
        assert_eq!(stored.len(), 5);
        for (sid, key) in &stored {
            let expected =
                if sid.starts_with("RT") { format!("recordings/{sid}.mka") } else { format!("compositions/{sid}.mp4") };
            assert_eq!(*key, expected);
        }
        let mut expected: Vec<(String, i64)> = stored.iter().map(|(_, key)| (key.clone(), 4096)).collect();
        expected.sort();
        assert_eq!(world.media_objects().await, expected);

        // Completed, with where Twilio put them, at the host form of the settings' URL.
        for (sid, key) in &stored {
            let kind = if sid.starts_with("RT") { MediaKind::Recording } else { MediaKind::Composition };
            let media = world.media(kind, sid).await;
            assert_eq!(media["status"], "completed");
            let host = if kind == MediaKind::Recording { format!("s3-{REGION}") } else { format!("s3.{REGION}") };
            assert_eq!(media["media_external_location"], format!("https://{BUCKET}.{host}.amazonaws.com/{key}"));
        }
        let completed = world.twilio.get("/v1/Recordings?Status=completed").await;
        assert_eq!(completed.body["recordings"].as_array().map(Vec::len), Some(3));
        assert!(world.alerts().await.is_empty());
        assert!(compositions.failed.is_empty() && compositions.in_twilio_cloud.is_empty());
        snapshot_settings().bind(|| insta::assert_json_snapshot!("recordings_stored", recordings));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_no_longer_allows_the_prefix_fails_with_53615_and_53616() {
    within(120, async {
        let world = World::create().await;
        world
            .moto
            .put_user_policy(UPLOADER, &allow(r#""s3:PutObject""#, &format!("arn:aws:s3:::{BUCKET}/elsewhere/*")))
            .await;
        let alerts = world.assert_both_fail_with(53615).await;
        snapshot_settings().bind(|| insta::assert_json_snapshot!("policy_narrowed_alerts", alerts));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_access_key_fails_with_53611_and_53616() {
    within(120, async {
        let world = World::create().await;
        world.moto.deactivate(UPLOADER, &world.uploader).await;
        let alerts = world.assert_both_fail_with(53611).await;
        snapshot_settings().bind(|| insta::assert_json_snapshot!("key_deactivated_alerts", alerts));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_deleted_from_twilio_fails_with_53613_and_53616() {
    within(120, async {
        let world = World::create().await;
        let deleted = world.twilio.delete(&format!("/v1/Credentials/AWS/{}", world.credential_sid)).await;
        assert_eq!(deleted.status, 204);
        // The settings still name it, as Twilio's do.
        let settings = world.twilio.get(RECORDINGS_SETTINGS).await;
        assert_eq!(settings.body["aws_credentials_sid"], world.credential_sid.as_str());
        let alerts = world.assert_both_fail_with(53613).await;
        snapshot_settings().bind(|| insta::assert_json_snapshot!("credential_deleted_alerts", alerts));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kms_key_the_uploader_may_not_use_fails_with_53615_until_the_policy_allows_it() {
    within(120, async {
        let world = World::create().await;
        let key_arn = world.moto.create_kms_key().await;
        world.moto.encrypt_bucket_with(BUCKET, &key_arn).await;
        let alerts = world.assert_both_fail_with(53615).await;
        snapshot_settings().bind(|| insta::assert_json_snapshot!("kms_key_refused_alerts", alerts));

        // With kms:GenerateDataKey on the key, the same upload succeeds.
        let kms = format!(r#"{{"Effect": "Allow", "Action": "kms:GenerateDataKey*", "Resource": "{key_arn}"}}"#);
        world.moto.put_user_policy(UPLOADER, &uploader_policy(&[kms])).await;
        let stored = world.simulate(MediaKind::Recording, 1).await;
        assert_eq!(stored.stored.len(), 1, "{stored:#?}");
        assert_eq!(world.media_objects().await, [(stored.stored[0].key.clone(), 4096)]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_off_stores_nothing_and_raises_nothing() {
    within(120, async {
        let world = World::create().await;
        world.switch_storage(false).await;
        let recordings = world.simulate(MediaKind::Recording, 2).await;
        let compositions = world.simulate(MediaKind::Composition, 2).await;
        for outcome in [&recordings, &compositions] {
            assert!(outcome.stored.is_empty() && outcome.failed.is_empty(), "{outcome:#?}");
            assert_eq!(outcome.in_twilio_cloud.len(), 2);
            for sid in &outcome.in_twilio_cloud {
                let media = world.media(outcome.kind, sid).await;
                assert_eq!(media["status"], "completed");
                assert_eq!(media["media_external_location"], Value::Null);
            }
        }
        assert!(world.media_objects().await.is_empty());
        assert!(world.alerts().await.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_endpoint_that_is_gone_stops_the_simulation_with_502() {
    within(120, async {
        let World { moto, emulator, twilio, .. } = World::create().await;
        drop(moto);
        let (status, answer) = Admin::new(&emulator).post("media", json!({"kind": "recording", "count": 2})).await;
        assert_eq!(status, 502, "{answer:#}");
        assert!(answer["error"].as_str().unwrap().starts_with("the emulator could not use its S3 endpoint: "));
        // Nothing was finished: it is the emulator's setup, not the customer's, that failed.
        assert_eq!(twilio.get("/v1/Recordings").await.body["recordings"], json!([]));
        assert_eq!(twilio.get("/v1/Alerts").await.body["alerts"], json!([]));
    })
    .await;
}
