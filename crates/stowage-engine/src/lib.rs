//! Refresh, plan and apply orchestration, and every write of the state.
//!
//! Refresh reads every resource of an environment at the same time (bounded by the
//! parallelism), each exactly once; [`read`] is every command's way to it, checking the Twilio
//! account on the way. Apply runs the plan's steps in dependency order, independent steps at
//! the same time, and commits the state after every completed step, so an interrupted apply
//! loses track of nothing it finished.
//!
//! Architecture invariants: the engine makes no decisions the plan did not make; it never
//! holds a secret longer than the apply that created it; providers are reached only through
//! the [`Provider`](stowage_provider::Provider) trait, and the state only through the
//! [`StateStore`](stowage_state::StateStore) trait; every state write of a run is made here
//! (`apply`, `record`), each a commit of the next serial over the one read.

mod apply;
pub mod import;
mod progress;
mod read;
mod record;
mod refresh;
pub mod state_ops;

pub use apply::{ApplyError, ApplyOutcome, apply};
pub use import::{discover, read_by_id, record_imports};
pub use progress::{Event, NoProgress, Progress, StepVerb};
pub use read::{Environment, ReadError, read, read_and_plan, read_and_plan_destroy};
pub use record::{apply_accepting_drift, record_accepted_drift, record_refreshed, record_unchanged};
pub use refresh::{RefreshError, find_leftovers, refresh};

use std::sync::Arc;

use stowage_provider::{Address, ErrorKind, Provider, ProviderError, ProviderName};

/// The providers an environment needs, and how many calls may run at once.
#[derive(Clone)]
pub struct Engine {
    pub aws: Arc<dyn Provider>,
    /// `None` when the environment manages nothing in Twilio (no `[twilio]` section, nothing
    /// Twilio in the state): no Twilio credentials are needed then.
    pub twilio: Option<Arc<dyn Provider>>,
    pub parallelism: usize,
    pub progress: Arc<dyn Progress>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("twilio", &self.twilio.is_some())
            .field("parallelism", &self.parallelism)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn provider_for(&self, address: &Address) -> Result<&dyn Provider, ProviderError> {
        match address.resource_type.provider() {
            ProviderName::Aws => Ok(self.aws.as_ref()),
            ProviderName::Twilio => self.twilio.as_deref().ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::Unauthorized,
                    "twilio",
                    "connect",
                    format!("`{address}` is a Twilio resource, but no Twilio client was configured"),
                )
            }),
        }
    }

    pub(crate) fn parallelism(&self) -> usize {
        self.parallelism.max(1)
    }
}
