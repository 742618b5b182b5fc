//! What changed between two versions of a program: per predictor, the instructions (word by
//! word), the fields (prefix, description, type), the demos (added, removed, changed,
//! reordered) and the LM settings. Rendered as terminal text or Markdown.

use std::fmt::Write as _;

use hone_core::state::{PredictorState, ProgramState};
use hone_core::{Example, FieldRole, Signature};
use serde_json::Value;
use similar::{ChangeTag, TextDiff};

/// A piece of a word diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordChange {
    /// Text in both versions.
    Same(String),
    /// Text only in the old version.
    Removed(String),
    /// Text only in the new version.
    Added(String),
}

/// A change to one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldChange {
    /// A field only in the new version.
    Added {
        /// Input or output.
        role: FieldRole,
        /// The field name.
        name: String,
        /// Its type, as a Python annotation.
        ty: String,
    },
    /// A field only in the old version.
    Removed {
        /// Input or output.
        role: FieldRole,
        /// The field name.
        name: String,
        /// Its type, as a Python annotation.
        ty: String,
    },
    /// A property of a field in both versions changed.
    Changed {
        /// The field name.
        name: String,
        /// `prefix`, `description`, `type`, `role` or `position`.
        property: &'static str,
        /// The old value.
        before: String,
        /// The new value.
        after: String,
    },
}

/// A demo in both versions whose inputs are equal but other values differ.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoChange {
    /// Its position in the new version (0-based).
    pub index: usize,
    /// The changed keys: `(key, old value, new value)`, `None` where absent.
    pub values: Vec<(String, Option<Value>, Option<Value>)>,
}

/// What changed in one predictor present in both versions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PredictorDiff {
    /// The predictor name.
    pub name: String,
    /// The instructions' word diff, if they changed.
    pub instructions: Option<Vec<WordChange>>,
    /// Field changes, in signature order.
    pub fields: Vec<FieldChange>,
    /// Demos only in the new version.
    pub demos_added: Vec<Example>,
    /// Demos only in the old version.
    pub demos_removed: Vec<Example>,
    /// Demos with the same inputs and other outputs.
    pub demos_changed: Vec<DemoChange>,
    /// The same demos in another order (order changes the prompt).
    pub demos_reordered: bool,
    /// The predictor's LM settings, old and new, if they changed.
    pub lm: Option<(Option<Value>, Option<Value>)>,
}

impl PredictorDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.instructions.is_none()
            && self.fields.is_empty()
            && self.demos_added.is_empty()
            && self.demos_removed.is_empty()
            && self.demos_changed.is_empty()
            && !self.demos_reordered
            && self.lm.is_none()
    }
}

/// What changed between two versions of a program.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProgramDiff {
    /// Predictors only in the new version.
    pub added: Vec<String>,
    /// Predictors only in the old version.
    pub removed: Vec<String>,
    /// Predictors in both versions that changed, in the new version's order.
    pub changed: Vec<PredictorDiff>,
}

impl ProgramDiff {
    /// Whether the two versions are the same (as far as the prompt is concerned).
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares two versions of a program.
///
/// ```
/// use hone_core::Signature;
/// use hone_core::state::{ProgramState, ProgramStructure};
/// use hone_export::{WordChange, diff_programs};
///
/// let old = ProgramState::from_structure(&ProgramStructure::single(Signature::parse("q -> a")?));
/// let mut new = old.clone();
/// new.root_mut().unwrap().signature.instructions = "Given the fields `q`, produce the fields `a` briefly.".into();
/// let diff = diff_programs(&old, &new);
/// let words = diff.changed[0].instructions.as_ref().unwrap();
/// assert!(words.iter().any(|w| matches!(w, WordChange::Added(s) if s.contains("briefly"))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diff_programs(old: &ProgramState, new: &ProgramState) -> ProgramDiff {
    let mut diff = ProgramDiff::default();
    for name in old.predictors.keys() {
        if !new.predictors.contains_key(name) {
            diff.removed.push(name.clone());
        }
    }
    for (name, b) in &new.predictors {
        match old.predictors.get(name) {
            None => diff.added.push(name.clone()),
            Some(a) => {
                let d = diff_predictor(name, a, b);
                if !d.is_empty() {
                    diff.changed.push(d);
                }
            }
        }
    }
    diff
}

/// Compares two versions of one predictor.
pub fn diff_predictor(name: &str, old: &PredictorState, new: &PredictorState) -> PredictorDiff {
    let mut d = PredictorDiff {
        name: name.to_owned(),
        ..PredictorDiff::default()
    };
    if old.signature.instructions != new.signature.instructions {
        d.instructions = Some(word_diff(
            &old.signature.instructions,
            &new.signature.instructions,
        ));
    }
    d.fields = diff_fields(&old.signature, &new.signature);
    diff_demos(&mut d, &old.demos, &new.demos, &new.signature);
    if old.lm != new.lm {
        d.lm = Some((old.lm.clone(), new.lm.clone()));
    }
    d
}

/// A word-level diff of two texts (whitespace runs are words too, so the text is kept whole).
pub fn word_diff(old: &str, new: &str) -> Vec<WordChange> {
    let diff = TextDiff::from_words(old, new);
    let mut out: Vec<WordChange> = Vec::new();
    for change in diff.iter_all_changes() {
        let text = change.value();
        match (change.tag(), out.last_mut()) {
            (ChangeTag::Equal, Some(WordChange::Same(s)))
            | (ChangeTag::Delete, Some(WordChange::Removed(s)))
            | (ChangeTag::Insert, Some(WordChange::Added(s))) => s.push_str(text),
            (ChangeTag::Equal, _) => out.push(WordChange::Same(text.to_owned())),
            (ChangeTag::Delete, _) => out.push(WordChange::Removed(text.to_owned())),
            (ChangeTag::Insert, _) => out.push(WordChange::Added(text.to_owned())),
        }
    }
    out
}

fn diff_fields(old: &Signature, new: &Signature) -> Vec<FieldChange> {
    let mut out = Vec::new();
    for (role, f) in old.fields() {
        if new.field(&f.name).is_none() {
            out.push(FieldChange::Removed {
                role,
                name: f.name.clone(),
                ty: f.ty.python_name(),
            });
        }
    }
    let old_order: Vec<&str> = old.field_names();
    let new_order: Vec<&str> = new.field_names();
    for (role, f) in new.fields() {
        let Some((old_role, of)) = old.field(&f.name) else {
            out.push(FieldChange::Added {
                role,
                name: f.name.clone(),
                ty: f.ty.python_name(),
            });
            continue;
        };
        let mut changed = |property: &'static str, before: String, after: String| {
            if before != after {
                out.push(FieldChange::Changed {
                    name: f.name.clone(),
                    property,
                    before,
                    after,
                });
            }
        };
        changed("role", old_role.to_string(), role.to_string());
        changed("type", of.ty.python_name(), f.ty.python_name());
        changed("prefix", of.prefix.clone(), f.prefix.clone());
        changed(
            "description",
            of.shown_description().to_owned(),
            f.shown_description().to_owned(),
        );
        let pos = |order: &[&str]| order.iter().position(|n| *n == f.name);
        let common = |order: &[&str], other: &Signature| {
            order
                .iter()
                .filter(|n| other.field(n).is_some())
                .map(|n| (*n).to_owned())
                .collect::<Vec<_>>()
        };
        let (oc, nc) = (common(&old_order, new), common(&new_order, old));
        let (op, np) = (
            oc.iter().position(|n| *n == f.name),
            nc.iter().position(|n| *n == f.name),
        );
        if op != np && pos(&old_order).is_some() {
            changed(
                "position",
                op.map_or_else(String::new, |p| (p + 1).to_string()),
                np.map_or_else(String::new, |p| (p + 1).to_string()),
            );
        }
    }
    out
}

fn diff_demos(d: &mut PredictorDiff, old: &[Example], new: &[Example], sig: &Signature) {
    let mut unmatched_old: Vec<Option<&Example>> = old.iter().map(Some).collect();
    let mut added: Vec<(usize, &Example)> = Vec::new();
    let mut matched_order = Vec::new();
    for (i, demo) in new.iter().enumerate() {
        match unmatched_old.iter().position(|o| *o == Some(demo)) {
            Some(j) => {
                unmatched_old[j] = None;
                matched_order.push(j);
            }
            None => added.push((i, demo)),
        }
    }
    let mut removed: Vec<&Example> = unmatched_old.into_iter().flatten().collect();
    // A new demo with the same inputs as a removed one is that demo, changed.
    let input_values = |e: &Example| -> Vec<Option<Value>> {
        sig.inputs.iter().map(|f| e.get(&f.name).cloned()).collect()
    };
    for (i, demo) in added {
        let key = input_values(demo);
        if let Some(j) = removed.iter().position(|r| input_values(r) == key) {
            let before = removed.remove(j);
            let mut keys: Vec<&String> = before.fields().keys().collect();
            for k in demo.fields().keys() {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            let values = keys
                .into_iter()
                .filter(|k| before.get(k) != demo.get(k))
                .map(|k| (k.clone(), before.get(k).cloned(), demo.get(k).cloned()))
                .collect();
            d.demos_changed.push(DemoChange { index: i, values });
        } else {
            d.demos_added.push(demo.clone());
        }
    }
    d.demos_removed = removed.into_iter().cloned().collect();
    d.demos_reordered = matched_order.windows(2).any(|w| w[0] > w[1]);
}

/// Colors for the terminal renderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// Plain text: removed words as `[-old-]`, added as `{+new+}`.
    Never,
    /// ANSI colors: removed words red and struck through, added green.
    Always,
}

fn value_text(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => hone_core::adapter::pyfmt::json_dumps(other),
    }
}

fn words_inline(words: &[WordChange], color: Color) -> String {
    let mut out = String::new();
    for w in words {
        match (w, color) {
            (WordChange::Same(s), _) => out.push_str(s),
            (WordChange::Removed(s), Color::Never) => {
                let _ = write!(out, "[-{s}-]");
            }
            (WordChange::Added(s), Color::Never) => {
                let _ = write!(out, "{{+{s}+}}");
            }
            (WordChange::Removed(s), Color::Always) => {
                let _ = write!(out, "\x1b[31;9m{s}\x1b[0m");
            }
            (WordChange::Added(s), Color::Always) => {
                let _ = write!(out, "\x1b[32m{s}\x1b[0m");
            }
        }
    }
    out
}

fn demo_summary(sig_demo: &Example) -> String {
    let text = sig_demo
        .fields()
        .iter()
        .filter(|(k, _)| k.as_str() != "augmented")
        .map(|(k, v)| format!("{k}={}", value_text(&Some(v.clone()))))
        .collect::<Vec<_>>()
        .join(", ");
    let one_line = text.replace('\n', "⏎");
    if one_line.chars().count() > 160 {
        format!("{}…", one_line.chars().take(160).collect::<String>())
    } else {
        one_line
    }
}

/// The diff as terminal text; `old_name`/`new_name` label the two versions.
pub fn render_text(diff: &ProgramDiff, old_name: &str, new_name: &str, color: Color) -> String {
    let paint = |code: &str, s: &str| match color {
        Color::Never => s.to_owned(),
        Color::Always => format!("\x1b[{code}m{s}\x1b[0m"),
    };
    let mut out = String::new();
    let _ = writeln!(out, "--- {old_name}\n+++ {new_name}");
    if diff.is_empty() {
        let _ = writeln!(
            out,
            "no differences in instructions, fields, demos or LM settings"
        );
        return out;
    }
    for name in &diff.removed {
        let _ = writeln!(
            out,
            "{}",
            paint("31", &format!("- predictor {name} (removed)"))
        );
    }
    for name in &diff.added {
        let _ = writeln!(
            out,
            "{}",
            paint("32", &format!("+ predictor {name} (added)"))
        );
    }
    for p in &diff.changed {
        let _ = writeln!(out, "\n{}", paint("1", &format!("predictor {}", p.name)));
        if let Some(words) = &p.instructions {
            let _ = writeln!(out, "  instructions:");
            for line in words_inline(words, color).lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        for f in &p.fields {
            let line = match f {
                FieldChange::Added { role, name, ty } => {
                    paint("32", &format!("+ {role} field {name}: {ty}"))
                }
                FieldChange::Removed { role, name, ty } => {
                    paint("31", &format!("- {role} field {name}: {ty}"))
                }
                FieldChange::Changed {
                    name,
                    property,
                    before,
                    after,
                } => format!(
                    "~ field {name} {property}: {} -> {}",
                    paint("31", &format!("{before:?}")),
                    paint("32", &format!("{after:?}"))
                ),
            };
            let _ = writeln!(out, "  {line}");
        }
        for demo in &p.demos_removed {
            let _ = writeln!(
                out,
                "  {}",
                paint("31", &format!("- demo {}", demo_summary(demo)))
            );
        }
        for demo in &p.demos_added {
            let _ = writeln!(
                out,
                "  {}",
                paint("32", &format!("+ demo {}", demo_summary(demo)))
            );
        }
        for c in &p.demos_changed {
            let _ = writeln!(out, "  ~ demo #{}", c.index + 1);
            for (k, before, after) in &c.values {
                let _ = writeln!(
                    out,
                    "      {k}: {} -> {}",
                    paint("31", &value_json(before)),
                    paint("32", &value_json(after))
                );
            }
        }
        if p.demos_reordered {
            let _ = writeln!(out, "  ~ demos reordered");
        }
        if let Some((before, after)) = &p.lm {
            let _ = writeln!(
                out,
                "  ~ lm: {} -> {}",
                paint("31", &value_text(before)),
                paint("32", &value_text(after))
            );
        }
    }
    out
}

fn md_code(text: &str) -> String {
    let t = text.replace('\n', "⏎").replace('|', "\\|");
    let longest = t.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    let pad = if t.is_empty() || t.starts_with('`') || t.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{t}{pad}{ticks}")
}

/// A demo value as JSON text (`"text"`, `2`, `["a"]`), or `(absent)`.
fn value_json(v: &Option<Value>) -> String {
    v.as_ref().map_or_else(
        || "(absent)".to_owned(),
        hone_core::adapter::pyfmt::json_dumps,
    )
}

/// The diff as a Markdown section for a review.
pub fn render_markdown(diff: &ProgramDiff, old_name: &str, new_name: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Program changes\n\nFrom {} to {}.\n",
        md_code(old_name),
        md_code(new_name)
    );
    if diff.is_empty() {
        let _ = writeln!(
            md,
            "No differences in instructions, fields, demos or LM settings."
        );
        return md;
    }
    for name in &diff.removed {
        let _ = writeln!(md, "- Predictor {} **removed**", md_code(name));
    }
    for name in &diff.added {
        let _ = writeln!(md, "- Predictor {} **added**", md_code(name));
    }
    if !diff.removed.is_empty() || !diff.added.is_empty() {
        md.push('\n');
    }
    for p in &diff.changed {
        let _ = writeln!(md, "## Predictor {}\n", md_code(&p.name));
        if let Some(words) = &p.instructions {
            let text = words_inline(words, Color::Never);
            let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            let _ = writeln!(
                md,
                "### Instructions\n\nRemoved words are `[-like this-]`, added words `{{+like this+}}`.\n\n{fence}text\n{text}\n{fence}\n"
            );
        }
        if !p.fields.is_empty() {
            let _ = writeln!(
                md,
                "### Fields\n\n| Field | Change | Before | After |\n|---|---|---|---|"
            );
            for f in &p.fields {
                let row = match f {
                    FieldChange::Added { role, name, ty } => {
                        format!("| {} | added ({role}) | | {} |", md_code(name), md_code(ty))
                    }
                    FieldChange::Removed { role, name, ty } => {
                        format!(
                            "| {} | removed ({role}) | {} | |",
                            md_code(name),
                            md_code(ty)
                        )
                    }
                    FieldChange::Changed {
                        name,
                        property,
                        before,
                        after,
                    } => format!(
                        "| {} | {property} | {} | {} |",
                        md_code(name),
                        md_code(before),
                        md_code(after)
                    ),
                };
                let _ = writeln!(md, "{row}");
            }
            md.push('\n');
        }
        let demo_changes = p.demos_added.len() + p.demos_removed.len() + p.demos_changed.len();
        if demo_changes > 0 || p.demos_reordered {
            let _ = writeln!(md, "### Demos\n");
            for demo in &p.demos_removed {
                let _ = writeln!(md, "- **Removed:** {}", md_code(&demo_summary(demo)));
            }
            for demo in &p.demos_added {
                let _ = writeln!(md, "- **Added:** {}", md_code(&demo_summary(demo)));
            }
            for c in &p.demos_changed {
                let _ = writeln!(md, "- **Changed** demo {}:", c.index + 1);
                for (k, before, after) in &c.values {
                    let _ = writeln!(
                        md,
                        "  - {}: {} → {}",
                        md_code(k),
                        md_code(&value_json(before)),
                        md_code(&value_json(after))
                    );
                }
            }
            if p.demos_reordered {
                let _ = writeln!(md, "- The demos' order changed (order changes the prompt).");
            }
            md.push('\n');
        }
        if let Some((before, after)) = &p.lm {
            let _ = writeln!(
                md,
                "### LM settings\n\n{} → {}\n",
                md_code(&value_text(before)),
                md_code(&value_text(after))
            );
        }
    }
    md
}
