//! What a bucket holds, for destroy: every object version (a versioned bucket keeps each one),
//! sorted into the test files that only prove the way in, and the rest, which are recordings
//! and compositions nobody else has a copy of.
//!
//! A test file is a `.txt` object of at most [`TEST_FILE_MAX_BYTES`]: Twilio writes one into
//! the bucket when storage is switched on (the guide: "a small .txt test file"; its name is
//! not documented), and stowage's own write test (`stowage-write-test-AKIA….txt`) leaves a
//! version behind in a versioned bucket even though it deletes its object at once. Recordings
//! and compositions are media files, never `.txt`. Anything else, whatever its name, counts as
//! data: a bucket holding any is kept.

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use stowage_provider::{Contents, ErrorKind, ProviderError};

use crate::AwsProvider;
use crate::errors::classify;

const S3: &str = "s3";

/// The largest object that can be a test file: Twilio's and stowage's are a line of text.
pub(crate) const TEST_FILE_MAX_BYTES: i64 = 1024;

/// S3's limit of keys per `DeleteObjects`.
const DELETE_BATCH: usize = 1000;

/// Whether an object version of this key and size only tests the way in.
pub(crate) fn is_test_file(key: &str, size: i64) -> bool {
    key.ends_with(".txt") && (0..=TEST_FILE_MAX_BYTES).contains(&size)
}

/// A bucket's object versions and delete markers, sorted.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    /// What is not a test file, every version counted.
    pub contents: Contents,
    /// The test files' versions, and every delete marker (which holds nothing): what deleting
    /// the bucket removes first.
    pub removable: Vec<ObjectIdentifier>,
}

/// Everything `bucket` holds; `None` when the bucket is gone.
pub(crate) async fn inventory(aws: &AwsProvider, bucket: &str) -> Result<Option<Inventory>, ProviderError> {
    let mut inventory = Inventory::default();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let listed = aws
            .s3()
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|error| classify(S3, "ListObjectVersions", error));
        let page = match listed {
            Ok(page) => page,
            Err(error) if error.kind == ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        for version in page.versions() {
            let (key, size) = (version.key().unwrap_or_default(), version.size().unwrap_or_default());
            if is_test_file(key, size) {
                inventory.removable.push(identifier(key, version.version_id())?);
            } else {
                inventory.contents.objects += 1;
                inventory.contents.bytes += u64::try_from(size).unwrap_or_default();
            }
        }
        for marker in page.delete_markers() {
            inventory.removable.push(identifier(marker.key().unwrap_or_default(), marker.version_id())?);
        }
        if page.is_truncated() != Some(true) {
            return Ok(Some(inventory));
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
        if key_marker.is_none() {
            return Err(ProviderError::new(
                ErrorKind::Internal,
                S3,
                "ListObjectVersions",
                format!("bucket `{bucket}`: a truncated listing gave no marker to go on from"),
            ));
        }
    }
}

fn identifier(key: &str, version_id: Option<&str>) -> Result<ObjectIdentifier, ProviderError> {
    ObjectIdentifier::builder().key(key).set_version_id(version_id.map(str::to_owned)).build().map_err(|error| {
        ProviderError::new(ErrorKind::Internal, S3, "DeleteObjects", format!("object `{key}`: {error}"))
    })
}

/// Delete exactly `objects` (test files and delete markers, by version) from `bucket`.
pub(crate) async fn remove(
    aws: &AwsProvider,
    bucket: &str,
    objects: Vec<ObjectIdentifier>,
) -> Result<(), ProviderError> {
    let mut objects = objects.into_iter().peekable();
    while objects.peek().is_some() {
        let batch: Vec<ObjectIdentifier> = objects.by_ref().take(DELETE_BATCH).collect();
        let delete = Delete::builder().set_objects(Some(batch)).quiet(true).build().map_err(|error| {
            ProviderError::new(ErrorKind::Internal, S3, "DeleteObjects", format!("bucket `{bucket}`: {error}"))
        })?;
        let answer = aws
            .s3()
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|error| classify(S3, "DeleteObjects", error))?;
        if let Some(failed) = answer.errors().first() {
            return Err(ProviderError::new(
                ErrorKind::Unavailable,
                S3,
                "DeleteObjects",
                format!(
                    "bucket `{bucket}`: test file `{}` was not deleted: {} {}",
                    failed.key().unwrap_or_default(),
                    failed.code().unwrap_or_default(),
                    failed.message().unwrap_or_default()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_text_files_are_test_files() {
        assert!(is_test_file("recordings/twilio-storage-test-recordings.txt", 64));
        assert!(is_test_file("recordings/stowage-write-test-AKIAEXAMPLE.txt", 87));
        assert!(is_test_file("test.txt", TEST_FILE_MAX_BYTES));
        assert!(!is_test_file("notes.txt", TEST_FILE_MAX_BYTES + 1), "a larger text file is someone's data");
        assert!(!is_test_file("recordings/RT0123/MT0123.mka", 12), "a recording, however small");
        assert!(!is_test_file("recordings/twilio-storage-test.txt.mka", 12));
        assert!(!is_test_file("compositions/CJ0123.mp4", 0));
    }
}
