//! Network failures in words: what failed on the way to a service, where, and why, in one line
//! ("could not connect to 127.0.0.1:1: connection refused"). Both providers' HTTP clients
//! (the AWS SDK's and reqwest, each over hyper-util and rustls) fail with a chain of errors
//! whose outer layers say little ("dispatch failure", "error sending request") and whose
//! innermost says what happened; [`cause_of`] walks that chain, the one classifier for both.
//! The chain itself (a `Debug` dump) is for `RUST_LOG=debug` only.
//!
//! No IO: the chain is read through `std::error::Error` alone, `std::io::Error` by kind, and
//! the few layers that only their text identifies (hyper-util's "dns error" and
//! "tcp connect error", hyper-rustls's "TLS handshake failed", rustls's messages) by text.

use std::error::Error;
use std::fmt;
use std::io;
use std::time::Duration;

/// The variable the CLI reads the request timeout from, named where a timeout is reported.
pub const REQUEST_TIMEOUT_SETTING: &str = "STOWAGE_REQUEST_TIMEOUT";

/// A request that did not get an answer from its service, and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetworkFailure {
    /// Where the request went: `host:port` of the endpoint, or the service by name (`S3 in
    /// us-east-1`) when its address is not known.
    pub endpoint: String,
    /// The host name, when known, for a name that does not resolve.
    pub host: Option<String>,
    pub cause: NetworkCause,
}

/// Why no answer came.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetworkCause {
    /// The host's name does not resolve.
    Unresolved,
    /// Nothing listens at the address.
    Refused,
    /// No connection for another reason, in words ("network is unreachable").
    Connect(String),
    /// No connection within the connect timeout.
    ConnectTimeout(Duration),
    /// The TLS handshake failed, in words ("the server's certificate is not trusted (UnknownIssuer)").
    Tls(String),
    /// Connected, but no whole answer within `limit`; `setting` is the variable that sets it.
    Timeout { limit: Duration, setting: Option<&'static str> },
    /// The connection broke off before the answer was whole, in words.
    Dropped(String),
}

impl NetworkCause {
    /// Whether sending the request again cannot help: a TLS handshake that failed (a
    /// certificate this machine does not trust, a server that does not speak TLS) fails the
    /// same way every time, so both providers give up at once instead of retrying for seconds.
    pub fn lasts(&self) -> bool {
        matches!(self, NetworkCause::Tls(_))
    }

    /// Whether the request surely never reached the service (nothing was sent).
    pub fn never_sent(&self) -> bool {
        matches!(
            self,
            NetworkCause::Unresolved
                | NetworkCause::Refused
                | NetworkCause::Connect(_)
                | NetworkCause::ConnectTimeout(_)
                | NetworkCause::Tls(_)
        )
    }
}

impl fmt::Display for NetworkFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = &self.endpoint;
        match &self.cause {
            NetworkCause::Unresolved => match &self.host {
                Some(host) => write!(f, "could not resolve {host}"),
                None => write!(f, "could not resolve the address of {endpoint}"),
            },
            NetworkCause::Refused => write!(f, "could not connect to {endpoint}: connection refused"),
            NetworkCause::Connect(words) => write!(f, "could not connect to {endpoint}: {words}"),
            NetworkCause::ConnectTimeout(limit) => {
                write!(f, "could not connect to {endpoint} within {}", duration(*limit))
            }
            NetworkCause::Tls(words) => write!(f, "TLS handshake with {endpoint} failed: {words}"),
            NetworkCause::Timeout { limit, setting: Some(setting) } => {
                write!(f, "no response from {endpoint} within {} ({setting})", duration(*limit))
            }
            NetworkCause::Timeout { limit, setting: None } => {
                write!(f, "no response from {endpoint} within {}", duration(*limit))
            }
            NetworkCause::Dropped(words) => write!(f, "the connection to {endpoint} broke off: {words}"),
        }
    }
}

/// What to do about `failure`. `overridden`: the variable that set the endpoint and its value
/// (`AWS_ENDPOINT_URL`, `http://127.0.0.1:1`), when one did; the hint names it.
pub fn hint(failure: &NetworkFailure, overridden: Option<(&str, &str)>) -> String {
    let Some((variable, url)) = overridden else {
        return match &failure.cause {
            NetworkCause::Unresolved => "check the network and its DNS".to_owned(),
            NetworkCause::Tls(_) => {
                "check the network: a proxy between here and the service may be answering in its place".to_owned()
            }
            NetworkCause::Timeout { setting: Some(setting), .. } => {
                format!("check the network, or raise `{setting}` if the service is slow")
            }
            _ => "check the network".to_owned(),
        };
    };
    match &failure.cause {
        NetworkCause::Unresolved => format!("check the host name in `{variable}` ({url})"),
        NetworkCause::Refused => format!("check `{variable}` ({url}), and that its service is running"),
        NetworkCause::Connect(_) | NetworkCause::ConnectTimeout(_) | NetworkCause::Dropped(_) => {
            format!("check `{variable}` ({url}), and that its service is running and reachable")
        }
        NetworkCause::Tls(_) => format!(
            "`{variable}` ({url}) asks for TLS: its service must speak TLS, with a certificate this machine trusts"
        ),
        NetworkCause::Timeout { setting: Some(setting), .. } => format!(
            "the service at `{variable}` ({url}) accepted the connection but did not answer: check it, or raise \
             `{setting}` if it is slow"
        ),
        NetworkCause::Timeout { setting: None, .. } => {
            format!("the service at `{variable}` ({url}) accepted the connection but did not answer")
        }
    }
}

/// A duration as a person writes it: `2s`, `1500ms`, `2m`.
fn duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    match millis {
        0 => "0s".to_owned(),
        _ if millis.is_multiple_of(60_000) => format!("{}m", millis / 60_000),
        _ if millis.is_multiple_of(1000) => format!("{}s", millis / 1000),
        _ => format!("{millis}ms"),
    }
}

/// `host:port` of a URL (`http://127.0.0.1:1/v1` -> `127.0.0.1:1`), the port filled in from
/// the scheme when the URL leaves it out; `None` for what is not an absolute URL.
pub fn authority(url: &str) -> Option<(String, String)> {
    let url = url::Url::parse(url).ok()?;
    let host = url.host_str().filter(|host| !host.is_empty())?;
    let shown = match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    Some((shown, host.trim_start_matches('[').trim_end_matches(']').to_owned()))
}

/// Why a request failed, from its error's chain of sources. `https`: the endpoint speaks TLS,
/// so a failure while connecting that is not the TCP connection's is the handshake's.
/// `connecting`: the client says the failure happened while connecting (hyper-util's own
/// "client error (Connect)" layer says so too). Timeouts the client measured itself are the
/// caller's to report (it knows the limit); an `io::ErrorKind::TimedOut` from the system is a
/// failure to connect.
pub fn cause_of(error: &(dyn Error + 'static), https: bool, connecting: bool) -> NetworkCause {
    let layers = layers(error);
    let mut connecting = connecting;
    let mut tcp = false;
    for layer in &layers {
        match layer {
            Layer::Io(kind, _) if *kind == io::ErrorKind::ConnectionRefused => return NetworkCause::Refused,
            Layer::Text(text) if text == "dns error" || text == "error resolving DNS" => {
                return NetworkCause::Unresolved;
            }
            Layer::Io(_, text) if text.starts_with("failed to lookup address") => return NetworkCause::Unresolved,
            Layer::Text(text) if text == "client error (Connect)" => connecting = true,
            Layer::Text(text) if text == "tcp connect error" => tcp = true,
            Layer::Text(text) if text == "TLS handshake failed" => return NetworkCause::Tls(tls_words(&layers)),
            _ => {}
        }
    }
    let innermost = layers.last().map(Layer::words).unwrap_or_default();
    if connecting && https && !tcp {
        NetworkCause::Tls(tls_words(&layers))
    } else if connecting || tcp {
        NetworkCause::Connect(innermost)
    } else {
        NetworkCause::Dropped(innermost)
    }
}

/// One error of a chain: an `io::Error` by kind (and its words), or another by its text.
#[derive(Debug)]
enum Layer {
    Io(io::ErrorKind, String),
    Text(String),
}

impl Layer {
    fn words(&self) -> String {
        match self {
            Layer::Io(io::ErrorKind::TimedOut, _) => "timed out".to_owned(),
            Layer::Io(_, text) | Layer::Text(text) => plain(text),
        }
    }
}

/// Every error of the chain, outermost first. An `io::Error` that wraps another error (as
/// tokio-rustls wraps a rustls error) hides it from `source()`: its inner error is followed.
fn layers(error: &(dyn Error + 'static)) -> Vec<Layer> {
    let mut layers = Vec::new();
    let mut next = Some(error);
    // A chain is short; the bound only guards against a cycle.
    while let Some(error) = next.take() {
        if layers.len() >= 32 {
            break;
        }
        if let Some(io) = error.downcast_ref::<io::Error>() {
            layers.push(Layer::Io(io.kind(), io.to_string()));
            next = match io.get_ref() {
                Some(inner) => Some(inner as &(dyn Error + 'static)),
                None => io.source(),
            };
        } else {
            layers.push(Layer::Text(error.to_string()));
            next = error.source();
        }
    }
    layers
}

/// The words of a failed TLS handshake: rustls's message, put plainly where it is cryptic.
fn tls_words(layers: &[Layer]) -> String {
    let text = layers.last().map(Layer::words).unwrap_or_default();
    if text.contains("InvalidContentType") || text.contains("corrupt message") {
        "the server does not speak TLS".to_owned()
    } else if text.contains("handshake eof") || text.contains("unexpected end of file") {
        "the server closed the connection during the handshake".to_owned()
    } else if let Some(rest) = text.strip_prefix("invalid peer certificate: ") {
        certificate_words(rest)
    } else if let Some(alert) = text.strip_prefix("received fatal alert: ") {
        format!("the server broke off the handshake ({})", leading_name(alert))
    } else {
        text
    }
}

/// Why the server's certificate was refused, in words, from rustls's text of a
/// `CertificateError` (after "invalid peer certificate: "): a variant's name (`UnknownIssuer`,
/// `Expired`; rustls 0.21 and the variants without context), or a sentence for a variant with
/// context ("certificate expired: verification time ..."). The variant's name follows the
/// words, for a search; its fields (times in UNIX seconds, the structures of `Other`) do not.
fn certificate_words(rest: &str) -> String {
    if let Some(names) = rest.strip_prefix("certificate not valid for name ") {
        // `"127.0.0.1"; certificate is only valid for localhost`
        return match names.split_once("; certificate ") {
            Some((expected, presented)) => {
                format!("the server's certificate is not valid for {expected}: it {presented} (NotValidForName)")
            }
            None => "the server's certificate is not valid for the name asked for (NotValidForName)".to_owned(),
        };
    }
    let name = match rest {
        _ if rest.starts_with("certificate expired") => "Expired",
        _ if rest.starts_with("certificate not valid yet") => "NotValidYet",
        _ if rest.starts_with("certificate revocation list expired") => "ExpiredRevocationList",
        _ if rest.starts_with("certificate does not allow extended key usage") => "InvalidPurpose",
        _ => leading_name(rest),
    };
    let name = name.strip_suffix("Context").unwrap_or(name);
    let words = match name {
        "UnknownIssuer" => "is not trusted",
        "Expired" => "has expired",
        "NotValidYet" => "is not valid yet",
        "NotValidForName" => "is not valid for the name asked for",
        "Revoked" => "has been revoked",
        "BadSignature" | "UnsupportedSignatureAlgorithm" | "UnsupportedSignatureAlgorithmForPublicKey" => {
            "has a signature that cannot be verified"
        }
        "BadEncoding" => "cannot be read",
        "InvalidPurpose" => "is not one for a server",
        "UnknownRevocationStatus" | "ExpiredRevocationList" => "has a revocation status that cannot be checked",
        _ => "was refused",
    };
    if name.is_empty() {
        format!("the server's certificate {words}")
    } else {
        format!("the server's certificate {words} ({name})")
    }
}

/// The name a `Debug` text starts with: `Other(OtherError(..))` -> `Other`.
fn leading_name(text: &str) -> &str {
    let end = text.find(|c: char| !c.is_ascii_alphanumeric() && c != '_').unwrap_or(text.len());
    &text[..end]
}

/// An error's text without the OS error number, starting in lower case: "Connection refused
/// (os error 111)" -> "connection refused".
fn plain(text: &str) -> String {
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => text,
    };
    let mut characters = text.chars();
    match characters.next() {
        Some(first) if characters.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(characters).collect()
        }
        Some(first) => std::iter::once(first).chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a text and a source, like the layers hyper-util and the clients add.
    #[derive(Debug)]
    struct Wrapped(&'static str, Option<Box<dyn Error + Send + Sync + 'static>>);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|source| source as &(dyn Error + 'static))
        }
    }

    fn chain(texts: &[&'static str], innermost: Box<dyn Error + Send + Sync + 'static>) -> Wrapped {
        let mut error = innermost;
        for text in texts.iter().rev() {
            error = Box::new(Wrapped(text, Some(error)));
        }
        *error.downcast::<Wrapped>().expect("at least one layer")
    }

    fn failure(cause: NetworkCause) -> String {
        NetworkFailure { endpoint: "127.0.0.1:1".to_owned(), host: Some("127.0.0.1".to_owned()), cause }.to_string()
    }

    #[test]
    fn a_refused_connection_is_one_line() {
        // The AWS SDK's chain, as its Display layers print.
        let error = chain(
            &["dispatch failure", "io error", "client error (Connect)", "tcp connect error"],
            Box::new(io::Error::from(io::ErrorKind::ConnectionRefused)),
        );
        let cause = cause_of(&error, false, false);
        assert_eq!(cause, NetworkCause::Refused);
        assert_eq!(failure(cause), "could not connect to 127.0.0.1:1: connection refused");
    }

    #[test]
    fn a_name_that_does_not_resolve_is_named() {
        let lookup = io::Error::other("failed to lookup address information: Name or service not known");
        let error = chain(&["error sending request", "client error (Connect)", "dns error"], Box::new(lookup));
        let cause = cause_of(&error, true, true);
        assert_eq!(cause, NetworkCause::Unresolved);
        let shown =
            NetworkFailure { endpoint: "nowhere.invalid:443".to_owned(), host: Some("nowhere.invalid".into()), cause };
        assert_eq!(shown.to_string(), "could not resolve nowhere.invalid");
    }

    #[test]
    fn a_tls_failure_says_why_in_words() {
        // reqwest: rustls's error inside two io::Errors, no "TLS handshake failed" layer.
        let rustls = Wrapped("received corrupt message of type InvalidContentType", None);
        let inner = io::Error::new(io::ErrorKind::InvalidData, rustls);
        let error = chain(&["error sending request", "client error (Connect)"], Box::new(io::Error::other(inner)));
        assert_eq!(cause_of(&error, true, false), NetworkCause::Tls("the server does not speak TLS".to_owned()));
        // The AWS SDK: hyper-rustls says so.
        let certificate = Wrapped("invalid peer certificate: UnknownIssuer", None);
        let error = chain(
            &["dispatch failure", "io error", "client error (Connect)", "TLS handshake failed"],
            Box::new(certificate),
        );
        let cause = cause_of(&error, true, false);
        assert_eq!(
            failure(cause),
            "TLS handshake with 127.0.0.1:1 failed: the server's certificate is not trusted (UnknownIssuer)"
        );
    }

    /// Each way rustls refuses a certificate, as its `Display` says it, in words; reqwest's
    /// chain (no "TLS handshake failed" layer) and the AWS SDK's say it alike.
    #[test]
    fn a_refused_certificate_says_why_in_words() {
        let words = |rustls: &'static str| {
            let aws = chain(
                &["dispatch failure", "io error", "client error (Connect)", "TLS handshake failed"],
                Box::new(Wrapped(rustls, None)),
            );
            let inner = io::Error::new(io::ErrorKind::InvalidData, Wrapped(rustls, None));
            let reqwest =
                chain(&["error sending request", "client error (Connect)"], Box::new(io::Error::other(inner)));
            let cause = cause_of(&aws, true, false);
            assert_eq!(cause_of(&reqwest, true, false), cause, "{rustls}");
            match cause {
                NetworkCause::Tls(words) => words,
                other => panic!("{rustls}: not a TLS failure: {other:?}"),
            }
        };
        let cases = [
            ("invalid peer certificate: UnknownIssuer", "the server's certificate is not trusted (UnknownIssuer)"),
            ("invalid peer certificate: Expired", "the server's certificate has expired (Expired)"),
            (
                "invalid peer certificate: certificate expired: verification time 1700000000 (UNIX), but certificate \
                 is not valid after 1600000000 (100000000 seconds ago)",
                "the server's certificate has expired (Expired)",
            ),
            (
                "invalid peer certificate: certificate not valid yet: verification time 1 (UNIX), but certificate is \
                 not valid before 2 (1 seconds in future)",
                "the server's certificate is not valid yet (NotValidYet)",
            ),
            (
                "invalid peer certificate: NotValidForName",
                "the server's certificate is not valid for the name asked for (NotValidForName)",
            ),
            (
                "invalid peer certificate: certificate not valid for name \"127.0.0.1\"; certificate is only valid \
                 for localhost or example.com",
                "the server's certificate is not valid for \"127.0.0.1\": it is only valid for localhost or \
                 example.com (NotValidForName)",
            ),
            ("invalid peer certificate: Revoked", "the server's certificate has been revoked (Revoked)"),
            (
                "invalid peer certificate: BadSignature",
                "the server's certificate has a signature that cannot be verified (BadSignature)",
            ),
            (
                "invalid peer certificate: UnsupportedSignatureAlgorithmContext { signature_algorithm_id: [1, 2] }",
                "the server's certificate has a signature that cannot be verified (UnsupportedSignatureAlgorithm)",
            ),
            (
                "invalid peer certificate: Other(OtherError(\"a custom verifier said no\"))",
                "the server's certificate was refused (Other)",
            ),
            ("received fatal alert: HandshakeFailure", "the server broke off the handshake (HandshakeFailure)"),
        ];
        for (rustls, expected) in cases {
            assert_eq!(words(rustls), expected);
        }
    }

    #[test]
    fn a_connection_that_breaks_off_is_not_a_connect_failure() {
        let error = chain(
            &["dispatch failure", "other", "client error (SendRequest)"],
            Box::new(Wrapped("connection closed before message completed", None)),
        );
        assert_eq!(
            cause_of(&error, false, false),
            NetworkCause::Dropped("connection closed before message completed".to_owned())
        );
    }

    #[test]
    fn timeouts_name_their_limit_and_setting() {
        let cause = NetworkCause::Timeout { limit: Duration::from_secs(2), setting: Some(REQUEST_TIMEOUT_SETTING) };
        assert_eq!(failure(cause), "no response from 127.0.0.1:1 within 2s (STOWAGE_REQUEST_TIMEOUT)");
        assert_eq!(
            failure(NetworkCause::ConnectTimeout(Duration::from_millis(1500))),
            "could not connect to 127.0.0.1:1 within 1500ms"
        );
    }

    #[test]
    fn authorities_fill_in_the_port() {
        assert_eq!(authority("http://127.0.0.1:1/v1/x"), Some(("127.0.0.1:1".to_owned(), "127.0.0.1".to_owned())));
        assert_eq!(
            authority("https://video.twilio.com/"),
            Some(("video.twilio.com:443".to_owned(), "video.twilio.com".to_owned()))
        );
        assert_eq!(authority("http://[::1]:9000"), Some(("[::1]:9000".to_owned(), "::1".to_owned())));
        assert_eq!(authority("not a url"), None);
    }

    #[test]
    fn plain_words_drop_the_os_error_number() {
        assert_eq!(plain("Connection refused (os error 111)"), "connection refused");
        assert_eq!(plain("TLS handshake failed"), "TLS handshake failed");
    }
}
