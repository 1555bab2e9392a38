//! What tests steer and observe: injected faults, added latency, and the request log.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A fault to inject: answer matching requests with `status` instead of handling them.
///
/// JSON form (`POST /__emulator/faults`):
/// `{"method": "POST", "path_prefix": "/v1/Credentials/AWS", "status": 500, "times": 1}`,
/// optionally with `"retry_after": SECONDS` (sent as `Retry-After`) and `"after": N` (let the
/// first N matching requests through).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The HTTP method to match, any case; absent matches every method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The start of the paths to match; empty matches every path.
    #[serde(default)]
    pub path_prefix: String,
    /// The HTTP status to answer, 400 to 599.
    pub status: u16,
    /// How many requests to fail.
    #[serde(default = "FaultRule::default_times")]
    pub times: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// How many matching requests to let through before failing any.
    #[serde(default)]
    pub after: u32,
}

impl FaultRule {
    /// Fails the next request to any path starting with `path_prefix`, once.
    pub fn new(status: u16, path_prefix: impl Into<String>) -> Self {
        Self { method: None, path_prefix: path_prefix.into(), status, times: 1, retry_after: None, after: 0 }
    }

    fn default_times() -> u32 {
        1
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|wanted| wanted.eq_ignore_ascii_case(method))
            && path.starts_with(&self.path_prefix)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultRuleError {
    #[error("status {0} is not an error status (400 to 599)")]
    NotAnErrorStatus(u16),
    #[error("times must be at least 1")]
    NeverFires,
}

/// One request the emulator answered (admin requests are not recorded).
///
/// Holds parameter names only, never values: forms carry AWS secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The account the request authenticated as, if it did.
    pub account_sid: Option<String>,
    pub query_keys: Vec<String>,
    pub form_keys: Vec<String>,
    /// Whether the request matches the OpenAPI documents.
    pub conforms: bool,
    pub violations: Vec<String>,
    /// Whether an injected fault answered it.
    pub fault: bool,
    /// Whether it was answered 429 (code 20429) because its account family had as many
    /// requests in flight as the concurrency limit allows; such a request is not processed.
    #[serde(default)]
    pub throttled: bool,
}

/// Faults, latency and the log, behind one lock.
#[derive(Debug, Default)]
pub(crate) struct Control {
    faults: Vec<ArmedFault>,
    latency: Duration,
    requests: Vec<RecordedRequest>,
    /// How many of `requests` were throttled.
    throttled: u64,
}

#[derive(Debug)]
struct ArmedFault {
    rule: FaultRule,
    skips_left: u32,
    fires_left: u32,
}

impl Control {
    pub fn add_fault(&mut self, rule: FaultRule) -> Result<(), FaultRuleError> {
        if !(400..=599).contains(&rule.status) {
            return Err(FaultRuleError::NotAnErrorStatus(rule.status));
        }
        if rule.times == 0 {
            return Err(FaultRuleError::NeverFires);
        }
        self.faults.push(ArmedFault { skips_left: rule.after, fires_left: rule.times, rule });
        Ok(())
    }

    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// The fault that answers this request, if any. Rules are tried in the order they were
    /// added; a matching rule still counting down its `after` counts this request and lets
    /// the next rule try. A rule that has fired `times` times is gone.
    pub fn take_fault(&mut self, method: &str, path: &str) -> Option<FaultRule> {
        let mut fired = None;
        for (index, fault) in self.faults.iter_mut().enumerate() {
            if !fault.rule.matches(method, path) {
                continue;
            }
            if fault.skips_left > 0 {
                fault.skips_left -= 1;
                continue;
            }
            fault.fires_left -= 1;
            fired = Some(index);
            break;
        }
        let index = fired?;
        let rule = self.faults[index].rule.clone();
        if self.faults[index].fires_left == 0 {
            self.faults.remove(index);
        }
        Some(rule)
    }

    pub fn latency(&self) -> Duration {
        self.latency
    }

    pub fn set_latency(&mut self, latency: Duration) {
        self.latency = latency;
    }

    pub fn record(&mut self, request: RecordedRequest) {
        self.throttled += u64::from(request.throttled);
        self.requests.push(request);
    }

    /// How many requests were answered 429 for the concurrency limit since the last reset.
    pub fn throttled(&self) -> u64 {
        self.throttled
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_fires_its_times_then_is_gone() {
        let mut control = Control::default();
        control.add_fault(FaultRule { times: 2, ..FaultRule::new(500, "/v1/Credentials") }).unwrap();
        assert!(control.take_fault("GET", "/v1/RecordingSettings/Default").is_none());
        assert_eq!(control.take_fault("GET", "/v1/Credentials/AWS").map(|rule| rule.status), Some(500));
        assert!(control.take_fault("POST", "/v1/Credentials/AWS").is_some());
        assert!(control.take_fault("POST", "/v1/Credentials/AWS").is_none());
    }

    #[test]
    fn after_lets_requests_through_and_method_is_case_insensitive() {
        let mut control = Control::default();
        control.add_fault(FaultRule { method: Some("post".into()), after: 1, ..FaultRule::new(429, "/v1/") }).unwrap();
        assert!(control.take_fault("GET", "/v1/Credentials/AWS").is_none());
        assert!(control.take_fault("POST", "/v1/Credentials/AWS").is_none());
        assert!(control.take_fault("POST", "/v1/Credentials/AWS").is_some());
    }

    #[test]
    fn a_counting_down_rule_lets_a_later_rule_fire() {
        let mut control = Control::default();
        control.add_fault(FaultRule { after: 1, ..FaultRule::new(500, "") }).unwrap();
        control.add_fault(FaultRule::new(503, "")).unwrap();
        assert_eq!(control.take_fault("GET", "/").map(|rule| rule.status), Some(503));
        assert_eq!(control.take_fault("GET", "/").map(|rule| rule.status), Some(500));
        assert!(control.take_fault("GET", "/").is_none());
    }

    #[test]
    fn rules_that_cannot_work_are_refused() {
        let mut control = Control::default();
        assert_eq!(control.add_fault(FaultRule::new(302, "")), Err(FaultRuleError::NotAnErrorStatus(302)));
        assert_eq!(
            control.add_fault(FaultRule { times: 0, ..FaultRule::new(500, "") }),
            Err(FaultRuleError::NeverFires)
        );
    }

    #[test]
    fn fault_rules_read_the_documented_json() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"method": "POST", "path_prefix": "/v1/Credentials/AWS", "status": 429, "retry_after": 3}"#,
        )
        .unwrap();
        assert_eq!(
            rule,
            FaultRule {
                method: Some("POST".into()),
                retry_after: Some(3),
                ..FaultRule::new(429, "/v1/Credentials/AWS")
            }
        );
    }
}
