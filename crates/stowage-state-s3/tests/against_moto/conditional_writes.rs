//! moto as patched (`crates/stowage-test-support/moto/sitecustomize.py`) checks a conditional
//! write's condition and makes the write as one step, as S3 does: of eight `If-None-Match: *`
//! puts of one key at once, exactly one lands.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::ServerSideEncryption;
use stowage_state::{StateStore, encode_state};
use stowage_state_s3::S3StateStore;

use crate::{BUCKET, KEY, REGION, bounded, moto_with_bucket, new_state, settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_eight_conditional_puts_at_once_exactly_one_lands() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let s3 = moto.s3_client(REGION);
        for round in 0..5 {
            let key = format!("race/{round}.lock");
            let mut puts = tokio::task::JoinSet::new();
            for writer in 0..8 {
                let (s3, key) = (s3.clone(), key.clone());
                puts.spawn(async move {
                    let body = format!("writer {writer}\n").repeat(4096).into_bytes();
                    let put = s3.put_object().bucket(BUCKET).key(key).if_none_match("*").body(body.into()).send().await;
                    (writer, put.map_err(|error| error.code().map(str::to_owned)))
                });
            }
            let mut landed = Vec::new();
            while let Some(put) = puts.join_next().await {
                match put.expect("the put ends") {
                    (writer, Ok(_)) => landed.push(writer),
                    (_, Err(Some(code))) if code == "PreconditionFailed" || code == "ConditionalRequestConflict" => {}
                    (_, Err(code)) => panic!("round {round}: a put failed otherwise: {code:?}"),
                }
            }
            assert_eq!(landed.len(), 1, "round {round}: {landed:?}");
            let stored = crate::object_bytes(&moto, &key).await.expect("the winner's object");
            assert_eq!(stored, format!("writer {}\n", landed[0]).repeat(4096).into_bytes(), "round {round}");
        }
    })
    .await;
}

#[tokio::test]
async fn with_a_kms_key_the_state_and_the_lock_are_stored_with_it() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let key = moto.kms_client(REGION).create_key().send().await.expect("a KMS key");
        let key_id = key.key_metadata().expect("metadata").key_id().to_owned();
        let store = S3StateStore::new(&moto.aws_sdk_config(REGION), settings(Some(key_id.clone())), true);
        let lock = store
            .lock(&crate::request(stowage_state::LockMode::Exclusive, std::time::Duration::ZERO))
            .await
            .expect("locked");
        let mut state = new_state();
        store.commit(&mut state).await.expect("written");

        let s3 = moto.s3_client(REGION);
        for object in [KEY.to_owned(), format!("{KEY}.lock")] {
            let head = s3.head_object().bucket(BUCKET).key(&object).send().await.expect("the object");
            assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::AwsKms), "{object}");
            let used = head.ssekms_key_id().unwrap_or_default();
            assert!(used == key_id || used.ends_with(&format!("key/{key_id}")), "{object}: {used}");
        }
        assert_eq!(crate::object_bytes(&moto, KEY).await, Some(encode_state(&state).expect("encoded")));
        lock.release().await.expect("released");
    })
    .await;
}
