//! Counting API calls by operation, for benchmarks and for tests that prove an apply wrote
//! nothing. Counted once per operation (not per retry attempt).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Calls made, by `service:Operation`.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    pub fn record(&self, service: &str, operation: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *counts.entry(format!("{service}:{operation}")).or_default() += 1;
    }

    /// A snapshot of the counts so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

/// Whether an AWS operation only reads.
pub fn is_read(operation: &str) -> bool {
    ["Get", "List", "Head", "Describe"].iter().any(|prefix| operation.starts_with(prefix))
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "stowage-call-counter"
    }

    // Not `read_before_execution`: the operation's metadata is layered into the config bag
    // only after that hook has run.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = config.load::<Metadata>() {
            self.record(&metadata.service().to_ascii_lowercase(), metadata.name());
        }
        Ok(())
    }
}
