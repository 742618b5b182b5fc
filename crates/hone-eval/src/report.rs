//! Writing evaluation results: JSON Lines (one object per example, to any writer) and a plain
//! text table.

use std::io::Write;

use serde_json::{Map, Value, json};

use crate::evaluate::{EvaluationResult, ExampleResult};

/// One example as a JSON object: `index`, `inputs`, `labels`, `prediction`, `score`,
/// `feedback`, `error`, `usage`.
pub fn example_json(result: &ExampleResult) -> Value {
    serde_json::to_value(result).unwrap_or(Value::Null)
}

impl EvaluationResult {
    /// Writes one JSON object per example, one per line, in dataset order.
    pub fn write_jsonl<W: Write>(&self, mut out: W) -> std::io::Result<()> {
        for r in &self.results {
            serde_json::to_writer(&mut out, r).map_err(std::io::Error::other)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    }

    /// A plain-text table of the first `max_rows` examples (all when `None`): index, inputs,
    /// prediction, score and error, cells cut at 40 characters, then the summary line.
    pub fn table(&self, max_rows: Option<usize>) -> String {
        let rows: Vec<[String; 5]> = self
            .results
            .iter()
            .take(max_rows.unwrap_or(usize::MAX))
            .map(|r| {
                [
                    r.index.to_string(),
                    cell(&fields_text(r.inputs.fields())),
                    cell(
                        &r.prediction
                            .as_ref()
                            .map(|p| fields_text(p.fields()))
                            .unwrap_or_default(),
                    ),
                    format!("{:.3}", r.score),
                    cell(r.error.as_deref().unwrap_or("")),
                ]
            })
            .collect();
        let header =
            ["#", "inputs", "prediction", self.metric.as_str(), "error"].map(str::to_owned);
        let mut widths = header.clone().map(|h| h.chars().count());
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |row: &[String; 5]| {
            row.iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join(" | ")
                .trim_end()
                .to_owned()
        };
        let mut out = String::new();
        out.push_str(&line(&header));
        out.push('\n');
        out.push_str(
            &widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .join("-+-"),
        );
        out.push('\n');
        for row in &rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        if rows.len() < self.results.len() {
            out.push_str(&format!(
                "... {} more row(s) not shown\n",
                self.results.len() - rows.len()
            ));
        }
        let s = &self.summary;
        out.push_str(&format!(
            "{}: {:.2}% over {} example(s) (95% CI {:.2}%–{:.2}%, {} error(s))\n",
            self.metric,
            self.score(),
            s.n,
            s.ci_low * 100.0,
            s.ci_high * 100.0,
            self.errors
        ));
        out
    }

    /// The summary as JSON (for machine-readable reports).
    pub fn summary_json(&self) -> Value {
        json!({
            "metric": self.metric,
            "score": self.score(),
            "mean": self.summary.mean,
            "std_err": self.summary.std_err,
            "ci95": [self.summary.ci_low, self.summary.ci_high],
            "examples": self.summary.n,
            "errors": self.errors,
            "usage": self.usage,
        })
    }
}

/// Fields as `name: value` (strings bare, other values as JSON), joined by `separator`.
pub fn fields_line(fields: &Map<String, Value>, separator: &str) -> String {
    fields
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join(separator)
}

fn fields_text(fields: &Map<String, Value>) -> String {
    fields_line(fields, "; ")
}

fn cell(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > 40 {
        let head: String = flat.chars().take(39).collect();
        format!("{head}…")
    } else {
        flat
    }
}
