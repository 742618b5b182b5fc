//! Jobs onto the jobs stream and results off the results stream: publishing with
//! backpressure, telling a batch of results, dead-lettering what does not fit, and cleaning
//! the streams behind the checkpoint.

use hone_eval::DriverError;
use hone_optimize::{JobId, OptimizerError, Told};

use super::reconcile::successor;
use super::{CoordinatorEvent, RedisDriver, RunState};
use crate::error::Error;
use crate::message::{DeadKind, DeadLetter, JobMessage, MESSAGE_VERSION, ResultMessage, to_json};
use crate::streams::Entry;

impl RedisDriver {
    /// Publishes held jobs while the stream has room.
    pub(super) async fn publish_held(&mut self, state: &mut RunState) -> Result<(), Error> {
        let jobs = self.redis.keys().jobs(&self.config.run);
        while state.published.len() < self.config.max_queued.max(1) {
            let Some(job) = state.held.pop_front() else {
                break;
            };
            if state.published.contains_key(&job.id) {
                continue;
            }
            let id = job.id;
            let mut message = JobMessage::new(self.config.run.clone(), Some(self.epoch), job);
            message.serves = self.config.serves.clone();
            let entry = self
                .redis
                .add(&jobs, &to_json(&message), false)
                .await?
                .unwrap_or_default();
            self.emit(CoordinatorEvent::Published {
                job: id,
                entry: &entry,
            });
            state.published.insert(id, entry);
            state.published_count += 1;
        }
        Ok(())
    }

    /// Tells a batch of results, checkpoints, then cleans the streams. Returns whether a
    /// result was dead-lettered (so lost jobs should be looked for).
    pub(super) async fn process(
        &mut self,
        batch: Vec<Entry>,
        state: &mut RunState,
    ) -> Result<bool, Error> {
        let run = self.config.run.clone();
        let mut done_entries: Vec<String> = Vec::new();
        let mut dead_lettered = false;
        let mut checkpoint_due = false;
        for entry in batch {
            self.results_pos = entry.id.clone();
            let mut message = match ResultMessage::from_fields(&entry.fields, &run) {
                Ok(m) => m,
                Err(e) => {
                    self.dead_letter(
                        state,
                        &entry.id,
                        DeadKind::Malformed,
                        e.reason,
                        e.job,
                        e.payload,
                    )
                    .await?;
                    dead_lettered = true;
                    continue;
                }
            };
            if message.epoch.is_some_and(|e| e != self.epoch) {
                state.ignored += 1;
                continue;
            }
            let id = message.result.id;
            let usage = std::mem::take(&mut message.usage);
            let worker = message.worker.as_deref();
            let elapsed = self.config.elapsed_before + state.started.elapsed();
            self.opt
                .observe(hone_eval::run_signals(&*self.opt, elapsed.as_secs_f64()));
            let applied = match state.core.on_result(&mut *self.opt, message.result) {
                Ok(applied) => applied,
                Err(DriverError::Optimizer(OptimizerError::BadResult { message: why, .. })) => {
                    let reason = format!(
                        "the result does not fit job {id}: {why}; the job will be published again"
                    );
                    self.dead_letter(
                        state,
                        &entry.id,
                        DeadKind::BadResult,
                        reason,
                        Some(id),
                        None,
                    )
                    .await?;
                    dead_lettered = true;
                    continue;
                }
                Err(e @ DriverError::TooManyErrors { .. }) => {
                    // The result was accepted; its failures end the run.
                    self.emit(CoordinatorEvent::Told {
                        job: id,
                        told: Told::Accepted,
                        worker,
                    });
                    self.checkpoint_and_clean(state, &done_entries).await?;
                    return Err(Error::Failures(Box::new(e)));
                }
                Err(e) => {
                    self.checkpoint_and_clean(state, &done_entries).await?;
                    return Err(match e {
                        DriverError::Optimizer(e) => e.into(),
                        other => Error::Failures(Box::new(other)),
                    });
                }
            };
            let told = applied.told;
            self.emit(CoordinatorEvent::Told {
                job: id,
                told,
                worker,
            });
            checkpoint_due |= applied.checkpoint;
            match told {
                Told::Accepted => state.usage.add(&usage),
                Told::Duplicate => state.duplicates += 1,
                Told::Unknown | Told::Stale => state.ignored += 1,
            }
            if matches!(told, Told::Accepted | Told::Duplicate | Told::Stale) {
                if let Some(e) = state.published.remove(&id) {
                    done_entries.push(e);
                }
                // A copy of the job published twice (a retried XADD) is deleted too, unless the
                // entry id is another outstanding job's.
                if let Some(e) = message.job_entry
                    && !state.published.values().any(|p| *p == e)
                {
                    done_entries.push(e);
                }
            }
            state.held.extend(applied.jobs);
        }
        // The streams are cleaned only behind a checkpoint: also after dead letters and results
        // that need no tell.
        if checkpoint_due || dead_lettered || !done_entries.is_empty() {
            self.checkpoint_and_clean(state, &done_entries).await?;
        }
        Ok(dead_lettered)
    }

    pub(super) async fn checkpoint_and_clean(
        &mut self,
        state: &mut RunState,
        done: &[String],
    ) -> Result<(), Error> {
        self.write_checkpoint(state).await?;
        let keys = self.redis.keys();
        let jobs = keys.jobs(&self.config.run);
        let ids: Vec<&str> = done.iter().map(String::as_str).collect();
        self.redis.ack_delete(&jobs, &ids).await?;
        if let Some(next) = successor(&self.results_pos) {
            self.redis
                .trim_before(&keys.results(&self.config.run), &next)
                .await?;
        }
        Ok(())
    }

    pub(super) async fn dead_letter(
        &mut self,
        state: &mut RunState,
        entry: &str,
        kind: DeadKind,
        reason: String,
        job: Option<JobId>,
        payload: Option<String>,
    ) -> Result<(), Error> {
        let run = &self.config.run;
        let letter = DeadLetter {
            v: MESSAGE_VERSION,
            run: run.clone(),
            kind,
            reason,
            source: self.redis.keys().results(run),
            entry: entry.to_owned(),
            job,
            by: "coordinator".into(),
            payload,
        };
        self.redis.dead_letter(run, &letter).await?;
        state.dead += 1;
        self.emit(CoordinatorEvent::DeadLettered {
            kind,
            entry,
            reason: &letter.reason,
        });
        Ok(())
    }
}
