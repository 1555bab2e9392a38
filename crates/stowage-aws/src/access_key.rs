//! `aws_iam_access_key`: the key Twilio writes with. Its id goes to the state; its secret goes
//! only into the in-memory [`SecretHandoff`](stowage_provider::SecretHandoff), from which the
//! Twilio credential takes it in the same apply.

use aws_config::retry::RetryConfig;
use aws_sdk_iam::types::{AccessKeyMetadata, StatusType};
use stowage_provider::resource::Operations;
use stowage_provider::types::IamAccessKey;
use stowage_provider::{
    Applied, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, NewAccessKey, Observed,
    ProviderError, ReadRequest, Secret, UpdateRequest, encode, required,
};

use crate::AwsProvider;
use crate::errors::classify;
use crate::errors::{absent_if_not_found, done_if_gone};
use crate::leftovers::made_by_the_intent;
use crate::write_test::{self, WriteTarget};

const IAM: &str = "iam";

/// `aws_iam_access_key`'s operations.
pub(crate) struct AccessKey;

impl Operations<AwsProvider> for AccessKey {
    async fn read(aws: &AwsProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
        // Only a key stowage created can be used: its secret is unknowable afterwards.
        let Some(id) = request.id else { return Ok(None) };
        let known: IamAccessKey = request.known();
        let Some(user) = known.user_name.as_deref() else { return Ok(None) };
        let Some(keys) = list_keys(aws, user).await? else { return Ok(None) };
        Ok(keys.iter().find(|key| key.access_key_id() == Some(id)).and_then(|key| observed(user, key)))
    }

    async fn create(aws: &AwsProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
        let mut wanted: IamAccessKey = request.attributes.decode(request.address)?;
        let user = required(wanted.user_name.as_deref(), request.address, "user_name")?;
        // Sent once, never retried: an attempt that timed out may still have made a key, and a
        // retry would make a second one whose secret nobody keeps. The failure leaves the intent
        // in the state, and the next run deletes whatever the attempt made.
        let once = aws_sdk_iam::config::Builder::default().retry_config(RetryConfig::disabled());
        let output =
            aws.iam().create_access_key().user_name(user).customize().config_override(once).send().await.map_err(
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
        if let Some(target) = WriteTarget::from_attribute(wanted.write_test.as_ref())
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
        if wanted.status.as_deref() == Some("Inactive") {
            set_status(aws, user, &access_key_id, "Inactive").await?;
        }
        wanted.access_key_id = Some(access_key_id.clone());
        wanted.created_at = key.create_date().and_then(rfc_3339);
        Ok(Applied { id: access_key_id, attributes: encode(&wanted) })
    }

    async fn update(aws: &AwsProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
        let mut wanted: IamAccessKey = request.after.decode(request.address)?;
        let user = required(wanted.user_name.as_deref(), request.address, "user_name")?;
        if request.changed.iter().any(|name| name == "status") {
            set_status(aws, user, request.id, wanted.status.as_deref().unwrap_or("Active")).await?;
        }
        wanted.access_key_id = Some(request.id.to_owned());
        wanted.created_at = request.before.str("created_at").map(str::to_owned);
        Ok(Applied { id: request.id.to_owned(), attributes: encode(&wanted) })
    }

    async fn delete(aws: &AwsProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
        let key: IamAccessKey = request.attributes.decode(request.address)?;
        delete_key(aws, required(key.user_name.as_deref(), request.address, "user_name")?, request.id).await
    }

    /// Keys an interrupted create left: the user's keys the state does not record, created since
    /// the intent (less the clock skew). An access key carries no name or tag to mark it, but the
    /// uploader is a user stowage made for Twilio alone, so an unrecorded key that appeared while
    /// the create was under way is the one it made. Its secret is gone for good: it can only be
    /// deleted, never adopted.
    async fn find_leftovers(aws: &AwsProvider, request: LeftoverRequest<'_>) -> Result<Vec<Observed>, ProviderError> {
        let sent: IamAccessKey = request.attributes.decode(request.address)?;
        let Some(user) = sent.user_name.as_deref() else { return Ok(Vec::new()) };
        let Some(keys) = list_keys(aws, user).await? else { return Ok(Vec::new()) };
        let leftovers = keys
            .iter()
            .filter(|key| made_by_the_intent(key.create_date(), &request))
            .filter_map(|key| observed(user, key))
            .filter(|key| !request.known_ids.contains(&key.id))
            .collect();
        Ok(leftovers)
    }
}

/// A key as a read reports it.
fn observed(user: &str, key: &AccessKeyMetadata) -> Option<Observed> {
    let id = key.access_key_id()?;
    let observed = IamAccessKey {
        user_name: Some(user.to_owned()),
        status: key.status().map(|status| status.as_str().to_owned()),
        write_test: None,
        rotate_after_days: None,
        access_key_id: Some(id.to_owned()),
        created_at: key.create_date().and_then(rfc_3339),
    };
    Some(Observed { id: id.to_owned(), attributes: encode(&observed) })
}

/// A creation date as the state records it: RFC 3339, in UTC.
fn rfc_3339(date: &aws_smithy_types::DateTime) -> Option<String> {
    date.fmt(aws_smithy_types::date_time::Format::DateTime).ok()
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

async fn delete_key(aws: &AwsProvider, user: &str, id: &str) -> Result<(), ProviderError> {
    let result = aws.iam().delete_access_key().user_name(user).access_key_id(id).send().await;
    done_if_gone(result.map_err(|error| classify(IAM, "DeleteAccessKey", error)))
}
