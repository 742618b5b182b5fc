//! Call slots: how many LM-calling units of work (an example, a predict call) run at once
//! across every running job — with the oldest job first.
//!
//! A plain FIFO semaphore hands slots out in the order units asked for them. When several jobs
//! start together, their examples interleave and every job finishes late, at about the time the
//! last one does. Optimizers consume results in the order they issued jobs (a step, a window of
//! trials), so the executor should finish the oldest job first: [`CallSlots`] hands a free slot
//! to the waiting unit with the lowest priority key, and among equal keys to the one that asked
//! first. [`job_priority`] makes the key: single proposer calls before evaluations (an
//! optimizer's next step usually waits on the former, while the latter are bulk work), jobs
//! an optimizer marks [`deferred`](hone_optimize::Job::deferred) (off its critical path) last,
//! then older jobs first.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hone_optimize::{Job, JobSpec};
use tokio::sync::oneshot;

/// The priority key of `job`, the `order`-th job started (lower runs first): proposer calls
/// ([`JobSpec::Predict`]) before evaluations, [`deferred`](Job::deferred) jobs last, then by
/// `order`.
pub fn job_priority(job: &Job, order: u64) -> u64 {
    const ORDER_BITS: u32 = 56;
    let rank = match job.spec {
        _ if job.deferred => 2,
        JobSpec::Predict { .. } => 0,
        _ => 1,
    };
    (rank << ORDER_BITS) | (order & ((1 << ORDER_BITS) - 1))
}

/// A counting semaphore whose waiters are served lowest priority key first. Cheap to clone;
/// clones share the slots.
///
/// ```
/// # async fn demo() {
/// let slots = hone_eval::CallSlots::new(2);
/// let first = slots.for_job(1).acquire().await; // job 1's unit runs…
/// drop(first); // …and gives its slot back.
/// assert_eq!(slots.available(), 2);
/// # }
/// ```
#[derive(Clone)]
pub struct CallSlots {
    shared: Arc<Mutex<Shared>>,
}

struct Shared {
    available: usize,
    /// Waiting units by (priority, arrival).
    waiters: BTreeMap<(u64, u64), oneshot::Sender<SlotPermit>>,
    arrivals: u64,
}

impl CallSlots {
    /// `slots` units may run at once (at least one).
    pub fn new(slots: usize) -> Self {
        CallSlots {
            shared: Arc::new(Mutex::new(Shared {
                available: slots.max(1),
                waiters: BTreeMap::new(),
                arrivals: 0,
            })),
        }
    }

    /// The slots one job's units take, served before those of any job with a larger
    /// `priority` (use the job's sequence number: older jobs first).
    pub fn for_job(&self, priority: u64) -> JobSlots {
        JobSlots {
            slots: self.clone(),
            priority,
        }
    }

    /// Slots free right now.
    pub fn available(&self) -> usize {
        self.lock().available
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // The lock guards plain bookkeeping that no panic can leave half-done.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn acquire(&self, priority: u64) -> SlotPermit {
        let receiver = {
            let mut shared = self.lock();
            if shared.available > 0 && shared.waiters.is_empty() {
                shared.available -= 1;
                return SlotPermit {
                    slots: Some(self.clone()),
                };
            }
            let (sender, receiver) = oneshot::channel();
            shared.arrivals += 1;
            let arrival = shared.arrivals;
            shared.waiters.insert((priority, arrival), sender);
            receiver
        };
        match receiver.await {
            Ok(permit) => permit,
            // The sender is only dropped with the slots themselves, which `self` keeps alive.
            Err(_) => SlotPermit { slots: None },
        }
    }

    /// A slot came back: it goes to the first waiter still waiting, else to the pool.
    fn release(&self) {
        let mut shared = self.lock();
        while let Some((_, sender)) = shared.waiters.pop_first() {
            let permit = SlotPermit {
                slots: Some(self.clone()),
            };
            match sender.send(permit) {
                Ok(()) => return,
                // That waiter gave up (its future was dropped): the slot is still ours. Dropping
                // the returned permit here would release it again under the lock.
                Err(permit) => std::mem::forget(permit),
            }
        }
        shared.available += 1;
    }
}

/// One job's view of [`CallSlots`]: every unit it acquires has the job's priority.
#[derive(Clone)]
pub struct JobSlots {
    slots: CallSlots,
    priority: u64,
}

impl JobSlots {
    /// Waits for a slot; it is given back when the permit is dropped. Cancellation-safe: a
    /// dropped wait gives up its place, and a slot handed to it goes to the next waiter.
    pub async fn acquire(&self) -> SlotPermit {
        self.slots.acquire(self.priority).await
    }

    /// The job's priority key.
    pub fn priority(&self) -> u64 {
        self.priority
    }
}

/// A held slot; dropping it gives the slot back.
pub struct SlotPermit {
    slots: Option<CallSlots>,
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.take() {
            slots.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_core::{Example, Signature};
    use hone_optimize::{JobExample, JobId, LmRole, Split};
    use std::time::Duration;

    #[test]
    fn proposer_calls_come_first_and_deferred_jobs_last() {
        let evaluate = |id: u64, deferred: bool| Job {
            id: JobId(id),
            spec: JobSpec::Evaluate {
                program: Box::default(),
                examples: JobExample::dataset(Split::Val, [Example::default()]),
                lm: LmRole::Task,
                capture_traces: false,
                settings: Default::default(),
            },
            deferred,
        };
        let propose = Job {
            id: JobId(9),
            spec: JobSpec::Predict {
                purpose: "propose_instruction".into(),
                signature: Signature::parse("question -> answer").expect("parses"),
                inputs: Default::default(),
                demos: Vec::new(),
                n: 1,
                lm: LmRole::Proposer,
                settings: Default::default(),
            },
            deferred: false,
        };
        let mut keys = [
            ("deferred old", job_priority(&evaluate(1, true), 1)),
            ("evaluate new", job_priority(&evaluate(8, false), 8)),
            ("propose newest", job_priority(&propose, 9)),
            ("evaluate old", job_priority(&evaluate(2, false), 2)),
        ];
        keys.sort_by_key(|(_, key)| *key);
        let order: Vec<&str> = keys.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            order,
            vec![
                "propose newest",
                "evaluate old",
                "evaluate new",
                "deferred old"
            ]
        );
    }

    #[tokio::test]
    async fn lower_priorities_are_served_first_then_arrival_order() {
        let slots = CallSlots::new(1);
        let held = slots.for_job(0).acquire().await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (priority, name) in [(5, "late job a"), (2, "old job"), (5, "late job b")] {
            let job = slots.for_job(priority);
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = job.acquire().await;
                order.lock().map(|mut o| o.push(name)).ok();
            }));
            // Let the task reach its wait before the next one arrives.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(held);
        for t in tasks {
            t.await.expect("the task ran");
        }
        let order = order.lock().map(|o| o.clone()).unwrap_or_default();
        assert_eq!(order, vec!["old job", "late job a", "late job b"]);
        assert_eq!(slots.available(), 1);
    }

    #[tokio::test]
    async fn a_cancelled_wait_does_not_lose_the_slot() {
        let slots = CallSlots::new(1);
        let held = slots.for_job(0).acquire().await;
        let job = slots.for_job(1);
        let waiting = tokio::spawn(async move { job.acquire().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        waiting.abort();
        let _ = waiting.await;
        drop(held);
        assert_eq!(slots.available(), 1);
        // Handed to a waiter that is gone before it looks: the slot comes back.
        let held = slots.for_job(0).acquire().await;
        let job = slots.for_job(1);
        let mut wait = Box::pin(job.acquire());
        assert!(futures_util::FutureExt::now_or_never(&mut wait).is_none());
        drop(held);
        drop(wait);
        assert_eq!(slots.available(), 1);
    }

    #[tokio::test]
    async fn at_most_the_slots_run_at_once() {
        let slots = CallSlots::new(3);
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..20u64 {
            let job = slots.for_job(i % 4);
            let (running, peak) = (running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = job.acquire().await;
                let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                peak.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.expect("the task ran");
        }
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(slots.available(), 3);
    }
}
