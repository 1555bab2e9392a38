//! Progress events, drawn by the CLI (the engine never prints).

use std::time::Duration;

use stowage_provider::{Address, ProviderError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepVerb {
    Create,
    Update,
    Delete,
    Forget,
}

impl StepVerb {
    pub fn progressive(self) -> &'static str {
        match self {
            StepVerb::Create => "creating",
            StepVerb::Update => "updating",
            StepVerb::Delete => "destroying",
            StepVerb::Forget => "forgetting",
        }
    }

    pub fn past(self) -> &'static str {
        match self {
            StepVerb::Create => "created",
            StepVerb::Update => "updated",
            StepVerb::Delete => "destroyed",
            StepVerb::Forget => "forgotten",
        }
    }
}

/// What the engine is doing. `Refreshed`: a refresh read all its targets (`reads` of them, at
/// once) without a failure.
#[derive(Debug)]
pub enum Event<'a> {
    /// A refresh of `reads` addresses begins (each then has a `ReadStarted` and a
    /// `ReadFinished`).
    RefreshStarted {
        reads: usize,
    },
    ReadStarted {
        address: &'a Address,
    },
    ReadFinished {
        address: &'a Address,
        found: bool,
        elapsed: Duration,
    },
    Refreshed {
        reads: usize,
        elapsed: Duration,
    },
    /// An apply of `steps` steps begins (each then has a `StepStarted` and a `StepFinished` or
    /// `StepFailed`, unless a failure before it stops it).
    ApplyStarted {
        steps: usize,
    },
    StepStarted {
        address: &'a Address,
        verb: StepVerb,
    },
    StepFinished {
        address: &'a Address,
        verb: StepVerb,
        id: Option<&'a str>,
        elapsed: Duration,
    },
    StepFailed {
        address: &'a Address,
        verb: StepVerb,
        error: &'a ProviderError,
        elapsed: Duration,
    },
}

pub trait Progress: Send + Sync {
    fn event(&self, event: Event<'_>);
}

/// Progress that goes nowhere (tests, embedding).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: Event<'_>) {}
}
