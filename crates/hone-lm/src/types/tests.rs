use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::embeddings::*;
use super::message::*;
use super::request::*;
use super::response::*;
use super::stream::*;

/// Parses `input`, serializes it back, and checks the JSON is unchanged.
fn round_trip<T: Serialize + DeserializeOwned + std::fmt::Debug + PartialEq>(input: Value) -> T {
    let parsed: T = serde_json::from_value(input.clone()).unwrap();
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(back, input, "round trip changed the JSON");
    let again: T = serde_json::from_value(back).unwrap();
    assert_eq!(again, parsed);
    parsed
}

#[test]
fn messages_of_every_role_round_trip() {
    round_trip::<Message>(json!({"role": "system", "content": "be brief"}));
    round_trip::<Message>(json!({"role": "developer", "content": "be brief"}));
    round_trip::<Message>(json!({"role": "user", "content": "hi", "name": "ann"}));
    round_trip::<Message>(json!({"role": "tool", "content": "42", "tool_call_id": "call_1"}));
    let m = round_trip::<Message>(json!({
        "role": "assistant", "content": null,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{\"a\":1}"}}],
        "refusal": "no", "audio": {"id": "x"}
    }));
    assert_eq!(m.tool_calls.unwrap()[0].function.name, "add");
    assert_eq!(m.extra["audio"]["id"], "x");
    let m = round_trip::<Message>(json!({"role": "critic", "content": "meh"}));
    assert_eq!(m.role, Role::Other("critic".into()));
}

#[test]
fn content_parts_round_trip() {
    let m = round_trip::<Message>(json!({"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": "..", "format": "wav"}}
    ]}));
    let Some(Content::Parts(parts)) = &m.content else {
        panic!("expected parts")
    };
    assert!(matches!(parts[1], ContentPart::ImageUrl { .. }));
    assert!(matches!(parts[2], ContentPart::Other(_)));
    assert_eq!(m.text().as_deref(), Some("what is this?"));
}

#[test]
fn full_request_round_trips() {
    let req = round_trip::<ChatRequest>(json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "n": 2, "temperature": 0.7, "top_p": 0.9, "max_tokens": 100, "max_completion_tokens": 200,
        "stop": ["\n\n", "END"], "seed": 7, "presence_penalty": 0.5, "frequency_penalty": -0.5,
        "logit_bias": {"50256": -100.0}, "user": "u1",
        "tools": [{"type": "function", "function": {"name": "add", "description": "adds",
            "parameters": {"type": "object"}, "strict": true}}],
        "tool_choice": {"type": "function", "function": {"name": "add"}},
        "parallel_tool_calls": false,
        "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": true}},
        "logprobs": true, "top_logprobs": 3,
        "stream": true, "stream_options": {"include_usage": true},
        "reasoning_effort": "low"
    }));
    assert_eq!(req.extra["reasoning_effort"], "low");
    assert_eq!(
        req.stop,
        Some(Stop::Many(vec!["\n\n".into(), "END".into()]))
    );
    round_trip::<ChatRequest>(json!({"messages": [], "stop": "x", "tool_choice": "auto",
        "response_format": {"type": "json_object"}}));
    round_trip::<ChatRequest>(json!({"messages": [], "response_format": {"type": "text"}}));
}

#[test]
fn helpers_serialize_as_documented() {
    assert_eq!(
        serde_json::to_value(ToolChoice::required()).unwrap(),
        json!("required")
    );
    assert_eq!(
        serde_json::to_value(ToolChoice::function("f")).unwrap(),
        json!({"type": "function", "function": {"name": "f"}})
    );
    let rf = ResponseFormat::json_schema("x", json!({"type": "object"}));
    assert_eq!(
        serde_json::to_value(rf).unwrap()["json_schema"]["strict"],
        true
    );
    let tool = Tool::function("add", "adds", json!({"type": "object"}));
    assert_eq!(serde_json::to_value(tool).unwrap()["type"], "function");
}

#[test]
fn response_round_trips_and_tolerates_unknowns() {
    let resp = round_trip::<ChatResponse>(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"},
            "finish_reason": "stop",
            "logprobs": {"content": [{"token": "4", "logprob": -0.1, "bytes": [52],
                "top_logprobs": [{"token": "4", "logprob": -0.1}]}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0, "audio_tokens": 0}},
        "system_fingerprint": "fp", "service_tier": "default"
    }))
    .clone();
    assert_eq!(resp.text().as_deref(), Some("4"));
    assert_eq!(resp.finish_reasons(), vec!["stop"]);
    assert_eq!(resp.extra["service_tier"], "default");
    assert!(!resp.meta.cached);
    let odd: ChatResponse = serde_json::from_value(json!({"choices": [
        {"message": {"role": "assistant", "content": "x", "refusal": null}, "finish_reason": "eos"}]}))
    .unwrap();
    assert_eq!(
        odd.choices[0].finish_reason,
        Some(FinishReason::Other("eos".into()))
    );
}

#[test]
fn chunks_round_trip_and_accumulate() {
    let chunks = [
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]}),
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": "add", "arguments": ""}}]}, "finish_reason": null}]}),
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]}, "finish_reason": null}]}),
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}, "finish_reason": "tool_calls"}]}),
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}),
    ];
    let mut acc = StreamAccumulator::default();
    for chunk in chunks {
        acc.push(&round_trip::<ChatChunk>(chunk));
    }
    let resp = acc.finish();
    assert_eq!(resp.id, "c");
    assert_eq!(resp.tool_calls()[0].function.arguments, "{\"a\":1}");
    assert_eq!(resp.tool_calls()[0].id, "call_1");
    assert_eq!(resp.finish_reasons(), vec!["tool_calls"]);
    assert_eq!(resp.usage.map(|u| u.total_tokens), Some(8));
}

#[test]
fn accumulator_keeps_choices_apart() {
    let mut acc = StreamAccumulator::default();
    for (index, text) in [(1, "b"), (0, "a"), (1, "b")] {
        acc.push(
            &serde_json::from_value(
                json!({"choices": [{"index": index, "delta": {"content": text}}]}),
            )
            .unwrap(),
        );
    }
    let resp = acc.finish();
    assert_eq!(resp.choices[0].message.text().as_deref(), Some("a"));
    assert_eq!(resp.choices[1].message.text().as_deref(), Some("bb"));
}

#[test]
fn embeddings_round_trip() {
    round_trip::<EmbeddingRequest>(json!({"model": "e", "input": "one"}));
    let req =
        round_trip::<EmbeddingRequest>(json!({"model": "e", "input": ["a", "b"], "dimensions": 8,
        "encoding_format": "float", "user": "u"}));
    assert_eq!(
        req.input,
        EmbeddingInput::Many(vec!["a".into(), "b".into()])
    );
    let req = round_trip::<EmbeddingRequest>(json!({"input": [1, 2, 3]}));
    assert_eq!(req.input, EmbeddingInput::Tokens(vec![1, 2, 3]));
    round_trip::<EmbeddingRequest>(json!({"input": [[1], [2, 3]]}));
    let resp = round_trip::<EmbeddingResponse>(json!({"object": "list", "model": "e",
        "data": [{"index": 0, "object": "embedding", "embedding": [0.5, -1.0]},
                 {"index": 1, "object": "embedding", "embedding": "AAAAAA=="}],
        "usage": {"prompt_tokens": 2, "total_tokens": 2}}));
    assert_eq!(
        resp.data[0].embedding,
        EmbeddingVector::Float(vec![0.5, -1.0])
    );
}

#[test]
fn reasoning_content_is_read_from_a_response_message() {
    let body = serde_json::json!({
        "id": "x", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "42", "reasoning_content": "6 * 7 = 42"}}]
    });
    let response: ChatResponse = serde_json::from_value(body).expect("a response");
    let message = &response.choices[0].message;
    assert_eq!(message.reasoning(), Some("6 * 7 = 42"));
    assert!(!message.extra.contains_key("reasoning_content"));
    let empty: Message = serde_json::from_value(
        serde_json::json!({"role": "assistant", "content": "x", "reasoning_content": ""}),
    )
    .expect("a message");
    assert_eq!(empty.reasoning(), None);
}

#[test]
fn streamed_reasoning_deltas_become_the_messages_reasoning() {
    let mut acc = StreamAccumulator::default();
    for delta in [
        json!({"role": "assistant", "reasoning_content": "six times "}),
        json!({"reasoning_content": "seven"}),
        json!({"content": "42"}),
    ] {
        acc.push(&round_trip::<ChatChunk>(json!({
            "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": null}]
        })));
    }
    let resp = acc.finish();
    assert_eq!(resp.choices[0].message.reasoning(), Some("six times seven"));
    assert_eq!(resp.text().as_deref(), Some("42"));
}
