//! `aws_iam_user`: the uploader whose key Twilio writes with. Name, path and tags.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use serde_json::{Value, json};
use stowage_provider::{
    Applied, Attributes, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};

use crate::errors::{build_error, classify};
use crate::{AwsProvider, absent_if_not_found, done_if_gone};

const IAM: &str = "iam";

pub(crate) async fn read(aws: &AwsProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
    let Some(name) = request.id.or_else(|| request.attribute("name")) else { return Ok(None) };
    let output = aws.iam().get_user().user_name(name).send().await;
    let Some(output) = absent_if_not_found(output.map_err(|error| classify(IAM, "GetUser", error)))? else {
        return Ok(None);
    };
    let Some(user) = output.user() else { return Ok(None) };
    // GetUser includes the user's tags, so no ListUserTags call is needed.
    let tags: BTreeMap<&str, &str> = user.tags().iter().map(|tag| (tag.key(), tag.value())).collect();
    Ok(Some(Observed {
        id: user.user_name().to_owned(),
        attributes: Attributes::from([
            ("name".to_owned(), json!(user.user_name())),
            ("path".to_owned(), json!(user.path())),
            ("tags".to_owned(), json!(tags)),
            ("arn".to_owned(), json!(user.arn())),
            ("account_id".to_owned(), json!(account_of(user.arn()))),
        ]),
    }))
}

pub(crate) async fn create(aws: &AwsProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
    let attributes = request.attributes;
    let name = attributes.required_str(request.address, "name")?;
    let path = attributes.str("path").unwrap_or("/");
    let output = aws
        .iam()
        .create_user()
        .user_name(name)
        .path(path)
        .set_tags(Some(tags(attributes.get("tags"))?))
        .send()
        .await
        .map_err(|error| classify(IAM, "CreateUser", error))?;
    let mut applied = attributes.clone();
    if let Some(user) = output.user() {
        applied.insert("arn".to_owned(), json!(user.arn()));
        applied.insert("account_id".to_owned(), json!(account_of(user.arn())));
    }
    Ok(Applied { id: name.to_owned(), attributes: applied })
}

pub(crate) async fn update(aws: &AwsProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
    let iam = aws.iam();
    let name = request.id;
    let changed = |attribute: &str| request.changed.iter().any(|name| name == attribute);
    if changed("path") {
        let path = request.after.str("path").unwrap_or("/");
        iam.update_user()
            .user_name(name)
            .new_path(path)
            .send()
            .await
            .map_err(|error| classify(IAM, "UpdateUser", error))?;
    }
    if changed("tags") {
        let wanted = tags(request.after.get("tags"))?;
        let removed: Vec<String> = request
            .before
            .get("tags")
            .and_then(Value::as_object)
            .map(|before| {
                before.keys().filter(|key| !wanted.iter().any(|tag| tag.key() == key.as_str())).cloned().collect()
            })
            .unwrap_or_default();
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
    let mut applied = request.after.clone();
    for computed in ["arn", "account_id"] {
        if let Some(value) = request.before.get(computed) {
            applied.insert(computed.to_owned(), value.clone());
        }
    }
    // The ARN holds the path: what refers to it (a KMS key policy) is rendered from this.
    if changed("path")
        && let Some(arn) =
            request.before.str("arn").and_then(|arn| arn_with_path(arn, request.after.str("path")?, name))
    {
        applied.insert("arn".to_owned(), json!(arn));
    }
    Ok(Applied { id: name.to_owned(), attributes: applied })
}

/// A user's ARN with another path: `arn:P:iam::A:user/OLD/PATH/NAME` to `…:user/NEW/NAME`.
fn arn_with_path(arn: &str, path: &str, name: &str) -> Option<String> {
    let (prefix, _) = arn.split_once(":user/")?;
    Some(format!("{prefix}:user{path}{name}"))
}

pub(crate) async fn delete(aws: &AwsProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
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

fn tags(value: Option<&Value>) -> Result<Vec<Tag>, ProviderError> {
    let Some(object) = value.and_then(Value::as_object) else { return Ok(Vec::new()) };
    object
        .iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value.as_str().unwrap_or_default())
                .build()
                .map_err(|error| build_error(IAM, "TagUser", error))
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
