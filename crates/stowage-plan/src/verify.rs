//! `stowage verify`'s checks: what Twilio would otherwise report only after recordings are
//! lost, each naming the Twilio debugger error it prevents. Pure: the command reads, this
//! module judges.
//!
//! Twilio numbers a composition's error ten above the matching recording error (53610 and
//! 53620 for an invalid S3 URL, and so on), so each per-storage check names the code of its kind.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;
use stowage_provider::evaluate::{Decision, evaluate};
use stowage_provider::{Address, Observed};
use stowage_spec::{Spec, UploaderMode};

use crate::desired::{
    UPLOADER_POLICY_NAME, access_key_address, bucket_address, composition_settings_address, credential_address,
    policy_address, recording_settings_address,
};
use crate::planner::Observations;
use crate::rotation::KeyAge;
use crate::s3_url;

pub mod json;

/// What Twilio stores in S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StorageKind {
    Recordings,
    Compositions,
}

impl StorageKind {
    pub fn noun(self) -> &'static str {
        match self {
            StorageKind::Recordings => "recordings",
            StorageKind::Compositions => "compositions",
        }
    }

    fn settings(self) -> &'static str {
        match self {
            StorageKind::Recordings => "recording settings",
            StorageKind::Compositions => "composition settings",
        }
    }

    fn settings_address(self) -> Address {
        match self {
            StorageKind::Recordings => recording_settings_address(),
            StorageKind::Compositions => composition_settings_address(),
        }
    }

    /// This kind's code for the recording error `recording_code`.
    fn code(self, recording_code: u16) -> u16 {
        match self {
            StorageKind::Recordings => recording_code,
            StorageKind::Compositions => recording_code + 10,
        }
    }
}

/// Twilio's debugger codes (recording variants; see [`StorageKind`] for compositions).
const INVALID_S3_URL: u16 = 53610;
const INVALID_CREDENTIALS: u16 = 53611;
const CREDENTIAL_DELETED: u16 = 53613;
const ACCESS_DENIED: u16 = 53615;

/// One kind of media stored in S3, under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub kind: StorageKind,
    /// The spec's prefix: `""` or ending in `/`.
    pub prefix: String,
}

/// What the spec says verify should find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// `aws`, `aws-cn` or `aws-us-gov`: the ARNs' partition.
    pub partition: String,
    pub bucket: String,
    pub region: String,
    /// The spec has an `[uploader]` and a `[twilio]`: there is a key for Twilio to write with.
    pub uploader_for_twilio: bool,
    pub stored: Vec<Stored>,
    /// The fleet member checked (its SID: the key of its Twilio resources' addresses); `None`
    /// for a single account.
    pub member: Option<String>,
    /// The key of the addresses of the uploader it writes with: the member's own
    /// (`per-subaccount`), or none (the single account's, or a fleet's shared uploader).
    pub uploader_key: Option<String>,
}

impl Expected {
    pub fn from_spec(spec: &Spec) -> Self {
        let uploader_for_twilio = spec.uploader.is_some() && spec.twilio.is_some();
        let stored = [
            (StorageKind::Recordings, spec.recordings.as_ref()),
            (StorageKind::Compositions, spec.compositions.as_ref()),
        ]
        .into_iter()
        .filter_map(|(kind, storage)| {
            let storage = storage.filter(|storage| storage.store_in_s3 && uploader_for_twilio)?;
            Some(Stored { kind, prefix: storage.prefix.as_str().to_owned() })
        })
        .collect();
        Self {
            partition: spec.aws.region.partition().to_owned(),
            bucket: spec.bucket.name.as_str().to_owned(),
            region: spec.aws.region.as_str().to_owned(),
            uploader_for_twilio,
            stored,
            member: None,
            uploader_key: None,
        }
    }

    /// What verify should find for one member of the spec's fleet: its own prefixes, its
    /// settings and credential, and the uploader it writes with.
    pub fn for_member(spec: &Spec, member: &str) -> Self {
        let mut expected = Self::from_spec(spec);
        for stored in &mut expected.stored {
            let storage = match stored.kind {
                StorageKind::Recordings => spec.recordings.as_ref(),
                StorageKind::Compositions => spec.compositions.as_ref(),
            };
            if let Some(storage) = storage {
                stored.prefix = storage.prefix.for_account(member);
            }
        }
        let per_subaccount = spec.fleet.as_ref().is_some_and(|fleet| fleet.uploader == UploaderMode::PerSubaccount);
        expected.uploader_key = per_subaccount.then(|| member.to_owned());
        expected.member = Some(member.to_owned());
        expected
    }

    /// `address` of the member's Twilio resources.
    fn twilio(&self, address: Address) -> Address {
        match &self.member {
            Some(member) => address.instance(member.clone()),
            None => address,
        }
    }

    /// `address` of the uploader's resources.
    fn uploader(&self, address: Address) -> Address {
        match &self.uploader_key {
            Some(key) => address.instance(key.clone()),
            None => address,
        }
    }

    /// The address of the access key this member's Twilio writes with.
    pub fn access_key_address(&self) -> Address {
        self.uploader(access_key_address())
    }
}

/// The bucket's default encryption, as verify judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketEncryption {
    None,
    SseS3,
    /// The key as configured (id, alias or ARN); `None` for the AWS-managed `aws/s3` key.
    SseKms {
        key_id: Option<String>,
    },
    Other(String),
}

impl BucketEncryption {
    /// What the bucket's read observed (`sse_algorithm`, `sse_kms_key`): the refresh reads the
    /// default encryption with the rest of the bucket, so verify reads it no second time.
    pub fn observed(bucket: &stowage_provider::Attributes) -> Self {
        use stowage_provider::AttributesExt;
        match bucket.str("sse_algorithm") {
            None => Self::None,
            Some("AES256") => Self::SseS3,
            Some("aws:kms" | "aws:kms:dsse") => {
                Self::SseKms { key_id: bucket.str("sse_kms_key").filter(|key| *key != "aws/s3").map(str::to_owned) }
            }
            Some(other) => Self::Other(other.to_owned()),
        }
    }
}

/// Where to look for Twilio's write-test file: the bucket and prefix the observed S3 URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFileLocation {
    pub kind: StorageKind,
    pub bucket: String,
    /// `""` for the bucket's top level, else ending in `/`.
    pub prefix: String,
}

/// Facts for verify beyond the observations. `Err` holds why a fact could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspections {
    /// The `.txt` keys found at each [`TestFileLocation`].
    pub test_files: BTreeMap<StorageKind, Result<Vec<String>, String>>,
    /// What the state takes on trust, by address, with why (`ResourceState::unproven`): e.g.
    /// which key a credential imported with `import --keep-key` holds.
    pub unproven: BTreeMap<Address, String>,
    /// How old the access key is and when it is due, at the time the caller passed
    /// ([`crate::rotation::key_ages`]); `None` when that is not known.
    pub key_age: Option<KeyAge>,
}

/// A key whose rotation comes within this many days is a warning: a scheduled apply is about
/// to replace it, or one must be scheduled.
pub const ROTATION_WARNING_DAYS: u64 = 7;

/// A key older than this many days, with no rotation period set, is a warning: 90 days is the
/// rotation age common security baselines ask of long-term access keys.
pub const UNROTATED_MAX_AGE_DAYS: u64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    // Declared in the order a report shows them: what needs action first.
    Fail,
    Unknown,
    Warn,
    Pass,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable, for tools: `bucket`, `recordings.s3_url`, `uploader_policy.nothing_else`, ...
    pub check: String,
    pub status: Status,
    /// The Twilio debugger errors this check prevents.
    pub twilio_codes: Vec<u16>,
    pub message: String,
    pub hint: Option<String>,
}

impl Finding {
    fn new(check: impl Into<String>, status: Status, twilio_codes: Vec<u16>, message: impl Into<String>) -> Self {
        Self { check: check.into(), status, twilio_codes, message: message.into(), hint: None }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// How a verify run ends (the exit status): any failure is a finding; otherwise a check that
/// could not be made leaves the run incomplete. Warnings do not fail a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Findings,
    Incomplete,
}

pub fn outcome(findings: &[Finding]) -> Outcome {
    if findings.iter().any(|finding| finding.status == Status::Fail) {
        Outcome::Findings
    } else if findings.iter().any(|finding| finding.status == Status::Unknown) {
        Outcome::Incomplete
    } else {
        Outcome::Passed
    }
}

fn observed<'a>(observations: &'a Observations, address: &Address) -> Option<&'a Observed> {
    observations.get(address).and_then(Option::as_ref)
}

fn text<'a>(found: &'a Observed, attribute: &str) -> Option<&'a str> {
    found.attributes.get(attribute).and_then(Value::as_str)
}

/// Where the observed S3 URLs say Twilio writes, for the command to list.
pub fn test_file_locations(expected: &Expected, observations: &Observations) -> Vec<TestFileLocation> {
    expected
        .stored
        .iter()
        .filter_map(|stored| {
            let settings = observed(observations, &expected.twilio(stored.kind.settings_address()))?;
            let location = s3_url::parse(text(settings, "aws_s3_url")?)?;
            let prefix = if location.path.is_empty() { String::new() } else { format!("{}/", location.path) };
            Some(TestFileLocation { kind: stored.kind, bucket: location.bucket, prefix })
        })
        .collect()
}

/// Every check, in a fixed order.
pub fn verify(expected: &Expected, observations: &Observations, inspections: &Inspections) -> Vec<Finding> {
    let mut findings = Vec::new();
    let bucket = observed(observations, &bucket_address());
    let url_codes = codes(expected, INVALID_S3_URL);
    findings.push(match bucket {
        Some(_) => Finding::new("bucket", Status::Pass, url_codes, format!("bucket `{}` exists", expected.bucket)),
        None => Finding::new("bucket", Status::Fail, url_codes, format!("bucket `{}` does not exist", expected.bucket))
            .hint("run `stowage apply` to create it"),
    });

    for stored in &expected.stored {
        findings.extend(storage_url(expected, stored, observations, bucket));
    }
    let encryption = bucket.map(|bucket| BucketEncryption::observed(&bucket.attributes));
    findings.extend(encryption.as_ref().map(|encryption| encryption_finding(expected, encryption)));
    if expected.uploader_for_twilio {
        findings.extend(uploader_policy(expected, observations, encryption.as_ref()));
        findings.push(access_key(expected, observations));
        findings.extend(key_rotation(expected, observations, inspections));
        findings.extend(credential(expected, observations));
        findings.extend(unproven(inspections));
        for stored in &expected.stored {
            if let Some(finding) = test_file(stored, inspections) {
                findings.push(finding);
            }
        }
    }
    findings
}

/// The checks of a fleet: each member's (`expected` and `inspections` each), named with the
/// member's SID as an address names an instance (`twilio_credential["AC…"]`), and the checks of
/// what the fleet shares (the bucket and its encryption) once.
pub fn verify_members(members: &[(Expected, Inspections)], observations: &Observations) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    for (expected, inspections) in members {
        for mut finding in verify(expected, observations, inspections) {
            if SHARED_CHECKS.contains(&finding.check.as_str()) {
                if findings.iter().any(|found| found.check == finding.check) {
                    continue;
                }
            } else if let Some(member) = &expected.member {
                finding.check = format!("{}[\"{member}\"]", finding.check);
            }
            findings.push(finding);
        }
    }
    findings
}

/// Checks of what a fleet's members share, made once.
const SHARED_CHECKS: [&str; 2] = ["bucket", "bucket_encryption"];

fn codes(expected: &Expected, recording_code: u16) -> Vec<u16> {
    expected.stored.iter().map(|stored| stored.kind.code(recording_code)).collect()
}

/// The settings' S3 URL is well formed, names the bucket and prefix, and the bucket is in the
/// region the URL names.
fn storage_url(
    expected: &Expected,
    stored: &Stored,
    observations: &Observations,
    bucket: Option<&Observed>,
) -> Vec<Finding> {
    let kind = stored.kind;
    let (url, location) = match url_naming_the_bucket(expected, kind, observations) {
        Ok(found) => found,
        Err(finding) => return vec![finding],
    };
    let mut findings = vec![url_prefix(expected, stored, url, &location)];
    findings.extend(bucket.map(|bucket| bucket_region(expected, kind, &location, bucket)));
    let bucket_region = bucket.and_then(|bucket| text(bucket, "region"));
    // A URL naming another region already failed above; its host is beside the point.
    if bucket_region.is_none_or(|region| region == location.region) {
        findings.push(host_form(&location, kind));
    }
    findings
}

/// The S3 URL the settings store at, when they can be read, store in S3, and name the spec's
/// bucket in a well-formed URL; else the finding that says which of these fails.
fn url_naming_the_bucket<'a>(
    expected: &Expected,
    kind: StorageKind,
    observations: &'a Observations,
) -> Result<(&'a str, s3_url::S3Location), Finding> {
    let check = format!("{}.s3_url", kind.noun());
    let url_code = vec![kind.code(INVALID_S3_URL)];
    let Some(settings) = observed(observations, &expected.twilio(kind.settings_address())) else {
        return Err(Finding::new(
            check,
            Status::Unknown,
            url_code,
            format!("Twilio's {} could not be read", kind.settings()),
        ));
    };
    if settings.attributes.get("aws_storage_enabled").and_then(Value::as_bool) != Some(true) {
        return Err(Finding::new(
            check,
            Status::Fail,
            vec![],
            format!("Twilio's {} do not store in S3: {} stay in Twilio's cloud", kind.settings(), kind.noun()),
        )
        .hint("run `stowage apply` to switch storage on"));
    }
    let url = text(settings, "aws_s3_url").unwrap_or_default();
    let Some(location) = s3_url::parse(url) else {
        return Err(Finding::new(
            check,
            Status::Fail,
            url_code,
            format!("`{url}` is not an S3 URL of the form https://BUCKET.s3-REGION.amazonaws.com/PREFIX"),
        )
        .hint("run `stowage apply` to set the URL stowage builds"));
    };
    if location.bucket != expected.bucket {
        return Err(Finding::new(
            check,
            Status::Fail,
            url_code,
            format!("the S3 URL `{url}` names bucket `{}`, the spec's is `{}`", location.bucket, expected.bucket),
        )
        .hint("run `stowage apply` to point Twilio at the spec's bucket"));
    }
    Ok((url, location))
}

/// The URL writes under the spec's prefix, the only one the uploader may write to.
fn url_prefix(expected: &Expected, stored: &Stored, url: &str, location: &s3_url::S3Location) -> Finding {
    let kind = stored.kind;
    let check = format!("{}.s3_url", kind.noun());
    if location.path == stored.prefix.trim_end_matches('/') {
        return Finding::new(
            check,
            Status::Pass,
            vec![kind.code(INVALID_S3_URL)],
            format!("`{url}` is well formed and names bucket `{}`", expected.bucket),
        );
    }
    Finding::new(
        check,
        Status::Fail,
        vec![kind.code(ACCESS_DENIED)],
        format!(
            "the S3 URL `{url}` writes under `{}/`, the spec's prefix (the only one the uploader may write to) is `{}`",
            location.path, stored.prefix
        ),
    )
    .hint("run `stowage apply` to set the URL stowage builds")
}

/// The bucket is in the region the URL names.
fn bucket_region(expected: &Expected, kind: StorageKind, location: &s3_url::S3Location, bucket: &Observed) -> Finding {
    let check = format!("{}.bucket_region", kind.noun());
    let url_code = vec![kind.code(INVALID_S3_URL)];
    let actual = text(bucket, "region").unwrap_or("?");
    if actual == location.region {
        return Finding::new(
            check,
            Status::Pass,
            url_code,
            format!("bucket `{}` is in `{actual}`, as the S3 URL says", expected.bucket),
        );
    }
    Finding::new(
        check,
        Status::Fail,
        url_code,
        format!("the S3 URL names region `{}`, bucket `{}` is in `{actual}`", location.region, expected.bucket),
    )
    .hint("run `stowage apply` to set the URL stowage builds")
}

/// The URL's host exists for the bucket's region: AWS has no `s3-REGION` host for regions
/// launched after 20 March 2019, and does not redirect a request sent to one.
fn host_form(location: &s3_url::S3Location, kind: StorageKind) -> Finding {
    let check = format!("{}.s3_host", kind.noun());
    let (bucket, region) = (&location.bucket, &location.region);
    let dot_host = format!("{bucket}.s3.{region}.amazonaws.com");
    let host = match location.form {
        s3_url::HostForm::Dash => format!("{bucket}.s3-{region}.amazonaws.com"),
        s3_url::HostForm::Dot => dot_host.clone(),
    };
    if location.host_exists_for(region) {
        return Finding::new(
            check,
            Status::Pass,
            vec![kind.code(INVALID_S3_URL)],
            format!("S3 answers at `{host}` for a bucket in `{region}`"),
        );
    }
    Finding::new(
        check,
        Status::Fail,
        vec![kind.code(INVALID_S3_URL)],
        format!(
            "the S3 URL's host `{host}` does not exist for a bucket in `{region}`: AWS answers there only at \
             `{dot_host}`, so every upload would fail"
        ),
    )
    .hint("run `stowage apply` to set the URL stowage builds")
}

/// Default encryption: SSE-S3 is what Twilio says it does not support (a warning: AWS turns it
/// on for every new bucket, and Twilio's uploads can still work).
fn encryption_finding(expected: &Expected, encryption: &BucketEncryption) -> Finding {
    let check = "bucket_encryption";
    let denied = codes(expected, ACCESS_DENIED);
    match encryption {
        BucketEncryption::None => Finding::new(check, Status::Pass, denied, "no default encryption"),
        BucketEncryption::SseKms { key_id } => Finding::new(
            check,
            Status::Pass,
            denied,
            format!("default encryption is SSE-KMS with key `{}`", key_id.as_deref().unwrap_or("aws/s3")),
        ),
        BucketEncryption::SseS3 => Finding::new(
            check,
            Status::Warn,
            denied,
            "default encryption is SSE-S3 (AES256): Twilio documents SSE-KMS as the only default encryption it supports",
        )
        .hint("if Twilio reports access denied, set the bucket's default encryption to SSE-KMS with a key the uploader may use"),
        BucketEncryption::Other(algorithm) => Finding::new(
            check,
            Status::Warn,
            denied,
            format!("default encryption is `{algorithm}`: Twilio documents SSE-KMS as the only one it supports"),
        ),
    }
}

/// A request the uploader's policy must allow or must not allow.
struct Probe {
    action: &'static str,
    resource: String,
}

/// The uploader's inline policy allows Twilio's uploads under each prefix, nothing else, and
/// with SSE-KMS, the KMS actions on the bucket's key.
fn uploader_policy(
    expected: &Expected,
    observations: &Observations,
    encryption: Option<&BucketEncryption>,
) -> Vec<Finding> {
    if expected.stored.is_empty() {
        return Vec::new();
    }
    let Some(document) =
        observed(observations, &expected.uploader(policy_address())).and_then(|found| found.attributes.get("document"))
    else {
        return vec![
            Finding::new(
                "uploader_policy",
                Status::Fail,
                codes(expected, ACCESS_DENIED),
                format!("the uploader has no inline policy `{UPLOADER_POLICY_NAME}`: Twilio cannot write"),
            )
            .hint("run `stowage apply` to put it back"),
        ];
    };
    let mut findings: Vec<Finding> =
        expected.stored.iter().map(|stored| put_allowed(expected, stored, document)).collect();
    findings.push(nothing_else(expected, document));
    if let Some(BucketEncryption::SseKms { key_id }) = encryption {
        findings.push(kms(expected, document, key_id.as_deref()));
    }
    findings
}

/// The ARN of an object in the spec's bucket.
fn object_arn(expected: &Expected, key: &str) -> String {
    format!("arn:{}:s3:::{}/{key}", expected.partition, expected.bucket)
}

/// The policy allows `s3:PutObject` under the prefix of what is stored.
fn put_allowed(expected: &Expected, stored: &Stored, document: &Value) -> Finding {
    let check = format!("uploader_policy.put_{}", stored.kind.noun());
    let code = vec![stored.kind.code(ACCESS_DENIED)];
    let resource = object_arn(expected, &format!("{}stowage-verify-probe", stored.prefix));
    let what = format!("`s3:PutObject` under `{}`", stored.prefix);
    match evaluate(document, "s3:PutObject", &resource) {
        Decision::Allowed => Finding::new(check, Status::Pass, code, format!("the uploader's policy allows {what}")),
        Decision::ExplicitlyDenied => {
            Finding::new(check, Status::Fail, code, format!("the uploader's policy denies {what}"))
                .hint("run `stowage apply` to restore the policy")
        }
        Decision::ImplicitlyDenied => {
            Finding::new(check, Status::Fail, code, format!("the uploader's policy does not allow {what}"))
                .hint("run `stowage apply` to restore the policy")
        }
        Decision::Undetermined(why) => Finding::new(
            check,
            Status::Unknown,
            code,
            format!("cannot tell whether the uploader's policy allows {what}: {why}"),
        ),
    }
}

/// Requests Twilio never makes, which a leaked key should not be able to make either.
fn probes(expected: &Expected) -> Vec<Probe> {
    let bucket_arn = format!("arn:{}:s3:::{}", expected.partition, expected.bucket);
    let mut probes = vec![
        Probe { action: "s3:ListBucket", resource: bucket_arn.clone() },
        Probe { action: "s3:DeleteBucket", resource: bucket_arn },
        Probe {
            action: "s3:PutObject",
            resource: format!("arn:{}:s3:::stowage-verify-another-bucket/key", expected.partition),
        },
        Probe { action: "iam:CreateAccessKey", resource: "*".to_owned() },
    ];
    let outside = "stowage-verify-outside-the-prefixes/key";
    if !expected.stored.iter().any(|stored| outside.starts_with(&stored.prefix)) {
        probes.push(Probe { action: "s3:PutObject", resource: object_arn(expected, outside) });
    }
    for stored in &expected.stored {
        for action in ["s3:GetObject", "s3:DeleteObject", "s3:PutObjectAcl"] {
            probes.push(Probe {
                action,
                resource: object_arn(expected, &format!("{}stowage-verify-probe", stored.prefix)),
            });
        }
    }
    probes
}

/// The policy allows none of the [`probes`].
fn nothing_else(expected: &Expected, document: &Value) -> Finding {
    let mut granted = Vec::new();
    let mut undetermined = Vec::new();
    for probe in &probes(expected) {
        match evaluate(document, probe.action, &probe.resource) {
            Decision::Allowed => granted.push(format!("`{}` on `{}`", probe.action, probe.resource)),
            Decision::Undetermined(why) => {
                undetermined.push(format!("`{}` on `{}`: {why}", probe.action, probe.resource))
            }
            Decision::ExplicitlyDenied | Decision::ImplicitlyDenied => {}
        }
    }
    let check = "uploader_policy.nothing_else";
    if !granted.is_empty() {
        Finding::new(
            check,
            Status::Fail,
            vec![],
            format!("the uploader's policy allows more than `s3:PutObject` under the prefixes: {}", granted.join(", ")),
        )
        .hint(
            "Twilio needs nothing else, and a leaked key could do all of it: run `stowage apply` to restore the policy",
        )
    } else if !undetermined.is_empty() {
        Finding::new(
            check,
            Status::Unknown,
            vec![],
            format!("cannot tell what else the uploader's policy allows: {}", undetermined.join(", ")),
        )
    } else {
        Finding::new(check, Status::Pass, vec![], "the uploader's policy allows nothing else")
    }
}

/// With SSE-KMS, every upload asks KMS for a data key with the uploader's credentials.
fn kms(expected: &Expected, document: &Value, key_id: Option<&str>) -> Finding {
    let check = "uploader_policy.kms";
    let code = codes(expected, ACCESS_DENIED);
    let Some(key_arn) = key_id.filter(|key| key.starts_with("arn:")) else {
        let named = key_id.unwrap_or("aws/s3");
        return Finding::new(
            check,
            Status::Unknown,
            code,
            format!("the bucket's KMS key is named `{named}`, not by ARN: cannot check the uploader may use it"),
        )
        .hint("set the bucket's default encryption key by ARN");
    };
    let mut missing = Vec::new();
    for action in ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"] {
        match evaluate(document, action, key_arn) {
            Decision::Allowed => {}
            Decision::Undetermined(why) => {
                return Finding::new(
                    check,
                    Status::Unknown,
                    code,
                    format!("cannot tell whether the uploader may use `{action}`: {why}"),
                );
            }
            Decision::ExplicitlyDenied | Decision::ImplicitlyDenied => missing.push(format!("`{action}`")),
        }
    }
    if missing.is_empty() {
        Finding::new(check, Status::Pass, code, format!("the uploader's policy allows the KMS actions on `{key_arn}`"))
    } else {
        Finding::new(
            check,
            Status::Fail,
            code,
            format!(
                "the bucket encrypts with `{key_arn}`, and the uploader's policy does not allow {} on it",
                missing.join(", ")
            ),
        )
        .hint("allow the uploader `kms:GenerateDataKey*`, `kms:Encrypt` and `kms:Decrypt` on the bucket's key")
    }
}

fn access_key(expected: &Expected, observations: &Observations) -> Finding {
    let check = "access_key";
    let code = codes(expected, INVALID_CREDENTIALS);
    match observed(observations, &expected.access_key_address()) {
        None => {
            Finding::new(check, Status::Fail, code, "the uploader's access key recorded in the state does not exist")
                .hint("run `stowage apply` to create a new key and hand it to Twilio")
        }
        Some(key) => match text(key, "status") {
            Some("Active") => Finding::new(check, Status::Pass, code, format!("access key `{}` is active", key.id)),
            status => Finding::new(
                check,
                Status::Fail,
                code,
                format!(
                    "access key `{}` is {}: Twilio cannot write with it",
                    key.id,
                    status.unwrap_or("of unknown status")
                ),
            )
            .hint("run `stowage apply` to activate it"),
        },
    }
}

/// How old the key is and when it is next rotated: a warning when the rotation is overdue or
/// comes within [`ROTATION_WARNING_DAYS`], or when no period is set and the key is older than
/// [`UNROTATED_MAX_AGE_DAYS`]. Nothing when there is no key (`access_key` fails then).
fn key_rotation(expected: &Expected, observations: &Observations, inspections: &Inspections) -> Option<Finding> {
    let check = "access_key.rotation";
    let key = observed(observations, &expected.access_key_address())?;
    let Some(age) = inspections.key_age.as_ref().filter(|age| age.id == key.id) else {
        return Some(Finding::new(
            check,
            Status::Unknown,
            vec![],
            format!("cannot tell how old access key `{}` is: no creation date was read", key.id),
        ));
    };
    let described = age.describe();
    let rotate_now = "`stowage rotate SPEC` replaces the key and Twilio's credential now";
    Some(match (age.days_left(), age.due) {
        (Some(_), _) if age.overdue() => Finding::new(check, Status::Warn, vec![], described)
            .hint(format!("run `stowage apply SPEC` to rotate it; {rotate_now}")),
        (Some(left), due) if left <= ROTATION_WARNING_DAYS => {
            let after_days = age.after_days.unwrap_or_default();
            let on = due.map_or_else(String::new, |due| format!(" (on {due}, UTC)"));
            Finding::new(check, Status::Warn, vec![], format!("{described}: due within {ROTATION_WARNING_DAYS} days"))
                .hint(format!(
                    "the first `stowage apply SPEC` once it is {after_days} days old{on} replaces it; {rotate_now}"
                ))
        }
        (None, _) if age.age_days > UNROTATED_MAX_AGE_DAYS => Finding::new(
            check,
            Status::Warn,
            vec![],
            format!("{described}, and older than {UNROTATED_MAX_AGE_DAYS} days"),
        )
        .hint(format!("set `rotate_after_days` in `[uploader]` to have `stowage apply SPEC` rotate it; {rotate_now}")),
        _ => Finding::new(check, Status::Pass, vec![], described),
    })
}

fn credential(expected: &Expected, observations: &Observations) -> Vec<Finding> {
    let code = codes(expected, CREDENTIAL_DELETED);
    let found = observed(observations, &expected.twilio(credential_address()));
    let mut findings = vec![match found {
        Some(credential) => Finding::new(
            "twilio_credential",
            Status::Pass,
            code,
            format!("Twilio credential `{}` exists", credential.id),
        ),
        None => Finding::new(
            "twilio_credential",
            Status::Fail,
            code,
            "the Twilio AWS credential recorded in the state does not exist",
        )
        .hint("run `stowage apply` to create a new key and credential"),
    }];
    let credential_sid = found.map(|credential| credential.id.as_str());
    for stored in &expected.stored {
        let kind = stored.kind;
        let Some(settings) = observed(observations, &expected.twilio(kind.settings_address())) else { continue };
        let check = format!("{}.credential", kind.noun());
        let code = vec![kind.code(CREDENTIAL_DELETED)];
        let used = text(settings, "aws_credentials_sid");
        findings.push(match (used, credential_sid) {
            (Some(used), Some(sid)) if used == sid => {
                Finding::new(check, Status::Pass, code, format!("Twilio's {} use credential `{sid}`", kind.settings()))
            }
            (used, Some(sid)) => Finding::new(
                check,
                Status::Fail,
                code,
                format!(
                    "Twilio's {} use credential `{}`, not stowage's `{sid}`",
                    kind.settings(),
                    used.unwrap_or("none")
                ),
            )
            .hint("run `stowage apply` to point the settings at stowage's credential"),
            (used, None) => Finding::new(
                check,
                Status::Fail,
                code,
                format!(
                    "Twilio's {} use credential `{}`, which does not exist",
                    kind.settings(),
                    used.unwrap_or("none")
                ),
            )
            .hint("run `stowage apply` to create a new key and credential and point the settings at it"),
        });
    }
    findings
}

/// What the state takes on trust: a warning each, since no read can prove it (Twilio never
/// returns which key a credential holds), and the way to replace it with what stowage makes
/// and tests.
fn unproven(inspections: &Inspections) -> Vec<Finding> {
    inspections
        .unproven
        .iter()
        .map(|(address, why)| {
            Finding::new(format!("{address}.unproven"), Status::Warn, vec![], format!("`{address}` was {why}")).hint(
                "Twilio's test files show whether Twilio could write when storage was switched on; for a key and \
                     credential that stowage makes and tests, run `stowage rotate SPEC`",
            )
        })
        .collect()
}

/// Twilio writes a `.txt` test file when storage is switched on; its name is not documented,
/// so any `.txt` directly under the prefix counts.
fn test_file(stored: &Stored, inspections: &Inspections) -> Option<Finding> {
    let check = format!("{}.test_file", stored.kind.noun());
    Some(match inspections.test_files.get(&stored.kind)? {
        Ok(keys) if !keys.is_empty() => {
            Finding::new(check, Status::Pass, vec![], format!("Twilio's test file `{}` is in the bucket", keys[0]))
        }
        Ok(_) => Finding::new(
            check,
            Status::Warn,
            vec![],
            format!(
                "no `.txt` test file directly under the {} prefix: Twilio's write test left none, or it was deleted",
                stored.kind.noun()
            ),
        )
        .hint("harmless by itself; switching storage off and on in Twilio writes it again"),
        Err(why) => Finding::new(
            check,
            Status::Unknown,
            vec![],
            format!("could not list the {} prefix: {why}", stored.kind.noun()),
        ),
    })
}

/// The report for people: what needs action first, one line per check, then a summary.
pub fn render_human(findings: &[Finding]) -> String {
    let mut ordered: Vec<&Finding> = findings.iter().collect();
    ordered.sort_by_key(|finding| finding.status);
    let mut out = String::new();
    for finding in ordered {
        let symbol = match finding.status {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Warn => "!",
            Status::Unknown => "?",
        };
        let codes = if finding.twilio_codes.is_empty() {
            String::new()
        } else {
            let codes: Vec<String> = finding.twilio_codes.iter().map(u16::to_string).collect();
            format!(" [Twilio {}]", codes.join(", "))
        };
        let _ = writeln!(out, "{symbol} {}: {}{codes}", finding.check, finding.message);
        if finding.status != Status::Pass
            && let Some(hint) = &finding.hint
        {
            let _ = writeln!(out, "    hint: {hint}");
        }
    }
    let count = |status: Status| findings.iter().filter(|finding| finding.status == status).count();
    let _ = writeln!(
        out,
        "\n{} passed, {} failed, {} warnings, {} could not be checked",
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Warn),
        count(Status::Unknown)
    );
    out
}

/// The report for tools, from its boundary types ([`json`]), with the key's age (see
/// [`Inspections::key_age`]).
pub fn render_json(findings: &[Finding], key_age: Option<&KeyAge>) -> Value {
    // Strings, numbers and lists only: this cannot fail.
    serde_json::to_value(json::json_report(findings, key_age)).expect("a verify report is plain data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stowage_provider::Attributes;

    use crate::model::{DesiredResource, DesiredValue};
    use crate::rotation::key_ages;

    const KEY_ID: &str = "AKIAEXAMPLEEXAMPLE12";
    /// When IAM made the key of [`healthy`].
    const KEY_CREATED: &str = "2026-01-01T14:30:00Z";
    const CREDENTIAL: &str = "CR0123456789abcdef0123456789abcdef";
    const KMS_KEY: &str = "arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn expected() -> Expected {
        Expected {
            partition: "aws".to_owned(),
            bucket: "acme-video-dev".to_owned(),
            region: "us-east-2".to_owned(),
            uploader_for_twilio: true,
            stored: vec![
                Stored { kind: StorageKind::Recordings, prefix: "recordings/".to_owned() },
                Stored { kind: StorageKind::Compositions, prefix: "compositions/".to_owned() },
            ],
            member: None,
            uploader_key: None,
        }
    }

    fn found(id: &str, attributes: Value) -> Option<Observed> {
        let attributes: Attributes = serde_json::from_value(attributes).unwrap();
        Some(Observed { id: id.to_owned(), attributes })
    }

    fn policy(resources: &[&str]) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": resources}]})
    }

    fn settings(prefix: &str) -> Option<Observed> {
        found(
            "Default",
            json!({
                "aws_storage_enabled": true,
                "aws_s3_url": format!("https://acme-video-dev.s3-us-east-2.amazonaws.com/{prefix}"),
                "aws_credentials_sid": CREDENTIAL,
            }),
        )
    }

    /// A healthy environment, as refresh observes it.
    fn healthy() -> Observations {
        Observations::from([
            (bucket_address(), found("acme-video-dev", json!({"name": "acme-video-dev", "region": "us-east-2"}))),
            (
                policy_address(),
                found(
                    "u:p",
                    json!({"document": policy(&["arn:aws:s3:::acme-video-dev/recordings/*", "arn:aws:s3:::acme-video-dev/compositions/*"])}),
                ),
            ),
            (access_key_address(), found(KEY_ID, json!({"status": "Active", "created_at": KEY_CREATED}))),
            (credential_address(), found(CREDENTIAL, json!({"sid": CREDENTIAL}))),
            (recording_settings_address(), settings("recordings")),
            (composition_settings_address(), settings("compositions")),
        ])
    }

    /// `healthy()` with the bucket's default encryption as the refresh would read it.
    fn encrypted(algorithm: &str, key: Option<&str>) -> Observations {
        let mut observations = healthy();
        let bucket =
            json!({"name": "acme-video-dev", "region": "us-east-2", "sse_algorithm": algorithm, "sse_kms_key": key});
        observations.insert(bucket_address(), found("acme-video-dev", bucket));
        observations
    }

    fn inspected() -> Inspections {
        Inspections {
            test_files: BTreeMap::from([
                (StorageKind::Recordings, Ok(vec!["recordings/twilio-storage-test-recordings.txt".to_owned()])),
                (StorageKind::Compositions, Ok(vec!["compositions/twilio-storage-test-compositions.txt".to_owned()])),
            ]),
            unproven: BTreeMap::new(),
            key_age: key_age(30, Some(90)),
        }
    }

    /// The age of [`healthy`]'s key `days` days and 3 hours after it was made, with the spec's
    /// `rotate_after_days`, as the command computes it.
    fn key_age(days: i64, rotate_after_days: Option<u64>) -> Option<crate::rotation::KeyAge> {
        let mut attributes = BTreeMap::from([("status".to_owned(), DesiredValue::Known(json!("Active")))]);
        if let Some(period) = rotate_after_days {
            attributes.insert("rotate_after_days".to_owned(), DesiredValue::Known(json!(period)));
        }
        let key = DesiredResource { address: access_key_address(), attributes, depends_on: Vec::new() };
        let created: jiff::Timestamp = KEY_CREATED.parse().unwrap();
        let now = created + jiff::SignedDuration::from_hours(days * 24 + 3);
        key_ages(&[key], &healthy(), now).pop()
    }

    /// The `access_key.rotation` finding for a key `days` old with the spec's period.
    fn rotation(days: i64, rotate_after_days: Option<u64>) -> Finding {
        let inspections = Inspections { key_age: key_age(days, rotate_after_days), ..inspected() };
        let findings = verify(&expected(), &healthy(), &inspections);
        assert_eq!(outcome(&findings), Outcome::Passed, "a key's age never fails a run");
        findings.into_iter().find(|finding| finding.check == "access_key.rotation").expect("a rotation finding")
    }

    fn not_passed(findings: &[Finding]) -> Vec<(String, Status, Vec<u16>)> {
        findings
            .iter()
            .filter(|finding| finding.status != Status::Pass)
            .map(|finding| (finding.check.clone(), finding.status, finding.twilio_codes.clone()))
            .collect()
    }

    #[test]
    fn a_healthy_environment_passes_every_check() {
        let findings = verify(&expected(), &healthy(), &inspected());
        assert_eq!(not_passed(&findings), vec![]);
        assert_eq!(outcome(&findings), Outcome::Passed);
        insta::assert_snapshot!(render_human(&findings));
    }

    #[test]
    fn test_files_are_looked_for_where_the_urls_point() {
        let locations = test_file_locations(&expected(), &healthy());
        assert_eq!(
            locations,
            vec![
                TestFileLocation {
                    kind: StorageKind::Recordings,
                    bucket: "acme-video-dev".to_owned(),
                    prefix: "recordings/".to_owned()
                },
                TestFileLocation {
                    kind: StorageKind::Compositions,
                    bucket: "acme-video-dev".to_owned(),
                    prefix: "compositions/".to_owned()
                },
            ]
        );
    }

    #[test]
    fn a_dash_host_for_a_bucket_in_a_region_without_one_is_53610() {
        let mut expected = expected();
        expected.region = "af-south-1".to_owned();
        let mut observations = healthy();
        observations.insert(
            bucket_address(),
            found("acme-video-dev", json!({"name": "acme-video-dev", "region": "af-south-1"})),
        );
        let url = |form: &str, prefix: &str| format!("https://acme-video-dev.{form}af-south-1.amazonaws.com/{prefix}");
        for (address, form, prefix) in [
            (recording_settings_address(), "s3-", "recordings"),
            (composition_settings_address(), "s3.", "compositions"),
        ] {
            observations.insert(
                address,
                found(
                    "Default",
                    json!({"aws_storage_enabled": true, "aws_credentials_sid": CREDENTIAL, "aws_s3_url": url(form, prefix)}),
                ),
            );
        }
        let findings = verify(&expected, &observations, &inspected());
        assert_eq!(not_passed(&findings), vec![("recordings.s3_host".to_owned(), Status::Fail, vec![53610])]);
        let failed = findings.iter().find(|finding| finding.status == Status::Fail).unwrap();
        insta::assert_snapshot!(failed.message, @"the S3 URL's host `acme-video-dev.s3-af-south-1.amazonaws.com` does not exist for a bucket in `af-south-1`: AWS answers there only at `acme-video-dev.s3.af-south-1.amazonaws.com`, so every upload would fail");
    }

    #[test]
    fn a_region_mismatch_and_a_malformed_url_are_53610_and_53620() {
        let mut observations = healthy();
        observations.insert(
            recording_settings_address(),
            found(
                "Default",
                json!({"aws_storage_enabled": true, "aws_credentials_sid": CREDENTIAL,
                "aws_s3_url": "https://acme-video-dev.s3-us-west-1.amazonaws.com/recordings"}),
            ),
        );
        observations.insert(
            composition_settings_address(),
            found("Default", json!({"aws_storage_enabled": true, "aws_credentials_sid": CREDENTIAL, "aws_s3_url": "s3://acme-video-dev/compositions"})),
        );
        let findings = verify(&expected(), &observations, &inspected());
        assert_eq!(
            not_passed(&findings),
            vec![
                ("recordings.bucket_region".to_owned(), Status::Fail, vec![53610]),
                ("compositions.s3_url".to_owned(), Status::Fail, vec![53620]),
            ]
        );
        insta::assert_snapshot!(render_human(&findings));
    }

    #[test]
    fn a_missing_bucket_fails_without_a_region_check() {
        let mut observations = healthy();
        observations.insert(bucket_address(), None);
        let findings = verify(&expected(), &observations, &inspected());
        assert_eq!(not_passed(&findings), vec![("bucket".to_owned(), Status::Fail, vec![53610, 53620])]);
    }

    #[test]
    fn an_inactive_key_is_53611_and_a_deleted_credential_53613() {
        let mut observations = healthy();
        observations.insert(access_key_address(), found(KEY_ID, json!({"status": "Inactive"})));
        observations.insert(credential_address(), None);
        let findings = verify(&expected(), &observations, &inspected());
        assert_eq!(
            not_passed(&findings),
            vec![
                ("access_key".to_owned(), Status::Fail, vec![53611, 53621]),
                ("twilio_credential".to_owned(), Status::Fail, vec![53613, 53623]),
                ("recordings.credential".to_owned(), Status::Fail, vec![53613]),
                ("compositions.credential".to_owned(), Status::Fail, vec![53623]),
            ]
        );
        assert_eq!(outcome(&findings), Outcome::Findings);
        insta::assert_snapshot!(render_human(&findings));
    }

    #[test]
    fn a_narrowed_or_widened_policy_fails() {
        let mut observations = healthy();
        observations.insert(
            policy_address(),
            found("u:p", json!({"document": policy(&["arn:aws:s3:::acme-video-dev/recordings/*"])})),
        );
        let findings = verify(&expected(), &observations, &inspected());
        assert_eq!(
            not_passed(&findings),
            vec![("uploader_policy.put_compositions".to_owned(), Status::Fail, vec![53625])]
        );

        let wide = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::acme-video-dev/*"}]});
        observations.insert(policy_address(), found("u:p", json!({"document": wide})));
        let findings = verify(&expected(), &observations, &inspected());
        assert_eq!(not_passed(&findings), vec![("uploader_policy.nothing_else".to_owned(), Status::Fail, vec![])]);
        insta::assert_snapshot!(findings.iter().find(|finding| finding.status == Status::Fail).unwrap().message);
    }

    #[test]
    fn a_conditional_policy_cannot_be_checked() {
        let mut observations = healthy();
        let conditional = json!({"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]});
        observations.insert(policy_address(), found("u:p", json!({"document": conditional})));
        let findings = verify(&expected(), &observations, &inspected());
        assert!(not_passed(&findings).iter().all(|(_, status, _)| *status == Status::Unknown), "{findings:#?}");
        assert_eq!(outcome(&findings), Outcome::Incomplete);
    }

    #[test]
    fn what_the_state_takes_on_trust_is_a_warning_that_says_how_to_prove_it() {
        let mut inspections = inspected();
        let why = "imported: which access key this Twilio AWS credential holds is taken on trust";
        inspections.unproven.insert(credential_address(), why.to_owned());
        let findings = verify(&expected(), &healthy(), &inspections);
        let warned: Vec<&Finding> = findings.iter().filter(|finding| finding.status != Status::Pass).collect();
        assert_eq!(warned.len(), 1, "{findings:#?}");
        assert_eq!((warned[0].check.as_str(), warned[0].status), ("twilio_aws_credential.main.unproven", Status::Warn));
        assert!(warned[0].message.contains(why), "{}", warned[0].message);
        assert!(warned[0].hint.as_deref().is_some_and(|hint| hint.contains("stowage rotate")));
        assert_eq!(outcome(&findings), Outcome::Passed, "a warning does not fail the run");
    }

    #[test]
    fn sse_s3_and_a_missing_test_file_warn_without_failing() {
        let inspections = Inspections {
            test_files: BTreeMap::from([
                (StorageKind::Recordings, Ok(vec![])),
                (StorageKind::Compositions, Err("AccessDenied".to_owned())),
            ]),
            ..inspected()
        };
        let findings = verify(&expected(), &encrypted("AES256", None), &inspections);
        assert_eq!(
            not_passed(&findings),
            vec![
                ("bucket_encryption".to_owned(), Status::Warn, vec![53615, 53625]),
                ("recordings.test_file".to_owned(), Status::Warn, vec![]),
                ("compositions.test_file".to_owned(), Status::Unknown, vec![]),
            ]
        );
        assert_eq!(outcome(&findings[..findings.len() - 1]), Outcome::Passed, "warnings do not fail");
    }

    #[test]
    fn sse_kms_needs_the_kms_actions_on_the_key() {
        let findings = verify(&expected(), &encrypted("aws:kms", Some(KMS_KEY)), &inspected());
        assert_eq!(not_passed(&findings), vec![("uploader_policy.kms".to_owned(), Status::Fail, vec![53615, 53625])]);

        let mut observations = encrypted("aws:kms", Some(KMS_KEY));
        let mut document =
            policy(&["arn:aws:s3:::acme-video-dev/recordings/*", "arn:aws:s3:::acme-video-dev/compositions/*"]);
        document["Statement"].as_array_mut().unwrap().push(json!({"Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": KMS_KEY}));
        observations.insert(policy_address(), found("u:p", json!({"document": document})));
        let findings = verify(&expected(), &observations, &inspected());
        assert_eq!(not_passed(&findings), vec![]);

        let policy_with_kms = observations[&policy_address()].clone();
        let mut by_alias = encrypted("aws:kms", Some("alias/video"));
        by_alias.insert(policy_address(), policy_with_kms);
        let findings = verify(&expected(), &by_alias, &inspected());
        assert_eq!(
            not_passed(&findings),
            vec![("uploader_policy.kms".to_owned(), Status::Unknown, vec![53615, 53625])]
        );
    }

    #[test]
    fn settings_pointing_elsewhere_fail_53613() {
        let mut observations = healthy();
        let mut other = settings("recordings");
        if let Some(other) = other.as_mut() {
            other.attributes.insert("aws_credentials_sid".to_owned(), json!("CRffffffffffffffffffffffffffffffff"));
        }
        observations.insert(recording_settings_address(), other);
        let findings = verify(&expected(), &observations, &inspected());
        assert_eq!(not_passed(&findings), vec![("recordings.credential".to_owned(), Status::Fail, vec![53613])]);
        let json = render_json(&findings, None);
        assert_eq!(json["outcome"], "findings");
        assert_eq!(json["findings"].as_array().map(Vec::len), Some(findings.len()));
        let failed: Vec<Finding> = findings.into_iter().filter(|finding| finding.status == Status::Fail).collect();
        insta::assert_snapshot!(serde_json::to_string_pretty(&render_json(&failed, None)).unwrap());
    }

    #[test]
    fn without_a_period_a_key_older_than_90_days_warns() {
        for days in [89, 90] {
            assert_eq!(rotation(days, None).status, Status::Pass, "{days} days");
        }
        let old = rotation(91, None);
        assert_eq!(old.status, Status::Warn);
        insta::assert_snapshot!(render_human(&[old]), @r"
        ! access_key.rotation: access key `AKIAEXAMPLEEXAMPLE12` is 91 days old; it is not rotated on a schedule (no `rotate_after_days` is set), and older than 90 days
            hint: set `rotate_after_days` in `[uploader]` to have `stowage apply SPEC` rotate it; `stowage rotate SPEC` replaces the key and Twilio's credential now

        0 passed, 0 failed, 1 warnings, 0 could not be checked
        ");
    }

    #[test]
    fn with_a_period_a_rotation_due_within_7_days_or_overdue_warns() {
        // (age in days, status): due on the 90th day.
        for (days, status) in
            [(30, Status::Pass), (82, Status::Pass), (83, Status::Warn), (89, Status::Warn), (90, Status::Warn)]
        {
            assert_eq!(rotation(days, Some(90)).status, status, "{days} days");
        }
        let soon = rotation(85, Some(90));
        let overdue = rotation(91, Some(90));
        insta::assert_snapshot!(render_human(&[rotation(30, Some(90)), soon, overdue]), @r"
        ! access_key.rotation: access key `AKIAEXAMPLEEXAMPLE12` is 85 days old; next rotation on 2026-04-01 (every 90 days): due within 7 days
            hint: the first `stowage apply SPEC` once it is 90 days old (on 2026-04-01, UTC) replaces it; `stowage rotate SPEC` replaces the key and Twilio's credential now
        ! access_key.rotation: access key `AKIAEXAMPLEEXAMPLE12` is 91 days old; its rotation was due on 2026-04-01 (every 90 days): the next apply replaces it
            hint: run `stowage apply SPEC` to rotate it; `stowage rotate SPEC` replaces the key and Twilio's credential now
        ✓ access_key.rotation: access key `AKIAEXAMPLEEXAMPLE12` is 30 days old; next rotation on 2026-04-01 (every 90 days)

        1 passed, 0 failed, 2 warnings, 0 could not be checked
        ");
    }

    #[test]
    fn a_key_of_unknown_age_cannot_be_checked_and_no_key_has_no_age() {
        let inspections = Inspections { key_age: None, ..inspected() };
        let findings = verify(&expected(), &healthy(), &inspections);
        assert_eq!(not_passed(&findings), vec![("access_key.rotation".to_owned(), Status::Unknown, vec![])]);
        assert_eq!(outcome(&findings), Outcome::Incomplete);

        let mut observations = healthy();
        observations.insert(access_key_address(), None);
        let findings = verify(&expected(), &observations, &inspected());
        assert!(findings.iter().all(|finding| finding.check != "access_key.rotation"), "{findings:#?}");
    }

    #[test]
    fn the_json_report_carries_the_key_age_and_the_due_date() {
        let findings = verify(&expected(), &healthy(), &inspected());
        let with_period = key_age(85, Some(90));
        let report = render_json(&findings, with_period.as_ref());
        assert_eq!((&report["key_age_days"], &report["rotation_due"]), (&json!(85), &json!("2026-04-01")));
        let without_period = key_age(100, None);
        let report = render_json(&findings, without_period.as_ref());
        assert_eq!((&report["key_age_days"], &report["rotation_due"]), (&json!(100), &Value::Null));
        let report = render_json(&findings, None);
        assert_eq!((&report["key_age_days"], &report["rotation_due"]), (&Value::Null, &Value::Null));
    }

    /// That `docs/verify-report.schema.json` is these types is `tests/render_schemas.rs`'s.
    #[test]
    fn reports_validate_against_the_schema() {
        let validator = jsonschema::validator_for(&json::json_schema()).expect("the schema compiles");
        let mut observations = healthy();
        observations.insert(credential_address(), None);
        let inspections = Inspections {
            test_files: BTreeMap::from([(StorageKind::Recordings, Err("AccessDenied".to_owned()))]),
            ..inspected()
        };
        for findings in
            [verify(&expected(), &healthy(), &inspected()), verify(&expected(), &observations, &inspections)]
        {
            let document = render_json(&findings, inspected().key_age.as_ref());
            let errors: Vec<String> = validator.iter_errors(&document).map(|error| error.to_string()).collect();
            assert_eq!(errors, Vec::<String>::new());
        }
        let without_period = key_age(100, None);
        let document = render_json(&verify(&expected(), &healthy(), &inspected()), without_period.as_ref());
        assert_eq!(
            validator.iter_errors(&document).map(|error| error.to_string()).collect::<Vec<_>>(),
            Vec::<String>::new()
        );
        let mut unknown_status = render_json(&verify(&expected(), &healthy(), &inspected()), None);
        unknown_status["findings"][0]["status"] = json!("maybe");
        assert!(!validator.is_valid(&unknown_status));
    }
}
