//! Sampling trajectories: a step's minibatch run under every LM setting with programs drawn
//! from the pool's best, and the examples ranked by how much their trajectories differ.

use indexmap::IndexMap;

use super::Simba;
use super::draws::percentile;
use super::state::{Buckets, Phase, SampleJob, Trajectory};
use crate::log::LogEvent;
use crate::protocol::{JobExample, JobResult, JobSpec};
use crate::steps::{self, mean};

impl Simba {
    pub(super) fn start_step(&mut self) {
        if self.step >= self.config.max_steps {
            self.start_final();
            return;
        }
        let bsize = self.config.bsize;
        if self.instance_idx + bsize > self.trainset.len() {
            self.rng.shuffle(&mut self.data_indices);
            self.instance_idx = 0;
        }
        self.batch = self.data_indices[self.instance_idx..self.instance_idx + bsize].to_vec();
        self.instance_idx += bsize;
        let top = self.top_k_plus_baseline(self.config.num_candidates);
        // Per LM setting, per example, the program that runs it.
        let mut groups: IndexMap<(usize, usize), Vec<usize>> = IndexMap::new();
        for model in 0..self.config.num_candidates {
            for position in 0..bsize {
                let program = self.softmax_sample(&top, self.config.temperature_for_sampling);
                groups.entry((model, program)).or_default().push(position);
            }
        }
        let mut jobs = Vec::with_capacity(groups.len());
        for ((model, program), positions) in groups {
            let examples: Vec<JobExample> = positions
                .iter()
                .map(|&p| self.trainset[self.batch[p]].clone())
                .collect();
            let (lm, settings) = self.model_settings(model);
            self.book.create(JobSpec::Evaluate {
                program: Box::new(self.pool[program].program.0.clone()),
                examples,
                lm,
                capture_traces: true,
                settings,
            });
            jobs.push(SampleJob { model, positions });
        }
        self.phase = Phase::Sample { jobs };
    }

    pub(super) fn after_sample(&mut self, jobs: Vec<SampleJob>, results: Vec<JobResult>) {
        let bsize = self.batch.len();
        let models = self.config.num_candidates;
        let mut grid: Vec<Vec<Option<Trajectory>>> = vec![vec![None; bsize]; models];
        for (job, result) in jobs.into_iter().zip(results) {
            let examples: Vec<JobExample> = job
                .positions
                .iter()
                .map(|&p| self.trainset[self.batch[p]].clone())
                .collect();
            let outcomes = steps::outcomes(result.output, &examples);
            for (position, outcome) in job.positions.into_iter().zip(outcomes) {
                grid[job.model][position] = Some(Trajectory {
                    score: Some(outcome.score),
                    prediction: outcome.prediction,
                    trace: outcome.trace,
                });
            }
        }
        let blank = || Trajectory {
            score: Some(0.0),
            prediction: None,
            trace: Vec::new(),
        };
        // DSPy's order: model-major.
        let all: Vec<f64> = grid
            .iter()
            .flat_map(|row| {
                row.iter()
                    .map(|t| t.as_ref().map_or(0.0, Trajectory::value))
            })
            .collect();
        let p10 = percentile(&all, 10.0);
        let p90 = percentile(&all, 90.0);
        // Per example: its position, its trajectories best first, and DSPy's sort key
        // (max − min, max, max − mean).
        type Ranked = (usize, Vec<Trajectory>, (f64, f64, f64));
        let mut ranked: Vec<Ranked> = Vec::new();
        let mut columns: Vec<Vec<Trajectory>> = vec![Vec::with_capacity(models); bsize];
        for row in grid {
            for (position, t) in row.into_iter().enumerate() {
                columns[position].push(t.unwrap_or_else(blank));
            }
        }
        for (position, mut bucket) in columns.into_iter().enumerate() {
            bucket.sort_by(|a, b| b.value().total_cmp(&a.value()));
            let max = bucket.first().map_or(0.0, Trajectory::value);
            let min = bucket.last().map_or(0.0, Trajectory::value);
            let avg = mean(&bucket.iter().map(Trajectory::value).collect::<Vec<_>>());
            ranked.push((position, bucket, (max - min, max, max - avg)));
        }
        ranked.sort_by(|a, b| {
            (b.2.0, b.2.1, b.2.2)
                .partial_cmp(&(a.2.0, a.2.1, a.2.2))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let baseline = mean(&all);
        self.log.push(LogEvent::Note {
            message: format!(
                "step {}: mean trajectory score on the batch {baseline:.4}",
                self.step + 1
            ),
        });
        let buckets = Buckets {
            ranked: ranked.into_iter().map(|(p, b, _)| (p, b)).collect(),
            p10,
            p90,
            next: 0,
        };
        self.plan_candidates(buckets, Vec::new());
    }
}
