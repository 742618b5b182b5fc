//! [`DriverCore`]: the rules of a run, with no IO. The in-process driver
//! ([`run_optimizer`](super::run_optimizer)) and the Redis coordinator (`hone_redis::RedisDriver`)
//! both feed it what happens — a result arrived, a job was lost in transport, a turn of the
//! loop with what is in flight and whether the run was cancelled — and do what it answers:
//! dispatch these jobs, write a checkpoint, stop for this reason. Each keeps only its
//! transport: tasks in one process, or streams, leases and reconciliation over Redis.
//!
//! # The rules
//!
//! * The jobs a restored optimizer reports as pending go out first, then what it asks for;
//!   after every result the optimizer is asked again.
//! * A turn stops the run, in this order: the optimizer is done ([`StopReason::Done`]);
//!   `stop_after_tells` accepted results were reached, resumed runs included
//!   ([`StopReason::TellLimit`]); the run was cancelled ([`StopReason::Cancelled`]). With
//!   nothing in flight and nothing to ask for or pending, the run has stalled.
//! * Only accepted results count: tells, LM calls, and the failures the
//!   [`FailureWatch`] counts (a duplicate is not a second failure). Once `max_errors` examples
//!   or jobs in a row failed, the run stops with [`DriverError::TooManyErrors`].
//! * A job lost in transport and told as failed counts as a tell, but neither as LM calls nor
//!   as a failure of the setup.
//! * An accepted result makes a checkpoint due; a run that wrote none by its end writes one,
//!   so there is always a checkpoint to resume from.
//! * With [`RunEvents`], the core emits the run's [events](super::events): `run_started` at
//!   [`DriverCore::start`], then after every result what the optimizer added to its run log
//!   (`trial_scored`, `candidate_proposed`, `new_best`), and `run_ended` at
//!   [`DriverCore::end`]. The transport's checkpoint writer emits `checkpoint_written` through
//!   [`DriverCore::emitter`].

use std::sync::Arc;
use std::time::Duration;

use hone_optimize::{Job, JobId, JobOutput, JobResult, LogEvent, Optimizer, OptimizerError, Told};
use serde_json::Value;

use super::StopReason;
use super::events::{Emitter, EndReason, EventKind, RunEvents};
use crate::checkpoint::Checkpoint;
use crate::error::DriverError;
use crate::failures::FailureWatch;
use crate::run::JobUsage;

/// The limits of a run that the core enforces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunLimits {
    /// Stop after this many accepted results, resumed runs included, as if cancelled.
    pub stop_after_tells: Option<u64>,
    /// Stop once this many examples or jobs in a row failed; `None` never stops.
    pub max_errors: Option<usize>,
}

/// What the transport does next, as [`DriverCore::turn`] answers.
#[derive(Debug)]
pub enum Next {
    /// Go on: dispatch these jobs (none, often) and wait for results.
    Dispatch(Vec<Job>),
    /// The run is over.
    Stop(StopReason),
    /// Nothing is in flight and the optimizer has nothing to ask for and nothing pending: it
    /// will never finish.
    Stalled,
}

/// What a result did, as [`DriverCore::on_result`] answers.
#[derive(Debug)]
pub struct Applied {
    /// What the optimizer did with it.
    pub told: Told,
    /// The jobs the optimizer asked for afterwards: dispatch them.
    pub jobs: Vec<Job>,
    /// A checkpoint is due (the result was accepted).
    pub checkpoint: bool,
}

/// The rules of a run, fed events and asked what to do; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct DriverCore {
    optimizer: String,
    limits: RunLimits,
    base_tells: u64,
    base_calls: u64,
    tells: u64,
    calls: u64,
    watch: FailureWatch,
    checkpoints: u64,
    events: Option<(Emitter, RunEvents)>,
    /// Entries of the optimizer's log already emitted (or there before this session).
    seen: usize,
    best: Option<f64>,
}

impl DriverCore {
    /// The core of a run of `optimizer` that earlier runs (restored from a checkpoint) took
    /// `base_tells` accepted results and `base_calls` LM calls into.
    pub fn new(optimizer: &str, limits: RunLimits, base_tells: u64, base_calls: u64) -> Self {
        DriverCore {
            optimizer: optimizer.to_owned(),
            limits,
            base_tells,
            base_calls,
            tells: 0,
            calls: 0,
            watch: FailureWatch::new(limits.max_errors),
            checkpoints: 0,
            events: None,
            seen: 0,
            best: None,
        }
    }

    /// Emits the run's events as `events` says; `elapsed_before` is the wall time of earlier
    /// sessions, so events carry the run's elapsed time.
    pub fn with_events(mut self, events: Option<RunEvents>, elapsed_before: Duration) -> Self {
        self.events = events.map(|e| (Emitter::new(Arc::clone(&e.observer), elapsed_before), e));
        self
    }

    /// What emits this run's events, for the checkpoint writer's `checkpoint_written`.
    pub fn emitter(&self) -> Option<&Emitter> {
        self.events.as_ref().map(|(e, _)| e)
    }

    /// The run starts: emits `run_started`. What the optimizer's log holds by now (a
    /// restored run's earlier sessions) is not emitted again.
    pub fn start(&mut self, opt: &dyn Optimizer) {
        let log = opt.log().events();
        self.seen = log.len();
        self.best = log
            .iter()
            .filter_map(|e| match e {
                LogEvent::NewBest { score, .. } => Some(*score),
                _ => None,
            })
            .reduce(f64::max);
        if let Some((emitter, info)) = &self.events {
            emitter.emit(EventKind::RunStarted {
                optimizer: opt.name().to_owned(),
                params: info.params.clone(),
                trainset: info.trainset,
                valset: info.valset,
                resumed: self.base_tells > 0 || self.seen > 0,
                tells: self.base_tells,
            });
        }
    }

    /// Emits what the optimizer added to its log since the last call.
    fn emit_log(&mut self, opt: &dyn Optimizer) {
        let log = opt.log().events();
        for e in log.iter().skip(self.seen) {
            if let LogEvent::NewBest { score, .. } = e {
                self.best = Some(self.best.map_or(*score, |b| b.max(*score)));
            }
            if let (Some((emitter, _)), Some(kind)) = (&self.events, EventKind::of_log(e)) {
                emitter.emit(kind);
            }
        }
        self.seen = log.len();
    }

    /// The run ends, for `reason` (with `error` when it failed): emits `run_ended` with the
    /// totals and, when the transport knows it, the usage of the results' LM calls.
    pub fn end(
        &mut self,
        opt: &dyn Optimizer,
        reason: EndReason,
        error: Option<String>,
        usage: Option<JobUsage>,
    ) {
        self.emit_log(opt);
        if let Some((emitter, _)) = &self.events {
            emitter.emit(EventKind::RunEnded {
                reason,
                error,
                best_score: self.best,
                tells: self.total_tells(),
                lm_calls: self.total_lm_calls(),
                failures: self.watch.failures,
                usage,
            });
        }
    }

    /// The jobs to dispatch first: those a restored optimizer reports as pending (lost with
    /// the run that was stopped).
    pub fn resumed_jobs(&self, opt: &dyn Optimizer) -> Vec<Job> {
        opt.pending()
    }

    /// The jobs the optimizer asks for now.
    pub fn ask(&self, opt: &mut dyn Optimizer) -> Vec<Job> {
        opt.ask()
    }

    /// A turn of the transport's loop: `in_flight` jobs are dispatched and have no result yet,
    /// `cancelled` says whether the run was cancelled. Answers whether to go on (with jobs to
    /// dispatch when nothing was in flight) or stop.
    pub fn turn(&self, opt: &mut dyn Optimizer, in_flight: usize, cancelled: bool) -> Next {
        if opt.is_done() {
            return Next::Stop(StopReason::Done);
        }
        if self
            .limits
            .stop_after_tells
            .is_some_and(|k| self.total_tells() >= k)
        {
            return Next::Stop(StopReason::TellLimit);
        }
        if cancelled {
            return Next::Stop(StopReason::Cancelled);
        }
        if in_flight > 0 {
            return Next::Dispatch(Vec::new());
        }
        let jobs = opt.ask();
        if jobs.is_empty() && opt.pending().is_empty() {
            return Next::Stalled;
        }
        Next::Dispatch(jobs)
    }

    /// A result arrived: tells it, counts it if accepted, and asks for the next jobs.
    ///
    /// Errors: the optimizer's (a [`OptimizerError::BadResult`] is not recorded, and the job
    /// stays pending), or [`DriverError::TooManyErrors`] when this result's failures complete
    /// a streak of `max_errors` (it is recorded and counted; no checkpoint is due for it).
    pub fn on_result(
        &mut self,
        opt: &mut dyn Optimizer,
        result: JobResult,
    ) -> Result<Applied, DriverError> {
        let calls = result.lm_calls;
        let errors = FailureWatch::errors_of(&result);
        let told = opt.tell(result)?;
        self.emit_log(opt);
        if told == Told::Accepted {
            self.tells += 1;
            self.calls += calls;
            self.watch.observe_errors(&self.optimizer, errors)?;
        }
        Ok(Applied {
            told,
            jobs: opt.ask(),
            checkpoint: told == Told::Accepted,
        })
    }

    /// A job was lost in transport for good: tells it as failed with `error`, and asks for the
    /// next jobs. It is no failure of the setup (the [`FailureWatch`] does not count it).
    pub fn on_lost(
        &mut self,
        opt: &mut dyn Optimizer,
        id: JobId,
        error: String,
    ) -> Result<Applied, OptimizerError> {
        let told = opt.tell(JobResult {
            id,
            output: JobOutput::Failed { error },
            lm_calls: 0,
        })?;
        self.emit_log(opt);
        if told == Told::Accepted {
            self.tells += 1;
        }
        Ok(Applied {
            told,
            jobs: opt.ask(),
            checkpoint: told == Told::Accepted,
        })
    }

    /// The checkpoint of the run as it stands, with the caller's `metadata`; counts as
    /// written.
    pub fn checkpoint(
        &mut self,
        opt: &dyn Optimizer,
        metadata: Value,
    ) -> Result<Checkpoint, OptimizerError> {
        let checkpoint = Checkpoint::new(
            opt.name(),
            self.total_tells(),
            self.total_lm_calls(),
            metadata,
            opt.state()?,
        );
        self.checkpoints += 1;
        Ok(checkpoint)
    }

    /// Whether the run must still write a checkpoint before it returns: none was written in
    /// this run.
    pub fn final_checkpoint_due(&self) -> bool {
        self.checkpoints == 0
    }

    /// The optimizer's name.
    pub fn optimizer(&self) -> &str {
        &self.optimizer
    }

    /// Results accepted in this run.
    pub fn tells(&self) -> u64 {
        self.tells
    }

    /// LM calls reported by this run's accepted results.
    pub fn lm_calls(&self) -> u64 {
        self.calls
    }

    /// Results accepted over all runs (resumed ones included).
    pub fn total_tells(&self) -> u64 {
        self.base_tells + self.tells
    }

    /// LM calls over all runs (resumed ones included).
    pub fn total_lm_calls(&self) -> u64 {
        self.base_calls + self.calls
    }

    /// The failures counted in this run.
    pub fn watch(&self) -> &FailureWatch {
        &self.watch
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::failures::scored_result;
    use hone_core::state::ProgramState;
    use hone_optimize::{JobSpec, RunLog};

    /// Hands out `total` jobs two at a time and is done once each has an accepted result.
    struct Scripted {
        total: u64,
        done_at: usize,
        issued: u64,
        told: Vec<JobId>,
        log: RunLog,
    }

    impl Scripted {
        fn new(total: u64) -> Self {
            Scripted {
                total,
                done_at: total as usize,
                issued: 0,
                told: Vec::new(),
                log: RunLog::new(),
            }
        }
    }

    fn job(id: u64) -> Job {
        Job {
            id: JobId(id),
            spec: JobSpec::Evaluate {
                program: Box::default(),
                examples: Vec::new(),
                lm: Default::default(),
                capture_traces: false,
                settings: Default::default(),
            },
            deferred: false,
        }
    }

    impl Optimizer for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }
        fn ask(&mut self) -> Vec<Job> {
            let outstanding = self.issued - self.told.len() as u64;
            let mut jobs = Vec::new();
            while self.issued < self.total && outstanding + (jobs.len() as u64) < 2 {
                jobs.push(job(self.issued));
                self.issued += 1;
            }
            jobs
        }
        fn tell(&mut self, result: JobResult) -> Result<Told, OptimizerError> {
            if result.id.0 >= self.issued {
                return Ok(Told::Unknown);
            }
            if self.told.contains(&result.id) {
                return Ok(Told::Duplicate);
            }
            self.told.push(result.id);
            Ok(Told::Accepted)
        }
        fn pending(&self) -> Vec<Job> {
            (0..self.issued)
                .filter(|i| !self.told.contains(&JobId(*i)))
                .map(job)
                .collect()
        }
        fn is_done(&self) -> bool {
            self.told.len() >= self.done_at
        }
        fn best(&self) -> Option<ProgramState> {
            None
        }
        fn state(&self) -> Result<Value, OptimizerError> {
            Ok(serde_json::json!({"told": self.told.len()}))
        }
        fn log(&self) -> &RunLog {
            &self.log
        }
    }

    fn ids(jobs: &[Job]) -> Vec<u64> {
        jobs.iter().map(|j| j.id.0).collect()
    }

    #[test]
    fn a_run_asks_tells_counts_and_ends_done() {
        let mut opt = Scripted::new(3);
        let mut core = DriverCore::new("scripted", RunLimits::default(), 0, 0);
        let first = core.ask(&mut opt);
        assert_eq!(ids(&first), [0, 1]);
        assert!(matches!(core.turn(&mut opt, 2, false), Next::Dispatch(j) if j.is_empty()));
        let applied = core
            .on_result(&mut opt, scored_result(0, &[None], 4))
            .unwrap();
        assert_eq!(applied.told, Told::Accepted);
        assert!(applied.checkpoint);
        assert_eq!(ids(&applied.jobs), [2]);
        // A duplicate counts nothing and makes no checkpoint due.
        let again = core
            .on_result(&mut opt, scored_result(0, &[Some("x")], 4))
            .unwrap();
        assert_eq!(again.told, Told::Duplicate);
        assert!(!again.checkpoint);
        for id in [1, 2] {
            core.on_result(&mut opt, scored_result(id, &[None], 3))
                .unwrap();
        }
        assert!(matches!(
            core.turn(&mut opt, 0, true),
            Next::Stop(StopReason::Done)
        ));
        assert_eq!((core.tells(), core.lm_calls()), (3, 10));
        assert_eq!(core.watch().failures, 0);
    }

    #[test]
    fn the_tell_limit_counts_resumed_runs_and_comes_before_cancellation() {
        let mut opt = Scripted::new(10);
        let limits = RunLimits {
            stop_after_tells: Some(5),
            max_errors: None,
        };
        let mut core = DriverCore::new("scripted", limits, 4, 100);
        core.ask(&mut opt);
        assert!(matches!(core.turn(&mut opt, 2, false), Next::Dispatch(_)));
        core.on_result(&mut opt, scored_result(0, &[None], 2))
            .unwrap();
        assert!(matches!(
            core.turn(&mut opt, 2, true),
            Next::Stop(StopReason::TellLimit)
        ));
        assert_eq!((core.total_tells(), core.total_lm_calls()), (5, 102));
    }

    #[test]
    fn cancellation_stops_a_run_that_is_not_done() {
        let mut opt = Scripted::new(4);
        let core = DriverCore::new("scripted", RunLimits::default(), 0, 0);
        assert!(matches!(
            core.turn(&mut opt, 0, true),
            Next::Stop(StopReason::Cancelled)
        ));
        assert_eq!(opt.issued, 0, "a cancelled turn asks for nothing");
    }

    #[test]
    fn a_streak_of_failures_stops_the_run_and_only_accepted_results_count() {
        let mut opt = Scripted::new(10);
        let limits = RunLimits {
            stop_after_tells: None,
            max_errors: Some(3),
        };
        let mut core = DriverCore::new("scripted", limits, 0, 0);
        core.ask(&mut opt);
        core.on_result(&mut opt, scored_result(0, &[Some("a"), Some("b")], 1))
            .unwrap();
        // A result for a job never issued is not a failure of the run.
        let unknown = core
            .on_result(&mut opt, scored_result(99, &[Some("x")], 1))
            .unwrap();
        assert_eq!(unknown.told, Told::Unknown);
        assert_eq!(core.watch().failures, 2);
        let err = core
            .on_result(&mut opt, scored_result(1, &[Some("c")], 1))
            .unwrap_err();
        assert!(matches!(
            err,
            DriverError::TooManyErrors {
                streak: 3,
                failures: 3,
                ..
            }
        ));
        assert_eq!(core.tells(), 2, "the result that ends the run is counted");
        assert_eq!(core.watch().first_error(), Some("a"));
    }

    #[test]
    fn a_lost_job_counts_as_a_tell_but_not_as_a_failure() {
        let mut opt = Scripted::new(2);
        let limits = RunLimits {
            stop_after_tells: None,
            max_errors: Some(1),
        };
        let mut core = DriverCore::new("scripted", limits, 0, 0);
        core.ask(&mut opt);
        let applied = core.on_lost(&mut opt, JobId(0), "lost".into()).unwrap();
        assert_eq!(applied.told, Told::Accepted);
        assert_eq!((core.tells(), core.lm_calls()), (1, 0));
        assert_eq!(core.watch().failures, 0);
    }

    #[test]
    fn nothing_in_flight_and_nothing_to_ask_for_is_a_stall_unless_jobs_are_pending() {
        let mut opt = Scripted::new(3);
        let mut core = DriverCore::new("scripted", RunLimits::default(), 0, 0);
        // Nothing in flight: the turn asks for the jobs.
        let Next::Dispatch(jobs) = core.turn(&mut opt, 0, false) else {
            panic!("dispatches");
        };
        assert_eq!(ids(&jobs), [0, 1]);
        // Both lost in transport: still pending, so the transport may find them again.
        assert!(matches!(core.turn(&mut opt, 0, false), Next::Dispatch(j) if j.is_empty()));
        assert_eq!(ids(&core.resumed_jobs(&opt)), [0, 1]);
        // An optimizer that never finishes and has nothing out has stalled.
        let mut stuck = Scripted::new(2);
        stuck.done_at = 3;
        for job in stuck.ask() {
            core.on_result(&mut stuck, scored_result(job.id.0, &[None], 1))
                .unwrap();
        }
        assert!(matches!(core.turn(&mut stuck, 0, false), Next::Stalled));
    }

    #[test]
    fn a_checkpoint_carries_the_totals_and_one_is_due_at_the_end_when_none_was_written() {
        let mut opt = Scripted::new(3);
        let mut core = DriverCore::new("scripted", RunLimits::default(), 7, 70);
        assert!(core.final_checkpoint_due());
        core.ask(&mut opt);
        let applied = core
            .on_result(&mut opt, scored_result(0, &[None], 5))
            .unwrap();
        assert!(applied.checkpoint);
        let checkpoint = core
            .checkpoint(&opt, serde_json::json!({"program": "p"}))
            .unwrap();
        assert_eq!((checkpoint.tells, checkpoint.lm_calls), (8, 75));
        assert_eq!(checkpoint.optimizer, "scripted");
        assert_eq!(checkpoint.state, serde_json::json!({"told": 1}));
        assert_eq!(checkpoint.metadata["program"], "p");
        assert!(!core.final_checkpoint_due());
    }
}
