//! Turning a [`Completion`] into OpenAI response bodies: a
//! `chat.completion` object or a stream of `chat.completion.chunk` events.

use serde_json::{Value, json};

use crate::engine::{Choice, Completion};
use crate::hash::StableHasher;

/// Per-token log probabilities for `content` (`logprobs: true`).
fn logprobs(content: &str) -> Value {
    let tokens: Vec<Value> = split_tokens(content)
        .into_iter()
        .map(|t| {
            let h = StableHasher::new().str(t).finish();
            let lp = -((h % 1000) as f64) / 2000.0;
            json!({"token": t, "logprob": lp, "bytes": t.as_bytes(), "top_logprobs": []})
        })
        .collect();
    json!({"content": tokens, "refusal": null})
}

/// Splits text into word-ish tokens that concatenate back to it.
pub fn split_tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if i > start && (c == ' ' || c == '\n') {
            out.push(&text[start..i]);
            start = i;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn tool_calls_json(c: &Choice) -> Value {
    Value::Array(
        c.tool_calls
            .iter()
            .map(|t| {
                json!({
                    "id": t.id,
                    "type": "function",
                    "function": {"name": t.name, "arguments": t.arguments},
                })
            })
            .collect(),
    )
}

fn usage(c: &Completion) -> Value {
    json!({
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "total_tokens": c.prompt_tokens + c.completion_tokens,
    })
}

/// The `chat.completion` object.
pub fn completion_json(
    c: &Completion,
    id: &str,
    created: u64,
    model: &str,
    with_logprobs: bool,
) -> Value {
    let choices: Vec<Value> = c
        .choices
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let mut message = json!({
                "role": "assistant",
                "content": ch.content,
                "refusal": null,
            });
            if !ch.tool_calls.is_empty() {
                message["tool_calls"] = tool_calls_json(ch);
            }
            let lp = if with_logprobs {
                logprobs(ch.content.as_deref().unwrap_or(""))
            } else {
                Value::Null
            };
            json!({"index": i, "message": message, "logprobs": lp, "finish_reason": ch.finish_reason})
        })
        .collect();
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_hone_sim",
        "choices": choices,
        "usage": usage(c),
    })
}

/// The SSE events of a streamed answer, each a full `data: ...\n\n` frame,
/// ending with `data: [DONE]`.
pub fn stream_events(
    c: &Completion,
    id: &str,
    created: u64,
    model: &str,
    include_usage: bool,
    with_logprobs: bool,
) -> Vec<String> {
    let chunk = |choices: Value, usage: Value| {
        let mut v = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_hone_sim",
            "choices": choices,
        });
        if include_usage {
            v["usage"] = usage;
        }
        format!("data: {v}\n\n")
    };
    let mut events = Vec::new();
    for (i, ch) in c.choices.iter().enumerate() {
        events.push(chunk(
            json!([{"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null}]),
            Value::Null,
        ));
        if let Some(content) = &ch.content {
            for piece in split_tokens(content).chunks(3) {
                let text: String = piece.concat();
                let lp = if with_logprobs {
                    logprobs(&text)
                } else {
                    Value::Null
                };
                events.push(chunk(
                    json!([{"index": i, "delta": {"content": text}, "logprobs": lp, "finish_reason": null}]),
                    Value::Null,
                ));
            }
        }
        for (k, t) in ch.tool_calls.iter().enumerate() {
            events.push(chunk(
                json!([{"index": i, "delta": {"tool_calls": [{
                    "index": k, "id": t.id, "type": "function",
                    "function": {"name": t.name, "arguments": t.arguments}
                }]}, "logprobs": null, "finish_reason": null}]),
                Value::Null,
            ));
        }
        events.push(chunk(
            json!([{"index": i, "delta": {}, "logprobs": null, "finish_reason": ch.finish_reason}]),
            Value::Null,
        ));
    }
    if include_usage {
        events.push(chunk(json!([]), usage(c)));
    }
    events.push("data: [DONE]\n\n".to_owned());
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_concatenate_back() {
        let t = "[[ ## answer ## ]]\n42\n\n[[ ## completed ## ]]";
        assert_eq!(split_tokens(t).concat(), t);
    }
}
