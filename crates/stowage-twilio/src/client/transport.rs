//! Sending one call: attempts and retries, reading the response, turning it into a value or
//! a [`TwilioError`], and following list pages.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use stowage_provider::network::{self, NetworkCause, NetworkFailure, REQUEST_TIMEOUT_SETTING};
use url::Url;

use super::error::{self, ApiError, Failure, TwilioError, Unanswered};
use super::limit::Signal;
use super::models::ListPage;
use super::operation::Operation;
use super::retry::{self, Tries};
use super::{TwilioApi, TwilioClient};

/// Far more than any page of 1000 credentials or alerts; protects memory from a runaway response.
const RESPONSE_LIMIT_BYTES: usize = 8 * 1024 * 1024;

/// An HTTP response, read whole.
struct Response {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl TwilioClient {
    /// Sends the call, retrying what is safe to retry, and decodes a 2xx response as `T`.
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        operation: Operation,
        url: &Url,
        form: Option<&str>,
    ) -> Result<T, TwilioError> {
        let response = self.send(operation, url, form).await?;
        decode(operation, response).map_err(|error| self.attributed(error))
    }

    /// A GET whose 404 means "no such thing" rather than an error.
    pub(super) async fn fetch_optional<T: DeserializeOwned>(
        &self,
        operation: Operation,
        url: &Url,
    ) -> Result<Option<T>, TwilioError> {
        let response = self.send(operation, url, None).await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        decode(operation, response).map(Some).map_err(|error| self.attributed(error))
    }

    /// A DELETE: `true` when it deleted something, `false` when it was already gone (404),
    /// which is also what a retry of a delete whose first answer was lost sees.
    pub(super) async fn delete(&self, operation: Operation, url: &Url) -> Result<bool, TwilioError> {
        let response = self.send(operation, url, None).await?;
        match response.status {
            StatusCode::NOT_FOUND => Ok(false),
            status if status.is_success() => Ok(true),
            _ => Err(self.attributed(error_response(operation, response))),
        }
    }

    /// Every item of a list, from its first page at `first` (the collection's URL with the
    /// query, `PageSize` included), following the next page's URL (`meta.next_page_url`, or the
    /// 2010 API's `next_page_uri`) until it is null. The next page's URL carries the query on:
    /// Twilio writes it.
    pub(super) async fn list<P: ListPage>(
        &self,
        operation: Operation,
        api: TwilioApi,
        first: Url,
    ) -> Result<Vec<P::Item>, TwilioError> {
        let mut url = first;
        let mut visited = HashSet::new();
        let mut items = Vec::new();
        loop {
            let page: P = self.call(operation, &url, None).await?;
            let (page_items, meta) = page.into_parts();
            items.extend(page_items);
            let next = match meta.next_page_url.as_deref() {
                None | Some("") => return Ok(items),
                Some(next) => next,
            };
            visited.insert(url.clone());
            url = self.next_page_url(operation, api, &url, next)?;
            if visited.contains(&url) {
                let reason = "it was visited already, so the pages would never end";
                return Err(self.attributed(unsafe_page_url(operation, &url, reason)));
            }
        }
    }

    /// Where the next page is, if it is on the endpoint this client was configured with: the
    /// request carries the credentials, so it must not go anywhere else.
    fn next_page_url(
        &self,
        operation: Operation,
        api: TwilioApi,
        current: &Url,
        next: &str,
    ) -> Result<Url, TwilioError> {
        self.endpoints.next_page(api, current, next).map_err(|reason| {
            let shown = current.join(next).map_or_else(|_| next.to_owned(), String::from);
            self.attributed(TwilioError::new(operation, Failure::UnsafePageUrl { url: shown, reason }))
        })
    }

    /// Sends the request until it succeeds, fails for good, or runs out of attempts, each
    /// attempt within the account's concurrency limit (none is held while waiting to retry).
    /// Any HTTP response is `Ok`; the caller decides what its status means.
    async fn send(&self, operation: Operation, url: &Url, form: Option<&str>) -> Result<Response, TwilioError> {
        let mut tries = Tries::default();
        let mut attempt = 1;
        loop {
            let permit = self.limit.acquire().await;
            self.calls.record(operation);
            let started = Instant::now();
            let outcome = self.attempt(operation, url, form).await;
            let elapsed_ms = milliseconds(started.elapsed());
            permit.finish(signal(&outcome));
            match &outcome {
                Ok(response) => tracing::debug!(
                    operation = operation.name(),
                    method = %operation.method(),
                    path = url.path(),
                    account = self.auth.username(),
                    status = response.status.as_u16(),
                    attempt,
                    elapsed_ms,
                    "twilio request"
                ),
                Err(error) => tracing::debug!(
                    operation = operation.name(),
                    method = %operation.method(),
                    path = url.path(),
                    account = self.auth.username(),
                    error = %error.failure(),
                    attempt,
                    elapsed_ms,
                    "twilio request failed"
                ),
            }
            let throttled = matches!(&outcome, Ok(response) if response.status == StatusCode::TOO_MANY_REQUESTS);
            if throttled {
                self.calls.record_throttled();
            }
            let Some(delay) = self.retry_delay(operation, &outcome, &mut tries) else {
                return outcome.map_err(|error| self.attributed(error));
            };
            tracing::debug!(
                operation = operation.name(),
                attempt,
                throttled,
                limit = self.limit.current(),
                delay_ms = milliseconds(delay),
                "retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// How long to wait before retrying, or `None` when the outcome must not be retried, or
    /// its kind of failure has used up its attempts.
    fn retry_delay(
        &self,
        operation: Operation,
        outcome: &Result<Response, TwilioError>,
        tries: &mut Tries,
    ) -> Option<Duration> {
        let mut random = rand::rng();
        match outcome {
            // Throttled: Twilio refused the request without acting on it, so even a create
            // may be sent again.
            Ok(response) if response.status == StatusCode::TOO_MANY_REQUESTS => {
                tries.after_throttling(&self.retry, response.retry_after, &mut random)
            }
            // A server error or a lost connection leaves unknown whether Twilio acted: only
            // a request that may be sent twice is sent again.
            Ok(response) if response.status.is_server_error() && operation.is_idempotent() => {
                tries.after_failure(&self.retry, &mut random)
            }
            Err(error) if error.network().is_some_and(|(network, _)| network.cause.lasts()) => None,
            Err(error)
                if operation.is_idempotent()
                    && matches!(
                        error.failure(),
                        Failure::Timeout { .. } | Failure::Connect { .. } | Failure::Transport { .. }
                    ) =>
            {
                tries.after_failure(&self.retry, &mut random)
            }
            _ => None,
        }
    }

    /// The error, naming the subaccount this client acts as, if it does.
    pub(super) fn attributed(&self, error: TwilioError) -> TwilioError {
        error.sent_as(self.subaccount.as_deref())
    }

    /// One request and its whole response.
    async fn attempt(&self, operation: Operation, url: &Url, form: Option<&str>) -> Result<Response, TwilioError> {
        let mut request = self
            .http
            .request(operation.method(), url.clone())
            .basic_auth(self.auth.username(), Some(self.auth.password().expose()))
            .header(ACCEPT, "application/json");
        if let Some(form) = form {
            request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(form.to_owned());
        }
        let transport_error = |source| TwilioError::new(operation, self.transport_failure(operation, url, source));
        let mut response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let retry_after = retry::retry_after(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > RESPONSE_LIMIT_BYTES {
                return Err(TwilioError::new(
                    operation,
                    Failure::ResponseTooLarge { url: url.to_string(), limit_bytes: RESPONSE_LIMIT_BYTES },
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, retry_after, body })
    }

    /// A request that got no answer, worded by the one classifier both providers share
    /// ([`stowage_provider::network`]); reqwest's whole error at debug level.
    fn transport_failure(&self, operation: Operation, url: &Url, source: reqwest::Error) -> Failure {
        tracing::debug!(url = %url, error = ?source, "twilio request got no answer");
        let https = url.scheme() == "https";
        let cause = if source.is_timeout() && source.is_connect() {
            NetworkCause::ConnectTimeout(self.timeouts.connect)
        } else if source.is_timeout() {
            NetworkCause::Timeout { limit: self.timeouts.request, setting: Some(REQUEST_TIMEOUT_SETTING) }
        } else {
            network::cause_of(&source, https, source.is_connect())
        };
        let (endpoint, host) = network::authority(url.as_str())
            .map_or_else(|| (url.to_string(), None), |(endpoint, host)| (endpoint, Some(host)));
        let network = NetworkFailure { endpoint, host, cause };
        let hint = network::hint(&network, self.endpoints.overridden(operation.api()));
        let why = Box::new(Unanswered { network, hint });
        let url = url.to_string();
        if source.is_timeout() {
            let while_connecting = source.is_connect();
            let limit = if while_connecting { self.timeouts.connect } else { self.timeouts.request };
            Failure::Timeout { url, limit, while_connecting, why, source }
        } else if why.network.cause.never_sent() {
            Failure::Connect { url, why, source }
        } else {
            Failure::Transport { url, why, source }
        }
    }
}

/// What an attempt's outcome says about the account's load: a 429 that it is over its
/// concurrency, any other answer below 500 that it had room; a server error or no answer,
/// nothing.
fn signal(outcome: &Result<Response, TwilioError>) -> Signal {
    match outcome {
        Ok(response) if response.status == StatusCode::TOO_MANY_REQUESTS => Signal::Throttled,
        Ok(response) if !response.status.is_server_error() => Signal::Answered,
        _ => Signal::Nothing,
    }
}

/// The value of a 2xx response, or the error of any other.
fn decode<T: DeserializeOwned>(operation: Operation, response: Response) -> Result<T, TwilioError> {
    if !response.status.is_success() {
        return Err(error_response(operation, response));
    }
    serde_json::from_slice(&response.body)
        .map_err(|source| TwilioError::new(operation, Failure::Decode { status: response.status.as_u16(), source }))
}

/// The error a non-2xx response stands for: Twilio's own error body when it sent one.
fn error_response(operation: Operation, response: Response) -> TwilioError {
    let status = response.status.as_u16();
    let failure = match serde_json::from_slice::<ApiError>(&response.body) {
        Ok(error) => Failure::Api { status, error },
        Err(_) => Failure::UnexpectedResponse { status, excerpt: error::excerpt(&response.body) },
    };
    TwilioError::new(operation, failure)
}

fn unsafe_page_url(operation: Operation, url: &Url, reason: &'static str) -> TwilioError {
    TwilioError::new(operation, Failure::UnsafePageUrl { url: url.to_string(), reason })
}

fn milliseconds(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
