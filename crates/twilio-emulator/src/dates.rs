//! Dates as Twilio's v1 APIs write and read them: UTC, whole seconds, ISO 8601.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The emulator's clock, to the whole second: what the APIs answer is all it keeps, so a date
/// read back from an answer filters exactly.
pub(crate) fn now() -> Timestamp {
    whole_seconds(Timestamp::now())
}

pub(crate) fn whole_seconds(timestamp: Timestamp) -> Timestamp {
    Timestamp::from_second(timestamp.as_second()).unwrap_or(timestamp)
}

/// The date format of Twilio's v1 APIs (`format: date-time` in the OpenAPI documents): UTC,
/// whole seconds, such as `2015-07-30T20:00:00Z`.
pub(crate) fn iso_8601(timestamp: Timestamp) -> String {
    timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The date format of Twilio's 2010 API (`format: date-time-rfc-2822`): GMT, whole seconds,
/// such as `Tue, 31 Aug 2010 20:36:28 +0000`.
pub(crate) fn rfc_2822(timestamp: Timestamp) -> String {
    timestamp.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// Which end of a day a bare date stands for in a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayEnd {
    /// Midnight at its start (`StartDate`, "on or after").
    First,
    /// Its last second (`EndDate`, "on or before").
    Last,
}

/// A date filter's value: an RFC 3339 date-time (`2017-01-01T00:00:01Z`, or with an offset),
/// or, where the document allows it, a bare date `YYYY-MM-DD` in GMT, taken at `day_end`.
pub(crate) fn parse_filter(text: &str, day_end: DayEnd) -> Option<Timestamp> {
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Some(timestamp);
    }
    let date: Date = text.parse().ok().filter(|_| text.len() == "YYYY-MM-DD".len())?;
    let start = date.to_zoned(TimeZone::UTC).ok()?.timestamp();
    match day_end {
        DayEnd::First => Some(start),
        DayEnd::Last => Timestamp::from_second(start.as_second() + 86_399).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_whole_seconds() {
        let timestamp: Timestamp = "2015-07-31T04:00:00.123456Z".parse().unwrap();
        assert_eq!(iso_8601(timestamp), "2015-07-31T04:00:00Z");
        assert_eq!(iso_8601(whole_seconds(timestamp)), "2015-07-31T04:00:00Z");
        assert_eq!(whole_seconds(timestamp).subsec_nanosecond(), 0);
    }

    #[test]
    fn the_2010_api_writes_rfc_2822_dates() {
        let timestamp: Timestamp = "2010-08-31T20:36:28.9Z".parse().unwrap();
        assert_eq!(rfc_2822(timestamp), "Tue, 31 Aug 2010 20:36:28 +0000");
        assert!(jiff::fmt::rfc2822::parse(&rfc_2822(timestamp)).is_ok());
        assert_eq!(rfc_2822("2015-07-03T04:05:06Z".parse().unwrap()), "Fri, 03 Jul 2015 04:05:06 +0000");
    }

    #[test]
    fn filters_read_date_times_and_bare_dates() {
        let parse = |text, end| parse_filter(text, end).map(iso_8601);
        assert_eq!(parse("2017-01-01T00:00:01Z", DayEnd::First).as_deref(), Some("2017-01-01T00:00:01Z"));
        assert_eq!(parse("2017-01-01T02:00:01+02:00", DayEnd::Last).as_deref(), Some("2017-01-01T00:00:01Z"));
        assert_eq!(parse("2016-01-01", DayEnd::First).as_deref(), Some("2016-01-01T00:00:00Z"));
        assert_eq!(parse("2016-01-01", DayEnd::Last).as_deref(), Some("2016-01-01T23:59:59Z"));
        assert_eq!(parse("yesterday", DayEnd::First), None);
        assert_eq!(parse("2016-1-1", DayEnd::First), None);
    }
}
