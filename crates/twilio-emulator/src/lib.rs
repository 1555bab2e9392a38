//! A stateful, in-memory emulator of the parts of the Twilio API that stowage uses, for
//! stowage's integration tests and the local demo.
//!
//! # What it serves
//!
//! On one address, as Twilio's OpenAPI documents (embedded from `openapi/`) describe them:
//!
//! - Accounts v1 `/v1/Credentials/AWS` and `/v1/Credentials/PublicKeys`: create (201), list
//!   with paging (`PageSize`, `Page`, `PageToken`, and `meta` with absolute page URLs on the
//!   emulator's own address), fetch, update (`FriendlyName` only) and delete (204). The AWS
//!   secret is kept for the write test below; it is never answered, logged or recorded.
//! - Video v1 `/v1/RecordingSettings/Default` and `/v1/CompositionSettings/Default`: fetch
//!   (Twilio's defaults before the first POST) and POST, which replaces the whole settings.
//!   When a POST switches storage on, the emulator does what Twilio does: it writes
//!   `PATH/twilio-storage-test-<recordings|compositions>.txt` into the bucket of `AwsS3Url`
//!   with the stored AWS credential, against the configured S3 endpoint (moto), and refuses
//!   the settings if that fails: 53615/53625 access denied, 53611/53621 key or signature not
//!   accepted, 53610/53620 bad URL, missing bucket or wrong region (5361x for recordings,
//!   5362x for compositions, as in Twilio's error catalogue).
//!
//! Every request authenticates with HTTP Basic, as a configured account (SID and auth token)
//! or API key (SID and secret), and sees only that account's resources. A credential's
//! `AccountSid` may name the caller or one of its subaccounts ([`EmulatorConfig::subaccount`],
//! `--subaccount`); any other account is refused with 403, code 20003 (Permission Denied). Errors are Twilio's
//! JSON: `{"code", "message", "more_info", "status"}`.
//!
//! Every request is checked against the OpenAPI documents: unknown parameters, wrong types,
//! patterns, lengths, missing required parameters. The emulator is stricter than Twilio, which
//! ignores unknown parameters: it answers 400 (code 20001), so a client that passes its tests
//! here is proven to send what the documents describe. Each request is recorded with its
//! method, path, status, parameter names (never values), account and violations.
//!
//! # Running it
//!
//! In process, [`spawn`] an [`EmulatorConfig`]; as a process:
//!
//! ```text
//! twilio-emulator --listen 127.0.0.1:0 --s3-endpoint http://127.0.0.1:5000 \
//!     --account AC0123456789abcdef0123456789abcdef:TOKEN [--api-key SK…:SECRET:AC…] \
//!     [--subaccount AC…:TOKEN:OWNER_AC…]
//! ```
//!
//! which prints `twilio-emulator listening on http://IP:PORT` as its first stdout line and
//! serves both APIs there until interrupted.
//!
//! # Controlling it from tests
//!
//! Admin endpoints need no authentication and are not recorded:
//! `POST /__emulator/reset`, `GET /__emulator/requests`, `POST /__emulator/faults` (see
//! [`FaultRule`]; `DELETE` clears them), `POST /__emulator/latency` (`{"ms": 50}`, added to every
//! API response). In process, [`RunningEmulator`] has the same controls as methods.
//!
//! # Limits: what is not emulated
//!
//! - Only the operations above; every other Twilio path answers 404.
//! - Subaccounts exist only as configured: there is no `/2010-04-01/Accounts` API to make or
//!   close them, and a subaccount's API keys are its own (a main account's key acting for a
//!   subaccount is not modelled).
//! - A URL naming the wrong region fails the write test only if the S3 endpoint refuses it:
//!   AWS does, moto does not.
//! - The write test checks only that one `PutObject` succeeds. Twilio's later, asynchronous
//!   failures (SSE-S3 default encryption, a credential deleted after the settings were saved,
//!   upload retries running out) are not reproduced, and nothing is ever recorded or uploaded.
//! - Public keys are checked for shape (PEM, DER `SubjectPublicKeyInfo`, RSA), not size or
//!   usability; encryption is never performed.
//! - The exact wording of Twilio's error messages, rate limits and response headers other than
//!   `Retry-After` and `WWW-Authenticate`.
//! - State lives in memory only and is lost when the emulator stops.

mod config;
mod conformance;
mod control;
mod credentials;
mod error;
pub mod openapi;
mod operation;
mod paging;
mod public_key;
mod server;
mod settings;
mod sid;
mod store;
mod write_test;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{Account, ApiKey, EmulatorConfig, ParseCredentialError};
pub use control::{FaultRule, FaultRuleError, RecordedRequest};
pub use error::EmulatorError;

use server::Emulator;

/// Starts an emulator on `config.listen` and serves it in the background of the current tokio
/// runtime until the returned handle is dropped or shut down.
pub async fn spawn(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    config.validate()?;
    let bind_error = |source| EmulatorError::Bind { address: config.listen, source };
    let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
    let address = listener.local_addr().map_err(bind_error)?;
    let emulator = Arc::new(Emulator::new(config, format!("http://{address}"))?);
    let router = server::router(Arc::clone(&emulator));
    let (shutdown, shutdown_requested) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                // A dropped sender also means stop.
                let _ = shutdown_requested.await;
            })
            .await
    });
    tracing::info!(%address, "twilio-emulator listening");
    Ok(RunningEmulator { address, emulator, shutdown: Some(shutdown), server: Some(server) })
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningEmulator {
    address: SocketAddr,
    emulator: Arc<Emulator>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// `http://IP:PORT`, the base of both APIs.
    pub fn base_url(&self) -> String {
        self.emulator.base_url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.address
    }

    /// The API requests answered so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.emulator.control().requests()
    }

    /// The access key id the AWS credential `sid` holds (Twilio's API never returns it; the
    /// secret is never given out), or `None` when there is no such AWS credential.
    pub fn aws_credential_key(&self, sid: &str) -> Option<String> {
        self.emulator.store().aws_key_of(sid).map(str::to_owned)
    }

    /// Forgets every resource, fault, the latency and the request log.
    pub fn reset(&self) {
        self.emulator.reset();
    }

    pub fn add_fault(&self, rule: FaultRule) -> Result<(), FaultRuleError> {
        self.emulator.control().add_fault(rule)
    }

    /// Delays every API response by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.emulator.control().set_latency(latency);
    }

    /// Stops accepting connections and waits for the open ones to finish.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let Some(server) = self.server.take() else {
            return Ok(());
        };
        match server.await {
            Ok(result) => result.map_err(EmulatorError::Serve),
            // The task was cancelled or panicked: either way the server is gone.
            Err(_) => Ok(()),
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
