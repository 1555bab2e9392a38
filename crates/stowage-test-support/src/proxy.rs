//! A recording, fault-injecting HTTP proxy in front of moto.
//!
//! It lets a test prove "zero write calls" with an observer that is not stowage itself, and
//! lets reliability tests inject errors, throttling, dropped connections and delays. Requests
//! are forwarded byte for byte with the `Host` header as received, so SigV4 signatures stay
//! valid for moto.

mod classify;
mod fault;

use std::collections::BTreeSet;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap};
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

use classify::{Call, classify};
pub use fault::{Fault, FaultAction, FaultMatch};

/// One request the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRequest {
    /// `s3`, `iam`, `kms` or `sts`.
    pub service: String,
    /// The operation as the AWS SDK names it: `PutObject`, `CreateUser`, `DescribeKey`.
    pub operation: String,
    pub is_write: bool,
    /// The status the client got; 0 while in flight or when the connection was dropped.
    pub status: u16,
}

/// `s3 PutObject write 200`: one line per request reads well in a snapshot.
impl fmt::Display for ObservedRequest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_write { "write" } else { "read" };
        write!(formatter, "{} {} {kind} {}", self.service, self.operation, self.status)
    }
}

/// A proxy on a free loopback port that forwards to `upstream` (moto), records every request
/// and injects faults on demand. Stops when dropped.
pub struct AwsProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

struct Shared {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    journal: Mutex<Journal>,
    /// Woken when a request is held, when held requests are let go, and when a request ends.
    holds: Notify,
    /// Requests being handled (held ones included).
    in_flight: AtomicUsize,
    /// Whether new buckets come with Block Public Access on, as on AWS (see
    /// [`AwsProxy::new_buckets_like_aws`]).
    like_aws: AtomicBool,
    /// Buckets created while `like_aws` was on that have had no public access block written or
    /// deleted since: AWS's default block is still theirs. Kept by [`AwsProxy::clear`]: it is
    /// the account's state, not the journal's.
    blocked_by_default: Mutex<BTreeSet<String>>,
}

#[derive(Default)]
struct Journal {
    /// Bumped by [`AwsProxy::clear`], so requests in flight then are not recorded after it.
    generation: u64,
    requests: Vec<ObservedRequest>,
    faults: Vec<Fault>,
    /// Requests held by [`FaultAction::HoldRequest`] or [`FaultAction::HoldAnswer`], in order.
    held: Vec<ObservedRequest>,
}

/// Where a request's status goes once it is answered.
struct Ticket {
    generation: u64,
    index: usize,
}

impl AwsProxy {
    /// Starts the proxy in front of `upstream`, such as [`crate::Moto::endpoint`].
    ///
    /// # Panics
    /// When `upstream` is not an `http://` URL or no loopback port can be bound.
    pub async fn start(upstream: &str) -> AwsProxy {
        let upstream = upstream.trim_end_matches('/').to_owned();
        if let Err(error) = upstream.parse::<Uri>() {
            panic!("the proxy's upstream `{upstream}` is not a URL: {error}");
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap_or_else(|error| panic!("the proxy could not bind a loopback port: {error}"));
        let address =
            listener.local_addr().unwrap_or_else(|error| panic!("the proxy could not read its own address: {error}"));

        // A fresh connection per request: moto closes its connections after each answer, and
        // a pooled connection closed under us would look like an injected fault.
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build_http();
        let shared = Arc::new(Shared {
            upstream,
            client,
            journal: Mutex::new(Journal::default()),
            holds: Notify::new(),
            in_flight: AtomicUsize::new(0),
            like_aws: AtomicBool::new(false),
            blocked_by_default: Mutex::new(BTreeSet::new()),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        AwsProxy { address, shared, server }
    }

    /// `http://127.0.0.1:PORT`: give it to the SDK or to `stowage` as `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every request since the start or the last [`AwsProxy::clear`], in arrival order.
    pub fn requests(&self) -> Vec<ObservedRequest> {
        self.shared.journal().requests.clone()
    }

    /// The requests that change something: what a read-only command must never send.
    pub fn writes(&self) -> Vec<ObservedRequest> {
        self.requests().into_iter().filter(|request| request.is_write).collect()
    }

    /// Forgets the recorded requests and the faults not yet spent, and lets go of held
    /// requests (their connections are closed without an answer).
    pub fn clear(&self) {
        let mut journal = self.shared.journal();
        journal.generation += 1;
        journal.requests.clear();
        journal.faults.clear();
        journal.held.clear();
        drop(journal);
        self.shared.holds.notify_waiters();
    }

    /// Waits until no request is on its way any more, held ones aside: a delayed request
    /// reaches upstream even after its client gave up, and a test must not look before then.
    /// Bound it with a timeout.
    pub async fn settled(&self) {
        loop {
            let notified = self.shared.holds.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let held = self.shared.journal().held.len();
            if self.shared.in_flight.load(Ordering::SeqCst) <= held {
                return;
            }
            notified.await;
        }
    }

    /// Waits until a request is held (see [`FaultAction::HoldRequest`]) and returns it. For a
    /// [`FaultAction::HoldAnswer`] that is once upstream has answered. Bound it with a timeout.
    pub async fn held(&self) -> ObservedRequest {
        loop {
            let notified = self.shared.holds.notified();
            tokio::pin!(notified);
            // Registered before looking, so a hold between the look and the wait is not missed.
            notified.as_mut().enable();
            if let Some(request) = self.shared.journal().held.first().cloned() {
                return request;
            }
            notified.await;
        }
    }

    /// From now on, answer for a new bucket as AWS does and moto does not: since April 2023 AWS
    /// turns Block Public Access on (all four flags) for every new bucket. For a bucket whose
    /// `CreateBucket` this proxy saw succeed, a `GetPublicAccessBlock` that moto answers with
    /// `NoSuchPublicAccessBlockConfiguration` is answered with all four flags on instead, until
    /// a `PutPublicAccessBlock` or `DeletePublicAccessBlock` for that bucket succeeds. No
    /// request of the proxy's own reaches moto.
    pub fn new_buckets_like_aws(&self) {
        self.shared.like_aws.store(true, Ordering::SeqCst);
    }

    /// Adds a fault; when several match a request, the first added wins.
    pub fn inject(&self, fault: Fault) {
        self.shared.journal().faults.push(fault);
    }
}

impl fmt::Debug for AwsProxy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AwsProxy")
            .field("endpoint", &self.endpoint())
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every open connection.
        self.server.abort();
    }
}

impl Shared {
    fn journal(&self) -> MutexGuard<'_, Journal> {
        // Every update leaves the journal consistent, so a panicking holder does no harm.
        self.journal.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the request and takes the first matching fault, if any.
    fn arrive(&self, call: &Call) -> (Ticket, Option<FaultAction>) {
        let mut journal = self.journal();
        let index = journal.requests.len();
        journal.requests.push(ObservedRequest {
            service: call.service.clone(),
            operation: call.operation.clone(),
            is_write: call.is_write,
            status: 0,
        });
        let earlier = |shape: &str| {
            journal.requests[..index].iter().filter(|seen| operation_shape(&seen.operation) == shape).count()
        };
        let matching = journal.faults.iter().position(|fault| {
            fault.times > 0
                && match &fault.matches {
                    FaultMatch::Any => true,
                    FaultMatch::Write => call.is_write,
                    FaultMatch::Operation(operation) => *operation == call.operation,
                    FaultMatch::Occurrence { operation, nth } => {
                        *operation == operation_shape(&call.operation) && earlier(operation) == *nth
                    }
                    FaultMatch::Nth(nth) => *nth == index,
                }
        });
        let action = matching.map(|position| {
            let fault = &mut journal.faults[position];
            fault.times -= 1;
            let action = fault.action.clone();
            if fault.times == 0 {
                journal.faults.remove(position);
            }
            action
        });
        let ticket = Ticket { generation: journal.generation, index };
        (ticket, action)
    }

    /// Keeps the request of `ticket` unanswered until [`AwsProxy::clear`].
    async fn hold(&self, ticket: &Ticket) -> Unanswered {
        let generation = {
            let mut journal = self.journal();
            let request = journal.requests.get(ticket.index).cloned();
            if journal.generation == ticket.generation
                && let Some(request) = request
            {
                journal.held.push(request);
            }
            journal.generation
        };
        self.holds.notify_waiters();
        loop {
            let released = self.holds.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if self.journal().generation != generation {
                return Unanswered::Released;
            }
            released.await;
        }
    }

    fn answered(&self, ticket: &Ticket, status: u16) {
        let mut journal = self.journal();
        if journal.generation == ticket.generation
            && let Some(request) = journal.requests.get_mut(ticket.index)
        {
            request.status = status;
        }
    }
}

/// An operation's name with the Twilio SIDs in its path (`CR` and 32 hex digits) as `{Sid}`:
/// `DELETE /v1/Credentials/AWS/{Sid}` is the same point of every run, whatever SID it deletes.
/// AWS operation names have none and are their own shape.
pub fn operation_shape(operation: &str) -> String {
    operation
        .split('/')
        .map(|segment| {
            let is_sid = segment.len() == 34
                && segment.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
                && segment[2..].bytes().all(|byte| byte.is_ascii_hexdigit());
            if is_sid { "{Sid}" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            // A failed accept (a client that gave up, no file descriptors left) concerns
            // that one client only.
            tokio::task::yield_now().await;
            continue;
        };
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&shared), request));
            // A connection error is the client's to see (and, for DropConnection, the point).
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
        // Reap finished connections so the set stays small in long tests.
        while connections.try_join_next().is_some() {}
    }
}

/// Counts a request as in flight until it is dropped: answered, failed, or abandoned when its
/// client went away.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn enter(shared: &Arc<Shared>) -> Self {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(shared))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.holds.notify_waiters();
    }
}

/// Why a connection is closed without an answer.
#[derive(Debug, thiserror::Error)]
enum Unanswered {
    #[error("connection dropped by an injected fault")]
    InjectedDrop,
    #[error("a held request was let go")]
    Released,
    #[error("could not read the request body: {0}")]
    RequestBody(#[source] hyper::Error),
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Unanswered> {
    let _in_flight = InFlight::enter(&shared);
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(Unanswered::RequestBody)?.to_bytes();
    let call = classify(&parts.method, &parts.uri, &parts.headers, &body);
    let (ticket, fault) = shared.arrive(&call);

    let response = match fault {
        None => forward(&shared, parts, body, &call).await,
        Some(FaultAction::HoldRequest) => return Err(shared.hold(&ticket).await),
        Some(FaultAction::HoldAnswer) => {
            let response = forward(&shared, parts, body, &call).await;
            shared.answered(&ticket, response.status().as_u16());
            return Err(shared.hold(&ticket).await);
        }
        Some(FaultAction::Status(status)) => fault::status_response(&call.service, status),
        Some(FaultAction::Error { status, code }) => fault::error_code_response(&call.service, status, &code),
        Some(FaultAction::Bare { status, headers }) => fault::bare_response(status, &headers),
        Some(FaultAction::Throttle) => fault::throttle_response(&call.service),
        Some(FaultAction::DropConnection) => return Err(Unanswered::InjectedDrop),
        Some(FaultAction::Delay(delay)) => {
            // Slow, not lost: the request reaches upstream even when its client stops waiting
            // (as one already on the wire would), so a timed-out create still creates.
            let in_flight = InFlight::enter(&shared);
            let delayed = Arc::clone(&shared);
            let delayed_call = call.clone();
            let task = tokio::spawn(async move {
                let _in_flight = in_flight;
                tokio::time::sleep(delay).await;
                forward(&delayed, parts, body, &delayed_call).await
            });
            task.await.unwrap_or_else(|error| fault::bad_gateway_response(&call.service, &error.to_string()))
        }
    };
    shared.answered(&ticket, response.status().as_u16());
    Ok(response)
}

async fn forward(shared: &Shared, parts: Parts, body: Bytes, call: &Call) -> Response<Full<Bytes>> {
    let service = call.service.as_str();
    let path_and_query = parts.uri.path_and_query().map_or("/", |path_and_query| path_and_query.as_str());
    let uri = match format!("{}{path_and_query}", shared.upstream).parse::<Uri>() {
        Ok(uri) => uri,
        Err(error) => return fault::bad_gateway_response(service, &error.to_string()),
    };
    let mut upstream_request = Request::new(Full::new(body));
    *upstream_request.method_mut() = parts.method;
    *upstream_request.uri_mut() = uri;
    // The Host header stays as the client sent it: the client signed it.
    *upstream_request.headers_mut() = without_hop_by_hop(parts.headers);

    let upstream_response = match shared.client.request(upstream_request).await {
        Ok(response) => response,
        Err(error) => {
            return fault::bad_gateway_response(service, &format!("upstream request failed: {error}"));
        }
    };
    let (mut response_parts, response_body) = upstream_response.into_parts();
    let response_body = match response_body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return fault::bad_gateway_response(service, &format!("upstream answer broke off: {error}"));
        }
    };
    // Content-Length stays: for HEAD it tells the object's size, not this empty body's.
    response_parts.headers = without_hop_by_hop(response_parts.headers);
    if shared.like_aws.load(Ordering::SeqCst)
        && let Some(answer) = shared.as_aws_would(call, response_parts.status.as_u16(), &response_body)
    {
        return answer;
    }
    Response::from_parts(response_parts, Full::new(response_body))
}

/// What AWS answers `GetPublicAccessBlock` with for a new bucket: every flag on.
const DEFAULT_PUBLIC_ACCESS_BLOCK: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
    <PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
    <BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>\
    <BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets>\
    </PublicAccessBlockConfiguration>";

impl Shared {
    /// Keeps track of new buckets' default public access block and, for a read of one that
    /// moto says has none, the answer AWS would give instead.
    fn as_aws_would(&self, call: &Call, status: u16, body: &Bytes) -> Option<Response<Full<Bytes>>> {
        let bucket = call.bucket.as_ref().filter(|_| call.service == "s3")?;
        let succeeded = (200..300).contains(&status);
        let mut blocked = self.blocked_by_default.lock().unwrap_or_else(PoisonError::into_inner);
        match call.operation.as_str() {
            "CreateBucket" if succeeded => {
                blocked.insert(bucket.clone());
            }
            "PutPublicAccessBlock" | "DeletePublicAccessBlock" | "DeleteBucket" if succeeded => {
                blocked.remove(bucket);
            }
            "GetPublicAccessBlock"
                if status == 404
                    && blocked.contains(bucket)
                    && String::from_utf8_lossy(body).contains("<Code>NoSuchPublicAccessBlockConfiguration</Code>") =>
            {
                let mut answer = Response::new(Full::new(Bytes::from_static(DEFAULT_PUBLIC_ACCESS_BLOCK.as_bytes())));
                answer.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/xml"));
                return Some(answer);
            }
            _ => {}
        }
        None
    }
}

/// Headers that describe one connection, not the message: hyper sets its own.
fn without_hop_by_hop(mut headers: HeaderMap) -> HeaderMap {
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers
}
