//! The learnable tasks the simulated model recognises in a DSPy prompt, and
//! how it answers them.
//!
//! * **arithmetic** — an input holds an expression ("What is 17 + 25?",
//!   "Compute 3 * 14 - 5", "12 times 7"); the answer is its value.
//! * **sentiment** — an output is a sentiment label (a Literal with
//!   positive/negative choices, or a field named `sentiment`); the truth is
//!   the keyword lexicon in [`sentiment`].
//! * **generic** — anything else: a deterministic, type-correct answer
//!   derived from the inputs.
//!
//! For arithmetic and sentiment the model is right with the probability from
//! [`skill::accuracy`], otherwise plausibly wrong.

pub mod arithmetic;
pub mod ideas;
pub mod sentiment;
pub mod skill;

use serde_json::{Map, Value, json};

use crate::hash::Draw;
use crate::prompt::{Demo, DspyPrompt, FieldSpec, FieldType};
use crate::schema;
use arithmetic::Expr;

/// The kind of a recognised task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// Arithmetic questions.
    Arithmetic,
    /// Sentiment classification.
    Sentiment,
    /// Anything else.
    Generic,
}

impl TaskKind {
    /// A lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Arithmetic => "arithmetic",
            TaskKind::Sentiment => "sentiment",
            TaskKind::Generic => "generic",
        }
    }
}

/// A task recognised in one prompt, with its true answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// An arithmetic question.
    Arithmetic {
        /// The input holding the question.
        question_field: String,
        /// The output receiving the number.
        answer_field: String,
        /// The expression found.
        expr: Expr,
        /// Its value.
        truth: f64,
    },
    /// A sentiment classification.
    Sentiment {
        /// The input holding the text.
        text_field: String,
        /// The output receiving the label.
        label_field: String,
        /// Allowed labels.
        labels: Vec<String>,
        /// The correct label.
        truth: String,
        /// Whether the text is sarcastic.
        sarcastic: bool,
    },
    /// Anything else.
    Generic,
}

const QUESTION_NAMES: &[&str] = &[
    "question",
    "problem",
    "expression",
    "query",
    "math",
    "input",
];
const TEXT_NAMES: &[&str] = &[
    "review", "text", "sentence", "comment", "content", "tweet", "document", "input",
];
const SENTIMENT_NAMES: &[&str] = &[
    "sentiment",
    "label",
    "polarity",
    "classification",
    "category",
];

/// The primary answer field: the first output that is not reasoning.
pub fn primary_output(prompt: &DspyPrompt) -> Option<&FieldSpec> {
    prompt
        .output_fields
        .iter()
        .find(|f| !skill::REASONING_FIELDS.contains(&f.name.as_str()))
}

fn ordered_inputs<'a>(prompt: &'a DspyPrompt, preferred: &[&str]) -> Vec<&'a str> {
    let mut names: Vec<&str> = prompt
        .input_fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    names.sort_by_key(|n| preferred.iter().position(|p| p == n).unwrap_or(usize::MAX));
    names.retain(|n| *n != "trajectory");
    names
}

impl Task {
    /// Recognises the task of a prompt.
    pub fn detect(prompt: &DspyPrompt) -> Task {
        if let Some(t) = Self::detect_sentiment(prompt) {
            return t;
        }
        if let Some(t) = Self::detect_arithmetic(prompt) {
            return t;
        }
        Task::Generic
    }

    fn detect_arithmetic(prompt: &DspyPrompt) -> Option<Task> {
        let answer = prompt
            .output_fields
            .iter()
            .filter(|f| !skill::REASONING_FIELDS.contains(&f.name.as_str()))
            .find(|f| f.kind.is_numeric())
            .or_else(|| primary_output(prompt))?;
        if matches!(answer.kind, FieldType::Bool | FieldType::Literal(_)) {
            return None;
        }
        for name in ordered_inputs(prompt, QUESTION_NAMES) {
            let Some(text) = prompt.input(name) else {
                continue;
            };
            if let Some(expr) = arithmetic::find_expression(text)
                && let Some(truth) = expr.eval()
            {
                return Some(Task::Arithmetic {
                    question_field: name.to_owned(),
                    answer_field: answer.name.clone(),
                    expr,
                    truth,
                });
            }
        }
        None
    }

    fn detect_sentiment(prompt: &DspyPrompt) -> Option<Task> {
        let field = prompt
            .output_fields
            .iter()
            .find(|f| match f.kind.choices() {
                Some(labels) => sentiment::is_sentiment_labels(labels),
                None => {
                    SENTIMENT_NAMES.contains(&f.name.as_str())
                        && matches!(f.kind, FieldType::Str | FieldType::Any)
                }
            })?;
        if field.kind.choices().is_none() && field.name != "sentiment" {
            return None;
        }
        let labels: Vec<String> = field
            .kind
            .choices()
            .map(<[String]>::to_vec)
            .unwrap_or_else(|| vec!["positive".into(), "negative".into(), "neutral".into()]);
        let text_field = ordered_inputs(prompt, TEXT_NAMES)
            .into_iter()
            .find(|n| prompt.input(n).is_some_and(|t| !t.trim().is_empty()))?;
        let text = prompt.input(text_field).unwrap_or("");
        let truth = Self::sentiment_truth(text, &labels)?;
        Some(Task::Sentiment {
            text_field: text_field.to_owned(),
            label_field: field.name.clone(),
            labels,
            truth,
            sarcastic: sentiment::is_sarcastic(text),
        })
    }

    fn sentiment_truth(text: &str, labels: &[String]) -> Option<String> {
        let s = sentiment::classify(text);
        sentiment::map_label(s, labels).or_else(|| {
            // No neutral label: lean on the sign of the score.
            let fallback = if sentiment::score(text) >= 0 {
                sentiment::Sentiment::Positive
            } else {
                sentiment::Sentiment::Negative
            };
            sentiment::map_label(fallback, labels)
        })
    }

    /// The kind of this task.
    pub fn kind(&self) -> TaskKind {
        match self {
            Task::Arithmetic { .. } => TaskKind::Arithmetic,
            Task::Sentiment { .. } => TaskKind::Sentiment,
            Task::Generic => TaskKind::Generic,
        }
    }

    /// Whether a demo's output is right for its input; `None` when the demo
    /// cannot be judged (missing fields, generic task).
    pub fn check_demo(&self, demo: &Demo) -> Option<bool> {
        match self {
            Task::Arithmetic {
                question_field,
                answer_field,
                ..
            } => {
                let truth = arithmetic::solve(demo.input(question_field)?)?;
                let given = arithmetic::parse_answer(demo.output(answer_field)?)?;
                Some(arithmetic::same_value(truth, given))
            }
            Task::Sentiment {
                text_field,
                label_field,
                labels,
                ..
            } => {
                let truth = Self::sentiment_truth(demo.input(text_field)?, labels)?;
                let given = demo.output(label_field)?;
                Some(given.trim().eq_ignore_ascii_case(&truth))
            }
            Task::Generic => None,
        }
    }

    /// Output values for every output field of `prompt`, typed as JSON.
    /// `correct` decides whether the task answer is the true one.
    pub fn answer(
        &self,
        prompt: &DspyPrompt,
        correct: bool,
        draw: &mut Draw,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        let (main_field, main_value, rationale) = match self {
            Task::Arithmetic {
                answer_field,
                expr,
                truth,
                ..
            } => {
                let value = if correct {
                    *truth
                } else {
                    arithmetic::wrong_answer(*truth, draw)
                };
                let shown = arithmetic::format_number(value);
                let rationale = format!("We compute {expr} step by step: {expr} = {shown}.");
                (answer_field.clone(), number_value(value), rationale)
            }
            Task::Sentiment {
                label_field,
                labels,
                truth,
                text_field,
                ..
            } => {
                let label = if correct || labels.len() < 2 {
                    truth.clone()
                } else {
                    let others: Vec<&String> = labels.iter().filter(|l| *l != truth).collect();
                    draw.pick(&others)
                        .map(|s| (*s).clone())
                        .unwrap_or_else(|| truth.clone())
                };
                let text = prompt.input(text_field).unwrap_or("");
                let rationale = sentiment_rationale(text, &label);
                (label_field.clone(), Value::String(label), rationale)
            }
            Task::Generic => {
                let field = primary_output(prompt)
                    .map(|f| f.name.clone())
                    .unwrap_or_default();
                let value = generic_value(prompt, &field);
                let rationale = format!(
                    "The inputs mention {}; the answer follows from them.",
                    summarize(&prompt.input_text(), 12)
                );
                (field, value, rationale)
            }
        };
        for f in &prompt.output_fields {
            let value = if f.name == main_field {
                main_value.clone()
            } else if skill::REASONING_FIELDS.contains(&f.name.as_str()) {
                Value::String(rationale.clone())
            } else {
                self.side_value(prompt, f, correct)
            };
            let schema = f.kind.to_schema();
            out.insert(f.name.clone(), schema::conform(&value, &schema, &schema));
        }
        out
    }

    /// Values for outputs other than the answer and the reasoning.
    fn side_value(&self, prompt: &DspyPrompt, f: &FieldSpec, correct: bool) -> Value {
        let name = f.name.to_lowercase();
        if name.contains("sarcas") {
            if let Task::Sentiment { sarcastic, .. } = self {
                return Value::Bool(*sarcastic == correct);
            }
            return Value::Bool(false);
        }
        if name.contains("confidence") || name.contains("probability") {
            return json!(if correct { 0.9 } else { 0.6 });
        }
        generic_value(prompt, &f.name)
    }
}

fn number_value(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

fn sentiment_rationale(text: &str, label: &str) -> String {
    let low = text.to_lowercase();
    let cue = sentiment::POSITIVE
        .iter()
        .chain(sentiment::NEGATIVE)
        .find(|w| low.split(|c: char| !c.is_alphanumeric()).any(|x| x == **w));
    match cue {
        Some(w) => format!("The review uses the word \"{w}\"; overall the sentiment is {label}."),
        None => format!(
            "The review states facts without strong opinion words; the sentiment is {label}."
        ),
    }
}

/// The first `n` words of `text`.
pub fn summarize(text: &str, n: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().take(n).collect();
    if words.is_empty() {
        "nothing in particular".to_owned()
    } else {
        format!("\"{}\"", words.join(" "))
    }
}

/// A deterministic, type-correct value for an output of a prompt the model
/// does not really understand.
pub fn generic_value(prompt: &DspyPrompt, field: &str) -> Value {
    let Some(spec) = prompt.output_field(field) else {
        return Value::String(String::new());
    };
    let schema = spec.kind.to_schema();
    match &spec.kind {
        FieldType::Str | FieldType::Any => Value::String(generic_text(prompt)),
        FieldType::Optional(inner) if matches!(**inner, FieldType::Str | FieldType::Any) => {
            Value::String(generic_text(prompt))
        }
        FieldType::Literal(choices) => {
            let text = prompt.input_text().to_lowercase();
            let hit = choices.iter().find(|c| text.contains(&c.to_lowercase()));
            Value::String(hit.or(choices.first()).cloned().unwrap_or_default())
        }
        FieldType::Int => json!(1),
        FieldType::Float => json!(0.5),
        FieldType::Bool => json!(true),
        _ => schema::default_for(&schema, &schema),
    }
}

/// A short answer for a free-text output: a sentence from a `context` input
/// that shares the most words with the question, or the question echoed.
fn generic_text(prompt: &DspyPrompt) -> String {
    let question = prompt
        .input("question")
        .or_else(|| prompt.inputs.values().find_map(Value::as_str))
        .unwrap_or("");
    let q_words: Vec<String> = question
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
        .map(str::to_owned)
        .collect();
    if let Some(context) = prompt.input("context").or_else(|| prompt.input("passages")) {
        // A capitalised word from the best matching sentence that the question does not contain.
        let best = context
            .split(['.', '\n', '"'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .max_by_key(|s| {
                let low = s.to_lowercase();
                q_words.iter().filter(|w| low.contains(w.as_str())).count()
            });
        if let Some(sentence) = best {
            let entity = sentence
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
                .find(|w| !question.contains(*w));
            return entity
                .map(str::to_owned)
                .unwrap_or_else(|| sentence.to_owned());
        }
    }
    let words: Vec<&str> = question.split_whitespace().take(12).collect();
    if words.is_empty() {
        "No answer.".to_owned()
    } else {
        format!(
            "Regarding {}: see above.",
            words.join(" ").trim_end_matches('?')
        )
    }
}
