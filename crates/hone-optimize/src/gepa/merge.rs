//! GEPA's system-aware merge (gepa's `MergeProposer`): two candidates descending from a common
//! ancestor, each having changed different components, are combined by taking each component
//! from the descendant that changed it.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::rng::OptRng;

/// What a merge needs to know about each candidate.
pub(crate) struct MergeView<'a> {
    /// Component texts per candidate.
    pub candidates: Vec<&'a IndexMap<String, String>>,
    /// Parents per candidate.
    pub parents: Vec<&'a [usize]>,
    /// Aggregate validation score per candidate.
    pub scores: &'a [f64],
}

/// Merges already tried (gepa's `merges_performed`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct MergeHistory {
    /// `(id1, id2, ancestor)` triplets.
    pub triplets: Vec<(usize, usize, usize)>,
    /// `(id1, id2, source of each component)` descriptions.
    pub descriptions: Vec<(usize, usize, Vec<usize>)>,
}

/// A merged candidate and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Merged {
    pub candidate: IndexMap<String, String>,
    pub id1: usize,
    pub id2: usize,
    pub ancestor: usize,
}

fn ancestors(parents: &[&[usize]], node: usize) -> BTreeSet<usize> {
    let mut found = BTreeSet::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        for &p in parents.get(n).copied().unwrap_or(&[]) {
            if found.insert(p) {
                stack.push(p);
            }
        }
    }
    found
}

fn desirable(view: &MergeView<'_>, ancestor: usize, i: usize, j: usize) -> bool {
    view.candidates[ancestor].iter().any(|(name, anc)| {
        let a = view.candidates[i].get(name);
        let b = view.candidates[j].get(name);
        (a == Some(anc) || b == Some(anc)) && a != b
    })
}

fn common_ancestor_pair(
    view: &MergeView<'_>,
    pool: &[usize],
    history: &MergeHistory,
    rng: &mut OptRng,
    max_attempts: usize,
) -> Option<(usize, usize, usize)> {
    for _ in 0..max_attempts {
        if pool.len() < 2 {
            return None;
        }
        let picks = rng.sample_indices(pool.len(), 2);
        let (mut i, mut j) = (pool[picks[0]], pool[picks[1]]);
        if i == j {
            continue;
        }
        if j < i {
            std::mem::swap(&mut i, &mut j);
        }
        let ai = ancestors(&view.parents, i);
        let aj = ancestors(&view.parents, j);
        if ai.contains(&j) || aj.contains(&i) {
            continue;
        }
        let common: Vec<usize> = ai
            .intersection(&aj)
            .copied()
            .filter(|&a| {
                !history.triplets.contains(&(i, j, a))
                    && view.scores[a] <= view.scores[i]
                    && view.scores[a] <= view.scores[j]
                    && desirable(view, a, i, j)
            })
            .collect();
        if common.is_empty() {
            continue;
        }
        // Weighted by aggregate score (uniform when every weight is zero).
        let total: f64 = common.iter().map(|&a| view.scores[a].max(0.0)).sum();
        let ancestor = if total > 0.0 {
            let mut x = rng.next_f64() * total;
            let mut pick = common[common.len() - 1];
            for &a in &common {
                x -= view.scores[a].max(0.0);
                if x < 0.0 {
                    pick = a;
                    break;
                }
            }
            pick
        } else {
            common[rng.below(common.len())]
        };
        return Some((i, j, ancestor));
    }
    None
}

/// gepa's `sample_and_attempt_merge_programs_by_common_predictors`: a merge of two dominators
/// through a common ancestor not tried before, or `None`. `overlap_ok` says whether two
/// candidates share enough scored validation examples.
pub(crate) fn attempt_merge(
    view: &MergeView<'_>,
    pool: &[usize],
    history: &mut MergeHistory,
    rng: &mut OptRng,
    overlap_ok: &dyn Fn(usize, usize) -> bool,
) -> Option<Merged> {
    const MAX_ATTEMPTS: usize = 10;
    if pool.len() < 2 || view.parents.len() < 3 {
        return None;
    }
    for _ in 0..MAX_ATTEMPTS {
        let Some((id1, id2, ancestor)) =
            common_ancestor_pair(view, pool, history, rng, MAX_ATTEMPTS)
        else {
            continue;
        };
        if history.triplets.contains(&(id1, id2, ancestor)) {
            continue;
        }
        let mut candidate = view.candidates[ancestor].clone();
        let mut sources = Vec::new();
        for (name, anc) in view.candidates[ancestor] {
            let (Some(a), Some(b)) = (
                view.candidates[id1].get(name),
                view.candidates[id2].get(name),
            ) else {
                continue;
            };
            let source = if (anc == a || anc == b) && a != b {
                if anc == a { id2 } else { id1 }
            } else if anc != a && anc != b {
                if view.scores[id1] > view.scores[id2] {
                    id1
                } else if view.scores[id2] > view.scores[id1] {
                    id2
                } else if rng.below(2) == 0 {
                    id1
                } else {
                    id2
                }
            } else {
                id1
            };
            if let Some(text) = view.candidates[source].get(name) {
                candidate.insert(name.clone(), text.clone());
            }
            sources.push(source);
        }
        let description = (id1, id2, sources);
        if history.descriptions.contains(&description) {
            continue;
        }
        if !overlap_ok(id1, id2) {
            continue;
        }
        history.descriptions.push(description);
        return Some(Merged {
            candidate,
            id1,
            id2,
            ancestor,
        });
    }
    None
}

/// gepa's `select_eval_subsample_for_merged_program`: up to `n` validation indices, drawn
/// evenly from those where the first parent won, where the second won, and ties.
pub(crate) fn merge_subsample(
    scores1: &[f64],
    scores2: &[f64],
    n: usize,
    rng: &mut OptRng,
) -> Vec<usize> {
    let common: Vec<usize> = (0..scores1.len().min(scores2.len())).collect();
    let p1: Vec<usize> = common
        .iter()
        .copied()
        .filter(|&i| scores1[i] > scores2[i])
        .collect();
    let p2: Vec<usize> = common
        .iter()
        .copied()
        .filter(|&i| scores2[i] > scores1[i])
        .collect();
    let p3: Vec<usize> = common
        .iter()
        .copied()
        .filter(|i| !p1.contains(i) && !p2.contains(i))
        .collect();
    let n_each = n.div_ceil(3).max(1);
    let mut selected: Vec<usize> = Vec::new();
    for bucket in [&p1, &p2, &p3] {
        if selected.len() >= n {
            break;
        }
        let available: Vec<usize> = bucket
            .iter()
            .copied()
            .filter(|i| !selected.contains(i))
            .collect();
        let take = available.len().min(n_each).min(n - selected.len());
        for k in rng.sample_indices(available.len(), take) {
            selected.push(available[k]);
        }
    }
    let remaining = n.saturating_sub(selected.len());
    if remaining > 0 {
        let unused: Vec<usize> = common
            .iter()
            .copied()
            .filter(|i| !selected.contains(i))
            .collect();
        if unused.len() >= remaining {
            for k in rng.sample_indices(unused.len(), remaining) {
                selected.push(unused[k]);
            }
        } else if !common.is_empty() {
            for _ in 0..remaining {
                selected.push(common[rng.below(common.len())]);
            }
        }
    }
    selected.truncate(n);
    selected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(a: &str, b: &str) -> IndexMap<String, String> {
        IndexMap::from([
            ("a".to_owned(), a.to_owned()),
            ("b".to_owned(), b.to_owned()),
        ])
    }

    #[test]
    fn merges_take_each_changed_component_from_its_descendant() {
        let c0 = cand("a0", "b0");
        let c1 = cand("a1", "b0");
        let c2 = cand("a0", "b2");
        let parents: Vec<Vec<usize>> = vec![vec![], vec![0], vec![0]];
        let view = MergeView {
            candidates: vec![&c0, &c1, &c2],
            parents: parents.iter().map(Vec::as_slice).collect(),
            scores: &[0.2, 0.5, 0.6],
        };
        let mut history = MergeHistory::default();
        let mut rng = OptRng::new(3);
        let merged = attempt_merge(&view, &[1, 2], &mut history, &mut rng, &|_, _| true);
        let merged = merged.expect("a merge");
        assert_eq!(merged.candidate, cand("a1", "b2"));
        assert_eq!((merged.id1, merged.id2, merged.ancestor), (1, 2, 0));
        // The same merge is not proposed twice.
        history.triplets.push((1, 2, 0));
        assert!(attempt_merge(&view, &[1, 2], &mut history, &mut rng, &|_, _| true).is_none());
    }

    #[test]
    fn subsample_mixes_wins_losses_and_ties() {
        let mut rng = OptRng::new(1);
        let s1 = [1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0];
        let s2 = [0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0];
        let picked = merge_subsample(&s1, &s2, 5, &mut rng);
        assert_eq!(picked.len(), 5);
        assert!(picked.iter().any(|&i| s1[i] > s2[i]));
        assert!(picked.iter().any(|&i| s2[i] > s1[i]));
    }
}
