//! Twilio's storage write test: when storage is switched on, Twilio puts a small text file
//! into the bucket with the stored AWS credential, and refuses the settings if that fails.
//!
//! The emulator does the same against its S3 endpoint (moto in tests), path-style, signing
//! for the region named in the URL.

use std::time::Duration;

use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use stowage_provider::Secret;

use crate::operation::SettingsKind;

/// Long enough for a loaded moto; short enough that a hung endpoint fails the POST visibly.
const WRITE_TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// What a URL path segment keeps unescaped: RFC 3986's unreserved characters.
const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

const TEST_FILE_BODY: &str = "Twilio storage write test: Twilio checked it can write here. Safe to delete.\n";

/// Where an `AwsS3Url` points: bucket, region and key prefix (no leading or trailing `/`),
/// and whether the host is the legacy dash form `s3-REGION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Location {
    pub bucket: String,
    pub region: String,
    pub prefix: String,
    pub dash_host: bool,
}

/// The regions where AWS has the legacy `BUCKET.s3-REGION.amazonaws.com` host: those launched
/// before 20 March 2019, and GovCloud. Newer regions answer only at `s3.REGION`, with no
/// redirect from a dash host. (The emulator keeps its own list: it shares no code with the
/// client it fakes.)
const REGIONS_WITH_DASH_HOSTS: [&str; 19] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "us-gov-west-1",
    "us-gov-east-1",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum S3UrlProblem {
    #[error("it is not a URL")]
    NotUrl,
    #[error("it must use https")]
    NotHttps,
    #[error("it must not carry a port, user, query or fragment")]
    ExtraParts,
    #[error("its host must be BUCKET.s3-REGION.amazonaws.com or BUCKET.s3.REGION.amazonaws.com")]
    NotS3VirtualHost,
}

impl S3Location {
    /// Reads `https://BUCKET.s3-REGION.amazonaws.com/PATH` and
    /// `https://BUCKET.s3.REGION.amazonaws.com/PATH`.
    pub fn parse(url: &str) -> Result<Self, S3UrlProblem> {
        let url = url::Url::parse(url).map_err(|_| S3UrlProblem::NotUrl)?;
        if url.scheme() != "https" {
            return Err(S3UrlProblem::NotHttps);
        }
        if url.port().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(S3UrlProblem::ExtraParts);
        }
        let host = url.host_str().ok_or(S3UrlProblem::NotS3VirtualHost)?;
        let (bucket, region, dash_host) = host
            .strip_suffix(".amazonaws.com")
            .and_then(|rest| {
                // The bucket may itself contain dots, so look for the last S3 marker.
                [(".s3.", false), (".s3-", true)]
                    .into_iter()
                    .filter_map(|(marker, dash)| {
                        rest.rsplit_once(marker).map(|(bucket, region)| (bucket, region, dash))
                    })
                    .find(|(bucket, region, _)| !bucket.is_empty() && is_region(region))
            })
            .ok_or(S3UrlProblem::NotS3VirtualHost)?;
        let path = percent_encoding::percent_decode_str(url.path()).decode_utf8().map_err(|_| S3UrlProblem::NotUrl)?;
        Ok(Self {
            bucket: bucket.to_owned(),
            region: region.to_owned(),
            prefix: path.trim_matches('/').to_owned(),
            dash_host,
        })
    }

    /// Why Twilio's uploader, which writes over HTTPS to the URL's own host, could never reach
    /// the bucket there, where real S3 would not answer: a dash host in a region without one
    /// (no such endpoint, no redirect), or a dotted bucket name (S3's certificate,
    /// `*.s3.REGION.amazonaws.com`, covers one label, so TLS validation fails).
    pub fn unreachable_because(&self) -> Option<String> {
        if self.dash_host && !REGIONS_WITH_DASH_HOSTS.contains(&self.region.as_str()) {
            return Some(format!(
                "S3 has no endpoint s3-{0}.amazonaws.com; buckets in {0} are reached at s3.{0}.amazonaws.com",
                self.region
            ));
        }
        if self.bucket.contains('.') {
            return Some(format!(
                "TLS certificate validation fails for {}: S3's certificate does not cover bucket names with dots",
                self.bucket
            ));
        }
        None
    }

    /// The key of the write test's object for `kind`, under the URL's path.
    pub fn test_object_key(&self, kind: SettingsKind) -> String {
        self.key_of(&format!("twilio-storage-test-{}.txt", kind.noun()))
    }

    /// The key of `file_name` under the URL's path.
    pub fn key_of(&self, file_name: &str) -> String {
        if self.prefix.is_empty() { file_name.to_owned() } else { format!("{}/{file_name}", self.prefix) }
    }

    /// The URL of the object `key` at the URL's own host, as Twilio reports where it stored it
    /// (`media_external_location`).
    pub fn object_url(&self, key: &str) -> String {
        let host = if self.dash_host { format!("s3-{}", self.region) } else { format!("s3.{}", self.region) };
        let path: String = key
            .split('/')
            .map(|segment| percent_encoding::utf8_percent_encode(segment, PATH_SEGMENT).to_string())
            .collect::<Vec<_>>()
            .join("/");
        format!("https://{}.{host}.amazonaws.com/{path}", self.bucket)
    }
}

/// An AWS region name such as `us-east-2` or `ap-southeast-1`.
fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_alphanumeric()))
        && parts.last().is_some_and(|last| last.bytes().all(|byte| byte.is_ascii_digit()))
}

/// Why the test object could not be written, by what S3 said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WriteFailure {
    /// The credential is valid but may not write there (`AccessDenied`).
    AccessDenied { s3_code: String },
    /// S3 does not know the key or the signature is wrong.
    InvalidCredentials { s3_code: String },
    /// The bucket does not exist, is in another region, or S3 refused it for another reason.
    BucketUnusable { s3_code: String },
    /// The S3 endpoint could not be reached or failed: the emulator's setup, not the client's
    /// request, is at fault.
    EndpointFailed { detail: String },
}

/// An object to put: its key, media type and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Object<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub body: Vec<u8>,
}

/// Puts the test object with a given AWS credential.
#[derive(Debug, Clone)]
pub(crate) struct WriteTester {
    endpoint: String,
}

impl WriteTester {
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self { endpoint: endpoint.into() }
    }

    pub async fn put_test_object(
        &self,
        location: &S3Location,
        key: &str,
        access_key_id: &str,
        secret_access_key: &Secret,
    ) -> Result<(), WriteFailure> {
        let object = S3Object { key, content_type: "text/plain", body: TEST_FILE_BODY.as_bytes().to_vec() };
        self.put_object(location, object, access_key_id, secret_access_key).await
    }

    /// Puts `object` into the bucket of `location` with the given AWS credential, as Twilio's
    /// uploader does: one `PutObject`, no SSE headers (the bucket's default encryption applies).
    pub async fn put_object(
        &self,
        location: &S3Location,
        object: S3Object<'_>,
        access_key_id: &str,
        secret_access_key: &Secret,
    ) -> Result<(), WriteFailure> {
        let credentials =
            Credentials::new(access_key_id, secret_access_key.expose(), None, None, "twilio-emulator-aws-credential");
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .region(Region::new(location.region.clone()))
            .credentials_provider(credentials)
            .timeout_config(TimeoutConfig::builder().operation_timeout(WRITE_TEST_TIMEOUT).build())
            .build();
        let result = aws_sdk_s3::Client::from_conf(config)
            .put_object()
            .bucket(&location.bucket)
            .key(object.key)
            .content_type(object.content_type)
            .body(ByteStream::from(object.body))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(context)) => {
                let s3_code = context.err().code().unwrap_or("Unknown").to_owned();
                Err(classify(s3_code, context.raw().status().as_u16()))
            }
            Err(other) => Err(WriteFailure::EndpointFailed { detail: DisplayErrorContext(&other).to_string() }),
        }
    }
}

fn classify(s3_code: String, http_status: u16) -> WriteFailure {
    match s3_code.as_str() {
        "AccessDenied" | "AllAccessDisabled" | "AccountProblem" => WriteFailure::AccessDenied { s3_code },
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken" | "ExpiredToken" | "InvalidSecurity" => {
            WriteFailure::InvalidCredentials { s3_code }
        }
        _ if http_status >= 500 => {
            WriteFailure::EndpointFailed { detail: format!("S3 answered {http_status} {s3_code}") }
        }
        _ => WriteFailure::BucketUnusable { s3_code },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(bucket: &str, region: &str, prefix: &str) -> S3Location {
        S3Location { bucket: bucket.into(), region: region.into(), prefix: prefix.into(), dash_host: false }
    }

    #[test]
    fn parses_both_regional_host_forms() {
        assert_eq!(
            S3Location::parse("https://acme-video.s3-us-east-2.amazonaws.com/recordings"),
            Ok(S3Location { dash_host: true, ..location("acme-video", "us-east-2", "recordings") })
        );
        assert_eq!(
            S3Location::parse("https://acme.video.s3.eu-west-1.amazonaws.com/a/b/"),
            Ok(location("acme.video", "eu-west-1", "a/b"))
        );
        assert_eq!(
            S3Location::parse("https://acme-video.s3.us-east-2.amazonaws.com"),
            Ok(location("acme-video", "us-east-2", ""))
        );
        assert_eq!(
            S3Location::parse("https://b.s3.us-east-2.amazonaws.com/with%20space"),
            Ok(location("b", "us-east-2", "with space"))
        );
    }

    #[test]
    fn hosts_real_s3_would_not_answer_are_unreachable() {
        let parse = |url: &str| S3Location::parse(url).unwrap();
        assert_eq!(parse("https://b.s3-us-east-2.amazonaws.com/r").unreachable_because(), None);
        assert_eq!(parse("https://b.s3.af-south-1.amazonaws.com/r").unreachable_because(), None);
        assert_eq!(
            parse("https://b.s3-af-south-1.amazonaws.com/r").unreachable_because().as_deref(),
            Some(
                "S3 has no endpoint s3-af-south-1.amazonaws.com; buckets in af-south-1 are reached at s3.af-south-1.amazonaws.com"
            )
        );
        assert!(parse("https://a.b.s3.us-east-2.amazonaws.com/r").unreachable_because().unwrap().contains("TLS"));
    }

    #[test]
    fn rejects_other_urls() {
        let cases = [
            ("not a url", S3UrlProblem::NotUrl),
            ("http://b.s3.us-east-2.amazonaws.com/r", S3UrlProblem::NotHttps),
            ("https://b.s3.us-east-2.amazonaws.com:8443/r", S3UrlProblem::ExtraParts),
            ("https://b.s3.us-east-2.amazonaws.com/r?x=1", S3UrlProblem::ExtraParts),
            ("https://b.s3.amazonaws.com/r", S3UrlProblem::NotS3VirtualHost),
            ("https://s3.us-east-2.amazonaws.com/b/r", S3UrlProblem::NotS3VirtualHost),
            ("https://b.example.com/r", S3UrlProblem::NotS3VirtualHost),
            ("https://b.s3-website.amazonaws.com/r", S3UrlProblem::NotS3VirtualHost),
        ];
        for (url, problem) in cases {
            assert_eq!(S3Location::parse(url), Err(problem), "{url}");
        }
    }

    #[test]
    fn test_object_keys_sit_under_the_prefix_without_a_leading_slash() {
        assert_eq!(
            location("b", "us-east-2", "recordings").test_object_key(SettingsKind::Recordings),
            "recordings/twilio-storage-test-recordings.txt"
        );
        assert_eq!(
            location("b", "us-east-2", "").test_object_key(SettingsKind::Compositions),
            "twilio-storage-test-compositions.txt"
        );
    }

    #[test]
    fn object_urls_use_the_urls_own_host_form() {
        let dash = S3Location { dash_host: true, ..location("acme-video", "us-east-2", "recordings") };
        assert_eq!(
            dash.object_url(&dash.key_of("RT0.mka")),
            "https://acme-video.s3-us-east-2.amazonaws.com/recordings/RT0.mka"
        );
        let dot = location("b", "eu-west-1", "with space");
        assert_eq!(dot.object_url(&dot.key_of("CJ0.mp4")), "https://b.s3.eu-west-1.amazonaws.com/with%20space/CJ0.mp4");
        assert_eq!(location("b", "eu-west-1", "").key_of("CJ0.mp4"), "CJ0.mp4");
    }

    #[test]
    fn s3_error_codes_are_classified() {
        assert!(matches!(classify("AccessDenied".into(), 403), WriteFailure::AccessDenied { .. }));
        assert!(matches!(classify("SignatureDoesNotMatch".into(), 403), WriteFailure::InvalidCredentials { .. }));
        assert!(matches!(classify("InvalidAccessKeyId".into(), 403), WriteFailure::InvalidCredentials { .. }));
        assert!(matches!(classify("NoSuchBucket".into(), 404), WriteFailure::BucketUnusable { .. }));
        assert!(matches!(classify("PermanentRedirect".into(), 301), WriteFailure::BucketUnusable { .. }));
        assert!(matches!(classify("InternalError".into(), 500), WriteFailure::EndpointFailed { .. }));
    }
}
