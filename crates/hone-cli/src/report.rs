//! `hone report RUN_DIR`: one self-contained HTML page about an optimization run — the score of
//! every trial and the best so far (an inline SVG chart), the winning prompt of each predictor,
//! what changed from the baseline, per-example results and cost. No scripts, no external files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use hone_core::adapter::AdapterKind;
use hone_core::state::ProgramState;
use hone_core::{Example, Role};
use hone_export::{FieldChange, ProgramDiff, WordChange, diff_programs};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::program::Program;
use crate::run::{RunRecord, TrialPoint, files};

/// Escapes text for HTML.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn read_state_file(path: &Path) -> Result<Option<ProgramState>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    ProgramState::from_json_str(&text)
        .map(Some)
        .map_err(|e| crate::FileError::new(path, format!("not a hone program state: {e}")).into())
}

/// One line of `results.jsonl`.
#[derive(Debug, Clone, Default)]
struct ResultRow {
    inputs: Map<String, Value>,
    labels: Map<String, Value>,
    prediction: Map<String, Value>,
    score: f64,
    error: Option<String>,
}

fn read_results(path: &Path) -> Result<BTreeMap<(String, u64), ResultRow>> {
    let mut rows = BTreeMap::new();
    if !path.exists() {
        return Ok(rows);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| {
            crate::FileError::new(path, format!("not valid JSON: {e}")).at(i + 1, e.column())
        })?;
        let obj = |k: &str| {
            v.get(k)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let program = v
            .get("program")
            .and_then(Value::as_str)
            .unwrap_or("best")
            .to_owned();
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
        rows.insert(
            (program, index),
            ResultRow {
                inputs: obj("inputs"),
                labels: obj("labels"),
                prediction: obj("prediction"),
                score: v.get("score").and_then(Value::as_f64).unwrap_or(0.0),
                error: v.get("error").and_then(Value::as_str).map(str::to_owned),
            },
        );
    }
    Ok(rows)
}

/// Renders the report of the run in `dir`.
pub fn render_report(dir: &Path) -> Result<String> {
    let record = RunRecord::read(dir)?;
    let baseline = read_state_file(&dir.join(files::BASELINE))?;
    let best = read_state_file(&dir.join(files::BEST))?;
    let results = read_results(&dir.join(files::RESULTS))?;
    let program = Program::read(&dir.join(files::PROGRAM_TOML)).ok();
    let mut h = String::new();
    let title = format!(
        "hone run: {}",
        record
            .program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    lead(&mut h, &record, program.as_ref());
    summary(&mut h, &record);
    h.push_str("<section id=\"trials\"><h2>Score per trial</h2>\n");
    h.push_str(&chart_svg(
        &record.trials,
        record.baseline.as_ref().map(|b| b.mean),
    ));
    h.push_str("</section>\n");
    h.push_str("<section id=\"prompt\"><h2>The winning prompt</h2>\n");
    match &best {
        Some(best) => winning_prompt(&mut h, best, program.as_ref(), &results),
        None => h.push_str("<p class=\"note\">No best program yet: the run has not finished. Continue it with <code>hone resume</code>.</p>\n"),
    }
    h.push_str("</section>\n");
    h.push_str("<section id=\"diff\"><h2>Baseline → winner</h2>\n");
    match (&baseline, &best) {
        (Some(a), Some(b)) => diff_html(&mut h, &diff_programs(a, b)),
        _ => h.push_str("<p class=\"note\">Nothing to compare yet.</p>\n"),
    }
    h.push_str("</section>\n");
    examples_html(&mut h, &results);
    usage_html(&mut h, &record);
    h.push_str("</body>\n</html>\n");
    Ok(h)
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#1f2328;background:#fff}\
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #d0d7de;padding-bottom:.3em;margin-top:2em}\
h3{font-size:1.05em}table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border:1px solid #d0d7de;padding:.35em .5em;text-align:left;vertical-align:top}\
th{background:#f6f8fa}.kv td:first-child{font-weight:600;width:14em}pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:.85em}\
.msg{border:1px solid #d0d7de;border-radius:6px;margin:.5em 0}.msg .role{font-size:.75em;font-weight:700;text-transform:uppercase;padding:.25em .6em;background:#f6f8fa;border-bottom:1px solid #d0d7de}\
.msg pre{padding:.6em}.msg.system .role{background:#ddf4ff}.msg.assistant .role{background:#dafbe1}\
del{background:#ffebe9;color:#82071e}ins{background:#dafbe1;color:#116329;text-decoration:none}\
.better{background:#f0fff4}.worse{background:#fff5f5}.note{color:#59636e}.score{font-variant-numeric:tabular-nums}\
svg text{font-size:11px;fill:#59636e}.legend{font-size:.85em;color:#59636e}";

fn summary(h: &mut String, r: &RunRecord) {
    let score = |s: Option<&crate::run::ScoreRecord>| {
        s.map_or("–".to_owned(), |s| {
            format!(
                "{:.2}% (95% CI {:.1}–{:.1}%, {} examples, {} failed)",
                s.score,
                s.ci95[0] * 100.0,
                s.ci95[1] * 100.0,
                s.examples,
                s.errors
            )
        })
    };
    let models: Vec<String> = r
        .lms
        .iter()
        .map(|(n, l)| format!("{n}: {}", l.model))
        .collect();
    h.push_str("<table class=\"kv\" id=\"summary\">\n");
    let rows = [
        ("status", r.status.clone()),
        ("program", r.program.display().to_string()),
        ("optimizer", r.optimizer.kind.clone()),
        ("metric", r.metric.clone()),
        ("LMs", models.join(", ")),
        (
            "dataset",
            format!(
                "{} (train {}, dev {})",
                r.dataset
                    .get("source")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                r.dataset.get("train").and_then(Value::as_u64).unwrap_or(0),
                r.dataset.get("dev").and_then(Value::as_u64).unwrap_or(0)
            ),
        ),
        ("baseline (dev)", score(r.baseline.as_ref())),
        ("winner (dev)", score(r.best.as_ref())),
        ("trials", r.trials.len().to_string()),
        (
            "failures",
            format!(
                "{} example(s) or job(s) failed during the search; {} of {} LM call(s) failed",
                r.failures, r.usage.failed_calls, r.usage.calls
            ),
        ),
        ("wall time", format!("{:.1} s", r.elapsed_secs)),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(&v));
    }
    if let Some(e) = &r.error {
        let _ = writeln!(h, "<tr><td>error</td><td><pre>{}</pre></td></tr>", esc(e));
    }
    h.push_str("</table>\n");
}

/// The report's first lines: the task (the program's `description`, else its stages'
/// signatures), the models, and what the optimizer gained on dev.
fn lead(h: &mut String, r: &RunRecord, program: Option<&Program>) {
    let task = match program {
        Some(p) => match &p.description {
            Some(d) if !d.trim().is_empty() => d.trim().to_owned(),
            _ => p
                .stages
                .iter()
                .map(|s| format!("{} ({})", s.name, s.signature.field_string()))
                .collect::<Vec<_>>()
                .join("; "),
        },
        None => r.program.display().to_string(),
    };
    let models: Vec<String> = r.lms.values().map(|l| l.model.clone()).collect();
    let mut models_unique: Vec<String> = Vec::new();
    for m in models {
        if !models_unique.contains(&m) {
            models_unique.push(m);
        }
    }
    let result = gain_sentence(r);
    let _ = writeln!(
        h,
        "<p id=\"lead\"><strong>Task:</strong> {}<br><strong>Model:</strong> {}<br><strong>Result:</strong> {}</p>",
        esc(&task),
        esc(&models_unique.join(", ")),
        esc(&result)
    );
}

/// One sentence: the baseline's and the winner's dev scores and the gain, with the winner's
/// interval, the trials and the wall time.
pub fn gain_sentence(r: &RunRecord) -> String {
    let kind = &r.optimizer.kind;
    let trials = r.trials.len();
    let wall = duration_text(r.elapsed_secs);
    match (&r.baseline, &r.best) {
        (Some(b), Some(w)) => {
            let gain = w.score - b.score;
            let verdict = if gain > 0.0 {
                format!(
                    "raised the dev score from {:.2}% to {:.2}% (+{gain:.2} points",
                    b.score, w.score
                )
            } else if gain < 0.0 {
                format!(
                    "found nothing better: the dev score went from {:.2}% to {:.2}% ({gain:.2} points",
                    b.score, w.score
                )
            } else {
                format!(
                    "found nothing better than the baseline's {:.2}% on dev (+0.00 points",
                    b.score
                )
            };
            format!(
                "{kind} {verdict}; the winner's 95% CI {:.1}–{:.1}%, {} dev examples) in {trials} trial(s), {wall}.",
                w.ci95[0] * 100.0,
                w.ci95[1] * 100.0,
                w.examples
            )
        }
        (Some(b), None) => format!(
            "baseline {:.2}% on dev; {kind} has not finished ({trials} trial(s) so far, {wall}; status {}).",
            b.score, r.status
        ),
        _ => format!("no scores yet (status {}).", r.status),
    }
}

/// A duration for prose: `850 ms`, `42.0 s`, `3.5 min`, `2.1 h`.
fn duration_text(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else if secs < 120.0 {
        format!("{secs:.1} s")
    } else if secs < 7200.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// The ticks of a wall-time axis over `[0, span]` seconds: a unit that reads well for the span
/// (ms under 1 s, s under 2 min, min under 3 h, else h), a step of 1, 2 or 5 × 10ⁿ in that unit
/// giving at most eight ticks, and the axis end (the first tick at or past `span`). Returns the
/// ticks as (seconds, label) and the axis end in seconds.
fn time_ticks(span: f64) -> (Vec<(f64, String)>, f64) {
    let span = if span.is_finite() && span > 0.0 {
        span
    } else {
        1.0
    };
    let (unit, name) = if span < 1.0 {
        (0.001, "ms")
    } else if span < 120.0 {
        (1.0, "s")
    } else if span < 10_800.0 {
        (60.0, "min")
    } else {
        (3600.0, "h")
    };
    let extent = span / unit;
    let raw = extent / 7.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| extent / s <= 7.0 + 1e-9)
        .unwrap_or(10.0 * magnitude);
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    let count = (extent / step - 1e-9).ceil().max(1.0) as usize;
    let ticks = (0..=count)
        .map(|k| {
            let v = step * k as f64;
            (v * unit, format!("{v:.decimals$} {name}"))
        })
        .collect();
    (ticks, step * count as f64 * unit)
}

/// `v` seconds as a label for one point in time: `850 ms`, `42 s`, `3.5 min`, `1.2 h`.
fn seconds_label(v: f64) -> String {
    if v < 1.0 {
        format!("{:.0} ms", v * 1000.0)
    } else if v < 120.0 {
        format!("{v:.0} s")
    } else if v < 10_800.0 {
        format!("{:.1} min", v / 60.0)
    } else {
        format!("{:.1} h", v / 3600.0)
    }
}

/// The chart: a dot per trial (hollow for minibatch trials) and the best-so-far line, scores
/// on a 0–1 axis, over the run's wall time when every trial has its time (else over the trial
/// number); the baseline's dev score as a dashed line.
pub fn chart_svg(trials: &[TrialPoint], baseline: Option<f64>) -> String {
    let (w, hgt) = (760.0_f64, 320.0_f64);
    let (left, right, top, bottom) = (48.0, 16.0, 16.0, 40.0);
    let pw = w - left - right;
    let ph = hgt - top - bottom;
    // Positions on the x axis, from 0: seconds into the run, or trial numbers.
    let (position, timed): (Vec<f64>, bool) = match trials
        .iter()
        .map(|t| t.at_secs)
        .collect::<Option<Vec<f64>>>()
    {
        Some(at) if !at.is_empty() => (at, true),
        _ => ((0..trials.len()).map(|i| i as f64).collect(), false),
    };
    let last = position.iter().copied().fold(0.0_f64, f64::max);
    let (ticks, hi) = if timed {
        time_ticks(last)
    } else {
        (Vec::new(), last)
    };
    let x_at = |v: f64| left + if hi <= 0.0 { pw / 2.0 } else { pw * v / hi };
    let x = |i: f64| x_at(position.get(i as usize).copied().unwrap_or(0.0));
    let y = |s: f64| top + ph * (1.0 - s.clamp(0.0, 1.0));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {hgt}\" width=\"100%\" role=\"img\" aria-label=\"score per trial and best so far\">"
    );
    for t in 0..=4 {
        let v = f64::from(t) / 4.0;
        let _ = writeln!(
            s,
            "<line class=\"grid\" x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#eaeef2\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{v:.2}</text>",
            left + pw,
            y(v),
            y(v),
            left - 6.0,
            y(v) + 4.0
        );
    }
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{:.1}\" stroke=\"#8c959f\"/><line x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#8c959f\"/>",
        top + ph,
        left + pw,
        top + ph,
        top + ph
    );
    if timed {
        for (at, label) in &ticks {
            let _ = writeln!(
                s,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x_at(*at),
                top + ph + 16.0,
                esc(label)
            );
        }
    } else {
        let step = (trials.len() / 10).max(1);
        for (i, t) in trials.iter().enumerate() {
            if i % step == 0 || i + 1 == trials.len() {
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                    x(i as f64),
                    top + ph + 16.0,
                    t.trial
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "<text class=\"x-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        left + pw / 2.0,
        hgt - 6.0,
        if timed { "wall time" } else { "trial" }
    );
    if let Some(b) = baseline {
        let _ = writeln!(
            s,
            "<line class=\"baseline\" x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#bf8700\" stroke-dasharray=\"6 4\"><title>baseline (dev): {b:.3}</title></line>",
            left + pw,
            y(b),
            y(b)
        );
    }
    let points: Vec<String> = trials
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            t.best_so_far
                .map(|b| format!("{:.1},{:.1}", x(i as f64), y(b)))
        })
        .collect();
    if !points.is_empty() {
        let _ = writeln!(
            s,
            "<polyline class=\"best-so-far\" fill=\"none\" stroke=\"#1a7f37\" stroke-width=\"2.5\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    for (i, t) in trials.iter().enumerate() {
        let (fill, kind) = if t.full {
            ("#0969da", "full")
        } else {
            ("#ffffff", "minibatch")
        };
        let _ = writeln!(
            s,
            "<circle class=\"trial\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{fill}\" stroke=\"#0969da\" stroke-width=\"1.5\"><title>trial {}{}: candidate {}, score {:.3} on {} examples{} ({kind})</title></circle>",
            x(i as f64),
            y(t.score),
            t.trial,
            t.at_secs
                .map(|a| format!(" at {}", seconds_label(a)))
                .unwrap_or_default(),
            t.candidate,
            t.score,
            t.examples,
            if t.errors > 0 {
                format!(", {} failed", t.errors)
            } else {
                String::new()
            }
        );
    }
    if trials.is_empty() {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no trials recorded</text>",
            left + pw / 2.0,
            top + ph / 2.0
        );
    }
    s.push_str("</svg>\n<p class=\"legend\"><span style=\"color:#0969da\">●</span> score of a trial (hollow: minibatch) &nbsp; <span style=\"color:#1a7f37\">━</span> best so far &nbsp; <span style=\"color:#bf8700\">┅</span> baseline on dev</p>\n");
    s
}

fn adapter_for(program: Option<&Program>, predictor: &str) -> AdapterKind {
    let stage = predictor.split('.').next().unwrap_or(predictor);
    program
        .and_then(|p| p.stages.iter().find(|s| s.name == stage))
        .map_or(AdapterKind::Chat, |s| s.adapter)
}

fn winning_prompt(
    h: &mut String,
    best: &ProgramState,
    program: Option<&Program>,
    results: &BTreeMap<(String, u64), ResultRow>,
) {
    let sample: Map<String, Value> = results
        .iter()
        .find(|((p, _), _)| p == "best")
        .or_else(|| results.iter().next())
        .map(|(_, r)| {
            let mut m = r.inputs.clone();
            for (k, v) in &r.prediction {
                m.entry(k.clone()).or_insert_with(|| v.clone());
            }
            m
        })
        .unwrap_or_default();
    h.push_str("<p class=\"note\">The messages each predictor sends, rendered by its adapter for the first dev example (fields a stage computes are taken from the winner's run on it).</p>\n");
    for (name, state) in &best.predictors {
        let adapter = adapter_for(program, name);
        let mut inputs = Example::new();
        for f in &state.signature.inputs {
            let v = sample
                .get(&f.name)
                .cloned()
                .unwrap_or_else(|| Value::from(format!("{{{}}}", f.name)));
            inputs.insert(f.name.clone(), v);
        }
        let _ = writeln!(
            h,
            "<div class=\"predictor\" data-predictor=\"{}\"><h3>{} <span class=\"note\">({} adapter, {} demo(s))</span></h3>",
            esc(name),
            esc(name),
            adapter,
            state.demos.len()
        );
        let _ = writeln!(
            h,
            "<p><strong>Instructions:</strong></p><pre class=\"instructions\">{}</pre>",
            esc(&state.signature.instructions)
        );
        match adapter
            .adapter()
            .format(&state.signature, &state.demos, &inputs)
        {
            Ok(messages) => {
                for m in messages {
                    let role = match m.role {
                        Role::System => "system",
                        Role::User => "user",
                        Role::Assistant => "assistant",
                    };
                    let _ = writeln!(
                        h,
                        "<div class=\"msg {role}\"><div class=\"role\">{role}</div><pre>{}</pre></div>",
                        esc(&m.content)
                    );
                }
            }
            Err(e) => {
                let _ = writeln!(
                    h,
                    "<p class=\"note\">cannot render the prompt: {}</p>",
                    esc(&e.to_string())
                );
            }
        }
        h.push_str("</div>\n");
    }
}

fn compact(fields: &Map<String, Value>) -> String {
    hone_eval::report::fields_line(fields, "\n")
}

fn diff_html(h: &mut String, diff: &ProgramDiff) {
    if diff.is_empty() {
        h.push_str("<p>The winner is the baseline: nothing changed.</p>\n");
        return;
    }
    for name in &diff.added {
        let _ = writeln!(h, "<p>Predictor <code>{}</code> added.</p>", esc(name));
    }
    for name in &diff.removed {
        let _ = writeln!(h, "<p>Predictor <code>{}</code> removed.</p>", esc(name));
    }
    for p in &diff.changed {
        let _ = writeln!(h, "<h3><code>{}</code></h3>", esc(&p.name));
        if let Some(words) = &p.instructions {
            h.push_str("<p><strong>Instructions</strong></p><pre class=\"word-diff\">");
            for w in words {
                match w {
                    WordChange::Same(t) => h.push_str(&esc(t)),
                    WordChange::Removed(t) => {
                        let _ = write!(h, "<del>{}</del>", esc(t));
                    }
                    WordChange::Added(t) => {
                        let _ = write!(h, "<ins>{}</ins>", esc(t));
                    }
                }
            }
            h.push_str("</pre>\n");
        }
        if !p.fields.is_empty() {
            h.push_str("<ul>");
            for f in &p.fields {
                let text = match f {
                    FieldChange::Added { role, name, ty } => {
                        format!("{role} field `{name}: {ty}` added")
                    }
                    FieldChange::Removed { role, name, ty } => {
                        format!("{role} field `{name}: {ty}` removed")
                    }
                    FieldChange::Changed {
                        name,
                        property,
                        before,
                        after,
                    } => format!("`{name}` {property}: {before:?} → {after:?}"),
                };
                let _ = write!(h, "<li>{}</li>", esc(&text));
            }
            h.push_str("</ul>\n");
        }
        let _ = writeln!(
            h,
            "<p>Demos: <ins>+{}</ins> <del>−{}</del>{}{}</p>",
            p.demos_added.len(),
            p.demos_removed.len(),
            if p.demos_changed.is_empty() {
                String::new()
            } else {
                format!(", {} changed", p.demos_changed.len())
            },
            if p.demos_reordered { ", reordered" } else { "" }
        );
        if !p.demos_added.is_empty() {
            h.push_str("<table class=\"demos\"><tr><th>#</th><th>added demo</th></tr>\n");
            for (i, d) in p.demos_added.iter().enumerate() {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td><pre>{}</pre></td></tr>",
                    i + 1,
                    esc(&compact(d.fields()))
                );
            }
            h.push_str("</table>\n");
        }
    }
}

fn examples_html(h: &mut String, results: &BTreeMap<(String, u64), ResultRow>) {
    h.push_str("<section id=\"examples\"><h2>Per-example results (dev)</h2>\n");
    let indices: Vec<u64> = {
        let mut v: Vec<u64> = results.keys().map(|(_, i)| *i).collect();
        v.dedup();
        v.sort_unstable();
        v.dedup();
        v
    };
    if indices.is_empty() {
        h.push_str("<p class=\"note\">No results yet: they are written when the run finishes.</p></section>\n");
        return;
    }
    h.push_str("<table><tr><th>#</th><th>inputs</th><th>expected</th><th>baseline</th><th>score</th><th>winner</th><th>score</th></tr>\n");
    let empty = ResultRow::default();
    for i in indices {
        let b = results.get(&("baseline".to_owned(), i));
        let w = results.get(&("best".to_owned(), i));
        let r = w.or(b).unwrap_or(&empty);
        let cls = match (b, w) {
            (Some(b), Some(w)) if w.score > b.score => " class=\"better\"",
            (Some(b), Some(w)) if w.score < b.score => " class=\"worse\"",
            _ => "",
        };
        let pred = |row: Option<&ResultRow>| {
            row.map_or(String::new(), |r| match &r.error {
                Some(e) => format!("error: {e}"),
                None => compact(&r.prediction),
            })
        };
        let score =
            |row: Option<&ResultRow>| row.map_or("–".to_owned(), |r| format!("{:.2}", r.score));
        let _ = writeln!(
            h,
            "<tr{cls}><td>{i}</td><td><pre>{}</pre></td><td><pre>{}</pre></td><td><pre>{}</pre></td><td class=\"score\">{}</td><td><pre>{}</pre></td><td class=\"score\">{}</td></tr>",
            esc(&compact(&r.inputs)),
            esc(&compact(&r.labels)),
            esc(&pred(b)),
            score(b),
            esc(&pred(w)),
            score(w)
        );
    }
    h.push_str("</table></section>\n");
}

fn usage_html(h: &mut String, r: &RunRecord) {
    let u = &r.usage;
    h.push_str("<section id=\"usage\"><h2>Cost and usage</h2>\n<table class=\"kv\">\n");
    let cost = if u.unpriced_calls > 0 && u.cost_usd == 0.0 {
        format!(
            "unknown ({} call(s) to models without a price)",
            u.unpriced_calls
        )
    } else {
        format!("${:.4}", u.cost_usd)
    };
    let rows = [
        (
            "LM calls",
            format!(
                "{} ({} from the cache, {} failed)",
                u.calls, u.cached_calls, u.failed_calls
            ),
        ),
        ("prompt tokens", u.prompt_tokens.to_string()),
        ("completion tokens", u.completion_tokens.to_string()),
        ("cost", cost),
        (
            "optimizer results",
            format!("{} accepted, {} LM calls reported", r.tells, r.lm_calls),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(&v));
    }
    h.push_str("</table></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_has_a_dot_per_trial_and_the_best_line() {
        let trials: Vec<TrialPoint> = [0.2, 0.5, 0.4, 0.8]
            .iter()
            .enumerate()
            .map(|(i, s)| TrialPoint {
                trial: i as u64,
                candidate: i as u64,
                score: *s,
                examples: 10,
                errors: if i == 2 { 3 } else { 0 },
                full: true,
                best_so_far: Some([0.2, 0.5, 0.5, 0.8][i]),
                at_secs: None,
            })
            .collect();
        let svg = chart_svg(&trials, Some(0.2));
        assert_eq!(svg.matches("<circle class=\"trial\"").count(), 4);
        assert!(svg.contains("score 0.400 on 10 examples, 3 failed (full)"));
        assert!(svg.contains("score 0.500 on 10 examples (full)"));
        assert!(svg.contains("<polyline class=\"best-so-far\""));
        assert!(svg.contains("class=\"baseline\""));
        assert!(svg.contains(">trial</text>"));
    }

    #[test]
    fn timed_trials_are_placed_by_wall_time() {
        let trials: Vec<TrialPoint> = [(0.2, 1.0), (0.5, 2.0), (0.8, 10.0)]
            .iter()
            .enumerate()
            .map(|(i, (score, at))| TrialPoint {
                trial: i as u64,
                candidate: i as u64,
                score: *score,
                examples: 10,
                errors: 0,
                full: true,
                best_so_far: Some(*score),
                at_secs: Some(*at),
            })
            .collect();
        let svg = chart_svg(&trials, None);
        assert!(svg.contains(">wall time</text>"));
        assert!(svg.contains(">10 s</text>"));
        // The x positions follow the times: 1 s and 2 s sit close together, 10 s at the end.
        let xs: Vec<f64> = svg
            .match_indices("<circle class=\"trial\" cx=\"")
            .filter_map(|(i, m)| {
                let rest = &svg[i + m.len()..];
                rest.split('"').next().and_then(|v| v.parse().ok())
            })
            .collect();
        assert_eq!(xs.len(), 3);
        assert!(xs[1] - xs[0] < (xs[2] - xs[1]) / 4.0, "{xs:?}");
        assert!(svg.contains("<title>trial 2 at 10 s:"));
    }

    fn labels(span: f64) -> (Vec<String>, f64) {
        let (ticks, end) = time_ticks(span);
        (ticks.into_iter().map(|(_, l)| l).collect(), end)
    }

    #[test]
    fn time_axis_labels_read_well_at_any_length() {
        // A 0.1 s simulated run: milliseconds, every label its own.
        let (l, end) = labels(0.1);
        assert_eq!(l, ["0 ms", "20 ms", "40 ms", "60 ms", "80 ms", "100 ms"]);
        assert!((end - 0.1).abs() < 1e-9);
        // A 9.3 s run: whole seconds, the axis ends at the first tick past the run.
        let (l, end) = labels(9.3);
        assert_eq!(l, ["0 s", "2 s", "4 s", "6 s", "8 s", "10 s"]);
        assert!((end - 10.0).abs() < 1e-9);
        // A 2-hour run reads in minutes.
        let (l, _) = labels(7200.0);
        assert_eq!(
            l,
            [
                "0 min", "20 min", "40 min", "60 min", "80 min", "100 min", "120 min"
            ]
        );
        // A day: hours.
        let (l, _) = labels(86_400.0);
        assert_eq!(l.last().map(String::as_str), Some("25 h"));
        // Fractions when the step needs them, and never a repeated label.
        for span in [0.0, 0.004, 0.7, 1.5, 3.0, 59.0, 130.0, 1000.0, 20_000.0] {
            let (l, end) = labels(span);
            assert!(l.len() >= 2 && l.len() <= 8, "{span}: {l:?}");
            assert!(end >= span, "{span}: {end}");
            let mut unique = l.clone();
            unique.dedup();
            assert_eq!(unique, l, "{span}");
        }
        assert_eq!(labels(1.5).0, ["0.0 s", "0.5 s", "1.0 s", "1.5 s"]);
    }

    #[test]
    fn escapes_html() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
