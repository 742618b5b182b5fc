//! The setup steps: the candidate demo sets (zero-shot, labeled, bootstrapped in order and
//! shuffled) and the dataset summary, observed in parallel or as DSPy's sequential chain.

use hone_core::Example;

use super::state::{DemoSet, Route, Summary};
use super::{MiproV2, NAME, proposer};
use crate::bootstrap::{BootstrapRun, Ctx};
use crate::labeled::{LabeledFewShotConfig, labeled_few_shot};
use crate::log::LogEvent;
use crate::program::{StoredProgram, reset_copy};
use crate::protocol::{CallSettings, JobOutput, JobSpec, OptimizerError};
use crate::steps::{predict_failure, predict_spec, predictions, strip_prefix, text_field};
use hone_core::Sampling;

impl MiproV2 {
    pub(super) fn start_demo_sets(&mut self, num_sets: usize) -> Result<(), OptimizerError> {
        let n = self.trainset.len();
        let examples: Vec<Example> = self.trainset.iter().map(|e| e.example.clone()).collect();
        let max_boot = self.boot.max_bootstrapped_demos;
        for seed in -3..(num_sets as i64 - 3) {
            let mut set = DemoSet {
                seed,
                run: None,
                program: None,
            };
            let ctx = Ctx {
                optimizer: NAME,
                trainset: &self.trainset,
                student: &self.student.0,
                config: &self.boot,
            };
            match seed {
                -3 => set.program = Some(StoredProgram(reset_copy(&self.student.0))),
                -2 if self.boot.max_labeled_demos > 0 => {
                    let labeled = LabeledFewShotConfig {
                        k: self.boot.max_labeled_demos,
                        sample: true,
                        seed: 0,
                    };
                    set.program = Some(StoredProgram(labeled_few_shot(
                        &self.student.0,
                        &examples,
                        &labeled,
                    )));
                }
                -1 => set.run = Some(BootstrapRun::start(&ctx, (0..n).collect(), max_boot)?),
                _ => {
                    let mut order: Vec<usize> = (0..n).collect();
                    self.rng.shuffle(&mut order);
                    let size = 1 + self.rng.below(max_boot.max(1));
                    set.run = Some(BootstrapRun::start(&ctx, order, size)?);
                }
            }
            self.demo_sets.push(set);
        }
        Ok(())
    }

    /// Creates the next setup step's jobs: bootstrap waves and the next summary call.
    pub(super) fn setup_step(&mut self) {
        for (i, set) in self.demo_sets.iter_mut().enumerate() {
            if let Some(run) = &mut set.run {
                let locals = run.ask_into(&mut self.book);
                self.routes.extend(
                    locals
                        .into_iter()
                        .map(|local| Route::Boot { set: i, local }),
                );
            }
        }
        if self.summary.stage == Summary::Observe {
            self.observe_batches();
        } else {
            if self.summary.stage == Summary::Observing {
                self.join_observations();
            }
            if let Some(spec) = self.summary_job() {
                self.routes.push(Route::Summary);
                self.book.create(spec);
            }
        }
    }

    /// The batches of `view_data_batch_size` training examples the summary observes (at
    /// most 10, as DSPy's chain makes at most 10 observation calls).
    pub(super) fn summary_batches(&self) -> Vec<(usize, usize)> {
        let view = self.config.view_data_batch_size.max(1);
        let n = self.trainset.len();
        (0..n)
            .step_by(view)
            .take(10)
            .map(|a| (a, (a + view).min(n)))
            .collect()
    }

    /// Issues one observation call per batch, all at once.
    pub(super) fn observe_batches(&mut self) {
        let batches = self.summary_batches();
        let hot = CallSettings::from(Sampling::new().temperature(1.0));
        for (batch, (a, b)) in batches.iter().copied().enumerate() {
            let slice: Vec<Example> = self.trainset[a..b]
                .iter()
                .map(|e| e.example.clone())
                .collect();
            self.routes.push(Route::Observe { batch });
            self.book.create(predict_spec(
                "dataset_summary",
                proposer::dataset_descriptor(),
                proposer::inputs(&[("examples", proposer::examples_repr(&slice))]),
                1,
                hot.clone(),
            ));
        }
        self.summary.parts = vec![None; batches.len()];
        self.summary.stage = if batches.is_empty() {
            Summary::Done
        } else {
            Summary::Observing
        };
    }

    /// Joins the batches' observations (in batch order) for the summarizer.
    pub(super) fn join_observations(&mut self) {
        let parts: Vec<String> = self.summary.parts.iter().flatten().cloned().collect();
        if parts.is_empty() {
            self.summary.stage = Summary::Done;
            self.log.push(LogEvent::Note {
                message: "every dataset observation call failed; proposing without a data summary"
                    .into(),
            });
        } else {
            self.summary.observations = parts.join("\n\n");
            self.summary.stage = Summary::Summarize;
        }
    }

    pub(super) fn summary_job(&mut self) -> Option<JobSpec> {
        let view = self.config.view_data_batch_size.max(1);
        let n = self.trainset.len();
        let examples = |a: usize, b: usize| -> String {
            let slice: Vec<Example> = self.trainset[a..b.min(n)]
                .iter()
                .map(|e| e.example.clone())
                .collect();
            proposer::examples_repr(&slice)
        };
        let hot = CallSettings::from(Sampling::new().temperature(1.0));
        let chain = &mut self.summary;
        if chain.stage == Summary::Prior {
            chain.calls += 1;
            if chain.next_b >= n || chain.calls >= 10 {
                chain.stage = Summary::Summarize;
            }
        }
        match chain.stage {
            Summary::First => Some(predict_spec(
                "dataset_summary",
                proposer::dataset_descriptor(),
                proposer::inputs(&[("examples", examples(0, view))]),
                1,
                hot,
            )),
            Summary::Prior => {
                let b = chain.next_b;
                let prior = chain.observations.clone();
                Some(predict_spec(
                    "dataset_summary",
                    proposer::dataset_descriptor_with_prior(),
                    proposer::inputs(&[
                        ("examples", examples(b, b + view)),
                        ("prior_observations", prior),
                    ]),
                    1,
                    hot,
                ))
            }
            Summary::Summarize => Some(predict_spec(
                "dataset_summary",
                proposer::observation_summarizer(),
                proposer::inputs(&[("observations", chain.observations.clone())]),
                1,
                hot,
            )),
            Summary::Off | Summary::Observe | Summary::Observing | Summary::Done => None,
        }
    }

    pub(super) fn summary_result(&mut self, output: &JobOutput) {
        let view = self.config.view_data_batch_size.max(1);
        let first = predictions(output).first();
        let chain = &mut self.summary;
        match chain.stage {
            Summary::First => match first.and_then(|p| text_field(p, "observations")) {
                Some(text) => {
                    chain.observations = text;
                    chain.next_b = view;
                    chain.stage = Summary::Prior;
                }
                None => {
                    chain.stage = Summary::Done;
                    let why = predict_failure(output);
                    self.log.push(LogEvent::Note {
                        message: format!(
                            "dataset summary failed ({why}); proposing without a data summary"
                        ),
                    });
                }
            },
            Summary::Prior => match first.and_then(|p| text_field(p, "observations")) {
                Some(text) if text.len() >= 8 && text[..8].eq_ignore_ascii_case("COMPLETE") => {
                    chain.skips += 1;
                    chain.next_b += view;
                    if chain.skips >= 5 {
                        chain.stage = Summary::Summarize;
                    }
                }
                Some(text) => {
                    chain.observations.push_str(&text);
                    chain.next_b += view;
                }
                None => chain.stage = Summary::Summarize,
            },
            Summary::Summarize => {
                chain.summary = first
                    .and_then(|p| text_field(p, "summary"))
                    .map(|s| strip_prefix(&s));
                chain.stage = Summary::Done;
                match &chain.summary {
                    Some(s) => {
                        let message = format!("dataset summary: {s}");
                        self.log.push(LogEvent::Note { message });
                    }
                    None => self.log.push(LogEvent::Note {
                        message: "dataset summary failed; proposing without a data summary".into(),
                    }),
                }
            }
            Summary::Off | Summary::Observe | Summary::Observing | Summary::Done => {}
        }
    }

    pub(super) fn after_setup(&mut self) {
        for set in &mut self.demo_sets {
            if let Some(program) = set.run.as_ref().and_then(|r| r.result()) {
                set.program = Some(StoredProgram(program.clone()));
                set.run = None;
            }
        }
        self.setup_step();
        if self.book.step_is_empty() {
            self.start_proposals();
            return;
        }
        // When only the summarizer call is left, the program and module descriptions (which
        // do not need the summary) run alongside it; the proposals that use it come after.
        let only_summarizer = self.demo_sets.iter().all(|s| s.run.is_none())
            && self.summary.stage == Summary::Summarize;
        if only_summarizer && self.config.program_aware_proposer {
            self.start_proposals();
        }
    }

    /// The demos of set `set` for predictor `predictor`.
    pub(super) fn demos(&self, set: usize, predictor: usize) -> Vec<Example> {
        self.demo_sets
            .get(set)
            .and_then(|s| s.program.as_ref())
            .and_then(|p| p.0.predictors.values().nth(predictor))
            .map(|p| p.demos.clone())
            .unwrap_or_default()
    }
}
