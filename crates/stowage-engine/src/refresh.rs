//! Refresh: read every target at the same time, bounded by the parallelism, each once.

use std::time::Instant;

use futures::stream::{self, StreamExt};
use stowage_plan::{Observations, ReadTarget};
use stowage_provider::{Address, ProviderError, ReadRequest};

use crate::{Engine, Event};

/// Reads that failed, each with its error; the reads that succeeded are not lost on the way.
#[derive(Debug, thiserror::Error)]
#[error("could not read {} resource(s): {}", failures.len(), summary(failures))]
pub struct RefreshError {
    pub failures: Vec<(Address, ProviderError)>,
}

fn summary(failures: &[(Address, ProviderError)]) -> String {
    failures.iter().map(|(address, error)| format!("{address}: {error}")).collect::<Vec<_>>().join("; ")
}

/// Read every target. Targets are distinct addresses, so nothing is read twice.
pub async fn refresh(engine: &Engine, targets: &[ReadTarget]) -> Result<Observations, RefreshError> {
    let results: Vec<(Address, Result<_, ProviderError>)> = stream::iter(targets)
        .map(|target| async move {
            let started = Instant::now();
            engine.progress.event(Event::ReadStarted { address: &target.address });
            let result = match engine.provider_for(&target.address) {
                Ok(provider) => {
                    provider
                        .read(ReadRequest {
                            address: &target.address,
                            id: target.id.as_deref(),
                            desired: target.desired.as_ref(),
                            recorded: target.recorded.as_ref(),
                        })
                        .await
                }
                Err(error) => Err(error),
            };
            if let Ok(found) = &result {
                engine.progress.event(Event::ReadFinished {
                    address: &target.address,
                    found: found.is_some(),
                    elapsed: started.elapsed(),
                });
            }
            (target.address.clone(), result)
        })
        .buffer_unordered(engine.parallelism())
        .collect()
        .await;

    let mut observations = Observations::new();
    let mut failures = Vec::new();
    for (address, result) in results {
        match result {
            Ok(found) => {
                observations.insert(address, found);
            }
            Err(error) => failures.push((address, error)),
        }
    }
    if failures.is_empty() {
        Ok(observations)
    } else {
        failures.sort_by(|a, b| a.0.cmp(&b.0));
        Err(RefreshError { failures })
    }
}
