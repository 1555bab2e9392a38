//! `aws_kms_key`: the symmetric KMS key a bucket encrypts with (SSE-KMS, the only server-side
//! encryption Twilio supports), its alias `alias/stowage-ENV`, yearly rotation, and its key
//! policy.
//!
//! Deleting a key cannot be undone once done, and every object encrypted with it becomes
//! unreadable: so a delete only ever *schedules* deletion with the longest window AWS allows
//! (30 days, during which `aws kms cancel-key-deletion` brings it back), and is refused while
//! the bucket still encrypts with the key.

use aws_config::retry::RetryConfig;
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType, Tag};
use serde_json::Value;
use stowage_provider::resource::Operations;
use stowage_provider::types::KmsKey;
use stowage_provider::{
    Applied, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, Observed, ProviderError,
    ReadRequest, UpdateRequest, encode,
};
use tracing::warn;

use crate::AwsProvider;
use crate::errors::{absent_if_not_found, done_if_gone};
use crate::errors::{build_error, classify};
use crate::waiting::{Awaited, principal_not_yet_seen};

const KMS: &str = "kms";
/// The tag that carries the create's intent marker, so an interrupted apply's key is found.
const INTENT_TAG: &str = "stowage-intent";
/// The only key policy name KMS has.
const POLICY_NAME: &str = "default";
/// The longest waiting period AWS allows before a scheduled deletion happens.
pub(crate) const DELETION_WINDOW_DAYS: i32 = 30;

/// `aws_kms_key`'s operations.
pub(crate) struct Kms;

impl Operations<AwsProvider> for Kms {
    async fn read(aws: &AwsProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
        // By the id the state recorded, else by alias: a key with our alias that the state does not
        // record is reported, and the planner refuses to take it over.
        let known: KmsKey = request.known();
        let Some(lookup) = request.id.map(str::to_owned).or(known.alias) else {
            return Ok(None);
        };
        let kms = aws.kms();
        let described = kms.describe_key().key_id(&lookup).send().await;
        let Some(described) = absent_if_not_found(described.map_err(|error| classify(KMS, "DescribeKey", error)))?
        else {
            return Ok(None);
        };
        let Some(metadata) = described.key_metadata() else { return Ok(None) };
        observe(aws, metadata, &request).await
    }

    async fn create(aws: &AwsProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
        let mut wanted: KmsKey = request.attributes.decode(request.address)?;
        let kms = aws.kms();
        let mut create = kms
            .create_key()
            .key_usage(KeyUsageType::EncryptDecrypt)
            .key_spec(KeySpec::SymmetricDefault)
            .tags(tag("managed-by", "stowage")?);
        if let Some(marker) = request.marker {
            create = create.tags(tag(INTENT_TAG, marker)?);
        }
        if let Some(description) = &wanted.description {
            create = create.description(description);
        }
        // Without a policy, KMS gives the key its default one: the account (and through IAM its
        // administrators) in full control. A policy from the plan always keeps that statement.
        if let Some(policy) = wanted.policy.as_ref().filter(|policy| !policy.is_null()) {
            create = create.policy(policy.to_string());
        }
        // Each attempt is sent once, never retried by the SDK: an attempt that timed out may still
        // have made a key, and a retry would make a second one that nothing records (the intent is
        // cleared when the retry's key is). The failure leaves the intent, and the next run adopts
        // the key the attempt made. Waiting for the uploader to reach KMS retries only a refusal.
        let once = || aws_sdk_kms::config::Builder::default().retry_config(RetryConfig::disabled());
        let output = aws
            .waiting()
            .retry(Awaited::UserToKms, principal_not_yet_seen, || {
                let create = create.clone().customize().config_override(once());
                async move { create.send().await.map_err(|error| classify(KMS, "CreateKey", error)) }
            })
            .await?;
        let Some(metadata) = output.key_metadata() else {
            return Err(ProviderError::new(ErrorKind::Internal, KMS, "CreateKey", "the response has no key metadata"));
        };
        let key_id = metadata.key_id().to_owned();
        wanted.arn = metadata.arn().map(str::to_owned);

        if wanted.rotation_enabled == Some(true) {
            kms.enable_key_rotation()
                .key_id(&key_id)
                .send()
                .await
                .map_err(|error| classify(KMS, "EnableKeyRotation", error))?;
        }
        if let Some(alias) = &wanted.alias {
            kms.create_alias().alias_name(alias).target_key_id(&key_id).send().await.map_err(|error| {
                let error = classify(KMS, "CreateAlias", error);
                if error.kind == ErrorKind::Conflict {
                    error.with_hint(format!(
                    "another key already has `{alias}`: if it was made by an earlier stowage run whose state is lost, \
                     delete that alias (`aws kms delete-alias --alias-name {alias}`) and schedule its key for deletion"
                ))
                } else {
                    error
                }
            })?;
        }
        if wanted.enabled == Some(false) {
            kms.disable_key().key_id(&key_id).send().await.map_err(|error| classify(KMS, "DisableKey", error))?;
        }
        Ok(Applied { id: key_id, attributes: encode(&wanted) })
    }

    async fn update(aws: &AwsProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
        let kms = aws.kms();
        let key_id = request.id;
        let before: KmsKey = request.before.decode(request.address)?;
        let mut after: KmsKey = request.after.decode(request.address)?;
        let wants = |attribute: &str| request.changed.iter().any(|name| name == attribute);

        // Enable first: the other calls fail on a disabled key.
        if wants("enabled") && after.enabled == Some(true) {
            kms.enable_key().key_id(key_id).send().await.map_err(|error| classify(KMS, "EnableKey", error))?;
        }
        if wants("description") {
            kms.update_key_description()
                .key_id(key_id)
                .description(after.description.as_deref().unwrap_or_default())
                .send()
                .await
                .map_err(|error| classify(KMS, "UpdateKeyDescription", error))?;
        }
        if wants("policy")
            && let Some(policy) = after.policy.as_ref().filter(|policy| !policy.is_null())
        {
            let put = kms.put_key_policy().key_id(key_id).policy_name(POLICY_NAME).policy(policy.to_string());
            aws.waiting()
                .retry(Awaited::UserToKms, principal_not_yet_seen, || {
                    let put = put.clone();
                    async move { put.send().await.map_err(|error| classify(KMS, "PutKeyPolicy", error)) }
                })
                .await?;
        }
        if wants("rotation_enabled") {
            if after.rotation_enabled == Some(true) {
                let result = kms.enable_key_rotation().key_id(key_id).send().await;
                result.map_err(|error| classify(KMS, "EnableKeyRotation", error))?;
            } else {
                let result = kms.disable_key_rotation().key_id(key_id).send().await;
                result.map_err(|error| classify(KMS, "DisableKeyRotation", error))?;
            }
        }
        if wants("alias") {
            // Add the new name before dropping the old, so the key always has one.
            if let Some(alias) = &after.alias {
                let result = kms.create_alias().alias_name(alias).target_key_id(key_id).send().await;
                result.map_err(|error| classify(KMS, "CreateAlias", error))?;
            }
            if let Some(old) = before.alias.as_deref().filter(|old| Some(*old) != after.alias.as_deref()) {
                delete_alias(aws, old).await?;
            }
        }
        if wants("enabled") && after.enabled == Some(false) {
            kms.disable_key().key_id(key_id).send().await.map_err(|error| classify(KMS, "DisableKey", error))?;
        }
        after.arn = before.arn;
        Ok(Applied { id: key_id.to_owned(), attributes: encode(&after) })
    }

    /// Schedule the deletion (never an immediate one), after checking the bucket no longer uses
    /// the key; the alias goes at once, so a new key can take it.
    async fn delete(aws: &AwsProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
        let key_id = request.id;
        let key: KmsKey = request.attributes.decode(request.address)?;
        if let Some(bucket) = &key.bucket {
            let arn = key.arn.as_deref();
            // A bucket that is gone, or encrypts otherwise, no longer needs the key.
            let used = crate::bucket::encryption(aws, bucket).await?.key;
            if used.as_deref().is_some_and(|used| same_key(used, arn.unwrap_or(key_id))) {
                return Err(ProviderError::new(
                    ErrorKind::Conflict,
                    KMS,
                    "ScheduleKeyDeletion",
                    format!("bucket `{bucket}` still encrypts new objects with KMS key `{key_id}`"),
                )
                .with_hint(
                    "stowage deletes a key only after the bucket stops using it: apply again once the bucket's \
                 encryption changed",
                ));
            }
        }
        if let Some(alias) = &key.alias {
            delete_alias(aws, alias).await?;
        }
        let scheduled =
            aws.kms().schedule_key_deletion().key_id(key_id).pending_window_in_days(DELETION_WINDOW_DAYS).send().await;
        match scheduled {
            Ok(output) => {
                let when = output.deletion_date().map_or_else(
                    || format!("in {DELETION_WINDOW_DAYS} days"),
                    |date| {
                        format!("on {}", date.fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_default())
                    },
                );
                warn!(
                    "KMS key `{key_id}` is scheduled for deletion {when}; objects encrypted with it become unreadable then \
                 unless you cancel it (`aws kms cancel-key-deletion --key-id {key_id}`)"
                );
                Ok(())
            }
            Err(error) => {
                let error = classify(KMS, "ScheduleKeyDeletion", error);
                match error.kind {
                    // Gone, or already waiting for deletion: that is what delete wants.
                    ErrorKind::NotFound => Ok(()),
                    ErrorKind::Conflict if error.code.as_deref() == Some("KMSInvalidStateException") => Ok(()),
                    _ => Err(error),
                }
            }
        }
    }

    /// A key an interrupted apply created: tagged with the intent's marker, made since the
    /// intent, not pending deletion, and not recorded. It is adopted (the planner records it and
    /// then finishes its alias, rotation and policy), so no second key is made.
    async fn find_leftovers(aws: &AwsProvider, request: LeftoverRequest<'_>) -> Result<Vec<Observed>, ProviderError> {
        let Some(marker) = request.marker else { return Ok(Vec::new()) };
        let kms = aws.kms();
        let mut found = Vec::new();
        let mut pages = kms.list_keys().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| classify(KMS, "ListKeys", error))?;
            for key_id in page.keys().iter().filter_map(|key| key.key_id()) {
                if request.known_ids.iter().any(|known| known == key_id) {
                    continue;
                }
                let tags = kms.list_resource_tags().key_id(key_id).send().await;
                let Some(tags) = absent_if_not_found(tags.map_err(|error| classify(KMS, "ListResourceTags", error)))?
                else {
                    continue;
                };
                let tagged = tags.tags().iter().any(|tag| tag.tag_key() == INTENT_TAG && tag.tag_value() == marker);
                if !tagged {
                    continue;
                }
                let described = kms.describe_key().key_id(key_id).send().await;
                let described = described.map_err(|error| classify(KMS, "DescribeKey", error))?;
                let Some(metadata) = described.key_metadata() else { continue };
                if !crate::leftovers::made_by_the_intent(metadata.creation_date(), &request) {
                    continue;
                }
                let read_request = ReadRequest {
                    address: request.address,
                    id: Some(key_id),
                    desired: Some(request.attributes),
                    recorded: None,
                };
                found.extend(observe(aws, metadata, &read_request).await?);
            }
        }
        Ok(found)
    }
}

/// The rest of a read, once `DescribeKey` answered: rotation, policy and aliases at once.
/// A key waiting for deletion is, for stowage, already gone.
async fn observe(
    aws: &AwsProvider,
    metadata: &KeyMetadata,
    request: &ReadRequest<'_>,
) -> Result<Option<Observed>, ProviderError> {
    if matches!(metadata.key_state(), Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)) {
        return Ok(None);
    }
    let kms = aws.kms();
    let key_id = metadata.key_id().to_owned();
    let (rotation, policy, aliases) = tokio::try_join!(
        async {
            let output = kms.get_key_rotation_status().key_id(&key_id).send().await;
            let output = output.map_err(|error| classify(KMS, "GetKeyRotationStatus", error))?;
            Ok::<_, ProviderError>(output.key_rotation_enabled())
        },
        async {
            let output = kms.get_key_policy().key_id(&key_id).policy_name(POLICY_NAME).send().await;
            let output = output.map_err(|error| classify(KMS, "GetKeyPolicy", error))?;
            Ok(output.policy().and_then(|text| serde_json::from_str::<Value>(text).ok()).unwrap_or(Value::Null))
        },
        async {
            let output = kms.list_aliases().key_id(&key_id).send().await;
            let output = output.map_err(|error| classify(KMS, "ListAliases", error))?;
            let mut names: Vec<String> =
                output.aliases().iter().filter_map(|alias| alias.alias_name().map(str::to_owned)).collect();
            names.sort();
            Ok(names)
        },
    )?;
    let known: KmsKey = request.known();
    // The alias asked for if the key has it, else the first it has (or none).
    let alias = known.alias.filter(|wanted| aliases.contains(wanted)).or_else(|| aliases.first().cloned());
    let observed = KmsKey {
        region: Some(aws.region().to_owned()),
        description: Some(metadata.description().unwrap_or_default().to_owned()),
        alias,
        enabled: Some(metadata.key_state() == Some(&KeyState::Enabled)),
        rotation_enabled: Some(rotation),
        policy: Some(policy),
        bucket: known.bucket,
        arn: metadata.arn().map(str::to_owned),
    };
    Ok(Some(Observed { id: key_id, attributes: encode(&observed) }))
}

/// Whether two KMS key references name the same key: an ARN and the key id in it, or equal.
pub(crate) fn same_key(left: &str, right: &str) -> bool {
    let id = |reference: &str| reference.rsplit_once("key/").map_or(reference, |(_, id)| id).to_owned();
    left == right || id(left) == id(right)
}

async fn delete_alias(aws: &AwsProvider, alias: &str) -> Result<(), ProviderError> {
    let result = aws.kms().delete_alias().alias_name(alias).send().await;
    done_if_gone(result.map_err(|error| classify(KMS, "DeleteAlias", error)))
}

fn tag(key: &str, value: &str) -> Result<Tag, ProviderError> {
    Tag::builder().tag_key(key).tag_value(value).build().map_err(|error| build_error(KMS, "CreateKey", error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_the_same_by_arn_or_id() {
        let arn = "arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(same_key(arn, arn));
        assert!(same_key(arn, "1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(!same_key(arn, "arn:aws:kms:us-east-2:123456789012:key/ffffffff-12ab-34cd-56ef-1234567890ab"));
        assert!(!same_key(arn, "alias/stowage-dev"));
    }
}
