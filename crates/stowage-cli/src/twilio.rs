//! The Twilio provider, built from the process environment: credentials from
//! `TWILIO_API_KEY` + `TWILIO_API_SECRET` or `TWILIO_ACCOUNT_SID` + `TWILIO_AUTH_TOKEN`,
//! endpoints from `STOWAGE_TWILIO_ACCOUNTS_URL` and `STOWAGE_TWILIO_VIDEO_URL`.

use miette::{Report, miette};
use std::time::Duration;

use stowage_twilio::{RetryPolicy, Timeouts, TwilioAuth, TwilioEndpoints, TwilioProvider};

/// `request_timeout` bounds each request (the CLI's `STOWAGE_REQUEST_TIMEOUT`); connecting
/// gets at most 5 seconds of it.
pub fn provider(request_timeout: Option<Duration>) -> Result<TwilioProvider, Report> {
    let lookup = |name: &str| std::env::var(name).ok();
    let auth = TwilioAuth::from_lookup(lookup).map_err(|error| {
        miette!(help = "the spec has a `[twilio]` section, so stowage needs Twilio credentials", "{error}")
    })?;
    let accounts = lookup("STOWAGE_TWILIO_ACCOUNTS_URL");
    let video = lookup("STOWAGE_TWILIO_VIDEO_URL");
    let endpoints =
        TwilioEndpoints::from_overrides(accounts.as_deref(), video.as_deref()).map_err(|error| miette!("{error}"))?;
    let timeouts = match request_timeout {
        Some(request) => Timeouts { connect: request.min(Timeouts::default().connect), request },
        None => Timeouts::default(),
    };
    TwilioProvider::connect_with_timeouts(auth, endpoints, RetryPolicy::default(), timeouts)
        .map_err(|error| miette!("{error}"))
}
