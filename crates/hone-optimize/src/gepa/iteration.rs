//! The start of an iteration: the budget check, parent and component selection, minibatch
//! sampling, merge proposals, and the end of the run.

use std::collections::BTreeSet;

use super::Gepa;
use super::config::{CandidateSelection, ComponentSelection};
use super::merge::{MergeView, Merged, attempt_merge, merge_subsample};
use super::state::{Child, Flight, Phase, Stage, Task};
use crate::log::LogEvent;
use crate::protocol::CallSettings;
use crate::steps::eval_spec;

impl Gepa {
    pub(super) fn select_components(&mut self, parent: usize) -> Vec<String> {
        match self.config.component_selector {
            ComponentSelection::All => self.components.clone(),
            ComponentSelection::RoundRobin => {
                let n = self.components.len().max(1);
                let program = &mut self.programs[parent];
                let pid = program.next_component % n;
                program.next_component = (pid + 1) % n;
                self.components.get(pid).cloned().into_iter().collect()
            }
        }
    }

    pub(super) fn select_parent(&mut self) -> usize {
        if self.programs.len() <= 1 {
            // The seed (perhaps still scored in the background) is the only candidate.
            return 0;
        }
        let scores = self.tracked_scores();
        let front = super::frontier::fronts(
            self.config.frontier_type,
            &self.programs,
            &self.front,
            self.valset.len(),
        );
        match self.config.candidate_selection_strategy {
            CandidateSelection::CurrentBest => self.best_index().unwrap_or(0),
            CandidateSelection::Pareto => front
                .sample(&scores, &mut self.rng)
                .or_else(|| self.best_index())
                .unwrap_or(0),
            CandidateSelection::EpsilonGreedy => {
                if self.rng.next_f64() < self.config.epsilon {
                    self.rng.below(self.programs.len())
                } else {
                    self.best_index().unwrap_or(0)
                }
            }
            CandidateSelection::TopKPareto => {
                // The best `top_k` by mean score, ties in discovery order (Python's stable
                // `sorted(..., reverse=True)`).
                let mut order: Vec<usize> = (0..scores.len()).collect();
                order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
                let keep: BTreeSet<usize> =
                    order.into_iter().take(self.config.top_k.max(1)).collect();
                front
                    .restricted_to(&keep)
                    .sample(&scores, &mut self.rng)
                    .or_else(|| self.best_index())
                    .unwrap_or(0)
            }
        }
    }

    /// The start of gepa's loop body, once candidates scored in the background (if any) have
    /// joined the pool.
    pub(super) fn next_iteration(&mut self) {
        let spent = self.metric_calls + self.background_calls() >= self.max_metric_calls
            || self.stop.reason.is_some();
        if !self.absorb_due(spent) {
            self.phase = Phase::Waiting;
            return;
        }
        self.begin_iteration();
    }

    /// The loop body proper: the budget check (counting the background scorings' calls) and
    /// the other stop conditions, a scheduled merge, or a reflective mutation. Candidates still scored in the background
    /// are not in the pool yet.
    pub(super) fn begin_iteration(&mut self) {
        if self.should_stop() {
            // The budget is spent or another stop condition holds: the background candidates
            // join the pool, then the run ends.
            if self.absorb_due(true) {
                self.finish();
            } else {
                self.phase = Phase::Waiting;
            }
            return;
        }
        self.count_iteration();
        if self.merge_due() {
            self.last_iter_found_new_program = false;
            if let Some(merged) = self.propose_merge() {
                let id1 = merged.id1;
                let id2 = merged.id2;
                let subsample = merge_subsample(
                    &self.programs[id1].val_scores,
                    &self.programs[id2].val_scores,
                    5,
                    &mut self.rng,
                );
                if !subsample.is_empty() {
                    self.merge_history
                        .triplets
                        .push((id1, id2, merged.ancestor));
                    let sums = (
                        subsample
                            .iter()
                            .map(|&i| self.programs[id1].val_scores[i])
                            .sum(),
                        subsample
                            .iter()
                            .map(|&i| self.programs[id2].val_scores[i])
                            .sum(),
                    );
                    for (name, text) in &merged.candidate {
                        if self.programs[id1].texts.get(name) != Some(text)
                            || self.programs[id2].texts.get(name) != Some(text)
                        {
                            self.log.push(LogEvent::Proposal {
                                predictor: name.clone(),
                                text: text.clone(),
                                source: "merge".into(),
                            });
                        }
                    }
                    self.note(format!(
                        "merging candidates {id1} and {id2} via ancestor {}",
                        merged.ancestor
                    ));
                    let program = self.program_for(&merged.candidate);
                    let examples = self.val_examples(&subsample);
                    self.book.create(eval_spec(
                        &program,
                        examples,
                        false,
                        CallSettings::default(),
                    ));
                    self.phase = Phase::MergeEval {
                        child: Child {
                            parent: id1,
                            texts: merged.candidate,
                            minibatch: subsample,
                            before: Vec::new(),
                            after: Vec::new(),
                            merge: Some((id1, id2, merged.ancestor)),
                            seed: false,
                        },
                        parent_sums: sums,
                    };
                    return;
                }
            } else {
                self.note("no merge candidates found".into());
            }
        }
        self.last_iter_found_new_program = false;
        self.start_reflective();
    }

    /// Counts a new iteration, which also runs beside every background scoring.
    pub(super) fn count_iteration(&mut self) {
        self.iteration += 1;
        for background in &mut self.backgrounds {
            background.iterations_beside += 1;
        }
    }

    /// Whether the iteration about to begin is a merge attempt (gepa schedules one after an
    /// iteration that found a new program, while merges are due).
    pub(super) fn merge_due(&self) -> bool {
        self.config.use_merge && self.merges_due > 0 && self.last_iter_found_new_program
    }

    pub(super) fn propose_merge(&mut self) -> Option<Merged> {
        let scores = self.tracked_scores();
        let pool = self.selection_front().dominators(&scores);
        let floor = self.config.merge_val_overlap_floor;
        let val_len = self.valset.len();
        let view = MergeView {
            candidates: self.programs.iter().map(|p| &p.texts).collect(),
            parents: self.programs.iter().map(|p| p.parents.as_slice()).collect(),
            scores: &scores,
        };
        // Every candidate is scored on the whole valset, so any two share all of it.
        let overlap = move |_: usize, _: usize| val_len >= floor;
        attempt_merge(
            &view,
            &pool,
            &mut self.merge_history,
            &mut self.rng,
            &overlap,
        )
    }

    /// Begins the reflective part of the current iteration: in the pipeline with
    /// `overlap_full_evals`, else step by step.
    pub(super) fn start_reflective(&mut self) {
        let first = self.book.next_id();
        let tasks = self.reflective_tasks();
        self.phase = if self.config.overlap_full_evals {
            Phase::Pipeline {
                flights: vec![Flight {
                    iteration: self.iteration,
                    jobs: first..self.book.next_id(),
                    spent: 0,
                    stage: Stage::Parents { tasks },
                }],
                held: Vec::new(),
                blocked: false,
            }
        } else {
            Phase::Iteration {
                stage: Stage::Parents { tasks },
            }
        };
    }

    /// Picks the parents and minibatches of a reflective iteration and asks for their
    /// evaluations (with traces).
    pub(super) fn reflective_tasks(&mut self) -> Vec<Task> {
        let n = self.config.num_parallel_proposals.max(1);
        let mut tasks = Vec::with_capacity(n);
        for k in 0..n {
            let parent = self.select_parent();
            // Proposal k of iteration i takes the sampler's slice i·n + k: gepa's slice i when
            // n = 1, and minibatches no other proposal of any iteration shares otherwise.
            let slice = self.iteration.max(0) * n as i64 + k as i64;
            let minibatch = self.sampler.next(
                self.trainset.len(),
                self.config.reflection_minibatch_size,
                slice,
                &mut self.rng,
            );
            let program = self.program_for(&self.programs[parent].texts);
            let examples = self.train_examples(&minibatch);
            self.book
                .create(eval_spec(&program, examples, true, CallSettings::default()));
            tasks.push(Task { parent, minibatch });
        }
        tasks
    }

    pub(super) fn finish(&mut self) {
        self.phase = Phase::Done;
        let best = self.best_index();
        self.log.push(LogEvent::Note {
            message: format!(
                "GEPA finished ({}) after {} iteration(s) and {} metric call(s): {} candidate(s), \
                 best #{} with {:.4}",
                self.stop
                    .reason
                    .map_or_else(|| "no stop reason".to_owned(), |r| r.to_string()),
                self.iteration + 1,
                self.metric_calls,
                self.programs.len(),
                best.unwrap_or(0),
                best.map(|i| self.programs[i].score()).unwrap_or(0.0)
            ),
        });
    }
}
