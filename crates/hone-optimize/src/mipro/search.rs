//! The Bayesian search: the search space, TPE trials in a window committed in issue order,
//! minibatch and full evaluations, and the best fully evaluated program.

use hone_core::state::ProgramState;
use serde_json::{Value, json};

use super::MiproV2;
use super::state::{InFlight, InFlightKind, Phase, Trial};
use super::tpe::Tpe;
use crate::log::LogEvent;
use crate::program::StoredProgram;
use crate::protocol::{CallSettings, JobExample};
use crate::steps::{self, eval_spec, mean};

impl MiproV2 {
    /// The search space: per predictor, its instruction candidates (the original and one per
    /// proposal) and, unless zero-shot, its demo sets.
    pub(super) fn choices(&self) -> Vec<usize> {
        let mut choices = Vec::new();
        for pi in 0..self.instructions.len() {
            let proposals = self.proposals.iter().filter(|p| p.predictor == pi).count();
            choices.push(1 + proposals);
            if !self.zeroshot {
                choices.push(self.demo_sets.len().max(1));
            }
        }
        choices
    }

    pub(super) fn program_for(&self, params: &[usize]) -> ProgramState {
        let mut program = self.student.0.clone();
        let stride = if self.zeroshot { 1 } else { 2 };
        let names: Vec<String> = program.predictors.keys().cloned().collect();
        for (pi, name) in names.iter().enumerate() {
            let Some(&instr) = params.get(pi * stride) else {
                continue;
            };
            let text = self.instructions[pi]
                .get(instr)
                .cloned()
                .unwrap_or_default();
            steps::set_instructions(&mut program, name, &text);
            if !self.zeroshot
                && let Some(&set) = params.get(pi * stride + 1)
            {
                let demos = self.demos(set, pi);
                if let Some(p) = program.predictors.get_mut(name) {
                    p.demos = demos;
                }
            }
        }
        program
    }

    pub(super) fn key(params: &[usize]) -> String {
        params
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Begins the search beside the instruction proposals: the student's full evaluation
    /// comes first, then the first trials — those that use only original instructions run at
    /// once, the others when the proposals are in.
    pub(super) fn start_search(&mut self) {
        self.search_started = true;
        self.tpe = Tpe::new(self.choices());
        let student = self.student.0.clone();
        let valset = self.valset.clone();
        self.issue(InFlightKind::Default, &student, valset);
        self.fill_window();
    }

    /// The proposals are in: the trials waiting for them start.
    pub(super) fn instructions_ready(&mut self) {
        self.phase = Phase::Trials;
        for i in 0..self.in_flight.len() {
            if self.in_flight[i].group.is_some() {
                continue;
            }
            let InFlightKind::Trial(trial) = &self.in_flight[i].kind else {
                continue;
            };
            let program = self.program_for(&trial.params);
            let examples = self.examples_at(&trial.examples);
            self.in_flight[i].group = Some(self.submit(&program, examples));
        }
        self.commit_in_order();
    }

    /// Whether every instruction a parameter combination uses exists yet.
    pub(super) fn instructions_exist(&self, params: &[usize]) -> bool {
        let stride = if self.zeroshot { 1 } else { 2 };
        self.instructions
            .iter()
            .enumerate()
            .all(|(pi, list)| params.get(pi * stride).is_none_or(|&i| i < list.len()))
    }

    pub(super) fn examples_at(&self, indices: &[usize]) -> Vec<JobExample> {
        indices
            .iter()
            .filter_map(|&i| self.valset.get(i).cloned())
            .collect()
    }

    /// Suggests and issues trials until `trial_batch_size` are in flight or every trial was
    /// issued. A suggestion counts the trials in flight as scored with the worst value (the
    /// constant liar of [`tpe`]). A suggestion made when the window opens sees the student and
    /// the trials `trial_batch_size` back, so the first `n_startup_trials + trial_batch_size −
    /// 2` trials are uniform draws (TPE's startup) whenever they are made: they depend on no
    /// score and are all suggested at once.
    pub(super) fn fill_window(&mut self) {
        let window = self.config.trial_batch_size.max(1);
        loop {
            let pending: Vec<Vec<usize>> = self
                .in_flight
                .iter()
                .filter_map(|f| match &f.kind {
                    InFlightKind::Trial(t) => Some(t.params.clone()),
                    InFlightKind::Full { .. } | InFlightKind::Default => None,
                })
                .collect();
            let startup = self.trials_issued + 2 < self.tpe.n_startup_trials + window;
            if (pending.len() >= window && !startup) || self.trials_issued >= self.num_trials {
                return;
            }
            let params = self.tpe.suggest(&pending, &mut self.rng);
            let examples: Vec<usize> = if self.minibatch {
                self.rng
                    .sample_indices(self.valset.len(), self.config.minibatch_size)
            } else {
                (0..self.valset.len()).collect()
            };
            self.trials_issued += 1;
            if self.instructions_exist(&params) {
                let program = self.program_for(&params);
                let job_examples = self.examples_at(&examples);
                self.issue(
                    InFlightKind::Trial(Trial { params, examples }),
                    &program,
                    job_examples,
                );
            } else {
                self.in_flight.push(InFlight {
                    group: None,
                    kind: InFlightKind::Trial(Trial { params, examples }),
                });
            }
        }
    }

    /// Issues one evaluation job in its own background group, committed in issue order.
    pub(super) fn issue(
        &mut self,
        kind: InFlightKind,
        program: &ProgramState,
        examples: Vec<JobExample>,
    ) {
        let group = self.submit(program, examples);
        self.in_flight.push(InFlight {
            group: Some(group),
            kind,
        });
    }

    /// Creates the evaluation job of `program` on `examples` in a new background group.
    pub(super) fn submit(&mut self, program: &ProgramState, examples: Vec<JobExample>) -> u64 {
        let group = self.next_group;
        self.next_group += 1;
        self.book.create_background(
            group,
            eval_spec(program, examples, false, CallSettings::default()),
        );
        group
    }

    /// Applies finished trials and full evaluations strictly in the order they were issued,
    /// refilling the window after each: every decision (the next suggestion, which
    /// combination to evaluate fully, the best program) happens at the same point of that
    /// order whatever order results arrive in, so a run does not depend on the executor —
    /// while the executor always has the window's jobs to run.
    pub(super) fn commit_in_order(&mut self) {
        while let Some(head) = self.in_flight.first() {
            let Some(group) = head.group else {
                return;
            };
            if !self.book.background_complete(group) {
                return;
            }
            let kind = self.in_flight.remove(0).kind;
            let results = self.book.take_background(group);
            let Some(result) = results.into_iter().next() else {
                continue;
            };
            let trial_examples;
            let examples: &[JobExample] = match &kind {
                InFlightKind::Trial(trial) => {
                    trial_examples = self.examples_at(&trial.examples);
                    &trial_examples
                }
                InFlightKind::Default | InFlightKind::Full { .. } => &self.valset,
            };
            let outcomes = steps::outcomes(result.output, examples);
            let scores: Vec<f64> = outcomes.iter().map(|o| o.score).collect();
            let errors = steps::errors(&outcomes);
            match kind {
                InFlightKind::Default => self.commit_default(mean(&scores), errors),
                InFlightKind::Trial(trial) => self.commit_trial(trial, &scores, errors),
                InFlightKind::Full { params } => self.record_full(params, mean(&scores), errors),
            }
            self.fill_window();
        }
        if self.trials_done >= self.num_trials && self.phase == Phase::Trials {
            self.finish();
        }
    }

    /// The student's full score: the search's first point and first best.
    pub(super) fn commit_default(&mut self, score: f64, errors: usize) {
        let params = vec![0; self.tpe.choices().len()];
        self.tpe.tell(params.clone(), score);
        self.fully_evaluated.insert(Self::key(&params), score);
        self.best = Some((score, StoredProgram(self.student.0.clone())));
        self.log.push(LogEvent::Trial {
            trial: self.log.next_trial(),
            candidate: 0,
            score,
            examples: self.valset.len(),
            errors,
            full: true,
            detail: json!({"params": params, "default": true}),
        });
        self.log.push(LogEvent::NewBest {
            candidate: 0,
            score,
        });
    }

    /// A trial's parameters for the run log: the raw point, and per predictor the
    /// instruction candidate and demo set it picks.
    pub(super) fn params_detail(&self, params: &[usize]) -> Value {
        let stride = if self.zeroshot { 1 } else { 2 };
        let instruction: Vec<usize> = params.iter().step_by(stride).copied().collect();
        let demo_sets: Vec<usize> = if self.zeroshot {
            Vec::new()
        } else {
            params.iter().skip(1).step_by(2).copied().collect()
        };
        json!({"params": params, "instruction": instruction, "demo_set": demo_sets})
    }

    pub(super) fn record_full(&mut self, params: Vec<usize>, score: f64, errors: usize) {
        let key = Self::key(&params);
        self.fully_evaluated.insert(key.clone(), score);
        let candidate = self.combo_scores.get_index_of(&key).map_or(0, |i| i + 1) as u64;
        self.log.push(LogEvent::Trial {
            trial: self.log.next_trial(),
            candidate,
            score,
            examples: self.valset.len(),
            errors,
            full: true,
            detail: self.params_detail(&params),
        });
        self.tpe.tell(params.clone(), score);
        if self.best.as_ref().is_none_or(|(b, _)| score > *b) {
            self.best = Some((score, StoredProgram(self.program_for(&params))));
            self.log.push(LogEvent::NewBest { candidate, score });
        }
    }

    /// Records a trial's scores; every `minibatch_full_eval_steps` trials (and after the
    /// last) issues the full evaluation of the combination with the best mean minibatch score
    /// not yet evaluated fully, as DSPy does.
    pub(super) fn commit_trial(&mut self, trial: Trial, scores: &[f64], errors: usize) {
        let score = mean(scores);
        self.trials_done += 1;
        let key = Self::key(&trial.params);
        let entry = self
            .combo_scores
            .entry(key.clone())
            .or_insert_with(|| (trial.params.clone(), Vec::new()));
        entry.1.push(score);
        if !self.minibatch {
            // Scored on the whole valset: one full trial.
            self.record_full(trial.params, score, errors);
            return;
        }
        let candidate = self.combo_scores.get_index_of(&key).map_or(0, |i| i + 1) as u64;
        self.log.push(LogEvent::Trial {
            trial: self.log.next_trial(),
            candidate,
            score,
            examples: scores.len(),
            errors,
            full: false,
            detail: self.params_detail(&trial.params),
        });
        self.tpe.tell(trial.params.clone(), score);
        let steps = self.config.minibatch_full_eval_steps.max(1);
        if !(self.trials_done.is_multiple_of(steps) || self.trials_done == self.num_trials) {
            return;
        }
        // DSPy's `get_program_with_highest_avg_score` over combinations not yet evaluated
        // fully (nor queued for it).
        let queued: Vec<String> = self
            .in_flight
            .iter()
            .filter_map(|f| match &f.kind {
                InFlightKind::Full { params } => Some(Self::key(params)),
                InFlightKind::Trial(_) | InFlightKind::Default => None,
            })
            .collect();
        let pick = self
            .combo_scores
            .iter()
            .filter(|(k, _)| !self.fully_evaluated.contains_key(*k) && !queued.contains(k))
            .map(|(_, (p, s))| (p.clone(), mean(s)))
            .fold(None::<(Vec<usize>, f64)>, |best, (p, m)| match best {
                Some((_, b)) if b >= m => best,
                _ => Some((p, m)),
            });
        if let Some((params, _)) = pick {
            let program = self.program_for(&params);
            let valset = self.valset.clone();
            self.issue(InFlightKind::Full { params }, &program, valset);
        }
    }

    pub(super) fn finish(&mut self) {
        if !self.in_flight.is_empty() {
            return;
        }
        self.phase = Phase::Done;
        let score = self.best.as_ref().map(|b| b.0).unwrap_or(0.0);
        self.log.push(LogEvent::Note {
            message: format!(
                "MIPROv2 finished: {} trial(s), best full score {score:.4}",
                self.trials_done
            ),
        });
    }
}
