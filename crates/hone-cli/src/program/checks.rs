//! The checks of a read program that serde cannot make: values in range, LM names, stage
//! names and where each stage input comes from. Each error names the key and what to do.

use crate::error::{Result, did_you_mean, suggest};

use super::load::{Program, Source, Stage};
use toml::Spanned;

impl Program {
    /// Checks the numbers serde accepts but nothing can use: out of range, NaN or infinite.
    /// Each error names the key and says what is allowed.
    pub(super) fn check_values(&self) -> Result<()> {
        let range = |section: &str, key: &str, v: f64, lo: f64, hi: f64| -> Result<()> {
            if v.is_finite() && v >= lo && v <= hi {
                return Ok(());
            }
            Err(self
                .error_at_key(
                    section,
                    key,
                    format!("`{key}` must be a number from {lo} to {hi}, got {v}"),
                )
                .into())
        };
        let positive = |section: &str, key: &str, v: u64| -> Result<()> {
            if v >= 1 {
                return Ok(());
            }
            Err(self
                .error_at_key(section, key, format!("`{key}` must be at least 1, got {v}"))
                .into())
        };
        for (name, spec) in &self.lms {
            let section = format!("lm.{name}");
            let spec = spec.get_ref();
            if let Some(t) = spec.temperature {
                range(&section, "temperature", t, 0.0, 2.0)?;
            }
            if let Some(m) = spec.max_tokens {
                positive(&section, "max_tokens", u64::from(m))?;
            }
            if let Some(m) = spec.max_in_flight {
                positive(&section, "max_in_flight", m as u64)?;
            }
            for (key, value) in [
                ("timeout_secs", spec.timeout_secs),
                ("connect_timeout_secs", spec.connect_timeout_secs),
            ] {
                if let Some(t) = value
                    && !(t.is_finite() && t > 0.0)
                {
                    return Err(self
                        .error_at_key(
                            &section,
                            key,
                            format!("`{key}` must be a positive number of seconds, got {t}"),
                        )
                        .into());
                }
            }
        }
        if let Some(d) = &self.dataset {
            let d = d.get_ref();
            if let Some(split) = &d.split
                && !(split.dev.is_finite() && (0.0..=1.0).contains(&split.dev))
            {
                return Err(self
                    .error_at_key(
                        "dataset",
                        "split",
                        format!(
                            "`split.dev` is the fraction of examples in the dev set, from 0 to 1; got {}",
                            split.dev
                        ),
                    )
                    .field("dataset.split.dev")
                    .hint("e.g. split = { dev = 0.3, seed = 7 }")
                    .into());
            }
            if let Some(l) = d.limit {
                positive("dataset", "limit", l as u64)?;
            }
        }
        if let Some(m) = &self.metric {
            let m = m.get_ref();
            if let Some(f) = m.frac {
                range("metric", "frac", f, 0.0, 1.0)?;
            }
            if let Some(t) = m.tolerance {
                range("metric", "tolerance", t, 0.0, f64::MAX)?;
            }
            if let Some(r) = m.relative {
                range("metric", "relative", r, 0.0, f64::MAX)?;
            }
        }
        Ok(())
    }

    /// Checks every LM name the file uses against `available`.
    pub fn check_lm_names(&self, available: &[String]) -> Result<()> {
        let names: Vec<&str> = available.iter().map(String::as_str).collect();
        let check = |lm: &Spanned<String>, field: String| -> Result<()> {
            if names.contains(&lm.get_ref().as_str()) {
                return Ok(());
            }
            let hint = if names.is_empty() {
                "define it in a [lm.NAME] table or with --lm NAME=MODEL".to_owned()
            } else {
                format!(
                    "{} (or define [lm.{}])",
                    did_you_mean(lm.get_ref(), &names),
                    lm.get_ref()
                )
            };
            Err(self
                .error_at(lm.span(), format!("unknown LM `{}`", lm.get_ref()))
                .field(field)
                .hint(hint)
                .into())
        };
        if let Some(lm) = &self.default_lm {
            check(lm, "program.lm".into())?;
        }
        for (i, s) in self.stages.iter().enumerate() {
            if let Some(lm) = &s.lm {
                check(lm, format!("program.stages[{i}].lm"))?;
            }
        }
        if let Some(m) = &self.metric
            && let Some(lm) = &m.get_ref().lm
        {
            check(lm, "metric.lm".into())?;
        }
        Ok(())
    }
}

pub(super) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A stage name: an identifier, or identifiers joined by `.` as DSPy names a predictor nested
/// in modules (`module.analyzer`), each optionally indexed as DSPy names list items
/// (`steps[0]`). `self` is the whole program (DSPy's name for the root).
pub(super) fn is_stage_name(name: &str) -> bool {
    name.split('.').all(|part| {
        let (head, mut rest) = part.split_once('[').map_or((part, ""), |(h, r)| (h, r));
        if !is_identifier(head) {
            return false;
        }
        while !rest.is_empty() {
            let Some((index, after)) = rest.split_once(']') else {
                return false;
            };
            if index.is_empty() || !index.chars().all(|c| c.is_ascii_digit()) {
                return false;
            }
            rest = match after.strip_prefix('[') {
                Some(r) => r,
                None if after.is_empty() => "",
                None => return false,
            };
        }
        true
    })
}

pub(super) fn resolve_source(
    text: &str,
    earlier: &[Stage],
) -> std::result::Result<Source, (String, Option<String>)> {
    if let Some(field) = text.strip_prefix("input.") {
        return Ok(Source::Input(field.to_owned()));
    }
    // The stage name may itself hold dots (`module.analyzer.analysis`): the field is the last
    // part.
    let Some((head, field)) = text.rsplit_once('.') else {
        return Ok(Source::Input(text.to_owned()));
    };
    let Some(stage) = earlier.iter().find(|s| s.name == head) else {
        let mut names: Vec<&str> = earlier.iter().map(|s| s.name.as_str()).collect();
        names.push("input");
        return Err((
            format!("`{text}` names no earlier stage `{head}`"),
            Some(format!(
                "{}; a stage reads the program's inputs (`input.FIELD`) or earlier stages' outputs (`STAGE.FIELD`)",
                did_you_mean(head, &names)
            )),
        ));
    };
    let outs: Vec<&str> = stage
        .signature
        .outputs
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    if !outs.contains(&field) {
        return Err((
            format!(
                "stage `{head}` has no output `{field}` (its outputs: {})",
                outs.join(", ")
            ),
            suggest(field, outs.iter().copied()).map(|s| format!("did you mean `{head}.{s}`?")),
        ));
    }
    Ok(Source::Stage {
        stage: head.to_owned(),
        field: field.to_owned(),
    })
}
