//! Each module's behaviour against the simulated server.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt;
use hone_core::adapter::JsonAdapter;
use hone_core::state::ProgramState;
use hone_core::{Example, Prediction};
use hone_lm::BoxFuture;
use hone_modules::{
    BestOfN, CallContext, ChainOfThought, FnTool, Module, ModuleError, MultiChainComparison,
    Parallel, Predict, ReAct, Refine, StopReason, StreamEvent, Tool, ToolError, ToolMode,
    TraceSink,
};
use serde_json::{Value, json};

fn number_tool(name: &'static str, f: fn(f64, f64) -> f64) -> Arc<dyn Tool> {
    Arc::new(FnTool::sync(
        name,
        format!("Returns the {name} of a and b."),
        json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
        move |args| {
            let n = |k: &str| {
                args.get(k)
                    .and_then(Value::as_f64)
                    .ok_or_else(|| ToolError::new(format!("`{k}` must be a number")))
            };
            Ok(json!(f(n("a")?, n("b")?)))
        },
    ))
}

fn arithmetic_tools(calls: Arc<AtomicUsize>) -> Vec<Arc<dyn Tool>> {
    let c1 = Arc::clone(&calls);
    let add = FnTool::new(
        "add",
        "Adds a and b.",
        json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
        move |args| {
            let c1 = Arc::clone(&c1);
            async move {
                c1.fetch_add(1, Ordering::SeqCst);
                let n = |k: &str| args.get(k).and_then(Value::as_f64).unwrap_or(0.0);
                Ok(json!(n("a") + n("b")))
            }
        },
    );
    let c2 = Arc::clone(&calls);
    let multiply = FnTool::sync(
        "multiply",
        "Multiplies a and b.",
        json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
        move |args| {
            c2.fetch_add(1, Ordering::SeqCst);
            let n = |k: &str| args.get(k).and_then(Value::as_f64).unwrap_or(0.0);
            Ok(json!(n("a") * n("b")))
        },
    );
    vec![Arc::new(add), Arc::new(multiply)]
}

#[tokio::test]
async fn predict_and_chain_of_thought_trace_their_calls() {
    let sim = common::sim(5).await;
    let lm = common::lm(&sim.base_url(), "sim-1");
    let trace = TraceSink::new();
    let ctx = CallContext::with_default_lm(lm).with_trace(trace.clone());

    let qa = Predict::new("question -> answer: float").expect("sig");
    let out = qa
        .call(Example::new().with("question", "What is 12 + 30?"), &ctx)
        .await
        .expect("predict");
    assert!(out.get("answer").is_some_and(Value::is_number));

    let cot = ChainOfThought::new("question -> answer: float").expect("sig");
    let out = cot
        .call(
            Example::new().with("question", "What is 2 * 21?"),
            &ctx.child("cot"),
        )
        .await
        .expect("cot");
    let keys: Vec<&String> = out.fields().keys().collect();
    assert_eq!(keys, ["reasoning", "answer"]);

    let entries = trace.entries();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].predictor, "self");
    assert_eq!(entries[1].predictor, "cot.predict");
    assert!(
        entries[1].messages[0]
            .text()
            .is_some_and(|t| t.contains("`reasoning`"))
    );
    assert!(
        entries
            .iter()
            .all(|e| e.usage.is_some() && e.adapter == "ChatAdapter")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn json_adapter_sends_a_response_format() {
    let sim = common::sim(6).await;
    let lm = common::lm(&sim.base_url(), "sim-1");
    let trace = TraceSink::new();
    let ctx = CallContext::with_default_lm(lm)
        .with_adapter(JsonAdapter::new())
        .with_trace(trace.clone());
    let qa = Predict::new("question -> answer: int").expect("sig");
    let out = qa
        .call(Example::new().with("question", "What is 3 + 4?"), &ctx)
        .await
        .expect("json predict");
    assert!(out.get("answer").is_some_and(Value::is_i64));
    assert_eq!(trace.entries()[0].adapter, "JSONAdapter");
    sim.shutdown().await;
}

#[tokio::test]
async fn chat_adapter_falls_back_to_json_on_a_parse_failure() {
    // Answers the chat format with garbage and the JSON format properly.
    let lm = common::ScriptedLm::new(|req| {
        if common::prompt_text(req).contains("[[ ## answer ## ]]") {
            "I do not follow formats.".to_owned()
        } else {
            r#"{"answer": 7}"#.to_owned()
        }
    });
    let trace = TraceSink::new();
    let ctx =
        CallContext::with_default_lm(hone_lm::LmHandle::new(lm.clone())).with_trace(trace.clone());
    let qa = Predict::new("question -> answer: int").expect("sig");
    let out = qa
        .call(Example::new().with("question", "3 + 4?"), &ctx)
        .await
        .expect("fallback parses");
    assert_eq!(out.get("answer"), Some(&json!(7)));
    assert_eq!(lm.calls(), 2);
    assert_eq!(trace.entries()[0].adapter, "JSONAdapter");
}

#[tokio::test]
async fn react_text_mode_uses_two_tools_and_finishes() {
    let sim = common::sim(7).await;
    let lm = common::lm(&sim.base_url(), "sim-1");
    let calls = Arc::new(AtomicUsize::new(0));
    let agent = ReAct::new(
        "question -> answer: float",
        arithmetic_tools(Arc::clone(&calls)),
    )
    .expect("react");
    let instructions = &agent.react().signature().instructions;
    assert!(instructions.contains("(1) add, whose description is <desc>Adds a and b.</desc>. It takes arguments {'a': {'type': 'number'}, 'b': {'type': 'number'}}."));
    assert!(
        instructions.contains("(3) finish, whose description is <desc>Marks the task as complete.")
    );
    let trace = TraceSink::new();
    let ctx = CallContext::with_default_lm(lm).with_trace(trace.clone());
    let outcome = agent
        .run(
            Example::new().with("question", "What is (2 + 3) * 4?"),
            &ctx,
        )
        .await
        .expect("react");
    assert_eq!(outcome.stop, StopReason::Finished);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "add then multiply");
    let names: Vec<&str> = (0..outcome.steps)
        .filter_map(|i| {
            outcome
                .trajectory
                .get(&format!("tool_name_{i}"))
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(names, ["add", "multiply", "finish"]);
    assert_eq!(outcome.trajectory.get("observation_1"), Some(&json!(20.0)));
    assert_eq!(outcome.prediction.get("answer"), Some(&json!(20.0)));
    let keys: Vec<&String> = outcome.prediction.fields().keys().collect();
    assert_eq!(keys, ["trajectory", "reasoning", "answer"]);
    let preds: Vec<String> = trace.entries().into_iter().map(|e| e.predictor).collect();
    assert_eq!(preds, ["react", "react", "react", "extract.predict"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn react_native_mode_round_trips_tool_calls() {
    let sim = common::sim(8).await;
    let lm = common::lm(&sim.base_url(), "sim-1");
    let calls = Arc::new(AtomicUsize::new(0));
    let agent = ReAct::new(
        "question -> answer: float",
        arithmetic_tools(Arc::clone(&calls)),
    )
    .expect("react")
    .with_mode(ToolMode::Native);
    let ctx = CallContext::with_default_lm(lm);
    let outcome = agent
        .run(
            Example::new().with("question", "What is (2 + 3) * (4 + 1)?"),
            &ctx,
        )
        .await
        .expect("native react");
    assert_eq!(outcome.stop, StopReason::Finished);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(outcome.prediction.get("answer"), Some(&json!(25.0)));
    sim.shutdown().await;
}

#[tokio::test]
async fn best_of_n_stops_at_the_threshold_with_distinct_rollouts() {
    let sim = common::sim(9).await;
    let lm = common::lm(&sim.base_url(), "sim-1");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    type Seen = Arc<std::sync::Mutex<Vec<(Option<f64>, Option<i64>)>>>;
    struct Seeds(Seen);
    impl hone_modules::Callback for Seeds {
        fn on_lm_start(&self, e: &hone_modules::LmEvent<'_>) {
            if let Ok(mut s) = self.0.lock() {
                s.push((e.request.temperature, e.request.seed));
            }
        }
    }
    let ctx = CallContext::with_default_lm(lm).with_callback(Seeds(Arc::clone(&seen)));
    let attempts = Arc::new(AtomicUsize::new(0));
    let a2 = Arc::clone(&attempts);
    let best = BestOfN::new(
        Predict::new("question -> answer").expect("sig"),
        5,
        move |_, _| {
            if a2.fetch_add(1, Ordering::SeqCst) == 2 {
                1.0
            } else {
                0.0
            }
        },
        1.0,
    );
    best.call(Example::new().with("question", "What is 1 + 1?"), &ctx)
        .await
        .expect("best of n");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(
        seen,
        [
            (Some(1.0), Some(0)),
            (Some(1.0), Some(1)),
            (Some(1.0), Some(2))
        ]
    );
    assert_eq!(best.named_predictors()[0].0, "module");
    sim.shutdown().await;
}

#[tokio::test]
async fn refine_stops_at_the_threshold_and_hints_after_feedback() {
    let sim = common::sim(10).await;
    let lm = common::lm(&sim.base_url(), "sim-1");

    // Reached on the first attempt: one LM call, no feedback.
    let ok = Refine::new(
        Predict::new("question -> answer").expect("sig"),
        3,
        |_, _| 1.0,
        0.5,
    );
    let ctx = CallContext::with_default_lm(lm.clone());
    ok.call(Example::new().with("question", "What is 2 + 2?"), &ctx)
        .await
        .expect("refine");
    assert_eq!(sim.stats().requests_total, 1);

    // Reached on the third attempt: two feedback calls, and the chosen attempt got a hint.
    sim.reset_stats();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = Arc::clone(&n);
    let refine = Refine::new(
        ChainOfThought::new("question -> answer").expect("sig"),
        3,
        move |_, _| {
            if n2.fetch_add(1, Ordering::SeqCst) >= 2 {
                1.0
            } else {
                0.0
            }
        },
        1.0,
    );
    let trace = TraceSink::new();
    let ctx = CallContext::with_default_lm(lm).with_trace(trace.clone());
    refine
        .call(Example::new().with("question", "What is 5 + 6?"), &ctx)
        .await
        .expect("refine");
    assert_eq!(n.load(Ordering::SeqCst), 3);
    let by_path = sim.stats().requests_by_path;
    assert!(
        sim.stats().requests_total >= 5,
        "3 attempts + 2 feedback calls: {by_path:?}"
    );
    let entries = trace.entries();
    assert_eq!(entries.len(), 1, "only the chosen attempt is traced");
    assert_eq!(entries[0].predictor, "module.predict");
    assert!(entries[0].inputs.get("hint_").is_some());
    assert!(entries[0].signature.field("hint_").is_some());
    sim.shutdown().await;
}

/// Returns its input `id` with the LM's answer, so order can be checked.
struct Echo(Predict);

impl Module for Echo {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move {
            let id = inputs.get("id").cloned();
            let mut out = self.0.call(inputs, &ctx.child("inner")).await?;
            out.insert("id", id.unwrap_or_default());
            Ok(out)
        })
    }
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        hone_modules::prefixed("inner", self.0.named_predictors())
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        hone_modules::prefixed("inner", self.0.named_predictors_mut())
    }
}

#[tokio::test]
async fn parallel_keeps_order_and_counts_failures() {
    let sim = common::sim(11).await;
    let lm = common::lm(&sim.base_url(), "sim-1");
    let ctx = CallContext::with_default_lm(lm);
    let echo = Echo(Predict::new("question -> answer").expect("sig"));
    let inputs: Vec<Example> = (0..20)
        .map(|i| {
            let ex = Example::new().with("id", i);
            // Every fifth call lacks its input field and fails.
            if i % 5 == 4 {
                ex
            } else {
                ex.with("question", format!("What is {i} + 1?"))
            }
        })
        .collect();
    let out = Parallel::new()
        .with_concurrency(4)
        .map(&echo, inputs.clone(), &ctx)
        .await
        .expect("parallel");
    assert_eq!(out.failures, 4);
    for (i, r) in out.results.iter().enumerate() {
        match r {
            Ok(p) => assert_eq!(p.get("id"), Some(&json!(i))),
            Err(e) => {
                assert_eq!(i % 5, 4);
                assert!(matches!(e, ModuleError::MissingInputs { .. }));
            }
        }
    }
    let stopped = Parallel::new()
        .with_max_errors(Some(1))
        .map(&echo, inputs, &ctx)
        .await;
    assert!(matches!(
        stopped,
        Err(ModuleError::TooManyErrors {
            failures: 2,
            first_index: 4,
            ..
        })
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn multi_chain_comparison_builds_dspy_attempts() {
    let sim = common::sim(12).await;
    let lm = common::lm(&sim.base_url(), "sim-1");
    let trace = TraceSink::new();
    let ctx = CallContext::with_default_lm(lm).with_trace(trace.clone());
    let mcc = MultiChainComparison::new("question -> answer", 3).expect("sig");
    let attempts: Vec<Prediction> = ["41", "42", "42"]
        .iter()
        .map(|a| {
            let mut p = Prediction::default();
            p.insert("reasoning", "add the numbers\nsecond line");
            p.insert("answer", *a);
            p
        })
        .collect();
    let out = mcc
        .compare(
            &attempts,
            Example::new().with("question", "What is 40 + 2?"),
            &ctx,
        )
        .await
        .expect("mcc");
    assert!(out.get("rationale").is_some() && out.get("answer").is_some());
    let entry = &trace.entries()[0];
    assert_eq!(entry.predictor, "predict");
    assert_eq!(
        entry.inputs.get("reasoning_attempt_2"),
        Some(&json!(
            "«I'm trying to add the numbers I'm not sure but my prediction is 42»"
        ))
    );
    assert_eq!(mcc.predict().config().temperature, Some(0.7));
    let too_few = mcc
        .compare(&attempts[..2], Example::new().with("question", "x"), &ctx)
        .await;
    assert!(matches!(too_few, Err(ModuleError::InvalidInput { .. })));
    sim.shutdown().await;
}

#[tokio::test]
async fn streaming_yields_field_deltas_then_the_prediction() {
    let sim = common::sim(13).await;
    let lm = common::lm(&sim.base_url(), "sim-1");
    let trace = TraceSink::new();
    let ctx = CallContext::with_default_lm(lm).with_trace(trace.clone());
    let cot = ChainOfThought::new("question -> answer").expect("sig");
    let events: Vec<StreamEvent> = cot
        .predict()
        .stream(Example::new().with("question", "What is 9 + 10?"), &ctx)
        .map(|e| e.expect("event"))
        .collect()
        .await;
    let Some(StreamEvent::Prediction(pred)) = events.last() else {
        panic!("the last event is the prediction: {events:?}");
    };
    let streamed = |field: &str| -> String {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::FieldDelta { field: f, text } if f == field => Some(text.as_str()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(Some(&json!(streamed("answer"))), pred.get("answer"));
    assert_eq!(Some(&json!(streamed("reasoning"))), pred.get("reasoning"));
    let done: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::FieldDone { field } => Some(field.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(done, ["reasoning", "answer"]);
    assert_eq!(trace.len(), 1);
    assert_eq!(sim.stats().stream_requests, 1);
    sim.shutdown().await;
}

struct Support {
    route: Predict,
    answer: ChainOfThought,
}

impl Module for Support {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move {
            let routed = self.route.call(inputs.clone(), &ctx.child("route")).await?;
            let team = routed.get("team").cloned().unwrap_or_default();
            self.answer
                .call(inputs.with("team", team), &ctx.child("answer"))
                .await
        })
    }
    hone_modules::predictors!(route, answer);
}

fn support() -> Support {
    Support {
        route: Predict::new("ticket -> team").expect("sig"),
        answer: ChainOfThought::new("ticket, team -> reply").expect("sig"),
    }
}

#[test]
fn program_state_saves_and_loads_by_dspy_names() {
    let mut program = support();
    program.route.signature_mut().instructions = "Route the ticket.".into();
    program.answer.predict_mut().set_demos(vec![
        Example::new()
            .with("ticket", "Refund?")
            .with("team", "billing")
            .with("reasoning", "money")
            .with("reply", "Sure."),
    ]);
    let state = program.state();
    let names: Vec<&String> = state.predictors.keys().collect();
    assert_eq!(names, ["route", "answer.predict"]);

    // hone's format loads on its own.
    let text = state.to_json_string_pretty();
    let mut fresh = support();
    fresh
        .load_state(&ProgramState::from_json_str(&text).expect("read"))
        .expect("load");
    assert_eq!(fresh.route.signature().instructions, "Route the ticket.");
    assert_eq!(fresh.answer.predict().demos().len(), 1);

    // DSPy's format loads onto the program's structure.
    let dspy = state.to_dspy_json_string_pretty();
    let mut fresh = support();
    fresh.load_state_json(&dspy).expect("load dspy file");
    assert_eq!(fresh.route.signature().instructions, "Route the ticket.");

    // A state for another program is refused, and nothing changes.
    let other = Predict::new("question -> answer").expect("sig").state();
    let mut fresh = support();
    let err = fresh.load_state(&other).expect_err("does not fit");
    assert!(err.to_string().contains("no predictor `route`"), "{err}");
    assert_eq!(
        fresh.route.signature().instructions,
        support().route.signature().instructions
    );
}

#[test]
fn named_predictors_follow_dspy_naming() {
    let calls = Arc::new(AtomicUsize::new(0));
    let agent = ReAct::new("question -> answer", arithmetic_tools(calls)).expect("react");
    let names: Vec<String> = agent
        .named_predictors()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["react", "extract.predict"]);
    let extract = agent.extract().predict().signature();
    assert_eq!(
        extract.field_string(),
        "question, trajectory -> reasoning, answer"
    );
    let react = agent.react().signature();
    assert_eq!(
        react.field_string(),
        "question, trajectory -> next_thought, next_tool_name, next_tool_args"
    );
    let refine = Refine::new(support(), 2, |_, _| 0.0, 1.0);
    let names: Vec<String> = refine
        .named_predictors()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["module.route", "module.answer.predict"]);
    let _ = number_tool("add", |a, b| a + b);
}

#[tokio::test]
async fn a_failing_reward_is_a_failed_attempt_with_its_reason() {
    let sim = common::sim(10).await;
    let ctx = CallContext::with_default_lm(common::lm(&sim.base_url(), "sim-1"));
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = Arc::clone(&calls);
    // The second attempt's reward succeeds: one failure is within `fail_count`.
    let best = BestOfN::new(
        Predict::new("question -> answer").expect("sig"),
        3,
        |_, _| 0.0,
        1.0,
    )
    .with_fallible_reward(move |_, _| {
        if c2.fetch_add(1, Ordering::SeqCst) == 0 {
            Err("no label `answer`".into())
        } else {
            Ok(1.0)
        }
    });
    best.call(Example::new().with("question", "What is 1 + 1?"), &ctx)
        .await
        .expect("one failed reward is allowed");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Every reward failing: the error says why.
    let refine = Refine::new(
        Predict::new("question -> answer").expect("sig"),
        2,
        |_, _| 0.0,
        1.0,
    )
    .with_fallible_reward(|_, _| Err("no label `answer`".into()))
    .with_fail_count(1);
    let err = refine
        .call(Example::new().with("question", "What is 1 + 1?"), &ctx)
        .await
        .expect_err("every reward failed");
    let message = err.to_string();
    assert!(
        message.contains("the reward function failed: no label `answer`"),
        "{message}"
    );
    sim.shutdown().await;
}
