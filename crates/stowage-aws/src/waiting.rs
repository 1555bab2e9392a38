//! Waiting for AWS to catch up with a change: the one retry loop of the provider.
//!
//! **Propagation.** IAM is eventually consistent: a new access key can be refused by S3 for
//! seconds after `CreateAccessKey` answered, a new user's policy takes as long to apply, and a
//! KMS key policy naming a user created moments ago is refused as "invalid principals" until KMS
//! sees the user. AWS's KMS documentation says new principals "might not be immediately visible"
//! and that callers may "need to enforce a delay"; Terraform's AWS provider waits up to two
//! minutes for the same thing (`PropagationTimeout` in its KMS package). So stowage waits up to
//! [`REAL_AWS_WINDOW`] for these.
//!
//! **Settling.** S3 refuses concurrent configuration writes on one bucket with `409
//! OperationAborted`, and a bucket just created can briefly answer `NoSuchBucket`: both pass
//! within seconds.
//!
//! Either way only the errors that waiting can fix are retried, with backoff, and each wait is
//! told to the [`WaitNotifier`] (a stderr line at the CLI); anything else fails at once. See
//! docs/real-services.md.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use stowage_provider::ProviderError;
use tokio::time::Instant;

/// How long to wait for IAM and KMS to propagate a change on AWS.
pub const REAL_AWS_WINDOW: Duration = Duration::from_secs(120);

/// What stowage waits for AWS to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Awaited {
    /// A new access key and its user's policy, as S3 sees them (the write test).
    NewAccessKey,
    /// A new IAM user, as KMS sees it (a key policy naming the uploader).
    UserToKms,
    /// A bucket's configuration writes, one at a time, right after it was created.
    BucketSettled,
}

impl Awaited {
    fn describe(self) -> &'static str {
        match self {
            Awaited::NewAccessKey => "AWS to propagate the new access key",
            Awaited::UserToKms => "AWS to propagate the new IAM user to KMS",
            Awaited::BucketSettled => "S3 to settle the bucket's configuration",
        }
    }
}

/// Told of each wait, to show a progress line (the provider never prints).
#[derive(Clone)]
pub struct WaitNotifier(Arc<dyn Fn(&str) + Send + Sync>);

impl WaitNotifier {
    pub fn new(notify: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Arc::new(notify))
    }
}

impl fmt::Debug for WaitNotifier {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("WaitNotifier")
    }
}

/// How long to keep trying, and how to space the tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Patience {
    pub window: Duration,
    pub first_pause: Duration,
    pub longest_pause: Duration,
}

impl Patience {
    /// IAM and KMS propagation on AWS.
    pub(crate) const PROPAGATION: Patience = Patience {
        window: REAL_AWS_WINDOW,
        first_pause: Duration::from_millis(500),
        longest_pause: Duration::from_secs(8),
    };
    /// A bucket's configuration settling on AWS.
    pub(crate) const SETTLING: Patience = Patience {
        window: Duration::from_secs(30),
        first_pause: Duration::from_millis(200),
        longest_pause: Duration::from_secs(4),
    };
    /// Against a local emulator, which refuses only when a test makes it: as many tries, quickly.
    pub(crate) const LOCAL_SETTLING: Patience = Patience {
        window: Duration::from_secs(2),
        first_pause: Duration::from_millis(10),
        longest_pause: Duration::from_millis(200),
    };
}

/// The provider's patience for each kind of wait, and whom to tell.
#[derive(Debug, Clone)]
pub(crate) struct Waiting {
    pub propagation: Patience,
    pub settling: Patience,
    pub notifier: Option<WaitNotifier>,
}

impl Waiting {
    /// For AWS, or (`local`) for an emulator on a loopback endpoint, which propagates at once.
    pub(crate) fn new(local: bool) -> Self {
        if local {
            Self {
                propagation: Patience { window: Duration::ZERO, ..Patience::PROPAGATION },
                settling: Patience::LOCAL_SETTLING,
                notifier: None,
            }
        } else {
            Self { propagation: Patience::PROPAGATION, settling: Patience::SETTLING, notifier: None }
        }
    }

    /// Retry `attempt` while it fails with an error `waiting_can_fix`, backing off, until the
    /// patience for `awaited` runs out; then the last error, saying how long stowage waited.
    pub(crate) async fn retry<T, Attempt, Sent>(
        &self,
        awaited: Awaited,
        waiting_can_fix: impl Fn(&ProviderError) -> bool,
        mut attempt: Attempt,
    ) -> Result<T, ProviderError>
    where
        Attempt: FnMut() -> Sent,
        Sent: Future<Output = Result<T, ProviderError>>,
    {
        let patience = match awaited {
            Awaited::NewAccessKey | Awaited::UserToKms => self.propagation,
            Awaited::BucketSettled => self.settling,
        };
        let started = Instant::now();
        let deadline = started + patience.window;
        let mut pause = patience.first_pause;
        loop {
            let error = match attempt().await {
                Err(error) if waiting_can_fix(&error) => error,
                result => return result,
            };
            let waited = started.elapsed();
            if Instant::now() + pause > deadline {
                return Err(if waited.is_zero() {
                    error
                } else {
                    ProviderError {
                        message: format!(
                            "{} (still failing after waiting {} s for {})",
                            error.message,
                            waited.as_secs(),
                            awaited.describe()
                        ),
                        ..error
                    }
                });
            }
            let line = format!("waiting for {}, {} s", awaited.describe(), waited.as_secs());
            tracing::debug!(%error, ?pause, "{line}");
            if let Some(notifier) = &self.notifier {
                (notifier.0)(&line);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(patience.longest_pause);
        }
    }
}

/// The write test's failures that a new key's propagation explains: S3 does not know the key
/// yet (`InvalidAccessKeyId`, `SignatureDoesNotMatch`), the user's policy has not reached S3
/// (`AccessDenied`), or KMS, called by S3 on the uploader's behalf, does not see the user or
/// the grant yet (the `KMS.*` codes S3 passes through). A key that is disabled, pending
/// deletion or of the wrong kind stays so however long one waits.
pub(crate) fn new_key_not_yet_seen(error: &ProviderError) -> bool {
    match error.code.as_deref() {
        Some("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied") => true,
        Some("KMS.DisabledException" | "KMS.KMSInvalidStateException" | "KMS.InvalidKeyUsageException") => false,
        Some(code) => code.starts_with("KMS."),
        None => false,
    }
}

/// KMS refuses a key policy naming a principal it does not see yet as malformed.
pub(crate) fn principal_not_yet_seen(error: &ProviderError) -> bool {
    error.code.as_deref() == Some("MalformedPolicyDocumentException")
}

/// S3 refuses a configuration write while another is in progress on the bucket
/// (`OperationAborted`), and a bucket just created (`fresh`) may not be visible yet
/// (`NoSuchBucket`); an existing bucket that answers `NoSuchBucket` is gone.
pub(crate) fn bucket_not_yet_settled(error: &ProviderError, fresh: bool) -> bool {
    match error.code.as_deref() {
        Some("OperationAborted") => true,
        Some("NoSuchBucket") => fresh,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use stowage_provider::ErrorKind;

    use super::*;

    fn error(code: &str) -> ProviderError {
        ProviderError::new(ErrorKind::Unauthorized, "s3", "PutObject", "refused").with_code(code)
    }

    #[test]
    fn only_what_waiting_can_fix_is_retried() {
        for code in [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "KMS.NotFoundException",
            "KMS.AccessDeniedException",
        ] {
            assert!(new_key_not_yet_seen(&error(code)), "{code}");
        }
        for code in [
            "KMS.DisabledException",
            "KMS.KMSInvalidStateException",
            "KMS.InvalidKeyUsageException",
            "NoSuchBucket",
            "InvalidBucketName",
            "InvalidRequest",
            "ExpiredToken",
        ] {
            assert!(!new_key_not_yet_seen(&error(code)), "{code}");
        }
        assert!(!new_key_not_yet_seen(&ProviderError::new(ErrorKind::Unavailable, "s3", "PutObject", "timed out")));
        assert!(principal_not_yet_seen(&error("MalformedPolicyDocumentException")));
        assert!(!principal_not_yet_seen(&error("AccessDeniedException")));
        assert!(bucket_not_yet_settled(&error("OperationAborted"), false));
        assert!(bucket_not_yet_settled(&error("NoSuchBucket"), true));
        assert!(!bucket_not_yet_settled(&error("NoSuchBucket"), false));
        assert!(!bucket_not_yet_settled(&error("AccessDenied"), true));
    }

    /// The codes an attempt has yet to fail with, in reverse order.
    type Remaining = Arc<Mutex<Vec<String>>>;

    /// Fails with `codes` in turn, then succeeds.
    fn attempts(codes: &[&str]) -> (Remaining, impl FnMut() -> std::future::Ready<Result<u32, ProviderError>>) {
        let remaining: Remaining = Arc::new(Mutex::new(codes.iter().rev().map(|code| (*code).to_owned()).collect()));
        let calls = Arc::clone(&remaining);
        let attempt = move || {
            let next = calls.lock().unwrap().pop();
            std::future::ready(match next {
                Some(code) => Err(error(&code)),
                None => Ok(7),
            })
        };
        (remaining, attempt)
    }

    fn recording(window: Duration) -> (Waiting, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let notifier = WaitNotifier::new(move |line| sink.lock().unwrap().push(line.to_owned()));
        let mut waiting = Waiting::new(false);
        waiting.propagation.window = window;
        waiting.notifier = Some(notifier);
        (waiting, lines)
    }

    #[tokio::test(start_paused = true)]
    async fn retries_with_backoff_and_says_what_it_waits_for() {
        let (waiting, lines) = recording(REAL_AWS_WINDOW);
        let (_, attempt) = attempts(&["InvalidAccessKeyId"; 6]);
        let started = Instant::now();
        let result = waiting.retry(Awaited::NewAccessKey, new_key_not_yet_seen, attempt).await;
        assert_eq!(result.unwrap(), 7);
        // 0.5 + 1 + 2 + 4 + 8 + 8 seconds of backoff.
        assert_eq!(started.elapsed(), Duration::from_millis(23_500));
        assert_eq!(
            *lines.lock().unwrap(),
            [0, 0, 1, 3, 7, 15].map(|seconds| format!("waiting for AWS to propagate the new access key, {seconds} s"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn what_waiting_cannot_fix_fails_at_once() {
        let (waiting, lines) = recording(REAL_AWS_WINDOW);
        let (remaining, attempt) = attempts(&["KMS.DisabledException", "AccessDenied"]);
        let started = Instant::now();
        let result = waiting.retry(Awaited::NewAccessKey, new_key_not_yet_seen, attempt).await;
        assert_eq!(result.unwrap_err().code.as_deref(), Some("KMS.DisabledException"));
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert!(lines.lock().unwrap().is_empty());
        assert_eq!(remaining.lock().unwrap().len(), 1, "no second attempt");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_when_the_window_has_passed_and_says_how_long_it_waited() {
        let (waiting, lines) = recording(REAL_AWS_WINDOW);
        let (_, attempt) = attempts(&["AccessDenied"; 100]);
        let started = Instant::now();
        let error = waiting.retry(Awaited::NewAccessKey, new_key_not_yet_seen, attempt).await.unwrap_err();
        assert!(started.elapsed() <= REAL_AWS_WINDOW, "{:?}", started.elapsed());
        assert!(started.elapsed() >= REAL_AWS_WINDOW - Patience::PROPAGATION.longest_pause, "{:?}", started.elapsed());
        assert_eq!(error.code.as_deref(), Some("AccessDenied"));
        insta::assert_snapshot!(error.message, @"refused (still failing after waiting 119 s for AWS to propagate the new access key)");
        // 0.5, 1, 2 and 4 seconds, then 14 pauses of 8: 119.5 s.
        assert_eq!(lines.lock().unwrap().len(), 18);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_window_the_first_error_is_the_answer() {
        let (waiting, lines) = recording(Duration::ZERO);
        let (_, attempt) = attempts(&["InvalidAccessKeyId"]);
        let error = waiting.retry(Awaited::NewAccessKey, new_key_not_yet_seen, attempt).await.unwrap_err();
        assert_eq!(error.message, "refused");
        assert!(lines.lock().unwrap().is_empty());
    }
}
