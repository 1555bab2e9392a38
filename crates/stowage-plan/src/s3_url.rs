//! Twilio's `AwsS3Url`: built in the form that exists for the bucket's region, compared
//! leniently where both forms reach the same bucket.
//!
//! Which host form a region has is one table, `stowage_spec::s3_host_form`: the guide's dash
//! form `BUCKET.s3-REGION.amazonaws.com` where AWS has it, the dot form
//! `BUCKET.s3.REGION.amazonaws.com` elsewhere (every region launched after 20 March 2019). A
//! dash URL in a dot-only region is not a spelling of the right URL: S3 does not answer there,
//! and Twilio fails every upload (53610).

use stowage_spec::{S3HostForm, s3_host_form};

/// The Twilio S3 URL for `prefix` in `bucket` (the prefix without its trailing slash; nothing
/// after the host for the whole bucket), in the host form the region has.
///
/// The spec refuses regions whose S3 hosts Twilio cannot reach; should one get here, the dot
/// form is the one AWS's current endpoints use.
pub fn build(bucket: &str, region: &str, prefix: &str) -> String {
    let host = match s3_host_form(region) {
        S3HostForm::Dash => format!("{bucket}.s3-{region}.amazonaws.com"),
        S3HostForm::Dot | S3HostForm::Unreachable { .. } => format!("{bucket}.s3.{region}.amazonaws.com"),
    };
    let path = prefix.trim_end_matches('/');
    if path.is_empty() { format!("https://{host}") } else { format!("https://{host}/{path}") }
}

/// How an S3 URL's host joins `s3` and the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostForm {
    /// `s3-REGION`
    Dash,
    /// `s3.REGION`
    Dot,
}

/// The parts of an S3 URL that matter: bucket, region, path without slashes at either end,
/// and the host form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub region: String,
    pub path: String,
    pub form: HostForm,
}

impl S3Location {
    /// Whether S3 answers at this host for a bucket in `region` (the bucket's real region):
    /// a dash host exists only in the regions that have one.
    pub fn host_exists_for(&self, region: &str) -> bool {
        match self.form {
            HostForm::Dot => true,
            HostForm::Dash => s3_host_form(region) == S3HostForm::Dash,
        }
    }
}

/// Parse `https://BUCKET.s3-REGION.amazonaws.com/PATH` or `https://BUCKET.s3.REGION.amazonaws.com/PATH`.
pub fn parse(url: &str) -> Option<S3Location> {
    let rest = url.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix(".amazonaws.com")?;
    let ((bucket, region), form) = host
        .rsplit_once(".s3-")
        .map(|parts| (parts, HostForm::Dash))
        .or_else(|| host.rsplit_once(".s3.").map(|parts| (parts, HostForm::Dot)))?;
    if bucket.is_empty() || region.is_empty() || region.contains('.') {
        return None;
    }
    Some(S3Location {
        bucket: bucket.to_owned(),
        region: region.to_owned(),
        path: path.trim_matches('/').to_owned(),
        form,
    })
}

/// Whether two URLs name the same place that S3 answers at: the `s3-REGION` and `s3.REGION`
/// forms are equal where the region has both, and so are trailing slashes. A dash URL in a
/// region without dash hosts equals nothing but itself, so a plan replaces it. Anything
/// unparseable compares as plain text.
pub fn same_location(left: &str, right: &str) -> bool {
    match (parse(left), parse(right)) {
        (Some(left), Some(right)) => {
            let reachable = |location: &S3Location| location.host_exists_for(&location.region);
            let same_place = left.bucket == right.bucket && left.region == right.region && left.path == right.path;
            same_place && (left.form == right.form || (reachable(&left) && reachable(&right)))
        }
        _ => left == right,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_guides_dash_form_where_the_region_has_it() {
        assert_eq!(build("acme", "us-east-2", "recordings/"), "https://acme.s3-us-east-2.amazonaws.com/recordings");
        assert_eq!(build("acme", "us-east-2", "a/b/"), "https://acme.s3-us-east-2.amazonaws.com/a/b");
        assert_eq!(build("acme", "us-east-2", ""), "https://acme.s3-us-east-2.amazonaws.com");
    }

    #[test]
    fn builds_the_dot_form_in_regions_launched_after_march_2019() {
        for region in ["af-south-1", "ap-east-1", "eu-south-1", "me-south-1", "il-central-1", "eu-west-9"] {
            assert_eq!(
                build("acme", region, "recordings/"),
                format!("https://acme.s3.{region}.amazonaws.com/recordings"),
                "{region}"
            );
        }
    }

    #[test]
    fn dash_and_dot_forms_are_the_same_place_where_both_exist() {
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
    fn a_dash_url_in_a_dot_only_region_is_not_the_right_url() {
        let wanted = build("acme", "af-south-1", "recordings/");
        let broken = "https://acme.s3-af-south-1.amazonaws.com/recordings";
        assert!(!same_location(&wanted, broken));
        assert!(!same_location(broken, &wanted));
        assert!(same_location(broken, broken));
        assert!(!parse(broken).unwrap().host_exists_for("af-south-1"));
        assert!(parse(&wanted).unwrap().host_exists_for("af-south-1"));
        // A dash host names its region: for a bucket really in another region it is wrong
        // anyway, and the region check says so; the host itself exists there.
        assert!(parse("https://acme.s3-us-east-2.amazonaws.com").unwrap().host_exists_for("us-east-2"));
    }

    #[test]
    fn dotted_bucket_names_parse() {
        let location = parse("https://video.acme.com.s3.eu-west-1.amazonaws.com/r").unwrap();
        assert_eq!(location.bucket, "video.acme.com");
        assert_eq!(location.region, "eu-west-1");
        assert_eq!(location.form, HostForm::Dot);
    }
}
