//! Twilio's `AwsS3Url`: built in the form the guide recommends, compared leniently.

/// `https://BUCKET.s3-REGION.amazonaws.com/PREFIX` (the prefix without its trailing slash;
/// nothing after the host for the whole bucket), the form the Twilio guide recommends.
pub fn build(bucket: &str, region: &str, prefix: &str) -> String {
    let path = prefix.trim_end_matches('/');
    if path.is_empty() {
        format!("https://{bucket}.s3-{region}.amazonaws.com")
    } else {
        format!("https://{bucket}.s3-{region}.amazonaws.com/{path}")
    }
}

/// The parts of an S3 URL that matter: bucket, region, path without slashes at either end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub region: String,
    pub path: String,
}

/// Parse `https://BUCKET.s3-REGION.amazonaws.com/PATH` or `https://BUCKET.s3.REGION.amazonaws.com/PATH`.
pub fn parse(url: &str) -> Option<S3Location> {
    let rest = url.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix(".amazonaws.com")?;
    let (bucket, region) = host.rsplit_once(".s3-").or_else(|| host.rsplit_once(".s3."))?;
    if bucket.is_empty() || region.is_empty() || region.contains('.') {
        return None;
    }
    Some(S3Location { bucket: bucket.to_owned(), region: region.to_owned(), path: path.trim_matches('/').to_owned() })
}

/// Whether two URLs name the same place: the `s3-REGION` and `s3.REGION` forms are equal, and
/// so are trailing slashes. Anything unparseable compares as plain text.
pub fn same_location(left: &str, right: &str) -> bool {
    match (parse(left), parse(right)) {
        (Some(left), Some(right)) => left == right,
        _ => left == right,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_guides_form() {
        assert_eq!(build("acme", "us-east-2", "recordings/"), "https://acme.s3-us-east-2.amazonaws.com/recordings");
        assert_eq!(build("acme", "us-east-2", "a/b/"), "https://acme.s3-us-east-2.amazonaws.com/a/b");
        assert_eq!(build("acme", "us-east-2", ""), "https://acme.s3-us-east-2.amazonaws.com");
    }

    #[test]
    fn dash_and_dot_forms_are_the_same_place() {
        assert!(same_location(
            "https://acme.s3-us-east-2.amazonaws.com/recordings",
            "https://acme.s3.us-east-2.amazonaws.com/recordings/"
        ));
        assert!(!same_location(
            "https://acme.s3-us-east-2.amazonaws.com/recordings",
            "https://acme.s3-us-west-2.amazonaws.com/recordings"
        ));
        assert!(!same_location(
            "https://acme.s3-us-east-2.amazonaws.com/recordings",
            "https://other.s3-us-east-2.amazonaws.com/recordings"
        ));
    }

    #[test]
    fn dotted_bucket_names_parse() {
        let location = parse("https://video.acme.com.s3.eu-west-1.amazonaws.com/r").unwrap();
        assert_eq!(location.bucket, "video.acme.com");
        assert_eq!(location.region, "eu-west-1");
    }
}
