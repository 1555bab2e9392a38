//! Monitor v1 `/v1/Alerts`: list (filtered, newest first) and fetch the debugger's alerts.

use serde_json::{Value, json};

use crate::conformance::{Parameters, parameter};
use crate::dates::{DayEnd, iso_8601, parse_filter};
use crate::error::TwilioError;
use crate::operation::ALERTS_PATH;
use crate::paging::{NewestFirst, PageRequest, filters};
use crate::server::{ApiResponse, Emulator};
use crate::store::StoredAlert;

/// `base`: the address the client used, which page URLs name.
pub(crate) fn list(
    emulator: &Emulator,
    base: &str,
    account_sid: &str,
    query: &Parameters,
) -> Result<ApiResponse, TwilioError> {
    let request = PageRequest::<NewestFirst>::from_query(query)?;
    let log_level = parameter(query, "LogLevel");
    let date = |name: &str, day_end| {
        parameter(query, name)
            .map(|text| {
                parse_filter(text, day_end).ok_or_else(|| {
                    TwilioError::invalid_parameter(format!("{name} must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ"))
                })
            })
            .transpose()
    };
    let (start, end) = (date("StartDate", DayEnd::First)?, date("EndDate", DayEnd::Last)?);
    let store = emulator.store();
    let mut items: Vec<(NewestFirst, &StoredAlert)> = store
        .alerts(account_sid)
        .filter(|alert| log_level.is_none_or(|level| level == alert.log_level))
        .filter(|alert| start.is_none_or(|start| alert.date_created >= start))
        .filter(|alert| end.is_none_or(|end| alert.date_created <= end))
        .map(|alert| (NewestFirst::new(alert.date_created, alert.sequence), alert))
        .collect();
    items.sort_by_key(|(key, _)| *key);
    let list_url = format!("{base}{ALERTS_PATH}");
    let page = request.select(&items, &list_url, &filters(query), "alerts");
    let alerts: Vec<Value> = page.items.into_iter().map(|alert| render(&emulator.base_url, alert)).collect();
    Ok(ApiResponse::ok(json!({
        "alerts": alerts,
        "meta": page.meta,
    })))
}

pub(crate) fn fetch(emulator: &Emulator, account_sid: &str, sid: &str, path: &str) -> Result<ApiResponse, TwilioError> {
    let store = emulator.store();
    let alert = store.alerts(account_sid).find(|alert| alert.sid == sid).ok_or_else(|| TwilioError::not_found(path))?;
    let mut body = render(&emulator.base_url, alert);
    // Only a fetch carries the request that caused an alert; Twilio's uploads are no request
    // to or from the customer's application, so there is none.
    for name in ["request_variables", "request_headers", "response_body", "response_headers"] {
        body[name] = Value::Null;
    }
    Ok(ApiResponse::ok(body))
}

/// The resource as the `monitor.v1.alert` schema describes it (a list item).
fn render(base_url: &str, alert: &StoredAlert) -> Value {
    let date = iso_8601(alert.date_created);
    json!({
        "account_sid": alert.account_sid,
        "alert_text": alert.alert_text,
        // An upload of Twilio's own is not a call of a Twilio API version.
        "api_version": null,
        "date_created": date,
        "date_generated": date,
        "date_updated": date,
        "error_code": alert.error_code.to_string(),
        "log_level": alert.log_level,
        "more_info": format!("https://www.twilio.com/docs/errors/{}", alert.error_code),
        "request_method": null,
        "request_url": null,
        "resource_sid": alert.resource_sid,
        "service_sid": null,
        "sid": alert.sid,
        "url": format!("{base_url}{ALERTS_PATH}/{}", alert.sid),
    })
}
