//! What the destroy tests share: an environment with recordings in its bucket, put with the
//! uploader's key as Twilio puts them, and the checks of what a destroy must leave, made with
//! the AWS SDK and the emulator's API (never with stowage's own view).
#![allow(dead_code)] // each test binary uses a different part

use aws_sdk_s3::primitives::ByteStream;
use stowage_test_support::dev::{BUCKET, REGION, USER};
use stowage_test_support::{World, dev_spec};

/// The state's address of the bucket's KMS key.
pub const BUCKET_KEY_ADDRESS: &str = "aws_kms_key.main";

/// The recordings and compositions Twilio stored, by key and size, as the bucket lists their
/// versions: one recording was written twice, and a versioned bucket keeps both.
pub const RECORDINGS: [(&str, i64); 4] = [
    ("compositions/CJ0123456789abcdef0123456789abcdef.mp4", 4000),
    ("recordings/RT0123456789abcdef0123456789abcdef/MT0123456789abcdef0123456789abcdef.mka", 2000),
    ("recordings/RT0123456789abcdef0123456789abcdef/MT0123456789abcdef0123456789abcdef.mka", 2500),
    ("recordings/RT0123456789abcdef0123456789abcdef/MTfedcba9876543210fedcba9876543210.mkv", 3000),
];

/// `examples/dev.toml` with a KMS key stowage creates for the bucket.
pub fn encrypted_dev_spec() -> String {
    let spec = dev_spec()
        .replace("block_public_access = true\n", "block_public_access = true\nencryption = { kms_key = \"create\" }\n");
    assert!(spec.contains("kms_key"), "the dev spec's [bucket] changed");
    spec
}

/// Puts [`RECORDINGS`] into the bucket with the uploader's key, in order; answers their bytes.
pub async fn put_recordings(world: &World) -> u64 {
    let s3 = world.moto.s3_client_as(USER, REGION);
    let mut bytes = 0;
    for (key, size) in RECORDINGS {
        let body = vec![b'r'; usize::try_from(size).expect("a small size")];
        let put = s3.put_object().bucket(BUCKET).key(key).body(ByteStream::from(body)).send().await;
        put.unwrap_or_else(|error| panic!("the uploader cannot put {key}: {error:?}"));
        bytes += u64::try_from(size).expect("a positive size");
    }
    bytes
}

/// Every version in the bucket that is not a `.txt` test file, as `(key, size)`, sorted; empty
/// when the bucket is gone.
pub async fn recordings_in(world: &World) -> Vec<(String, i64)> {
    let s3 = world.moto.s3_client(REGION);
    let Ok(listed) = s3.list_object_versions().bucket(BUCKET).send().await else { return Vec::new() };
    assert_ne!(listed.is_truncated(), Some(true), "more versions than one page");
    let mut found: Vec<(String, i64)> = listed
        .versions()
        .iter()
        .filter_map(|version| Some((version.key()?.to_owned(), version.size()?)))
        .filter(|(key, _)| !key.ends_with(".txt"))
        .collect();
    found.sort();
    found
}

/// What `(key, size)` [`RECORDINGS`] are, owned, for comparing with [`recordings_in`].
pub fn recordings() -> Vec<(String, i64)> {
    RECORDINGS.iter().map(|(key, size)| ((*key).to_owned(), *size)).collect()
}

/// The key state of KMS key `id` (`Enabled`, `PendingDeletion`).
pub async fn kms_key_state(world: &World, id: &str) -> String {
    let described = world.moto.kms_client(REGION).describe_key().key_id(id).send().await;
    let described = described.unwrap_or_else(|error| panic!("moto describes {id}: {error:?}"));
    let state = described.key_metadata().and_then(|metadata| metadata.key_state());
    state.map(|state| state.as_str().to_owned()).unwrap_or_default()
}

/// What destroy must leave: no uploader (so no access key or policy), no Twilio credential or
/// public key, and both settings storing in Twilio's cloud. `Err` lists what is left.
pub async fn destroyed(world: &World) -> Result<(), String> {
    let mut left = Vec::new();
    match world.moto.iam_client().get_user().user_name(USER).send().await {
        Ok(_) => left.push(format!("IAM user {USER}")),
        Err(error) if error.as_service_error().is_some_and(|error| error.is_no_such_entity_exception()) => {}
        Err(error) => return Err(format!("moto does not answer GetUser: {error:?}")),
    }
    left.extend(world.twilio_aws_credentials().await.into_iter().map(|sid| format!("credential {sid}")));
    left.extend(world.twilio_public_keys().await.into_iter().map(|sid| format!("public key {sid}")));
    for settings in ["RecordingSettings", "CompositionSettings"] {
        let found = world.twilio_get(&format!("/v1/{settings}/Default")).await;
        if found["aws_storage_enabled"] != false {
            left.push(format!("{settings} storing in S3: {found}"));
        }
    }
    if left.is_empty() { Ok(()) } else { Err(left.join(", ")) }
}

/// Empties the bucket (every version) and deletes it, as someone in S3's console would.
pub async fn empty_and_delete_bucket(world: &World) {
    let s3 = world.moto.s3_client(REGION);
    let listed = s3.list_object_versions().bucket(BUCKET).send().await.expect("moto lists the versions");
    let versions = listed.versions().iter().map(|version| (version.key(), version.version_id()));
    let markers = listed.delete_markers().iter().map(|marker| (marker.key(), marker.version_id()));
    for (key, version) in versions.chain(markers) {
        let delete =
            s3.delete_object().bucket(BUCKET).key(key.unwrap_or_default()).set_version_id(version.map(str::to_owned));
        delete.send().await.expect("moto deletes the version");
    }
    s3.delete_bucket().bucket(BUCKET).send().await.expect("moto deletes the bucket");
}
