//! Where a saved predictor's inputs end and its outputs begin.

use hone_core::Field;

use super::names::{default_instruction_names, field_names};
use super::{REACT_OUTPUTS, REASONING_PREFIX, Saved};

pub(super) struct Split {
    /// The index of the first output.
    pub(super) at: usize,
    /// How it was guessed, when it was.
    pub(super) guess: Option<String>,
}

pub(super) fn split_point(
    p: &Saved,
    names: &[String],
    earlier_outputs: &[(&str, &Field)],
    earlier_names: &[String],
    later: &[&Saved],
) -> Split {
    let n = names.len();
    let certain = |at: usize| Split { at, guess: None };
    if n >= 4 && names[n - 3..] == REACT_OUTPUTS {
        return certain(n - 3);
    }
    if let Some(r) = names
        .iter()
        .position(|f| f == "reasoning" || f == "rationale")
        && r > 0
        && (p.fields[r].0 == REASONING_PREFIX || p.name.ends_with("predict") || r < n - 1)
    {
        return certain(r);
    }
    if let Some((ins, outs)) = default_instruction_names(&p.instructions)
        && ins.len() + outs.len() == n
        && ins.iter().chain(&outs).zip(names).all(|(a, b)| a == b)
    {
        return certain(ins.len());
    }
    if n < 2 {
        return Split {
            at: 0,
            guess: Some("its one field is taken as an output".into()),
        };
    }
    // Dataflow: a field an earlier predictor produced is an input here; a field this
    // predictor hands to a later one (and no earlier predictor has) is an output here.
    let lower = names
        .iter()
        .rposition(|f| earlier_outputs.iter().any(|(o, _)| o == f))
        .map(|i| i + 1);
    let later_names: Vec<String> = later.iter().flat_map(|s| field_names(s).0).collect();
    let upper = names
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, f)| later_names.contains(f) && !earlier_names.contains(f))
        .map(|(i, _)| i);
    let (at, why) = match (lower, upper) {
        (Some(lo), Some(up)) if lo <= up => (
            lo.max(1).min(n - 1),
            "an earlier predictor produces the fields before it and a later one reads it",
        ),
        (Some(lo), _) if lo < n => (
            lo,
            "an earlier predictor produces the fields before it; the fields after it are taken as outputs",
        ),
        (_, Some(up)) => (
            up,
            "a later predictor reads it and no earlier one produces it",
        ),
        _ => (
            n - 1,
            "no other clue, so the last field is taken as the only output",
        ),
    };
    Split {
        at,
        guess: Some(format!(
            "inputs `{}`, outputs `{}`: the outputs start at `{}` because {why}",
            names[..at].join(", "),
            names[at..].join(", "),
            names[at]
        )),
    }
}
