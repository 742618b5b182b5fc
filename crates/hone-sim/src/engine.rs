//! The simulated model: turns a chat request into choices.
//!
//! Every draw is seeded from a hash of the server seed and the canonical
//! request (messages, tools, response format). With `temperature > 0` the
//! request `seed`, the temperature, the choice index and the sample number
//! are mixed in too, so samples vary; at temperature 0 all choices of a
//! prompt are the same.
//!
//! The sample number lets clients that draw `n` samples by sending the same
//! body `n` times (DSPy does) get different samples: the server numbers
//! repeated identical sampling requests that carry no `seed`. A request with
//! a `seed` always gets sample 0, so the same body and seed give the same
//! answer.

use serde_json::{Map, Value, json};

use crate::config::SimConfig;
use crate::hash::{Draw, StableHasher, hash_str};
use crate::meta;
use crate::openai::{ChatRequest, Message};
use crate::prompt::{self, DspyPrompt};
use crate::react;
use crate::render;
use crate::schema;
use crate::tasks::{Task, TaskKind, arithmetic, ideas, sentiment, skill};
use crate::tools::{self, ToolRole};

/// A tool call in an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallOut {
    /// Call id (`call_...`).
    pub id: String,
    /// Function name.
    pub name: String,
    /// Arguments as JSON text.
    pub arguments: String,
}

/// One generated choice.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Text content (`None` for a pure tool-call message).
    pub content: Option<String>,
    /// Tool calls.
    pub tool_calls: Vec<ToolCallOut>,
    /// `stop`, `length` or `tool_calls`.
    pub finish_reason: &'static str,
}

/// The model's answer to a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The choices, `n` of them.
    pub choices: Vec<Choice>,
    /// Prompt tokens (≈ characters / 4).
    pub prompt_tokens: u64,
    /// Completion tokens of all choices.
    pub completion_tokens: u64,
    /// What the model took the request for (`arithmetic`, `meta`, `react`, ...).
    pub kind: String,
    /// Probability of a correct answer, for task prompts.
    pub accuracy: Option<f64>,
}

/// Approximate token count: characters / 4, at least 1 for non-empty text.
pub fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// Hash of what makes two requests "the same prompt".
pub fn request_hasher(seed: u64, req: &ChatRequest, messages: &[Message]) -> StableHasher {
    let mut h = StableHasher::new();
    h.u64(seed);
    for m in messages {
        h.str(&m.role).str(&m.text);
        for c in &m.tool_calls {
            h.str(&c.name).str(&c.arguments);
        }
        if let Some(id) = &m.tool_call_id {
            h.str(id);
        }
    }
    for t in req.tools.iter().flatten() {
        h.str(&t.function.name);
    }
    if let Some(rf) = &req.response_format {
        h.str(&rf.to_string());
    }
    h
}

/// Generates the answer to a chat request (sample 0).
pub fn complete(cfg: &SimConfig, req: &ChatRequest) -> Completion {
    complete_sample(cfg, req, 0)
}

/// Generates the answer to a chat request as its `sample`-th repetition
/// (only matters when `temperature > 0`).
pub fn complete_sample(cfg: &SimConfig, req: &ChatRequest, sample: u64) -> Completion {
    let messages = req.normalized_messages();
    let base = request_hasher(cfg.seed, req, &messages);
    let parsed = prompt::parse(&messages);
    let temperature = req.temperature();
    let mut kind = String::from("chat");
    let mut accuracy = None;
    let mut choices = Vec::new();
    for i in 0..req.choices() {
        let mut h = base.clone();
        if temperature > 0.0 {
            h.str(&req.seed.as_ref().map(Value::to_string).unwrap_or_default())
                .u64(temperature.to_bits())
                .u64(sample)
                .u64(u64::from(i));
        }
        let mut draw = Draw::from_hasher(&h);
        let (choice, k, acc) = one_choice(cfg, req, &messages, parsed.as_ref(), &mut draw, &h);
        if i == 0 {
            kind = k;
            accuracy = acc;
        }
        choices.push(postprocess(req, choice));
    }
    let prompt_tokens = messages
        .iter()
        .map(|m| tokens(&m.text) + 4)
        .sum::<u64>()
        .max(1);
    let completion_tokens = choices
        .iter()
        .map(|c| {
            tokens(c.content.as_deref().unwrap_or(""))
                + c.tool_calls
                    .iter()
                    .map(|t| tokens(&t.name) + tokens(&t.arguments))
                    .sum::<u64>()
        })
        .sum::<u64>()
        .max(1);
    Completion {
        choices,
        prompt_tokens,
        completion_tokens,
        kind,
        accuracy,
    }
}

fn text_choice(content: String) -> Choice {
    Choice {
        content: Some(content),
        tool_calls: Vec::new(),
        finish_reason: "stop",
    }
}

fn one_choice(
    cfg: &SimConfig,
    req: &ChatRequest,
    messages: &[Message],
    parsed: Option<&DspyPrompt>,
    draw: &mut Draw,
    h: &StableHasher,
) -> (Choice, String, Option<f64>) {
    if let Some(choice) = tool_turn(req, messages, parsed, h) {
        return (choice, "tool_calls".into(), None);
    }
    let schema = req.json_schema();
    if let Some(p) = parsed {
        let adapter = if req.wants_json() {
            prompt::AdapterKind::Json
        } else {
            p.adapter
        };
        if meta::is_meta(p) {
            let values = meta::answer(&cfg.task, p, draw);
            return (
                text_choice(render::render(adapter, &values, schema)),
                "meta".into(),
                None,
            );
        }
        if react::is_react_step(p) {
            let values = react::step(p);
            return (
                text_choice(render::render(adapter, &values, schema)),
                "react".into(),
                None,
            );
        }
        let task = Task::detect(p);
        let acc = skill::accuracy(&cfg.task, p, &task);
        let mut correct = draw.chance(acc.p);
        if let (Task::Arithmetic { truth, .. }, Some(obs)) =
            (&task, react::last_numeric_observation(p))
        {
            correct = arithmetic::same_value(*truth, obs);
        }
        let values = task.answer(p, correct, draw);
        let kind = task.kind().name().to_owned();
        let p_value = (task.kind() != TaskKind::Generic).then_some(acc.p);
        return (
            text_choice(render::render(adapter, &values, schema)),
            kind,
            p_value,
        );
    }
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.text.as_str())
        .unwrap_or("");
    if meta::is_gepa_reflection(last_user) {
        return (
            text_choice(meta::gepa_reflection(&cfg.task, last_user, draw)),
            "gepa_reflection".into(),
            None,
        );
    }
    plain_chat(cfg, req, messages, last_user, draw)
}

/// A conversation without DSPy structure.
fn plain_chat(
    cfg: &SimConfig,
    req: &ChatRequest,
    messages: &[Message],
    last_user: &str,
    draw: &mut Draw,
) -> (Choice, String, Option<f64>) {
    let system: String = messages
        .iter()
        .filter(|m| m.role == "system")
        .map(|m| m.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let t = &cfg.task;
    let (answer, kind, p): (Value, &str, Option<f64>) =
        if let Some(expr) = arithmetic::find_expression(last_user) {
            let truth = expr.eval().unwrap_or(0.0);
            let bonus = ideas::instruction_score(TaskKind::Arithmetic, &system)
                .min(t.instruction_bonus_cap);
            let p = (t.base_accuracy + bonus).clamp(t.min_accuracy, t.max_accuracy);
            let v = if draw.chance(p) {
                truth
            } else {
                arithmetic::wrong_answer(truth, draw)
            };
            (json!(arithmetic::format_number(v)), "arithmetic", Some(p))
        } else if last_user.to_lowercase().contains("sentiment") {
            let label = sentiment::classify(last_user).label();
            (json!(label), "sentiment", None)
        } else {
            let openers = ["You said", "Noted", "Understood", "Echo"];
            let opener = if req.temperature() > 0.0 {
                draw.pick(&openers).copied().unwrap_or("You said")
            } else {
                openers[(hash_str(last_user) % openers.len() as u64) as usize]
            };
            let words: Vec<&str> = last_user.split_whitespace().take(40).collect();
            (
                json!(format!("{opener}: {}", words.join(" "))),
                "echo",
                None,
            )
        };
    let content = if req.wants_json() {
        let mut m = Map::new();
        m.insert("answer".into(), answer);
        render::json(&m, req.json_schema())
    } else {
        match (&answer, kind) {
            (Value::String(s), "arithmetic") => format!("The answer is {s}."),
            (Value::String(s), _) => s.clone(),
            (other, _) => other.to_string(),
        }
    };
    (text_choice(content), kind.to_owned(), p)
}

/// Native tool calling for arithmetic: the next round of calls, or the final
/// answer once every planned round has results.
fn tool_turn(
    req: &ChatRequest,
    messages: &[Message],
    parsed: Option<&DspyPrompt>,
    h: &StableHasher,
) -> Option<Choice> {
    let specs = req.tools.as_ref().filter(|t| !t.is_empty())?;
    let choice = req.tool_choice.as_ref();
    if choice.and_then(Value::as_str) == Some("none") {
        return None;
    }
    let forced_name = choice
        .and_then(|c| c.get("function"))
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str);
    let required = choice.and_then(Value::as_str) == Some("required") || forced_name.is_some();
    let roles: Vec<ToolRole> = specs
        .iter()
        .filter(|s| forced_name.is_none_or(|n| n == s.function.name))
        .filter_map(|s| tools::classify(&s.function.name, &tools::param_names(s)))
        .collect();
    let last_user_idx = messages.iter().rposition(|m| m.role == "user")?;
    let after = &messages[last_user_idx + 1..];
    let rounds_done = after
        .iter()
        .filter(|m| m.role == "assistant" && !m.tool_calls.is_empty())
        .count();
    let question = match parsed {
        Some(p) => p.input_text(),
        None => messages[last_user_idx].text.clone(),
    };
    let expr = arithmetic::find_expression(&question);
    let plan = expr
        .as_ref()
        .and_then(|e| tools::plan(e, &roles, req.parallel_tool_calls.unwrap_or(true)));
    let call_id = |round: usize, k: usize| {
        let mut hh = h.clone();
        hh.u64(round as u64).u64(k as u64);
        format!("call_{:016x}", hh.finish())
    };
    match plan {
        Some(rounds) if rounds_done < rounds.len() => {
            let calls = rounds[rounds_done]
                .iter()
                .enumerate()
                .map(|(k, c)| ToolCallOut {
                    id: call_id(rounds_done, k),
                    name: c.name.clone(),
                    arguments: c.arguments.to_string(),
                })
                .collect();
            Some(Choice {
                content: None,
                tool_calls: calls,
                finish_reason: "tool_calls",
            })
        }
        Some(_) => {
            // All rounds answered: the last tool result is the value.
            let result = after
                .iter()
                .rev()
                .find(|m| m.role == "tool")
                .map(|m| m.text.trim().to_owned())
                .unwrap_or_default();
            let value = arithmetic::parse_answer(&result)
                .or_else(|| expr.as_ref().and_then(|e| e.eval()))
                .unwrap_or(0.0);
            let shown = arithmetic::format_number(value);
            let content = match parsed {
                Some(p) => {
                    let mut values = Map::new();
                    for f in &p.output_fields {
                        let v = if skill::REASONING_FIELDS.contains(&f.name.as_str()) {
                            json!(format!("The tool computed the result: {shown}."))
                        } else if f.kind.is_numeric()
                            || crate::tasks::primary_output(p).is_some_and(|pf| pf.name == f.name)
                        {
                            json!(value)
                        } else {
                            crate::tasks::generic_value(p, &f.name)
                        };
                        let s = f.kind.to_schema();
                        values.insert(f.name.clone(), schema::conform(&v, &s, &s));
                    }
                    let adapter = if req.wants_json() {
                        prompt::AdapterKind::Json
                    } else {
                        p.adapter
                    };
                    render::render(adapter, &values, req.json_schema())
                }
                None if req.wants_json() => {
                    let mut m = Map::new();
                    m.insert("answer".into(), json!(value));
                    render::json(&m, req.json_schema())
                }
                None => format!("The answer is {shown}."),
            };
            Some(text_choice(content))
        }
        None if required && rounds_done == 0 => {
            let spec = specs
                .iter()
                .find(|s| forced_name.is_none_or(|n| n == s.function.name))?;
            Some(Choice {
                content: None,
                tool_calls: vec![ToolCallOut {
                    id: call_id(0, 0),
                    name: spec.function.name.clone(),
                    arguments: tools::default_arguments(spec).to_string(),
                }],
                finish_reason: "tool_calls",
            })
        }
        None => None,
    }
}

/// Applies stop sequences and the token limit.
fn postprocess(req: &ChatRequest, mut c: Choice) -> Choice {
    let Some(content) = c.content.as_mut() else {
        return c;
    };
    for s in req.stop_sequences() {
        if let Some(i) = content.find(&s) {
            content.truncate(i);
        }
    }
    if let Some(max) = req.max_tokens()
        && tokens(content) > max
    {
        let keep: String = content
            .chars()
            .take((max as usize).saturating_mul(4))
            .collect();
        *content = keep;
        c.finish_reason = "length";
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arithmetic_request(extra: Value) -> ChatRequest {
        let system = "Your input fields are:\n1. `question` (str):\nYour output fields are:\n1. `answer` (int):\nAll interactions will be structured in the following way, with the appropriate values filled in.\n\n[[ ## question ## ]]\n{question}\n\n[[ ## answer ## ]]\n{answer}        # note: the value you produce must be a single int value\n\n[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        Answer.";
        let mut body = json!({"messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": "[[ ## question ## ]]\nWhat is 48 + 19?"}
        ]});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        ChatRequest::from_json(body.to_string().as_bytes()).expect("valid")
    }

    fn answers(c: &Completion) -> Vec<String> {
        c.choices
            .iter()
            .map(|c| c.content.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn sampling_mixes_right_and_wrong_answers() {
        let cfg = SimConfig::default();
        let c = complete(
            &cfg,
            &arithmetic_request(json!({"n": 40, "temperature": 1.0, "seed": 3})),
        );
        let right = answers(&c).iter().filter(|a| a.contains("\n67\n")).count();
        assert!((5..35).contains(&right), "{right} of 40 right");
        let s1 = complete_sample(
            &cfg,
            &arithmetic_request(json!({"n": 1, "temperature": 1.0})),
            1,
        );
        let s2 = complete_sample(
            &cfg,
            &arithmetic_request(json!({"n": 1, "temperature": 1.0})),
            1,
        );
        assert_eq!(answers(&s1), answers(&s2));
        let t0 = complete(&cfg, &arithmetic_request(json!({"n": 5})));
        assert!(answers(&t0).windows(2).all(|w| w[0] == w[1]));
    }
}
