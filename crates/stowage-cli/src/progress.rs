//! Progress on stderr (never stdout: stdout carries the plan). Off a terminal, plain lines: one
//! per step with its elapsed time, one per wait. On a terminal ([`crate::settings::Settings::progress`]),
//! the same step lines, and an indicator (indicatif) for what takes long: the refresh's reads
//! ("refreshing 640/1000 reads"), the steps under way, a wait for AWS to propagate a change or
//! for another run's state lock, each with its elapsed time, gone when done.

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use stowage_aws::CallCounter;
use stowage_engine::{Event, Progress};

/// How progress is shown: decided once per run, from the settings.
#[derive(Debug, Clone)]
pub enum Display {
    /// A line per step and per wait, as a log or CI reads them.
    Lines,
    /// Indicators on a terminal, below the lines.
    Terminal(MultiProgress),
}

impl Display {
    /// Indicators when `terminal` (stderr is a terminal a person watches), plain lines otherwise.
    pub fn choose(terminal: bool) -> Self {
        if terminal {
            Display::Terminal(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
        } else {
            Display::Lines
        }
    }

    /// A line above any indicator.
    fn line(&self, line: &str) {
        match self {
            Display::Lines => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
            Display::Terminal(multi) => {
                if multi.println(line).is_err() {
                    let _ = writeln!(std::io::stderr().lock(), "{line}");
                }
            }
        }
    }

    /// A spinner with `template` (its `{msg}` set to `message`), ticking on its own.
    fn spinner(&self, template: &str, message: String) -> Option<ProgressBar> {
        let Display::Terminal(multi) = self else { return None };
        let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = multi.add(ProgressBar::new_spinner().with_style(style).with_message(message));
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    }
}

static DISPLAY: OnceLock<Display> = OnceLock::new();

/// Decides how this run shows progress; `main` calls it once, from the settings.
pub fn init(terminal: bool) {
    let _ = DISPLAY.set(Display::choose(terminal));
}

fn display() -> &'static Display {
    DISPLAY.get_or_init(|| Display::Lines)
}

/// A wait shown while it lasts: the line off a terminal, a spinner with the elapsed time on
/// one, cleared when this is dropped.
#[derive(Debug)]
pub struct Waiting(Option<ProgressBar>);

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

/// Shows `line` ("waiting up to 5m for the lock on state `dev.state.json`") until the returned
/// value is dropped.
pub fn wait(line: &str) -> Waiting {
    let display = display();
    match display.spinner("{spinner} {msg} {elapsed}", line.to_owned()) {
        Some(bar) => Waiting(Some(bar)),
        None => {
            display.line(line);
            Waiting(None)
        }
    }
}

/// Writes progress to stderr, and logs each completed refresh with the AWS calls made so far.
#[derive(Debug, Default)]
pub struct StderrProgress {
    aws_calls: CallCounter,
    indicators: Mutex<Indicators>,
}

/// What a terminal shows below the lines: the refresh's reads, the steps under way.
#[derive(Debug, Default)]
struct Indicators {
    reads: Option<ProgressBar>,
    steps: Option<ProgressBar>,
}

impl StderrProgress {
    /// Progress whose refresh log reports the calls `aws_calls` counts.
    pub fn counting(aws_calls: CallCounter) -> Self {
        Self { aws_calls, indicators: Mutex::default() }
    }

    /// On a terminal: the bar in `slot`, of `total` (reads or steps), appears.
    fn start(&self, slot: fn(&mut Indicators) -> &mut Option<ProgressBar>, template: &str, total: usize) {
        let display = display();
        if matches!(display, Display::Lines) {
            return;
        }
        let Ok(mut indicators) = self.indicators.lock() else { return };
        let bar = slot(&mut indicators);
        if let Some(old) = bar.take() {
            old.finish_and_clear();
        }
        *bar = display.spinner(template, String::new());
        if let Some(bar) = bar {
            bar.set_length(total as u64);
        }
    }

    /// On a terminal: one more of the bar in `slot` started or finished; a bar no `start`
    /// announced grows as its work starts.
    fn count(&self, slot: fn(&mut Indicators) -> &mut Option<ProgressBar>, template: &str, started: bool) {
        let display = display();
        if matches!(display, Display::Lines) {
            return;
        }
        let Ok(mut indicators) = self.indicators.lock() else { return };
        let bar = slot(&mut indicators);
        let announced = bar.is_some();
        if !announced {
            *bar = display.spinner(template, String::new());
        }
        if let Some(bar) = bar {
            if !started {
                bar.inc(1);
            } else if !announced || bar.length().is_none_or(|length| bar.position() >= length) {
                bar.inc_length(1);
            }
        }
    }

    /// On a terminal: the bar in `slot` is done.
    fn clear(&self, slot: fn(&mut Indicators) -> &mut Option<ProgressBar>) {
        if let Ok(mut indicators) = self.indicators.lock()
            && let Some(bar) = slot(&mut indicators).take()
        {
            bar.finish_and_clear();
        }
    }
}

impl Drop for StderrProgress {
    fn drop(&mut self) {
        self.clear(|indicators| &mut indicators.reads);
        self.clear(|indicators| &mut indicators.steps);
    }
}

const READS: &str = "{spinner} refreshing {pos}/{len} reads {elapsed}";
const STEPS: &str = "{spinner} applying: {pos}/{len} steps done {elapsed}";

impl Progress for StderrProgress {
    fn event(&self, event: Event<'_>) {
        let line = match event {
            Event::RefreshStarted { reads } => return self.start(|indicators| &mut indicators.reads, READS, reads),
            Event::ApplyStarted { steps } => return self.start(|indicators| &mut indicators.steps, STEPS, steps),
            Event::ReadStarted { .. } => return self.count(|indicators| &mut indicators.reads, READS, true),
            Event::ReadFinished { .. } => return self.count(|indicators| &mut indicators.reads, READS, false),
            Event::Refreshed { reads, elapsed } => {
                self.clear(|indicators| &mut indicators.reads);
                tracing::info!(
                    reads,
                    elapsed_ms = elapsed.as_millis() as u64,
                    calls = ?self.aws_calls.snapshot(),
                    "refreshed"
                );
                return;
            }
            Event::StepStarted { address, verb } => {
                self.count(|indicators| &mut indicators.steps, STEPS, true);
                format!("{address}: {}...", verb.progressive())
            }
            Event::StepFinished { address, verb, id, elapsed } => {
                clear_propagation_wait();
                self.count(|indicators| &mut indicators.steps, STEPS, false);
                let id = id.map(|id| format!(" [id={id}]")).unwrap_or_default();
                format!("{address}: {}{id} after {}", verb.past(), seconds(elapsed))
            }
            Event::StepFailed { address, verb, elapsed, .. } => {
                clear_propagation_wait();
                self.count(|indicators| &mut indicators.steps, STEPS, false);
                format!("{address}: {} failed after {}", verb.progressive(), seconds(elapsed))
            }
        };
        display().line(&line);
    }
}

/// The spinner of the wait for AWS to propagate a change, while one is shown.
static PROPAGATION: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// The wait for AWS to propagate a change ends with the step that waited: its spinner goes.
fn clear_propagation_wait() {
    if let Ok(mut shown) = PROPAGATION.lock()
        && let Some(bar) = shown.take()
    {
        bar.finish_and_clear();
    }
}

/// Each wait for AWS to propagate a change: a stderr line per retry off a terminal ("waiting
/// for AWS to propagate the new access key, 14 s"), one spinner with the elapsed time on one
/// ("waiting for AWS to propagate the new access key 14s"), until the step that waits ends.
pub fn propagation_notifier() -> stowage_aws::WaitNotifier {
    stowage_aws::WaitNotifier::new(|line| {
        let display = display();
        if matches!(display, Display::Lines) {
            return display.line(line);
        }
        // The provider's line ends with the seconds waited; the spinner counts them itself.
        let what = line.rsplit_once(", ").map_or(line, |(what, _)| what).to_owned();
        let Ok(mut shown) = PROPAGATION.lock() else { return };
        match shown.as_ref() {
            Some(bar) => bar.set_message(what),
            None => *shown = display.spinner("{spinner} {msg} {elapsed}", what),
        }
    })
}

pub fn seconds(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicators_only_on_a_terminal() {
        assert!(matches!(Display::choose(false), Display::Lines));
        assert!(matches!(Display::choose(true), Display::Terminal(_)));
    }

    #[test]
    fn off_a_terminal_a_wait_is_its_line_and_nothing_to_clear() {
        // `display()` is lines unless `init` chose otherwise, as in every test.
        assert!(wait("waiting up to 5m for the lock").0.is_none());
    }
}
