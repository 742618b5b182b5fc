//! Reading a step's results: bootstrap waves, dataset observations and summaries, program
//! and module descriptions and instruction proposals, each routed to what asked for it.

use super::state::{Phase, Route};
use super::{MiproV2, NAME};
use crate::bootstrap::Ctx;
use crate::log::LogEvent;
use crate::protocol::{JobResult, OptimizerError};
use crate::steps::{predict_failure, predictions, strip_prefix, text_field};

impl MiproV2 {
    pub(super) fn advance_step(&mut self, results: Vec<JobResult>) -> Result<(), OptimizerError> {
        let routes = std::mem::take(&mut self.routes);
        for (route, result) in routes.into_iter().zip(results) {
            match route {
                Route::Boot { set, local } => {
                    let ctx = Ctx {
                        optimizer: NAME,
                        trainset: &self.trainset,
                        student: &self.student.0,
                        config: &self.boot,
                    };
                    if let Some(run) = &mut self.demo_sets[set].run {
                        run.tell_as(&ctx, local, result)?;
                    }
                }
                Route::Summary => self.summary_result(&result.output),
                Route::Observe { batch } => {
                    let text = predictions(&result.output)
                        .first()
                        .and_then(|p| text_field(p, "observations"));
                    if text.is_none() {
                        let why = predict_failure(&result.output);
                        self.log.push(LogEvent::Note {
                            message: format!("dataset observation {batch} failed ({why}); skipped"),
                        });
                    }
                    if let Some(slot) = self.summary.parts.get_mut(batch) {
                        *slot = text;
                    }
                }
                Route::Describe { proposal } => {
                    let text = predictions(&result.output)
                        .first()
                        .and_then(|p| text_field(p, "program_description"))
                        .map(|s| strip_prefix(&s));
                    let p = &mut self.proposals[proposal];
                    match text {
                        Some(t) => p.program_description = t,
                        None => p.program_aware = false,
                    }
                }
                Route::Module { proposal } => {
                    let text = predictions(&result.output)
                        .first()
                        .and_then(|p| text_field(p, "module_description"));
                    let p = &mut self.proposals[proposal];
                    match text {
                        Some(t) => p.module_description = t,
                        None => p.program_aware = false,
                    }
                }
                Route::Generate { proposal } => {
                    let predictor = self.proposals[proposal].predictor;
                    let name = self
                        .student
                        .0
                        .predictors
                        .keys()
                        .nth(predictor)
                        .cloned()
                        .unwrap_or_default();
                    let text = predictions(&result.output)
                        .first()
                        .and_then(|p| text_field(p, "proposed_instruction"))
                        .map(|s| strip_prefix(&s))
                        .filter(|s| !s.trim().is_empty());
                    match text {
                        Some(t) => {
                            self.log.push(LogEvent::Proposal {
                                predictor: name,
                                text: t.clone(),
                                source: "grounded_proposer".into(),
                            });
                            self.instructions[predictor].push(t);
                        }
                        None => {
                            // The search space was fixed when the proposals started: the
                            // original instruction takes the failed candidate's place.
                            let why = predict_failure(&result.output);
                            self.log.push(LogEvent::Note {
                                message: format!(
                                    "instruction proposal for `{name}` failed ({why}); the \
                                     original instruction stands in for it"
                                ),
                            });
                            let original = self.instructions[predictor]
                                .first()
                                .cloned()
                                .unwrap_or_default();
                            self.instructions[predictor].push(original);
                        }
                    }
                }
            }
        }
        match self.phase {
            Phase::Setup => self.after_setup(),
            Phase::Describe => self.after_describe(),
            Phase::DescribeModule => self.start_generate(),
            Phase::Generate => self.instructions_ready(),
            // Trials run outside steps (see `commit_in_order`).
            Phase::Trials | Phase::Done => {}
        }
        Ok(())
    }
}
