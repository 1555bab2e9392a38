//! Names an AWS request the way the SDK names its operation, from the wire alone.

use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use hyper::{Method, Uri};

/// What a request was: its service, operation and whether it changes anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub service: String,
    pub operation: String,
    pub is_write: bool,
    /// The S3 bucket a request addresses (path-style: `/BUCKET/KEY`), if any.
    pub bucket: Option<String>,
}

pub(crate) fn classify(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Call {
    // The proxy also stands in front of the Twilio emulator: HTTP Basic is Twilio's, never AWS's.
    if header_text(headers, AUTHORIZATION.as_str()).is_some_and(|authorization| authorization.starts_with("Basic ")) {
        return Call {
            service: "twilio".to_owned(),
            operation: format!("{method} {}", uri.path()),
            is_write: !matches!(*method, Method::GET | Method::HEAD),
            bucket: None,
        };
    }
    let scope_service = credential_scope_service(headers);

    // awsJson protocols (KMS): `X-Amz-Target: TrentService.CreateKey`.
    if let Some(target) = header_text(headers, "x-amz-target") {
        let (prefix, operation) = target.rsplit_once('.').unwrap_or(("", target));
        let service = match (prefix, scope_service) {
            ("TrentService", _) => "kms".to_owned(),
            (_, Some(service)) => service,
            (prefix, None) => prefix.to_lowercase(),
        };
        return query_style_call(service, operation);
    }

    // awsQuery protocols (IAM, STS): `Action=CreateUser` in the form body or the query.
    if scope_service.as_deref() != Some("s3") {
        let form_body = header_text(headers, CONTENT_TYPE.as_str())
            .is_some_and(|content_type| content_type.contains("x-www-form-urlencoded"));
        let query = uri.query().unwrap_or("").as_bytes();
        let parameter =
            |name: &str| form_value(query, name).or_else(|| form_body.then(|| form_value(body, name)).flatten());
        if let Some(action) = parameter("Action") {
            let service = scope_service.unwrap_or_else(|| {
                match parameter("Version").as_deref() {
                    Some("2011-06-15") => "sts",
                    _ => "iam",
                }
                .to_owned()
            });
            return query_style_call(service, &action);
        }
    }

    let bucket = uri.path().trim_start_matches('/').split('/').next().filter(|bucket| !bucket.is_empty());
    Call {
        service: scope_service.unwrap_or_else(|| "s3".to_owned()),
        operation: s3_operation(method, uri, headers),
        is_write: !matches!(*method, Method::GET | Method::HEAD),
        bucket: bucket.map(str::to_owned),
    }
}

fn query_style_call(service: String, operation: &str) -> Call {
    const READ_PREFIXES: [&str; 5] = ["Get", "List", "Describe", "Head", "Simulate"];
    Call {
        service,
        operation: operation.to_owned(),
        is_write: !READ_PREFIXES.iter().any(|prefix| operation.starts_with(prefix)),
        bucket: None,
    }
}

/// The service of a SigV4 `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, ...`.
fn credential_scope_service(headers: &HeaderMap) -> Option<String> {
    let authorization = header_text(headers, AUTHORIZATION.as_str())?;
    let credential = authorization.split([' ', ',']).find_map(|part| part.strip_prefix("Credential="))?;
    let mut scope = credential.rsplit('/');
    let _terminator = scope.next()?;
    scope.next().map(str::to_owned)
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

fn form_value(form: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(form).find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

/// Subresources by their query key: (query key, GET, PUT, DELETE operation).
type SubresourceTable = [(&'static str, Option<&'static str>, Option<&'static str>, Option<&'static str>)];

const BUCKET_SUBRESOURCES: &SubresourceTable = &[
    ("versioning", Some("GetBucketVersioning"), Some("PutBucketVersioning"), None),
    ("publicAccessBlock", Some("GetPublicAccessBlock"), Some("PutPublicAccessBlock"), Some("DeletePublicAccessBlock")),
    (
        "lifecycle",
        Some("GetBucketLifecycleConfiguration"),
        Some("PutBucketLifecycleConfiguration"),
        Some("DeleteBucketLifecycle"),
    ),
    ("tagging", Some("GetBucketTagging"), Some("PutBucketTagging"), Some("DeleteBucketTagging")),
    (
        "ownershipControls",
        Some("GetBucketOwnershipControls"),
        Some("PutBucketOwnershipControls"),
        Some("DeleteBucketOwnershipControls"),
    ),
    ("encryption", Some("GetBucketEncryption"), Some("PutBucketEncryption"), Some("DeleteBucketEncryption")),
    ("policyStatus", Some("GetBucketPolicyStatus"), None, None),
    ("policy", Some("GetBucketPolicy"), Some("PutBucketPolicy"), Some("DeleteBucketPolicy")),
    ("location", Some("GetBucketLocation"), None, None),
    ("acl", Some("GetBucketAcl"), Some("PutBucketAcl"), None),
    ("cors", Some("GetBucketCors"), Some("PutBucketCors"), Some("DeleteBucketCors")),
    ("website", Some("GetBucketWebsite"), Some("PutBucketWebsite"), Some("DeleteBucketWebsite")),
    ("logging", Some("GetBucketLogging"), Some("PutBucketLogging"), None),
    ("notification", Some("GetBucketNotificationConfiguration"), Some("PutBucketNotificationConfiguration"), None),
    ("replication", Some("GetBucketReplication"), Some("PutBucketReplication"), Some("DeleteBucketReplication")),
    ("object-lock", Some("GetObjectLockConfiguration"), Some("PutObjectLockConfiguration"), None),
    ("accelerate", Some("GetBucketAccelerateConfiguration"), Some("PutBucketAccelerateConfiguration"), None),
    ("requestPayment", Some("GetBucketRequestPayment"), Some("PutBucketRequestPayment"), None),
    ("uploads", Some("ListMultipartUploads"), None, None),
    ("versions", Some("ListObjectVersions"), None, None),
];

const OBJECT_SUBRESOURCES: &SubresourceTable = &[
    ("tagging", Some("GetObjectTagging"), Some("PutObjectTagging"), Some("DeleteObjectTagging")),
    ("acl", Some("GetObjectAcl"), Some("PutObjectAcl"), None),
    ("attributes", Some("GetObjectAttributes"), None, None),
    ("retention", Some("GetObjectRetention"), Some("PutObjectRetention"), None),
    ("legal-hold", Some("GetObjectLegalHold"), Some("PutObjectLegalHold"), None),
    ("uploadId", Some("ListParts"), None, Some("AbortMultipartUpload")),
];

/// S3 with path-style addressing: `/BUCKET/KEY?SUBRESOURCE`.
fn s3_operation(method: &Method, uri: &Uri, headers: &HeaderMap) -> String {
    let query = uri.query().unwrap_or("").as_bytes();
    // The SDK spells out some operations itself: `?x-id=PutObject`.
    if let Some(operation) = form_value(query, "x-id") {
        return operation;
    }
    let has = |key: &str| url::form_urlencoded::parse(query).any(|(name, _)| name == key);
    let path = uri.path().trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    let copies = headers.contains_key("x-amz-copy-source");

    let subresource = |table: &SubresourceTable| {
        let &(_, get, put, delete) = table.iter().find(|entry| has(entry.0))?;
        match *method {
            Method::GET => get,
            Method::PUT => put,
            Method::DELETE => delete,
            _ => None,
        }
    };

    let operation = if bucket.is_empty() {
        (*method == Method::GET).then_some("ListBuckets")
    } else if key.is_empty() {
        subresource(BUCKET_SUBRESOURCES).or(match *method {
            Method::GET if has("list-type") => Some("ListObjectsV2"),
            Method::GET => Some("ListObjects"),
            Method::PUT => Some("CreateBucket"),
            Method::HEAD => Some("HeadBucket"),
            Method::DELETE => Some("DeleteBucket"),
            Method::POST if has("delete") => Some("DeleteObjects"),
            _ => None,
        })
    } else {
        subresource(OBJECT_SUBRESOURCES).or(match *method {
            Method::GET => Some("GetObject"),
            Method::HEAD => Some("HeadObject"),
            Method::PUT if has("partNumber") && copies => Some("UploadPartCopy"),
            Method::PUT if has("partNumber") => Some("UploadPart"),
            Method::PUT if copies => Some("CopyObject"),
            Method::PUT => Some("PutObject"),
            Method::DELETE => Some("DeleteObject"),
            Method::POST if has("uploads") => Some("CreateMultipartUpload"),
            Method::POST if has("uploadId") => Some("CompleteMultipartUpload"),
            Method::POST if has("restore") => Some("RestoreObject"),
            _ => None,
        })
    };
    match operation {
        Some(operation) => operation.to_owned(),
        // Still readable in a failing assertion: `Unknown(PATCH ?accelerate)`.
        None => format!("Unknown({method} ?{})", uri.query().unwrap_or("")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn s3(method: &str, path_and_query: &str) -> Call {
        classify_with(method, path_and_query, &[("authorization", &signature("s3"))], "")
    }

    fn signature(service: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=abc"
        )
    }

    fn classify_with(method: &str, path_and_query: &str, headers: &[(&str, &str)], body: &str) -> Call {
        let mut header_map = HeaderMap::new();
        for (name, value) in headers {
            let name = hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap();
            header_map.insert(name, HeaderValue::from_str(value).unwrap());
        }
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let uri: Uri = path_and_query.parse().unwrap();
        classify(&method, &uri, &header_map, body.as_bytes())
    }

    fn row(call: &Call) -> String {
        let kind = if call.is_write { "write" } else { "read" };
        format!("{} {} {kind}", call.service, call.operation)
    }

    #[test]
    fn s3_requests_are_named_like_the_sdk_names_them() {
        let requests = [
            ("GET", "/"),
            ("PUT", "/b"),
            ("HEAD", "/b"),
            ("DELETE", "/b"),
            ("GET", "/b?list-type=2&prefix=recordings%2F"),
            ("GET", "/b"),
            ("GET", "/b?versioning"),
            ("PUT", "/b?versioning"),
            ("GET", "/b?publicAccessBlock"),
            ("PUT", "/b?publicAccessBlock"),
            ("DELETE", "/b?publicAccessBlock"),
            ("GET", "/b?lifecycle"),
            ("PUT", "/b?lifecycle"),
            ("DELETE", "/b?lifecycle"),
            ("GET", "/b?tagging"),
            ("PUT", "/b?tagging"),
            ("DELETE", "/b?tagging"),
            ("GET", "/b?ownershipControls"),
            ("PUT", "/b?ownershipControls"),
            ("DELETE", "/b?ownershipControls"),
            ("GET", "/b?encryption"),
            ("PUT", "/b?encryption"),
            ("DELETE", "/b?encryption"),
            ("GET", "/b?policy"),
            ("PUT", "/b?policy"),
            ("DELETE", "/b?policy"),
            ("GET", "/b?policyStatus"),
            ("GET", "/b?location"),
            ("POST", "/b?delete"),
            ("GET", "/b?versions"),
            ("PUT", "/b/recordings/RT1.mka"),
            ("GET", "/b/recordings/RT1.mka"),
            ("HEAD", "/b/recordings/RT1.mka"),
            ("DELETE", "/b/recordings/RT1.mka"),
            ("GET", "/b/key?tagging"),
            ("PUT", "/b/key?tagging"),
            ("POST", "/b/key?uploads"),
            ("PUT", "/b/key?partNumber=1&uploadId=u"),
            ("POST", "/b/key?uploadId=u"),
            ("DELETE", "/b/key?uploadId=u"),
            ("PUT", "/b/key?x-id=PutObject"),
            ("PATCH", "/b?accelerate"),
        ];
        let table: Vec<String> = requests
            .iter()
            .map(|(method, path)| format!("{method:<6} {path:<40} -> {}", row(&s3(method, path))))
            .collect();
        insta::assert_snapshot!(table.join("\n"));
    }

    #[test]
    fn an_s3_request_names_its_bucket_and_others_none() {
        let bucket = |method: &str, path: &str| s3(method, path).bucket;
        assert_eq!(bucket("GET", "/b?publicAccessBlock").as_deref(), Some("b"));
        assert_eq!(bucket("DELETE", "/b?publicAccessBlock").as_deref(), Some("b"));
        assert_eq!(bucket("PUT", "/b/recordings/RT1.mka").as_deref(), Some("b"));
        assert_eq!(bucket("GET", "/"), None);
        let form = ("content-type", "application/x-www-form-urlencoded");
        let iam = classify_with("POST", "/", &[("authorization", &signature("iam")), form], "Action=CreateUser");
        assert_eq!(iam.bucket, None);
    }

    #[test]
    fn a_copy_source_header_makes_a_put_a_copy() {
        let call = classify_with(
            "PUT",
            "/b/copy",
            &[("authorization", &signature("s3")), ("x-amz-copy-source", "/b/original")],
            "",
        );
        assert_eq!(row(&call), "s3 CopyObject write");
    }

    #[test]
    fn an_unsigned_request_without_an_action_is_s3() {
        assert_eq!(row(&classify_with("GET", "/b?versioning", &[], "")), "s3 GetBucketVersioning read");
    }

    #[test]
    fn query_protocol_calls_take_the_service_from_the_credential_scope() {
        let form = ("content-type", "application/x-www-form-urlencoded; charset=utf-8");
        let calls = [
            ("iam", "Action=CreateUser&UserName=u&Version=2010-05-08"),
            ("iam", "Action=GetUser&UserName=u&Version=2010-05-08"),
            ("iam", "Action=ListAccessKeys&UserName=u&Version=2010-05-08"),
            ("iam", "Action=PutUserPolicy&UserName=u&Version=2010-05-08"),
            ("iam", "Action=DeleteAccessKey&UserName=u&Version=2010-05-08"),
            ("iam", "Action=SimulatePrincipalPolicy&Version=2010-05-08"),
            ("sts", "Action=GetCallerIdentity&Version=2011-06-15"),
        ];
        let table: Vec<String> = calls
            .iter()
            .map(|(service, body)| {
                let signature = signature(service);
                let call = classify_with("POST", "/", &[("authorization", &signature), form], body);
                format!("{body:<55} -> {}", row(&call))
            })
            .collect();
        insta::assert_snapshot!(table.join("\n"));
    }

    #[test]
    fn an_unsigned_query_call_takes_the_service_from_its_version() {
        let form = ("content-type", "application/x-www-form-urlencoded");
        let sts = classify_with("POST", "/", &[form], "Action=GetCallerIdentity&Version=2011-06-15");
        let iam = classify_with("POST", "/", &[form], "Action=CreateUser&Version=2010-05-08");
        assert_eq!(row(&sts), "sts GetCallerIdentity read");
        assert_eq!(row(&iam), "iam CreateUser write");
    }

    #[test]
    fn a_query_action_in_the_url_counts_too() {
        let call =
            classify_with("GET", "/?Action=ListUsers&Version=2010-05-08", &[("authorization", &signature("iam"))], "");
        assert_eq!(row(&call), "iam ListUsers read");
    }

    #[test]
    fn a_form_shaped_s3_object_is_still_an_s3_write() {
        let call = classify_with(
            "PUT",
            "/b/form.txt",
            &[("authorization", &signature("s3")), ("content-type", "application/x-www-form-urlencoded")],
            "Action=CreateUser",
        );
        assert_eq!(row(&call), "s3 PutObject write");
    }

    #[test]
    fn kms_calls_are_named_by_their_target() {
        let signature = signature("kms");
        let call = |target: &str| {
            row(&classify_with("POST", "/", &[("authorization", &signature), ("x-amz-target", target)], "{}"))
        };
        assert_eq!(call("TrentService.CreateKey"), "kms CreateKey write");
        assert_eq!(call("TrentService.DescribeKey"), "kms DescribeKey read");
        assert_eq!(call("TrentService.GetKeyPolicy"), "kms GetKeyPolicy read");
        assert_eq!(call("TrentService.ScheduleKeyDeletion"), "kms ScheduleKeyDeletion write");
    }
}
