//! What a person already set up by hand, found for `stowage init --from-existing`: the bucket
//! as the resource reads it, the SSE-KMS key it names, and the IAM users whose policies let them
//! write where Twilio stores. Reads only: `Get*`, `List*`, `HeadBucket` and `DescribeKey`.
//!
//! One read path: the bucket is [`crate::bucket`]'s own read, policy documents are parsed by
//! `stowage_provider::policy` and judged by `stowage_provider::evaluate`, so what init writes is
//! what `import` and `plan` will read.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;
use stowage_provider::evaluate::{Decision, evaluate};
use stowage_provider::resource::Operations;
use stowage_provider::types::S3Bucket;
use stowage_provider::{Address, AttributesExt, ProviderError, ReadRequest, ResourceType, policy};

use crate::AwsProvider;
use crate::bucket::Bucket;
use crate::errors::{absent_if_not_found, classify};

const IAM: &str = "iam";
/// Users examined at the same time: each takes a few IAM reads.
const CONCURRENT_USERS: usize = 8;

/// The bucket `name` as `aws_s3_bucket` reads it (versioning, public access block, lifecycle,
/// tags, default encryption, region), or `None` when there is no such bucket.
///
/// # Errors
/// A read refused or failed; a bucket in another region than the provider's is a
/// `Conflict` naming the region.
pub async fn bucket(aws: &AwsProvider, name: &str) -> Result<Option<S3Bucket>, ProviderError> {
    let address = Address::new(ResourceType::S3Bucket, "main");
    let request = ReadRequest { address: &address, id: Some(name), desired: None, recorded: None };
    let Some(observed) = Bucket::read(aws, request).await? else { return Ok(None) };
    observed.attributes.decode(&address).map(Some)
}

/// The ARN of the KMS key `key` (a key id, alias or ARN, as a bucket's default encryption may
/// name it), or `None` when KMS knows no such key.
///
/// # Errors
/// `DescribeKey` refused or failed.
pub async fn kms_key_arn(aws: &AwsProvider, key: &str) -> Result<Option<String>, ProviderError> {
    let output = aws.kms().describe_key().key_id(key).send().await;
    let output = absent_if_not_found(output.map_err(|error| classify("kms", "DescribeKey", error)))?;
    Ok(output.and_then(|output| output.key_metadata().and_then(|metadata| metadata.arn().map(str::to_owned))))
}

/// An IAM user whose policies allow `s3:PutObject` under every prefix asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploader {
    pub user_name: String,
    pub path: String,
    /// The policies that allow it: "inline policy `NAME`", "managed policy `NAME`".
    pub allowed_by: Vec<String>,
    /// How many access keys the user has (one that has none is not what Twilio writes with).
    pub access_keys: usize,
}

/// What the search for the uploader found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploaderSearch {
    /// Users whose policies allow the upload, by name.
    pub found: Vec<Uploader>,
    /// Users for whom it could not be decided (a `Condition`, a policy that could not be
    /// parsed), with why.
    pub undetermined: Vec<(String, String)>,
    /// How many users were examined.
    pub users: usize,
}

/// The IAM users whose inline and attached managed policies (each at its default version)
/// allow `s3:PutObject` on a key under every one of `prefixes` in `bucket`, judged by
/// `stowage_provider::evaluate`. Groups, permissions boundaries and the bucket's own policy are
/// not considered.
///
/// # Errors
/// A listing or read refused or failed.
pub async fn uploaders(
    aws: &AwsProvider,
    partition: &str,
    bucket: &str,
    prefixes: &[String],
) -> Result<UploaderSearch, ProviderError> {
    let users = list_users(aws).await?;
    let objects: Vec<String> = prefixes
        .iter()
        .map(|prefix| format!("arn:{partition}:s3:::{bucket}/{prefix}twilio-storage-test.txt"))
        .collect();
    // Each user's policies; a managed policy attached to many users is read once.
    let policies: Vec<UserPolicies> = futures::stream::iter(users.iter().map(|user| user_policies(aws, user)))
        .buffered(CONCURRENT_USERS)
        .try_collect()
        .await?;
    let managed: BTreeSet<&(String, String)> = policies.iter().flat_map(|user| &user.attached).collect();
    let documents: BTreeMap<String, Result<Value, String>> = futures::stream::iter(
        managed
            .into_iter()
            .map(|(arn, _)| async move { managed_document(aws, arn).await.map(|document| (arn.clone(), document)) }),
    )
    .buffered(CONCURRENT_USERS)
    .try_collect()
    .await?;

    let mut search = UploaderSearch { users: users.len(), ..UploaderSearch::default() };
    for (user, policies) in users.iter().zip(policies) {
        let mut judged: Vec<(String, Result<Value, String>)> =
            policies.inline.into_iter().map(|(name, document)| (format!("inline policy `{name}`"), document)).collect();
        for (arn, name) in &policies.attached {
            let document = documents.get(arn).cloned().unwrap_or_else(|| Err("not read".to_owned()));
            judged.push((format!("managed policy `{name}`"), document));
        }
        match may_write(&judged, &objects) {
            Verdict::Allowed(allowed_by) => {
                let access_keys = access_keys(aws, &user.name).await?;
                search.found.push(Uploader {
                    user_name: user.name.clone(),
                    path: user.path.clone(),
                    allowed_by,
                    access_keys,
                });
            }
            Verdict::Undetermined(why) => search.undetermined.push((user.name.clone(), why)),
            Verdict::Denied => {}
        }
    }
    Ok(search)
}

/// Whether a user with these policies may put every one of `objects`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// By these policies.
    Allowed(Vec<String>),
    Denied,
    Undetermined(String),
}

/// IAM's rule over one identity's policies: an explicit deny anywhere wins, else an allow
/// anywhere allows. A policy that cannot be judged leaves the answer undetermined unless
/// another denies it outright; so does an allow beside a policy that could not be read.
fn may_write(policies: &[(String, Result<Value, String>)], objects: &[String]) -> Verdict {
    let mut allowed_by = BTreeSet::new();
    for object in objects {
        let mut allowed = Vec::new();
        let mut undetermined = None;
        for (label, document) in policies {
            let decision = match document {
                Ok(document) => evaluate(document, "s3:PutObject", object),
                Err(why) => Decision::Undetermined(why.clone()),
            };
            match decision {
                Decision::ExplicitlyDenied => return Verdict::Denied,
                Decision::Allowed => allowed.push(label.clone()),
                Decision::ImplicitlyDenied => {}
                Decision::Undetermined(why) => {
                    undetermined.get_or_insert_with(|| format!("{label}: {why}"));
                }
            }
        }
        match (allowed.is_empty(), undetermined) {
            (_, Some(why)) => return Verdict::Undetermined(why),
            (true, None) => return Verdict::Denied,
            (false, None) => allowed_by.extend(allowed),
        }
    }
    if objects.is_empty() { Verdict::Denied } else { Verdict::Allowed(allowed_by.into_iter().collect()) }
}

struct IamUser {
    name: String,
    path: String,
}

/// A user's inline documents (by name) and attached managed policies (ARN, name).
struct UserPolicies {
    inline: Vec<(String, Result<Value, String>)>,
    attached: Vec<(String, String)>,
}

async fn list_users(aws: &AwsProvider) -> Result<Vec<IamUser>, ProviderError> {
    let mut users = Vec::new();
    let mut pages = aws.iam().list_users().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| classify(IAM, "ListUsers", error))?;
        users.extend(
            page.users().iter().map(|user| IamUser { name: user.user_name().to_owned(), path: user.path().to_owned() }),
        );
    }
    users.sort_by(|left, right| left.name.cmp(&right.name));
    Ok(users)
}

async fn user_policies(aws: &AwsProvider, user: &IamUser) -> Result<UserPolicies, ProviderError> {
    let mut names = Vec::new();
    let mut pages = aws.iam().list_user_policies().user_name(&user.name).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = absent_if_not_found(page.map_err(|error| classify(IAM, "ListUserPolicies", error)))?;
        names.extend(page.map(|page| page.policy_names().to_vec()).unwrap_or_default());
    }
    let mut inline = Vec::new();
    for name in names {
        let output = aws.iam().get_user_policy().user_name(&user.name).policy_name(&name).send().await;
        let output = absent_if_not_found(output.map_err(|error| classify(IAM, "GetUserPolicy", error)))?;
        if let Some(output) = output {
            inline.push((name, policy::parse(output.policy_document()).map_err(|error| error.to_string())));
        }
    }
    let mut attached = Vec::new();
    let mut pages = aws.iam().list_attached_user_policies().user_name(&user.name).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = absent_if_not_found(page.map_err(|error| classify(IAM, "ListAttachedUserPolicies", error)))?;
        let policies = page.map(|page| page.attached_policies().to_vec()).unwrap_or_default();
        attached.extend(policies.iter().filter_map(|policy| {
            let arn = policy.policy_arn()?.to_owned();
            let name = policy.policy_name().map_or_else(|| arn.clone(), str::to_owned);
            Some((arn, name))
        }));
    }
    Ok(UserPolicies { inline, attached })
}

/// A managed policy's default version, parsed; `Err` says why it cannot be judged.
async fn managed_document(aws: &AwsProvider, arn: &str) -> Result<Result<Value, String>, ProviderError> {
    let output = aws.iam().get_policy().policy_arn(arn).send().await;
    let output = absent_if_not_found(output.map_err(|error| classify(IAM, "GetPolicy", error)))?;
    let Some(version) =
        output.as_ref().and_then(|output| output.policy()).and_then(|policy| policy.default_version_id())
    else {
        return Ok(Err("the policy or its default version is gone".to_owned()));
    };
    let output = aws.iam().get_policy_version().policy_arn(arn).version_id(version).send().await;
    let output = absent_if_not_found(output.map_err(|error| classify(IAM, "GetPolicyVersion", error)))?;
    let Some(document) =
        output.as_ref().and_then(|output| output.policy_version()).and_then(|version| version.document())
    else {
        return Ok(Err(format!("version {version} has no document")));
    };
    Ok(policy::parse(document).map_err(|error| error.to_string()))
}

async fn access_keys(aws: &AwsProvider, user: &str) -> Result<usize, ProviderError> {
    let mut count = 0;
    let mut pages = aws.iam().list_access_keys().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = absent_if_not_found(page.map_err(|error| classify(IAM, "ListAccessKeys", error)))?;
        count += page.map_or(0, |page| page.access_key_metadata().len());
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const RECORDINGS: &str = "arn:aws:s3:::b/recordings/twilio-storage-test.txt";
    const COMPOSITIONS: &str = "arn:aws:s3:::b/compositions/twilio-storage-test.txt";

    fn guide() -> Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "UploadUserDenyEverything", "Effect": "Deny", "NotAction": "*", "Resource": "*"},
            {"Sid": "UploadUserAllowPutObject", "Effect": "Allow", "Action": ["s3:PutObject"],
             "Resource": ["arn:aws:s3:::b/recordings/*", "arn:aws:s3:::b/compositions/*"]}
        ]})
    }

    fn labelled(policies: &[(&str, Value)]) -> Vec<(String, Result<Value, String>)> {
        policies.iter().map(|(label, document)| ((*label).to_owned(), Ok(document.clone()))).collect()
    }

    #[test]
    fn the_guides_template_allows_both_prefixes() {
        let verdict = may_write(
            &labelled(&[("managed policy `upload`", guide())]),
            &[RECORDINGS.to_owned(), COMPOSITIONS.to_owned()],
        );
        assert_eq!(verdict, Verdict::Allowed(vec!["managed policy `upload`".to_owned()]));
    }

    #[test]
    fn every_prefix_must_be_allowed() {
        let recordings_only = json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/recordings/*"}]});
        let verdict =
            may_write(&labelled(&[("p", recordings_only)]), &[RECORDINGS.to_owned(), COMPOSITIONS.to_owned()]);
        assert_eq!(verdict, Verdict::Denied);
    }

    #[test]
    fn an_explicit_deny_anywhere_wins() {
        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]});
        assert_eq!(may_write(&labelled(&[("a", guide()), ("d", deny)]), &[RECORDINGS.to_owned()]), Verdict::Denied);
    }

    #[test]
    fn a_condition_or_an_unreadable_policy_is_undetermined_never_a_guess() {
        let conditional = json!({"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]});
        let verdict = may_write(&labelled(&[("c", conditional)]), &[RECORDINGS.to_owned()]);
        assert!(matches!(verdict, Verdict::Undetermined(ref why) if why.contains("Condition")), "{verdict:?}");
        let unreadable = vec![("a".to_owned(), Ok(guide())), ("u".to_owned(), Err("not JSON".to_owned()))];
        assert!(matches!(may_write(&unreadable, &[RECORDINGS.to_owned()]), Verdict::Undetermined(_)));
    }

    #[test]
    fn no_policy_is_no_permission() {
        assert_eq!(may_write(&[], &[RECORDINGS.to_owned()]), Verdict::Denied);
        assert_eq!(may_write(&labelled(&[("a", guide())]), &[]), Verdict::Denied);
    }
}
