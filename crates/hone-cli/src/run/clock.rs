//! The run's clock: when each trial was scored (so trials sit on a time axis), and run.json's
//! usage kept current while the run goes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use hone_eval::DriverProgress;
use hone_eval::driver::events::{EventKind, RunEvent, RunObserver};

use super::{RunRecord, TrialPoint, UsageTotals};

/// Records when each trial was scored, from the run's `trial_scored` events (seconds into
/// the run, earlier sessions included), so trials can be placed on a time axis; keeps
/// run.json's usage current with every result and passes each result on to `inner`.
pub(super) struct RunClock {
    /// Trial number → seconds into the run when it was scored.
    pub(super) times: std::sync::Mutex<Vec<(u64, f64)>>,
    pub(super) inner: Option<Arc<dyn DriverProgress>>,
    /// Keeps run.json's usage current during the session (so a killed session's spending
    /// is not lost): the record as the session started, and when it was last written.
    pub(super) usage: Option<UsageKeeper>,
}

pub(super) struct UsageKeeper {
    pub(super) dir: PathBuf,
    pub(super) tracker: hone_lm::UsageTracker,
    pub(super) record: std::sync::Mutex<(RunRecord, Instant)>,
}

impl UsageKeeper {
    /// Writes run.json with the usage so far, at most five times a second (so a kill -9
    /// loses at most the last 200 ms of usage).
    fn keep(&self) {
        let Ok(mut guard) = self.record.lock() else {
            return;
        };
        let (record, last) = &mut *guard;
        if last.elapsed() < std::time::Duration::from_millis(200) {
            return;
        }
        *last = Instant::now();
        let mut written = record.clone();
        written
            .usage
            .add(&UsageTotals::from_report(&self.tracker.report()));
        // A failed write here is retried with the next result; the session's last write
        // reports its error.
        let _ = written.write(&self.dir);
    }
}

impl DriverProgress for RunClock {
    fn on_tell(&self, event: &hone_eval::TellEvent<'_>) {
        if let Some(keeper) = &self.usage {
            keeper.keep();
        }
        if let Some(inner) = &self.inner {
            inner.on_tell(event);
        }
    }
}

impl RunObserver for RunClock {
    fn on_event(&self, event: &RunEvent) {
        if let EventKind::TrialScored { trial, .. } = event.kind
            && let Ok(mut times) = self.times.lock()
        {
            times.push((trial, event.elapsed_secs));
        }
    }
}

impl RunClock {
    /// Sets `at_secs` of the trials this session scored, from their `trial_scored` events.
    /// Trials of earlier sessions keep the times in `earlier`.
    pub(super) fn stamp(&self, trials: &mut [TrialPoint], earlier: &[TrialPoint]) {
        let times = self.times.lock().map(|m| m.clone()).unwrap_or_default();
        for point in trials.iter_mut() {
            point.at_secs = earlier
                .iter()
                .find(|t| t.trial == point.trial)
                .and_then(|t| t.at_secs)
                .or_else(|| {
                    times
                        .iter()
                        .find(|(trial, _)| *trial == point.trial)
                        .map(|(_, at)| *at)
                });
        }
    }
}
