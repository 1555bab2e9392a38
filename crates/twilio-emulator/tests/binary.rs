//! The `twilio-emulator` binary: its first stdout line, serving, and refusing bad arguments.

mod support;

use std::process::Stdio;

use support::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn emulator_command(arguments: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_twilio-emulator"));
    command.args(arguments).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    command
}

#[tokio::test]
async fn prints_its_address_first_and_serves_both_apis_there() {
    within(60, async {
        let account = format!("{ACCOUNT_SID}:{AUTH_TOKEN}");
        let api_key = format!("{API_KEY_SID}:{API_KEY_SECRET}:{ACCOUNT_SID}");
        let mut child = emulator_command(&[
            "--listen",
            "127.0.0.1:0",
            "--s3-endpoint",
            UNUSED_S3_ENDPOINT,
            "--account",
            &account,
            "--api-key",
            &api_key,
        ])
        .spawn()
        .expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let first_line =
            BufReader::new(stdout).lines().next_line().await.expect("stdout is readable").expect("a first line");
        let base_url = first_line
            .strip_prefix("twilio-emulator listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {first_line}"));
        let port: u16 = base_url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("not a loopback URL with a port: {base_url}"));
        assert_ne!(port, 0);

        let by_token = Twilio::new(base_url, ACCOUNT_SID, AUTH_TOKEN);
        assert_eq!(by_token.get("/v1/RecordingSettings/Default").await.status, 200);
        let by_api_key = Twilio::new(base_url, API_KEY_SID, API_KEY_SECRET);
        let listed = by_api_key.get("/v1/Credentials/AWS").await;
        assert_eq!(listed.status, 200);
        assert!(listed.body["meta"]["url"].as_str().unwrap().starts_with(base_url));

        child.kill().await.expect("the emulator stops");
    })
    .await;
}

#[tokio::test]
async fn refuses_an_invalid_account_sid_with_a_message() {
    within(60, async {
        let output = emulator_command(&["--s3-endpoint", UNUSED_S3_ENDPOINT, "--account", "AC123:token"])
            .output()
            .await
            .expect("the binary runs");
        assert!(!output.status.success());
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8(output.stderr).unwrap();
        insta::assert_snapshot!("invalid_account_sid", stderr);
        assert!(!stderr.contains("token"));
    })
    .await;
}

#[tokio::test]
async fn refuses_a_malformed_account_option() {
    within(60, async {
        let output = emulator_command(&["--s3-endpoint", UNUSED_S3_ENDPOINT, "--account", "no-colon"])
            .output()
            .await
            .expect("the binary runs");
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8(output.stderr).unwrap();
        insta::assert_snapshot!("malformed_account_option", stderr);
    })
    .await;
}

#[tokio::test]
async fn serves_subaccounts_given_with_their_owner() {
    within(60, async {
        let account = format!("{ACCOUNT_SID}:{AUTH_TOKEN}");
        // The token may hold colons; the owner is what follows the last one.
        let subaccount = format!("{SUBACCOUNT_SID}:sub:token:{ACCOUNT_SID}");
        let mut child = emulator_command(&[
            "--s3-endpoint",
            UNUSED_S3_ENDPOINT,
            "--account",
            &account,
            "--subaccount",
            &subaccount,
        ])
        .spawn()
        .expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let first_line =
            BufReader::new(stdout).lines().next_line().await.expect("stdout is readable").expect("a first line");
        let base_url = first_line.strip_prefix("twilio-emulator listening on ").expect("the address line");

        let as_subaccount = Twilio::new(base_url, SUBACCOUNT_SID, "sub:token");
        let settings = as_subaccount.get("/v1/RecordingSettings/Default").await;
        assert_eq!(settings.status, 200, "{:#}", settings.body);
        assert_eq!(settings.body["account_sid"], SUBACCOUNT_SID);

        let credentials = format!("{AWS_ACCESS_KEY_ID}:{AWS_SECRET_ACCESS_KEY}");
        let owner = Twilio::new(base_url, ACCOUNT_SID, AUTH_TOKEN);
        let created =
            owner.post("/v1/Credentials/AWS", &[("Credentials", &credentials), ("AccountSid", SUBACCOUNT_SID)]).await;
        assert_eq!(created.status, 201, "{:#}", created.body);
        assert_eq!(created.body["account_sid"], SUBACCOUNT_SID);

        child.kill().await.expect("the emulator stops");
    })
    .await;
}

#[tokio::test]
async fn refuses_a_subaccount_option_without_its_owner() {
    within(60, async {
        let account = format!("{ACCOUNT_SID}:{AUTH_TOKEN}");
        let output = emulator_command(&[
            "--s3-endpoint",
            UNUSED_S3_ENDPOINT,
            "--account",
            &account,
            "--subaccount",
            &format!("{SUBACCOUNT_SID}:{ACCOUNT_SID}"),
        ])
        .output()
        .await
        .expect("the binary runs");
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8(output.stderr).unwrap();
        insta::assert_snapshot!("subaccount_option_without_owner", stderr);
    })
    .await;
}

#[tokio::test]
async fn takes_main_api_keys_and_a_concurrency_limit() {
    within(60, async {
        let account = format!("{ACCOUNT_SID}:{AUTH_TOKEN}");
        let standard = format!("{API_KEY_SID}:{API_KEY_SECRET}:{ACCOUNT_SID}");
        let main_key_sid = "SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let main = format!("{main_key_sid}:main-secret:{ACCOUNT_SID}");
        let mut child = emulator_command(&[
            "--s3-endpoint",
            UNUSED_S3_ENDPOINT,
            "--account",
            &account,
            "--api-key",
            &standard,
            "--main-api-key",
            &main,
            "--concurrency-limit",
            "2",
        ])
        .spawn()
        .expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let first_line =
            BufReader::new(stdout).lines().next_line().await.expect("stdout is readable").expect("a first line");
        let base_url = first_line.strip_prefix("twilio-emulator listening on ").expect("the address line");

        // The Main key manages subaccounts; the Standard key may not.
        let by_main_key = Twilio::new(base_url, main_key_sid, "main-secret");
        let created = by_main_key.post("/2010-04-01/Accounts.json", &[("FriendlyName", "tenant")]).await;
        assert_eq!(created.status, 201, "{:#}", created.body);
        let by_standard_key = Twilio::new(base_url, API_KEY_SID, API_KEY_SECRET);
        assert_twilio_error(&by_standard_key.get("/2010-04-01/Accounts.json").await, 401, 20003);
        // The limit is in force.
        let http = reqwest::Client::new();
        let concurrency: serde_json::Value =
            http.get(format!("{base_url}/__emulator/concurrency")).send().await.unwrap().json().await.unwrap();
        assert_eq!(concurrency, serde_json::json!({"limit": 2, "throttled": 0}));

        child.kill().await.expect("the emulator stops");
    })
    .await;
}
