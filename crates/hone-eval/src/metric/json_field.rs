//! [`JsonFieldMatch`]: the share of chosen (possibly nested) fields whose predicted value
//! equals the label's — for structured outputs (extraction into objects, lists of records).

use hone_core::{Example, Prediction};
use serde_json::Value;

use super::text::normalize_text;
use super::{MetricError, MetricValue};

/// Compares fields at dotted paths (`"invoice.total"`, `"items.0.sku"`): the score is the
/// fraction of paths whose values are equal. The first segment names a field of the example
/// and of the prediction; later segments index into objects and arrays. A predicted string that
/// holds JSON (`"{\"total\": 3}"`) is parsed first. Strings compare after DSPy's normalisation
/// unless [`strict`](Self::strict); numbers compare by value (`3` equals `3.0`).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonFieldMatch {
    paths: Vec<String>,
    strict: bool,
    name: String,
}

impl JsonFieldMatch {
    /// Compares the values at `paths`.
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let paths: Vec<String> = paths.into_iter().map(Into::into).collect();
        JsonFieldMatch {
            name: format!("json_field_match({})", paths.join(", ")),
            paths,
            strict: false,
        }
    }

    /// Compares strings exactly instead of after normalisation.
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }

    fn same(&self, a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::String(x), Value::String(y)) if !self.strict => {
                normalize_text(x) == normalize_text(y)
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| self.same(a, b))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| self.same(v, w)))
            }
            _ => a == b,
        }
    }

    fn compute(
        &self,
        example: &Example,
        prediction: &Prediction,
    ) -> Result<MetricValue, MetricError> {
        if self.paths.is_empty() {
            return Err(MetricError::Other {
                metric: self.name.clone(),
                message: "no field paths to compare; pass at least one".into(),
            });
        }
        let mut matched = 0usize;
        let mut misses = Vec::new();
        for path in &self.paths {
            let mut segments = path.split('.');
            let head = segments.next().unwrap_or_default();
            let rest: Vec<&str> = segments.collect();
            let Some(want) = example.get(head).and_then(|v| lookup(v, &rest)) else {
                return Err(super::missing_label(&self.name, path, example));
            };
            let got = prediction.get(head).and_then(|v| lookup(v, &rest));
            match got {
                Some(got) if self.same(&want, &got) => matched += 1,
                Some(got) => misses.push(format!("`{path}` should be {want} but is {got}")),
                None => misses.push(format!("`{path}` is missing from the prediction")),
            }
        }
        let value = MetricValue::new(matched as f64 / self.paths.len() as f64);
        Ok(if misses.is_empty() {
            value
        } else {
            value.with_feedback(misses.join("; "))
        })
    }
}

/// Follows `rest` into `value`, parsing a string that holds JSON when it must be indexed.
fn lookup(value: &Value, rest: &[&str]) -> Option<Value> {
    let mut current = value.clone();
    for segment in rest {
        if let Value::String(s) = &current
            && let Ok(parsed) = serde_json::from_str::<Value>(s)
        {
            current = parsed;
        }
        current = match &current {
            Value::Object(map) => map.get(*segment)?.clone(),
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?.clone(),
            _ => return None,
        };
    }
    Some(current)
}

super::computed_metric!(JsonFieldMatch);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Metric;
    use serde_json::json;

    #[tokio::test]
    async fn scores_the_share_of_matching_paths() {
        let ex = Example::new().with("invoice", json!({"total": 12, "vendor": "ACME Inc."}));
        let pred = Prediction::new(
            json!({"invoice": "{\"total\": 12.0, \"vendor\": \"acme inc\"}"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        let m = JsonFieldMatch::new(["invoice.total", "invoice.vendor"]);
        assert_eq!(
            m.score(&ex, &pred, None).await.ok().map(|v| v.score),
            Some(1.0)
        );
        let strict = JsonFieldMatch::new(["invoice.total", "invoice.vendor"]).strict();
        let v = strict.score(&ex, &pred, None).await.ok();
        assert_eq!(v.as_ref().map(|v| v.score), Some(0.5));
        assert!(
            v.and_then(|v| v.feedback)
                .is_some_and(|f| f.contains("invoice.vendor"))
        );
    }
}
