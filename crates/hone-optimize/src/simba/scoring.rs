//! Scoring: the candidates on the step's minibatch, the winners of the run on the whole
//! trainset, and the best of them.

use serde_json::json;

use super::Simba;
use super::draws::round_half_even;
use super::state::{Phase, Planned, Pooled};
use crate::log::LogEvent;
use crate::protocol::{CallSettings, JobResult};
use crate::steps::{self, eval_spec, mean};

impl Simba {
    pub(super) fn evaluate_candidates(&mut self, candidates: Vec<Planned>) {
        if candidates.is_empty() {
            self.log.push(LogEvent::Note {
                message: format!("step {}: no candidates", self.step + 1),
            });
            self.step += 1;
            self.start_step();
            return;
        }
        let examples = self.batch_examples();
        for candidate in &candidates {
            self.book.create(eval_spec(
                &candidate.program.0,
                examples.clone(),
                false,
                CallSettings::default(),
            ));
        }
        self.phase = Phase::Evaluate { candidates };
    }

    pub(super) fn after_evaluate(&mut self, candidates: Vec<Planned>, results: Vec<JobResult>) {
        let examples = self.batch_examples();
        let mut best: Option<(f64, usize)> = None;
        for (candidate, result) in candidates.into_iter().zip(results) {
            let outcomes = steps::outcomes(result.output, &examples);
            let scores: Vec<f64> = outcomes.iter().map(|o| o.score).collect();
            let score = mean(&scores);
            let index = self.pool.len();
            self.log.push(LogEvent::Trial {
                trial: self.log.next_trial(),
                candidate: index as u64,
                score,
                examples: scores.len(),
                errors: steps::errors(&outcomes),
                full: false,
                detail: json!({
                    "step": self.step + 1,
                    "source": candidate.source,
                    "strategy": candidate.strategy,
                }),
            });
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, index));
            }
            self.pool.push(Pooled {
                program: candidate.program,
                scores,
            });
        }
        if let Some((_, index)) = best {
            self.winning.push(index);
        }
        self.step += 1;
        self.start_step();
    }

    /// Up to `num_candidates + 1` winners spread evenly over the run, on the whole trainset.
    pub(super) fn start_final(&mut self) {
        let m = self.winning.len().saturating_sub(1);
        let n = self.config.num_candidates + 1;
        let mut picks: Vec<usize> = if m < 1 {
            vec![0; n]
        } else {
            (0..n)
                .map(|i| round_half_even(i as f64 * m as f64 / (n - 1) as f64) as usize)
                .collect()
        };
        let mut seen = Vec::new();
        picks.retain(|i| {
            let new = !seen.contains(i);
            seen.push(*i);
            new
        });
        let programs: Vec<usize> = picks
            .into_iter()
            .filter_map(|i| self.winning.get(i).copied())
            .collect();
        for &p in &programs {
            self.book.create(eval_spec(
                &self.pool[p].program.0,
                self.trainset.clone(),
                false,
                CallSettings::default(),
            ));
        }
        self.phase = Phase::Final { programs };
    }

    pub(super) fn after_final(&mut self, programs: Vec<usize>, results: Vec<JobResult>) {
        let mut best: Option<(f64, usize)> = None;
        for (p, result) in programs.into_iter().zip(results) {
            let outcomes = steps::outcomes(result.output, &self.trainset);
            let scores: Vec<f64> = outcomes.iter().map(|o| o.score).collect();
            let score = mean(&scores);
            self.log.push(LogEvent::Trial {
                trial: self.log.next_trial(),
                candidate: p as u64,
                score,
                examples: scores.len(),
                errors: steps::errors(&outcomes),
                full: true,
                detail: json!({"final": true}),
            });
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, p));
            }
        }
        if let Some((score, p)) = best {
            self.log.push(LogEvent::NewBest {
                candidate: p as u64,
                score,
            });
            self.log.push(LogEvent::Note {
                message: format!(
                    "SIMBA finished: {} program(s) in the pool, best #{p} with {score:.4} on the trainset",
                    self.pool.len()
                ),
            });
            self.best = Some((score, self.pool[p].program.clone()));
        }
        self.phase = Phase::Done;
    }
}
