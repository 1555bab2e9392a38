//! The Twilio provider, built from the process environment.

use std::sync::Arc;

use miette::{Report, miette};
use stowage_provider::Provider;

pub fn provider() -> Result<Arc<dyn Provider>, Report> {
    Err(miette!(
        help = "remove the `[twilio]`, `[recordings]` and `[compositions]` sections to manage only the AWS side",
        "this build of stowage does not manage Twilio resources yet"
    ))
}
