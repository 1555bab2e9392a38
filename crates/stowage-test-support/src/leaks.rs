//! The tests' one secret-leak detector: the secrets a test knows, searched in every form they
//! could leak in, and text shaped like an AWS secret nobody told it about.
//!
//! ```
//! use stowage_test_support::SecretScan;
//!
//! let mut scan = SecretScan::new(&["AC0123456789abcdef0123456789abcdef"]);
//! scan.secret("the auth token", "feedc0defeedc0defeedc0defeedc0de");
//! assert_eq!(scan.leaks_in("stderr", "account AC0123456789abcdef0123456789abcdef"), Vec::<String>::new());
//! assert_eq!(
//!     scan.leaks_in("stderr", "token=feedc0defeedc0defeedc0defeedc0de"),
//!     ["the auth token (as is) in stderr", "the auth token (16 characters) in stderr"]
//! );
//! ```

use std::collections::HashSet;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use regex::Regex;

/// The shortest part of a secret that counts as a leak: a truncated or partial secret is
/// still one, and 16 random characters turn up by chance practically never.
const LEAK_RUN: usize = 16;
/// How long an AWS secret access key is.
const AWS_SECRET_LENGTH: usize = 40;

/// Secrets to look for, each in every form it could take on the way out, and what is known to
/// be public.
#[derive(Debug, Clone, Default)]
pub struct SecretScan {
    /// Text known to be public (account and API key SIDs, the spec): a run of a secret's
    /// characters found inside it is no leak, nor is a lookalike.
    public: Vec<String>,
    /// What is searched for, each named `what (form)`, in order.
    patterns: Vec<(String, String)>,
    secrets: usize,
}

impl SecretScan {
    /// A scan that knows `public` texts are no secret.
    pub fn new(public: &[&str]) -> SecretScan {
        SecretScan { public: public.iter().map(|text| (*text).to_owned()).collect(), ..SecretScan::default() }
    }

    /// Looks for `secret`, called `what`: as is, form-encoded (how an access key's secret
    /// travels to Twilio), JSON-escaped, base64 of the secret alone (padded, unpadded,
    /// URL-safe), and every run of 16 of its characters that is not part of a public text.
    /// Forms that come out the same (a secret with nothing to escape) are searched once, under
    /// the first name.
    pub fn secret(&mut self, what: &str, secret: &str) {
        self.secrets += 1;
        let mut forms = whole_forms(secret);
        let characters: Vec<char> = secret.chars().collect();
        for run in characters.windows(LEAK_RUN) {
            let run: String = run.iter().collect();
            if !self.is_public(&run) {
                forms.push(("16 characters", run));
            }
        }
        let mut seen = HashSet::new();
        forms.retain(|(_, pattern)| seen.insert(pattern.clone()));
        self.patterns.extend(forms.into_iter().map(|(form, pattern)| (format!("{what} ({form})"), pattern)));
    }

    /// Looks for the HTTP Basic credentials of `user` and `password`, called `what`: the value
    /// of an `Authorization` header made of them.
    pub fn basic_credentials(&mut self, what: &str, user: &str, password: &str) {
        self.secrets += 1;
        self.patterns.push((what.to_owned(), STANDARD.encode(format!("{user}:{password}"))));
    }

    /// How many secrets are searched for.
    pub fn secrets(&self) -> usize {
        self.secrets
    }

    /// How many forms of them are searched for.
    pub fn forms(&self) -> usize {
        self.patterns.len()
    }

    /// Every secret found in `text`, the contents of `place`, as `what (form) in place`. Several
    /// runs of one secret are one leak.
    pub fn leaks_in(&self, place: &str, text: &str) -> Vec<String> {
        let mut leaks: Vec<String> = self
            .patterns
            .iter()
            .filter(|(_, pattern)| text.contains(pattern.as_str()))
            .map(|(what, _)| format!("{what} in {place}"))
            .collect();
        leaks.dedup();
        leaks
    }

    /// Every run of `[A-Za-z0-9/+]` in `text` that looks like an AWS secret
    /// ([`looks_like_aws_secret`]) and is not in a public text: a secret the test was not told
    /// about. Colour codes go first, as the `m` ending one would glue onto a value after it. A
    /// secret glued to other characters of that alphabet makes a longer run and is not found,
    /// which is why the known secrets are searched for as well ([`SecretScan::leaks_in`]).
    pub fn aws_secret_lookalikes(&self, text: &str) -> Vec<String> {
        static COLOUR_CODES: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\x1b\[[0-9;]*m").expect("a valid pattern"));
        static RUNS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9/+]+").expect("a valid pattern"));
        let text = COLOUR_CODES.replace_all(text, " ");
        RUNS.find_iter(&text)
            .map(|run| run.as_str())
            .filter(|run| looks_like_aws_secret(run) && !self.is_public(run))
            .map(str::to_owned)
            .collect()
    }

    fn is_public(&self, run: &str) -> bool {
        self.public.iter().any(|public| public.contains(run))
    }
}

/// The whole secret in each form it could be written in, each named.
fn whole_forms(secret: &str) -> Vec<(&'static str, String)> {
    // An AWS secret is `[A-Za-z0-9/+=]`: these are the characters a form encodes.
    let form_encoded = secret.replace('%', "%25").replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    vec![
        ("as is", secret.to_owned()),
        ("form-encoded", form_encoded),
        ("JSON-escaped", secret.replace('/', "\\/")),
        ("base64", STANDARD.encode(secret)),
        ("base64 unpadded", STANDARD_NO_PAD.encode(secret)),
        ("base64url", URL_SAFE_NO_PAD.encode(secret)),
    ]
}

/// Whether `text` could be an AWS secret access key: 40 characters of `[A-Za-z0-9/+]` with a
/// `/` or `+` or both upper and lower case letters, and not a camel-case identifier.
///
/// Real secrets are 40 random base64 characters: one without `/`, `+` or mixed case turns up
/// about once in five billion, and one that reads as camel-case words (no digit, no `/` or
/// `+`, no two capitals in a row) far more rarely still. What else is 40 long in this alphabet
/// and must not count: hex digests and Twilio tokens (lower case and digits), access key ids
/// (upper case and digits), and Rust type names in trace logs such as
/// `CreateAccessKeyEndpointParamsInterceptor`.
pub fn looks_like_aws_secret(text: &str) -> bool {
    static CAMEL_CASE_WORDS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-z]*(?:[A-Z][a-z]+)+$").expect("a valid pattern"));
    let has = |test: fn(&char) -> bool| text.chars().any(|character| test(&character));
    text.len() == AWS_SECRET_LENGTH
        && text.chars().all(|character| character.is_ascii_alphanumeric() || character == '/' || character == '+')
        && (has(|character| *character == '/' || *character == '+')
            || (has(char::is_ascii_uppercase) && has(char::is_ascii_lowercase)))
        && !CAMEL_CASE_WORDS.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn scan() -> SecretScan {
        let mut scan = SecretScan::new(&["SK0123456789abcdef"]);
        scan.secret("the key", SECRET);
        scan
    }

    #[test]
    fn a_secret_is_found_in_every_form() {
        let scan = scan();
        for (form, text) in [
            ("as is", SECRET.to_owned()),
            ("form-encoded", "wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY".to_owned()),
            ("JSON-escaped", r"wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY".to_owned()),
            ("base64", STANDARD.encode(SECRET)),
            ("16 characters", format!("…{}…", &SECRET[10..26])),
        ] {
            let leaks = scan.leaks_in("the log", &text);
            assert!(leaks.contains(&format!("the key ({form}) in the log")), "{form}: {leaks:?}");
        }
    }

    #[test]
    fn runs_inside_a_public_text_are_no_leak() {
        let mut scan = SecretScan::new(&["AC0123456789abcdef0123456789abcdef"]);
        scan.secret("a token", "0123456789abcdef0123456789abcdefXYZ");
        assert_eq!(scan.leaks_in("stderr", "AC0123456789abcdef0123456789abcdef"), Vec::<String>::new());
    }

    #[test]
    fn several_runs_of_one_secret_are_one_leak() {
        assert_eq!(scan().leaks_in("stderr", &SECRET[..30]), ["the key (16 characters) in stderr"]);
    }

    #[test]
    fn basic_credentials_are_found_as_a_header_value() {
        let mut scan = SecretScan::new(&[]);
        scan.basic_credentials("Basic header", "AC1", "token");
        assert_eq!(scan.leaks_in("a journal", "Authorization: Basic QUMxOnRva2Vu"), ["Basic header in a journal"]);
        assert_eq!((scan.secrets(), scan.forms()), (1, 1));
    }

    #[test]
    fn lookalikes_are_aws_shaped_runs_outside_public_texts() {
        let scan = SecretScan::new(&["secret = \"aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcd\""]);
        let coloured = format!("\x1b[3msecret_access_key\x1b[0m\x1b[2m=\x1b[0m{SECRET}\x1b[0m\n");
        assert_eq!(scan.aws_secret_lookalikes(&coloured), [SECRET]);
        assert_eq!(scan.aws_secret_lookalikes("aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcd"), Vec::<String>::new());
        assert!(!looks_like_aws_secret("CreateAccessKeyEndpointParamsInterceptor"));
        assert!(!looks_like_aws_secret("0123456789abcdef0123456789abcdef01234567"));
    }
}
