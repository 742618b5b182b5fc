//! A small Tree-structured Parzen Estimator over categorical parameters — what MIPROv2 needs:
//! per predictor an instruction index and a demo-set index.
//!
//! It follows Optuna's `TPESampler(multivariate=True)` with its defaults: the first
//! `n_startup_trials` (10) suggestions are uniform; after that, observations are split into the
//! best `γ(n) = min(⌈0.1 n⌉, 25)` ("below") and the rest ("above"); each group is a mixture of
//! one kernel per observation plus a uniform prior (weight 1), a kernel putting mass
//! `(1[k = observed] + 1/K) / 2` on category `k`; 24 candidates are drawn from the "below"
//! mixture (one component per candidate, all parameters from it) and the one maximizing
//! `log l(x) − log g(x)` is suggested.
//!
//! # Batches
//!
//! Optuna suggests one trial at a time. MIPROv2 keeps several trials in flight, so a suggestion
//! is drawn while earlier ones are not scored yet: those pending points count as observations
//! with the worst possible value (Optuna's `constant_liar`), which keeps concurrent trials from
//! all suggesting the same point. With a constant window the suggestions do not depend on the
//! executor.

use serde::{Deserialize, Serialize};

use crate::rng::OptRng;

/// TPE state: the search space and every observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tpe {
    /// Number of categories of each parameter.
    choices: Vec<usize>,
    /// Scored points, in order.
    trials: Vec<(Vec<usize>, f64)>,
    /// Uniform suggestions before the model is used (Optuna: 10).
    pub n_startup_trials: usize,
    /// Candidates drawn per suggestion (Optuna: 24).
    pub n_ei_candidates: usize,
}

impl Tpe {
    /// A sampler over parameters with `choices[i]` categories each.
    pub fn new(choices: Vec<usize>) -> Self {
        Tpe {
            choices,
            trials: Vec::new(),
            n_startup_trials: 10,
            n_ei_candidates: 24,
        }
    }

    /// Records a scored point (higher is better).
    pub fn tell(&mut self, point: Vec<usize>, value: f64) {
        self.trials.push((point, value));
    }

    /// The number of categories of each parameter.
    pub fn choices(&self) -> &[usize] {
        &self.choices
    }

    /// The scored points.
    pub fn trials(&self) -> &[(Vec<usize>, f64)] {
        &self.trials
    }

    /// Suggests `batch` points; later ones in a batch treat earlier ones as worst-valued.
    pub fn suggest_batch(&self, batch: usize, rng: &mut OptRng) -> Vec<Vec<usize>> {
        let mut pending: Vec<Vec<usize>> = Vec::new();
        for _ in 0..batch {
            let point = self.suggest(&pending, rng);
            pending.push(point);
        }
        pending
    }

    /// Suggests one point given `pending` points not scored yet.
    pub fn suggest(&self, pending: &[Vec<usize>], rng: &mut OptRng) -> Vec<usize> {
        if self.trials.len() < self.n_startup_trials {
            return self.choices.iter().map(|&k| rng.below(k.max(1))).collect();
        }
        let mut obs: Vec<(&[usize], f64)> = self
            .trials
            .iter()
            .map(|(p, v)| (p.as_slice(), if v.is_finite() { *v } else { f64::MIN }))
            .collect();
        obs.extend(pending.iter().map(|p| (p.as_slice(), f64::MIN)));
        // Stable sort, best first.
        let mut order: Vec<usize> = (0..obs.len()).collect();
        order.sort_by(|&a, &b| obs[b].1.total_cmp(&obs[a].1));
        let n_below = obs.len().div_ceil(10).clamp(1, 25).min(obs.len());
        let below: Vec<&[usize]> = order[..n_below].iter().map(|&i| obs[i].0).collect();
        let above: Vec<&[usize]> = order[n_below..].iter().map(|&i| obs[i].0).collect();
        let mut best: Option<(f64, Vec<usize>)> = None;
        for _ in 0..self.n_ei_candidates.max(1) {
            let x = self.sample(&below, rng);
            let score = self.log_pdf(&below, &x) - self.log_pdf(&above, &x);
            if best.as_ref().is_none_or(|(b, _)| score > *b) {
                best = Some((score, x));
            }
        }
        best.map(|(_, x)| x).unwrap_or_default()
    }

    /// Draws from a group's mixture: component `i < n` is observation `i`, component `n` the
    /// uniform prior, all with weight 1.
    fn sample(&self, group: &[&[usize]], rng: &mut OptRng) -> Vec<usize> {
        let component = rng.below(group.len() + 1);
        self.choices
            .iter()
            .enumerate()
            .map(|(p, &k)| {
                let k = k.max(1);
                match group.get(component) {
                    // Kernel: (1[c = observed] + 1/K) / 2.
                    Some(point) if rng.next_f64() < 0.5 => {
                        point.get(p).copied().unwrap_or(0).min(k - 1)
                    }
                    _ => rng.below(k),
                }
            })
            .collect()
    }

    fn log_pdf(&self, group: &[&[usize]], x: &[usize]) -> f64 {
        let mut terms: Vec<f64> = Vec::with_capacity(group.len() + 1);
        let prior: f64 = self.choices.iter().map(|&k| -(k.max(1) as f64).ln()).sum();
        terms.push(prior);
        for point in group {
            let mut lp = 0.0;
            for (p, &k) in self.choices.iter().enumerate() {
                let k = k.max(1) as f64;
                let same = point.get(p) == x.get(p);
                let prob = (if same { 1.0 } else { 0.0 } + 1.0 / k) / 2.0;
                lp += prob.ln();
            }
            terms.push(lp);
        }
        let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = terms.iter().map(|t| (t - max).exp()).sum();
        max + sum.ln() - ((group.len() + 1) as f64).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2-parameter objective with its optimum at (3, 1).
    fn objective(x: &[usize]) -> f64 {
        let a = if x[0] == 3 {
            0.6
        } else {
            0.1 * x[0] as f64 / 5.0
        };
        let b = if x[1] == 1 { 0.4 } else { 0.0 };
        a + b
    }

    #[test]
    fn finds_the_optimum_faster_than_chance_and_round_trips() {
        let mut tpe = Tpe::new(vec![6, 4]);
        let mut rng = OptRng::new(5);
        for _ in 0..10 {
            for x in tpe.suggest_batch(4, &mut rng) {
                let v = objective(&x);
                tpe.tell(x, v);
            }
        }
        let late = &tpe.trials()[20..];
        let hits = late.iter().filter(|(x, _)| x == &vec![3, 1]).count();
        // Uniform sampling hits (3, 1) with probability 1/24.
        assert!(
            hits >= 5,
            "TPE should concentrate on the optimum: {hits} of 20"
        );
        let text = serde_json::to_string(&tpe).expect("serializes");
        let back: Tpe = serde_json::from_str(&text).expect("deserializes");
        assert_eq!(back, tpe);
        let mut r1 = OptRng::new(1);
        let mut r2 = OptRng::new(1);
        assert_eq!(
            tpe.suggest_batch(3, &mut r1),
            back.suggest_batch(3, &mut r2)
        );
    }
}
