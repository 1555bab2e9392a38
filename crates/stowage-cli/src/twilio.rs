//! The Twilio provider, built from the process environment: credentials from
//! `TWILIO_API_KEY` + `TWILIO_API_SECRET` or `TWILIO_ACCOUNT_SID` + `TWILIO_AUTH_TOKEN`,
//! endpoints from `STOWAGE_TWILIO_ACCOUNTS_URL` and `STOWAGE_TWILIO_VIDEO_URL`.

use miette::{Report, miette};
use stowage_twilio::{RetryPolicy, TwilioAuth, TwilioEndpoints, TwilioProvider};

pub fn provider() -> Result<TwilioProvider, Report> {
    let lookup = |name: &str| std::env::var(name).ok();
    let auth = TwilioAuth::from_lookup(lookup).map_err(|error| {
        miette!(help = "the spec has a `[twilio]` section, so stowage needs Twilio credentials", "{error}")
    })?;
    let accounts = lookup("STOWAGE_TWILIO_ACCOUNTS_URL");
    let video = lookup("STOWAGE_TWILIO_VIDEO_URL");
    let endpoints =
        TwilioEndpoints::from_overrides(accounts.as_deref(), video.as_deref()).map_err(|error| miette!("{error}"))?;
    TwilioProvider::connect(auth, endpoints, RetryPolicy::default()).map_err(|error| miette!("{error}"))
}
