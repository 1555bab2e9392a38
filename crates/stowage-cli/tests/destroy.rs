//! Destroy end to end, against moto (through the recording proxy) and the Twilio emulator:
//! storage switched off before anything else is written, everything but what holds recordings
//! deleted, a bucket with recordings kept with its KMS key, an empty one deleted with its key
//! scheduled for deletion; saved destroy plans that went stale refused, and `prevent_destroy`
//! refused before any call. What exists is checked with the AWS SDK and the emulator's API.

mod common;
mod destroying;

use std::time::Duration;

use common::{state, world};
use destroying::{
    BUCKET_KEY_ADDRESS, RECORDINGS, destroyed, encrypted_dev_spec, kms_key_state, put_recordings, recordings,
    recordings_in,
};
use stowage_test_support::dev::{BUCKET, REGION, USER};
use stowage_test_support::{Fault, FaultAction, FaultMatch, World, insta_filters, within};

const SPEC: &str = "dev.toml";
const TEST_TIMEOUT: Duration = Duration::from_secs(240);

async fn applied(world: &World) {
    let apply = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
    assert_eq!(apply.code, Some(0), "the apply failed\n{apply}");
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!(name, text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_switches_storage_off_first_and_keeps_a_bucket_with_recordings_and_its_key() {
    within(TEST_TIMEOUT, async {
        let world = world().spec(&encrypted_dev_spec()).start().await;
        applied(&world).await;
        let bytes = put_recordings(&world).await;
        let kms_key = state(&world.state_path()).get(BUCKET_KEY_ADDRESS).expect("the key is recorded").id.clone();
        let credential = world.twilio_aws_credentials().await.remove(0);
        let twilio_mark = world.twilio_log_mark();
        world.aws.clear();

        // Held at the first write to AWS: by then Twilio stores in its own cloud again, and
        // the only Twilio writes were switching storage off, then deleting the credential.
        world.aws.inject(Fault::new(FaultMatch::Write, FaultAction::HoldRequest, 1));
        let running = world.stowage(&["destroy", SPEC, "--auto-approve"]).spawn();
        let first_aws_write = world.aws.held().await;
        let writes = world.twilio_writes_since(twilio_mark);
        let mut storage_off: Vec<&str> = writes[..2].iter().map(String::as_str).collect();
        storage_off.sort_unstable();
        assert_eq!(
            storage_off,
            ["POST /v1/CompositionSettings/Default 200", "POST /v1/RecordingSettings/Default 200"],
            "storage is switched off by the first two writes: {writes:#?}"
        );
        assert_eq!(writes[2..], [format!("DELETE /v1/Credentials/AWS/{credential} 204")]);
        for settings in ["RecordingSettings", "CompositionSettings"] {
            let found = world.twilio_get(&format!("/v1/{settings}/Default")).await;
            assert_eq!(found["aws_storage_enabled"], false, "{settings} still store in S3 at {first_aws_write}");
        }
        world.aws.clear(); // lets the held write go
        let run = running.finish().await;
        assert_eq!(run.code, Some(0), "destroy failed\n{run}");

        // Gone: the user (with its key and policy) and the credential. Kept: the bucket, every
        // version of every recording, and the key that reads them.
        assert_eq!(destroyed(&world).await, Ok(()));
        assert_eq!(recordings_in(&world).await, recordings());
        assert_eq!(kms_key_state(&world, &kms_key).await, "Enabled");
        let recorded = state(&world.state_path());
        assert!(recorded.resources.is_empty() && recorded.intents.is_empty(), "the state keeps {recorded:?}");
        let kept = format!(
            "kept bucket `{BUCKET}`: {} objects, {:.1} kB; delete it yourself when its retention allows",
            RECORDINGS.len(),
            bytes as f64 / 1000.0
        );
        assert!(run.stdout.contains(&kept), "destroy does not say `{kept}`:\n{run}");
        snapshot("destroy_keeping_the_bucket", &run.stdout);

        // Nothing is left to destroy: a second destroy writes nothing.
        world.aws.clear();
        let twilio_mark = world.twilio_log_mark();
        let again = world.stowage(&["destroy", SPEC, "--auto-approve"]).await;
        assert_eq!(again.code, Some(0), "the second destroy failed\n{again}");
        assert!(again.stdout.contains("No changes: the state records nothing to destroy."), "{again}");
        assert_eq!(world.aws.writes(), Vec::new());
        assert_eq!(world.twilio_writes_since(twilio_mark), Vec::<String>::new());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_of_an_environment_without_recordings_deletes_everything_and_schedules_the_key() {
    within(TEST_TIMEOUT, async {
        let world = world().spec(&encrypted_dev_spec()).start().await;
        applied(&world).await;
        let kms_key = state(&world.state_path()).get(BUCKET_KEY_ADDRESS).expect("the key is recorded").id.clone();
        // Twilio's test files are in the bucket; they do not make it worth keeping.
        let s3 = world.moto.s3_client(REGION);
        let listed = s3.list_object_versions().bucket(BUCKET).send().await.expect("moto lists the versions");
        assert!(!listed.versions().is_empty(), "the bucket holds no test file to delete first");

        let run = world.stowage(&["destroy", SPEC, "--auto-approve"]).await;
        assert_eq!(run.code, Some(0), "destroy failed\n{run}");
        assert_eq!(destroyed(&world).await, Ok(()));
        let head = s3.head_bucket().bucket(BUCKET).send().await;
        assert!(head.is_err(), "the bucket is still there");
        let described = world.moto.kms_client(REGION).describe_key().key_id(&kms_key).send().await;
        let metadata = described.expect("moto describes the key").key_metadata().cloned().expect("metadata");
        assert_eq!(metadata.key_state().map(|state| state.as_str()), Some("PendingDeletion"));
        let deletion = metadata.deletion_date().expect("a deletion date").secs();
        let days = (deletion - jiff::Timestamp::now().as_second()) as f64 / 86_400.0;
        assert!((29.9..=30.1).contains(&days), "the key is deleted in {days} days, not 30");
        let recorded = state(&world.state_path());
        assert!(recorded.resources.is_empty() && recorded.intents.is_empty(), "the state keeps {recorded:?}");
        snapshot("destroy_of_everything", &run.stdout);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_destroy_plan_is_refused_once_stale_and_a_bucket_that_filled_since_is_never_deleted() {
    within(TEST_TIMEOUT, async {
        let world = world().spec(&encrypted_dev_spec()).start().await;
        applied(&world).await;
        let kms_key = state(&world.state_path()).get(BUCKET_KEY_ADDRESS).expect("the key is recorded").id.clone();

        // Reviewed first: the saved destroy plan shows what goes.
        let plan = world.stowage(&["plan", SPEC, "--destroy", "--out", "destroy.plan"]).await;
        assert_eq!(plan.code, Some(0), "plan --destroy failed\n{plan}");
        snapshot("plan_destroy", &plan.stdout);

        // The state moved since (a rotation): the saved plan is refused, and nothing changes.
        let rotate = world.stowage(&["rotate", SPEC, "--auto-approve"]).await;
        assert_eq!(rotate.code, Some(0), "rotate failed\n{rotate}");
        world.aws.clear();
        let twilio_mark = world.twilio_log_mark();
        let stale = world.stowage(&["apply", "destroy.plan"]).await;
        assert_eq!(stale.code, Some(1), "a stale destroy plan was applied\n{stale}");
        assert!(stale.stderr.contains("saved plan `destroy.plan` is stale"), "{stale}");
        assert_eq!(world.aws.writes(), Vec::new());
        assert_eq!(world.twilio_writes_since(twilio_mark), Vec::<String>::new());

        // A plan saved while the bucket was empty, applied after recordings arrived: the bucket
        // and its key stay, the delete is refused naming why, and the next destroy keeps them.
        let plan = world.stowage(&["plan", SPEC, "--destroy", "--out", "destroy.plan"]).await;
        assert_eq!(plan.code, Some(0), "plan --destroy failed\n{plan}");
        put_recordings(&world).await;
        let late = world.stowage(&["apply", "destroy.plan"]).await;
        assert_eq!(late.code, Some(1), "a bucket with recordings was deleted\n{late}");
        assert!(late.stderr.contains("s3 DeleteBucket") && late.stderr.contains("never deletes a recording"), "{late}");
        assert_eq!(recordings_in(&world).await, recordings());
        assert_eq!(kms_key_state(&world, &kms_key).await, "Enabled");
        let again = world.stowage(&["destroy", SPEC, "--auto-approve"]).await;
        assert_eq!(again.code, Some(0), "the destroy after it failed\n{again}");
        assert!(again.stdout.contains(&format!("kept bucket `{BUCKET}`")), "{again}");
        assert_eq!(destroyed(&world).await, Ok(()));
        assert_eq!(recordings_in(&world).await, recordings());
        assert_eq!(kms_key_state(&world, &kms_key).await, "Enabled");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prevent_destroy_refuses_before_any_call() {
    within(TEST_TIMEOUT, async {
        let world = world().start().await;
        applied(&world).await;
        let spec = stowage_test_support::dev_spec()
            .replace("[environment]\nname = \"dev\"\n", "[environment]\nname = \"dev\"\nprevent_destroy = true\n");
        assert!(spec.contains("prevent_destroy"), "the dev spec's [environment] changed");
        world.rewrite_spec(&spec);
        let before = std::fs::read(world.state_path()).expect("the state is there");
        world.aws.clear();
        let twilio_mark = world.twilio_log_mark();

        for args in [&["destroy", SPEC, "--auto-approve"][..], &["plan", SPEC, "--destroy", "--out", "destroy.plan"]] {
            let refused = world.stowage(args).await;
            assert_eq!(refused.code, Some(1), "{args:?} was not refused\n{refused}");
            assert!(refused.stderr.contains("prevent_destroy"), "{refused}");
            assert_eq!(world.aws.requests(), Vec::new(), "{args:?} called AWS");
            assert_eq!(world.twilio_requests_since(twilio_mark), Vec::new(), "{args:?} called Twilio");
        }
        assert!(!world.sandbox.path().join("destroy.plan").exists(), "a refused plan was saved");
        assert_eq!(std::fs::read(world.state_path()).expect("the state is there"), before);
        let refused = world.stowage(&["destroy", SPEC, "--auto-approve"]).await;
        snapshot("prevent_destroy", &refused.diagnostics());
        // The environment is whole.
        let user = world.moto.iam_client().get_user().user_name(USER).send().await;
        assert!(user.is_ok(), "the user is gone");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_already_gone_is_dropped_from_the_state() {
    within(TEST_TIMEOUT, async {
        let world = world().start().await;
        applied(&world).await;
        // Someone deleted the credential in Twilio's console, and the bucket in S3's.
        let credential = world.twilio_aws_credentials().await.remove(0);
        let deleted = world
            .twilio_request(reqwest::Method::DELETE, &format!("/v1/Credentials/AWS/{credential}"))
            .send()
            .await
            .expect("the emulator answers");
        assert_eq!(deleted.status(), reqwest::StatusCode::NO_CONTENT);
        destroying::empty_and_delete_bucket(&world).await;

        let run = world.stowage(&["destroy", SPEC, "--auto-approve"]).await;
        assert_eq!(run.code, Some(0), "destroy failed\n{run}");
        assert!(run.stdout.contains("twilio_aws_credential.main will be forgotten (already gone)"), "{run}");
        assert!(run.stdout.contains("aws_s3_bucket.main will be forgotten (already gone)"), "{run}");
        assert_eq!(destroyed(&world).await, Ok(()));
        assert!(state(&world.state_path()).resources.is_empty());
    })
    .await;
}
