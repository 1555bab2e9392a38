//! `aws_iam_user_policy_attachment`: a managed policy attached to the uploader by hand (the
//! Twilio guide's way). stowage never attaches one: `import` lists them (`find_leftovers`,
//! with the user's name), and the delete that follows detaches it and then deletes the policy
//! unless something else uses it.
//!
//! IAM refuses to delete a managed policy that is attached to any user, group or role, or that
//! has versions besides its default (`DeleteConflict`, see
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html>): the delete
//! lists the policy's entities first, and deletes the other versions before the policy.

use aws_sdk_iam::types::AttachedPolicy;
use stowage_provider::resource::Operations;
use stowage_provider::types::IamUserPolicyAttachment;
use stowage_provider::{
    Applied, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, Observed, ProviderError,
    ReadRequest, UpdateRequest, encode,
};

use crate::AwsProvider;
use crate::errors::{absent_if_not_found, classify, done_if_gone};

const IAM: &str = "iam";

/// `aws_iam_user_policy_attachment`'s operations.
pub(crate) struct PolicyAttachment;

impl Operations<AwsProvider> for PolicyAttachment {
    async fn read(aws: &AwsProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
        let known: IamUserPolicyAttachment = request.known();
        let from_attributes = known.user_name.as_deref().zip(known.policy_arn.as_deref());
        let Some((user, arn)) = request.id.and_then(split_id).or(from_attributes) else { return Ok(None) };
        let Some(attached) = attached(aws, user).await? else { return Ok(None) };
        Ok(attached.iter().find(|policy| policy.policy_arn() == Some(arn)).and_then(|policy| observed(user, policy)))
    }

    async fn create(_: &AwsProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
        Err(never_made(&request.address.to_string(), "AttachUserPolicy"))
    }

    async fn update(_: &AwsProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
        Err(never_made(&request.address.to_string(), "AttachUserPolicy"))
    }

    async fn delete(aws: &AwsProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
        let Some((user, arn)) = split_id(request.id) else {
            return Err(ProviderError::new(
                ErrorKind::Internal,
                IAM,
                "DetachUserPolicy",
                format!("`{}` is not an attachment id of the form USER/POLICY_ARN", request.id),
            ));
        };
        let detached = aws.iam().detach_user_policy().user_name(user).policy_arn(arn).send().await;
        done_if_gone(detached.map_err(|error| classify(IAM, "DetachUserPolicy", error)))?;
        delete_policy_if_unused(aws, arn).await
    }

    /// Every managed policy attached to the user named in the request's attributes, less those
    /// the state records: how `import` finds them.
    async fn find_leftovers(aws: &AwsProvider, request: LeftoverRequest<'_>) -> Result<Vec<Observed>, ProviderError> {
        let wanted: IamUserPolicyAttachment = request.attributes.decode(request.address)?;
        let Some(user) = wanted.user_name.as_deref() else { return Ok(Vec::new()) };
        let Some(attached) = attached(aws, user).await? else { return Ok(Vec::new()) };
        Ok(attached
            .iter()
            .filter_map(|policy| observed(user, policy))
            .filter(|found| !request.known_ids.contains(&found.id))
            .collect())
    }
}

/// The id of an attachment: `USER/POLICY_ARN` (a user name has no `/`), as Terraform's.
fn id(user: &str, arn: &str) -> String {
    format!("{user}/{arn}")
}

fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
}

fn never_made(address: &str, operation: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::Internal,
        IAM,
        operation,
        format!("`{address}`: stowage never attaches managed policies, it only detaches those made by hand"),
    )
}

fn observed(user: &str, policy: &AttachedPolicy) -> Option<Observed> {
    let arn = policy.policy_arn()?;
    let attachment = IamUserPolicyAttachment {
        user_name: Some(user.to_owned()),
        policy_arn: Some(arn.to_owned()),
        policy_name: policy.policy_name().map(str::to_owned),
    };
    Some(Observed { id: id(user, arn), attributes: encode(&attachment) })
}

/// The managed policies attached to `user`, or `None` when the user is gone.
async fn attached(aws: &AwsProvider, user: &str) -> Result<Option<Vec<AttachedPolicy>>, ProviderError> {
    let mut policies = Vec::new();
    let mut pages = aws.iam().list_attached_user_policies().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| classify(IAM, "ListAttachedUserPolicies", error));
        let Some(page) = absent_if_not_found(page)? else { return Ok(None) };
        policies.extend(page.attached_policies().iter().cloned());
    }
    Ok(Some(policies))
}

/// Whether `arn` names a policy AWS manages (`arn:PARTITION:iam::aws:policy/...`): never ours
/// to delete.
fn aws_managed(arn: &str) -> bool {
    arn.split(':').nth(4) == Some("aws")
}

/// Deletes the customer managed policy `arn` (its other versions first) unless a user, group
/// or role still uses it. One gone already, or taken into use meanwhile, is left as it is.
async fn delete_policy_if_unused(aws: &AwsProvider, arn: &str) -> Result<(), ProviderError> {
    if aws_managed(arn) {
        return Ok(());
    }
    let mut pages = aws.iam().list_entities_for_policy().policy_arn(arn).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| classify(IAM, "ListEntitiesForPolicy", error));
        let Some(page) = absent_if_not_found(page)? else { return Ok(()) };
        if !page.policy_users().is_empty() || !page.policy_groups().is_empty() || !page.policy_roles().is_empty() {
            tracing::info!(policy = arn, "the managed policy is still used elsewhere: detached, not deleted");
            return Ok(());
        }
    }
    let mut versions = aws.iam().list_policy_versions().policy_arn(arn).into_paginator().send();
    let mut others = Vec::new();
    while let Some(page) = versions.next().await {
        let page = page.map_err(|error| classify(IAM, "ListPolicyVersions", error));
        let Some(page) = absent_if_not_found(page)? else { return Ok(()) };
        others.extend(
            page.versions()
                .iter()
                .filter(|version| !version.is_default_version())
                .filter_map(|version| version.version_id().map(str::to_owned)),
        );
    }
    for version in others {
        let deleted = aws.iam().delete_policy_version().policy_arn(arn).version_id(version).send().await;
        done_if_gone(deleted.map_err(|error| classify(IAM, "DeletePolicyVersion", error)))?;
    }
    let deleted = aws.iam().delete_policy().policy_arn(arn).send().await;
    match done_if_gone(deleted.map_err(|error| classify(IAM, "DeletePolicy", error))) {
        // Attached somewhere (or given a version) since the check: it is someone's now.
        Err(error) if error.kind == ErrorKind::Conflict => {
            tracing::info!(policy = arn, "the managed policy was taken into use meanwhile: detached, not deleted");
            Ok(())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_aws_manages_are_told_apart_from_the_accounts_own() {
        assert!(aws_managed("arn:aws:iam::aws:policy/AmazonS3FullAccess"));
        assert!(aws_managed("arn:aws-us-gov:iam::aws:policy/AmazonS3FullAccess"));
        assert!(!aws_managed("arn:aws:iam::123456789012:policy/twilio/stowage-twilio-video-upload"));
        assert_eq!(
            split_id("uploader/arn:aws:iam::123456789012:policy/a/b"),
            Some(("uploader", "arn:aws:iam::123456789012:policy/a/b"))
        );
    }
}
