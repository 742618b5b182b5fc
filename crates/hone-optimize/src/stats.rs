//! Evaluation math: the mean score of a set of examples, its standard error and a 95%
//! confidence interval.
//!
//! The interval is Student's t interval, `mean ± t(0.975, n − 1) · s / √n`, with `s` the sample
//! standard deviation (divisor `n − 1`). It suits the small dev sets prompt optimization uses
//! (the normal interval is too narrow below ~30 examples) and tends to the normal interval
//! (`± 1.96 · s / √n`) as `n` grows. Bounds are clipped to `[0, 1]`, the range of a score. With
//! one example the interval is `[0, 1]`: a single score says nothing about the spread.
//!
//! Failed examples count with the evaluation's failure score (0 by default, as in DSPy), so a
//! program that crashes on half the set cannot look better than one that answers wrongly.

use serde::{Deserialize, Serialize};

/// Summary statistics of per-example scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreSummary {
    /// Number of examples.
    pub n: usize,
    /// Mean score in `[0, 1]` (0 when `n == 0`).
    pub mean: f64,
    /// Sample standard deviation (0 when `n < 2`).
    pub std_dev: f64,
    /// Standard error of the mean, `std_dev / √n` (0 when `n < 2`).
    pub std_err: f64,
    /// Lower bound of the 95% confidence interval.
    pub ci_low: f64,
    /// Upper bound of the 95% confidence interval.
    pub ci_high: f64,
}

impl ScoreSummary {
    /// Summarizes `scores` (each expected in `[0, 1]`).
    ///
    /// ```
    /// use hone_optimize::stats::ScoreSummary;
    /// let s = ScoreSummary::from_scores(&[1.0, 0.0, 1.0, 1.0]);
    /// assert_eq!(s.mean, 0.75);
    /// assert!(s.ci_low < 0.75 && s.ci_high <= 1.0);
    /// ```
    pub fn from_scores(scores: &[f64]) -> Self {
        let n = scores.len();
        if n == 0 {
            return ScoreSummary {
                n,
                mean: 0.0,
                std_dev: 0.0,
                std_err: 0.0,
                ci_low: 0.0,
                ci_high: 0.0,
            };
        }
        let mean = scores.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return ScoreSummary {
                n,
                mean,
                std_dev: 0.0,
                std_err: 0.0,
                ci_low: 0.0,
                ci_high: 1.0,
            };
        }
        let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let std_dev = var.sqrt();
        let std_err = std_dev / (n as f64).sqrt();
        let half = t_quantile_975(n - 1) * std_err;
        ScoreSummary {
            n,
            mean,
            std_dev,
            std_err,
            ci_low: (mean - half).clamp(0.0, 1.0),
            ci_high: (mean + half).clamp(0.0, 1.0),
        }
    }

    /// The mean as DSPy reports it: a percentage rounded to two decimals (`67.3`).
    pub fn percent(&self) -> f64 {
        round_percent(self.mean)
    }
}

/// `round(100 * mean, 2)`, DSPy's `EvaluationResult.score`.
pub fn round_percent(mean: f64) -> f64 {
    (mean * 100.0 * 100.0).round() / 100.0
}

/// The 0.975 quantile of Student's t distribution with `df` degrees of freedom (the factor of
/// a two-sided 95% interval). Exact table values up to 30; above, the Cornish–Fisher expansion
/// around the normal quantile (error below 1e-4).
pub fn t_quantile_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010,
        2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739,
        2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => {
            let z: f64 = 1.959_963_985;
            let d = df as f64;
            let z3 = z.powi(3);
            let z5 = z.powi(5);
            let z7 = z.powi(7);
            z + (z3 + z) / (4.0 * d)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * d * d)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * d * d * d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_scores() {
        let s = ScoreSummary::from_scores(&[1.0, 0.0, 1.0, 0.0]);
        assert_eq!(s.n, 4);
        assert!((s.mean - 0.5).abs() < 1e-12);
        // s = sqrt(1/3), se = s / 2, t(3) = 3.1824
        let se = (1.0f64 / 3.0).sqrt() / 2.0;
        assert!((s.std_err - se).abs() < 1e-12);
        assert!((s.ci_low - (0.5 - 3.1824 * se).max(0.0)).abs() < 1e-9);
        assert_eq!(ScoreSummary::from_scores(&[]).mean, 0.0);
        let one = ScoreSummary::from_scores(&[0.7]);
        assert_eq!((one.ci_low, one.ci_high), (0.0, 1.0));
        let same = ScoreSummary::from_scores(&[1.0; 10]);
        assert_eq!((same.ci_low, same.ci_high), (1.0, 1.0));
    }

    #[test]
    fn t_quantiles_approach_the_normal() {
        assert!((t_quantile_975(40) - 2.0211).abs() < 1e-3);
        assert!((t_quantile_975(120) - 1.9799).abs() < 1e-3);
        assert!((t_quantile_975(100_000) - 1.96).abs() < 1e-3);
        assert_eq!(round_percent(0.673_333), 67.33);
    }
}
