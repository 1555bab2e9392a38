//! `aws_iam_user_policy`: the uploader's inline policy. Its document is compared by meaning
//! (see `stowage_provider::policy`): IAM's URL-encoding and reordering are no change.

use stowage_provider::resource::Operations;
use stowage_provider::types::IamUserPolicy;
use stowage_provider::{
    Address, Applied, Attributes, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError,
    ReadRequest, UpdateRequest, encode, policy, required,
};

use crate::AwsProvider;
use crate::errors::classify;
use crate::errors::{absent_if_not_found, done_if_gone};

const IAM: &str = "iam";

/// `aws_iam_user_policy`'s operations.
pub(crate) struct UserPolicy;

impl Operations<AwsProvider> for UserPolicy {
    async fn read(aws: &AwsProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
        let known: IamUserPolicy = request.known();
        let from_attributes = known.user_name.as_deref().zip(known.policy_name.as_deref());
        let Some((user, policy_name)) = request.id.and_then(split_id).or(from_attributes) else { return Ok(None) };
        let output = aws.iam().get_user_policy().user_name(user).policy_name(policy_name).send().await;
        let Some(output) = absent_if_not_found(output.map_err(|error| classify(IAM, "GetUserPolicy", error)))? else {
            return Ok(None);
        };
        let document = policy::parse(output.policy_document()).map_err(|error| {
            ProviderError::new(ErrorKind::Internal, IAM, "GetUserPolicy", format!("policy `{policy_name}`: {error}"))
        })?;
        let observed = IamUserPolicy {
            user_name: Some(user.to_owned()),
            policy_name: Some(policy_name.to_owned()),
            document: Some(policy::canonical(&document)),
        };
        Ok(Some(Observed { id: id(user, policy_name), attributes: encode(&observed) }))
    }

    async fn create(aws: &AwsProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
        put(aws, request.address, request.attributes).await
    }

    async fn update(aws: &AwsProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
        put(aws, request.address, request.after).await
    }

    async fn delete(aws: &AwsProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
        let Some((user, policy_name)) = split_id(request.id) else {
            return Err(ProviderError::new(
                ErrorKind::Internal,
                IAM,
                "DeleteUserPolicy",
                format!("`{}` is not a policy id of the form USER:POLICY", request.id),
            ));
        };
        let result = aws.iam().delete_user_policy().user_name(user).policy_name(policy_name).send().await;
        done_if_gone(result.map_err(|error| classify(IAM, "DeleteUserPolicy", error)))
    }
}

/// The id of an inline policy: `USER:POLICY`.
fn id(user: &str, policy_name: &str) -> String {
    format!("{user}:{policy_name}")
}

fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once(':')
}

/// Create and update are the same call: `PutUserPolicy` replaces the document.
async fn put(aws: &AwsProvider, address: &Address, attributes: &Attributes) -> Result<Applied, ProviderError> {
    let mut wanted: IamUserPolicy = attributes.decode(address)?;
    let user = required(wanted.user_name.as_deref(), address, "user_name")?;
    let policy_name = required(wanted.policy_name.as_deref(), address, "policy_name")?;
    let document = wanted.document.as_ref().map(policy::canonical).unwrap_or_default();
    aws.iam()
        .put_user_policy()
        .user_name(user)
        .policy_name(policy_name)
        .policy_document(document.to_string())
        .send()
        .await
        .map_err(|error| classify(IAM, "PutUserPolicy", error))?;
    let id = id(user, policy_name);
    wanted.document = Some(document);
    Ok(Applied { id, attributes: encode(&wanted) })
}
