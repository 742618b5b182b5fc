//! The fronts parents and merges are drawn from, as `frontier_type` says (gepa's
//! `get_pareto_front_mapping`): per validation example, per objective of the metric, both, or
//! per (example, objective) pair.

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::config::FrontierType;
use super::pareto::ParetoFront;
use super::state::GepaCandidate;
use super::{Gepa, NAME};
use crate::protocol::OptimizerError;

/// The fronts of `frontier` over the pool `programs`: `instances` (kept as candidates join)
/// for per-example fronts, the others built from the candidates' scores. Objectives come in
/// name order, the (example, objective) pairs example by example.
pub(super) fn fronts<'a>(
    frontier: FrontierType,
    programs: &[GepaCandidate],
    instances: &'a ParetoFront,
    val_len: usize,
) -> Cow<'a, ParetoFront> {
    let names: Vec<String> = {
        let names: BTreeSet<&String> = programs
            .iter()
            .flat_map(|p| p.val_objectives.iter().flat_map(|o| o.keys()))
            .collect();
        names.into_iter().cloned().collect()
    };
    let by_objective = |front: &mut ParetoFront, offset: usize| {
        for (c, program) in programs.iter().enumerate() {
            let means = program.objective_scores();
            for (k, name) in names.iter().enumerate() {
                if let Some(&score) = means.get(name) {
                    front.add_at(c, offset + k, score);
                }
            }
        }
    };
    match frontier {
        FrontierType::Instance => Cow::Borrowed(instances),
        FrontierType::Objective => {
            let mut front = ParetoFront::new(names.len());
            by_objective(&mut front, 0);
            Cow::Owned(front)
        }
        FrontierType::Hybrid => {
            let mut front = ParetoFront::new(val_len + names.len());
            for (c, program) in programs.iter().enumerate() {
                for (i, &score) in program.val_scores.iter().enumerate().take(val_len) {
                    front.add_at(c, i, score);
                }
            }
            by_objective(&mut front, val_len);
            Cow::Owned(front)
        }
        FrontierType::Cartesian => {
            let mut front = ParetoFront::new(val_len * names.len());
            for (c, program) in programs.iter().enumerate() {
                for (i, scores) in program.val_objectives.iter().enumerate().take(val_len) {
                    for (k, name) in names.iter().enumerate() {
                        if let Some(&score) = scores.get(name) {
                            front.add_at(c, i * names.len() + k, score);
                        }
                    }
                }
            }
            Cow::Owned(front)
        }
    }
}

impl Gepa {
    /// The fronts of `frontier_type` (see [`fronts`]).
    pub(super) fn selection_front(&self) -> Cow<'_, ParetoFront> {
        fronts(
            self.config.frontier_type,
            &self.programs,
            &self.front,
            self.valset.len(),
        )
    }

    /// Fails the run when `frontier_type` needs objective scores and the seed, scored on the
    /// valset, has none (gepa refuses such a run at its start).
    pub(super) fn check_objectives(&self) -> Result<(), OptimizerError> {
        let Some(seed) = self.programs.first() else {
            return Ok(());
        };
        if !self.config.frontier_type.needs_objectives()
            || seed.val_scores.is_empty()
            || !seed.val_objectives.is_empty()
        {
            return Ok(());
        }
        let kind = serde_json::to_value(self.config.frontier_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Err(OptimizerError::Config {
            optimizer: NAME,
            message: format!(
                "frontier_type = \"{kind}\" keeps fronts over objective scores, but the metric \
                 returned none on the seed's validation run; make the metric return \
                 `objectives` (named scores) beside its score, or use frontier_type = \
                 \"instance\""
            ),
        })
    }
}
