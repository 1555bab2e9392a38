//! The admin endpoints: faults, latency, reset and the request log.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use twilio_emulator::{FaultRule, RecordedRequest};

/// A client of the admin endpoints, which need no authentication.
struct Admin {
    http: reqwest::Client,
    base_url: String,
}

impl Admin {
    fn new(base_url: String) -> Self {
        Self { http: reqwest::Client::new(), base_url }
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/__emulator/{path}", self.base_url))
            .json(&body)
            .send()
            .await
            .expect("the emulator answers")
    }

    async fn reset(&self) {
        let response =
            self.http.post(format!("{}/__emulator/reset", self.base_url)).send().await.expect("the emulator answers");
        assert_eq!(response.status(), 204);
    }

    async fn requests(&self) -> Vec<RecordedRequest> {
        self.http
            .get(format!("{}/__emulator/requests", self.base_url))
            .send()
            .await
            .expect("the emulator answers")
            .json()
            .await
            .expect("a JSON list of requests")
    }
}

fn credentials() -> String {
    format!("{AWS_ACCESS_KEY_ID}:{AWS_SECRET_ACCESS_KEY}")
}

#[tokio::test]
async fn faults_answer_matching_requests_then_run_out() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let admin = Admin::new(emulator.base_url());
        let twilio = Twilio::account(&emulator);
        let credentials = credentials();

        let added = admin
            .post("faults", json!({"method": "POST", "path_prefix": "/v1/Credentials/AWS", "status": 500, "times": 1}))
            .await;
        assert_eq!(added.status(), 201);

        // Another method or path is not affected.
        assert_eq!(twilio.get("/v1/Credentials/AWS").await.status, 200);
        let failed = twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials)]).await;
        assert_twilio_error(&failed, 500, 20500);
        let retried = twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials)]).await;
        assert_eq!(retried.status, 201);

        // The fault came before authentication and handling, and is logged as a fault.
        let log = admin.requests().await;
        let statuses: Vec<(u16, bool)> = log.iter().map(|request| (request.status, request.fault)).collect();
        assert_eq!(statuses, [(200, false), (500, true), (201, false)]);
        let listed = twilio.get("/v1/Credentials/AWS").await;
        assert_eq!(listed.body["credentials"].as_array().map(Vec::len), Some(1));
    })
    .await;
}

#[tokio::test]
async fn throttling_faults_carry_retry_after_and_can_wait_for_their_turn() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let admin = Admin::new(emulator.base_url());
        let twilio = Twilio::account(&emulator);

        let added = admin
            .post(
                "faults",
                json!({"path_prefix": "/v1/RecordingSettings", "status": 429, "times": 2, "retry_after": 3, "after": 1}),
            )
            .await;
        assert_eq!(added.status(), 201);

        assert_eq!(twilio.get("/v1/RecordingSettings/Default").await.status, 200);
        for _ in 0..2 {
            let throttled = twilio.get("/v1/RecordingSettings/Default").await;
            assert_twilio_error(&throttled, 429, 20429);
            assert_eq!(throttled.retry_after.as_deref(), Some("3"));
        }
        let after = twilio.get("/v1/RecordingSettings/Default").await;
        assert_eq!(after.status, 200);
        assert_eq!(after.retry_after, None);
    })
    .await;
}

#[tokio::test]
async fn faults_that_cannot_work_are_refused_and_faults_can_be_cleared() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let admin = Admin::new(emulator.base_url());
        let twilio = Twilio::account(&emulator);

        let refused = admin.post("faults", json!({"status": 200})).await;
        assert_eq!(refused.status(), 400);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "status 200 is not an error status (400 to 599)");

        emulator.add_fault(FaultRule::new(503, "/")).unwrap();
        let cleared = admin.http.delete(format!("{}/__emulator/faults", emulator.base_url())).send().await.unwrap();
        assert_eq!(cleared.status(), 204);
        assert_eq!(twilio.get("/v1/CompositionSettings/Default").await.status, 200);
    })
    .await;
}

#[tokio::test]
async fn latency_delays_api_responses() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let admin = Admin::new(emulator.base_url());
        let twilio = Twilio::account(&emulator);
        let latency = Duration::from_millis(300);

        let set = admin.post("latency", json!({"ms": 300})).await;
        assert_eq!(set.status(), 200);
        let started = Instant::now();
        assert_eq!(twilio.get("/v1/RecordingSettings/Default").await.status, 200);
        assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
        // Errors are delayed too.
        let started = Instant::now();
        assert_eq!(twilio.get("/v1/Nothing").await.status, 404);
        assert!(started.elapsed() >= latency, "{:?}", started.elapsed());

        // Set back to zero, a long latency no longer applies.
        admin.post("latency", json!({"ms": 30000})).await;
        admin.post("latency", json!({"ms": 0})).await;
        let answer = tokio::time::timeout(Duration::from_secs(10), twilio.get("/v1/RecordingSettings/Default"))
            .await
            .expect("no latency after it was set back to zero");
        assert_eq!(answer.status, 200);
    })
    .await;
}

#[tokio::test]
async fn reset_forgets_resources_faults_latency_and_the_log() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let admin = Admin::new(emulator.base_url());
        let twilio = Twilio::account(&emulator);
        let credentials = credentials();

        twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials)]).await;
        twilio.post("/v1/RecordingSettings/Default", &[("FriendlyName", "before reset")]).await;
        admin.post("faults", json!({"path_prefix": "/v1/Credentials/PublicKeys", "status": 500})).await;
        admin.post("latency", json!({"ms": 20000})).await;

        admin.reset().await;
        assert!(admin.requests().await.is_empty());
        // The accounts survive a reset; what they made does not.
        let listed = twilio.get("/v1/Credentials/AWS").await;
        assert_eq!(listed.status, 200);
        assert_eq!(listed.body["credentials"], json!([]));
        let settings = twilio.get("/v1/RecordingSettings/Default").await;
        assert_eq!(settings.body["friendly_name"], "");
        // Neither the fault nor the 20 s latency is left.
        let started = Instant::now();
        assert_eq!(twilio.get("/v1/Credentials/PublicKeys").await.status, 200);
        assert!(started.elapsed() < Duration::from_secs(20));
        assert_eq!(admin.requests().await.len(), 3);
    })
    .await;
}

#[tokio::test]
async fn the_request_log_records_names_accounts_and_violations_never_values() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let admin = Admin::new(emulator.base_url());
        let twilio = Twilio::account(&emulator);
        let credentials = credentials();

        twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials), ("FriendlyName", "uploader")]).await;
        twilio.post("/v1/Credentials/AWS", &[("Credentials", &credentials), ("SecretKey", "x")]).await;
        Twilio::new(&emulator.base_url(), ACCOUNT_SID, "wrong").get("/v1/Credentials/AWS?PageSize=5").await;

        let log = admin.requests().await;
        assert_eq!(log, emulator.requests());
        let text = serde_json::to_string(&log).unwrap();
        assert!(!text.contains(AWS_SECRET_ACCESS_KEY), "{text}");
        assert!(!text.contains(AUTH_TOKEN), "{text}");
        snapshot_settings().bind(|| insta::assert_json_snapshot!("request_log", log));
    })
    .await;
}
