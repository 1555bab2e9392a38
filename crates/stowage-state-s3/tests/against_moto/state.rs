//! The state object: written only over the version read, in the local file's format.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use stowage_state::{StateError, StateStore, encode_state};
use stowage_test_support::{AwsProxy, Fault, FaultAction};

use crate::{BUCKET, KEY, REGION, bounded, moto_with_bucket, new_state, object_bytes, settings, store};

#[tokio::test]
async fn a_state_round_trips_in_the_local_files_format() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let first = store(&moto);
        assert_eq!(first.read().await.expect("read"), None);
        assert_eq!(first.version(), None);

        let mut state = new_state();
        first.commit(&mut state).await.expect("the first write");
        assert_eq!(state.serial, 1);
        let written = first.version().expect("the version written");

        let second = store(&moto);
        assert_eq!(second.read().await.expect("read"), Some(state.clone()));
        assert_eq!(second.version(), Some(written.clone()), "unversioned: the ETag");
        second.commit(&mut state).await.expect("the second write");
        assert_eq!(state.serial, 2);
        assert_ne!(second.version(), Some(written));

        let stored = object_bytes(&moto, KEY).await.expect("the state object");
        assert_eq!(stored, encode_state(&state).expect("encoded"));
        assert_eq!(store(&moto).read().await.expect("read"), Some(state));
        assert_eq!(object_bytes(&moto, &format!("{KEY}.lock")).await, None, "no lock was taken");
    })
    .await;
}

#[tokio::test]
async fn in_a_versioned_bucket_the_version_is_the_objects_version_id() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let s3 = moto.s3_client(REGION);
        let enabled = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
        s3.put_bucket_versioning().bucket(BUCKET).versioning_configuration(enabled).send().await.expect("versioned");
        let writer = store(&moto);
        let mut state = new_state();

        writer.commit(&mut state).await.expect("serial 1");
        writer.commit(&mut state).await.expect("serial 2, over the version written");

        let head = s3.head_object().bucket(BUCKET).key(KEY).send().await.expect("the state object");
        let version_id = head.version_id().expect("a version id").to_owned();
        assert_eq!(writer.version(), Some(version_id.clone()));
        let reader = store(&moto);
        assert_eq!(reader.read().await.expect("read"), Some(state));
        assert_eq!(reader.version(), Some(version_id));
        let versions = s3.list_object_versions().bucket(BUCKET).prefix(KEY).send().await.expect("the versions");
        assert_eq!(versions.versions().len(), 2, "each write kept");
    })
    .await;
}

#[tokio::test]
async fn a_write_made_from_an_older_version_is_refused_and_writes_nothing() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let mut state = new_state();
        store(&moto).commit(&mut state).await.expect("serial 1");

        let (first, second) = (store(&moto), store(&moto));
        let mut first_state = first.read().await.expect("read").expect("a state");
        let mut second_state = second.read().await.expect("read").expect("a state");
        first_state.stowage_version = "0.1.1".to_owned();
        second_state.stowage_version = "0.2.0".to_owned();
        first.commit(&mut first_state).await.expect("the first commit");
        let kept = object_bytes(&moto, KEY).await.expect("the state object");

        let error = second.commit(&mut second_state).await.expect_err("the second commit is refused");

        let lineage = state.lineage;
        assert!(matches!(error, StateError::Conflict { expected_serial: 1, .. }), "{error:?}");
        assert_eq!(second_state.serial, 1, "a failed commit keeps the serial");
        assert_eq!(
            error.to_string(),
            format!(
                "state `s3://{BUCKET}/{KEY}` changed since this run read it: this run read serial 1 of lineage \
                 {lineage}, it now holds serial 2 of lineage {lineage}; nothing was written: run stowage again, it \
                 starts from what the state holds now"
            )
        );
        assert_eq!(object_bytes(&moto, KEY).await.expect("the state object"), kept, "the first commit's state");
    })
    .await;
}

#[tokio::test]
async fn of_two_first_writes_exactly_one_lands() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let (first, second) = (store(&moto), store(&moto));
        assert_eq!(first.read().await.expect("read"), None);
        assert_eq!(second.read().await.expect("read"), None);
        let (mut first_state, mut second_state) = (new_state(), new_state());

        let (first_written, second_written) =
            tokio::join!(first.commit(&mut first_state), second.commit(&mut second_state));

        let (winner, loser) = match (first_written, second_written) {
            (Ok(()), Err(error)) => (&first_state, error),
            (Err(error), Ok(())) => (&second_state, error),
            outcome => panic!("exactly one first write must land: {outcome:?}"),
        };
        let StateError::Conflict { expected_serial: 0, found, .. } = &loser else { panic!("{loser:?}") };
        assert_eq!(found, &format!("serial 1 of lineage {}", winner.lineage));
        assert_eq!(object_bytes(&moto, KEY).await, Some(encode_state(winner).expect("encoded")));
    })
    .await;
}

#[tokio::test]
async fn a_write_is_refused_when_its_serial_is_not_the_one_read() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let mut state = new_state();
        store(&moto).commit(&mut state).await.expect("serial 1");
        let before = object_bytes(&moto, KEY).await;

        let reader = store(&moto);
        let mut read = reader.read().await.expect("read").expect("a state");
        read.serial = 5;
        let error = reader.commit(&mut read).await.expect_err("serial 5 was not read");
        assert!(matches!(error, StateError::Conflict { expected_serial: 5, .. }), "{error:?}");

        // A store that read nothing expecting 0 finds a state there.
        let mut fresh = new_state();
        let error = store(&moto).commit(&mut fresh).await.expect_err("a state is stored");
        assert!(
            matches!(&error, StateError::Conflict { expected_serial: 0, found, .. } if found.starts_with("serial 1 ")),
            "{error:?}"
        );
        assert_eq!(object_bytes(&moto, KEY).await, before, "nothing was written");

        // A store that read nothing, given the stored serial, writes over it.
        store(&moto).commit(&mut state).await.expect("written over serial 1");
        assert_eq!(store(&moto).read().await.expect("read"), Some(state));
    })
    .await;
}

#[tokio::test]
async fn a_conflict_answer_while_nothing_changed_is_tried_again() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let proxy = AwsProxy::start(&moto.endpoint()).await;
        let store = stowage_state_s3::S3StateStore::new(
            &moto.aws_sdk_config_via(&proxy.endpoint(), REGION),
            settings(None),
            true,
        );
        let mut state = new_state();
        store.commit(&mut state).await.expect("serial 1");
        // S3: "If a conflicting operation occurs during the upload S3 returns a 409
        // ConditionalRequestConflict response. On a 409 failure you should fetch the object's
        // ETag and retry the upload."
        proxy.inject(Fault::once(
            "PutObject",
            FaultAction::Error { status: 409, code: "ConditionalRequestConflict".to_owned() },
        ));

        store.commit(&mut state).await.expect("written on the second try");

        assert_eq!(state.serial, 2);
        assert_eq!(object_bytes(&moto, KEY).await, Some(encode_state(&state).expect("encoded")));
        let puts: Vec<String> = proxy
            .requests()
            .iter()
            .filter(|request| request.operation == "PutObject")
            .map(ToString::to_string)
            .collect();
        assert_eq!(puts, ["s3 PutObject write 200", "s3 PutObject write 409", "s3 PutObject write 200"]);
    })
    .await;
}

#[tokio::test]
async fn a_missing_bucket_is_a_remote_error_that_says_nothing_was_lost() {
    bounded(async {
        let moto = stowage_test_support::Moto::start();
        let store = store(&moto);

        let error = store.read().await.expect_err("no bucket");

        assert!(matches!(error, StateError::Remote { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("the read (GetObject) of state `s3://{BUCKET}/{KEY}` failed: NoSuchBucket")),
            "{message}"
        );
        assert!(message.contains("nothing was lost locally"), "{message}");
    })
    .await;
}
