//! The admin endpoints: faults, latency, reset and the request log.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use twilio_emulator::{AlertRequest, FaultRule, MediaKind, RecordedRequest};

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

#[tokio::test]
async fn media_and_alerts_are_made_on_request_and_refused_when_the_request_cannot_work() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let admin = support::Admin::new(&emulator);
        let twilio = Twilio::account(&emulator);

        // Storage is off: the media stay in Twilio's cloud, and nothing reaches S3.
        let (status, outcome) = admin.post("media", json!({"kind": "recording", "count": 2})).await;
        assert_eq!(status, 200, "{outcome:#}");
        assert_eq!(outcome["account_sid"], ACCOUNT_SID);
        assert_eq!(outcome["in_twilio_cloud"].as_array().map(Vec::len), Some(2));
        let for_other = json!({"kind": "composition", "count": 1, "account_sid": OTHER_ACCOUNT_SID});
        let (status, other) = admin.post("media", for_other).await;
        assert_eq!((status.as_u16(), &other["account_sid"]), (200, &json!(OTHER_ACCOUNT_SID)));
        let (status, added) =
            admin.post("alerts", json!({"error_code": 53611, "count": 3, "log_level": "warning"})).await;
        assert_eq!(status, 201, "{added:#}");
        assert_eq!(added["alert_sids"].as_array().map(Vec::len), Some(3));
        let alerts = twilio.get("/v1/Alerts?LogLevel=warning").await;
        assert_eq!(alerts.body["alerts"].as_array().map(Vec::len), Some(3));
        assert_eq!(alerts.body["alerts"][0]["error_code"], "53611");

        let refusals = [
            ("media", json!({"kind": "recording", "count": 0})),
            ("media", json!({"kind": "recording", "count": 1001})),
            ("media", json!({"kind": "recordings", "count": 1})),
            ("media", json!({"kind": "recording", "count": 1, "account_sid": "AC99999999999999999999999999999999"})),
            ("media", json!({"count": 1})),
            ("alerts", json!({"error_code": 53615, "count": 10001})),
            ("alerts", json!({"error_code": 53615, "log_level": "fatal"})),
            ("alerts", json!({"error_code": 53615, "resource_sid": "RT123"})),
            ("alerts", json!({"error_code": 53615, "date_created": "yesterday"})),
            ("alerts", json!({"error_code": 53615, "colour": "blue"})),
        ];
        let mut errors = Vec::new();
        for (path, body) in refusals {
            let (status, answer) = admin.post(path, body.clone()).await;
            assert_eq!(status, 400, "{path} {body}: {answer:#}");
            errors.push(json!({"path": path, "body": body, "error": answer["error"]}));
        }
        // Nothing was made by a refused request.
        assert_eq!(twilio.get("/v1/Recordings").await.body["recordings"].as_array().map(Vec::len), Some(2));
        assert_eq!(twilio.get("/v1/Alerts").await.body["alerts"].as_array().map(Vec::len), Some(3));
        snapshot_settings().bind(|| {
            insta::assert_json_snapshot!("media_in_twilio_cloud", outcome);
            insta::assert_json_snapshot!("simulation_refusals", errors);
        });
    })
    .await;
}

#[tokio::test]
async fn reset_forgets_media_and_alerts() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let admin = support::Admin::new(&emulator);
        let twilio = Twilio::account(&emulator);
        emulator.simulate_media(MediaKind::Composition, 2).await.unwrap();
        emulator.add_alerts(&AlertRequest::new(53616, 2)).unwrap();
        assert_eq!(twilio.get("/v1/Compositions").await.body["compositions"].as_array().map(Vec::len), Some(2));

        let (status, _) = admin.post("reset", Value::Null).await;
        assert_eq!(status, 204);
        assert_eq!(twilio.get("/v1/Compositions").await.body["compositions"], json!([]));
        assert_eq!(twilio.get("/v1/Alerts").await.body["alerts"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn backdate_moves_media_and_alerts_into_the_past() {
    within(60, async {
        let emulator = start_emulator(UNUSED_S3_ENDPOINT).await;
        let admin = support::Admin::new(&emulator);
        let twilio = Twilio::account(&emulator);
        let recording = emulator.simulate_media(MediaKind::Recording, 1).await.unwrap().in_twilio_cloud.remove(0);
        let alert =
            emulator.add_alerts(&AlertRequest { error_code: 53615, ..AlertRequest::default() }).unwrap().remove(0);
        let date = |body: &Value| body["date_created"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
        let recording_path = format!("/v1/Recordings/{recording}");
        let alert_path = format!("/v1/Alerts/{alert}");
        let (recorded, alerted) =
            (date(&twilio.get(&recording_path).await.body), date(&twilio.get(&alert_path).await.body));

        let (status, answer) = admin.post("backdate", json!({"seconds": 7200})).await;
        assert_eq!((status.as_u16(), answer), (200, json!({"seconds": 7200})));
        emulator.backdate(Duration::from_secs(60));
        let two_hours_one_minute = jiff::SignedDuration::from_secs(7260);
        assert_eq!(date(&twilio.get(&recording_path).await.body), recorded - two_hours_one_minute);
        let fetched = twilio.get(&alert_path).await.body;
        assert_eq!(date(&fetched), alerted - two_hours_one_minute);
        assert_eq!(fetched["date_generated"], fetched["date_created"]);
        // A window of the last hour no longer holds them.
        let hour_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
        let since = hour_ago.strftime("%Y-%m-%dT%H%%3A%M%%3A%SZ").to_string();
        assert_eq!(twilio.get(&format!("/v1/Alerts?StartDate={since}")).await.body["alerts"], json!([]));
        let recent = twilio.get(&format!("/v1/Recordings?DateCreatedAfter={since}")).await;
        assert_eq!(recent.body["recordings"], json!([]));

        let (status, _) = admin.post("backdate", json!({"seconds": -1})).await;
        assert_eq!(status, 400);
    })
    .await;
}
