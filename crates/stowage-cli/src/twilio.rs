//! The Twilio provider, built from the Twilio settings (credentials and endpoints).

use miette::{Report, miette};
use std::time::Duration;

use stowage_twilio::{RetryPolicy, Timeouts, TwilioEndpoints, TwilioProvider};

use crate::settings::TwilioSettings;

/// `request_timeout` bounds each request (the CLI's `STOWAGE_REQUEST_TIMEOUT`); connecting
/// gets at most 5 seconds of it.
pub fn provider(request_timeout: Option<Duration>, settings: &TwilioSettings) -> Result<TwilioProvider, Report> {
    let auth = settings.auth.clone().map_err(|error| {
        miette!(help = "the spec has a `[twilio]` section, so stowage needs Twilio credentials", "{error}")
    })?;
    let endpoints = TwilioEndpoints::from_overrides(
        settings.accounts_url.as_deref(),
        settings.video_url.as_deref(),
        settings.monitor_url.as_deref(),
    )
    .and_then(|endpoints| endpoints.with_api_override(settings.api_url.as_deref()))
    .map_err(|error| miette!("{error}"))?;
    let timeouts = match request_timeout {
        Some(request) => Timeouts { connect: request.min(Timeouts::default().connect), request },
        None => Timeouts::default(),
    };
    TwilioProvider::connect_with_timeouts(auth, endpoints, RetryPolicy::default(), timeouts)
        .map_err(|error| miette!("{error}"))
}
