//! `aws_iam_user`: the uploader whose key Twilio writes with. Name, path and tags.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use stowage_provider::resource::Operations;
use stowage_provider::types::IamUser;
use stowage_provider::{
    Applied, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, Observed, ProviderError,
    ReadRequest, UpdateRequest, encode, encode_known, required,
};

use crate::AwsProvider;
use crate::errors::{absent_if_not_found, done_if_gone};
use crate::errors::{build_error, classify};
use crate::leftovers::made_by_the_intent;

const IAM: &str = "iam";

/// `aws_iam_user`'s operations.
pub(crate) struct User;

impl Operations<AwsProvider> for User {
    async fn read(aws: &AwsProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
        let known: IamUser = request.known();
        let Some(name) = request.id.or(known.name.as_deref()) else { return Ok(None) };
        let output = aws.iam().get_user().user_name(name).send().await;
        let Some(output) = absent_if_not_found(output.map_err(|error| classify(IAM, "GetUser", error)))? else {
            return Ok(None);
        };
        let Some(user) = output.user() else { return Ok(None) };
        // GetUser includes the user's tags, so no ListUserTags call is needed.
        let observed = IamUser {
            name: Some(user.user_name().to_owned()),
            path: Some(user.path().to_owned()),
            tags: Some(user.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect()),
            arn: Some(user.arn().to_owned()),
            account_id: account_of(user.arn()).map(str::to_owned),
        };
        Ok(Some(Observed { id: user.user_name().to_owned(), attributes: encode(&observed) }))
    }

    async fn create(aws: &AwsProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
        let mut user: IamUser = request.attributes.decode(request.address)?;
        let name = required(user.name.as_deref(), request.address, "name")?.to_owned();
        let output = aws
            .iam()
            .create_user()
            .user_name(&name)
            .path(user.path.as_deref().unwrap_or("/"))
            .set_tags(Some(tags(user.tags.as_ref())?))
            .send()
            .await
            .map_err(|error| classify(IAM, "CreateUser", error))?;
        if let Some(created) = output.user() {
            user.arn = Some(created.arn().to_owned());
            user.account_id = account_of(created.arn()).map(str::to_owned);
        }
        Ok(Applied { id: name, attributes: encode(&user) })
    }

    async fn update(aws: &AwsProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
        let iam = aws.iam();
        let name = request.id;
        let before: IamUser = request.before.decode(request.address)?;
        let mut after: IamUser = request.after.decode(request.address)?;
        let changed = |attribute: &str| request.changed.iter().any(|name| name == attribute);
        let path = after.path.clone().unwrap_or_else(|| "/".to_owned());
        if changed("path") {
            iam.update_user()
                .user_name(name)
                .new_path(&path)
                .send()
                .await
                .map_err(|error| classify(IAM, "UpdateUser", error))?;
        }
        if changed("tags") {
            let wanted = tags(after.tags.as_ref())?;
            let kept = after.tags.clone().unwrap_or_default();
            let removed: Vec<String> = before
                .tags
                .iter()
                .flatten()
                .map(|(key, _)| key)
                .filter(|key| !kept.contains_key(*key))
                .cloned()
                .collect();
            if !removed.is_empty() {
                iam.untag_user()
                    .user_name(name)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|error| classify(IAM, "UntagUser", error))?;
            }
            if !wanted.is_empty() {
                iam.tag_user()
                    .user_name(name)
                    .set_tags(Some(wanted))
                    .send()
                    .await
                    .map_err(|error| classify(IAM, "TagUser", error))?;
            }
        }
        after.account_id = before.account_id;
        // The ARN holds the path: what refers to it (a KMS key policy) is rendered from this.
        after.arn = match before.arn {
            Some(arn) if changed("path") => arn_with_path(&arn, &path, name).or(Some(arn)),
            arn => arn,
        };
        Ok(Applied { id: name.to_owned(), attributes: encode(&after) })
    }

    async fn delete(aws: &AwsProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
        let result = aws.iam().delete_user().user_name(request.id).send().await;
        done_if_gone(result.map_err(|error| classify(IAM, "DeleteUser", error))).map_err(|error| match error.kind {
            ErrorKind::Conflict => error.with_hint(format!(
                "IAM user `{}` still has access keys, policies or a login profile that stowage does not manage: \
             remove them, then apply again",
                request.id
            )),
            _ => error,
        })
    }
    /// What an interrupted create left: the user of the name the intent recorded, made while the
    /// create could have made it. Found again by name, it lost nothing with the create's answer,
    /// so the planner records it.
    async fn find_leftovers(aws: &AwsProvider, request: LeftoverRequest<'_>) -> Result<Vec<Observed>, ProviderError> {
        let sent: IamUser = request.attributes.decode(request.address)?;
        let Some(name) = sent.name.as_deref() else { return Ok(Vec::new()) };
        let output = aws.iam().get_user().user_name(name).send().await;
        let output = absent_if_not_found(output.map_err(|error| classify(IAM, "GetUser", error)))?;
        let Some(user) = output.and_then(|output| output.user) else { return Ok(Vec::new()) };
        let ours =
            made_by_the_intent(Some(user.create_date()), &request) && !request.known_ids.iter().any(|id| id == name);
        let found = IamUser { name: Some(name.to_owned()), ..IamUser::default() };
        Ok(ours.then(|| Observed { id: name.to_owned(), attributes: encode_known(&found) }).into_iter().collect())
    }
}

/// A user's ARN with another path: `arn:P:iam::A:user/OLD/PATH/NAME` to `…:user/NEW/NAME`.
fn arn_with_path(arn: &str, path: &str, name: &str) -> Option<String> {
    let (prefix, _) = arn.split_once(":user/")?;
    Some(format!("{prefix}:user{path}{name}"))
}

fn tags(tags: Option<&BTreeMap<String, String>>) -> Result<Vec<Tag>, ProviderError> {
    tags.into_iter()
        .flatten()
        .map(|(key, value)| {
            Tag::builder().key(key).value(value).build().map_err(|error| build_error(IAM, "TagUser", error))
        })
        .collect()
}

/// The account id in an ARN (`arn:aws:iam::123456789012:user/...`), if it has one.
pub(crate) fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| !account.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_path_is_a_new_arn() {
        let arn = "arn:aws:iam::123456789012:user/twilio/uploader";
        assert_eq!(
            arn_with_path(arn, "/twilio/video/", "uploader").as_deref(),
            Some("arn:aws:iam::123456789012:user/twilio/video/uploader")
        );
        assert_eq!(
            arn_with_path("arn:aws-us-gov:iam::123456789012:user/uploader", "/a/", "uploader").as_deref(),
            Some("arn:aws-us-gov:iam::123456789012:user/a/uploader")
        );
        assert_eq!(arn_with_path("not an arn", "/", "uploader"), None);
    }
}
