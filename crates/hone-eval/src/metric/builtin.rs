//! Built-in metrics over one field: exact match, token F1, contains, numeric tolerance.
//!
//! Each compares the example's value of a field (the label) with the prediction's value of
//! the same field. A label may be a list of acceptable answers (as in DSPy's
//! `answer_exact_match`): the best score over the list counts. Non-string values are compared
//! as their JSON text (`42`), so an `int` answer matches the label `42` or `"42"`.

use hone_core::{Example, Prediction};
use serde_json::Value;

use super::text::{exact_match_score, normalize_text, token_f1_score};
use super::{MetricError, MetricValue, as_text, label, output};

fn references(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(as_text).collect(),
        other => vec![as_text(other)],
    }
}

super::computed_metric!(ExactMatch, TokenF1, Contains, NumericTolerance);

/// The label's acceptable answers and the prediction's text for `field`.
fn answers(
    metric: &str,
    field: &str,
    example: &Example,
    prediction: &Prediction,
) -> Result<(Vec<String>, String), MetricError> {
    let refs = references(label(metric, example, field)?);
    Ok((refs, as_text(output(metric, prediction, field)?)))
}

/// DSPy's `answer_exact_match`: 1 when the normalised prediction equals a normalised label;
/// with [`frac`](Self::frac) below 1, when the best token F1 reaches `frac` instead.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactMatch {
    field: String,
    frac: f64,
    name: String,
}

impl ExactMatch {
    /// Exact match on `field` (DSPy compares `answer`).
    pub fn new(field: impl Into<String>) -> Self {
        let field = field.into();
        ExactMatch {
            name: format!("exact_match({field})"),
            field,
            frac: 1.0,
        }
    }

    /// DSPy's `frac`: below 1.0, a token F1 of at least `frac` counts as a match.
    pub fn frac(mut self, frac: f64) -> Self {
        self.frac = frac;
        self
    }

    fn compute(
        &self,
        example: &Example,
        prediction: &Prediction,
    ) -> Result<MetricValue, MetricError> {
        let (refs, pred) = answers(&self.name, &self.field, example, prediction)?;
        let ok = if self.frac >= 1.0 {
            refs.iter().any(|r| exact_match_score(&pred, r))
        } else {
            refs.iter()
                .map(|r| token_f1_score(&pred, r))
                .fold(0.0, f64::max)
                >= self.frac
        };
        let value = MetricValue::from(ok);
        Ok(if ok {
            value
        } else {
            value.with_feedback(format!(
                "`{}` should be {} but the prediction is {pred:?}",
                self.field,
                refs.iter()
                    .map(|r| format!("{r:?}"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))
        })
    }
}

/// DSPy's `F1`: the best token-level F1 of the prediction against the label(s).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenF1 {
    field: String,
    name: String,
}

impl TokenF1 {
    /// Token F1 on `field`.
    pub fn new(field: impl Into<String>) -> Self {
        let field = field.into();
        TokenF1 {
            name: format!("token_f1({field})"),
            field,
        }
    }

    fn compute(
        &self,
        example: &Example,
        prediction: &Prediction,
    ) -> Result<MetricValue, MetricError> {
        let (refs, pred) = answers(&self.name, &self.field, example, prediction)?;
        let best = refs
            .iter()
            .map(|r| token_f1_score(&pred, r))
            .fold(0.0, f64::max);
        Ok(MetricValue::new(best))
    }
}

/// 1 when the normalised prediction contains a normalised label as a whole-word sequence
/// (`"The answer is Paris."` contains `"paris"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Contains {
    field: String,
    name: String,
}

impl Contains {
    /// Contains on `field`.
    pub fn new(field: impl Into<String>) -> Self {
        let field = field.into();
        Contains {
            name: format!("contains({field})"),
            field,
        }
    }

    fn compute(
        &self,
        example: &Example,
        prediction: &Prediction,
    ) -> Result<MetricValue, MetricError> {
        let (refs, pred) = answers(&self.name, &self.field, example, prediction)?;
        let pred = format!(" {} ", normalize_text(&pred));
        let ok = refs.iter().any(|r| {
            let r = normalize_text(r);
            !r.is_empty() && pred.contains(&format!(" {r} "))
        });
        Ok(MetricValue::from(ok))
    }
}

/// 1 when the predicted number is within a tolerance of the label:
/// `|predicted − label| <= max(absolute, relative · |label|)`. Numbers may be JSON numbers or
/// text holding one (`"42"`, `"$1,234.5"`, `"x = -3"`: the last number in the text).
#[derive(Debug, Clone, PartialEq)]
pub struct NumericTolerance {
    field: String,
    absolute: f64,
    relative: f64,
    name: String,
}

impl NumericTolerance {
    /// Exact numeric equality on `field` (tolerance 1e-9); widen with
    /// [`absolute`](Self::absolute) or [`relative`](Self::relative).
    pub fn new(field: impl Into<String>) -> Self {
        let field = field.into();
        NumericTolerance {
            name: format!("numeric({field})"),
            field,
            absolute: 1e-9,
            relative: 0.0,
        }
    }

    /// Allowed absolute difference.
    pub fn absolute(mut self, tolerance: f64) -> Self {
        self.absolute = tolerance;
        self
    }

    /// Allowed difference relative to the label.
    pub fn relative(mut self, tolerance: f64) -> Self {
        self.relative = tolerance;
        self
    }

    fn number(&self, value: &Value, side: &str) -> Result<f64, MetricError> {
        let found = match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => last_number(s),
            Value::Bool(_) | Value::Null | Value::Array(_) | Value::Object(_) => None,
        };
        found.ok_or_else(|| MetricError::Type {
            metric: self.name.clone(),
            field: self.field.clone(),
            message: format!("the {side} value {value} holds no number"),
        })
    }

    fn compute(
        &self,
        example: &Example,
        prediction: &Prediction,
    ) -> Result<MetricValue, MetricError> {
        let want = self.number(label(&self.name, example, &self.field)?, "label")?;
        let got = match self.number(output(&self.name, prediction, &self.field)?, "predicted") {
            Ok(v) => v,
            // An answer without a number is wrong, not a metric failure.
            Err(e) => return Ok(MetricValue::new(0.0).with_feedback(e.to_string())),
        };
        let ok = (got - want).abs() <= self.absolute.max(self.relative * want.abs());
        let value = MetricValue::from(ok);
        Ok(if ok {
            value
        } else {
            value.with_feedback(format!("expected {want}, got {got}"))
        })
    }
}

/// The last number in a text, ignoring thousands separators.
fn last_number(text: &str) -> Option<f64> {
    let cleaned: String = text.chars().filter(|c| *c != ',').collect();
    let mut best = None;
    let chars: Vec<char> = cleaned.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        if (chars[i] == '-' || chars[i] == '+')
            && i + 1 < chars.len()
            && chars[i + 1].is_ascii_digit()
        {
            i += 1;
        }
        if i < chars.len() && chars[i].is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let token: String = chars[start..i].iter().collect();
            if let Ok(v) = token.trim_end_matches('.').parse::<f64>() {
                best = Some(v);
            }
        } else {
            i = start + 1;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Metric;
    use serde_json::json;

    fn pred(v: Value) -> Prediction {
        Prediction::new(
            json!({ "answer": v })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
    }

    #[tokio::test]
    async fn builtins_score_as_documented() {
        let ex = Example::new().with("answer", json!(["Eiffel Tower", "Louvre"]));
        let em = ExactMatch::new("answer");
        let s = em.score(&ex, &pred(json!("The Eiffel Tower")), None).await;
        assert_eq!(s.ok().map(|v| v.score), Some(1.0));
        let f1 = TokenF1::new("answer");
        let s = f1.score(&ex, &pred(json!("Eiffel")), None).await;
        assert!(s.is_ok_and(|v| (v.score - 2.0 / 3.0).abs() < 1e-9));
        let c = Contains::new("answer");
        let s = c.score(&ex, &pred(json!("It is the Louvre.")), None).await;
        assert_eq!(s.ok().map(|v| v.score), Some(1.0));

        let num = NumericTolerance::new("answer").absolute(0.5);
        let ex = Example::new().with("answer", 42);
        for (p, want) in [
            (json!(42), 1.0),
            (json!("about 42.3"), 1.0),
            (json!("41"), 0.0),
            (json!("none"), 0.0),
        ] {
            let s = num.score(&ex, &pred(p), None).await;
            assert_eq!(s.ok().map(|v| v.score), Some(want));
        }
        let em_int = ExactMatch::new("answer");
        let s = em_int.score(&ex, &pred(json!(42)), None).await;
        assert_eq!(s.ok().map(|v| v.score), Some(1.0));
        let missing = em_int.score(&Example::new(), &pred(json!(1)), None).await;
        assert!(matches!(missing, Err(MetricError::MissingLabel { .. })));
        assert_eq!(last_number("$1,234.5 total"), Some(1234.5));
        assert_eq!(last_number("x = -3"), Some(-3.0));
    }
}
