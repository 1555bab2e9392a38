//! The S3 state store against a real moto: one test binary, so the AWS SDK is linked once.
//! Each test starts its own moto; none sleeps to synchronise.

mod bucket;
mod conditional_writes;
mod lock;
mod state;

use std::time::Duration;

use stowage_state::{LockMode, LockRequest, State};
use stowage_state_s3::{S3Location, S3StateSettings, S3StateStore};
use stowage_test_support::{MOTO_REGION, Moto};

pub const REGION: &str = MOTO_REGION;
pub const BUCKET: &str = "acme-stowage-state";
pub const KEY: &str = "envs/dev/state.json";

/// Every test here finishes in seconds; a hang fails it instead of the whole run.
pub async fn bounded<T>(test: impl Future<Output = T>) -> T {
    stowage_test_support::within(Duration::from_secs(90), test).await
}

/// A moto with the state bucket made.
pub async fn moto_with_bucket() -> Moto {
    let moto = Moto::start();
    create_bucket(&moto, BUCKET).await;
    moto
}

pub async fn create_bucket(moto: &Moto, bucket: &str) {
    moto.s3_client(REGION).create_bucket().bucket(bucket).send().await.expect("moto makes the bucket");
}

pub fn settings(kms_key: Option<String>) -> S3StateSettings {
    S3StateSettings {
        location: S3Location { bucket: BUCKET.to_owned(), key: KEY.to_owned() },
        region: REGION.to_owned(),
        kms_key,
    }
}

/// A store of `s3://acme-stowage-state/envs/dev/state.json`, as each run makes its own.
pub fn store(moto: &Moto) -> S3StateStore {
    S3StateStore::new(&moto.aws_sdk_config(REGION), settings(None), true)
}

pub fn request(mode: LockMode, timeout: Duration) -> LockRequest {
    LockRequest {
        mode,
        operation: "apply".to_owned(),
        user: "alice".to_owned(),
        host: "build-7".to_owned(),
        stowage_version: "0.1.0".to_owned(),
        timeout,
    }
}

pub fn new_state() -> State {
    State::new("dev", "0.1.0")
}

/// The bytes of the object at `key`, or `None`.
pub async fn object_bytes(moto: &Moto, key: &str) -> Option<Vec<u8>> {
    match moto.s3_client(REGION).get_object().bucket(BUCKET).key(key).send().await {
        Ok(output) => Some(output.body.collect().await.expect("the body").into_bytes().to_vec()),
        Err(error) if error.as_service_error().is_some_and(|error| error.is_no_such_key()) => None,
        Err(error) => panic!("moto reads {key}: {error:?}"),
    }
}
