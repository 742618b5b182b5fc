//! The numbers behind SIMBA's choices, as Python and NumPy compute them: the softmax draw,
//! Poisson draws, linear percentiles and half-even rounding.

use crate::rng::OptRng;
/// Python's `random.choices(programs, weights=exp(score / temperature))`.
pub(super) fn softmax_pick(
    programs: &[usize],
    scores: &[f64],
    temperature: f64,
    rng: &mut OptRng,
) -> usize {
    let weights: Vec<f64> = scores.iter().map(|s| (s / temperature).exp()).collect();
    let total: f64 = weights.iter().sum();
    if programs.is_empty() {
        return 0;
    }
    if !(total > 0.0 && total.is_finite()) {
        return programs[rng.below(programs.len())];
    }
    let r = rng.next_f64() * total;
    let mut cumulative = 0.0;
    for (i, w) in weights.iter().enumerate() {
        cumulative += w;
        if r < cumulative {
            return programs[i];
        }
    }
    programs[programs.len() - 1]
}

/// A Poisson draw (Knuth's method; `lambda` is small here).
pub(super) fn poisson(lambda: f64, rng: &mut OptRng) -> usize {
    if lambda <= 0.0 {
        return 0;
    }
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.next_f64();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

/// NumPy's default (linear) percentile.
pub(super) fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// Python's `round`: halves go to the even neighbour.
pub(super) fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}
