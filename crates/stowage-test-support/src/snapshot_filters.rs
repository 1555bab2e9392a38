//! insta filters for what changes from one run to the next.

/// Filters for insta's `filters` setting, in the order they must apply:
///
/// ```
/// let stderr = "applied in 1.23s, state in /tmp/.tmpA1b2C3/dev.state.json";
/// insta::with_settings!({ filters => stowage_test_support::insta_filters() }, {
///     insta::assert_snapshot!(stderr, @"applied in [DURATION], state in [TEMP]/dev.state.json");
/// });
/// ```
pub fn insta_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        // tempfile's directories end in `.tmp` and six random characters, wherever TMPDIR
        // points; the part of the path before them varies too.
        (r"(?:[A-Za-z]:)?[\w.~/\\-]*[/\\]\.tmp[A-Za-z0-9]{6}", "[TEMP]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "[UUID]"),
        // Twilio AWS credential and public key SIDs.
        (r"\bCR[0-9a-fA-F]{32}\b", "CR[SID]"),
        // Recordings, compositions, rooms and debugger alerts Twilio made.
        (r"\b(RT|CJ|RM|NO)[0-9a-fA-F]{32}\b", "$1[SID]"),
        // Long-term (AKIA, moto's included) and temporary (ASIA) access key ids.
        (r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", "[ACCESS_KEY_ID]"),
        // RFC 3339 times (an access key's `created_at`), before durations eat their seconds.
        (r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)", "[TIMESTAMP]"),
        (r"\b\d+(?:\.\d+)?(?:ns|µs|ms|s)\b", "[DURATION]"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_hide_what_varies_and_keep_the_rest() {
        let text = "\
state: /tmp/.tmpA1b2C3/dev.state.json (backup /var/folders/x_/T/.tmpZz9Yy8/dev.state.json.backup)
endpoint: http://127.0.0.1:49152/ and twilio http://127.0.0.1:5000
lineage: 0f8fad5b-d9cb-469f-a165-70867728950e
credential: CR0123456789abcdef0123456789abcdef (account AC0123456789abcdef0123456789abcdef)
recording RT0123456789abcdef0123456789abcdef, alert NOfedcba9876543210fedcba9876543210
access key: AKIARZPUZDIKDUCDADMK, session key ASIA1234567890ABCDEF, moto's default testing
apply took 1.23s (refresh 45ms, 3 s wait); bucket acme-video-dev2s keeps 90 days
created_at = 2026-12-05T11:36:29.415936Z, planned at 2026-12-05T11:36:29Z, or 2026-12-05T12:36:29+01:00
";
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!(text);
        });
    }
}
