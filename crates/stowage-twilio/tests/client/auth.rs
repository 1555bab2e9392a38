use std::collections::BTreeMap;

use stowage_twilio::client::CredentialKind;
use stowage_twilio::{CredentialsError, TwilioAuth};

const API_KEY: &str = "SK0123456789abcdef0123456789abcdef";
const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const API_SECRET: &str = "the-api-secret";
const AUTH_TOKEN: &str = "the-auth-token";

fn lookup(variables: &[(&str, &str)]) -> Result<TwilioAuth, CredentialsError> {
    let environment: BTreeMap<String, String> =
        variables.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
    TwilioAuth::from_lookup(|name| environment.get(name).cloned())
}

#[test]
fn api_key_pair_wins_over_account_pair() {
    let auth = lookup(&[
        ("TWILIO_API_KEY", API_KEY),
        ("TWILIO_API_SECRET", API_SECRET),
        ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
    ])
    .expect("valid");
    assert_eq!(auth.kind(), CredentialKind::ApiKey);
    assert_eq!(auth.username(), API_KEY);
}

#[test]
fn api_key_pair_may_sit_next_to_a_lone_account_sid() {
    let auth =
        lookup(&[("TWILIO_API_KEY", API_KEY), ("TWILIO_API_SECRET", API_SECRET), ("TWILIO_ACCOUNT_SID", ACCOUNT_SID)])
            .expect("valid");
    assert_eq!(auth.kind(), CredentialKind::ApiKey);
}

#[test]
fn account_pair_is_used_without_an_api_key() {
    let auth = lookup(&[("TWILIO_ACCOUNT_SID", ACCOUNT_SID), ("TWILIO_AUTH_TOKEN", AUTH_TOKEN)]).expect("valid");
    assert_eq!(auth.kind(), CredentialKind::AccountAuthToken);
    assert_eq!(auth.username(), ACCOUNT_SID);
}

#[test]
fn debug_never_shows_the_secret() {
    let auth = lookup(&[("TWILIO_API_KEY", API_KEY), ("TWILIO_API_SECRET", API_SECRET)]).expect("valid");
    let shown = format!("{auth:?}");
    assert!(!shown.contains(API_SECRET), "{shown}");
    assert!(shown.contains(API_KEY), "the SID is not secret and helps debugging: {shown}");
}

#[test]
fn every_missing_or_malformed_case_is_refused_with_a_message() {
    let long_secret = "0123456789abcdef0123456789abcdef01234567";
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("nothing set", &[]),
        ("API key without secret", &[("TWILIO_API_KEY", API_KEY)]),
        ("API secret without key", &[("TWILIO_API_SECRET", API_SECRET)]),
        (
            "half an API pair next to a whole account pair",
            &[("TWILIO_API_KEY", API_KEY), ("TWILIO_ACCOUNT_SID", ACCOUNT_SID), ("TWILIO_AUTH_TOKEN", AUTH_TOKEN)],
        ),
        ("account SID without token", &[("TWILIO_ACCOUNT_SID", ACCOUNT_SID)]),
        ("auth token without account SID", &[("TWILIO_AUTH_TOKEN", AUTH_TOKEN)]),
        ("empty API secret", &[("TWILIO_API_KEY", API_KEY), ("TWILIO_API_SECRET", "")]),
        ("empty API key", &[("TWILIO_API_KEY", ""), ("TWILIO_API_SECRET", API_SECRET)]),
        ("empty auth token", &[("TWILIO_ACCOUNT_SID", ACCOUNT_SID), ("TWILIO_AUTH_TOKEN", "")]),
        (
            "API secret with a trailing newline",
            &[("TWILIO_API_KEY", API_KEY), ("TWILIO_API_SECRET", "the-api-secret\n")],
        ),
        (
            "API key with uppercase hex",
            &[("TWILIO_API_KEY", "SK0123456789ABCDEF0123456789ABCDEF"), ("TWILIO_API_SECRET", API_SECRET)],
        ),
        ("API key too short", &[("TWILIO_API_KEY", "SK0123"), ("TWILIO_API_SECRET", API_SECRET)]),
        ("secret pasted as the API key", &[("TWILIO_API_KEY", long_secret), ("TWILIO_API_SECRET", API_SECRET)]),
        ("account SID in the API key variable", &[("TWILIO_API_KEY", ACCOUNT_SID), ("TWILIO_API_SECRET", API_SECRET)]),
        ("API key in the account SID variable", &[("TWILIO_ACCOUNT_SID", API_KEY), ("TWILIO_AUTH_TOKEN", AUTH_TOKEN)]),
        ("malformed account SID", &[("TWILIO_ACCOUNT_SID", "ACxyz"), ("TWILIO_AUTH_TOKEN", AUTH_TOKEN)]),
    ];
    let mut report = String::new();
    for (case, variables) in cases {
        let error = lookup(variables).expect_err(case);
        let message = error.to_string();
        for secret in [API_SECRET, AUTH_TOKEN, long_secret] {
            assert!(!message.contains(secret), "{case}: message shows a value: {message}");
        }
        report.push_str(&format!("{case}:\n  {message}\n"));
    }
    insta::assert_snapshot!(report);
}
