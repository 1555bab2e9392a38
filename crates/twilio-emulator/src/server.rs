//! The HTTP server: admin endpoints, and the pipeline every API request goes through
//! (route, fault, authenticate, concurrency limit, check against the OpenAPI documents,
//! handle, delay, record).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::accounts::{AccountError, Principal, Registry};
use crate::concurrency::{Concurrency, InFlight};
use crate::config::{ApiKeyKind, EmulatorConfig};
use crate::conformance::{Conformance, Parameters, RequestBody, RequestContracts};
use crate::control::{Control, FaultRule, RecordedRequest};
use crate::error::{EmulatorError, TwilioError};
use crate::openapi::TwilioOpenApi;
use crate::operation::{Operation, RouteError};
use crate::simulation::{AlertRequest, Backdate, MediaRequest, SimulationError};
use crate::store::Store;
use crate::write_test::WriteTester;
use crate::{accounts, alerts, credentials, dates, media, settings, simulation};

/// Far above any form these APIs take; keeps a runaway client from filling memory.
const MAX_BODY_BYTES: usize = 1024 * 1024;
const BODY_TOO_LARGE: &str = "The request body is larger than 1 MiB";

/// The emulator's shared state.
#[derive(Debug)]
pub(crate) struct Emulator {
    /// `http://IP:PORT`, used in every URL the API answers with.
    pub base_url: String,
    config: EmulatorConfig,
    contracts: RequestContracts,
    pub write_tester: WriteTester,
    store: Mutex<Store>,
    control: Mutex<Control>,
    accounts: Mutex<Registry>,
    pub concurrency: Concurrency,
}

impl Emulator {
    pub fn new(config: EmulatorConfig, base_url: String) -> Result<Self, EmulatorError> {
        let contracts = RequestContracts::compile(&TwilioOpenApi::load()?)?;
        Ok(Self {
            base_url,
            write_tester: WriteTester::new(config.s3_endpoint.clone()),
            accounts: Mutex::new(Registry::from_config(&config, dates::now())),
            concurrency: Concurrency::new(config.concurrency_limit),
            config,
            contracts,
            store: Mutex::default(),
            control: Mutex::default(),
        })
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves plain data behind, still usable.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every account and API key. Never held while the store or control lock is taken.
    pub fn accounts(&self) -> MutexGuard<'_, Registry> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a request authenticated as `caller` may make resources for `account`: its own,
    /// or one of its subaccounts that is not closed.
    pub fn may_act_for(&self, caller: &str, account: &str) -> bool {
        self.accounts().may_act_for(caller, account)
    }

    /// The account a simulation acts for: the one requested, which must exist and not be
    /// closed, or the first configured account.
    pub fn account_to_simulate_for(&self, requested: Option<&str>) -> Result<String, SimulationError> {
        let accounts = self.accounts();
        match requested {
            Some(sid) => match accounts.account(sid) {
                None => Err(SimulationError::UnknownAccount(sid.to_owned())),
                Some(account) if account.status == accounts::AccountStatus::Closed => {
                    Err(SimulationError::ClosedAccount(sid.to_owned()))
                }
                Some(_) => Ok(sid.to_owned()),
            },
            None => accounts.first().map(|account| account.sid.clone()).ok_or(SimulationError::NoAccount),
        }
    }

    /// Forgets every resource (media and alerts included), fault, the latency, the request log
    /// and the subaccounts and API keys made since the start: the accounts, API keys and
    /// concurrency limit are as configured again.
    pub fn reset(&self) {
        *self.store() = Store::default();
        *self.control() = Control::default();
        *self.accounts() = Registry::from_config(&self.config, dates::now());
        self.concurrency.set_limit(self.config.concurrency_limit);
    }

    /// Who an `Authorization: Basic` header authenticates as, by account SID and auth token
    /// or by API key SID and secret, if the account is active.
    fn authenticate(&self, headers: &HeaderMap) -> Option<Principal> {
        let encoded = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (user, password) = decoded.split_once(':')?;
        self.accounts().authenticate(user, password)
    }

    /// A place among the requests in flight of `account_sid`'s family, or `None` when its
    /// concurrency limit is reached.
    pub fn enter(&self, account_sid: &str) -> Option<InFlight<'_>> {
        let family = self.accounts().family_of(account_sid);
        self.concurrency.enter(&family)
    }
}

/// A successful API answer.
#[derive(Debug)]
pub(crate) struct ApiResponse {
    status: StatusCode,
    body: Option<Value>,
}

impl ApiResponse {
    pub fn ok(body: Value) -> Self {
        Self { status: StatusCode::OK, body: Some(body) }
    }

    pub fn created(body: Value) -> Self {
        Self { status: StatusCode::CREATED, body: Some(body) }
    }

    pub fn no_content() -> Self {
        Self { status: StatusCode::NO_CONTENT, body: None }
    }
}

impl IntoResponse for ApiResponse {
    fn into_response(self) -> Response {
        match self.body {
            Some(body) => (self.status, Json(body)).into_response(),
            None => self.status.into_response(),
        }
    }
}

pub(crate) fn router(emulator: Arc<Emulator>) -> Router {
    Router::new()
        .route("/__emulator/reset", post(reset))
        .route("/__emulator/requests", get(requests))
        .route("/__emulator/faults", post(add_fault).delete(clear_faults))
        .route("/__emulator/latency", post(set_latency))
        .route("/__emulator/media", post(simulate_media))
        .route("/__emulator/alerts", post(add_alerts))
        .route("/__emulator/backdate", post(backdate))
        .route("/__emulator/concurrency", get(concurrency).post(set_concurrency))
        .route("/__emulator/subaccounts", get(subaccounts).post(create_subaccount))
        .route("/__emulator/subaccounts/{sid}/close", post(close_subaccount))
        .route("/__emulator/api-keys", post(create_api_key))
        .fallback(serve_api)
        .with_state(emulator)
}

async fn reset(State(emulator): State<Arc<Emulator>>) -> StatusCode {
    emulator.reset();
    StatusCode::NO_CONTENT
}

async fn requests(State(emulator): State<Arc<Emulator>>) -> Json<Vec<RecordedRequest>> {
    Json(emulator.control().requests())
}

async fn add_fault(State(emulator): State<Arc<Emulator>>, Json(rule): Json<FaultRule>) -> Response {
    match emulator.control().add_fault(rule.clone()) {
        Ok(()) => (StatusCode::CREATED, Json(rule)).into_response(),
        Err(error) => (StatusCode::BAD_REQUEST, Json(json!({ "error": error.to_string() }))).into_response(),
    }
}

async fn clear_faults(State(emulator): State<Arc<Emulator>>) -> StatusCode {
    emulator.control().clear_faults();
    StatusCode::NO_CONTENT
}

/// The body of `POST /__emulator/latency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Latency {
    ms: u64,
}

async fn set_latency(State(emulator): State<Arc<Emulator>>, Json(latency): Json<Latency>) -> Json<Latency> {
    emulator.control().set_latency(Duration::from_millis(latency.ms));
    Json(latency)
}

/// An admin request's JSON body, or why it cannot be read (answered 400 `{"error": "..."}`).
fn admin_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, String> {
    body.map(|Json(body)| body).map_err(|rejection| rejection.body_text())
}

fn admin_error(status: StatusCode, error: impl Into<String>) -> Response {
    (status, Json(json!({ "error": error.into() }))).into_response()
}

fn simulation_error(error: &SimulationError) -> Response {
    let status = match error {
        SimulationError::S3Endpoint { .. } => StatusCode::BAD_GATEWAY,
        _ => StatusCode::BAD_REQUEST,
    };
    admin_error(status, error.to_string())
}

async fn simulate_media(
    State(emulator): State<Arc<Emulator>>,
    body: Result<Json<MediaRequest>, JsonRejection>,
) -> Response {
    let request = match admin_body(body) {
        Ok(request) => request,
        Err(refused) => return admin_error(StatusCode::BAD_REQUEST, refused),
    };
    match simulation::simulate_media(&emulator, &request).await {
        Ok(outcome) => Json(outcome).into_response(),
        Err(error) => simulation_error(&error),
    }
}

async fn add_alerts(
    State(emulator): State<Arc<Emulator>>,
    body: Result<Json<AlertRequest>, JsonRejection>,
) -> Response {
    let request = match admin_body(body) {
        Ok(request) => request,
        Err(refused) => return admin_error(StatusCode::BAD_REQUEST, refused),
    };
    match simulation::add_alerts(&emulator, &request) {
        Ok(added) => (StatusCode::CREATED, Json(added)).into_response(),
        Err(error) => simulation_error(&error),
    }
}

async fn backdate(State(emulator): State<Arc<Emulator>>, body: Result<Json<Backdate>, JsonRejection>) -> Response {
    match admin_body(body) {
        Ok(backdate) => {
            emulator.store().backdate(Duration::from_secs(backdate.seconds));
            Json(backdate).into_response()
        }
        Err(refused) => admin_error(StatusCode::BAD_REQUEST, refused),
    }
}

/// The body of `POST /__emulator/concurrency`, and the answer of both its methods (with
/// `throttled`: how many requests were answered 429 since the last reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct ConcurrencySettings {
    /// `null` or absent: no limit.
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default, skip_deserializing)]
    throttled: u64,
}

fn concurrency_settings(emulator: &Emulator) -> ConcurrencySettings {
    ConcurrencySettings { limit: emulator.concurrency.limit(), throttled: emulator.control().throttled() }
}

async fn concurrency(State(emulator): State<Arc<Emulator>>) -> Json<ConcurrencySettings> {
    Json(concurrency_settings(&emulator))
}

async fn set_concurrency(
    State(emulator): State<Arc<Emulator>>,
    body: Result<Json<ConcurrencySettings>, JsonRejection>,
) -> Response {
    match admin_body(body) {
        Ok(settings) => {
            emulator.concurrency.set_limit(settings.limit);
            Json(concurrency_settings(&emulator)).into_response()
        }
        Err(refused) => admin_error(StatusCode::BAD_REQUEST, refused),
    }
}

fn account_error(error: &AccountError) -> Response {
    let status = match error {
        AccountError::UnknownAccount(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    admin_error(status, error.to_string())
}

/// The body of `POST /__emulator/subaccounts`.
#[derive(Debug, Deserialize)]
struct NewSubaccount {
    owner_account_sid: String,
    #[serde(default)]
    friendly_name: Option<String>,
}

async fn create_subaccount(
    State(emulator): State<Arc<Emulator>>,
    body: Result<Json<NewSubaccount>, JsonRejection>,
) -> Response {
    let request = match admin_body(body) {
        Ok(request) => request,
        Err(refused) => return admin_error(StatusCode::BAD_REQUEST, refused),
    };
    match emulator.create_subaccount(&request.owner_account_sid, request.friendly_name.as_deref()) {
        Ok(subaccount) => (StatusCode::CREATED, Json(subaccount)).into_response(),
        Err(error) => account_error(&error),
    }
}

/// The query of `GET /__emulator/subaccounts`.
#[derive(Debug, Deserialize)]
struct SubaccountsOf {
    owner_account_sid: String,
}

async fn subaccounts(
    State(emulator): State<Arc<Emulator>>,
    query: Result<Query<SubaccountsOf>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match query {
        Ok(Query(query)) => Json(emulator.accounts().subaccounts(&query.owner_account_sid)).into_response(),
        Err(rejection) => admin_error(StatusCode::BAD_REQUEST, rejection.body_text()),
    }
}

async fn close_subaccount(State(emulator): State<Arc<Emulator>>, Path(sid): Path<String>) -> Response {
    match emulator.accounts().close_subaccount(&sid, dates::now()) {
        Ok(subaccount) => Json(subaccount).into_response(),
        Err(error) => account_error(&error),
    }
}

/// The body of `POST /__emulator/api-keys`.
#[derive(Debug, Deserialize)]
struct NewApiKey {
    account_sid: String,
    #[serde(default)]
    kind: ApiKeyKind,
}

async fn create_api_key(
    State(emulator): State<Arc<Emulator>>,
    body: Result<Json<NewApiKey>, JsonRejection>,
) -> Response {
    let request = match admin_body(body) {
        Ok(request) => request,
        Err(refused) => return admin_error(StatusCode::BAD_REQUEST, refused),
    };
    match emulator.accounts().create_api_key(&request.account_sid, request.kind) {
        Ok(api_key) => (StatusCode::CREATED, Json(api_key)).into_response(),
        Err(error) => account_error(&error),
    }
}

impl Emulator {
    /// A new subaccount of `owner_sid`, as `POST /2010-04-01/Accounts.json` makes one.
    pub fn create_subaccount(
        &self,
        owner_sid: &str,
        friendly_name: Option<&str>,
    ) -> Result<accounts::Subaccount, AccountError> {
        let account = self.accounts().create_subaccount(owner_sid, friendly_name, dates::now())?;
        Ok(account.subaccount().expect("a subaccount has an owner"))
    }
}

/// A request to the Twilio APIs, read in full.
struct ApiRequest {
    method: Method,
    path: String,
    headers: HeaderMap,
    query: Parameters,
    body: RequestBody,
}

impl ApiRequest {
    async fn read(request: Request) -> Result<Self, TwilioError> {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| TwilioError::invalid_parameter(BODY_TOO_LARGE))?;
        let query = parts.uri.query().map(|query| parse_pairs(query.as_bytes())).unwrap_or_default();
        Ok(Self {
            body: read_body(&parts.headers, &bytes),
            method: parts.method,
            path: parts.uri.path().to_owned(),
            headers: parts.headers,
            query,
        })
    }

    fn form(&self) -> &Parameters {
        static EMPTY: Parameters = Vec::new();
        match &self.body {
            RequestBody::Form(parameters) => parameters,
            RequestBody::Empty | RequestBody::Other => &EMPTY,
        }
    }
}

fn read_body(headers: &HeaderMap, bytes: &Bytes) -> RequestBody {
    if bytes.is_empty() {
        return RequestBody::Empty;
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if is_form { RequestBody::Form(parse_pairs(bytes)) } else { RequestBody::Other }
}

fn parse_pairs(text: &[u8]) -> Parameters {
    url::form_urlencoded::parse(text).into_owned().collect()
}

/// Every request outside `/__emulator`.
async fn serve_api(State(emulator): State<Arc<Emulator>>, request: Request) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let (outcome, record, in_flight) = match ApiRequest::read(request).await {
        Ok(request) => handle(&emulator, &request).await,
        Err(error) => (Err(error), Record::unreadable(), None),
    };
    // A throttled request is answered at once; the others take the latency, in flight.
    let latency = emulator.control().latency();
    if !latency.is_zero() && !record.throttled {
        tokio::time::sleep(latency).await;
    }
    let response = match outcome {
        Ok(answer) => answer.into_response(),
        Err(error) => error.into_response(),
    };
    let status = response.status().as_u16();
    tracing::info!(%method, %path, status, "answered");
    emulator.control().record(RecordedRequest {
        method,
        path,
        status,
        account_sid: record.account_sid,
        query_keys: record.query_keys,
        form_keys: record.form_keys,
        conforms: record.conformance.conforms(),
        violations: record.conformance.violations,
        fault: record.fault,
        throttled: record.throttled,
    });
    // Leaves the requests in flight before the answer goes out: a client that sends its next
    // request when it has this answer finds the place free.
    drop(in_flight);
    response
}

/// What the log keeps of a request besides method, path and status.
struct Record {
    account_sid: Option<String>,
    query_keys: Vec<String>,
    form_keys: Vec<String>,
    conformance: Conformance,
    fault: bool,
    throttled: bool,
}

impl Record {
    /// The record of a request whose body could not be read.
    fn unreadable() -> Self {
        Self {
            account_sid: None,
            query_keys: Vec::new(),
            form_keys: Vec::new(),
            conformance: Conformance::rejected(format!("form: {BODY_TOO_LARGE}")),
            fault: false,
            throttled: false,
        }
    }
}

/// The outcome of a request, what the log keeps of it, and its place among the requests in
/// flight, if it took one.
type Handled<'a> = (Result<ApiResponse, TwilioError>, Record, Option<InFlight<'a>>);

async fn handle<'a>(emulator: &'a Emulator, request: &ApiRequest) -> Handled<'a> {
    let keys = |parameters: &Parameters| parameters.iter().map(|(name, _)| name.clone()).collect();
    let route = Operation::route(&request.method, &request.path);
    let conformance = match &route {
        Ok(operation) => emulator.contracts.check(operation, &request.query, &request.body),
        Err(_) => Conformance::unknown_operation(&request.method, &request.path),
    };
    let mut record = Record {
        account_sid: None,
        query_keys: keys(&request.query),
        form_keys: keys(request.form()),
        conformance,
        fault: false,
        throttled: false,
    };
    // Faults come first: they stand for Twilio failing before it looks at the request.
    let fault = emulator.control().take_fault(request.method.as_str(), &request.path);
    if let Some(rule) = fault {
        record.fault = true;
        let status = StatusCode::from_u16(rule.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (Err(TwilioError::injected(status, rule.retry_after)), record, None);
    }
    let operation = match route {
        Ok(operation) => operation,
        Err(RouteError::NotFound) => return (Err(TwilioError::not_found(&request.path)), record, None),
        Err(RouteError::MethodNotAllowed) => {
            let error = TwilioError::method_not_allowed(request.method.as_str(), &request.path);
            return (Err(error), record, None);
        }
    };
    let Some(principal) = emulator.authenticate(&request.headers) else {
        return (Err(TwilioError::authentication_required()), record, None);
    };
    record.account_sid = Some(principal.account_sid.clone());
    let Some(in_flight) = emulator.enter(&principal.account_sid) else {
        record.throttled = true;
        return (Err(TwilioError::too_many_requests()), record, None);
    };
    if record.conformance.rejects_request {
        let message = format!("Invalid parameter: {}", record.conformance.violations.join("; "));
        return (Err(TwilioError::invalid_parameter(message)), record, Some(in_flight));
    }
    let outcome = dispatch(emulator, &principal, &operation, request).await;
    (outcome, record, Some(in_flight))
}

/// Every v1 operation acts as the authenticated account only: Twilio's v1 APIs (on their own
/// subdomains) take no account from the path, and a main account's credentials never reach a
/// subaccount's resources there.
async fn dispatch(
    emulator: &Emulator,
    principal: &Principal,
    operation: &Operation,
    request: &ApiRequest,
) -> Result<ApiResponse, TwilioError> {
    let account_sid = principal.account_sid.as_str();
    let path = &request.path;
    let form = request.form();
    // Page URLs name the address the client used, as Twilio's name its own host: a client
    // behind a proxy follows them through the proxy.
    let base = request
        .headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .map_or_else(|| emulator.base_url.clone(), |host| format!("http://{host}"));
    match operation {
        Operation::ListCredentials(kind) => credentials::list(emulator, &base, account_sid, *kind, &request.query),
        Operation::CreateCredential(kind) => credentials::create(emulator, account_sid, *kind, form),
        Operation::FetchCredential(kind, sid) => credentials::fetch(emulator, account_sid, *kind, sid, path),
        Operation::UpdateCredential(kind, sid) => credentials::update(emulator, account_sid, *kind, sid, path, form),
        Operation::DeleteCredential(kind, sid) => credentials::delete(emulator, account_sid, *kind, sid, path),
        Operation::FetchSettings(kind) => Ok(settings::fetch(emulator, account_sid, *kind)),
        Operation::UpdateSettings(kind) => settings::update(emulator, account_sid, *kind, form).await,
        Operation::ListMedia(kind) => media::list(emulator, &base, account_sid, *kind, &request.query),
        Operation::FetchMedia(kind, sid) => media::fetch(emulator, account_sid, *kind, sid, path),
        Operation::ListAlerts => alerts::list(emulator, &base, account_sid, &request.query),
        Operation::FetchAlert(sid) => alerts::fetch(emulator, account_sid, sid, path),
        Operation::ListAccounts => accounts::list(emulator, principal, &request.query),
        Operation::CreateAccount => accounts::create(emulator, principal, form),
        Operation::FetchAccount(sid) => accounts::fetch(emulator, principal, sid, path),
        Operation::UpdateAccount(sid) => accounts::update(emulator, principal, sid, path, form),
    }
}
