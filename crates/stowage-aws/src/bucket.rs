//! `aws_s3_bucket`: region, public access block, versioning, lifecycle rules, tags, and object
//! ownership `BucketOwnerEnforced` (ACLs off).
//!
//! Also its default encryption: SSE-KMS with a key and S3 Bucket Keys, or S3's own default.
//!
//! A read makes one `HeadBucket`, then reads the six configurations at the same time.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use serde_json::{Value, json};
use stowage_provider::{
    Applied, Attributes, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};

use crate::errors::{build_error, classify};
use crate::{AwsProvider, absent_if_not_found};

const S3: &str = "s3";

pub(crate) async fn read(aws: &AwsProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
    let Some(name) = request.id.or_else(|| request.attribute("name")) else { return Ok(None) };
    let s3 = aws.s3();

    let head = match s3.head_bucket().bucket(name).send().await {
        Ok(head) => head,
        Err(error) => {
            let error = classify(S3, "HeadBucket", error);
            return match error.kind {
                ErrorKind::NotFound => Ok(None),
                ErrorKind::Unauthorized => Err(error.with_hint(format!(
                    "bucket names are global: `{name}` may belong to another AWS account; \
                     otherwise the operator's credentials lack `s3:ListBucket` on it"
                ))),
                _ => Err(error),
            };
        }
    };
    let region = match head.bucket_region() {
        Some(region) => region.to_owned(),
        None => location(aws, name).await?,
    };

    let (versioning, public_access, ownership, lifecycle, tags, encryption) = tokio::try_join!(
        async {
            let output = s3.get_bucket_versioning().bucket(name).send().await;
            let output = output.map_err(|error| classify(S3, "GetBucketVersioning", error))?;
            Ok::<_, ProviderError>(output.status() == Some(&BucketVersioningStatus::Enabled))
        },
        async {
            let output = s3.get_public_access_block().bucket(name).send().await;
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
        },
        async {
            let output = s3.get_bucket_ownership_controls().bucket(name).send().await;
            let output =
                absent_if_not_found(output.map_err(|error| classify(S3, "GetBucketOwnershipControls", error)))?;
            let ownership = output
                .and_then(|output| output.ownership_controls().cloned())
                .and_then(|controls| controls.rules().first().map(|rule| rule.object_ownership().as_str().to_owned()));
            Ok(ownership.map(Value::String).unwrap_or(Value::Null))
        },
        async {
            let output = s3.get_bucket_lifecycle_configuration().bucket(name).send().await;
            let output =
                absent_if_not_found(output.map_err(|error| classify(S3, "GetBucketLifecycleConfiguration", error)))?;
            let mut rules: Vec<Value> =
                output.map(|output| output.rules().iter().map(lifecycle_rule_value).collect()).unwrap_or_default();
            rules.sort_by_key(Value::to_string);
            Ok(Value::Array(rules))
        },
        async {
            let output = s3.get_bucket_tagging().bucket(name).send().await;
            let output = absent_if_not_found(output.map_err(|error| classify(S3, "GetBucketTagging", error)))?;
            let tags: BTreeMap<String, String> = output
                .map(|output| {
                    output.tag_set().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect()
                })
                .unwrap_or_default();
            Ok(json!(tags))
        },
        encryption(aws, name),
    )?;

    Ok(Some(Observed {
        id: name.to_owned(),
        attributes: Attributes::from([
            ("name".to_owned(), json!(name)),
            ("region".to_owned(), json!(region)),
            ("versioning".to_owned(), json!(versioning)),
            ("block_public_access".to_owned(), json!(public_access)),
            ("object_ownership".to_owned(), ownership),
            ("lifecycle".to_owned(), lifecycle),
            ("tags".to_owned(), tags),
            ("sse_kms_key".to_owned(), encryption.key),
            ("bucket_key_enabled".to_owned(), json!(encryption.bucket_key_enabled)),
            ("sse_algorithm".to_owned(), json!(encryption.algorithm)),
        ]),
    }))
}

/// A bucket's default encryption, as the resource reports it.
pub(crate) struct Encryption {
    /// The SSE-KMS key (null for S3's own default, SSE-S3 or none).
    pub key: Value,
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
        return Ok(Encryption { key: Value::Null, bucket_key_enabled: false, algorithm: None });
    };
    let default = rule.apply_server_side_encryption_by_default();
    let key = default
        .filter(|default| {
            matches!(default.sse_algorithm(), ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse)
        })
        // SSE-KMS without a key id uses the AWS managed key `aws/s3`.
        .map(|default| json!(default.kms_master_key_id().unwrap_or("aws/s3")))
        .unwrap_or(Value::Null);
    Ok(Encryption {
        key,
        bucket_key_enabled: rule.bucket_key_enabled().unwrap_or(false),
        algorithm: default.map(|default| default.sse_algorithm().as_str().to_owned()),
    })
}

async fn location(aws: &AwsProvider, name: &str) -> Result<String, ProviderError> {
    let output = aws.s3().get_bucket_location().bucket(name).send().await;
    let output = output.map_err(|error| classify(S3, "GetBucketLocation", error))?;
    // An empty location constraint is us-east-1, for historical reasons.
    Ok(output
        .location_constraint()
        .map(|constraint| constraint.as_str().to_owned())
        .filter(|region| !region.is_empty())
        .unwrap_or_else(|| "us-east-1".to_owned()))
}

/// Stowage's rules have the shape `{prefix, expire_after_days}`; anything else found in the
/// bucket is shown with what makes it different, so the plan brings it back to the spec.
fn lifecycle_rule_value(rule: &LifecycleRule) -> Value {
    let prefix = rule
        .filter()
        .and_then(|filter| filter.prefix())
        .or_else(|| {
            #[allow(deprecated)]
            rule.prefix()
        })
        .unwrap_or_default();
    let mut value = json!({
        "prefix": prefix,
        "expire_after_days": rule.expiration().and_then(|expiration| expiration.days()),
    });
    if rule.status() != &ExpirationStatus::Enabled {
        value["enabled"] = json!(false);
    }
    value
}

pub(crate) async fn create(aws: &AwsProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
    let attributes = request.attributes;
    let name = attributes.required_str(request.address, "name")?;
    let region = attributes.required_str(request.address, "region")?;
    let mut create = aws.s3().create_bucket().bucket(name);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(region)).build(),
        );
    }
    if let Some(ownership) = attributes.str("object_ownership") {
        create = create.object_ownership(ObjectOwnership::from(ownership));
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
    configure(aws, name, attributes, &changed, true).await?;
    Ok(Applied { id: name.to_owned(), attributes: attributes.clone() })
}

pub(crate) async fn update(aws: &AwsProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
    configure(aws, request.id, request.after, request.changed, false).await?;
    Ok(Applied { id: request.id.to_owned(), attributes: request.after.clone() })
}

/// Apply the changed configurations, at the same time: they are independent sub-resources.
async fn configure(
    aws: &AwsProvider,
    name: &str,
    attributes: &Attributes,
    changed: &[String],
    fresh: bool,
) -> Result<(), ProviderError> {
    let s3 = aws.s3();
    let wants = |attribute: &str| changed.iter().any(|name| name == attribute);

    let public_access = async {
        if !wants("block_public_access") {
            return Ok(());
        }
        if attributes.bool("block_public_access").unwrap_or(true) {
            let block = PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build();
            s3.put_public_access_block()
                .bucket(name)
                .public_access_block_configuration(block)
                .send()
                .await
                .map_err(|error| classify(S3, "PutPublicAccessBlock", error))?;
        } else if !fresh {
            s3.delete_public_access_block()
                .bucket(name)
                .send()
                .await
                .map_err(|error| classify(S3, "DeletePublicAccessBlock", error))?;
        }
        Ok::<_, ProviderError>(())
    };

    let versioning = async {
        if !wants("versioning") {
            return Ok(());
        }
        let enabled = attributes.bool("versioning").unwrap_or(false);
        // A bucket that never had versioning needs no call to keep it off.
        if !enabled && fresh {
            return Ok(());
        }
        let status = if enabled { BucketVersioningStatus::Enabled } else { BucketVersioningStatus::Suspended };
        s3.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .send()
            .await
            .map_err(|error| classify(S3, "PutBucketVersioning", error))?;
        Ok::<_, ProviderError>(())
    };

    let lifecycle = async {
        if !wants("lifecycle") {
            return Ok(());
        }
        let rules = lifecycle_rules(attributes)?;
        if rules.is_empty() {
            if !fresh {
                s3.delete_bucket_lifecycle()
                    .bucket(name)
                    .send()
                    .await
                    .map_err(|error| classify(S3, "DeleteBucketLifecycle", error))?;
            }
            return Ok(());
        }
        let configuration = BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(|error| build_error(S3, "PutBucketLifecycleConfiguration", error))?;
        s3.put_bucket_lifecycle_configuration()
            .bucket(name)
            .lifecycle_configuration(configuration)
            .send()
            .await
            .map_err(|error| classify(S3, "PutBucketLifecycleConfiguration", error))?;
        Ok::<_, ProviderError>(())
    };

    let tags = async {
        if !wants("tags") {
            return Ok(());
        }
        let tags = string_map(attributes.get("tags"));
        if tags.is_empty() {
            if !fresh {
                s3.delete_bucket_tagging()
                    .bucket(name)
                    .send()
                    .await
                    .map_err(|error| classify(S3, "DeleteBucketTagging", error))?;
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
        s3.put_bucket_tagging()
            .bucket(name)
            .tagging(tagging)
            .send()
            .await
            .map_err(|error| classify(S3, "PutBucketTagging", error))?;
        Ok::<_, ProviderError>(())
    };

    let ownership = async {
        if !wants("object_ownership") {
            return Ok(());
        }
        let Some(ownership) = attributes.str("object_ownership") else { return Ok(()) };
        let rule = OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::from(ownership))
            .build()
            .map_err(|error| build_error(S3, "PutBucketOwnershipControls", error))?;
        let controls = OwnershipControls::builder()
            .rules(rule)
            .build()
            .map_err(|error| build_error(S3, "PutBucketOwnershipControls", error))?;
        s3.put_bucket_ownership_controls()
            .bucket(name)
            .ownership_controls(controls)
            .send()
            .await
            .map_err(|error| classify(S3, "PutBucketOwnershipControls", error))?;
        Ok::<_, ProviderError>(())
    };

    let encryption = async {
        if !wants("sse_kms_key") && !wants("bucket_key_enabled") {
            return Ok(());
        }
        let Some(key) = attributes.str("sse_kms_key") else {
            // Back to S3's own default (SSE-S3 on AWS); a new bucket has it already.
            if !fresh {
                s3.delete_bucket_encryption()
                    .bucket(name)
                    .send()
                    .await
                    .map_err(|error| classify(S3, "DeleteBucketEncryption", error))?;
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
            .bucket_key_enabled(attributes.bool("bucket_key_enabled").unwrap_or(true))
            .build();
        let configuration = ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(|error| build_error(S3, "PutBucketEncryption", error))?;
        s3.put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(configuration)
            .send()
            .await
            .map_err(|error| classify(S3, "PutBucketEncryption", error))?;
        Ok::<_, ProviderError>(())
    };

    tokio::try_join!(public_access, versioning, lifecycle, tags, ownership, encryption)?;
    Ok(())
}

fn lifecycle_rules(attributes: &Attributes) -> Result<Vec<LifecycleRule>, ProviderError> {
    let rules = attributes.get("lifecycle").and_then(Value::as_array).cloned().unwrap_or_default();
    rules
        .iter()
        .map(|rule| {
            let prefix = rule.get("prefix").and_then(Value::as_str).unwrap_or_default();
            let days = rule.get("expire_after_days").and_then(Value::as_i64).unwrap_or(1);
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

pub(crate) async fn delete(aws: &AwsProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
    match aws.s3().delete_bucket().bucket(request.id).send().await {
        Ok(_) => Ok(()),
        Err(error) => {
            let error = classify(S3, "DeleteBucket", error);
            match error.kind {
                ErrorKind::NotFound => Ok(()),
                _ if error.code.as_deref() == Some("BucketNotEmpty") => Err(error.with_hint(format!(
                    "stowage never deletes objects: bucket `{}` still holds recordings or compositions; \
                     move or delete them yourself if you mean to, then apply again",
                    request.id
                ))),
                _ => Err(error),
            }
        }
    }
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|object| {
            object.iter().map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned())).collect()
        })
        .unwrap_or_default()
}
