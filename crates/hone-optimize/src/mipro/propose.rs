//! The grounded proposer's calls: per predictor and demo set a tip and task demos, then
//! the program and module descriptions and the instruction proposals.

use super::proposer::{self, TIPS};
use super::state::{Phase, Proposal, Route};
use super::{DEMOS_IN_CONTEXT, MiproV2};
use crate::protocol::CallSettings;
use crate::steps::{predict_spec, program_code};
use hone_core::Sampling;

impl MiproV2 {
    pub(super) fn start_proposals(&mut self) {
        let names: Vec<String> = self.student.0.predictors.keys().cloned().collect();
        let num_sets = self.demo_sets.len().max(1);
        let use_demos = self.config.fewshot_aware_proposer && !self.demo_sets.is_empty();
        self.instructions = self
            .student
            .0
            .predictors
            .values()
            .map(|p| vec![p.signature.instructions.clone()])
            .collect();
        for (pi, _) in names.iter().enumerate() {
            let Some(predictor) = self.student.0.predictors.values().nth(pi).cloned() else {
                continue;
            };
            for set in 0..self.num_instruct.min(num_sets) {
                let tip = if self.config.tip_aware_proposer {
                    TIPS[self.rng.below(TIPS.len())].1.to_owned()
                } else {
                    String::new()
                };
                let rollout = self.rng.below(1_000_000_001) as u64;
                if set == 0 {
                    // DSPy proposes here and then replaces the proposal with the original.
                    continue;
                }
                let mut strings = Vec::new();
                if use_demos {
                    let order = std::iter::once(set).chain(set + 1..num_sets).chain(0..set);
                    'sets: for s in order {
                        for demo in self.demos(s, pi) {
                            if demo.contains("augmented") {
                                strings.push(proposer::example_string(&predictor, &demo));
                                if strings.len() >= DEMOS_IN_CONTEXT {
                                    break 'sets;
                                }
                            }
                        }
                    }
                }
                let task_demos = if strings.is_empty() {
                    "No task demos provided.".to_owned()
                } else {
                    format!("{}\n\n", strings.join("\n\n"))
                };
                self.proposals.push(Proposal {
                    predictor: pi,
                    set,
                    tip,
                    rollout,
                    task_demos,
                    program_aware: self.config.program_aware_proposer,
                    program_description: "Not available".into(),
                    module_description: "Not provided".into(),
                });
            }
        }
        if self.config.program_aware_proposer {
            let code = program_code(&self.student.0);
            for (i, p) in self.proposals.iter().enumerate() {
                self.routes.push(Route::Describe { proposal: i });
                self.book.create(predict_spec(
                    "describe_program",
                    proposer::describe_program(),
                    proposer::inputs(&[
                        ("program_code", code.clone()),
                        ("program_example", p.task_demos.clone()),
                    ]),
                    1,
                    self.proposal_settings(p.rollout),
                ));
            }
            self.phase = Phase::Describe;
            self.start_search();
            if self.book.step_is_empty() {
                self.instructions_ready();
            }
        } else {
            // The search first, as above: `start_generate` moves on to the trials at once when
            // there is nothing to propose.
            self.start_search();
            self.start_generate();
        }
    }

    pub(super) fn proposal_settings(&self, rollout: u64) -> CallSettings {
        CallSettings::from(
            Sampling::new()
                .temperature(self.config.init_temperature)
                .rollout_id(rollout),
        )
    }

    pub(super) fn after_describe(&mut self) {
        let code = program_code(&self.student.0);
        for (i, p) in self.proposals.iter().enumerate() {
            if !p.program_aware {
                continue;
            }
            let Some(predictor) = self.student.0.predictors.values().nth(p.predictor) else {
                continue;
            };
            self.routes.push(Route::Module { proposal: i });
            self.book.create(predict_spec(
                "describe_module",
                proposer::describe_module(),
                proposer::inputs(&[
                    ("program_code", code.clone()),
                    ("program_example", p.task_demos.clone()),
                    ("program_description", p.program_description.clone()),
                    ("module", proposer::module_code(predictor)),
                ]),
                1,
                self.proposal_settings(p.rollout),
            ));
        }
        self.phase = Phase::DescribeModule;
        if self.book.step_is_empty() {
            self.start_generate();
        }
    }

    pub(super) fn start_generate(&mut self) {
        let code = program_code(&self.student.0);
        let summary = self.summary.summary.clone();
        for (i, p) in self.proposals.iter().enumerate() {
            let Some(predictor) = self.student.0.predictors.values().nth(p.predictor) else {
                continue;
            };
            let mut pairs: Vec<(&str, String)> = Vec::new();
            if let Some(s) = &summary {
                pairs.push(("dataset_description", s.clone()));
            }
            if p.program_aware {
                pairs.push(("program_code", code.clone()));
                pairs.push(("program_description", p.program_description.clone()));
                pairs.push(("module", proposer::module_code(predictor)));
                pairs.push(("module_description", p.module_description.clone()));
            }
            pairs.push(("task_demos", p.task_demos.clone()));
            pairs.push((
                "basic_instruction",
                predictor.signature.instructions.clone(),
            ));
            if !p.tip.is_empty() {
                pairs.push(("tip", p.tip.clone()));
            }
            self.routes.push(Route::Generate { proposal: i });
            self.book.create(predict_spec(
                "propose_instruction",
                proposer::generate_instruction(
                    summary.is_some(),
                    p.program_aware,
                    !p.tip.is_empty(),
                ),
                proposer::inputs(&pairs),
                1,
                self.proposal_settings(p.rollout),
            ));
        }
        self.phase = Phase::Generate;
        if self.book.step_is_empty() {
            self.instructions_ready();
        }
    }
}
