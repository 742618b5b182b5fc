//! The whole hone pipeline against a real local LM (llama.cpp's llama-server with Gemma 3 270M
//! in CI): `Predict` and `ChainOfThought` with the JSON adapter and structured outputs over the
//! sentiment task, a `BootstrapFewShot` run, the `openai` export of its result, and that export
//! sent by a plain HTTP client to the same server, which must give the runtime's answer.
//!
//! Runs only when `HONE_REAL_LM_URL` is set (`scripts/test` starts the server and sets it);
//! otherwise each test prints why it skipped and passes. The model is tiny: the tests assert
//! that everything completes, parses and exports exactly, and print the scores without
//! asserting a level the model cannot reach.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use hone_core::adapter::{AdapterKind, JsonAdapter};
use hone_core::state::ProgramState;
use hone_core::{Example, Prediction};
use hone_e2e::{RealLm, SKIP_MESSAGE, URL_ENV, sentiment};
use hone_eval::metric::{ExactMatch, Metric};
use hone_eval::{DriverConfig, Evaluate, EvaluationResult, InProcessExecutor, StopReason};
use hone_export::OpenAiExport;
use hone_modules::{CallContext, Callback, ChainOfThought, LmEvent, Module, Predict};
use hone_optimize::{BootstrapConfig, BootstrapFewShot};
use serde_json::{Value, json};

/// The real LM, or `None` (after printing why) when the tests should skip.
fn real_lm() -> Option<RealLm> {
    match RealLm::from_env() {
        Ok(Some(real)) => Some(real),
        Ok(None) => {
            eprintln!("{SKIP_MESSAGE}");
            None
        }
        Err(e) => panic!("{URL_ENV} does not name a usable server: {e}"),
    }
}

fn metric() -> Arc<dyn Metric> {
    Arc::new(ExactMatch::new("sentiment"))
}

/// The call context: the real LM and the JSON adapter (structured outputs).
fn context(real: &RealLm) -> CallContext {
    CallContext::with_default_lm(real.lm.clone()).with_adapter(JsonAdapter::new())
}

/// Keeps every request the runtime sends.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Value>>>);

impl Callback for Recorder {
    fn on_lm_start(&self, event: &LmEvent<'_>) {
        let request = serde_json::to_value(event.request).expect("requests serialize");
        if let Ok(mut seen) = self.0.lock() {
            seen.push(request);
        }
    }
}

impl Recorder {
    fn take(&self) -> Vec<Value> {
        self.0
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

/// Checks that every example produced a valid label — or, with `allow_cut_off`, that an
/// example without one failed because the model talked until the output limit (the error then
/// says so) while most gave a label — and returns the accuracy line.
fn check_and_describe(
    name: &str,
    result: &EvaluationResult,
    seconds: f64,
    allow_cut_off: bool,
) -> String {
    let mut unparsed = Vec::new();
    let mut cut_off = 0;
    for r in &result.results {
        match r.prediction.as_ref().and_then(|p| p.get("sentiment")) {
            Some(Value::String(s)) if sentiment::LABELS.contains(&s.as_str()) => {}
            None if allow_cut_off
                && r.error
                    .as_deref()
                    .is_some_and(|e| e.contains("finish_reason = length")) =>
            {
                cut_off += 1;
            }
            other => unparsed.push(format!(
                "#{}: {:?} {}",
                r.index,
                other,
                r.error.clone().unwrap_or_default()
            )),
        }
    }
    assert!(
        unparsed.is_empty(),
        "{name}: {} of {} examples gave no valid label:\n{}",
        unparsed.len(),
        result.results.len(),
        unparsed.join("\n")
    );
    assert!(
        cut_off * 2 <= result.results.len(),
        "{name}: {cut_off} of {} answers were cut off at the output limit",
        result.results.len()
    );
    let correct = result.results.iter().filter(|r| r.score >= 1.0).count();
    format!(
        "{name}: {correct}/{} correct ({:.0}%), {cut_off} cut off at the output limit, {:.1}s, {} LM calls",
        result.results.len(),
        result.summary.mean * 100.0,
        seconds,
        result.usage.lm_calls
    )
}

/// Evaluates `module`; with `allow_cut_off`, answers cut off at the output limit are
/// tolerated (see [`check_and_describe`]), any other failure is not.
async fn evaluate(
    name: &str,
    module: &dyn Module,
    devset: Vec<Example>,
    ctx: &CallContext,
    allow_cut_off: bool,
) -> String {
    let started = Instant::now();
    let n = devset.len();
    let result = Evaluate::with_metric(devset, metric())
        .concurrency(2)
        .max_errors(if allow_cut_off { n } else { 0 })
        .run(module, ctx)
        .await
        .unwrap_or_else(|e| panic!("{name}: the evaluation failed: {e}"));
    if !allow_cut_off {
        assert_eq!(result.errors, 0, "{name}: no call failed");
    }
    check_and_describe(
        name,
        &result,
        started.elapsed().as_secs_f64(),
        allow_cut_off,
    )
}

/// `Predict` over the whole dev set and `ChainOfThought` over part of it, through `Evaluate`,
/// with JSON-schema structured outputs: every call parses into a valid label.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_and_chain_of_thought_with_structured_outputs() {
    let Some(real) = real_lm() else { return };
    let dev = sentiment::dev().expect("dev split");
    let recorder = Recorder::default();
    let ctx = context(&real).with_callback(recorder.clone());

    let predict = Predict::new(sentiment::SIGNATURE).expect("signature");
    let predict_line = evaluate("Predict", &predict, dev.clone(), &ctx, false).await;
    let sent = recorder.take();
    assert_eq!(sent.len(), dev.len(), "one LM call per example");
    for request in &sent {
        assert_eq!(
            request["response_format"]["type"], "json_schema",
            "every request asks for the JSON schema: {request}"
        );
    }

    let cot = ChainOfThought::new(sentiment::SIGNATURE).expect("signature");
    let subset: Vec<Example> = dev.iter().take(8).cloned().collect();
    // A 270M model sometimes repeats itself in its reasoning until the output limit.
    let cot_line = evaluate("ChainOfThought", &cot, subset.clone(), &ctx, true).await;
    let sent = recorder.take();
    assert_eq!(sent.len(), subset.len());
    let schema = &sent[0]["response_format"]["json_schema"]["schema"];
    assert!(
        schema["properties"]["reasoning"].is_object(),
        "ChainOfThought asks for reasoning: {schema}"
    );
    // The reasoning comes back as text next to the label.
    let mut first = None;
    for example in &subset {
        if let Ok(p) = cot.call(example.inputs(), &ctx).await {
            first = Some(p);
            break;
        }
    }
    let first = first.expect("a chain of thought call that parses");
    assert!(
        first.get("reasoning").and_then(Value::as_str).is_some(),
        "{first:?}"
    );

    eprintln!(
        "real LM {} ({}), sentiment dev:\n  {predict_line}\n  {cot_line}",
        real.model, real.base_url
    );
}

/// Sends an exported request with a plain HTTP client (no hone-lm), temperature 0.
async fn send_plain(real: &RealLm, messages: &Value, response_format: &Value) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .expect("a plain client");
    let body = json!({
        "model": real.model,
        "messages": messages,
        "response_format": response_format,
        "temperature": 0.0,
    });
    let url = format!("{}/chat/completions", real.base_url.trim_end_matches('/'));
    let response: Value = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .expect("the server answers")
        .error_for_status()
        .expect("a 2xx answer")
        .json()
        .await
        .expect("a JSON answer");
    response["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {response}"))
        .to_owned()
}

/// BootstrapFewShot completes on the real model; its program is exported as OpenAI requests;
/// for several dev examples the export renders exactly the messages the runtime sends, and
/// sending it with a plain HTTP client gives the runtime's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_export_and_plain_http_replay() {
    let Some(real) = real_lm() else { return };
    let train = sentiment::train().expect("train split");
    let dev = sentiment::dev().expect("dev split");
    let student = Predict::new(sentiment::SIGNATURE).expect("signature");

    // Optimize.
    let started = Instant::now();
    let executor = InProcessExecutor::from_template(student.clone(), real.lm.clone(), metric())
        .with_context(CallContext::new().with_adapter(JsonAdapter::new()));
    let config = BootstrapConfig {
        max_bootstrapped_demos: 3,
        max_labeled_demos: 3,
        ..BootstrapConfig::default()
    };
    let mut optimizer =
        BootstrapFewShot::new(&student.state(), &train, config).expect("a valid optimizer");
    let report = hone_eval::run_optimizer(
        &mut optimizer,
        &executor,
        &DriverConfig::with_concurrency(2),
    )
    .await
    .expect("the optimization runs");
    assert_eq!(report.stop, StopReason::Done, "the run completed");
    let best = report.best.expect("an optimized program");
    let demos = &best.predictors["self"].demos;
    assert!(!demos.is_empty(), "the optimized program has demos");
    let optimize_secs = started.elapsed().as_secs_f64();

    // Save and load the state: the program survives the file.
    let text = best.to_json_string_pretty();
    let reloaded = ProgramState::from_json_str(&text).expect("the state reads back");
    assert_eq!(reloaded, best);
    let mut optimized = student.clone();
    optimized
        .load_state(&reloaded)
        .expect("the state fits the program");

    let recorder = Recorder::default();
    let ctx = context(&real).with_callback(recorder.clone());
    let optimized_line = evaluate("BootstrapFewShot", &optimized, dev.clone(), &ctx, false).await;
    recorder.take();

    // Export, as a file would carry it.
    let export = OpenAiExport::new(&reloaded, AdapterKind::Json).expect("the export builds");
    let export = OpenAiExport::from_json_str(&export.to_json_string_pretty())
        .expect("the export reads back");
    let predictor = export.predictor("self").expect("one predictor");
    let response_format = predictor
        .request
        .response_format
        .clone()
        .expect("the export carries the response_format");

    let mut same = 0;
    for example in dev.iter().take(4) {
        let inputs = example.inputs();
        let runtime: Prediction = optimized
            .call(inputs.clone(), &ctx)
            .await
            .expect("runtime call");
        let sent = recorder.take();
        assert_eq!(sent.len(), 1, "one LM call");
        let rendered = predictor
            .render("self", &inputs)
            .expect("the export renders");
        let rendered = serde_json::to_value(&rendered).expect("messages serialize");
        assert_eq!(
            rendered, sent[0]["messages"],
            "the export renders the bytes the runtime sends"
        );
        assert_eq!(
            response_format, sent[0]["response_format"],
            "the export's response_format is the runtime's"
        );
        let completion = send_plain(&real, &rendered, &response_format).await;
        let plain = hone_export::parse_with_export(&export, "self", &completion)
            .expect("the plain answer parses with the export alone");
        assert_eq!(
            plain.get("sentiment"),
            runtime.get("sentiment"),
            "the plain client gets the runtime's answer for {:?}",
            inputs.get("review")
        );
        same += 1;
    }
    eprintln!(
        "real LM {}: BootstrapFewShot finished in {optimize_secs:.1}s ({} LM calls, {} demos)\n  \
         {optimized_line}\n  exported prompt replayed over plain HTTP: {same}/{same} answers equal the runtime's",
        real.model,
        report.lm_calls,
        demos.len()
    );
}
