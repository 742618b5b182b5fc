//! Job bookkeeping shared by every optimizer: ids, pending jobs, idempotent results, and
//! step barriers that make outcomes independent of arrival order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::protocol::{Job, JobId, JobResult, JobSpec, Told};

/// Tracks the jobs an optimizer issued and the results it received.
///
/// Jobs are grouped into *steps*: an optimizer issues a step's jobs, waits until every one has
/// a result ([`JobBook::step_complete`]), then reads them in id order with
/// [`JobBook::take_step`]. Nothing it decides depends on the order results arrived in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobBook {
    next_id: u64,
    /// Jobs created but not yet handed out by `ask`.
    queued: Vec<Job>,
    /// Jobs handed out, waiting for a result.
    issued: BTreeMap<JobId, Job>,
    /// Results of the current step, by job id.
    results: BTreeMap<JobId, JobResult>,
    /// Ids of every job of the current step.
    step: Vec<JobId>,
    /// Ids of jobs whose results were already consumed (for duplicate detection).
    done_below: u64,
    /// LM calls reported by all results so far.
    lm_calls: u64,
    /// Background jobs not yet taken, with their group: outside the step barrier (see
    /// [`JobBook::create_background`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    background: BTreeMap<JobId, u64>,
    /// Results of background jobs, by job id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    background_results: BTreeMap<JobId, JobResult>,
}

impl JobBook {
    /// An empty book.
    pub fn new() -> Self {
        JobBook::default()
    }

    /// Creates a job in the current step; it is handed out by the next [`JobBook::drain`].
    pub fn create(&mut self, spec: JobSpec) -> JobId {
        let id = JobId(self.next_id);
        self.next_id += 1;
        self.step.push(id);
        self.queued.push(Job {
            id,
            spec,
            deferred: false,
        });
        id
    }

    /// Creates a background job in `group`: handed out by the next [`JobBook::drain`] like any
    /// job, but outside the step barrier — steps complete without it, and its result waits
    /// until [`JobBook::take_background`] takes the group. An optimizer reads background
    /// results only at points of its own choosing, so its outcomes stay independent of arrival
    /// order.
    pub fn create_background(&mut self, group: u64, spec: JobSpec) -> JobId {
        self.background_job(group, spec, false)
    }

    /// Like [`JobBook::create_background`], for work off the optimizer's critical path: the
    /// job is [`deferred`](Job::deferred), started after waiting jobs that are not.
    pub fn create_deferred(&mut self, group: u64, spec: JobSpec) -> JobId {
        self.background_job(group, spec, true)
    }

    fn background_job(&mut self, group: u64, spec: JobSpec, deferred: bool) -> JobId {
        let id = JobId(self.next_id);
        self.next_id += 1;
        self.background.insert(id, group);
        self.queued.push(Job { id, spec, deferred });
        id
    }

    /// Whether background jobs of `group` exist that were not taken yet.
    pub fn has_background(&self, group: u64) -> bool {
        self.background.values().any(|&g| g == group)
    }

    /// Whether `group` has background jobs and every one has its result.
    pub fn background_complete(&self, group: u64) -> bool {
        self.has_background(group)
            && self
                .background
                .iter()
                .filter(|(_, g)| **g == group)
                .all(|(id, _)| self.background_results.contains_key(id))
    }

    /// The results of `group`'s background jobs in job-id order; the group is then gone.
    pub fn take_background(&mut self, group: u64) -> Vec<JobResult> {
        let ids: Vec<JobId> = self
            .background
            .iter()
            .filter(|(_, g)| **g == group)
            .map(|(id, _)| *id)
            .collect();
        let mut results = Vec::with_capacity(ids.len());
        for id in ids {
            self.background.remove(&id);
            if let Some(r) = self.background_results.remove(&id) {
                results.push(r);
            }
        }
        results
    }

    /// Hands out the queued jobs (what `ask` returns).
    pub fn drain(&mut self) -> Vec<Job> {
        let jobs = std::mem::take(&mut self.queued);
        for job in &jobs {
            self.issued.insert(job.id, job.clone());
        }
        jobs
    }

    /// Records a result; idempotent.
    pub fn record(&mut self, result: JobResult) -> Told {
        if self.background.contains_key(&result.id) {
            if self.background_results.contains_key(&result.id) {
                return Told::Duplicate;
            }
            if self.issued.remove(&result.id).is_none() {
                return Told::Unknown;
            }
            self.lm_calls += result.lm_calls;
            self.background_results.insert(result.id, result);
            return Told::Accepted;
        }
        if result.id.0 < self.done_below || self.results.contains_key(&result.id) {
            return Told::Duplicate;
        }
        if self.issued.remove(&result.id).is_none() {
            return if result.id.0 < self.next_id && !self.step.contains(&result.id) {
                Told::Duplicate
            } else {
                Told::Unknown
            };
        }
        self.lm_calls += result.lm_calls;
        self.results.insert(result.id, result);
        Told::Accepted
    }

    /// A job handed out and still waiting for its result.
    pub fn issued_job(&self, id: JobId) -> Option<&Job> {
        self.issued.get(&id)
    }

    /// The id the next job created gets (jobs are numbered in creation order).
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Whether the book ever created a job with this id.
    pub fn created(&self, id: JobId) -> bool {
        id.0 < self.next_id
    }

    /// Jobs handed out without a result yet.
    pub fn pending(&self) -> Vec<Job> {
        self.issued.values().cloned().collect()
    }

    /// Whether the current step has jobs and all of them have results.
    pub fn step_complete(&self) -> bool {
        !self.step.is_empty()
            && self.queued.is_empty()
            && self.step.iter().all(|id| self.results.contains_key(id))
    }

    /// Whether the current step has no jobs (nothing issued since the last `take_step`).
    pub fn step_is_empty(&self) -> bool {
        self.step.is_empty()
    }

    /// The current step's results in job-id order, ending the step.
    pub fn take_step(&mut self) -> Vec<JobResult> {
        let results: Vec<JobResult> = std::mem::take(&mut self.results).into_values().collect();
        self.step.clear();
        self.done_below = self.next_id;
        results
    }

    /// LM calls reported by all results so far.
    pub fn lm_calls(&self) -> u64 {
        self.lm_calls
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{JobOutput, LmRole};
    use hone_core::{Example, Signature};

    fn spec() -> JobSpec {
        JobSpec::Predict {
            purpose: "test".into(),
            signature: Signature::parse("a -> b").expect("parses"),
            demos: vec![],
            inputs: Example::new(),
            lm: LmRole::Proposer,
            n: 1,
            settings: Default::default(),
        }
    }

    fn result(id: JobId) -> JobResult {
        JobResult {
            id,
            output: JobOutput::Predicted {
                predictions: vec![],
            },
            lm_calls: 1,
        }
    }

    #[test]
    fn background_jobs_stay_outside_steps_until_taken() {
        let mut book = JobBook::new();
        let slow = book.create_background(7, spec());
        let other = book.create_background(8, spec());
        let a = book.create(spec());
        assert_eq!(book.drain().len(), 3);
        assert_eq!(book.record(result(a)), Told::Accepted);
        assert!(
            book.step_complete(),
            "the step does not wait for background jobs"
        );
        assert_eq!(book.take_step().len(), 1);
        assert!(book.has_background(7) && !book.background_complete(7));
        let b = book.create(spec());
        book.drain();
        assert_eq!(book.record(result(slow)), Told::Accepted);
        assert_eq!(book.record(result(slow)), Told::Duplicate);
        assert!(book.background_complete(7) && !book.background_complete(8));
        assert!(
            !book.step_complete(),
            "the new step still waits for its own job"
        );
        let got: Vec<JobId> = book.take_background(7).into_iter().map(|r| r.id).collect();
        assert_eq!(got, vec![slow]);
        assert!(!book.has_background(7) && book.has_background(8));
        assert_eq!(book.record(result(slow)), Told::Duplicate);
        assert_eq!(book.record(result(b)), Told::Accepted);
        assert!(book.step_complete());
        assert_eq!(book.record(result(other)), Told::Accepted);
        assert_eq!(book.take_background(8).len(), 1);
        assert_eq!(book.lm_calls(), 4);
    }

    #[test]
    fn steps_complete_in_any_order_and_duplicates_are_ignored() {
        let mut book = JobBook::new();
        let a = book.create(spec());
        let b = book.create(spec());
        let jobs = book.drain();
        assert_eq!(jobs.len(), 2);
        assert!(!book.step_complete());
        assert_eq!(book.record(result(b)), Told::Accepted);
        assert_eq!(book.record(result(b)), Told::Duplicate);
        assert_eq!(book.pending().len(), 1);
        assert_eq!(book.record(result(a)), Told::Accepted);
        assert!(book.step_complete());
        let got: Vec<JobId> = book.take_step().into_iter().map(|r| r.id).collect();
        assert_eq!(got, vec![a, b]);
        assert_eq!(book.record(result(a)), Told::Duplicate);
        assert_eq!(book.record(result(JobId(99))), Told::Unknown);
        assert_eq!(book.lm_calls(), 2);
    }
}
