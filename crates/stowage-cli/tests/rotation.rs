//! Key rotation end to end: `stowage rotate`, `rotate_after_days` and `--replace`, against moto
//! (through the recording proxy) and the Twilio emulator. What exists is checked through the
//! AWS SDK and the emulator's API, and the order through their request logs.

mod common;

use std::time::Duration;

use common::{DAY, dev_spec_rotating_after, state, world};
use stowage_test_support::dev::{BUCKET, REGION, USER};
use stowage_test_support::{Fault, FaultAction, FaultMatch, World, insta_filters, within};

const SPEC: &str = "dev.toml";
const ACCESS_KEY_ADDRESS: &str = "aws_iam_access_key.uploader";
const CREDENTIAL_ADDRESS: &str = "twilio_aws_credential.main";
const CREDENTIALS_PATH: &str = "/v1/Credentials/AWS";
const RECORDING_SETTINGS_PATH: &str = "/v1/RecordingSettings/Default";
const COMPOSITION_SETTINGS_PATH: &str = "/v1/CompositionSettings/Default";
/// Twilio writes a test file where each storage points when storage is switched on.
const TWILIO_TEST_FILES: [&str; 2] =
    ["recordings/twilio-storage-test-recordings.txt", "compositions/twilio-storage-test-compositions.txt"];
const TEST_TIMEOUT: Duration = Duration::from_secs(240);

async fn applied(world: &World) {
    let apply = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
    assert_eq!(apply.code, Some(0), "the first apply failed\n{apply}");
}

/// The access keys of the uploader, as moto lists them: (id, status).
async fn keys(world: &World) -> Vec<(String, String)> {
    let listed = world.moto.iam_client().list_access_keys().user_name(USER).send().await;
    let listed = listed.unwrap_or_else(|error| panic!("moto lists the keys: {error:?}"));
    listed
        .access_key_metadata()
        .iter()
        .map(|key| {
            let status = key.status().map(|status| status.as_str().to_owned()).unwrap_or_default();
            (key.access_key_id().unwrap_or_default().to_owned(), status)
        })
        .collect()
}

/// Both settings store with `credential`, and the key the state says it holds is active.
async fn settings_use(world: &World, credential: &str, key: &str) {
    for path in [RECORDING_SETTINGS_PATH, COMPOSITION_SETTINGS_PATH] {
        let settings = world.twilio_get(path).await;
        assert_eq!(settings["aws_credentials_sid"], credential, "{path}: {settings}");
    }
    let keys = keys(world).await;
    assert!(keys.contains(&(key.to_owned(), "Active".to_owned())), "the key {key} is not active: {keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_makes_and_proves_the_new_key_and_credential_before_the_old_ones_go() {
    within(TEST_TIMEOUT, async {
        let world = world().start().await;
        applied(&world).await;
        let old_key = keys(&world).await.remove(0).0;
        let old_credential = world.twilio_aws_credentials().await.remove(0);
        world.aws.clear();
        let twilio_mark = world.twilio_log_mark();

        // Held at the very last write, the old key's delete: by then the settings use the new
        // credential, whose key is active, and the old credential is gone.
        let last = FaultMatch::Occurrence { operation: "DeleteAccessKey".to_owned(), nth: 0 };
        world.aws.inject(Fault::new(last, FaultAction::HoldRequest, 1));
        let running = world.stowage(&["rotate", SPEC, "--auto-approve"]).spawn();
        world.aws.held().await;
        let credentials = world.twilio_aws_credentials().await;
        assert_eq!(credentials.len(), 1, "Twilio's credentials before the old key goes: {credentials:?}");
        assert_ne!(credentials[0], old_credential, "the old credential is still there");
        let recorded = state(&world.state_path());
        let new_key = recorded.get(ACCESS_KEY_ADDRESS).expect("the key is recorded").id.clone();
        assert_ne!(new_key, old_key, "the state still records the old key");
        settings_use(&world, &credentials[0], &new_key).await;
        let held = world.emulator.aws_credential_key(&credentials[0]);
        assert_eq!(held.as_deref(), Some(new_key.as_str()), "Twilio's new credential holds another key");
        let aws: Vec<String> = world.aws.requests().iter().map(|request| request.operation.clone()).collect();
        world.aws.clear(); // lets the held delete go without an answer: the SDK sends it again
        let run = running.finish().await;
        assert_eq!(run.code, Some(0), "the rotation failed\n{run}");

        // AWS: the new key, then the write test with it (Twilio's prefixes), and the old key
        // deleted last.
        let position = |operation: &str| aws.iter().position(|seen| seen == operation);
        let (created, wrote) = (position("CreateAccessKey"), position("PutObject"));
        assert!(
            matches!((created, wrote), (Some(created), Some(wrote)) if created < wrote),
            "no write test with the new key: {aws:?}"
        );
        assert_eq!(keys(&world).await, vec![(new_key.clone(), "Active".to_owned())], "the user's keys after");

        // Twilio: the new credential, both settings switched to it (each runs Twilio's write
        // test with it, and succeeds), then the old one deleted.
        let twilio = world.twilio_writes_since(twilio_mark);
        let at = |wanted: &str| twilio.iter().position(|request| request == wanted);
        let order = (
            at(&format!("POST {CREDENTIALS_PATH} 201")),
            at(&format!("POST {RECORDING_SETTINGS_PATH} 200")),
            at(&format!("POST {COMPOSITION_SETTINGS_PATH} 200")),
            at(&format!("DELETE {CREDENTIALS_PATH}/{old_credential} 204")),
        );
        assert!(
            matches!(order, (Some(c), Some(r), Some(s), Some(d)) if c < r && c < s && r < d && s < d),
            "Twilio's writes are not: new credential, both settings, old credential deleted: {twilio:#?}"
        );
        let credential = state(&world.state_path()).get(CREDENTIAL_ADDRESS).expect("recorded").clone();
        assert_eq!(credential.attributes["access_key_id"], new_key.as_str(), "the new credential holds the new key");
        settings_use(&world, &credential.id, &new_key).await;

        // Twilio's write test wrote each test file again, with the new key (versioning keeps both).
        let s3 = world.moto.s3_client(REGION);
        for file in TWILIO_TEST_FILES {
            let versions = s3.list_object_versions().bucket(BUCKET).prefix(file).send().await.expect("listed");
            let count = versions.versions().iter().filter(|version| version.key() == Some(file)).count();
            assert!(count >= 2, "Twilio's test file {file} was not written again: {versions:?}");
        }

        let again = world.stowage(&["plan", SPEC, "--detailed-exitcode"]).await;
        assert_eq!(again.code, Some(0), "the plan after the rotation has something to do\n{again}");
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!("rotate", run.stdout);
        });
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_older_than_rotate_after_days_is_rotated_by_the_next_apply() {
    within(TEST_TIMEOUT, async {
        let spec = dev_spec_rotating_after(90);
        let world = world().spec(&spec).clocked_moto().start().await;
        // Applied 91 days ago, as moto's clock says: the key is 91 days old now.
        world.moto.with_clock_behind(91 * DAY + Duration::from_secs(60), async || applied(&world).await).await;
        let old_key = keys(&world).await.remove(0).0;

        let plan = world.stowage(&["plan", SPEC, "--detailed-exitcode"]).await;
        assert_eq!(plan.code, Some(2), "a 91-day-old key is not rotated\n{plan}");
        assert!(plan.stdout.contains("it is 91 days old; the spec rotates it after 90"), "{plan}");
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!("plan_rotation_due", plan.stdout);
        });

        let apply = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
        assert_eq!(apply.code, Some(0), "the rotating apply failed\n{apply}");
        let after = keys(&world).await;
        assert_eq!(after.len(), 1, "the user's keys after the rotation: {after:?}");
        assert_ne!(after[0].0, old_key, "the old key was kept");
        let again = world.stowage(&["plan", SPEC, "--detailed-exitcode"]).await;
        assert_eq!(again.code, Some(0), "the new key is rotated again\n{again}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_key_stowage_does_not_record_stops_the_rotation_before_any_write() {
    within(TEST_TIMEOUT, async {
        let world = world().start().await;
        applied(&world).await;
        // Someone made a second key on the uploader: IAM allows no third.
        let made = world.moto.iam_client().create_access_key().user_name(USER).send().await.expect("moto makes it");
        let theirs = made.access_key().expect("a key").access_key_id().to_owned();
        let before = std::fs::read(world.state_path()).expect("the state is readable");
        world.aws.clear();
        let twilio_mark = world.twilio_log_mark();

        let rotate = world.stowage(&["rotate", SPEC, "--auto-approve"]).await;
        assert_eq!(rotate.code, Some(1), "the rotation with a third key to make\n{rotate}");
        let shown = format!("{rotate}");
        assert!(shown.contains(&format!("`{theirs}` (not in stowage's state)")), "the key is not named\n{rotate}");
        assert!(shown.contains("delete it, then plan again"), "no way out is given\n{rotate}");
        world.settled().await;
        let writes: Vec<String> = world.aws.writes().iter().map(ToString::to_string).collect();
        assert_eq!(writes, Vec::<String>::new(), "the refused rotation wrote to AWS");
        assert_eq!(world.twilio_writes_since(twilio_mark), Vec::<String>::new(), "it wrote to Twilio");
        assert_eq!(std::fs::read(world.state_path()).expect("readable"), before, "it changed the state");
        assert_eq!(keys(&world).await.len(), 2, "a key was deleted or made");
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!("rotate_refused_by_a_second_key", rotate.stdout);
        });
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_takes_a_credential_with_its_key_and_refuses_what_holds_recordings() {
    within(TEST_TIMEOUT, async {
        let world = world().start().await;
        applied(&world).await;
        let old_key = keys(&world).await.remove(0).0;
        let old_credential = world.twilio_aws_credentials().await.remove(0);
        world.aws.clear();

        // The bucket holds the recordings: refused, nothing written.
        let bucket = world.stowage(&["apply", SPEC, "--replace", "aws_s3_bucket.main", "--auto-approve"]).await;
        assert_eq!(bucket.code, Some(1), "the bucket's replacement\n{bucket}");
        assert!(format!("{bucket}").contains("cannot be replaced on request"), "{bucket}");
        assert!(world.aws.writes().is_empty(), "the refused replacement wrote: {:?}", world.aws.writes());
        let malformed = world.stowage(&["plan", SPEC, "--replace", "bucket"]).await;
        assert_eq!(malformed.code, Some(1), "{malformed}");
        assert!(format!("{malformed}").contains("--replace bucket"), "the bad address is not named\n{malformed}");

        // A saved plan is applied as reviewed: `--replace` does not go with it.
        let saved = world.stowage(&["plan", SPEC, "--replace", CREDENTIAL_ADDRESS, "--out", "rotate.plan"]).await;
        assert_eq!(saved.code, Some(0), "{saved}");
        let mixed = world.stowage(&["apply", "rotate.plan", "--replace", ACCESS_KEY_ADDRESS]).await;
        assert_eq!(mixed.code, Some(1), "{mixed}");
        assert!(format!("{mixed}").contains("applied exactly as it was reviewed"), "{mixed}");

        // The credential: a new one needs a new key's secret, so both are replaced.
        let apply = world.stowage(&["apply", "rotate.plan"]).await;
        assert_eq!(apply.code, Some(0), "the saved replacement\n{apply}");
        let new_key = keys(&world).await;
        assert_eq!(new_key.len(), 1, "{new_key:?}");
        assert_ne!(new_key[0].0, old_key, "the key was kept");
        let credentials = world.twilio_aws_credentials().await;
        assert_eq!(credentials.len(), 1, "{credentials:?}");
        assert_ne!(credentials[0], old_credential, "the credential was kept");
        settings_use(&world, &credentials[0], &new_key[0].0).await;
    })
    .await;
}
