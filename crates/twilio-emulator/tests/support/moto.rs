//! moto for the emulator's tests, started by the project's one launcher
//! (`stowage_test_support::Moto`): the `moto_server` that `cargo xtask` installs, or
//! `$STOWAGE_MOTO_SERVER`, never one found on `PATH`. A test that needs moto fails when moto
//! cannot start: it is never skipped.

use stowage_test_support::Moto;

pub struct MotoServer {
    moto: Moto,
    endpoint: String,
}

impl MotoServer {
    /// Starts moto on a free loopback port and waits until it answers.
    pub async fn start() -> Self {
        let moto = Moto::start();
        let endpoint = moto.endpoint();
        Self { moto, endpoint }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Turns IAM enforcement on: from now on every request must be signed by a known access key
    /// whose policies allow the action.
    pub async fn enforce_iam(&self) {
        self.moto.enforce_iam(true);
    }
}
