//! Reading a step's results: the seed's and merges' evaluations, the parents' minibatches
//! into reflection calls, the reflections into children, and the children's minibatches
//! into accepted candidates.

use indexmap::IndexMap;
use serde_json::json;

use super::reflective::{self, propose_instruction_signature, reflection_inputs};
use super::state::{Child, Phase, Stage, Task};
use super::{Gepa, next_output};
use crate::log::LogEvent;
use crate::protocol::{CallSettings, JobResult, OptimizerError};
use crate::steps::{self, eval_spec, mean, predict_failure, predict_spec, predictions, text_field};

impl Gepa {
    pub(super) fn advance_step(&mut self, results: Vec<JobResult>) -> Result<(), OptimizerError> {
        // A seed scored in the background joined the pool since the last step.
        self.check_objectives()?;
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        let mut results = results.into_iter();
        match phase {
            Phase::SeedEval { jobs } => {
                let outcomes = self.collect_full(&mut results, jobs);
                self.metric_calls += outcomes.len() as u64;
                let seed = Child {
                    parent: 0,
                    texts: self.best_candidate(),
                    minibatch: Vec::new(),
                    before: Vec::new(),
                    after: Vec::new(),
                    merge: None,
                    seed: false,
                };
                self.add_program(&seed, &outcomes);
                self.check_objectives()?;
                self.next_iteration();
            }
            Phase::MergeEval { child, parent_sums } => {
                let examples = self.val_examples(&child.minibatch);
                let outcomes = steps::outcomes(next_output(&mut results), &examples);
                let after = self.scores_of(&outcomes);
                self.metric_calls += after.len() as u64;
                let new_sum: f64 = after.iter().sum();
                let merged_id = self.log.next_trial();
                self.log.push(LogEvent::Trial {
                    trial: merged_id,
                    candidate: self.programs.len() as u64,
                    score: mean(&after),
                    examples: after.len(),
                    errors: steps::errors(&outcomes),
                    full: false,
                    detail: json!({"merge": child.merge, "parent_sums": [parent_sums.0, parent_sums.1]}),
                });
                if new_sum >= parent_sums.0.max(parent_sums.1) {
                    let child = Child { after, ..child };
                    self.score_candidates(vec![child]);
                } else {
                    self.log.push(LogEvent::Note {
                        message: format!(
                            "iteration {}: merged candidate scored {new_sum} on its subsample, \
                             below its parents {parent_sums:?}; skipping the merge",
                            self.iteration + 1
                        ),
                    });
                    self.start_reflective();
                }
            }
            Phase::Iteration { stage } => {
                let next = match stage {
                    Stage::Parents { tasks } => self.reflect_on_parents(tasks, &mut results),
                    Stage::Reflect {
                        tasks,
                        before,
                        calls,
                    } => {
                        let children =
                            self.children_of_reflections(tasks, before, calls, &mut results);
                        (!children.is_empty()).then_some(Stage::Children { children })
                    }
                    Stage::Children { children } => {
                        let accepted = self.judge_children(children, &mut results);
                        if !accepted.is_empty() {
                            self.score_candidates(accepted);
                            return Ok(());
                        }
                        None
                    }
                };
                match next {
                    Some(stage) => self.phase = Phase::Iteration { stage },
                    None => self.next_iteration(),
                }
            }
            Phase::Pipeline {
                flights,
                mut held,
                blocked,
            } => {
                held.extend(results);
                self.phase = Phase::Pipeline {
                    flights,
                    held,
                    blocked,
                };
                self.pipeline_round();
            }
            Phase::FullEval { children, jobs } => {
                self.add_scored(children, jobs, &mut results);
                self.next_iteration();
            }
            Phase::Waiting => self.phase = Phase::Waiting,
            Phase::Done => {}
        }
        Ok(())
    }

    /// Reads the reflections (next in `results`) and asks for the children's evaluations on
    /// their parents' minibatches; returns the children.
    pub(super) fn children_of_reflections(
        &mut self,
        tasks: Vec<Task>,
        before: Vec<Vec<f64>>,
        calls: Vec<(usize, String)>,
        results: &mut impl Iterator<Item = JobResult>,
    ) -> Vec<Child> {
        let mut texts: Vec<Option<IndexMap<String, String>>> =
            vec![Some(IndexMap::new()); tasks.len()];
        for (task, component) in calls {
            let Some(result) = results.next() else { break };
            let proposal = predictions(&result.output)
                .first()
                .and_then(|p| text_field(p, "new_instruction"));
            match proposal {
                Some(text) => {
                    self.log.push(LogEvent::Proposal {
                        predictor: component.clone(),
                        text: text.clone(),
                        source: "reflection".into(),
                    });
                    if let Some(Some(map)) = texts.get_mut(task) {
                        map.insert(component, text);
                    }
                }
                None => {
                    // DSPy's proposer raises on an empty instruction, failing the task.
                    let why = predict_failure(&result.output);
                    self.note(format!(
                        "reflection for component `{component}` produced no instruction \
                         ({why}); dropping the proposal"
                    ));
                    texts[task] = None;
                }
            }
        }
        let mut children = Vec::new();
        for ((task, before), new_texts) in tasks.into_iter().zip(before).zip(texts) {
            let Some(new_texts) = new_texts.filter(|t| !t.is_empty()) else {
                continue;
            };
            let mut child_texts = self.programs[task.parent].texts.clone();
            for (k, v) in new_texts {
                child_texts.insert(k, v);
            }
            let program = self.program_for(&child_texts);
            let examples = self.train_examples(&task.minibatch);
            self.book.create(eval_spec(
                &program,
                examples,
                false,
                CallSettings::default(),
            ));
            children.push(Child {
                parent: task.parent,
                texts: child_texts,
                minibatch: task.minibatch,
                before,
                after: Vec::new(),
                merge: None,
                seed: false,
            });
        }
        children
    }

    /// Reads the children's minibatch results (next in `results`) and returns those that
    /// improved on their parents and are not candidates yet.
    pub(super) fn judge_children(
        &mut self,
        children: Vec<Child>,
        results: &mut impl Iterator<Item = JobResult>,
    ) -> Vec<Child> {
        let mut accepted: Vec<Child> = Vec::new();
        // Candidates scored in the background come first (the seed is in the pool already).
        let waiting: usize = self
            .backgrounds
            .iter()
            .flat_map(|b| &b.children)
            .filter(|c| !c.seed)
            .count();
        for mut child in children {
            let examples = self.train_examples(&child.minibatch);
            let outcomes = steps::outcomes(next_output(results), &examples);
            child.after = self.scores_of(&outcomes);
            self.metric_calls += child.after.len() as u64;
            let (old, new): (f64, f64) = (child.before.iter().sum(), child.after.iter().sum());
            let trial = self.log.next_trial();
            self.log.push(LogEvent::Trial {
                trial,
                candidate: (self.programs.len() + waiting + accepted.len()) as u64,
                score: mean(&child.after),
                examples: child.after.len(),
                errors: steps::errors(&outcomes),
                full: false,
                detail: json!({
                    "parent": child.parent,
                    "minibatch": child.minibatch,
                    "parent_score": mean(&child.before),
                    "accepted": new > old,
                }),
            });
            let known = self.programs.iter().any(|p| p.texts == child.texts)
                || self
                    .backgrounds
                    .iter()
                    .any(|b| b.children.iter().any(|c| c.texts == child.texts));
            if new > old && known {
                self.note(format!(
                    "the improved proposal from parent {} is already a candidate; not scoring \
                     it again",
                    child.parent
                ));
            }
            let duplicate = known || accepted.iter().any(|c| c.texts == child.texts);
            if new > old && !duplicate {
                accepted.push(child);
            }
        }
        accepted
    }

    /// Reads the parents' minibatch results and asks for reflections; `None` when there is
    /// nothing to reflect on.
    pub(super) fn reflect_on_parents(
        &mut self,
        tasks: Vec<Task>,
        results: &mut impl Iterator<Item = JobResult>,
    ) -> Option<Stage> {
        let mut kept = Vec::new();
        let mut before = Vec::new();
        let mut calls = Vec::new();
        for task in tasks {
            let examples = self.train_examples(&task.minibatch);
            let outcomes = steps::outcomes(next_output(results), &examples);
            self.metric_calls += outcomes.len() as u64;
            let scores = self.scores_of(&outcomes);
            if outcomes.iter().all(|o| o.trace.is_empty()) {
                self.note(format!(
                    "no trajectories for parent {}; skipping",
                    task.parent
                ));
                continue;
            }
            if self.config.skip_perfect_score
                && scores.iter().all(|&s| s >= self.config.perfect_score)
            {
                self.note(format!(
                    "all subsample scores perfect for parent {}; skipping",
                    task.parent
                ));
                continue;
            }
            let components = self.select_components(task.parent);
            let parent_texts = self.programs[task.parent].texts.clone();
            let index = kept.len();
            let mut any = false;
            for component in components {
                let items = reflective::reflective_examples(&component, &outcomes, &mut self.rng);
                if items.is_empty() {
                    self.note(format!(
                        "no reflective examples for component `{component}` of candidate {}",
                        task.parent
                    ));
                    continue;
                }
                let current = parent_texts.get(&component).cloned().unwrap_or_default();
                self.book.create(predict_spec(
                    "gepa_reflection",
                    propose_instruction_signature(),
                    reflection_inputs(&current, &items),
                    1,
                    CallSettings::default(),
                ));
                calls.push((index, component));
                any = true;
            }
            if any {
                kept.push(task);
                before.push(scores);
            }
        }
        (!calls.is_empty()).then_some(Stage::Reflect {
            tasks: kept,
            before,
            calls,
        })
    }
}
