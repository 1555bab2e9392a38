//! Starts moto (`moto_server`) on a free loopback port for one test, and stops it on drop.
//!
//! A test that needs moto fails when moto cannot start: it is never skipped.

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto answers within about a second; a loaded two-core machine can take much longer.
const STARTUP_LIMIT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    endpoint: String,
}

impl MotoServer {
    /// Starts `moto_server -H 127.0.0.1 -p PORT` and waits until `GET /moto-api/` answers.
    pub async fn start() -> Self {
        // Ask the kernel for a free port; moto binds it right after this listener closes.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // moto logs every request; an unread pipe would fill and stall it.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts (pip install 'moto[server]==5.2.1')");
        let mut moto = Self { child, endpoint: format!("http://127.0.0.1:{port}") };
        moto.wait_until_ready().await;
        moto
    }

    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("an HTTP client");
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited during startup with {status}");
            }
            let ready = client
                .get(format!("{}/moto-api/", self.endpoint))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if ready {
                return;
            }
            assert!(
                started.elapsed() < STARTUP_LIMIT,
                "moto_server did not answer on {} within {STARTUP_LIMIT:?}",
                self.endpoint
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Turns IAM enforcement on: from now on every request must be signed by a known access key
    /// whose policies allow the action.
    pub async fn enforce_iam(&self) {
        let response = reqwest::Client::new()
            .post(format!("{}/moto-api/reset-auth", self.endpoint))
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .body("0")
            .send()
            .await
            .expect("moto answers reset-auth");
        assert!(response.status().is_success(), "moto refused reset-auth: {}", response.status());
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Already gone is fine; either way reap it so no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
