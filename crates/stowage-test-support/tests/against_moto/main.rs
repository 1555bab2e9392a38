//! The helpers against a real moto: one test binary, so the AWS SDK is linked once.

mod moto;
mod proxy;
mod twilio;

use std::time::Duration;

/// Every test here finishes in seconds; a hang fails it instead of the whole run.
async fn bounded<T>(test: impl Future<Output = T>) -> T {
    stowage_test_support::within(Duration::from_secs(90), test).await
}
