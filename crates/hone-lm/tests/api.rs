//! Streaming, tool calls, structured outputs and embeddings against the simulated server.

#![allow(clippy::unwrap_used)]

mod common;

use futures_util::StreamExt;
use hone_lm::{
    CallOptions, ChatRequest, EmbeddingInput, EmbeddingRequest, EmbeddingVector, FinishReason, Lm,
    LmError, Message, ResponseFormat, StreamAccumulator, Tool,
};
use hone_sim::Fault;
use serde_json::json;

use common::{http, sim};

fn add_tool() -> Tool {
    Tool::function(
        "add",
        "Adds two numbers.",
        json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
               "required": ["a", "b"]}),
    )
}

#[tokio::test]
async fn streams_content_with_a_final_usage_chunk() {
    let sim = sim().await;
    let lm = http(&sim).build().unwrap();
    let request = ChatRequest::new(vec![Message::user("Say something about tests.")]);
    let mut stream = lm
        .chat_stream(request, &CallOptions::default())
        .await
        .unwrap();
    let mut acc = StreamAccumulator::default();
    let mut chunks = 0;
    let mut saw_usage_only_chunk = false;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        if chunk.choices.is_empty() && chunk.usage.is_some() {
            saw_usage_only_chunk = true;
        }
        acc.push(&chunk);
        chunks += 1;
    }
    assert!(chunks > 1);
    assert!(saw_usage_only_chunk, "include_usage is on by default");
    let response = acc.finish();
    assert!(!response.text().unwrap_or_default().is_empty());
    assert_eq!(response.finish_reasons(), vec!["stop"]);
    assert!(response.usage.as_ref().is_some_and(|u| u.total_tokens > 0));
    sim.shutdown().await;
}

#[tokio::test]
async fn streamed_and_plain_answers_agree() {
    let sim = sim().await;
    let lm = http(&sim).build().unwrap();
    let request = ChatRequest::new(vec![Message::user("What is 17 + 25?")]).temperature(0.0);
    let plain = lm
        .chat(request.clone(), &CallOptions::default())
        .await
        .unwrap();
    let mut stream = lm
        .chat_stream(request, &CallOptions::default())
        .await
        .unwrap();
    let mut acc = StreamAccumulator::default();
    while let Some(chunk) = stream.next().await {
        acc.push(&chunk.unwrap());
    }
    assert_eq!(acc.finish().text(), plain.text());
    sim.shutdown().await;
}

#[tokio::test]
async fn tool_calls_plain_and_streamed() {
    let sim = sim().await;
    let lm = http(&sim).build().unwrap();
    let request = ChatRequest::new(vec![Message::user("What is 17 + 25?")]).tools(vec![add_tool()]);
    let response = lm
        .chat(request.clone(), &CallOptions::default())
        .await
        .unwrap();
    assert_eq!(
        response.choices[0].finish_reason,
        Some(FinishReason::ToolCalls)
    );
    let call = response.tool_calls()[0].clone();
    assert_eq!(call.function.name, "add");
    let args: serde_json::Value = serde_json::from_str(&call.function.arguments).unwrap();
    assert_eq!(args["a"].as_f64(), Some(17.0));

    let mut stream = lm
        .chat_stream(request.clone(), &CallOptions::default())
        .await
        .unwrap();
    let mut acc = StreamAccumulator::default();
    let mut tool_deltas = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        tool_deltas += chunk
            .choices
            .iter()
            .filter(|c| c.delta.tool_calls.is_some())
            .count();
        acc.push(&chunk);
    }
    assert!(tool_deltas >= 1);
    let streamed = acc.finish();
    assert_eq!(streamed.tool_calls()[0].function.name, "add");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&streamed.tool_calls()[0].function.arguments)
            .unwrap(),
        args
    );

    // Answer the call; the model then replies in text.
    let mut assistant = response.choices[0].message.clone();
    assistant.content = None;
    let follow_up = ChatRequest::new(vec![
        Message::user("What is 17 + 25?"),
        assistant,
        Message::tool(call.id.clone(), "42"),
    ])
    .tools(vec![add_tool()]);
    let answer = lm.chat(follow_up, &CallOptions::default()).await.unwrap();
    assert!(answer.tool_calls().is_empty());
    assert!(answer.text().unwrap_or_default().contains("42"));
    sim.shutdown().await;
}

#[tokio::test]
async fn structured_output_follows_the_json_schema() {
    let sim = sim().await;
    let lm = http(&sim).build().unwrap();
    let schema = json!({
        "type": "object",
        "properties": {"answer": {"type": "integer"}, "explanation": {"type": "string"}},
        "required": ["answer", "explanation"],
        "additionalProperties": false
    });
    let request = ChatRequest::new(vec![Message::user("What is 17 + 25?")])
        .response_format(ResponseFormat::json_schema("result", schema));
    let response = lm.chat(request, &CallOptions::default()).await.unwrap();
    let value: serde_json::Value =
        serde_json::from_str(&response.text().unwrap_or_default()).unwrap();
    assert!(value["answer"].is_i64(), "{value}");
    assert!(value["explanation"].is_string(), "{value}");
    sim.shutdown().await;
}

#[tokio::test]
async fn truncated_stream_ends_with_an_error() {
    let sim = sim().await;
    let lm = http(&sim).build().unwrap();
    sim.push_faults([Fault::TruncatedStream]);
    let mut stream = lm
        .chat_stream(
            ChatRequest::new(vec![Message::user("Tell me a story.")]),
            &CallOptions::default(),
        )
        .await
        .unwrap();
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item);
    }
    let last = items.pop().expect("at least the error");
    let err = last.unwrap_err();
    assert!(matches!(err, LmError::Stream { .. }), "{err:?}");
    assert!(err.to_string().contains("[DONE]"), "{err}");
    assert!(items.iter().all(Result::is_ok));
    sim.shutdown().await;
}

#[tokio::test]
async fn embeddings_for_one_and_many_inputs() {
    let sim = sim().await;
    let lm = http(&sim).model("sim-embed-1").build().unwrap();
    let one = lm
        .embed(
            EmbeddingRequest::new("hello world"),
            &CallOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(one.data.len(), 1);
    let EmbeddingVector::Float(vector) = &one.data[0].embedding else {
        panic!("float vector expected")
    };
    assert!(!vector.is_empty());

    let many = EmbeddingRequest::new(EmbeddingInput::Many(vec![
        "a cat".into(),
        "a dog".into(),
        "a cat".into(),
    ]));
    let many = lm.embed(many, &CallOptions::default()).await.unwrap();
    assert_eq!(many.data.len(), 3);
    assert_eq!(many.data[0].embedding, many.data[2].embedding);
    assert_ne!(many.data[0].embedding, many.data[1].embedding);
    assert!(many.usage.is_some_and(|u| u.prompt_tokens > 0));
    sim.shutdown().await;
}
