//! `aws_iam_access_key`: the key Twilio writes with. Its id goes to the state; its secret goes
//! only into the in-memory [`SecretHandoff`](stowage_provider::SecretHandoff), from which the
//! Twilio credential takes it in the same apply.

use aws_config::retry::RetryConfig;
use aws_sdk_iam::types::{AccessKeyMetadata, StatusType};
use serde_json::json;
use stowage_provider::{
    Applied, Attributes, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, NewAccessKey,
    Observed, ProviderError, ReadRequest, Secret, UpdateRequest,
};

use crate::errors::classify;
use crate::leftovers::made_by_the_intent;
use crate::write_test::{self, WriteTarget};
use crate::{AwsProvider, absent_if_not_found, done_if_gone};

const IAM: &str = "iam";

pub(crate) async fn read(aws: &AwsProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
    // Only a key stowage created can be used: its secret is unknowable afterwards.
    let Some(id) = request.id else { return Ok(None) };
    let Some(user) = request.attribute("user_name") else { return Ok(None) };
    let Some(keys) = list_keys(aws, user).await? else { return Ok(None) };
    let Some(key) = keys.iter().find(|key| key.access_key_id() == Some(id)) else { return Ok(None) };
    Ok(Some(Observed {
        id: id.to_owned(),
        attributes: Attributes::from([
            ("user_name".to_owned(), json!(user)),
            ("status".to_owned(), json!(key.status().map(StatusType::as_str))),
            ("access_key_id".to_owned(), json!(id)),
        ]),
    }))
}

/// The keys of `user`, or `None` when the user is gone (and its keys with it).
async fn list_keys(aws: &AwsProvider, user: &str) -> Result<Option<Vec<AccessKeyMetadata>>, ProviderError> {
    let mut keys = Vec::new();
    let mut pages = aws.iam().list_access_keys().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        // The user gone: it has no keys.
        let Some(page) = absent_if_not_found(page.map_err(|error| classify(IAM, "ListAccessKeys", error)))? else {
            return Ok(None);
        };
        keys.extend(page.access_key_metadata().to_vec());
    }
    Ok(Some(keys))
}

/// Keys an interrupted create left: the user's keys the state does not record, created since
/// the intent (less the clock skew). An access key carries no name or tag to mark it, but the
/// uploader is a user stowage made for Twilio alone, so an unrecorded key that appeared while
/// the create was under way is the one it made. Its secret is gone for good: it can only be
/// deleted, never adopted.
pub(crate) async fn find_leftovers(
    aws: &AwsProvider,
    request: LeftoverRequest<'_>,
) -> Result<Vec<Observed>, ProviderError> {
    let Some(user) = request.attributes.str("user_name") else { return Ok(Vec::new()) };
    let Some(keys) = list_keys(aws, user).await? else { return Ok(Vec::new()) };
    let leftovers = keys
        .iter()
        .filter_map(|key| {
            let id = key.access_key_id()?;
            let recent = made_by_the_intent(key.create_date(), &request);
            (recent && !request.known_ids.iter().any(|known| known == id)).then(|| Observed {
                id: id.to_owned(),
                attributes: Attributes::from([
                    ("user_name".to_owned(), json!(user)),
                    ("status".to_owned(), json!(key.status().map(StatusType::as_str))),
                    ("access_key_id".to_owned(), json!(id)),
                ]),
            })
        })
        .collect();
    Ok(leftovers)
}

pub(crate) async fn create(aws: &AwsProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
    let user = request.attributes.required_str(request.address, "user_name")?;
    // Sent once, never retried: an attempt that timed out may still have made a key, and a
    // retry would make a second one whose secret nobody keeps. The failure leaves the intent
    // in the state, and the next run deletes whatever the attempt made.
    let once = aws_sdk_iam::config::Builder::default().retry_config(RetryConfig::disabled());
    let output = aws.iam().create_access_key().user_name(user).customize().config_override(once).send().await.map_err(
        |error| {
            let error = classify(IAM, "CreateAccessKey", error);
            if error.code.as_deref() == Some("LimitExceeded") {
                error.with_hint(format!(
                    "IAM allows two access keys per user and `{user}` has two already: delete the one that is not \
                 in stowage's state (see `aws iam list-access-keys --user-name {user}`), then apply again"
                ))
            } else {
                error
            }
        },
    )?;
    let Some(key) = output.access_key() else {
        return Err(ProviderError::new(
            ErrorKind::Internal,
            IAM,
            "CreateAccessKey",
            "the response holds no access key",
        ));
    };
    let access_key_id = key.access_key_id().to_owned();
    let secret = Secret::new(key.secret_access_key());
    if let Some(target) = WriteTarget::from_attribute(request.attributes.get("write_test"))
        && let Err(error) = write_test::run(aws, &target, &access_key_id, &secret).await
    {
        // A key that cannot write where Twilio writes is of no use: delete it rather than
        // leave it behind, and never hand it to Twilio.
        if let Err(cleanup) = delete_key(aws, user, &access_key_id).await {
            tracing::warn!(access_key_id, %cleanup, "could not delete the access key that failed the write test");
        }
        return Err(error);
    }
    request.handoff.put(NewAccessKey { access_key_id: access_key_id.clone(), secret_access_key: secret });
    let mut attributes = request.attributes.clone();
    attributes.insert("access_key_id".to_owned(), json!(access_key_id));
    if request.attributes.str("status") == Some("Inactive") {
        set_status(aws, user, &access_key_id, "Inactive").await?;
    }
    Ok(Applied { id: access_key_id, attributes })
}

pub(crate) async fn update(aws: &AwsProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
    let user = request.after.required_str(request.address, "user_name")?;
    if request.changed.iter().any(|name| name == "status") {
        set_status(aws, user, request.id, request.after.str("status").unwrap_or("Active")).await?;
    }
    let mut attributes = request.after.clone();
    attributes.insert("access_key_id".to_owned(), json!(request.id));
    Ok(Applied { id: request.id.to_owned(), attributes })
}

async fn set_status(aws: &AwsProvider, user: &str, id: &str, status: &str) -> Result<(), ProviderError> {
    aws.iam()
        .update_access_key()
        .user_name(user)
        .access_key_id(id)
        .status(StatusType::from(status))
        .send()
        .await
        .map_err(|error| classify(IAM, "UpdateAccessKey", error))?;
    Ok(())
}

pub(crate) async fn delete(aws: &AwsProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
    let user = request.attributes.required_str(request.address, "user_name")?;
    delete_key(aws, user, request.id).await
}

async fn delete_key(aws: &AwsProvider, user: &str, id: &str) -> Result<(), ProviderError> {
    let result = aws.iam().delete_access_key().user_name(user).access_key_id(id).send().await;
    done_if_gone(result.map_err(|error| classify(IAM, "DeleteAccessKey", error)))
}
