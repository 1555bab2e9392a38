//! The reads of `stowage alerts`: Monitor v1 alerts and Video v1 recordings and compositions,
//! each request held to what Twilio's documents (`twilio_monitor_v1.json`,
//! `twilio_video_v1.json`) say its list takes.

use std::collections::BTreeMap;

use jiff::Timestamp;
use stowage_provider::ErrorKind;
use stowage_twilio::client::Failure;
use stowage_twilio::{MediaKind, Operation, RetryPolicy, TwilioEndpoints, TwilioProvider};

use crate::fake::{FakeTwilio, Reply, api_key_auth, bounded, quick_retries};

const ROOM: &str = "RM0123456789abcdef0123456789abcdef";

/// What a list operation's document allows in the query.
struct Documented {
    /// Every query parameter the operation has.
    parameters: &'static [&'static str],
    /// Those of `format: date-time`.
    date_times: &'static [&'static str],
    /// The enum of `Status`, when it has one.
    statuses: &'static [&'static str],
    /// `PageSize`'s maximum.
    max_page_size: u32,
}

/// `ListAlert` in `twilio_monitor_v1.json`.
const LIST_ALERT: Documented = Documented {
    parameters: &["LogLevel", "StartDate", "EndDate", "PageSize", "Page", "PageToken"],
    date_times: &["StartDate", "EndDate"],
    statuses: &[],
    max_page_size: 1000,
};

/// `ListRecording` in `twilio_video_v1.json` (`recording_enum_status`).
const LIST_RECORDING: Documented = Documented {
    parameters: &[
        "Status",
        "SourceSid",
        "GroupingSid",
        "DateCreatedAfter",
        "DateCreatedBefore",
        "MediaType",
        "PageSize",
        "Page",
        "PageToken",
    ],
    date_times: &["DateCreatedAfter", "DateCreatedBefore"],
    statuses: &["processing", "completed", "deleted", "failed"],
    max_page_size: 100,
};

/// `ListComposition` in `twilio_video_v1.json` (`composition_enum_status`).
const LIST_COMPOSITION: Documented = Documented {
    parameters: &["Status", "DateCreatedAfter", "DateCreatedBefore", "RoomSid", "PageSize", "Page", "PageToken"],
    date_times: &["DateCreatedAfter", "DateCreatedBefore"],
    statuses: &["enqueued", "processing", "completed", "deleted", "failed"],
    max_page_size: 100,
};

/// The query of `path_and_query`, after checking it holds only what `documented` allows, each
/// value in the form the document gives it; date-times as `YYYY-MM-DDThh:mm:ssZ`, the form the
/// Monitor document's `StartDate` names.
fn conforming_query(path_and_query: &str, documented: &Documented) -> BTreeMap<String, String> {
    let url = url::Url::parse(&format!("http://twilio.invalid{path_and_query}")).expect("a path and query");
    let mut query = BTreeMap::new();
    for (name, value) in url.query_pairs() {
        let (name, value) = (name.into_owned(), value.into_owned());
        assert!(documented.parameters.contains(&name.as_str()), "`{name}` is not documented: {path_and_query}");
        if documented.date_times.contains(&name.as_str()) {
            let shape = value.len() == 20
                && value.char_indices().all(|(at, char)| match at {
                    4 | 7 => char == '-',
                    10 => char == 'T',
                    13 | 16 => char == ':',
                    19 => char == 'Z',
                    _ => char.is_ascii_digit(),
                });
            assert!(shape, "`{name}={value}` is not YYYY-MM-DDThh:mm:ssZ");
            value.parse::<Timestamp>().unwrap_or_else(|error| panic!("`{name}={value}`: {error}"));
        }
        if name == "Status" {
            assert!(documented.statuses.contains(&value.as_str()), "`Status={value}` is not documented");
        }
        if name == "PageSize" {
            let size: u32 = value.parse().expect("an integer");
            assert!((1..=documented.max_page_size).contains(&size), "`PageSize={size}`");
        }
        assert!(query.insert(name.clone(), value).is_none(), "`{name}` twice: {path_and_query}");
    }
    query
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("a timestamp")
}

fn page(key: &str, items: Vec<serde_json::Value>, next_page_url: Option<&str>) -> Reply {
    Reply::json(
        200,
        serde_json::json!({
            key: items,
            "meta": {
                "first_page_url": "https://monitor.twilio.com/v1/Alerts?PageSize=1000&Page=0",
                "key": key,
                "next_page_url": next_page_url,
                "page": 0,
                "page_size": 1000,
                "previous_page_url": null,
                "url": "https://monitor.twilio.com/v1/Alerts?PageSize=1000&Page=0",
            },
        }),
    )
}

/// An alert as `twilio_monitor_v1.json`'s `readFull` example gives one.
fn alert_json(n: usize, code: &str, resource_sid: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "alert_text": "Failed to upload to S3: AccessDenied (request ...)",
        "api_version": null,
        "date_created": format!("2026-03-01T12:{n:02}:00Z"),
        "date_generated": format!("2026-03-01T12:{n:02}:00Z"),
        "date_updated": format!("2026-03-01T12:{n:02}:00Z"),
        "error_code": code,
        "log_level": "warning",
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "request_method": null,
        "request_url": null,
        "resource_sid": resource_sid,
        "sid": format!("NO{n:032x}"),
        "url": format!("https://monitor.twilio.com/v1/Alerts/NO{n:032x}"),
        "service_sid": null,
    })
}

fn recording_json(n: usize, status: &str) -> serde_json::Value {
    serde_json::json!({
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "status": status,
        "date_created": format!("2026-03-01T13:{n:02}:00Z"),
        "sid": format!("RT{n:032x}"),
        "source_sid": "MT0123456789abcdef0123456789abcdef",
        "size": 0,
        "url": format!("https://video.twilio.com/v1/Recordings/RT{n:032x}"),
        "type": "audio",
        "duration": 12,
        "container_format": "mka",
        "codec": "OPUS",
        "grouping_sids": {"room_sid": ROOM, "participant_sid": "PA0123456789abcdef0123456789abcdef"},
        "track_name": "microphone",
        "offset": 0,
        "media_external_location": null,
        "status_callback": null,
        "status_callback_method": "POST",
        "links": {"media": format!("https://video.twilio.com/v1/Recordings/RT{n:032x}/Media")},
    })
}

fn composition_json(n: usize, status: &str) -> serde_json::Value {
    serde_json::json!({
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "status": status,
        "date_created": format!("2026-03-01T14:{n:02}:00Z"),
        "date_completed": null,
        "date_deleted": null,
        "sid": format!("CJ{n:032x}"),
        "room_sid": ROOM,
        "audio_sources": ["*"],
        "audio_sources_excluded": [],
        "video_layout": {},
        "resolution": "640x480",
        "trim": true,
        "format": "mp4",
        "bitrate": 0,
        "size": 0,
        "duration": 0,
        "media_external_location": null,
        "status_callback": null,
        "status_callback_method": "POST",
        "url": format!("https://video.twilio.com/v1/Compositions/CJ{n:032x}"),
        "links": {"media": format!("https://video.twilio.com/v1/Compositions/CJ{n:032x}/Media")},
    })
}

fn paths(fake: &FakeTwilio) -> Vec<String> {
    fake.requests().into_iter().map(|request| format!("{} {}", request.method, request.path_and_query)).collect()
}

#[tokio::test]
async fn alerts_are_read_with_the_documented_query_from_every_page() {
    let fake = FakeTwilio::start([]).await;
    let next = format!(
        "{}/v1/Alerts?StartDate=2026-03-01T00%3A00%3A00Z&EndDate=2026-03-02T00%3A00%3A00Z&PageSize=1000&Page=1&PageToken=PA1",
        fake.url
    );
    let recording = "RT0123456789abcdef0123456789abcdef";
    fake.push(page("alerts", vec![alert_json(1, "53615", Some(recording)), alert_json(2, "53616", None)], Some(&next)));
    fake.push(page("alerts", vec![alert_json(3, "20404", None)], None));
    let client = fake.client(RetryPolicy::never());

    // Sub-second times are sent as whole seconds, each rounded down: the end is inclusive.
    let alerts = bounded(client.list_alerts(at("2026-03-01T00:00:00.250Z"), at("2026-03-02T00:00:00.999Z")))
        .await
        .expect("all pages");

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let query = conforming_query(&requests[0].path_and_query, &LIST_ALERT);
    assert!(requests[0].path_and_query.starts_with("/v1/Alerts?"), "{}", requests[0].path_and_query);
    let expected: BTreeMap<String, String> =
        [("StartDate", "2026-03-01T00:00:00Z"), ("EndDate", "2026-03-02T00:00:00Z"), ("PageSize", "1000")]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
    assert_eq!(query, expected);
    assert_eq!(requests[1].path_and_query, next.trim_start_matches(&fake.url), "the next page as Twilio wrote it");
    assert_eq!(requests[0].method, "GET");

    let summary: Vec<_> = alerts
        .iter()
        .map(|alert| {
            (
                alert.sid.as_str(),
                alert.error_code.as_str(),
                alert.date_created.to_string(),
                alert.resource_sid.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (format!("NO{:032x}", 1).as_str(), "53615", "2026-03-01T12:01:00Z".to_owned(), Some(recording)),
            (format!("NO{:032x}", 2).as_str(), "53616", "2026-03-01T12:02:00Z".to_owned(), None),
            (format!("NO{:032x}", 3).as_str(), "20404", "2026-03-01T12:03:00Z".to_owned(), None),
        ]
    );
    assert_eq!(alerts[0].log_level.as_deref(), Some("warning"));
    assert_eq!(alerts[0].more_info.as_deref(), Some("https://www.twilio.com/docs/errors/53615"));
    assert_eq!(client.calls().get(Operation::ListAlerts), 2, "one call per page");
    assert_eq!(client.calls().writes(), 0);
}

#[tokio::test]
async fn alerts_go_to_the_monitor_endpoint_and_media_to_video() {
    let monitor = FakeTwilio::start([page("alerts", vec![], None)]).await;
    let video = FakeTwilio::start([page("recordings", vec![], None)]).await;
    let endpoints = TwilioEndpoints::from_overrides(None, Some(&video.url), Some(&monitor.url)).expect("loopback");
    let provider = TwilioProvider::connect(api_key_auth(), endpoints, RetryPolicy::never()).expect("provider");
    let (start, end) = (at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z"));

    assert_eq!(bounded(provider.alerts(start, end)).await.expect("alerts"), []);
    assert_eq!(bounded(provider.media(MediaKind::Recording, "failed", start, end)).await.expect("media"), []);

    assert_eq!(monitor.requests().len(), 1);
    assert!(monitor.requests()[0].path_and_query.starts_with("/v1/Alerts?"));
    assert_eq!(video.requests().len(), 1);
    assert!(video.requests()[0].path_and_query.starts_with("/v1/Recordings?"));
}

#[tokio::test]
async fn media_is_read_one_status_per_call_with_the_documented_query() {
    let fake = FakeTwilio::start([]).await;
    let next = format!("{}/v1/Recordings?Status=failed&PageSize=100&Page=1&PageToken=PA1", fake.url);
    fake.push(page("recordings", vec![recording_json(1, "failed")], Some(&next)));
    fake.push(page("recordings", vec![recording_json(2, "failed")], None));
    fake.push(page("recordings", vec![recording_json(3, "deleted")], None));
    fake.push(page("compositions", vec![composition_json(4, "failed")], None));
    let client = fake.client(RetryPolicy::never());
    // `after` is rounded down (inclusive), `before` up (exclusive): the window is covered.
    let (after, before) = (at("2026-03-01T00:00:00.5Z"), at("2026-03-02T00:00:00.5Z"));

    let failed = bounded(client.list_media(MediaKind::Recording, "failed", after, before)).await.expect("failed");
    let deleted = bounded(client.list_media(MediaKind::Recording, "deleted", after, before)).await.expect("deleted");
    let compositions =
        bounded(client.list_media(MediaKind::Composition, "failed", after, before)).await.expect("compositions");

    let requests = fake.requests();
    let documents = [&LIST_RECORDING, &LIST_RECORDING, &LIST_RECORDING, &LIST_COMPOSITION];
    let queries: Vec<_> = requests
        .iter()
        .zip(documents)
        .map(|(request, documented)| conforming_query(&request.path_and_query, documented))
        .collect();
    for (index, status) in [(0, "failed"), (2, "deleted"), (3, "failed")] {
        let query = &queries[index];
        assert_eq!(query.get("Status").map(String::as_str), Some(status));
        assert_eq!(query.get("DateCreatedAfter").map(String::as_str), Some("2026-03-01T00:00:00Z"));
        assert_eq!(query.get("DateCreatedBefore").map(String::as_str), Some("2026-03-02T00:00:01Z"));
        assert_eq!(query.get("PageSize").map(String::as_str), Some("100"), "the documents' maximum");
    }
    let routes: Vec<_> =
        paths(&fake).iter().map(|path| path.split_once('?').map(|(route, _)| route.to_owned())).collect();
    assert_eq!(
        routes,
        ["GET /v1/Recordings", "GET /v1/Recordings", "GET /v1/Recordings", "GET /v1/Compositions"]
            .map(|route| Some(route.to_owned()))
    );

    let shown = |media: &[stowage_twilio::Media]| {
        media
            .iter()
            .map(|media| {
                format!(
                    "{:?} {} {} {} {}",
                    media.kind,
                    media.sid,
                    media.status,
                    media.date_created,
                    media.room_sid.as_deref().unwrap_or("-")
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        shown(&failed),
        [
            format!("Recording RT{:032x} failed 2026-03-01T13:01:00Z {ROOM}", 1),
            format!("Recording RT{:032x} failed 2026-03-01T13:02:00Z {ROOM}", 2),
        ]
    );
    assert_eq!(shown(&deleted), [format!("Recording RT{:032x} deleted 2026-03-01T13:03:00Z {ROOM}", 3)]);
    assert_eq!(shown(&compositions), [format!("Composition CJ{:032x} failed 2026-03-01T14:04:00Z {ROOM}", 4)]);
    let calls = client.calls();
    assert_eq!((calls.get(Operation::ListRecordings), calls.get(Operation::ListCompositions)), (3, 1));
}

#[tokio::test]
async fn an_undocumented_status_is_refused_before_any_request() {
    let fake = FakeTwilio::start([]).await;
    let client = fake.client(RetryPolicy::never());
    let (after, before) = (at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z"));

    for (kind, status) in
        [(MediaKind::Recording, "enqueued"), (MediaKind::Composition, "FAILED"), (MediaKind::Recording, "")]
    {
        let error = bounded(client.list_media(kind, status, after, before)).await.expect_err(status);
        assert!(matches!(error.failure(), Failure::InvalidStatus { .. }), "{error}");
        assert_eq!(error.kind(), ErrorKind::Invalid);
    }
    let error = bounded(client.list_media(MediaKind::Recording, "enqueued", after, before)).await.expect_err("no");
    insta::assert_snapshot!(error.to_string(), @"ListRecordings: `enqueued` is not a recording status Twilio documents (one of processing, completed, deleted, failed)");
    assert!(fake.requests().is_empty());
    assert_eq!(client.calls().total(), 0);
}

#[tokio::test]
async fn an_alert_without_its_date_or_code_is_a_response_that_does_not_match_the_api() {
    let mut undated = alert_json(1, "53615", None);
    undated["date_created"] = serde_json::Value::Null;
    let mut generated_only = undated.clone();
    generated_only["date_generated"] = serde_json::json!("2026-03-01T12:30:00Z");
    undated["date_generated"] = serde_json::Value::Null;
    let mut uncoded = alert_json(2, "53615", None);
    uncoded["error_code"] = serde_json::Value::Null;
    let fake = FakeTwilio::start([
        page("alerts", vec![generated_only], None),
        page("alerts", vec![undated], None),
        page("alerts", vec![uncoded], None),
        page("recordings", vec![serde_json::json!({"sid": format!("RT{:032x}", 1), "status": "failed"})], None),
    ])
    .await;
    let client = fake.client(RetryPolicy::never());
    let (start, end) = (at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z"));

    let alerts = bounded(client.list_alerts(start, end)).await.expect("date_generated stands in");
    assert_eq!(alerts[0].date_created, at("2026-03-01T12:30:00Z"));
    // Where serde stopped reading is beside the point: the rest of the message.
    let shown = |error: stowage_twilio::TwilioError| {
        let message = error.to_string();
        format!("{}\n", message.split(" at line ").next().unwrap_or_default())
    };
    let mut report = String::new();
    for _ in 0..2 {
        let error = bounded(client.list_alerts(start, end)).await.expect_err("refused");
        assert!(matches!(error.failure(), Failure::Decode { .. }), "{error}");
        report.push_str(&shown(error));
    }
    let error = bounded(client.list_media(MediaKind::Recording, "failed", start, end)).await.expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Internal);
    report.push_str(&shown(error));
    insta::assert_snapshot!(report, @r"
    ListAlerts: HTTP 200 response does not match the Twilio API: alert `NO00000000000000000000000000000001` has no `date_created`
    ListAlerts: HTTP 200 response does not match the Twilio API: alert `NO00000000000000000000000000000002` has no `error_code`
    ListRecordings: HTTP 200 response does not match the Twilio API: recording `RT00000000000000000000000000000001` has no `date_created`
    ");
}

#[tokio::test]
async fn reads_are_retried_as_every_get_is() {
    let fake = FakeTwilio::start([
        Reply::empty(503),
        page("alerts", vec![alert_json(1, "53615", None)], None),
        Reply::twilio_error(429, 20429, "Too Many Requests"),
        page("compositions", vec![], None),
    ])
    .await;
    let client = fake.client(quick_retries(3));
    let (start, end) = (at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z"));

    let alerts = bounded(client.list_alerts(start, end)).await.expect("after a 503");
    let compositions =
        bounded(client.list_media(MediaKind::Composition, "deleted", start, end)).await.expect("after a 429");

    assert_eq!((alerts.len(), compositions.len()), (1, 0));
    assert_eq!(client.calls().get(Operation::ListAlerts), 2);
    assert_eq!(client.calls().get(Operation::ListCompositions), 2);
    let requests = fake.requests();
    assert_eq!(requests[0].path_and_query, requests[1].path_and_query, "the same request again");
}

#[tokio::test]
async fn a_key_without_monitor_permission_is_told_what_it_lacks() {
    let fake = FakeTwilio::start([
        Reply::twilio_error(403, 20003, "Permission Denied"),
        Reply::twilio_error(403, 20003, "Permission Denied"),
    ])
    .await;
    let endpoints =
        TwilioEndpoints::from_overrides(Some(&fake.url), Some(&fake.url), Some(&fake.url)).expect("loopback");
    let provider = TwilioProvider::connect(api_key_auth(), endpoints, RetryPolicy::never()).expect("provider");
    let (start, end) = (at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z"));

    let alerts = bounded(provider.alerts(start, end)).await.expect_err("denied");
    let media = bounded(provider.media(MediaKind::Recording, "failed", start, end)).await.expect_err("denied");

    assert_eq!((alerts.kind, media.kind), (ErrorKind::Unauthorized, ErrorKind::Unauthorized));
    insta::assert_snapshot!(format!("{alerts}\n  hint: {:?}\n{media}\n  hint: {:?}\n", alerts.hint, media.hint));
}
