//! The run's clock: when each result came in (so trials sit on a time axis), and run.json's
//! usage kept current while the run goes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use hone_eval::DriverProgress;
use hone_optimize::{LogEvent, RunLog};

use super::{RunRecord, TrialPoint, UsageTotals};

/// Records when each result came in, as (events in the optimizer's log, seconds into the run),
/// so trials can be placed on a time axis; passes every event on to `inner`.
pub(super) struct RunClock {
    pub(super) started: std::time::Instant,
    /// Seconds the run took in earlier sessions.
    pub(super) offset: f64,
    pub(super) marks: std::sync::Mutex<Vec<(usize, f64)>>,
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
        let at = self.offset + self.started.elapsed().as_secs_f64();
        if let Ok(mut marks) = self.marks.lock() {
            marks.push((event.log_events, at));
        }
        if let Some(keeper) = &self.usage {
            keeper.keep();
        }
        if let Some(inner) = &self.inner {
            inner.on_tell(event);
        }
    }
}

impl RunClock {
    /// Sets `at_secs` of the trials this session logged: a trial event at log index `j` came
    /// with the first result after which the log held more than `j` events. Trials of earlier
    /// sessions keep the times in `earlier`.
    pub(super) fn stamp(&self, trials: &mut [TrialPoint], log: &RunLog, earlier: &[TrialPoint]) {
        let marks = self.marks.lock().map(|m| m.clone()).unwrap_or_default();
        let indices = log
            .events()
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, LogEvent::Trial { .. }))
            .map(|(j, _)| j);
        for (point, j) in trials.iter_mut().zip(indices) {
            point.at_secs = earlier
                .iter()
                .find(|t| t.trial == point.trial)
                .and_then(|t| t.at_secs)
                .or_else(|| marks.iter().find(|(n, _)| *n > j).map(|(_, at)| *at));
        }
    }
}
