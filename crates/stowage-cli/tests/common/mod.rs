//! The fixture of the end-to-end tests: moto behind a recording proxy, the Twilio emulator, a
//! sandbox holding the spec, and the `stowage` binary run against them.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use stowage_test_support::twilio_emulator::RunningEmulator;
use stowage_test_support::{AwsProxy, Moto, Sandbox, start_emulator, stowage_command, twilio_env};

pub const BIN: &str = env!("CARGO_BIN_EXE_stowage");
pub const REGION: &str = "us-east-2";
pub const BUCKET: &str = "acme-video-dev";
pub const USER: &str = "twilio-video-uploader-dev";
pub const TIMEOUT: Duration = Duration::from_secs(120);

pub use stowage_test_support::dev_spec;

/// moto behind a recording proxy, the Twilio emulator, a sandbox with the spec.
pub struct World {
    pub moto: Moto,
    pub proxy: AwsProxy,
    pub twilio: RunningEmulator,
    pub sandbox: Sandbox,
    pub spec: PathBuf,
}

impl World {
    pub async fn new(spec_text: &str) -> World {
        let moto = Moto::start();
        let proxy = AwsProxy::start(&moto.endpoint()).await;
        let twilio = start_emulator(&moto.endpoint()).await;
        let sandbox = Sandbox::new();
        let spec = sandbox.write_spec("dev.toml", spec_text);
        World { moto, proxy, twilio, sandbox, spec }
    }

    pub fn rewrite_spec(&self, text: &str) {
        std::fs::write(&self.spec, text).expect("spec is writable");
    }

    pub async fn stowage(&self, args: &[&str]) -> Output {
        self.stowage_with(args, &[]).await
    }

    /// `stowage` with `extra` environment variables besides the world's.
    pub async fn stowage_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut environment = self.moto.aws_env_via(&self.proxy.endpoint());
        environment.extend(twilio_env(&self.twilio.base_url()));
        environment.extend(extra.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())));
        let mut command = tokio::process::Command::from(stowage_command(Path::new(BIN), &self.sandbox, environment));
        command.args(args);
        tokio::time::timeout(TIMEOUT, command.output()).await.expect("stowage finished in time").expect("stowage ran")
    }

    /// The emulator's request log: `(method, path)` of every request since the last reset.
    pub async fn twilio_requests(&self) -> Vec<(String, String)> {
        let url = format!("{}/__emulator/requests", self.twilio.base_url());
        let log: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        log.as_array()
            .unwrap()
            .iter()
            .map(|entry| (entry["method"].as_str().unwrap().to_owned(), entry["path"].as_str().unwrap().to_owned()))
            .collect()
    }

    pub async fn twilio_writes(&self) -> Vec<(String, String)> {
        self.twilio_requests().await.into_iter().filter(|(method, _)| method != "GET").collect()
    }

    /// `GET /BUCKET?versioning` straight to moto: moto 5.2.1's answer has a root element the
    /// SDK refuses (see stowage-aws's moto_compat), so read the status from the XML.
    pub async fn versioning_status(&self) -> Option<String> {
        let body =
            reqwest::get(format!("{}/{BUCKET}?versioning", self.moto.endpoint())).await.unwrap().text().await.unwrap();
        let start = body.find("<Status>")? + "<Status>".len();
        Some(body[start..start + body[start..].find("</Status>")?].to_owned())
    }
}

pub fn exit_code(output: &Output) -> i32 {
    output.status.code().expect("stowage exited, not killed")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn assert_exit(output: &Output, expected: i32) {
    assert_eq!(
        exit_code(output),
        expected,
        "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
        stdout(output),
        stderr(output)
    );
}
