//! Finding lost jobs — pending in the optimizer but neither on the jobs stream nor delivered
//! and unacknowledged — and publishing them again, or telling them as failed.

use std::collections::{HashMap, HashSet};

use hone_optimize::{Job, JobId};

use super::{CoordinatorEvent, RedisDriver, RunState};
use crate::error::Error;
use crate::message::JobMessage;

/// The smallest stream id after `id` (`ms-seq` → `ms-(seq+1)`).
pub(super) fn successor(id: &str) -> Option<String> {
    let (ms, seq) = id.split_once('-')?;
    let seq: u64 = seq.parse().ok()?;
    Some(format!("{ms}-{}", seq.checked_add(1)?))
}

/// Orders stream ids (`ms-seq`) numerically.
fn id_key(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (
        ms.parse().unwrap_or(u64::MAX),
        seq.parse().unwrap_or(u64::MAX),
    )
}

impl RedisDriver {
    /// Finds lost jobs and publishes them again; drops entries of jobs that need no result.
    pub(super) async fn reconcile(&mut self, state: &mut RunState) -> Result<(), Error> {
        let run = self.config.run.clone();
        let jobs = self.redis.keys().jobs(&run);
        let results = self.redis.keys().results(&run);
        let limit = self.config.max_queued.max(1).saturating_mul(4).max(10_000);
        // Observe the jobs stream first, then drain the results: a job acknowledged before
        // the observation has its result on the results stream already.
        let last_delivered = self
            .redis
            .last_delivered(&jobs)
            .await?
            .unwrap_or_else(|| "0-0".into());
        let unacked: HashSet<String> = self
            .redis
            .pending(&jobs, None, limit, None)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let entries = self.redis.range_all(&jobs, limit).await?;
        let complete = entries.len() < limit;
        for _ in 0..1000 {
            let batch = self
                .redis
                .read_after(&results, &self.results_pos, self.config.read_batch, None)
                .await?;
            if batch.is_empty() {
                break;
            }
            self.process(batch, state).await?;
        }

        let pending: HashMap<JobId, Job> =
            self.opt.pending().into_iter().map(|j| (j.id, j)).collect();
        let held: HashSet<JobId> = state.held.iter().map(|j| j.id).collect();
        let mut on_stream: HashMap<JobId, String> = HashMap::new();
        let mut stale: Vec<String> = Vec::new();
        for entry in &entries {
            match JobMessage::from_fields(&entry.fields, &run) {
                Ok(m) if m.epoch == Some(self.epoch) && pending.contains_key(&m.job.id) => {
                    if on_stream.insert(m.job.id, entry.id.clone()).is_some() {
                        stale.push(entry.id.clone());
                    }
                }
                Ok(_) => stale.push(entry.id.clone()),
                Err(_) => {} // workers dead-letter malformed entries
            }
        }
        let stale_refs: Vec<&str> = stale.iter().map(String::as_str).collect();
        self.redis.ack_delete(&jobs, &stale_refs).await?;

        let mut lost: Vec<Job> = Vec::new();
        let mut ids: Vec<&JobId> = pending.keys().collect();
        ids.sort();
        for id in ids {
            if held.contains(id) {
                continue;
            }
            let is_lost = match on_stream.get(id) {
                None => complete,
                Some(entry) => id_key(entry) <= id_key(&last_delivered) && !unacked.contains(entry),
            };
            if is_lost && let Some(job) = pending.get(id) {
                lost.push(job.clone());
            }
        }
        state.published = on_stream;
        for job in lost {
            let id = job.id;
            if let Some(entry) = state.published.remove(&id) {
                self.redis.ack_delete(&jobs, &[entry.as_str()]).await?;
            }
            let times = state.republished.entry(id).or_insert(0);
            *times += 1;
            let times = *times;
            if times > self.config.max_republish {
                let error = format!(
                    "job {id} was lost {} times (no result reached the coordinator); see the dead-letter stream {}",
                    times - 1,
                    self.redis.keys().dead(&run)
                );
                let elapsed = self.config.elapsed_before + state.started.elapsed();
                self.opt
                    .observe(hone_eval::run_signals(&*self.opt, elapsed.as_secs_f64()));
                let applied = state.core.on_lost(&mut *self.opt, id, error)?;
                self.emit(CoordinatorEvent::Told {
                    job: id,
                    told: applied.told,
                    worker: None,
                });
                state.held.extend(applied.jobs);
            } else {
                state.republished_count += 1;
                self.emit(CoordinatorEvent::Republished { job: id, times });
                state.held.push_front(job);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::new_epoch;

    #[test]
    fn stream_ids_order_and_succeed() {
        assert_eq!(successor("5-3").as_deref(), Some("5-4"));
        assert!(id_key("10-0") > id_key("9-5"));
        assert!(id_key("10-1") > id_key("10-0"));
        assert!(new_epoch() < (1u64 << 53));
    }
}
