//! Video v1 `/v1/Recordings` and `/v1/Compositions`: list (filtered, newest first) and fetch
//! the media Twilio finished (see [`crate::simulation`]).

use serde_json::{Value, json};

use crate::conformance::{Parameters, parameter};
use crate::dates::{DayEnd, iso_8601, parse_filter};
use crate::error::TwilioError;
use crate::paging::{NewestFirst, PageRequest, filters};
use crate::server::{ApiResponse, Emulator};
use crate::simulation::MediaKind;
use crate::store::StoredMedia;

/// `base`: the address the client used, which page URLs name.
pub(crate) fn list(
    emulator: &Emulator,
    base: &str,
    account_sid: &str,
    kind: MediaKind,
    query: &Parameters,
) -> Result<ApiResponse, TwilioError> {
    let request = PageRequest::<NewestFirst>::from_query(query)?;
    let filter = MediaFilter::from_query(query)?;
    let store = emulator.store();
    let mut items: Vec<(NewestFirst, &StoredMedia)> = store
        .media(account_sid, kind)
        .filter(|media| filter.matches(media))
        .map(|media| (NewestFirst::new(media.date_created, media.sequence), media))
        .collect();
    items.sort_by_key(|(key, _)| *key);
    let list_url = format!("{base}{}", kind.collection_path());
    let page = request.select(&items, &list_url, &filters(query), kind.list_key());
    let media: Vec<Value> = page.items.into_iter().map(|media| render(&emulator.base_url, media)).collect();
    Ok(ApiResponse::ok(json!({
        kind.list_key(): media,
        "meta": page.meta,
    })))
}

pub(crate) fn fetch(
    emulator: &Emulator,
    account_sid: &str,
    kind: MediaKind,
    sid: &str,
    path: &str,
) -> Result<ApiResponse, TwilioError> {
    let store = emulator.store();
    let media =
        store.media(account_sid, kind).find(|media| media.sid == sid).ok_or_else(|| TwilioError::not_found(path))?;
    Ok(ApiResponse::ok(render(&emulator.base_url, media)))
}

/// The filters of both lists (each list's document names only its own, and the request was
/// checked against it): `Status`, `SourceSid`, `GroupingSid` (repeated: every one must be
/// among the recording's), `MediaType`, `RoomSid`, and `DateCreatedAfter` (on or after) and
/// `DateCreatedBefore` (before).
#[derive(Debug, Default)]
struct MediaFilter {
    status: Option<String>,
    source_sid: Option<String>,
    grouping_sids: Vec<String>,
    media_type: Option<String>,
    room_sid: Option<String>,
    created_from: Option<jiff::Timestamp>,
    created_before: Option<jiff::Timestamp>,
}

impl MediaFilter {
    fn from_query(query: &Parameters) -> Result<Self, TwilioError> {
        let text = |name: &str| parameter(query, name).map(str::to_owned);
        let date = |name: &str| {
            parameter(query, name)
                .map(|text| {
                    parse_filter(text, DayEnd::First).ok_or_else(|| {
                        TwilioError::invalid_parameter(format!("{name} must be an ISO 8601 date-time with time zone"))
                    })
                })
                .transpose()
        };
        Ok(Self {
            status: text("Status"),
            source_sid: text("SourceSid"),
            grouping_sids: query
                .iter()
                .filter(|(name, _)| name == "GroupingSid")
                .map(|(_, value)| value.clone())
                .collect(),
            media_type: text("MediaType"),
            room_sid: text("RoomSid"),
            created_from: date("DateCreatedAfter")?,
            created_before: date("DateCreatedBefore")?,
        })
    }

    fn matches(&self, media: &StoredMedia) -> bool {
        let equal = |wanted: &Option<String>, actual: &str| wanted.as_deref().is_none_or(|wanted| wanted == actual);
        equal(&self.status, media.status.as_str())
            && equal(&self.source_sid, &media.source_sid)
            && equal(&self.media_type, RECORDING_TYPE)
            && equal(&self.room_sid, &media.room_sid)
            && self.grouping_sids.iter().all(|sid| *sid == media.room_sid || *sid == media.participant_sid)
            && self.created_from.is_none_or(|from| media.date_created >= from)
            && self.created_before.is_none_or(|before| media.date_created < before)
    }
}

/// Every recording the emulator makes is one participant's audio track.
const RECORDING_TYPE: &str = "audio";

/// The resource as the `video.v1.recording` and `video.v1.composition` schemas describe it.
fn render(base_url: &str, media: &StoredMedia) -> Value {
    let url = format!("{base_url}{}/{}", media.kind.collection_path(), media.sid);
    let date = |date: Option<jiff::Timestamp>| date.map(iso_8601);
    match media.kind {
        MediaKind::Recording => json!({
            "account_sid": media.account_sid,
            "status": media.status.as_str(),
            "date_created": iso_8601(media.date_created),
            "sid": media.sid,
            "source_sid": media.source_sid,
            "size": media.size,
            "url": url,
            "type": RECORDING_TYPE,
            "duration": media.duration,
            "container_format": media.kind.extension(),
            "codec": "OPUS",
            "grouping_sids": {
                "room_sid": media.room_sid,
                "participant_sid": media.participant_sid,
            },
            // "If no name is given, the source_sid is used."
            "track_name": media.source_sid,
            "offset": 0,
            "media_external_location": media.media_external_location,
            "status_callback": null,
            "status_callback_method": "POST",
            "links": { "media": format!("{url}/Media") },
        }),
        MediaKind::Composition => json!({
            "account_sid": media.account_sid,
            "status": media.status.as_str(),
            "date_created": iso_8601(media.date_created),
            "date_completed": date(media.date_completed),
            "date_deleted": date(media.date_deleted),
            "sid": media.sid,
            "room_sid": media.room_sid,
            "audio_sources": ["*"],
            "audio_sources_excluded": [],
            "video_layout": { "grid": { "video_sources": ["*"] } },
            "resolution": "640x480",
            "trim": true,
            "format": media.kind.extension(),
            "bitrate": media.size.saturating_mul(8) / 1000 / media.duration.max(1),
            "size": media.size,
            "duration": media.duration,
            "media_external_location": media.media_external_location,
            "status_callback": null,
            "status_callback_method": "POST",
            "url": url,
            "links": { "media": format!("{url}/Media") },
        }),
    }
}
