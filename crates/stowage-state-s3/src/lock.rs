//! The lock: the object `KEY.lock`, which only one run can create (`If-None-Match: *`) and only
//! its creator deletes (`If-Match` on the ETag it created).

use std::path::PathBuf;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::ServerSideEncryption;
use stowage_state::{ForceUnlocked, LockError, LockInfo, LockMode, LockRequest};
use tokio::runtime::{Handle, RuntimeFlavor};
use uuid::Uuid;

use crate::errors::{conflicting, describe, no_such_key, refused};
use crate::{S3Location, S3StateStore};

/// Attempts made at once, without waiting, when a lock that refused this run is gone by the
/// time its holder is read: it was released in between.
const VANISHED_RETRIES: usize = 3;
/// Attempts at a conditional delete of the lock object that S3 answers with `409
/// ConditionalRequestConflict` (or, for a force-unlock, that finds the object changed).
const DELETE_ATTEMPTS: usize = 3;

/// The lock on an S3 state, held until released or dropped.
///
/// An exclusive lock is the object `KEY.lock`; [`S3Lock::release`] deletes it, only if it is
/// still the one this run created. A lock cannot await in `Drop`: dropped on a multi-thread
/// tokio runtime it releases in place (`block_in_place`), anywhere else it logs a warning that
/// the lock object was left and how to force-unlock it. Prefer [`S3Lock::release`]. A shared
/// lock holds nothing and releases nothing.
#[derive(Debug)]
pub struct S3Lock {
    info: Option<LockInfo>,
    held: Option<HeldObject>,
}

/// The lock object this run created.
#[derive(Debug)]
struct HeldObject {
    client: Client,
    location: S3Location,
    /// The ETag of the object this run created: the delete's condition.
    etag: String,
    id: Uuid,
}

impl S3Lock {
    /// This run, as the lock object records it; `None` for a shared lock, which records
    /// nothing.
    pub fn info(&self) -> Option<&LockInfo> {
        self.info.as_ref()
    }

    /// Deletes the lock object if it is still the one this run created. One that is no longer
    /// this run's (forced away, maybe taken by another run since) is left alone, with a warning.
    pub async fn release(mut self) -> Result<(), LockError> {
        match self.held.take() {
            Some(held) => held.release().await,
            None => Ok(()),
        }
    }
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        if let Some(held) = self.held.take() {
            held.release_in_drop();
        }
    }
}

impl HeldObject {
    async fn release(self) -> Result<(), LockError> {
        let lock_location = self.location.lock_location();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let deleted = self
                .client
                .delete_object()
                .bucket(&self.location.bucket)
                .key(self.location.lock_key())
                .if_match(&self.etag)
                .send()
                .await;
            match deleted {
                Ok(_) => {
                    tracing::debug!("released the lock of state `{}` (lock id {})", self.location, self.id);
                    return Ok(());
                }
                // Another conditional request on the lock was in flight: S3 says to try again.
                Err(error) if conflicting(&error) && attempt < DELETE_ATTEMPTS => {}
                Err(error) if (refused(&error) && !conflicting(&error)) || no_such_key(&error) => {
                    tracing::warn!(
                        "the lock of state `{}` is no longer this run's (lock id {}): `{lock_location}` was \
                         force-unlocked meanwhile, and may be another run's lock now; left it as it is",
                        self.location,
                        self.id
                    );
                    return Ok(());
                }
                Err(error) => {
                    return Err(LockError::Remote {
                        state: self.location.as_path(),
                        step: "the conditional delete (DeleteObject)",
                        error: format!("`{lock_location}`: {}", describe(&error)),
                    });
                }
            }
        }
    }

    fn release_in_drop(self) {
        let location = self.location.clone();
        let id = self.id;
        let left = |why: &str| {
            tracing::warn!(
                "{why}: the lock object `{}` is left, and keeps other runs out of state `{location}`; once this run \
                 has ended, remove it with `stowage force-unlock {id} --state {location}`",
                location.lock_location()
            );
        };
        match Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
                if let Err(error) = tokio::task::block_in_place(|| handle.block_on(self.release())) {
                    left(&format!("could not release the lock: {error}"));
                }
            }
            _ => left("the lock was dropped outside a multi-thread tokio runtime, where it cannot be released"),
        }
    }
}

/// The lock object as read: who holds it (`None` for an object that is not a stowage lock),
/// and its ETag.
#[derive(Debug)]
struct FoundLock {
    holder: Option<LockInfo>,
    etag: Option<String>,
}

impl S3StateStore {
    fn lock_error(&self, step: &'static str, error: String) -> LockError {
        LockError::Remote {
            state: self.settings.location.as_path(),
            step,
            error: format!("`{}`: {error}", self.settings.location.lock_location()),
        }
    }

    pub(crate) async fn take_lock(&self, request: &LockRequest) -> Result<S3Lock, LockError> {
        if request.mode == LockMode::Shared {
            // Read-only runs read one whole object version and write nothing: no lock to take.
            return Ok(S3Lock { info: None, held: None });
        }
        let info = LockInfo::holder(request);
        let mut body = serde_json::to_vec_pretty(&info)
            .map_err(|error| self.lock_error("recording the holder", error.to_string()))?;
        body.push(b'\n');

        let mut backoff = stowage_state::Backoff::until(request.timeout);
        let mut vanished = 0;
        let mut told = false;
        loop {
            match self.put_lock(&body).await {
                Ok(Some(etag)) => return Ok(self.held(info, etag)),
                Ok(None) => {
                    let why = format!(
                        "S3 answered without an ETag, so this run could never release the lock safely: remove it \
                         with `stowage force-unlock {} --state {}`",
                        info.id, self.settings.location
                    );
                    return Err(self.lock_error("the conditional write (PutObject)", why));
                }
                // Someone holds it (412), or raced this run for it (409).
                Err(error) if refused(&error) => {}
                Err(error) => return Err(self.lock_error("the conditional write (PutObject)", describe(&error))),
            }
            let found = self.read_lock().await?;
            let holder = match found {
                // This very put landed: the SDK retried it after its answer was lost.
                Some(FoundLock { holder: Some(holder), etag: Some(etag) }) if holder.id == info.id => {
                    return Ok(self.held(info, etag));
                }
                Some(found) => found.holder,
                None if vanished < VANISHED_RETRIES => {
                    vanished += 1;
                    continue;
                }
                None => None,
            };
            let Some(wait) = backoff.next_wait() else {
                return Err(LockError::Held {
                    state: self.settings.location.as_path(),
                    holder: holder.map(Box::new),
                    waited: request.timeout,
                });
            };
            if !told {
                told = true;
                let holder = holder.as_ref().map_or_else(|| "a run it does not name".to_owned(), ToString::to_string);
                // Its name is what the tests observe to know a run is waiting.
                tracing::info!(
                    name: "waiting_for_lock",
                    "state `{}` is locked by {holder}: waiting up to {:?} for it",
                    self.settings.location,
                    request.timeout
                );
            }
            tokio::time::sleep(wait).await;
        }
    }

    fn held(&self, info: LockInfo, etag: String) -> S3Lock {
        let held =
            HeldObject { client: self.client.clone(), location: self.settings.location.clone(), etag, id: info.id };
        S3Lock { info: Some(info), held: Some(held) }
    }

    /// Creates the lock object unless there is one; its ETag (S3 always gives one).
    async fn put_lock(
        &self,
        body: &[u8],
    ) -> Result<Option<String>, crate::errors::S3Error<aws_sdk_s3::operation::put_object::PutObjectError>> {
        let mut put = self
            .client
            .put_object()
            .bucket(self.bucket())
            .key(self.settings.location.lock_key())
            .content_type("application/json")
            .if_none_match("*")
            .body(body.to_vec().into());
        if let Some(key) = &self.settings.kms_key {
            put = put.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(key);
        }
        Ok(put.send().await?.e_tag().map(str::to_owned))
    }

    /// The lock object, if there is one. Its holder's `started_at` is the object's
    /// `LastModified`: S3's clock, not the holder's.
    async fn read_lock(&self) -> Result<Option<FoundLock>, LockError> {
        let step = "the read of the holder (GetObject)";
        let answer = self.client.get_object().bucket(self.bucket()).key(self.settings.location.lock_key()).send().await;
        let output = match answer {
            Ok(output) => output,
            Err(error) if no_such_key(&error) => return Ok(None),
            Err(error) => return Err(self.lock_error(step, describe(&error))),
        };
        let etag = output.e_tag().map(str::to_owned);
        let since = output
            .last_modified()
            .and_then(|time| jiff::Timestamp::from_second(time.secs()).ok())
            .map(|time| time.to_string());
        let body = output.body.collect().await.map_err(|error| self.lock_error(step, error.to_string()))?;
        let holder = serde_json::from_slice::<LockInfo>(&body.into_bytes()).ok().map(|mut holder| {
            if let Some(since) = since {
                holder.started_at = since;
            }
            holder
        });
        Ok(Some(FoundLock { holder, etag }))
    }

    /// Who holds the lock, if anyone, and since when (the lock object's LastModified, for
    /// "held for 3m").
    pub async fn lock_holder(&self) -> Result<Option<LockInfo>, LockError> {
        match self.read_lock().await? {
            None => Ok(None),
            Some(FoundLock { holder: Some(holder), .. }) => Ok(Some(holder)),
            Some(FoundLock { holder: None, .. }) => Err(self.not_a_lock()),
        }
    }

    fn not_a_lock(&self) -> LockError {
        self.lock_error(
            "the read of the holder (GetObject)",
            "the object is not a lock stowage wrote: if no stowage run holds this state, delete it by hand".to_owned(),
        )
    }

    /// Removes the lock only when its recorded id is `id` (delete conditioned on the lock
    /// object's ETag); errors as the local force_unlock does (NotLocked, IdMismatch).
    pub async fn force_unlock(&self, id: &str) -> Result<ForceUnlocked, LockError> {
        let state = self.settings.location.as_path();
        for _ in 0..DELETE_ATTEMPTS {
            let Some(found) = self.read_lock().await? else { return Err(LockError::NotLocked { state }) };
            let Some(holder) = found.holder else { return Err(self.not_a_lock()) };
            if id.trim().parse::<Uuid>().ok() != Some(holder.id) {
                return Err(LockError::IdMismatch { state, given: id.to_owned(), holder: Box::new(holder) });
            }
            let Some(etag) = found.etag else {
                let why = "S3 gave the lock object no ETag, so it cannot be deleted conditionally".to_owned();
                return Err(self.lock_error("the read of the holder (GetObject)", why));
            };
            let deleted = self
                .client
                .delete_object()
                .bucket(self.bucket())
                .key(self.settings.location.lock_key())
                .if_match(etag)
                .send()
                .await;
            match deleted {
                Ok(_) => {
                    let removed = vec![PathBuf::from(self.settings.location.lock_location())];
                    return Ok(ForceUnlocked { holder, removed });
                }
                // Replaced, removed, or raced since it was read: read again what is there now.
                Err(error) if refused(&error) || no_such_key(&error) => {}
                Err(error) => return Err(self.lock_error("the conditional delete (DeleteObject)", describe(&error))),
            }
        }
        let why = "the lock object kept changing while it was being removed: nothing was removed, try again".to_owned();
        Err(self.lock_error("the conditional delete (DeleteObject)", why))
    }
}
