//! Twilio SIDs: a two-letter prefix and 32 hexadecimal digits.

/// A new credential SID: `CR` and 32 lowercase hexadecimal digits, as Twilio makes them.
pub(crate) fn new_credential_sid() -> String {
    new_sid("CR")
}

/// A new SID with `prefix` (`RT`, `CJ`, `NO`, …) and 32 lowercase hexadecimal digits.
pub(crate) fn new_sid(prefix: &str) -> String {
    format!("{prefix}{:032x}", rand::random::<u128>())
}

/// Whether `value` is `prefix` followed by 32 hexadecimal digits (either case, as the OpenAPI
/// patterns allow).
pub(crate) fn is_sid(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|digits| digits.len() == 32 && digits.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_sids_match_the_openapi_pattern_and_differ() {
        let first = new_credential_sid();
        let second = new_credential_sid();
        for sid in [&first, &second] {
            assert!(is_sid(sid, "CR"), "{sid}");
            assert!(!sid[2..].bytes().any(|byte| byte.is_ascii_uppercase()), "{sid}");
        }
        assert_ne!(first, second);
    }

    #[test]
    fn is_sid_checks_prefix_length_and_digits() {
        assert!(is_sid("ACABCDEF0123456789abcdef0123456789", "AC"));
        assert!(!is_sid("ACABCDEF0123456789abcdef0123456789", "CR"));
        assert!(!is_sid("AC0123", "AC"));
        assert!(!is_sid("ACgggggggggggggggggggggggggggggggg", "AC"));
    }
}
