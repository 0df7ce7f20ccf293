//! Progress of running steps: spinners on a terminal, structured `tracing` events otherwise.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often spinners redraw.
const TICK: Duration = Duration::from_millis(120);

/// Progress output for one apply.
#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    /// Spinners when stderr is a terminal and `quiet` is off; log events otherwise.
    #[must_use]
    pub fn new(quiet: bool) -> Progress {
        let multi = (!quiet && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress { multi }
    }

    /// Starts showing one step.
    #[must_use]
    pub fn step(&self, id: &str, action: &str) -> StepProgress {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new_spinner());
            let style = ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_prefix(format!("{action} {id}"));
            bar.enable_steady_tick(TICK);
            bar
        });
        tracing::debug!(step = id, action, "step started");
        StepProgress {
            bar,
            id: id.to_string(),
        }
    }
}

/// Progress of one step.
#[derive(Clone)]
pub struct StepProgress {
    bar: Option<ProgressBar>,
    id: String,
}

impl StepProgress {
    /// A callback reporting what the step is doing or waiting for.
    #[must_use]
    pub fn reporter(&self) -> Arc<dyn Fn(&str) + Send + Sync> {
        let bar = self.bar.clone();
        let id = self.id.clone();
        Arc::new(move |message: &str| {
            if let Some(bar) = &bar {
                bar.set_message(message.to_string());
            }
            tracing::info!(step = %id, "{message}");
        })
    }

    /// Ends the step's display with its outcome.
    pub fn finish(&self, outcome: &str, elapsed: Duration) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(outcome.to_string());
        }
        tracing::debug!(step = %self.id, outcome, elapsed_ms = elapsed.as_millis() as u64, "step finished");
    }
}
