//! GEPA's per-instance Pareto bookkeeping: for every validation example, the best score any
//! candidate reached and the candidates that reached it; and gepa's parent selection, which
//! samples a candidate with probability proportional to the number of instances on whose front
//! it stands, after removing candidates dominated by others.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::rng::OptRng;

/// The per-validation-instance Pareto front (gepa's `pareto_front_valset` and
/// `program_at_pareto_front_valset`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParetoFront {
    best: Vec<Option<f64>>,
    members: Vec<BTreeSet<usize>>,
}

impl ParetoFront {
    /// An empty front over `instances` validation examples.
    pub fn new(instances: usize) -> Self {
        ParetoFront {
            best: vec![None; instances],
            members: vec![BTreeSet::new(); instances],
        }
    }

    /// Adds a candidate's per-instance scores: a higher score replaces the instance's front, an
    /// equal one joins it.
    pub fn add(&mut self, program: usize, scores: &[f64]) {
        for (i, &score) in scores.iter().enumerate().take(self.best.len()) {
            match self.best[i] {
                Some(best) if score < best => {}
                Some(best) if score == best => {
                    self.members[i].insert(program);
                }
                _ => {
                    self.best[i] = Some(score);
                    self.members[i] = BTreeSet::from([program]);
                }
            }
        }
    }

    /// Adds one score of a candidate: on front `key` only (fronts over other keys than
    /// validation examples: objectives, or (example, objective) pairs).
    pub fn add_at(&mut self, program: usize, key: usize, score: f64) {
        let (Some(best), Some(members)) = (self.best.get_mut(key), self.members.get_mut(key))
        else {
            return;
        };
        match *best {
            Some(b) if score < b => {}
            Some(b) if score == b => {
                members.insert(program);
            }
            _ => {
                *best = Some(score);
                *members = BTreeSet::from([program]);
            }
        }
    }

    /// The best score of each instance (`None` before any candidate was added).
    pub fn best_scores(&self) -> &[Option<f64>] {
        &self.best
    }

    /// The candidates on each instance's front.
    pub fn members(&self) -> &[BTreeSet<usize>] {
        &self.members
    }

    /// The front restricted to the candidates in `keep` (gepa's `TopKParetoCandidateSelector`
    /// filters its mapping so): instances whose front holds none of them have an empty front.
    pub fn restricted_to(&self, keep: &BTreeSet<usize>) -> ParetoFront {
        ParetoFront {
            best: self.best.clone(),
            members: self
                .members
                .iter()
                .map(|front| front.intersection(keep).copied().collect())
                .collect(),
        }
    }

    /// gepa's `remove_dominated_programs`: repeatedly drops a candidate (weakest aggregate
    /// score first) when every front it stands on also holds another surviving candidate.
    pub fn without_dominated(&self, scores: &[f64]) -> Vec<BTreeSet<usize>> {
        let mut programs: Vec<usize> = Vec::new();
        for front in &self.members {
            for &p in front {
                if !programs.contains(&p) {
                    programs.push(p);
                }
            }
        }
        let score = |p: usize| scores.get(p).copied().unwrap_or(0.0);
        programs.sort_by(|a, b| score(*a).total_cmp(&score(*b)));
        let mut dominated: BTreeSet<usize> = BTreeSet::new();
        loop {
            let mut found = false;
            for &y in &programs {
                if dominated.contains(&y) {
                    continue;
                }
                let others = |p: &usize| *p != y && !dominated.contains(p);
                let is_dominated = self
                    .members
                    .iter()
                    .filter(|front| front.contains(&y))
                    .all(|front| front.iter().any(others));
                if is_dominated {
                    dominated.insert(y);
                    found = true;
                    break;
                }
            }
            if !found {
                break;
            }
        }
        self.members
            .iter()
            .map(|front| {
                front
                    .iter()
                    .copied()
                    .filter(|p| !dominated.contains(p))
                    .collect()
            })
            .collect()
    }

    /// The candidates that survive dominance removal (gepa's `find_dominator_programs`), in
    /// ascending order.
    pub fn dominators(&self, scores: &[f64]) -> Vec<usize> {
        let fronts = self.without_dominated(scores);
        let set: BTreeSet<usize> = fronts.into_iter().flatten().collect();
        set.into_iter().collect()
    }

    /// gepa's `select_program_candidate_from_pareto_front`: a surviving candidate drawn with
    /// probability proportional to the number of fronts it stands on. `None` when the front is
    /// empty.
    pub fn sample(&self, scores: &[f64], rng: &mut OptRng) -> Option<usize> {
        let fronts = self.without_dominated(scores);
        let mut order: Vec<usize> = Vec::new();
        let mut freq: Vec<usize> = Vec::new();
        for front in &fronts {
            for &p in front {
                match order.iter().position(|&q| q == p) {
                    Some(i) => freq[i] += 1,
                    None => {
                        order.push(p);
                        freq.push(1);
                    }
                }
            }
        }
        let list: Vec<usize> = order
            .iter()
            .zip(&freq)
            .flat_map(|(&p, &f)| std::iter::repeat_n(p, f))
            .collect();
        if list.is_empty() {
            return None;
        }
        Some(list[rng.below(list.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fronts_track_ties_and_dominated_candidates_drop_out() {
        let mut front = ParetoFront::new(3);
        front.add(0, &[0.0, 1.0, 0.0]);
        front.add(1, &[1.0, 1.0, 0.0]);
        assert_eq!(front.members()[0], BTreeSet::from([1]));
        assert_eq!(front.members()[1], BTreeSet::from([0, 1]));
        assert_eq!(front.members()[2], BTreeSet::from([0, 1]));
        // 0 is dominated by 1: every front holding 0 also holds 1.
        let scores = [1.0 / 3.0, 2.0 / 3.0];
        assert_eq!(front.dominators(&scores), vec![1]);
        let mut rng = OptRng::new(0);
        for _ in 0..10 {
            assert_eq!(front.sample(&scores, &mut rng), Some(1));
        }
        front.add(2, &[0.0, 0.0, 1.0]);
        let scores = [1.0 / 3.0, 2.0 / 3.0, 1.0 / 3.0];
        assert_eq!(front.dominators(&scores), vec![1, 2]);
    }
}
