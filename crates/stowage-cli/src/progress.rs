//! Progress lines on stderr: one per step, with its elapsed time.

use std::io::Write;
use std::time::Duration;

use stowage_aws::CallCounter;
use stowage_engine::{Event, Progress};

/// Writes progress lines to stderr (never stdout: stdout carries the plan), and logs each
/// completed refresh with the AWS calls made so far.
#[derive(Debug, Default)]
pub struct StderrProgress {
    aws_calls: CallCounter,
}

impl StderrProgress {
    /// Progress whose refresh log reports the calls `aws_calls` counts.
    pub fn counting(aws_calls: CallCounter) -> Self {
        Self { aws_calls }
    }
}

impl Progress for StderrProgress {
    fn event(&self, event: Event<'_>) {
        let line = match event {
            Event::ReadStarted { .. } | Event::ReadFinished { .. } => return,
            Event::Refreshed { reads, elapsed } => {
                tracing::info!(
                    reads,
                    elapsed_ms = elapsed.as_millis() as u64,
                    calls = ?self.aws_calls.snapshot(),
                    "refreshed"
                );
                return;
            }
            Event::StepStarted { address, verb } => format!("{address}: {}...", verb.progressive()),
            Event::StepFinished { address, verb, id, elapsed } => {
                let id = id.map(|id| format!(" [id={id}]")).unwrap_or_default();
                format!("{address}: {}{id} after {}", verb.past(), seconds(elapsed))
            }
            Event::StepFailed { address, verb, elapsed, .. } => {
                format!("{address}: {} failed after {}", verb.progressive(), seconds(elapsed))
            }
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

/// A stderr line for each wait for AWS to propagate a change: "waiting for AWS to propagate
/// the new access key, 14 s".
pub fn propagation_notifier() -> stowage_aws::WaitNotifier {
    stowage_aws::WaitNotifier::new(|line| {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    })
}

pub fn seconds(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}
