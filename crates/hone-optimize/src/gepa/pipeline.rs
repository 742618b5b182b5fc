//! The pipeline of `overlap_full_evals`: iterations in flight one per stage, read together
//! once every stage has its results, and the start of the next iteration beside them.

use super::Gepa;
use super::state::{Flight, Phase, Stage};
use crate::protocol::JobResult;

impl Gepa {
    /// Reads the pipeline's results once every iteration in flight has its stage's results
    /// (and no new iteration waits to begin), oldest iteration first: judges the oldest one's
    /// children, turns reflections into children and parents' evaluations into reflections;
    /// then begins the next iteration. Iterations always advance together, so a run does not
    /// depend on the order results arrive in.
    ///
    /// gepa checks the budget before each iteration, after the previous one's candidates are
    /// scored. Here the younger iterations began before that: when accepted children's valset
    /// scoring spends the budget — counting what the iterations before them spent, not the
    /// younger ones — the younger iterations are dropped, their issued minibatch evaluations
    /// counted as spent, and the run ends where gepa's would.
    pub(super) fn pipeline_round(&mut self) {
        let (flights, mut held) = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Pipeline {
                flights,
                held,
                blocked: false,
            } if flights
                .iter()
                .all(|f| f.jobs.clone().all(|id| held.iter().any(|r| r.id.0 == id))) =>
            {
                (flights, held)
            }
            other => {
                self.phase = other;
                return;
            }
        };
        held.sort_by_key(|r| r.id.0);
        let mut next: Vec<Flight> = Vec::new();
        let mut flights = flights.into_iter();
        while let Some(flight) = flights.next() {
            let (results, rest): (Vec<JobResult>, Vec<JobResult>) = std::mem::take(&mut held)
                .into_iter()
                .partition(|r| flight.jobs.contains(&r.id.0));
            held = rest;
            let mut results = results.into_iter();
            self.noting = Some(flight.iteration);
            let first = self.book.next_id();
            match flight.stage {
                Stage::Parents { tasks } => {
                    let before = self.metric_calls;
                    let stage = self.reflect_on_parents(tasks, &mut results);
                    let spent = flight.spent + self.metric_calls - before;
                    if let Some(stage) = stage {
                        next.push(Flight {
                            iteration: flight.iteration,
                            jobs: first..self.book.next_id(),
                            spent,
                            stage,
                        });
                    }
                }
                Stage::Reflect {
                    tasks,
                    before,
                    calls,
                } => {
                    let children = self.children_of_reflections(tasks, before, calls, &mut results);
                    if !children.is_empty() {
                        next.push(Flight {
                            iteration: flight.iteration,
                            jobs: first..self.book.next_id(),
                            spent: flight.spent,
                            stage: Stage::Children { children },
                        });
                    }
                }
                Stage::Children { children } => {
                    let younger: Vec<Flight> = flights.by_ref().collect();
                    let accepted = self.judge_children(children, &mut results);
                    if !accepted.is_empty() {
                        self.background_scoring(accepted, younger.len());
                    }
                    let younger_spent: u64 = younger.iter().map(|f| f.spent).sum();
                    let before_younger = self.metric_calls - younger_spent;
                    if !younger.is_empty()
                        && before_younger + self.background_calls() >= self.max_metric_calls
                    {
                        let issued: u64 = younger.iter().map(Flight::calls_issued).sum();
                        self.note(format!(
                            "the budget is spent; dropping the {} iteration(s) begun beside \
                             this one ({} metric call(s) of their evaluations)",
                            younger.len(),
                            younger_spent + issued
                        ));
                        self.metric_calls += issued;
                        self.iteration -= younger.len() as i64;
                        // Their results still due are ignored.
                        break;
                    }
                    flights = younger.into_iter();
                }
            }
        }
        self.noting = None;
        self.phase = Phase::Pipeline {
            flights: next,
            held: Vec::new(),
            blocked: false,
        };
        self.begin_in_pipeline();
    }

    /// Begins the next iteration in the pipeline when the budget would remain even if no
    /// child in flight were accepted, no merge is due, and no iteration in flight is still
    /// at its parents; waits (blocked) for a background scoring due before it. When none can
    /// begin and none is in flight, goes on as gepa's loop does.
    pub(super) fn begin_in_pipeline(&mut self) {
        let Phase::Pipeline { flights, .. } = &self.phase else {
            return;
        };
        if flights
            .iter()
            .any(|f| matches!(f.stage, Stage::Parents { .. }))
        {
            return;
        }
        let idle = flights.is_empty();
        let to_come: u64 = flights.iter().map(Flight::calls_to_come).sum();
        if self.metric_calls + self.background_calls() + to_come >= self.max_metric_calls {
            if idle {
                self.next_iteration();
            }
            return;
        }
        if !self.absorb_due(false) {
            if let Phase::Pipeline { blocked, .. } = &mut self.phase {
                *blocked = true;
            }
            return;
        }
        if self.merge_due() || self.should_stop() {
            if idle {
                self.next_iteration();
            }
            return;
        }
        self.count_iteration();
        self.last_iter_found_new_program = false;
        let first = self.book.next_id();
        let tasks = self.reflective_tasks();
        let flight = Flight {
            iteration: self.iteration,
            jobs: first..self.book.next_id(),
            spent: 0,
            stage: Stage::Parents { tasks },
        };
        if let Phase::Pipeline {
            flights, blocked, ..
        } = &mut self.phase
        {
            flights.push(flight);
            *blocked = false;
        }
    }
}
