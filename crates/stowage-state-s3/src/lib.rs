//! The state kept in S3: [`S3StateStore`], a [`StateStore`] whose every write is conditioned on
//! the version of the state object it read, and whose lock is an object beside the state that
//! only one run can create. A crate of its own so that `stowage-state`, the format crate, keeps
//! no AWS dependency. Terraform 1.10's S3 backend with `use_lockfile` is the model, made
//! stricter: no write is ever unconditioned.
//!
//! # What it guarantees
//!
//! - **The state object** (`s3://BUCKET/KEY`) holds exactly the bytes the local state file
//!   would ([`stowage_state::encode_state`]), and is read as strictly
//!   ([`stowage_state::decode_state`]).
//! - **No lost update.** [`StateStore::read`] remembers the object's `ETag` (and `VersionId`);
//!   [`StateStore::write`] puts the new state with `If-Match: <that ETag>`, or, when the store
//!   read no object, with `If-None-Match: *`. S3 checks the condition and writes as one step, so
//!   of two runs that read the same version only the first one's write lands; the other gets
//!   [`StateError::Conflict`], naming what is stored now, and nothing is written. A write whose
//!   expected serial is not the one read is refused the same way, before any request.
//! - **One writer at a time.** The lock is the object `KEY.lock`, created with
//!   `If-None-Match: *` and holding the holder's [`LockInfo`](stowage_state::LockInfo) (JSON).
//!   A run refused waits with a short backoff up to its timeout, then fails with
//!   [`LockError::Held`] naming the holder and the lock id; the holder's `started_at` is then
//!   the lock object's `LastModified` (S3's clock, not the holder's). Read-only runs
//!   ([`LockMode::Shared`](stowage_state::LockMode::Shared)) take no lock: each read is of one
//!   whole object version, and they write nothing.
//! - **A lock is released only by its holder.** [`S3Lock`] deletes `KEY.lock` with `If-Match:
//!   <the ETag it created>` (every lock body holds a fresh id, so no two locks share an ETag):
//!   after a force-unlock and someone else's lock, the old holder's release deletes nothing.
//! - **No automatic takeover.** S3 cannot tell a dead holder (a SIGKILLed run) from a live
//!   one, so a lock left behind stays until [`S3StateStore::force_unlock`] is given its id.
//! - **No secret** is written: the state model holds none, and nothing else is stored.
//!
//! # What S3 documents, and this crate relies on
//!
//! - Conditional writes
//!   (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>):
//!   `PutObject` with `If-None-Match: *` writes only when no object has the key, and with
//!   `If-Match: ETAG` only when the current object has that ETag; otherwise `412 Precondition
//!   Failed`, and nothing is written. A conditional request that races another on the same key
//!   may instead get `409 ConditionalRequestConflict` (S3 says: fetch the ETag again and retry);
//!   this store re-reads the object, retries while what it read is still there, and otherwise
//!   reports the conflict.
//! - `If-Match` on `DeleteObject` deletes only the object with that ETag (`412` otherwise);
//!   a `409` there is tried again too, so a lock is never left behind by a race.
//! - S3 is strongly consistent for reads after writes, so a re-read shows the write that won.
//!
//! - An SDK retry of a write whose answer was lost is refused by the write itself (`412`): a
//!   refused write whose object now holds exactly its bytes, or a refused lock whose object
//!   holds its id, has landed, and is taken as done.
//!
//! In a versioned bucket every lock leaves a version of `KEY.lock` and a delete marker behind;
//! a lifecycle rule that expires noncurrent versions keeps them few.
//!
//! moto, the emulator the tests run against, checks a condition and then writes, in two steps
//! that concurrent requests can interleave; the project's moto patch
//! (`crates/stowage-test-support/moto/sitecustomize.py`) makes them one, as on S3, and
//! `tests/against_moto` races conditional puts to hold it to that.

mod backend;
mod bucket;
mod errors;
mod location;
mod lock;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use aws_sdk_s3::Client;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_types::SdkConfig;
use aws_types::region::Region;
use serde_json::Value;
use stowage_state::{LockError, LockRequest, State, StateError, StateStore, decode_state, encode_state};
use uuid::Uuid;

pub use backend::{Backend, BackendLock};
pub use location::{S3Location, S3LocationError};
pub use lock::S3Lock;

use crate::errors::{describe, no_such_key, refused};

/// How often a write refused with `409 ConditionalRequestConflict` is tried while the version
/// it was made from is still the stored one.
const WRITE_ATTEMPTS: usize = 3;

/// Where a state is kept in S3, and how it is encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3StateSettings {
    pub location: S3Location,
    /// The state bucket's region.
    pub region: String,
    /// SSE-KMS key (id or ARN) for the state object and the lock object; None: the bucket's
    /// default encryption.
    pub kms_key: Option<String>,
}

/// One environment's state in an S3 object, and its lock object beside it. See the crate's
/// documentation for what it guarantees.
#[derive(Debug)]
pub struct S3StateStore {
    client: Client,
    settings: S3StateSettings,
    /// The state object as this store last read or wrote it: what its next write replaces.
    seen: Mutex<Seen>,
}

/// What a store knows of its state object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Seen {
    /// Nothing: no read yet (or the last one failed).
    #[default]
    Nothing,
    /// The read found no object.
    Absent,
    /// The object read or written last.
    Object(Version),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    etag: String,
    version_id: Option<String>,
    serial: u64,
    lineage: Uuid,
}

/// A state object as `GetObject` answered it.
#[derive(Debug)]
struct Fetched {
    bytes: Vec<u8>,
    etag: Option<String>,
    version_id: Option<String>,
}

/// What a state write is conditioned on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    /// `If-None-Match: *`
    NoObject,
    /// `If-Match: ETAG`
    Matches(String),
}

impl S3StateStore {
    /// `config` gives credentials, endpoint, retry and timeouts; the region is
    /// `settings.region`; `path_style` forces path-style addressing (moto).
    pub fn new(config: &SdkConfig, settings: S3StateSettings, path_style: bool) -> Self {
        let mut s3_config = aws_sdk_s3::config::Builder::from(config)
            .region(Region::new(settings.region.clone()))
            .force_path_style(path_style);
        if config.endpoint_url().is_some_and(stowage_s3_compat::is_loopback_url) {
            s3_config = s3_config.interceptor(stowage_s3_compat::MotoCompat);
        }
        let client = Client::from_conf(s3_config.build());
        Self { client, settings, seen: Mutex::new(Seen::Nothing) }
    }

    pub fn location(&self) -> &S3Location {
        &self.settings.location
    }

    /// The version of the state object this store last read or wrote: its S3 VersionId when
    /// the bucket is versioned, else its ETag. None before any read, or when there is no
    /// object.
    pub fn version(&self) -> Option<String> {
        match &*self.seen() {
            Seen::Object(version) => Some(version.version_id.clone().unwrap_or_else(|| version.etag.clone())),
            Seen::Nothing | Seen::Absent => None,
        }
    }

    fn seen(&self) -> MutexGuard<'_, Seen> {
        // A plain value, consistent even if a holder panicked.
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, seen: Seen) {
        *self.seen() = seen;
    }

    fn bucket(&self) -> &str {
        &self.settings.location.bucket
    }

    fn key(&self) -> &str {
        &self.settings.location.key
    }

    /// The state as `stowage_state`'s errors name it: `s3://BUCKET/KEY`.
    fn state_path(&self) -> PathBuf {
        self.settings.location.as_path()
    }

    fn remote_error(&self, step: &'static str, error: String) -> StateError {
        StateError::Remote { location: self.settings.location.to_string(), step, error }
    }

    /// The state object, or `None` when there is none.
    async fn fetch(&self, step: &'static str) -> Result<Option<Fetched>, StateError> {
        let answer = self.client.get_object().bucket(self.bucket()).key(self.key()).send().await;
        let output = match answer {
            Ok(output) => output,
            Err(error) if no_such_key(&error) => return Ok(None),
            Err(error) => return Err(self.remote_error(step, describe(&error))),
        };
        let etag = output.e_tag().map(str::to_owned);
        let version_id = output.version_id().filter(|id| *id != "null").map(str::to_owned);
        let body = output.body.collect().await.map_err(|error| self.remote_error(step, error.to_string()))?;
        Ok(Some(Fetched { bytes: body.into_bytes().to_vec(), etag, version_id }))
    }

    /// A refused write: what is stored now, read again, and nothing written.
    async fn conflict(&self, state: &State, expected_serial: u64) -> StateError {
        let found = match self.fetch("the read after a refused write (GetObject)").await {
            Ok(fetched) => describe_stored(fetched.as_ref()),
            Err(error) => format!("a state this run could not read again ({error})"),
        };
        self.conflict_found(state, expected_serial, found)
    }

    fn conflict_found(&self, state: &State, expected_serial: u64, found: String) -> StateError {
        StateError::Conflict {
            location: self.settings.location.to_string(),
            expected_serial,
            lineage: state.lineage,
            found,
        }
    }

    /// The condition a write of `state` over `expected_serial` puts on the object, from what
    /// this store read; a store that read nothing reads now.
    async fn condition(&self, state: &State, expected_serial: u64) -> Result<Condition, StateError> {
        let seen = self.seen().clone();
        match seen {
            Seen::Absent if expected_serial == 0 => Ok(Condition::NoObject),
            Seen::Object(version) if version.serial == expected_serial && version.lineage == state.lineage => {
                Ok(Condition::Matches(version.etag))
            }
            Seen::Absent | Seen::Object(_) => Err(self.conflict(state, expected_serial).await),
            Seen::Nothing if expected_serial == 0 => Ok(Condition::NoObject),
            Seen::Nothing => {
                // Never read: the version to replace is the one stored, if it is the expected one.
                let fetched = self.fetch("the read before a write (GetObject)").await?;
                match fetched {
                    Some(Fetched { bytes, etag: Some(etag), .. })
                        if stored_identity(&bytes) == Some((expected_serial, state.lineage)) =>
                    {
                        Ok(Condition::Matches(etag))
                    }
                    fetched => Err(self.conflict_found(state, expected_serial, describe_stored(fetched.as_ref()))),
                }
            }
        }
    }

    async fn put_state(
        &self,
        bytes: &[u8],
        condition: &Condition,
    ) -> Result<
        aws_sdk_s3::operation::put_object::PutObjectOutput,
        errors::S3Error<aws_sdk_s3::operation::put_object::PutObjectError>,
    > {
        let mut put = self
            .client
            .put_object()
            .bucket(self.bucket())
            .key(self.key())
            .content_type("application/json")
            .body(bytes.to_vec().into());
        put = match condition {
            Condition::NoObject => put.if_none_match("*"),
            Condition::Matches(etag) => put.if_match(etag),
        };
        if let Some(key) = &self.settings.kms_key {
            put = put.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(key);
        }
        put.send().await
    }

    /// Whether `fetched` is still what `condition` was made from.
    fn still_holds(condition: &Condition, fetched: Option<&Fetched>) -> bool {
        match (condition, fetched) {
            (Condition::NoObject, None) => true,
            (Condition::Matches(etag), Some(fetched)) => fetched.etag.as_deref() == Some(etag.as_str()),
            _ => false,
        }
    }
}

/// `serial N of lineage L`, as `stowage_state` describes a stored state, or what else is there.
fn describe_stored(fetched: Option<&Fetched>) -> String {
    match fetched {
        None => "no state".to_owned(),
        Some(fetched) => match stored_identity(&fetched.bytes) {
            Some((serial, lineage)) => format!("serial {serial} of lineage {lineage}"),
            None => "an object that is not a state stowage can read".to_owned(),
        },
    }
}

/// The serial and lineage of a stored state; only the two fields are read, so a damaged or
/// newer state is still told apart.
fn stored_identity(bytes: &[u8]) -> Option<(u64, Uuid)> {
    let document: Value = serde_json::from_slice(bytes).ok()?;
    let serial = document.get("serial").and_then(Value::as_u64)?;
    let lineage = document.get("lineage").and_then(Value::as_str)?.parse().ok()?;
    Some((serial, lineage))
}

/// `stowage_state::encode_state` names the state `state`; here it is `s3://BUCKET/KEY`.
fn at_location(mut error: StateError, location: PathBuf) -> StateError {
    if let StateError::UnwritableVersion { path, .. }
    | StateError::DuplicateAddress { path, .. }
    | StateError::AddressTypeMismatch { path, .. }
    | StateError::Write { path, .. } = &mut error
    {
        *path = location;
    }
    error
}

impl StateStore for S3StateStore {
    type Lock = S3Lock;

    fn location(&self) -> String {
        self.settings.location.to_string()
    }

    async fn read(&self) -> Result<Option<State>, StateError> {
        self.remember(Seen::Nothing);
        let Some(fetched) = self.fetch("the read (GetObject)").await? else {
            self.remember(Seen::Absent);
            return Ok(None);
        };
        let state = decode_state(&self.state_path(), &fetched.bytes)?;
        if let Some(etag) = fetched.etag {
            self.remember(Seen::Object(Version {
                etag,
                version_id: fetched.version_id,
                serial: state.serial,
                lineage: state.lineage,
            }));
        }
        Ok(Some(state))
    }

    async fn write(&self, state: &State, expected_serial: u64) -> Result<(), StateError> {
        let bytes = encode_state(state).map_err(|error| at_location(error, self.state_path()))?;
        let mut condition = self.condition(state, expected_serial).await?;
        for attempt in 1..=WRITE_ATTEMPTS {
            let error = match self.put_state(&bytes, &condition).await {
                Ok(output) => {
                    self.remember(match output.e_tag() {
                        Some(etag) => Seen::Object(Version {
                            etag: etag.to_owned(),
                            version_id: output.version_id().filter(|id| *id != "null").map(str::to_owned),
                            serial: state.serial,
                            lineage: state.lineage,
                        }),
                        // Never from S3; the next write reads the version it replaces first.
                        None => Seen::Nothing,
                    });
                    return Ok(());
                }
                Err(error) if refused(&error) => error,
                Err(error) => return Err(self.remote_error("the conditional write (PutObject)", describe(&error))),
            };
            let now = match self.fetch("the read after a refused write (GetObject)").await {
                Ok(now) => now,
                Err(read_error) => {
                    let found = format!("a state this run could not read again ({read_error})");
                    return Err(self.conflict_found(state, expected_serial, found));
                }
            };
            match &now {
                // This very write landed: the SDK retried it after its answer was lost, and the
                // retry was refused by the write itself.
                Some(fetched) if fetched.bytes == bytes => {
                    self.remember(match &fetched.etag {
                        Some(etag) => Seen::Object(Version {
                            etag: etag.clone(),
                            version_id: fetched.version_id.clone(),
                            serial: state.serial,
                            lineage: state.lineage,
                        }),
                        None => Seen::Nothing,
                    });
                    return Ok(());
                }
                // 409: a conditional request raced this one, and the version read is still there.
                now if attempt < WRITE_ATTEMPTS && Self::still_holds(&condition, now.as_ref()) => {
                    tracing::debug!(
                        "S3 refused the write of state `{}` ({}) while nothing changed: trying again",
                        self.settings.location,
                        describe(&error)
                    );
                    condition = match now {
                        Some(Fetched { etag: Some(etag), .. }) => Condition::Matches(etag.clone()),
                        _ => Condition::NoObject,
                    };
                }
                now => return Err(self.conflict_found(state, expected_serial, describe_stored(now.as_ref()))),
            }
        }
        Err(self.conflict(state, expected_serial).await)
    }

    async fn lock(&self, request: &LockRequest) -> Result<S3Lock, LockError> {
        self.take_lock(request).await
    }
}
