//! The AWS side of stowage: the KMS key, the S3 bucket, the IAM user, its inline policy, the
//! managed policies attached to it by hand and its access key, each in a file of its own,
//! behind the [`Provider`] contract.
//!
//! Configuration comes from the standard AWS credential chain (environment, profile, SSO,
//! instance role) and `AWS_ENDPOINT_URL`; S3 uses path-style addressing when the endpoint is a
//! loopback address (moto, LocalStack). The SDK retries throttling and 5xx with exponential
//! backoff; every call has a timeout.

mod access_key;
mod bucket;
mod bucket_contents;
pub mod calls;
mod credentials;
mod errors;
pub mod existing;
pub mod inspect;
mod kms;
mod leftovers;
mod policy_attachment;
mod user;
mod user_policy;
mod waiting;
mod write_test;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};

pub use calls::CallCounter;
pub use credentials::AwsCredentialsError;
pub use waiting::{REAL_AWS_WINDOW, WaitNotifier};

use waiting::Waiting;

/// How to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// The spec's region: where the bucket lives.
    pub region: String,
    /// A named profile from the spec (`[aws] profile`).
    pub profile: Option<String>,
    /// Attempts per call, counting the first (throttling and 5xx are retried).
    pub max_attempts: Option<u32>,
    /// How long one attempt of a call may take (default 30 s); connecting gets at most 5 s of
    /// it, and a call with all its retries eight times as long.
    pub request_timeout: Option<Duration>,
    /// How long to wait for IAM and KMS to propagate a change (default [`REAL_AWS_WINDOW`];
    /// none against a loopback endpoint, whose emulator propagates at once).
    pub propagation_window: Option<Duration>,
    /// Told of each wait for propagation, for a progress line.
    pub on_wait: Option<WaitNotifier>,
}

/// The AWS provider: S3, IAM and KMS clients sharing one configuration and one call counter.
#[derive(Debug, Clone)]
pub struct AwsProvider {
    config: aws_types::SdkConfig,
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
    kms: aws_sdk_kms::Client,
    region: String,
    path_style: bool,
    waiting: Waiting,
    calls: CallCounter,
}

impl AwsProvider {
    /// Load the standard AWS configuration for `settings`.
    pub async fn connect(settings: &AwsSettings) -> Self {
        let attempt_timeout = settings.request_timeout.unwrap_or(Duration::from_secs(30));
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            // Adaptive: the standard retries, and a client-side rate limiter that slows every
            // call of the client down when AWS throttles (IAM's `Throttling` at a fleet's
            // thousands of users), instead of each retry finding the limit again.
            .retry_config(
                RetryConfig::adaptive()
                    .with_max_attempts(settings.max_attempts.unwrap_or(8))
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(20)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(attempt_timeout.min(Duration::from_secs(5)))
                    .operation_attempt_timeout(attempt_timeout)
                    .operation_timeout(attempt_timeout.saturating_mul(8).max(Duration::from_secs(120)))
                    .build(),
            );
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        let config = loader.load().await;
        errors::record_reach(errors::Reach {
            endpoint_url: config.endpoint_url().map(str::to_owned),
            region: settings.region.clone(),
            attempt_timeout,
            connect_timeout: attempt_timeout.min(Duration::from_secs(5)),
        });
        let mut provider = Self::from_config(&config, settings.region.clone());
        if let Some(window) = settings.propagation_window {
            provider.waiting.propagation.window = window;
        }
        provider.waiting.notifier = settings.on_wait.clone();
        provider
    }

    /// Build from an existing SDK configuration (tests, embedding).
    pub fn from_config(config: &aws_types::SdkConfig, region: String) -> Self {
        let calls = CallCounter::default();
        let path_style = config.endpoint_url().is_some_and(is_loopback_url);
        let mut s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .interceptor(calls.clone())
            .retry_classifier(errors::NoRetryOfLastingFailures);
        if path_style {
            s3_config = s3_config.interceptor(stowage_s3_compat::MotoCompat);
        }
        let s3 = aws_sdk_s3::Client::from_conf(s3_config.build());
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(config)
                .interceptor(calls.clone())
                .retry_classifier(errors::NoRetryOfLastingFailures)
                .build(),
        );
        let kms = aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::config::Builder::from(config)
                .interceptor(calls.clone())
                .retry_classifier(errors::NoRetryOfLastingFailures)
                .build(),
        );
        let waiting = Waiting::new(path_style);
        Self { config: config.clone(), s3, iam, kms, region, path_style, waiting, calls }
    }

    /// The calls made so far, by `service:Operation`.
    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The SDK configuration (credentials, endpoint, retries, timeouts): also what the S3 state
    /// store reaches its bucket with.
    pub fn sdk_config(&self) -> &aws_types::SdkConfig {
        &self.config
    }

    /// Whether S3 is addressed path-style (a loopback endpoint: moto).
    pub fn path_style(&self) -> bool {
        self.path_style
    }

    /// The region the standard chain names (`AWS_REGION`, the profile), when no spec does.
    pub async fn default_region() -> Option<String> {
        aws_config::meta::region::RegionProviderChain::default_provider()
            .region()
            .await
            .map(|region| region.to_string())
    }

    /// The region the environment or the AWS config files name (`AWS_REGION`,
    /// `AWS_DEFAULT_REGION`, the profile's `region`), never asking the instance metadata
    /// service: for a suggestion, which must be quick and quiet off EC2.
    pub async fn configured_region() -> Option<String> {
        aws_config::meta::region::RegionProviderChain::first_try(
            aws_config::environment::region::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(aws_config::profile::ProfileFileRegionProvider::new())
        .region()
        .await
        .map(|region| region.to_string())
    }

    /// How long, and with whom told, to retry what fails only because AWS has not caught up
    /// yet: the write test with a new key, a key policy naming a new user, a new bucket's
    /// configuration writes.
    pub(crate) fn waiting(&self) -> &Waiting {
        &self.waiting
    }

    pub(crate) fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    pub(crate) fn iam(&self) -> &aws_sdk_iam::Client {
        &self.iam
    }

    pub(crate) fn kms(&self) -> &aws_sdk_kms::Client {
        &self.kms
    }
}

pub use stowage_s3_compat::is_loopback_url;

stowage_provider::routes!(AwsProvider {
    KmsKey => kms::Kms,
    S3Bucket => bucket::Bucket,
    IamUser => user::User,
    IamUserPolicy => user_policy::UserPolicy,
    IamUserPolicyAttachment => policy_attachment::PolicyAttachment,
    IamAccessKey => access_key::AccessKey,
});
