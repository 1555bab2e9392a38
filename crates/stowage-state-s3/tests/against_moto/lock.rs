//! The lock object: one exclusive holder, released only by itself, never taken over.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use stowage_state::{LockError, LockMode, StateStore};
use stowage_state_s3::S3StateStore;
use stowage_test_support::{AwsProxy, Fault, FaultAction, Moto};
use tokio::sync::oneshot;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};

use crate::{BUCKET, KEY, REGION, bounded, moto_with_bucket, object_bytes, request, settings, store};

const LOCK_LOCATION: &str = "s3://acme-stowage-state/envs/dev/state.json.lock";

/// Tells the test once the store says it is waiting for the lock (its `waiting_for_lock`
/// event): the waiter has tried, been refused, and read the holder.
struct OnWaiting(Mutex<Option<oneshot::Sender<()>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for OnWaiting {
    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        if event.metadata().name() == "waiting_for_lock"
            && let Some(waiting) = self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
        {
            let _ = waiting.send(());
        }
    }
}

fn lock_id(lock: &stowage_state_s3::S3Lock) -> uuid::Uuid {
    lock.info().expect("an exclusive lock records its holder").id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusive_lock_keeps_others_out_until_it_is_dropped() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let holder_store = store(&moto);
        let first = holder_store.lock(&request(LockMode::Exclusive, Duration::ZERO)).await.expect("the first lock");
        let first_id = lock_id(&first);
        assert_eq!(holder_store.lock_holder().await.expect("read").map(|holder| holder.id), Some(first_id));

        let refused = store(&moto).lock(&request(LockMode::Exclusive, Duration::ZERO)).await.expect_err("held");
        let LockError::Held { state, holder: Some(holder), waited } = &refused else { panic!("{refused:?}") };
        assert_eq!(state, &PathBuf::from(format!("s3://{BUCKET}/{KEY}")));
        assert_eq!((holder.id, holder.operation.as_str(), holder.pid), (first_id, "apply", std::process::id()));
        assert_eq!(*waited, Duration::ZERO);
        assert!(refused.to_string().contains(&format!("lock id: {first_id}")), "{refused}");

        // Read-only runs take nothing, whoever holds the lock.
        let shared = store(&moto).lock(&request(LockMode::Shared, Duration::ZERO)).await.expect("a shared lock");
        assert!(shared.info().is_none());
        shared.release().await.expect("releases nothing");
        assert_eq!(holder_store.lock_holder().await.expect("read").map(|holder| holder.id), Some(first_id));

        // A waiter gets the lock once the holder drops it, from another task.
        let (waiting, waiter_waits) = oneshot::channel();
        let subscriber = tracing_subscriber::registry().with(OnWaiting(Mutex::new(Some(waiting))));
        let waiter_store = store(&moto);
        let waiter = tokio::spawn(
            async move {
                let lock = waiter_store.lock(&request(LockMode::Exclusive, Duration::from_secs(60))).await;
                (waiter_store, lock)
            }
            .with_subscriber(subscriber),
        );
        waiter_waits.await.expect("the waiter says it waits");
        tokio::spawn(async move { drop(first) }).await.expect("dropped");

        let (waiter_store, second) = waiter.await.expect("the waiter ends");
        let second = second.expect("the waiter takes the lock");
        assert_ne!(lock_id(&second), first_id);
        assert_eq!(waiter_store.lock_holder().await.expect("read").map(|holder| holder.id), Some(lock_id(&second)));
        second.release().await.expect("released");
        assert_eq!(waiter_store.lock_holder().await.expect("read"), None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_left_by_a_killed_run_is_removed_only_with_its_id() {
    bounded(async {
        let moto = moto_with_bucket().await;
        // A run SIGKILLed while holding the lock: its lock object stays.
        let killed = store(&moto).lock(&request(LockMode::Exclusive, Duration::ZERO)).await.expect("locked");
        let stale_id = lock_id(&killed);
        std::mem::forget(killed);
        let left = object_bytes(&moto, &format!("{KEY}.lock")).await.expect("the lock object");

        let next = store(&moto);
        let refused =
            next.lock(&request(LockMode::Exclusive, Duration::from_millis(100))).await.expect_err("no takeover");
        let LockError::Held { holder: Some(holder), waited, .. } = &refused else { panic!("{refused:?}") };
        assert_eq!(holder.id, stale_id);
        assert_eq!(*waited, Duration::from_millis(100));
        assert!(
            refused.to_string().contains(&format!("stowage force-unlock {stale_id} --state s3://{BUCKET}/{KEY}")),
            "{refused}"
        );
        let since = holder.started_at.parse::<jiff::Timestamp>().expect("RFC 3339: the lock object's LastModified");
        assert!(jiff::Timestamp::now().duration_since(since).as_secs() < 60, "{since}");

        let wrong = uuid::Uuid::new_v4().to_string();
        let mismatch = next.force_unlock(&wrong).await.expect_err("a wrong id");
        let LockError::IdMismatch { given, holder, .. } = &mismatch else { panic!("{mismatch:?}") };
        assert_eq!((given.as_str(), holder.id), (wrong.as_str(), stale_id));
        assert!(mismatch.to_string().contains("nothing was removed"), "{mismatch}");
        assert_eq!(object_bytes(&moto, &format!("{KEY}.lock")).await, Some(left), "nothing was removed");

        let unlocked = next.force_unlock(&stale_id.to_string()).await.expect("the right id");
        assert_eq!(unlocked.holder.id, stale_id);
        assert_eq!(unlocked.removed, [PathBuf::from(LOCK_LOCATION)]);
        assert_eq!(next.lock_holder().await.expect("read"), None);
        let again = next.force_unlock(&stale_id.to_string()).await.expect_err("nothing left to unlock");
        assert!(matches!(again, LockError::NotLocked { .. }), "{again:?}");

        let lock = next.lock(&request(LockMode::Exclusive, Duration::ZERO)).await.expect("the lock is free");
        lock.release().await.expect("released");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_after_a_force_unlock_leaves_the_next_holders_lock() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let forced = store(&moto).lock(&request(LockMode::Exclusive, Duration::ZERO)).await.expect("locked");
        let forced_id = lock_id(&forced);
        let other = store(&moto);
        other.force_unlock(&forced_id.to_string()).await.expect("forced away");
        let next = other.lock(&request(LockMode::Exclusive, Duration::ZERO)).await.expect("the next holder");

        forced.release().await.expect("a lock no longer ours is a warning, not an error");

        assert_eq!(other.lock_holder().await.expect("read").map(|holder| holder.id), Some(lock_id(&next)));
        let forced_again = store(&moto).lock(&request(LockMode::Exclusive, Duration::ZERO)).await;
        assert!(matches!(forced_again, Err(LockError::Held { .. })), "{forced_again:?}");

        // Dropped rather than released: the same.
        let dropped = next;
        other.force_unlock(&lock_id(&dropped).to_string()).await.expect("forced away");
        let third = other.lock(&request(LockMode::Exclusive, Duration::ZERO)).await.expect("the third holder");
        drop(dropped);
        assert_eq!(other.lock_holder().await.expect("read").map(|holder| holder.id), Some(lock_id(&third)));
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_lock_dropped_where_it_cannot_be_released_is_left_for_force_unlock() {
    bounded(async {
        let moto: Moto = moto_with_bucket().await;
        let lock = store(&moto).lock(&request(LockMode::Exclusive, Duration::ZERO)).await.expect("locked");
        let id = lock_id(&lock);

        // A current-thread runtime cannot block in place: the drop warns and leaves the object.
        drop(lock);

        let other = store(&moto);
        assert_eq!(other.lock_holder().await.expect("read").map(|holder| holder.id), Some(id));
        other.force_unlock(&id.to_string()).await.expect("removed with its id");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_eight_runs_locking_at_once_exactly_one_holds_the_lock() {
    bounded(async {
        let moto = moto_with_bucket().await;
        for round in 0..3 {
            let mut attempts = tokio::task::JoinSet::new();
            for _ in 0..8 {
                let store = store(&moto);
                attempts.spawn(async move { store.lock(&request(LockMode::Exclusive, Duration::ZERO)).await });
            }
            let mut held = Vec::new();
            while let Some(attempt) = attempts.join_next().await {
                match attempt.expect("the attempt ends") {
                    Ok(lock) => held.push(lock),
                    Err(LockError::Held { .. }) => {}
                    Err(error) => panic!("round {round}: {error}"),
                }
            }
            assert_eq!(held.len(), 1, "round {round}: {held:?}");
            for lock in held {
                lock.release().await.expect("released");
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_races_another_conditional_request_is_tried_again() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let proxy = AwsProxy::start(&moto.endpoint()).await;
        let through_proxy =
            S3StateStore::new(&moto.aws_sdk_config_via(&proxy.endpoint(), REGION), settings(None), true);
        let lock = through_proxy.lock(&request(LockMode::Exclusive, Duration::ZERO)).await.expect("locked");
        // S3 answers a conditional request that races another on the same key with 409.
        proxy.inject(Fault::once(
            "DeleteObject",
            FaultAction::Error { status: 409, code: "ConditionalRequestConflict".to_owned() },
        ));

        lock.release().await.expect("released on the second try");

        assert_eq!(store(&moto).lock_holder().await.expect("read"), None);
        let deletes: Vec<String> = proxy
            .requests()
            .iter()
            .filter(|request| request.operation == "DeleteObject")
            .map(ToString::to_string)
            .collect();
        assert_eq!(deletes, ["s3 DeleteObject write 409", "s3 DeleteObject write 204"]);
    })
    .await;
}
