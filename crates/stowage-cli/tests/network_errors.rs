//! A service that cannot be reached is said in one line a person can read: what failed, where,
//! and why in words ("could not connect to 127.0.0.1:PORT: connection refused"), with what to
//! check; reads that failed the same way are said once. The SDK's and reqwest's error
//! structures appear only at `RUST_LOG=debug`.
//!
//! No moto and no emulator: AWS and both Twilio APIs point at a loopback port this test holds,
//! refusing connections, accepting them and never answering, answering an `https` client with
//! plain HTTP, or with TLS and a self-signed certificate. Each run is bounded by the request
//! timeout and the clients' retries (and by the test support's run timeout); nothing sleeps to
//! synchronise: every listener is bound before the run starts.

mod common;

use std::path::Path;

use common::STOWAGE;
use stowage_test_support::{Invocation, Run, Sandbox, dev_spec, insta_filters, twilio_env, unreachable_aws_env};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// `stowage plan dev.toml` with AWS and every Twilio API at `endpoint`, each request given
/// `STOWAGE_REQUEST_TIMEOUT=1s`, at `log` level.
async fn plan_against(endpoint: &str, log: &str) -> Run {
    let sandbox = Sandbox::new();
    sandbox.write_spec("dev.toml", &dev_spec());
    let mut environment = unreachable_aws_env(endpoint, &sandbox.path().join("absent"));
    environment.extend(twilio_env(endpoint));
    Invocation::new(Path::new(STOWAGE), &sandbox, environment, &["plan", "dev.toml"])
        .request_timeout("1s")
        .env("RUST_LOG", log)
        .env("NO_COLOR", "1")
        .await
}

/// A loopback port nothing listens on: bound, then let go.
fn refusing_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.local_addr().expect("bound").port()
}

/// A listener that accepts every connection and never says a word, holding each open; stops
/// when the returned task is aborted (or the test's runtime ends).
async fn silent_server() -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let port = listener.local_addr().expect("bound").port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (port, task)
}

/// A listener that answers whatever arrives with a plain-HTTP 400, as a server that does not
/// speak TLS answers a client's TLS hello, and closes.
async fn plain_http_server() -> (u16, JoinHandle<()>, Connections) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let port = listener.local_addr().expect("bound").port();
    let connections = Connections::default();
    let counted = connections.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ =
                socket.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
        }
    });
    (port, task, connections)
}

/// How many connections a test server accepted.
type Connections = std::sync::Arc<std::sync::atomic::AtomicUsize>;

/// A failed TLS handshake is not retried (it would fail the same way, for up to a minute of
/// backoff): the server sees one connection per read, the 3 of AWS and the 2 of Twilio.
fn assert_one_attempt_per_read(connections: &Connections, run: &impl std::fmt::Display) {
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 5, "one connection per read\n{run}");
}

/// A TLS server with a certificate nobody trusts: self-signed (by rcgen) for `127.0.0.1` and
/// `localhost`, so only its issuer is wrong. It accepts every connection and takes it through
/// the handshake, which the client breaks off.
async fn untrusted_tls_server() -> (u16, JoinHandle<()>, Connections) {
    use tokio_rustls::rustls::{self, pki_types};
    let certified = rcgen::generate_simple_self_signed(["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("a self-signed certificate");
    let key = pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("rustls's default protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key.into())
        .expect("the certificate goes with its key");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let port = listener.local_addr().expect("bound").port();
    let connections = Connections::default();
    let counted = connections.clone();
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let acceptor = acceptor.clone();
            // The client refuses the certificate: the handshake fails, as it should.
            tokio::spawn(async move { acceptor.accept(socket).await.is_ok() });
        }
    });
    (port, task, connections)
}

/// The usual filters but the one for durations: the request timeout (`1s`) is the test's own,
/// and nothing else here takes time.
fn filters() -> Vec<(&'static str, &'static str)> {
    insta_filters().into_iter().filter(|(_, replacement)| *replacement != "[DURATION]").collect()
}

/// What a person reads on stderr (no log lines), with ports and durations filtered.
fn shown(run: &Run) -> String {
    assert_eq!(run.code, Some(1), "the plan fails\n{run}");
    let diagnostics = run.diagnostics();
    for debris in ["os error", "DispatchFailure", "ConnectorError", "hyper_util", "dispatch failure", "{"] {
        assert!(!diagnostics.contains(debris), "`{debris}` is an error structure, not words:\n{diagnostics}");
    }
    diagnostics
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_is_one_line_per_service() {
    let endpoint = format!("http://127.0.0.1:{}", refusing_port());
    let run = plan_against(&endpoint, "warn").await;
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(shown(&run));
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_is_named_with_the_timeout() {
    let (port, server) = silent_server().await;
    let run = plan_against(&format!("http://127.0.0.1:{port}"), "warn").await;
    server.abort();
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(shown(&run));
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_tls_handshake_says_why() {
    let (port, server, connections) = plain_http_server().await;
    let run = plan_against(&format!("https://127.0.0.1:{port}"), "warn").await;
    server.abort();
    assert_one_attempt_per_read(&connections, &run);
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(shown(&run));
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_this_machine_does_not_trust_is_named() {
    let (port, server, connections) = untrusted_tls_server().await;
    let run = plan_against(&format!("https://127.0.0.1:{port}"), "warn").await;
    server.abort();
    assert_one_attempt_per_read(&connections, &run);
    let diagnostics = shown(&run);
    for debris in ["InvalidCertificate", "Custom", "rustls", "peer certificate"] {
        assert!(!diagnostics.contains(debris), "`{debris}` is not words:\n{diagnostics}");
    }
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(diagnostics);
    });
}

/// The error structures are still there for whoever asks: at debug level, in the log.
#[tokio::test(flavor = "multi_thread")]
async fn the_whole_error_is_logged_at_debug_level() {
    let endpoint = format!("http://127.0.0.1:{}", refusing_port());
    let run = plan_against(&endpoint, "stowage=debug,stowage_aws=debug,stowage_twilio=debug").await;
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("AWS request got no answer"), "{run}");
    assert!(run.stderr.contains("ConnectionRefused"), "the dump names the io error's kind\n{run}");
    assert!(run.stderr.contains("twilio request got no answer"), "{run}");
}
