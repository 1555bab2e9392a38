//! `aws_s3_bucket`: region, public access block, versioning, lifecycle rules, tags, and object
//! ownership `BucketOwnerEnforced` (ACLs off).
//!
//! Also its default encryption: SSE-KMS with a key and S3 Bucket Keys, or S3's own default.
//!
//! A read makes one `HeadBucket`, then reads the six configurations at the same time. Writes go
//! one at a time: S3 refuses concurrent configuration writes on one bucket.

use std::collections::BTreeMap;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use stowage_provider::resource::Operations;
use stowage_provider::types::{LifecycleRule as Rule, S3Bucket};
use stowage_provider::{
    Applied, AttributesExt, Contents, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, Observed,
    ProviderError, ReadRequest, UpdateRequest, encode, encode_known, required,
};

use crate::AwsProvider;
use crate::bucket_contents;
use crate::errors::{absent_if_not_found, done_if_gone};
use crate::errors::{build_error, classify};
use crate::leftovers::made_by_the_intent;
use crate::waiting::{Awaited, bucket_not_yet_settled};

const S3: &str = "s3";

/// `aws_s3_bucket`'s operations.
pub(crate) struct Bucket;

impl Operations<AwsProvider> for Bucket {
    async fn read(aws: &AwsProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
        let known: S3Bucket = request.known();
        let Some(name) = request.id.or(known.name.as_deref()) else { return Ok(None) };
        let s3 = aws.s3();

        let head = match s3.head_bucket().bucket(name).send().await {
            Ok(head) => head,
            Err(error) => return head_failed(aws, name, error),
        };
        let region = match head.bucket_region() {
            Some(constraint) => region_of(constraint),
            None => location(aws, name).await?,
        };

        let (versioning, block_public_access, object_ownership, lifecycle, tags, encryption) = tokio::try_join!(
            versioning(aws, name),
            public_access(aws, name),
            ownership(aws, name),
            lifecycle(aws, name),
            tags(aws, name),
            encryption(aws, name),
        )?;
        let observed = S3Bucket {
            name: Some(name.to_owned()),
            region: Some(region),
            versioning: Some(versioning),
            block_public_access: Some(block_public_access),
            object_ownership,
            lifecycle: Some(lifecycle),
            tags: Some(tags),
            sse_kms_key: encryption.key,
            bucket_key_enabled: Some(encryption.bucket_key_enabled),
            sse_algorithm: Some(encryption.algorithm),
        };
        Ok(Some(Observed { id: name.to_owned(), attributes: encode(&observed) }))
    }

    async fn create(aws: &AwsProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
        let wanted: S3Bucket = request.attributes.decode(request.address)?;
        let name = required(wanted.name.as_deref(), request.address, "name")?;
        let region = required(wanted.region.as_deref(), request.address, "region")?;
        let mut create = aws.s3().create_bucket().bucket(name);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        if let Some(ownership) = &wanted.object_ownership {
            create = create.object_ownership(ObjectOwnership::from(ownership.as_str()));
        }
        create.send().await.map_err(|error| {
            let error = classify(S3, "CreateBucket", error);
            if error.code.as_deref() == Some("BucketAlreadyExists") {
                error.with_hint("S3 bucket names are global and this one is taken: choose another `[bucket] name`")
            } else {
                error
            }
        })?;

        // A new bucket may come without ownership controls (moto, older regions): set them.
        let changed: Vec<String> =
            ["block_public_access", "versioning", "lifecycle", "tags", "object_ownership", "sse_kms_key"]
                .into_iter()
                .map(str::to_owned)
                .collect();
        Configure { aws, name, wanted: &wanted, fresh: true }.changed(&changed).await?;
        Ok(Applied { id: name.to_owned(), attributes: encode(&wanted) })
    }

    async fn update(aws: &AwsProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
        let wanted: S3Bucket = request.after.decode(request.address)?;
        Configure { aws, name: request.id, wanted: &wanted, fresh: false }.changed(request.changed).await?;
        Ok(Applied { id: request.id.to_owned(), attributes: encode(&wanted) })
    }

    /// Deletes an empty bucket, or one holding only test files (which it removes first, every
    /// version). A bucket holding anything else is refused: stowage never deletes a recording.
    /// Should one arrive after the listing, S3's own `BucketNotEmpty` refuses the delete.
    async fn delete(aws: &AwsProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
        let Some(inventory) = bucket_contents::inventory(aws, request.id).await? else { return Ok(()) };
        if !inventory.contents.is_empty() {
            return Err(holds_data(request.id, &format!("it holds {}", inventory.contents)));
        }
        bucket_contents::remove(aws, request.id, inventory.removable).await?;
        let result = aws.s3().delete_bucket().bucket(request.id).send().await;
        done_if_gone(result.map_err(|error| classify(S3, "DeleteBucket", error))).map_err(|error| {
            if error.code.as_deref() == Some("BucketNotEmpty") {
                holds_data(request.id, "objects arrived while it was being deleted")
            } else {
                error
            }
        })
    }

    /// What the bucket holds besides test files (see [`bucket_contents`]).
    async fn contents(aws: &AwsProvider, request: DeleteRequest<'_>) -> Result<Contents, ProviderError> {
        let inventory = bucket_contents::inventory(aws, request.id).await?;
        Ok(inventory.map(|inventory| inventory.contents).unwrap_or_default())
    }

    /// What an interrupted create left: the bucket of the name the intent recorded, made while
    /// the create could have made it. Found again by name, it lost nothing with the create's
    /// answer, so the planner records it.
    async fn find_leftovers(aws: &AwsProvider, request: LeftoverRequest<'_>) -> Result<Vec<Observed>, ProviderError> {
        let sent: S3Bucket = request.attributes.decode(request.address)?;
        let Some(name) = sent.name.as_deref() else { return Ok(Vec::new()) };
        let mut buckets = aws.s3().list_buckets().into_paginator().send();
        while let Some(page) = buckets.next().await {
            let page = page.map_err(|error| classify(S3, "ListBuckets", error))?;
            let Some(bucket) = page.buckets().iter().find(|bucket| bucket.name() == Some(name)) else { continue };
            let ours =
                made_by_the_intent(bucket.creation_date(), &request) && !request.known_ids.iter().any(|id| id == name);
            let found = S3Bucket { name: Some(name.to_owned()), ..S3Bucket::default() };
            return Ok(ours
                .then(|| Observed { id: name.to_owned(), attributes: encode_known(&found) })
                .into_iter()
                .collect());
        }
        Ok(Vec::new())
    }
}

/// Whether versioning is on (a bucket that never had it reports no status).
async fn versioning(aws: &AwsProvider, name: &str) -> Result<bool, ProviderError> {
    let output = aws.s3().get_bucket_versioning().bucket(name).send().await;
    let output = output.map_err(|error| classify(S3, "GetBucketVersioning", error))?;
    Ok(output.status() == Some(&BucketVersioningStatus::Enabled))
}

/// Whether all four public access blocks are on (no configuration: none is).
async fn public_access(aws: &AwsProvider, name: &str) -> Result<bool, ProviderError> {
    let output = aws.s3().get_public_access_block().bucket(name).send().await;
    let output = absent_if_not_found(output.map_err(|error| classify(S3, "GetPublicAccessBlock", error)))?;
    let all_blocked =
        output.and_then(|output| output.public_access_block_configuration().cloned()).is_some_and(|block| {
            [
                block.block_public_acls(),
                block.ignore_public_acls(),
                block.block_public_policy(),
                block.restrict_public_buckets(),
            ]
            .iter()
            .all(|flag| *flag == Some(true))
        });
    Ok(all_blocked)
}

/// The object ownership rule, if the bucket has ownership controls.
async fn ownership(aws: &AwsProvider, name: &str) -> Result<Option<String>, ProviderError> {
    let output = aws.s3().get_bucket_ownership_controls().bucket(name).send().await;
    let output = absent_if_not_found(output.map_err(|error| classify(S3, "GetBucketOwnershipControls", error)))?;
    Ok(output
        .and_then(|output| output.ownership_controls().cloned())
        .and_then(|controls| controls.rules().first().map(|rule| rule.object_ownership().as_str().to_owned())))
}

/// The expiry rules, in the order the spec's are listed in (see `stowage_plan::desired`).
async fn lifecycle(aws: &AwsProvider, name: &str) -> Result<Vec<Rule>, ProviderError> {
    let output = aws.s3().get_bucket_lifecycle_configuration().bucket(name).send().await;
    let output = absent_if_not_found(output.map_err(|error| classify(S3, "GetBucketLifecycleConfiguration", error)))?;
    let mut rules: Vec<Rule> =
        output.map(|output| output.rules().iter().map(lifecycle_rule).collect()).unwrap_or_default();
    rules.sort_by_key(|rule| serde_json::to_string(rule).unwrap_or_default());
    Ok(rules)
}

async fn tags(aws: &AwsProvider, name: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let output = aws.s3().get_bucket_tagging().bucket(name).send().await;
    let output = absent_if_not_found(output.map_err(|error| classify(S3, "GetBucketTagging", error)))?;
    Ok(output
        .map(|output| output.tag_set().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect())
        .unwrap_or_default())
}

/// A bucket's default encryption, as the resource reports it.
pub(crate) struct Encryption {
    /// The SSE-KMS key (none for S3's own default, SSE-S3 or none).
    pub key: Option<String>,
    pub bucket_key_enabled: bool,
    /// `aws:kms`, `AES256`, …; `None` when nothing is configured.
    pub algorithm: Option<String>,
}

/// The bucket's default encryption (`GetBucketEncryption`; a bucket without one, or gone, has
/// none). The first rule decides: S3 allows one.
pub(crate) async fn encryption(aws: &AwsProvider, name: &str) -> Result<Encryption, ProviderError> {
    let output = aws.s3().get_bucket_encryption().bucket(name).send().await;
    let output = absent_if_not_found(output.map_err(|error| classify(S3, "GetBucketEncryption", error)))?;
    let rule = output
        .as_ref()
        .and_then(|output| output.server_side_encryption_configuration())
        .and_then(|configuration| configuration.rules().first());
    let Some(rule) = rule else {
        return Ok(Encryption { key: None, bucket_key_enabled: false, algorithm: None });
    };
    let default = rule.apply_server_side_encryption_by_default();
    let key = default
        .filter(|default| {
            matches!(default.sse_algorithm(), ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse)
        })
        // SSE-KMS without a key id uses the AWS managed key `aws/s3`.
        .map(|default| default.kms_master_key_id().unwrap_or("aws/s3").to_owned());
    Ok(Encryption {
        key,
        bucket_key_enabled: rule.bucket_key_enabled().unwrap_or(false),
        algorithm: default.map(|default| default.sse_algorithm().as_str().to_owned()),
    })
}

/// What a failed `HeadBucket` means. S3 answers a `HEAD` without a body, so the status and the
/// `x-amz-bucket-region` header are all there is: a bucket that lives in another region answers
/// `301` (or `400`) naming it; a name another AWS account holds answers `403`.
fn head_failed(
    aws: &AwsProvider,
    name: &str,
    error: SdkError<HeadBucketError, HttpResponse>,
) -> Result<Option<Observed>, ProviderError> {
    let elsewhere = error
        .raw_response()
        .and_then(|response| response.headers().get("x-amz-bucket-region"))
        .map(region_of)
        .filter(|region| region != aws.region());
    let error = classify(S3, "HeadBucket", error);
    if let Some(region) = elsewhere {
        let spec_region = aws.region();
        return Err(ProviderError {
            kind: ErrorKind::Conflict,
            message: format!("bucket `{name}` exists in `{region}`, the spec says `{spec_region}`"),
            hint: Some(format!(
                "if it is this environment's bucket, set `[aws] region = \"{region}\"`; \
                 otherwise choose another `[bucket] name` (bucket names are global)"
            )),
            ..error
        });
    }
    match error.kind {
        ErrorKind::NotFound => Ok(None),
        ErrorKind::Unauthorized => Err(ProviderError {
            message: format!(
                "the bucket name `{name}` is taken by another AWS account (or these credentials may not read it)"
            ),
            hint: Some(
                "bucket names are global: choose another `[bucket] name`; if the bucket is yours, allow these \
                 credentials `s3:ListBucket` on it"
                    .to_owned(),
            ),
            ..error
        }),
        _ => Err(error),
    }
}

async fn location(aws: &AwsProvider, name: &str) -> Result<String, ProviderError> {
    let output = aws.s3().get_bucket_location().bucket(name).send().await;
    let output = output.map_err(|error| classify(S3, "GetBucketLocation", error))?;
    Ok(region_of(output.location_constraint().map_or("", BucketLocationConstraint::as_str)))
}

/// The region of a bucket's location constraint. Two are spelled for historical reasons: none
/// (empty) is `us-east-1`, and the legacy `EU` is `eu-west-1`.
fn region_of(constraint: &str) -> String {
    match constraint.trim() {
        "" => "us-east-1",
        "EU" => "eu-west-1",
        region => region,
    }
    .to_owned()
}

/// Stowage's rules have the shape `{prefix, expire_after_days}`; anything else found in the
/// bucket is shown with what makes it different, so the plan brings it back to the spec.
fn lifecycle_rule(rule: &LifecycleRule) -> Rule {
    let prefix = rule
        .filter()
        .and_then(|filter| filter.prefix())
        .or_else(|| {
            #[allow(deprecated)]
            rule.prefix()
        })
        .unwrap_or_default();
    Rule {
        prefix: prefix.to_owned(),
        expire_after_days: rule
            .expiration()
            .and_then(|expiration| expiration.days())
            .and_then(|days| u32::try_from(days).ok()),
        enabled: (rule.status() != &ExpirationStatus::Enabled).then_some(false),
    }
}

/// Bringing one bucket's configurations to what is wanted.
struct Configure<'a> {
    aws: &'a AwsProvider,
    name: &'a str,
    wanted: &'a S3Bucket,
    /// Just created: it has S3's defaults, and S3 may not have caught up with it yet.
    fresh: bool,
}

impl Configure<'_> {
    /// Apply the changed configurations one at a time, in a fixed order: S3 refuses concurrent
    /// configuration writes on one bucket with `409 OperationAborted`. The bucket is locked
    /// down (ownership, public access, encryption) before the rest.
    async fn changed(&self, changed: &[String]) -> Result<(), ProviderError> {
        let wants = |attribute: &str| changed.iter().any(|name| name == attribute);
        if wants("object_ownership") {
            self.ownership().await?;
        }
        if wants("block_public_access") {
            self.public_access().await?;
        }
        if wants("sse_kms_key") || wants("bucket_key_enabled") {
            self.encryption().await?;
        }
        if wants("versioning") {
            self.versioning().await?;
        }
        if wants("lifecycle") {
            self.lifecycle().await?;
        }
        if wants("tags") {
            self.tags().await?;
        }
        Ok(())
    }

    async fn write<T, E, Sent>(&self, operation: &'static str, send: impl Fn() -> Sent) -> Result<T, ProviderError>
    where
        Sent: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        configuration_write(self.aws, operation, self.fresh, send).await
    }

    async fn ownership(&self) -> Result<(), ProviderError> {
        let Some(ownership) = &self.wanted.object_ownership else { return Ok(()) };
        let rule = OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::from(ownership.as_str()))
            .build()
            .map_err(|error| build_error(S3, "PutBucketOwnershipControls", error))?;
        let controls = OwnershipControls::builder()
            .rules(rule)
            .build()
            .map_err(|error| build_error(S3, "PutBucketOwnershipControls", error))?;
        let request = self.aws.s3().put_bucket_ownership_controls().bucket(self.name).ownership_controls(controls);
        self.write("PutBucketOwnershipControls", || request.clone().send()).await?;
        Ok(())
    }

    async fn public_access(&self) -> Result<(), ProviderError> {
        let s3 = self.aws.s3();
        if self.wanted.block_public_access.unwrap_or(true) {
            let block = PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build();
            let request = s3.put_public_access_block().bucket(self.name).public_access_block_configuration(block);
            self.write("PutPublicAccessBlock", || request.clone().send()).await?;
            return Ok(());
        }
        // A new bucket has one too: AWS blocks public access on every new bucket (since April
        // 2023). Deleting a block already gone is done.
        let request = s3.delete_public_access_block().bucket(self.name);
        match self.write("DeletePublicAccessBlock", || request.clone().send()).await {
            Err(error) if error.code.as_deref() != Some("NoSuchPublicAccessBlockConfiguration") => Err(error),
            _ => Ok(()),
        }
    }

    async fn encryption(&self) -> Result<(), ProviderError> {
        let s3 = self.aws.s3();
        let Some(key) = &self.wanted.sse_kms_key else {
            // Back to S3's own default (SSE-S3 on AWS); a new bucket has it already.
            if !self.fresh {
                let request = s3.delete_bucket_encryption().bucket(self.name);
                self.write("DeleteBucketEncryption", || request.clone().send()).await?;
            }
            return Ok(());
        };
        let default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(key)
            .build()
            .map_err(|error| build_error(S3, "PutBucketEncryption", error))?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(default)
            .bucket_key_enabled(self.wanted.bucket_key_enabled.unwrap_or(true))
            .build();
        let configuration = ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(|error| build_error(S3, "PutBucketEncryption", error))?;
        let request = s3.put_bucket_encryption().bucket(self.name).server_side_encryption_configuration(configuration);
        self.write("PutBucketEncryption", || request.clone().send()).await?;
        Ok(())
    }

    async fn versioning(&self) -> Result<(), ProviderError> {
        let enabled = self.wanted.versioning.unwrap_or(false);
        // A bucket that never had versioning needs no call to keep it off.
        if !enabled && self.fresh {
            return Ok(());
        }
        let status = if enabled { BucketVersioningStatus::Enabled } else { BucketVersioningStatus::Suspended };
        let request = self
            .aws
            .s3()
            .put_bucket_versioning()
            .bucket(self.name)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build());
        self.write("PutBucketVersioning", || request.clone().send()).await?;
        Ok(())
    }

    async fn lifecycle(&self) -> Result<(), ProviderError> {
        let s3 = self.aws.s3();
        let rules = lifecycle_rules(self.wanted.lifecycle.as_deref().unwrap_or_default())?;
        if rules.is_empty() {
            if !self.fresh {
                let request = s3.delete_bucket_lifecycle().bucket(self.name);
                self.write("DeleteBucketLifecycle", || request.clone().send()).await?;
            }
            return Ok(());
        }
        let configuration = BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(|error| build_error(S3, "PutBucketLifecycleConfiguration", error))?;
        let request = s3.put_bucket_lifecycle_configuration().bucket(self.name).lifecycle_configuration(configuration);
        self.write("PutBucketLifecycleConfiguration", || request.clone().send()).await?;
        Ok(())
    }

    async fn tags(&self) -> Result<(), ProviderError> {
        let s3 = self.aws.s3();
        let tags = self.wanted.tags.clone().unwrap_or_default();
        if tags.is_empty() {
            if !self.fresh {
                let request = s3.delete_bucket_tagging().bucket(self.name);
                self.write("DeleteBucketTagging", || request.clone().send()).await?;
            }
            return Ok(());
        }
        let tag_set = tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| build_error(S3, "PutBucketTagging", error))?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(tag_set))
            .build()
            .map_err(|error| build_error(S3, "PutBucketTagging", error))?;
        let request = s3.put_bucket_tagging().bucket(self.name).tagging(tagging);
        self.write("PutBucketTagging", || request.clone().send()).await?;
        Ok(())
    }
}

/// Sends one configuration write (`send` builds the request afresh for every attempt), retrying
/// what S3 refuses only for now (see [`bucket_not_yet_settled`]) within the provider's patience.
/// Every configuration write goes through here.
async fn configuration_write<T, E, Sent>(
    aws: &AwsProvider,
    operation: &'static str,
    fresh: bool,
    send: impl Fn() -> Sent,
) -> Result<T, ProviderError>
where
    Sent: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let settled = |error: &ProviderError| bucket_not_yet_settled(error, fresh);
    aws.waiting()
        .retry(Awaited::BucketSettled, settled, || async {
            send().await.map_err(|error| classify(S3, operation, error))
        })
        .await
}

fn lifecycle_rules(rules: &[Rule]) -> Result<Vec<LifecycleRule>, ProviderError> {
    rules
        .iter()
        .map(|rule| {
            let prefix = rule.prefix.as_str();
            let days = rule.expire_after_days.unwrap_or(1);
            let id =
                if prefix.is_empty() { "stowage-expire-all".to_owned() } else { format!("stowage-expire-{prefix}") };
            LifecycleRule::builder()
                .id(id.trim_end_matches('/'))
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
                .expiration(LifecycleExpiration::builder().days(i32::try_from(days).unwrap_or(i32::MAX)).build())
                .build()
                .map_err(|error| build_error(S3, "PutBucketLifecycleConfiguration", error))
        })
        .collect()
}

/// The refusal to delete a bucket that holds recordings or compositions.
fn holds_data(bucket: &str, why: &str) -> ProviderError {
    ProviderError::new(ErrorKind::Conflict, S3, "DeleteBucket", format!("bucket `{bucket}` is not deleted: {why}"))
        .with_code("BucketNotEmpty")
        .with_hint(format!(
            "stowage never deletes a recording: move or delete the objects in `{bucket}` yourself when their \
             retention allows, then run the command again; `stowage destroy` keeps such a bucket and says so"
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_location_constraints_name_their_regions() {
        assert_eq!(region_of(BucketLocationConstraint::Eu.as_str()), "eu-west-1");
        assert_eq!(region_of("EU"), "eu-west-1");
        assert_eq!(region_of(""), "us-east-1");
        assert_eq!(region_of("eu-west-1"), "eu-west-1");
        assert_eq!(region_of("us-east-2"), "us-east-2");
    }
}
