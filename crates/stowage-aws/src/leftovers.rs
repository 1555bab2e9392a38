//! What an interrupted create of a bucket or a user left: the object of the name the intent
//! recorded, made since the intent (less the clock skew). Both are found again by name and
//! lose nothing with the create's answer, so the planner records them (`adopt_leftovers`).
//! The creation time is what tells "made by that create" from "someone's, already there".

use std::time::{Duration, SystemTime};

use serde_json::json;
use stowage_provider::{Attributes, AttributesExt, LeftoverRequest, Observed, ProviderError};

use crate::errors::classify;
use crate::{AwsProvider, absent_if_not_found};

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

pub(crate) async fn bucket(aws: &AwsProvider, request: LeftoverRequest<'_>) -> Result<Vec<Observed>, ProviderError> {
    let Some(name) = request.attributes.str("name") else { return Ok(Vec::new()) };
    let mut buckets = aws.s3().list_buckets().into_paginator().send();
    while let Some(page) = buckets.next().await {
        let page = page.map_err(|error| classify("s3", "ListBuckets", error))?;
        let found = page.buckets().iter().find(|bucket| bucket.name() == Some(name));
        if let Some(bucket) = found {
            let ours =
                made_by_the_intent(bucket.creation_date(), &request) && !request.known_ids.iter().any(|id| id == name);
            return Ok(ours
                .then(|| Observed {
                    id: name.to_owned(),
                    attributes: Attributes::from([("name".to_owned(), json!(name))]),
                })
                .into_iter()
                .collect());
        }
    }
    Ok(Vec::new())
}

pub(crate) async fn user(aws: &AwsProvider, request: LeftoverRequest<'_>) -> Result<Vec<Observed>, ProviderError> {
    let Some(name) = request.attributes.str("name") else { return Ok(Vec::new()) };
    let output = aws.iam().get_user().user_name(name).send().await;
    let output = absent_if_not_found(output.map_err(|error| classify("iam", "GetUser", error)))?;
    let Some(user) = output.and_then(|output| output.user) else { return Ok(Vec::new()) };
    let ours = made_by_the_intent(Some(user.create_date()), &request) && !request.known_ids.iter().any(|id| id == name);
    Ok(ours
        .then(|| Observed { id: name.to_owned(), attributes: Attributes::from([("name".to_owned(), json!(name))]) })
        .into_iter()
        .collect())
}
