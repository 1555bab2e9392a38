//! Where the Twilio APIs live: twilio.com by default, a local emulator in tests and demos.

use std::fmt;
use std::net::Ipv4Addr;

use url::{Host, Url};

const DEFAULT_ACCOUNTS: &str = "https://accounts.twilio.com/";
const DEFAULT_VIDEO: &str = "https://video.twilio.com/";
const DEFAULT_MONITOR: &str = "https://monitor.twilio.com/";
const DEFAULT_API: &str = "https://api.twilio.com/";

/// The Twilio API hosts the client talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioEndpoints {
    accounts: Url,
    video: Url,
    monitor: Url,
    api: Url,
}

/// One of the Twilio API hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwilioApi {
    /// Accounts v1: AWS credentials and public keys.
    Accounts,
    /// Video v1: recording and composition settings, recordings and compositions.
    Video,
    /// Monitor v1: the debugger's alerts.
    Monitor,
    /// The 2010 API (`api.twilio.com/2010-04-01`): the account and its subaccounts.
    Api2010,
}

impl TwilioApi {
    fn name(self) -> &'static str {
        match self {
            TwilioApi::Accounts => "accounts",
            TwilioApi::Video => "video",
            TwilioApi::Monitor => "monitor",
            TwilioApi::Api2010 => "2010 API",
        }
    }

    /// The environment variable the CLI reads the override from.
    fn override_variable(self) -> &'static str {
        match self {
            TwilioApi::Accounts => "STOWAGE_TWILIO_ACCOUNTS_URL",
            TwilioApi::Video => "STOWAGE_TWILIO_VIDEO_URL",
            TwilioApi::Monitor => "STOWAGE_TWILIO_MONITOR_URL",
            TwilioApi::Api2010 => "STOWAGE_TWILIO_API_URL",
        }
    }

    fn default_url(self) -> &'static str {
        match self {
            TwilioApi::Accounts => DEFAULT_ACCOUNTS,
            TwilioApi::Video => DEFAULT_VIDEO,
            TwilioApi::Monitor => DEFAULT_MONITOR,
            TwilioApi::Api2010 => DEFAULT_API,
        }
    }
}

impl TwilioEndpoints {
    /// Twilio's hosts, or the given base URLs (the CLI passes `STOWAGE_TWILIO_ACCOUNTS_URL`,
    /// `STOWAGE_TWILIO_VIDEO_URL` and `STOWAGE_TWILIO_MONITOR_URL`). A base may carry a path
    /// prefix. Plain `http` is accepted only for a loopback host, so credentials never cross a
    /// network in clear text. The 2010 API is Twilio's (`https://api.twilio.com/`) unless
    /// [`TwilioEndpoints::with_api_override`] says otherwise.
    pub fn from_overrides(
        accounts: Option<&str>,
        video: Option<&str>,
        monitor: Option<&str>,
    ) -> Result<Self, EndpointError> {
        let base = |api: TwilioApi, given: Option<&str>| parse_base(api, given.unwrap_or(api.default_url()));
        Ok(Self {
            accounts: base(TwilioApi::Accounts, accounts)?,
            video: base(TwilioApi::Video, video)?,
            monitor: base(TwilioApi::Monitor, monitor)?,
            api: base(TwilioApi::Api2010, None)?,
        })
    }

    /// Every API at one base URL (an emulator serves them all on one address).
    pub fn all_at(base_url: &str) -> Result<Self, EndpointError> {
        Self::from_overrides(Some(base_url), Some(base_url), Some(base_url))?.with_api_override(Some(base_url))
    }

    /// These endpoints with the 2010 API at `api` (the CLI passes `STOWAGE_TWILIO_API_URL`),
    /// checked as the others are; `None` keeps `https://api.twilio.com/`.
    pub fn with_api_override(self, api: Option<&str>) -> Result<Self, EndpointError> {
        Ok(Self { api: parse_base(TwilioApi::Api2010, api.unwrap_or(DEFAULT_API))?, ..self })
    }

    pub fn accounts(&self) -> &Url {
        &self.accounts
    }

    pub fn video(&self) -> &Url {
        &self.video
    }

    pub fn monitor(&self) -> &Url {
        &self.monitor
    }

    /// The 2010 API's base.
    pub fn api(&self) -> &Url {
        &self.api
    }

    pub(crate) fn base(&self, api: TwilioApi) -> &Url {
        match api {
            TwilioApi::Accounts => &self.accounts,
            TwilioApi::Video => &self.video,
            TwilioApi::Monitor => &self.monitor,
            TwilioApi::Api2010 => &self.api,
        }
    }

    /// The URL of `segments` (like `["v1", "Credentials", "AWS"]`) below the base of `api`.
    /// Each segment is percent-encoded, so no segment can climb out of the path.
    pub(crate) fn url(&self, api: TwilioApi, segments: &[&str]) -> Url {
        let mut url = self.base(api).clone();
        // Always `Ok`: every base has a host (checked when parsed), so it can take segments.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The variable that moved `api` away from Twilio and the base it set, when one did: what
    /// a failure to reach it should point at.
    pub(crate) fn overridden(&self, api: TwilioApi) -> Option<(&'static str, &str)> {
        let base = self.base(api);
        (base.as_str() != api.default_url()).then(|| (api.override_variable(), base.as_str().trim_end_matches('/')))
    }

    /// Where a list's next page is, as Twilio wrote it on the page at `current`: an absolute
    /// URL (the v1 APIs' `meta.next_page_url`), or a path from the host's root (the 2010 API's
    /// `next_page_uri`, "relative to `https://api.twilio.com`", so relative to the configured
    /// base, path prefix included). The request carries the credentials, so a page anywhere
    /// but the configured endpoint's origin, or outside its base path, is refused with the
    /// reason.
    pub(crate) fn next_page(&self, api: TwilioApi, current: &Url, next: &str) -> Result<Url, &'static str> {
        let base = self.base(api);
        let base_path = format!("{}/", base.path().trim_end_matches('/'));
        let (next_url, from_root) = match next.strip_prefix('/') {
            // `//host/...` names a host: resolved as any URL is, so the origin check refuses it.
            Some(from_root) if !from_root.starts_with('/') => {
                let mut directory = base.clone();
                directory.set_path(&base_path);
                (directory.join(from_root), true)
            }
            _ => (current.join(next), false),
        };
        let next_url = next_url.map_err(|_| "it is not a URL")?;
        if next_url.origin() != base.origin() {
            return Err("it is not on the configured Twilio endpoint");
        }
        if from_root && !next_url.path().starts_with(&base_path) {
            return Err("it climbs out of the configured Twilio endpoint's path");
        }
        Ok(next_url)
    }
}

fn parse_base(api: TwilioApi, raw: &str) -> Result<Url, EndpointError> {
    let error = |shown: String, problem| EndpointError { api, url: shown, problem };
    if raw.is_empty() {
        return Err(error(String::new(), EndpointProblem::Empty { default: api.default_url() }));
    }
    let mut url = Url::parse(raw).map_err(|parse_error| {
        error(raw.to_owned(), EndpointProblem::NotAUrl { parse_error, default: api.default_url() })
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        // Show the URL without the password it carries.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        return Err(error(url.to_string(), EndpointProblem::HasCredentials));
    }
    let problem = match (url.scheme(), url.host()) {
        (_, None) => Some(EndpointProblem::NoHost),
        ("https", Some(_)) => None,
        ("http", Some(host)) if is_loopback(&host) => None,
        ("http", Some(_)) => Some(EndpointProblem::PlainHttpToRemoteHost),
        (scheme, Some(_)) => Some(EndpointProblem::UnsupportedScheme(scheme.to_owned())),
    };
    if let Some(problem) = problem {
        return Err(error(url.to_string(), problem));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(error(url.to_string(), EndpointProblem::HasQueryOrFragment));
    }
    Ok(url)
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(domain) => domain.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(address) => address.is_loopback(),
        Host::Ipv6(address) => {
            address.is_loopback() || address.to_ipv4_mapped().as_ref().is_some_and(Ipv4Addr::is_loopback)
        }
    }
}

/// A Twilio endpoint override that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Twilio {} endpoint{} (from `{}`): {problem}", api.name(), shown_url(url), api.override_variable())]
pub struct EndpointError {
    api: TwilioApi,
    url: String,
    problem: EndpointProblem,
}

impl EndpointError {
    pub fn api(&self) -> TwilioApi {
        self.api
    }
}

fn shown_url(url: &str) -> String {
    if url.is_empty() { String::new() } else { format!(" `{url}`") }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum EndpointProblem {
    Empty { default: &'static str },
    NotAUrl { parse_error: url::ParseError, default: &'static str },
    NoHost,
    HasCredentials,
    PlainHttpToRemoteHost,
    UnsupportedScheme(String),
    HasQueryOrFragment,
}

impl fmt::Display for EndpointProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointProblem::Empty { default } => write!(f, "the value is empty; unset it to use `{default}`"),
            EndpointProblem::NotAUrl { parse_error, default } => {
                let default = default.trim_end_matches('/');
                write!(f, "not an absolute URL ({parse_error}); expected something like `{default}`")
            }
            EndpointProblem::NoHost => f.write_str("the URL has no host"),
            EndpointProblem::HasCredentials => {
                f.write_str("the URL must not carry a user name or password; Twilio credentials come from `TWILIO_API_KEY` and `TWILIO_API_SECRET`")
            }
            EndpointProblem::PlainHttpToRemoteHost => f.write_str(
                "plain `http` is allowed only to a loopback host (127.0.0.0/8, ::1, localhost); use `https`",
            ),
            EndpointProblem::UnsupportedScheme(scheme) => {
                write!(f, "scheme `{scheme}` is not supported; use `https`")
            }
            EndpointProblem::HasQueryOrFragment => f.write_str("the URL must not have a query or a fragment"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        let loopback = |raw: &str| Url::parse(raw).ok().and_then(|url| url.host().map(|host| is_loopback(&host)));
        assert_eq!(loopback("http://127.0.0.1:1/"), Some(true));
        assert_eq!(loopback("http://127.255.0.9/"), Some(true));
        assert_eq!(loopback("http://[::1]:8080/"), Some(true));
        assert_eq!(loopback("http://[::ffff:127.0.0.1]/"), Some(true));
        assert_eq!(loopback("http://LOCALHOST:80/"), Some(true));
        assert_eq!(loopback("http://128.0.0.1/"), Some(false));
        assert_eq!(loopback("http://10.0.0.1/"), Some(false));
        assert_eq!(loopback("http://[::2]/"), Some(false));
        assert_eq!(loopback("http://localhost.example.com/"), Some(false));
        assert_eq!(loopback("http://127.0.0.1.nip.io/"), Some(false));
    }

    #[test]
    fn the_2010_api_is_twilios_unless_overridden() {
        let endpoints = TwilioEndpoints::from_overrides(None, None, None).expect("defaults");
        assert_eq!(endpoints.api().as_str(), "https://api.twilio.com/");
        let url = endpoints.url(TwilioApi::Api2010, &["2010-04-01", "Accounts.json"]);
        assert_eq!(url.as_str(), "https://api.twilio.com/2010-04-01/Accounts.json");
        let overridden = endpoints.clone().with_api_override(Some("http://127.0.0.1:9/twilio")).expect("loopback");
        assert_eq!(overridden.api().as_str(), "http://127.0.0.1:9/twilio");
        assert_eq!(overridden.accounts(), endpoints.accounts(), "only the 2010 API moves");
        let refused = endpoints.with_api_override(Some("http://api.example.com")).expect_err("plain http");
        assert_eq!(refused.api(), TwilioApi::Api2010);
        assert!(refused.to_string().contains("`STOWAGE_TWILIO_API_URL`"), "{refused}");
        let all = TwilioEndpoints::all_at("http://localhost:4010").expect("loopback");
        assert_eq!([all.accounts(), all.video(), all.monitor()], [all.api(); 3]);
    }

    #[test]
    fn next_pages_stay_on_the_configured_endpoint() {
        let next = |base: &str, next: &str| {
            let endpoints = TwilioEndpoints::all_at(base).expect("valid");
            let current = endpoints.url(TwilioApi::Api2010, &["2010-04-01", "Accounts.json"]);
            endpoints.next_page(TwilioApi::Api2010, &current, next).map(String::from)
        };
        let page = "/2010-04-01/Accounts.json?Status=active&PageSize=2&Page=1&PageToken=PAx";
        assert_eq!(next("http://127.0.0.1:9", page).as_deref(), Ok(&*format!("http://127.0.0.1:9{page}")));
        assert_eq!(
            next("http://127.0.0.1:9/proxy/", page).as_deref(),
            Ok(&*format!("http://127.0.0.1:9/proxy{page}")),
            "a path from the root is below the base's prefix"
        );
        assert_eq!(
            next("http://127.0.0.1:9/proxy", "http://127.0.0.1:9/proxy/v1/Alerts?Page=1").as_deref(),
            Ok("http://127.0.0.1:9/proxy/v1/Alerts?Page=1"),
            "an absolute URL on the endpoint"
        );
        for elsewhere in [
            "https://127.0.0.1:9/2010-04-01/Accounts.json?Page=1",
            "http://127.0.0.1:10/2010-04-01/Accounts.json?Page=1",
            "http://api.twilio.com.attacker.example/2010-04-01/Accounts.json",
            "//attacker.example/2010-04-01/Accounts.json",
            "attacker.example:80/x",
        ] {
            assert_eq!(
                next("http://127.0.0.1:9", elsewhere),
                Err("it is not on the configured Twilio endpoint"),
                "{elsewhere}"
            );
        }
        assert!(next("http://127.0.0.1:9", "///attacker.example/x").is_err(), "not a URL to follow either");
        for climbing in ["/../2010-04-01/Accounts.json", "/2010-04-01/%2E%2E/%2e%2E/x"] {
            assert_eq!(
                next("http://127.0.0.1:9/proxy", climbing),
                Err("it climbs out of the configured Twilio endpoint's path"),
                "{climbing}"
            );
        }
    }

    #[test]
    fn paths_go_below_the_base_path() {
        let endpoints = TwilioEndpoints::from_overrides(Some("http://127.0.0.1:9/prefix"), None, None).expect("valid");
        let url = endpoints.url(TwilioApi::Accounts, &["v1", "Credentials", "AWS"]);
        assert_eq!(url.as_str(), "http://127.0.0.1:9/prefix/v1/Credentials/AWS");
        let url = endpoints.url(TwilioApi::Video, &["v1", "RecordingSettings", "Default"]);
        assert_eq!(url.as_str(), "https://video.twilio.com/v1/RecordingSettings/Default");
        let url = endpoints.url(TwilioApi::Monitor, &["v1", "Alerts"]);
        assert_eq!(url.as_str(), "https://monitor.twilio.com/v1/Alerts");
        let endpoints = TwilioEndpoints::from_overrides(Some("http://localhost:9/prefix/"), None, None).expect("valid");
        let url = endpoints.url(TwilioApi::Accounts, &["v1", "../x?y"]);
        assert_eq!(url.as_str(), "http://localhost:9/prefix/v1/..%2Fx%3Fy", "segments stay segments");
    }
}
