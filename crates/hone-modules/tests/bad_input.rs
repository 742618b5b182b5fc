//! Bad input gives a clear error or a bounded, recorded outcome — never a hang or a panic.

mod common;

use std::sync::Arc;

use hone_core::{Example, Prediction};
use hone_lm::{BoxFuture, LmHandle};
use hone_modules::{
    CallContext, FnTool, Module, ModuleError, Predict, ReAct, StopReason, Tool, ToolError,
};
use serde_json::{Value, json};

fn scripted_ctx(lm: &common::ScriptedLm) -> CallContext {
    CallContext::with_default_lm(LmHandle::new(lm.clone()))
}

fn answer_lm() -> common::ScriptedLm {
    common::ScriptedLm::new(|_| "[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]".to_owned())
}

#[tokio::test]
async fn missing_input_fields_are_named() {
    let lm = answer_lm();
    let qa = Predict::new("context, question -> answer").expect("sig");
    let err = qa
        .call(
            Example::new().with("question", "2+2?").with("extra", 1),
            &scripted_ctx(&lm),
        )
        .await
        .expect_err("missing context");
    let text = err.to_string();
    assert!(matches!(&err, ModuleError::MissingInputs { missing, .. } if missing == &["context"]));
    assert!(
        text.contains("`context`") && text.contains("context, question -> answer"),
        "{text}"
    );
    assert_eq!(lm.calls(), 0, "no LM call for a bad input");
}

#[tokio::test]
async fn optional_and_defaulted_inputs_may_be_left_out() {
    let lm = answer_lm();
    let qa = Predict::new("question, context: Optional[str] -> answer").expect("sig");
    qa.call(Example::new().with("question", "2+2?"), &scripted_ctx(&lm))
        .await
        .expect("optional input may be absent");
}

#[tokio::test]
async fn declared_types_are_checked() {
    let lm = answer_lm();
    let qa = Predict::new("count: int, tags: list[str] -> answer").expect("sig");
    let ctx = scripted_ctx(&lm);
    let err = qa
        .call(
            Example::new()
                .with("count", "three")
                .with("tags", json!(["a"])),
            &ctx,
        )
        .await
        .expect_err("a string is not an int");
    assert!(
        matches!(&err, ModuleError::InputType { field, expected, .. } if field == "count" && expected == "int"),
        "{err}"
    );
    let err = qa
        .call(
            Example::new().with("count", 3).with("tags", json!([1, 2])),
            &ctx,
        )
        .await
        .expect_err("numbers are not strings");
    assert!(err.to_string().contains("`tags`"), "{err}");
    // Untyped fields of a string signature and `str` fields accept any value, as in DSPy.
    let loose = Predict::new("question -> answer").expect("sig");
    loose
        .call(Example::new().with("question", 42), &ctx)
        .await
        .expect("untyped accepts a number");
    assert_eq!(lm.calls(), 1);
}

#[tokio::test]
async fn no_lm_names_the_predictor() {
    struct Two {
        route: Predict,
    }
    impl Module for Two {
        fn forward<'a>(
            &'a self,
            inputs: Example,
            ctx: &'a CallContext,
        ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
            Box::pin(async move { self.route.call(inputs, &ctx.child("route")).await })
        }
        hone_modules::predictors!(route);
    }
    let program = Two {
        route: Predict::new("ticket -> team").expect("sig"),
    };
    let err = program
        .call(Example::new().with("ticket", "hi"), &CallContext::new())
        .await
        .expect_err("no LM");
    assert!(matches!(&err, ModuleError::NoLm { predictor } if predictor == "route"));
    assert!(err.to_string().contains("with_lm"));
}

#[tokio::test]
async fn an_unparseable_answer_is_a_parse_error_after_the_fallback() {
    let lm = common::ScriptedLm::new(|_| "no structure at all".to_owned());
    let qa = Predict::new("question -> answer: int").expect("sig");
    let err = qa
        .call(Example::new().with("question", "?"), &scripted_ctx(&lm))
        .await
        .expect_err("unparseable");
    assert!(
        matches!(
            &err,
            ModuleError::Parse {
                fallback: Some(_),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(lm.calls(), 2, "ChatAdapter, then JSONAdapter");
}

#[tokio::test]
async fn a_panicking_module_is_an_error() {
    struct Boom;
    impl Module for Boom {
        fn forward<'a>(
            &'a self,
            _inputs: Example,
            _ctx: &'a CallContext,
        ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
            Box::pin(async { panic!("boom") })
        }
        hone_modules::predictors!();
    }
    let err = Boom
        .call(Example::new(), &CallContext::new())
        .await
        .expect_err("panics");
    assert!(matches!(&err, ModuleError::Panicked { message, .. } if message == "boom"));
}

/// An LM that always picks `tool` with `args`, and answers the extraction.
fn agent_lm(tool: &'static str, args: &'static str) -> common::ScriptedLm {
    common::ScriptedLm::new(move |req| {
        if common::prompt_text(req).contains("next_tool_name") {
            format!(
                "[[ ## next_thought ## ]]\nTry again.\n\n[[ ## next_tool_name ## ]]\n{tool}\n\n[[ ## next_tool_args ## ]]\n{args}\n\n[[ ## completed ## ]]"
            )
        } else {
            "[[ ## reasoning ## ]]\nGave up.\n\n[[ ## answer ## ]]\nunknown\n\n[[ ## completed ## ]]".to_owned()
        }
    })
}

fn tools() -> Vec<Arc<dyn Tool>> {
    let fails = FnTool::sync(
        "lookup",
        "Looks a key up.",
        json!({"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}),
        |_| Err(ToolError::new("the store is down")),
    );
    let panics = FnTool::new(
        "explode",
        "Always panics.",
        json!({"type": "object", "properties": {}}),
        |_| async { panic!("kaboom") },
    );
    vec![Arc::new(fails), Arc::new(panics)]
}

#[tokio::test]
async fn a_loop_that_never_finishes_stops_at_max_iters() {
    let lm = agent_lm("lookup", r#"{"key": "k"}"#);
    let agent = ReAct::new("question -> answer", tools())
        .expect("react")
        .with_max_iters(5);
    let outcome = agent
        .run(
            Example::new().with("question", "What is k?"),
            &scripted_ctx(&lm),
        )
        .await
        .expect("bounded");
    assert_eq!(outcome.stop, StopReason::MaxIters);
    assert_eq!(outcome.steps, 5);
    assert_eq!(lm.calls(), 6, "5 steps + extraction");
    assert_eq!(
        outcome.trajectory.get("observation_4"),
        Some(&json!("Execution error in lookup: the store is down"))
    );
    assert_eq!(outcome.prediction.get("answer"), Some(&json!("unknown")));
    // `max_iters` in the inputs overrides the limit for one call, as in DSPy.
    let outcome = agent
        .run(
            Example::new().with("question", "k?").with("max_iters", 2),
            &scripted_ctx(&lm),
        )
        .await
        .expect("bounded");
    assert_eq!(outcome.steps, 2);
}

#[tokio::test]
async fn a_hanging_tool_is_cut_off_by_the_tool_timeout() {
    let hangs = FnTool::new(
        "wait",
        "Never answers.",
        json!({"type": "object", "properties": {}}),
        |_| std::future::pending(),
    );
    let lm = agent_lm("wait", "{}");
    let agent = ReAct::new("question -> answer", vec![Arc::new(hangs) as Arc<dyn Tool>])
        .expect("react")
        .with_max_iters(2)
        .with_tool_timeout(std::time::Duration::from_millis(50));
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        agent.run(Example::new().with("question", "?"), &scripted_ctx(&lm)),
    )
    .await
    .expect("the agent does not hang")
    .expect("bounded");
    assert_eq!(outcome.steps, 2);
    assert_eq!(outcome.stop, StopReason::MaxIters);
    for step in 0..2 {
        assert_eq!(
            outcome.trajectory.get(&format!("observation_{step}")),
            Some(&json!(
                "Execution error in wait: the tool did not finish within 50ms"
            ))
        );
    }
    assert_eq!(outcome.prediction.get("answer"), Some(&json!("unknown")));
}

#[tokio::test]
async fn a_panicking_tool_and_bad_arguments_become_observations() {
    let lm = agent_lm("explode", "{}");
    let agent = ReAct::new("question -> answer", tools())
        .expect("react")
        .with_max_iters(1);
    let outcome = agent
        .run(Example::new().with("question", "?"), &scripted_ctx(&lm))
        .await
        .expect("no crash");
    let obs = outcome
        .trajectory
        .get("observation_0")
        .and_then(Value::as_str)
        .unwrap_or("");
    assert!(
        obs.starts_with("Execution error in explode: the tool panicked: kaboom"),
        "{obs}"
    );

    let lm = agent_lm("lookup", r#"{"wrong": 1}"#);
    let outcome = agent
        .run(Example::new().with("question", "?"), &scripted_ctx(&lm))
        .await
        .expect("no crash");
    let obs = outcome
        .trajectory
        .get("observation_0")
        .and_then(Value::as_str)
        .unwrap_or("");
    assert!(
        obs.contains("Arg wrong is not in the tool's args."),
        "{obs}"
    );
}

#[tokio::test]
async fn an_unknown_tool_ends_the_loop_as_an_agent_error() {
    // `next_tool_name` is a Literal of the tool names: anything else fails to parse, which
    // ends the trajectory (DSPy: "Agent failed to select a valid tool").
    let lm = agent_lm("rm_rf", "{}");
    let agent = ReAct::new("question -> answer", tools()).expect("react");
    let outcome = agent
        .run(Example::new().with("question", "?"), &scripted_ctx(&lm))
        .await
        .expect("bounded");
    assert!(
        matches!(outcome.stop, StopReason::AgentError(_)),
        "{:?}",
        outcome.stop
    );
    assert_eq!(outcome.steps, 0);
    assert_eq!(outcome.prediction.get("answer"), Some(&json!("unknown")));
}

#[tokio::test]
async fn react_checks_inputs_before_any_call() {
    let lm = agent_lm("lookup", "{}");
    let agent = ReAct::new("question -> answer", tools()).expect("react");
    let err = agent
        .run(Example::new(), &scripted_ctx(&lm))
        .await
        .expect_err("missing");
    assert!(matches!(err, ModuleError::MissingInputs { .. }));
    assert_eq!(lm.calls(), 0);
}

#[tokio::test]
async fn an_answer_cut_at_the_output_limit_says_to_raise_max_tokens() {
    let lm = common::ScriptedLm::new(|_| "[[ ## answer ## ]]\nIt is four because four".to_owned())
        .with_finish_reason("length");
    let qa = Predict::new("question -> reasoning, answer: int").expect("sig");
    let err = qa
        .call(Example::new().with("question", "?"), &scripted_ctx(&lm))
        .await
        .expect_err("cut off");
    assert!(
        matches!(
            &err,
            ModuleError::Parse {
                truncated: true,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("raise max_tokens"), "{err}");

    let complete = common::ScriptedLm::new(|_| "no structure at all".to_owned());
    let err = qa
        .call(
            Example::new().with("question", "?"),
            &scripted_ctx(&complete),
        )
        .await
        .expect_err("unparseable");
    assert!(!err.to_string().contains("max_tokens"), "{err}");
}
