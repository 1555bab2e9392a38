//! Compatibility with moto, the AWS emulator the tests and the demo use, installed only when
//! the endpoint is a loopback address. Its one home: the AWS provider's S3 client and the S3
//! state store both install it.
//!
//! moto 5.2.1 answers `GetBucketVersioning` with the root element
//! `<GetBucketVersioningResponse>` where S3 sends `<VersioningConfiguration>`; the SDK rejects
//! that. This interceptor reads the status out of such a response and hands the SDK the output
//! real S3 would have produced. Real AWS never sends that root, so it never triggers there.

use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
use aws_sdk_s3::types::{BucketVersioningStatus, MfaDeleteStatus};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{FinalizerInterceptorContextMut, Output};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Debug, Clone, Copy)]
pub struct MotoCompat;

impl Intercept for MotoCompat {
    fn name(&self) -> &'static str {
        "stowage-moto-compat"
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if config.load::<Metadata>().is_none_or(|metadata| metadata.name() != "GetBucketVersioning") {
            return Ok(());
        }
        let failed = context.output_or_error().is_some_and(|result| result.is_err());
        let Some(body) = context.response().and_then(|response| response.body().bytes()) else { return Ok(()) };
        let Ok(text) = std::str::from_utf8(body) else { return Ok(()) };
        if !failed || !text.contains("<GetBucketVersioningResponse") {
            return Ok(());
        }
        let output = GetBucketVersioningOutput::builder()
            .set_status(element(text, "Status").map(BucketVersioningStatus::from))
            .set_mfa_delete(element(text, "MfaDelete").map(MfaDeleteStatus::from))
            .build();
        if let Some(result) = context.output_or_error_mut() {
            *result = Ok(Output::erase(output));
        }
        Ok(())
    }
}

/// Whether an endpoint URL points at this machine (a local emulator).
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

fn element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + text[start..].find(&format!("</{name}>"))?;
    Some(&text[start..end])
}

#[cfg(test)]
mod tests {
    use super::{element, is_loopback_url};

    #[test]
    fn only_this_machine_is_loopback() {
        assert!(is_loopback_url("http://127.0.0.1:5000"));
        assert!(is_loopback_url("http://localhost:5000"));
        assert!(!is_loopback_url("https://s3.us-east-2.amazonaws.com"));
    }

    #[test]
    fn reads_elements_of_motos_response() {
        let body = r#"<?xml version="1.0"?><GetBucketVersioningResponse xmlns="x"><Status>Enabled</Status></GetBucketVersioningResponse>"#;
        assert_eq!(element(body, "Status"), Some("Enabled"));
        assert_eq!(element(body, "MfaDelete"), None);
    }
}
