//! `aws_iam_user_policy`: the uploader's inline policy. Its document is compared by meaning
//! (see `stowage_provider::policy`): IAM's URL-encoding and reordering are no change.

use serde_json::json;
use stowage_provider::{
    Address, Applied, Attributes, AttributesExt, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest, policy,
};

use crate::errors::classify;
use crate::{AwsProvider, absent_if_not_found, done_if_gone};

const IAM: &str = "iam";

/// The id of an inline policy: `USER:POLICY`.
fn id(user: &str, policy_name: &str) -> String {
    format!("{user}:{policy_name}")
}

fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once(':')
}

pub(crate) async fn read(aws: &AwsProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
    let from_attributes = request.attribute("user_name").zip(request.attribute("policy_name"));
    let Some((user, policy_name)) = request.id.and_then(split_id).or(from_attributes) else { return Ok(None) };
    let output = aws.iam().get_user_policy().user_name(user).policy_name(policy_name).send().await;
    let Some(output) = absent_if_not_found(output.map_err(|error| classify(IAM, "GetUserPolicy", error)))? else {
        return Ok(None);
    };
    let document = policy::parse(output.policy_document()).map_err(|error| {
        ProviderError::new(ErrorKind::Internal, IAM, "GetUserPolicy", format!("policy `{policy_name}`: {error}"))
    })?;
    Ok(Some(Observed {
        id: id(user, policy_name),
        attributes: Attributes::from([
            ("user_name".to_owned(), json!(user)),
            ("policy_name".to_owned(), json!(policy_name)),
            ("document".to_owned(), policy::canonical(&document)),
        ]),
    }))
}

/// Create and update are the same call: `PutUserPolicy` replaces the document.
pub(crate) async fn put(
    aws: &AwsProvider,
    address: &Address,
    attributes: &Attributes,
) -> Result<Applied, ProviderError> {
    let user = attributes.required_str(address, "user_name")?;
    let policy_name = attributes.required_str(address, "policy_name")?;
    let document = attributes.get("document").map(policy::canonical).unwrap_or_default();
    aws.iam()
        .put_user_policy()
        .user_name(user)
        .policy_name(policy_name)
        .policy_document(document.to_string())
        .send()
        .await
        .map_err(|error| classify(IAM, "PutUserPolicy", error))?;
    let mut applied = attributes.clone();
    applied.insert("document".to_owned(), document);
    Ok(Applied { id: id(user, policy_name), attributes: applied })
}

pub(crate) async fn delete(aws: &AwsProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
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
