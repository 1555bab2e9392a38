//! What tells an object an interrupted create left from someone's: when it was made. Each
//! type's file asks this of what it finds (see `Operations::find_leftovers`).

use std::time::{Duration, SystemTime};

use stowage_provider::LeftoverRequest;

/// How far AWS's clock may be behind this machine's.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// Whether `created` falls in the window the intents' creates could have made something in
/// (`request.since` to `request.until`, each widened by the clock skew): anything older or
/// younger is someone else's.
pub(crate) fn made_by_the_intent(created: Option<&aws_smithy_types::DateTime>, request: &LeftoverRequest<'_>) -> bool {
    let since = request.since.checked_sub(CLOCK_SKEW).unwrap_or(SystemTime::UNIX_EPOCH);
    let until = request.until.checked_add(CLOCK_SKEW).unwrap_or(request.until);
    // Without a creation time it cannot be told apart: better left alone than taken.
    created
        .and_then(|created| SystemTime::try_from(*created).ok())
        .is_some_and(|created| created >= since && created <= until)
}
