//! [`ReAct`]: DSPy's `dspy.ReAct` agent loop — think, pick a tool, observe, repeat, then extract
//! the outputs from the trajectory.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use hone_core::adapter::pyfmt::{json_dumps, py_str, py_strip};
use hone_core::{Example, Field, FieldType, Prediction, Signature, SignatureError};
use hone_lm::{BoxFuture, ChatRequest, LmError, ToolChoice};
use serde_json::{Map, Value, json};

use crate::chain_of_thought::ChainOfThought;
use crate::context::{ApplySampling, CallContext};
use crate::error::{ModuleError, panic_message};
use crate::module::Module;
use crate::predict::{
    IntoSignature, Predict, check_inputs, send, set_response_format, to_lm_message,
};
use crate::tool::{Tool, args_of, check_args, describe_tool};
use crate::trace::TraceEntry;

/// How the agent picks tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolMode {
    /// DSPy's text format: the `react` predictor writes `next_thought`, `next_tool_name` and
    /// `next_tool_args` through the adapter, with the tools listed in its instructions and a
    /// `finish` tool to stop.
    #[default]
    Text,
    /// Native tool calling: the tools are sent as the request's `tools`; the LM answers with
    /// `tool_calls` (run, and their results sent back as `tool` messages) until it answers in
    /// the adapter's format without calling a tool.
    Native,
}

/// Why the agent loop stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The agent called `finish` (text mode) or answered without a tool call (native mode).
    Finished,
    /// `max_iters` steps ran without the agent finishing; the outputs were extracted from the
    /// trajectory so far.
    MaxIters,
    /// The agent's step could not be parsed (DSPy: "Agent failed to select a valid tool"); the
    /// outputs were extracted from the trajectory so far.
    AgentError(String),
    /// The prompt outgrew the context window even after truncating the trajectory.
    ContextWindow(String),
}

/// A ReAct run in detail.
#[derive(Debug, Clone, PartialEq)]
pub struct ReActOutcome {
    /// The outputs, with the `trajectory` field first (as DSPy's `Prediction(trajectory=...)`).
    pub prediction: Prediction,
    /// The trajectory: `thought_i`, `tool_name_i`, `tool_args_i`, `observation_i`.
    pub trajectory: Map<String, Value>,
    /// Tool steps taken.
    pub steps: usize,
    /// Why the loop stopped.
    pub stop: StopReason,
}

/// The agent (DSPy's `dspy.ReAct`): predictors `react` (the step) and `extract.predict` (a
/// [`ChainOfThought`] reading the trajectory), built exactly as DSPy builds them; tools as
/// [`Tool`] values; `max_iters` default 20.
///
/// A tool that fails, panics, gets invalid arguments or outlives the tool timeout
/// ([`ReAct::with_tool_timeout`]) yields an `Execution error in ...` observation; a loop that
/// never calls `finish` stops after `max_iters` steps ([`StopReason::MaxIters`]); both are
/// recorded in the trajectory, never a hang or a panic.
#[derive(Clone)]
pub struct ReAct {
    signature: Signature,
    tools: Vec<Arc<dyn Tool>>,
    max_iters: usize,
    tool_timeout: Option<Duration>,
    mode: ToolMode,
    react: Predict,
    extract: ChainOfThought,
}

impl std::fmt::Debug for ReAct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReAct")
            .field("signature", &self.signature.field_string())
            .field(
                "tools",
                &self
                    .tools
                    .iter()
                    .map(|t| t.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .field("max_iters", &self.max_iters)
            .field("tool_timeout", &self.tool_timeout)
            .field("mode", &self.mode)
            .finish()
    }
}

/// The name of the tool that ends the loop.
pub const FINISH: &str = "finish";

impl ReAct {
    /// An agent for `signature` with these tools (text mode, `max_iters` 20).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use hone_modules::{FnTool, Module, ReAct, Tool};
    /// use serde_json::json;
    /// let search = FnTool::sync("search", "Looks a word up.",
    ///     json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
    ///     |_| Ok(json!("nothing found")));
    /// let agent = ReAct::new("question -> answer", vec![Arc::new(search) as Arc<dyn Tool>]).unwrap();
    /// let names: Vec<String> = agent.named_predictors().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["react", "extract.predict"]);
    /// ```
    pub fn new(
        signature: impl IntoSignature,
        tools: Vec<Arc<dyn Tool>>,
    ) -> Result<Self, SignatureError> {
        let signature = signature.into_signature()?;
        let react_sig = react_signature(&signature, &tools)?;
        let mut extract_sig = Signature {
            name: "StringSignature".into(),
            instructions: signature.instructions.clone(),
            inputs: signature.inputs.clone(),
            outputs: signature.outputs.clone(),
        };
        extract_sig
            .inputs
            .push(Field::new("trajectory", FieldType::Str));
        extract_sig.validate()?;
        Ok(ReAct {
            react: Predict::new(react_sig)?,
            extract: ChainOfThought::new(extract_sig)?,
            signature,
            tools,
            max_iters: 20,
            tool_timeout: None,
            mode: ToolMode::Text,
        })
    }

    /// Sets the maximum number of tool steps (DSPy's `max_iters`, default 20).
    pub fn with_max_iters(mut self, max_iters: usize) -> Self {
        self.max_iters = max_iters;
        self
    }

    /// Bounds every tool call: a tool still running after `timeout` is dropped (cancelled at
    /// its next await point) and the step records `Execution error in NAME: the tool did not
    /// finish within ...`. Default: no bound, as in DSPy. A blocking (non-async) tool body
    /// cannot be interrupted; run such work with `tokio::task::spawn_blocking` inside the tool.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use hone_modules::ReAct;
    /// let agent = ReAct::new("question -> answer", vec![])
    ///     .unwrap()
    ///     .with_tool_timeout(Duration::from_secs(30));
    /// assert_eq!(agent.tool_timeout(), Some(Duration::from_secs(30)));
    /// ```
    pub fn with_tool_timeout(mut self, timeout: Duration) -> Self {
        self.tool_timeout = Some(timeout);
        self
    }

    /// The bound on each tool call, if any.
    pub fn tool_timeout(&self) -> Option<Duration> {
        self.tool_timeout
    }

    /// Sets how tools are picked (default [`ToolMode::Text`]).
    pub fn with_mode(mut self, mode: ToolMode) -> Self {
        self.mode = mode;
        self
    }

    /// The step predictor.
    pub fn react(&self) -> &Predict {
        &self.react
    }

    /// The extraction module.
    pub fn extract(&self) -> &ChainOfThought {
        &self.extract
    }

    /// The tools (without `finish`).
    pub fn tools(&self) -> &[Arc<dyn Tool>] {
        &self.tools
    }

    /// Runs the agent and returns the outputs with the trajectory and why it stopped.
    /// `inputs` may hold `max_iters` (a number) to override the limit for this call, as in DSPy.
    pub async fn run(
        &self,
        inputs: Example,
        ctx: &CallContext,
    ) -> Result<ReActOutcome, ModuleError> {
        let mut inputs = inputs;
        let max_iters = match inputs.get("max_iters").and_then(Value::as_u64) {
            Some(n) if self.signature.field("max_iters").is_none() => {
                inputs = Example::from_map(
                    inputs
                        .into_fields()
                        .into_iter()
                        .filter(|(k, _)| k != "max_iters")
                        .collect(),
                );
                usize::try_from(n).unwrap_or(usize::MAX)
            }
            _ => self.max_iters,
        };
        // Inputs are checked up front so a bad call fails before any LM call.
        check_inputs(
            &self.signature,
            &inputs,
            ctx.child("react").predictor_name(),
        )?;
        let (trajectory, steps, stop) = match self.mode {
            ToolMode::Text => self.text_loop(&inputs, ctx, max_iters).await?,
            ToolMode::Native => {
                let (trajectory, steps, stop, answer) =
                    self.native_loop(&inputs, ctx, max_iters).await?;
                if let Some(answer) = answer {
                    let mut fields = Map::new();
                    fields.insert("trajectory".into(), Value::Object(trajectory.clone()));
                    fields.extend(answer.into_fields());
                    return Ok(ReActOutcome {
                        prediction: Prediction::new(fields),
                        trajectory,
                        steps,
                        stop,
                    });
                }
                (trajectory, steps, stop)
            }
        };
        let extracted = self
            .with_trajectory(&self.extract, "extract", &inputs, &trajectory, ctx)
            .await?;
        let mut fields = Map::new();
        fields.insert("trajectory".into(), Value::Object(trajectory.clone()));
        fields.extend(extracted.into_fields());
        Ok(ReActOutcome {
            prediction: Prediction::new(fields),
            trajectory,
            steps,
            stop,
        })
    }

    /// Calls `module` with the inputs and the formatted trajectory, dropping the oldest step
    /// when the prompt outgrows the context window (at most three tries, as DSPy).
    async fn with_trajectory<M: Module>(
        &self,
        module: &M,
        name: &str,
        inputs: &Example,
        trajectory: &Map<String, Value>,
        ctx: &CallContext,
    ) -> Result<Prediction, ModuleError> {
        let child = ctx.child(name);
        let adapter = ctx.adapter_or_default();
        let mut trajectory = trajectory.clone();
        let mut last = None;
        for _ in 0..3 {
            let text = format_trajectory(&trajectory, adapter.name() == "XMLAdapter");
            match module
                .call(inputs.clone().with("trajectory", text), &child)
                .await
            {
                Err(e) if is_context_window(&e) => {
                    last = Some(e);
                    let keys: Vec<String> = trajectory.keys().cloned().collect();
                    if keys.len() <= 4 {
                        break;
                    }
                    for k in keys.iter().take(4) {
                        trajectory.remove(k);
                    }
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| ModuleError::InvalidInput {
            module: "ReAct".into(),
            message: "the trajectory exceeded the context window".into(),
        }))
    }

    async fn text_loop(
        &self,
        inputs: &Example,
        ctx: &CallContext,
        max_iters: usize,
    ) -> Result<(Map<String, Value>, usize, StopReason), ModuleError> {
        let mut trajectory = Map::new();
        let mut stop = StopReason::MaxIters;
        let mut steps = 0;
        for idx in 0..max_iters {
            let pred = match self
                .with_trajectory(&self.react, "react", inputs, &trajectory, ctx)
                .await
            {
                Ok(p) => p,
                Err(e) if is_context_window(&e) => {
                    stop = StopReason::ContextWindow(e.to_string());
                    break;
                }
                Err(e) if e.is_parse_error() => {
                    stop = StopReason::AgentError(e.to_string());
                    break;
                }
                Err(e) => return Err(e),
            };
            let thought = pred.get("next_thought").cloned().unwrap_or(json!(""));
            let tool_name = pred.get("next_tool_name").map(py_str).unwrap_or_default();
            let tool_args = pred
                .get("next_tool_args")
                .cloned()
                .unwrap_or_else(|| json!({}));
            trajectory.insert(format!("thought_{idx}"), thought);
            trajectory.insert(format!("tool_name_{idx}"), json!(tool_name));
            trajectory.insert(format!("tool_args_{idx}"), tool_args.clone());
            let observation = self.run_tool(&tool_name, &tool_args).await;
            trajectory.insert(format!("observation_{idx}"), observation);
            steps += 1;
            if tool_name == FINISH {
                stop = StopReason::Finished;
                break;
            }
        }
        Ok((trajectory, steps, stop))
    }

    /// Runs a tool by name; every failure becomes an observation.
    async fn run_tool(&self, name: &str, args: &Value) -> Value {
        let err = |msg: String| json!(format!("Execution error in {name}: {msg}"));
        if name == FINISH {
            return json!("Completed.");
        }
        let Some(tool) = self.tools.iter().find(|t| t.name() == name) else {
            let known: Vec<&str> = self.tools.iter().map(|t| t.name()).collect();
            return err(format!(
                "there is no tool named `{name}`; the tools are {}, and {FINISH}",
                known.join(", ")
            ));
        };
        let Some(args) = args.as_object() else {
            return err(format!("the arguments must be a JSON object, got {args}"));
        };
        if let Err(msg) = check_args(&tool.parameters(), args) {
            return err(msg);
        }
        let call = AssertUnwindSafe(tool.call(args.clone())).catch_unwind();
        let outcome = match self.tool_timeout {
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    return err(format!(
                        "the tool did not finish within {}",
                        humanize(limit)
                    ));
                }
            },
            None => call.await,
        };
        match outcome {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => err(e.to_string()),
            Err(payload) => err(format!(
                "the tool panicked: {}",
                panic_message(payload.as_ref())
            )),
        }
    }

    /// Native tool calling. Returns the trajectory, steps, why it stopped, and the parsed
    /// answer when the LM answered without a tool call.
    async fn native_loop(
        &self,
        inputs: &Example,
        ctx: &CallContext,
        max_iters: usize,
    ) -> Result<(Map<String, Value>, usize, StopReason, Option<Prediction>), ModuleError> {
        let react_ctx = ctx.child("react");
        let name = react_ctx.predictor_name().to_owned();
        let lm = react_ctx.resolve_lm(self.react.lm())?;
        let config = self.react.effective_config(&react_ctx, &lm);
        let adapter = self.react.adapter_for(&react_ctx);
        let signature = &self.signature;
        let checked = check_inputs(signature, inputs, &name)?;
        let messages =
            adapter
                .format(signature, &[], &checked)
                .map_err(|source| ModuleError::Format {
                    predictor: name.clone(),
                    source: Box::new(source),
                })?;
        let tools: Vec<hone_lm::Tool> = self
            .tools
            .iter()
            .map(|t| hone_lm::Tool::function(t.name(), t.description(), t.parameters()))
            .collect();
        let mut messages: Vec<hone_lm::Message> = messages.iter().map(to_lm_message).collect();
        let mut trajectory = Map::new();
        let mut steps = 0;
        let info = hone_lm::Lm::describe(&lm);
        for _ in 0..max_iters {
            let mut request = ChatRequest::new(messages.clone());
            config.apply(&mut request);
            request.tools = Some(tools.clone());
            request.tool_choice = Some(ToolChoice::auto());
            set_response_format(&mut request, adapter.response_format(signature));
            let response = send(&name, &lm, request.clone(), ctx).await?;
            let Some(choice) = response.choices.first() else {
                return Err(ModuleError::EmptyResponse {
                    predictor: name,
                    model: info.model,
                    choices: 0,
                });
            };
            let calls = choice.message.tool_calls.clone().unwrap_or_default();
            let text = choice.message.text().unwrap_or_default();
            let record = |outputs: Prediction, completion: String| TraceEntry {
                predictor: name.clone(),
                signature: signature.clone(),
                inputs: checked.clone(),
                outputs,
                completions: Vec::new(),
                lm_model: info.model.clone(),
                lm_base_url: info.base_url.clone(),
                response_model: response.model.clone(),
                usage: response.usage.clone(),
                cached: response.meta.cached,
                adapter: adapter.name(),
                messages: request.messages.clone(),
                completion,
            };
            if calls.is_empty() {
                let parsed =
                    adapter
                        .parse(signature, &text)
                        .map_err(|source| ModuleError::Parse {
                            predictor: name.clone(),
                            source: Box::new(source),
                            fallback: None,
                            truncated: response.finish_reasons().contains(&"length"),
                        })?;
                if let Some(sink) = ctx.trace() {
                    sink.push(record(parsed.clone(), text));
                }
                return Ok((trajectory, steps, StopReason::Finished, Some(parsed)));
            }
            if let Some(sink) = ctx.trace() {
                let mut out = Map::new();
                out.insert(
                    "tool_calls".into(),
                    serde_json::to_value(&calls).unwrap_or(Value::Null),
                );
                sink.push(record(Prediction::new(out), text.clone()));
            }
            let mut assistant = hone_lm::Message::assistant(text.clone());
            if text.is_empty() {
                assistant.content = None;
            }
            assistant.tool_calls = Some(calls.clone());
            messages.push(assistant);
            for call in &calls {
                let idx = steps;
                let args: Value = serde_json::from_str(&call.function.arguments)
                    .unwrap_or_else(|_| json!(call.function.arguments));
                let observation = self.run_tool(&call.function.name, &args).await;
                trajectory.insert(format!("thought_{idx}"), json!(text));
                trajectory.insert(format!("tool_name_{idx}"), json!(call.function.name));
                trajectory.insert(format!("tool_args_{idx}"), args);
                messages.push(hone_lm::Message::tool(
                    call.id.clone(),
                    format_text_value(&observation),
                ));
                trajectory.insert(format!("observation_{idx}"), observation);
                steps += 1;
            }
        }
        Ok((trajectory, steps, StopReason::MaxIters, None))
    }
}

impl Module for ReAct {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move { Ok(self.run(inputs, ctx).await?.prediction) })
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        let mut out = vec![("react".to_owned(), &self.react)];
        out.extend(crate::module::prefixed(
            "extract",
            self.extract.named_predictors(),
        ));
        out
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        let mut out = vec![("react".to_owned(), &mut self.react)];
        out.extend(crate::module::prefixed(
            "extract",
            self.extract.named_predictors_mut(),
        ));
        out
    }

    fn module_name(&self) -> &'static str {
        "ReAct"
    }
}

/// DSPy's ReAct step signature: the user's inputs, `trajectory`, and the three step outputs,
/// with the agent instructions listing the tools.
fn react_signature(
    signature: &Signature,
    tools: &[Arc<dyn Tool>],
) -> Result<Signature, SignatureError> {
    let names = |fs: &[Field]| {
        fs.iter()
            .map(|f| format!("`{}`", f.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let inputs = names(&signature.inputs);
    let outputs = names(&signature.outputs);
    let mut instr: Vec<String> = Vec::new();
    if !signature.instructions.is_empty() {
        instr.push(format!("{}\n", signature.instructions));
    }
    instr.extend([
        format!("You are an Agent. In each episode, you will be given the fields {inputs} as input. And you can see your past trajectory so far."),
        format!("Your goal is to use one or more of the supplied tools to collect any necessary information for producing {outputs}.\n"),
        "To do this, you will interleave next_thought, next_tool_name, and next_tool_args in each turn, and also when finishing the task.".to_owned(),
        "After each tool call, you receive a resulting observation, which gets appended to your trajectory.\n".to_owned(),
        "When writing next_thought, you may reason about the current situation and plan for future steps.".to_owned(),
        "When selecting the next_tool_name and its next_tool_args, the tool must be one of:\n".to_owned(),
    ]);
    // Tools in order, a user tool named `finish` replaced in place by the finish tool (as
    // DSPy's dict assignment does).
    let finish_desc = format!(
        "Marks the task as complete. That is, signals that all information for producing the outputs, i.e. {outputs}, are now available to be extracted."
    );
    let mut listed: Vec<(String, String, Value)> = Vec::new();
    for t in tools {
        if t.name() == FINISH {
            continue;
        }
        if let Some(pos) = listed.iter().position(|(n, _, _)| n == t.name()) {
            listed[pos] = (
                t.name().to_owned(),
                t.description().to_owned(),
                args_of(&**t),
            );
        } else {
            listed.push((
                t.name().to_owned(),
                t.description().to_owned(),
                args_of(&**t),
            ));
        }
    }
    let finish_at = tools.iter().position(|t| t.name() == FINISH);
    let finish = (FINISH.to_owned(), finish_desc, json!({}));
    match finish_at {
        Some(i) => listed.insert(i.min(listed.len()), finish),
        None => listed.push(finish),
    }
    for (idx, (name, desc, args)) in listed.iter().enumerate() {
        instr.push(format!("({}) {}", idx + 1, describe_tool(name, desc, args)));
    }
    instr.push(
        "When providing `next_tool_args`, the value inside the field must be in JSON format"
            .to_owned(),
    );
    let tool_names: Vec<String> = listed.iter().map(|(n, _, _)| n.clone()).collect();
    let mut sig = Signature {
        name: "StringSignature".into(),
        instructions: instr.join("\n"),
        inputs: signature.inputs.clone(),
        outputs: Vec::new(),
    };
    sig.inputs.push(Field::new("trajectory", FieldType::Str));
    sig.outputs.push(Field::new("next_thought", FieldType::Str));
    sig.outputs
        .push(Field::new("next_tool_name", FieldType::literal(tool_names)));
    sig.outputs.push(Field::new(
        "next_tool_args",
        FieldType::dict(FieldType::Str, FieldType::Any),
    ));
    sig.validate()?;
    Ok(sig)
}

/// DSPy's `format_field_value` for a text field: lists numbered, objects as JSON, the rest as
/// Python's `str()`.
pub(crate) fn format_text_value(value: &Value) -> String {
    match value {
        Value::Array(items) => match items.len() {
            0 => "N/A".to_owned(),
            1 => format_blob(&py_str(&items[0])),
            _ => items
                .iter()
                .enumerate()
                .map(|(i, v)| format!("[{}] {}", i + 1, format_blob(&py_str(v))))
                .collect::<Vec<_>>()
                .join("\n"),
        },
        Value::Object(_) => json_dumps(value),
        other => py_str(other),
    }
}

/// DSPy's `_format_blob`.
fn format_blob(blob: &str) -> String {
    if !blob.contains('\n') && !blob.contains('«') && !blob.contains('»') {
        return format!("«{blob}»");
    }
    format!("«««\n    {}\n»»»", blob.replace('\n', "\n    "))
}

/// DSPy's `_format_trajectory`: the adapter's user-message rendering of the trajectory's keys.
pub(crate) fn format_trajectory(trajectory: &Map<String, Value>, xml: bool) -> String {
    let parts: Vec<String> = trajectory
        .iter()
        .map(|(k, v)| {
            let v = format_text_value(v);
            if xml {
                format!("<{k}>\n{v}\n</{k}>")
            } else {
                format!("[[ ## {k} ## ]]\n{v}")
            }
        })
        .collect();
    py_strip(&parts.join("\n\n")).to_owned()
}

/// Whether an error says the prompt outgrew the model's context window.
fn is_context_window(e: &ModuleError) -> bool {
    match e {
        ModuleError::Lm { source, .. } => match &**source {
            LmError::Api(api) => {
                api.code.as_deref() == Some("context_length_exceeded")
                    || api.message.contains("context length")
                    || api.message.contains("context window")
                    || api.message.contains("maximum context")
            }
            _ => false,
        },
        _ => false,
    }
}

/// `1.5s`, `250ms`: a duration as a person would write it.
fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trajectory_renders_like_dspy() {
        let mut t = Map::new();
        t.insert("thought_0".into(), json!("Compute it."));
        t.insert("tool_name_0".into(), json!("calculator"));
        t.insert("tool_args_0".into(), json!({"expression": "2 + 2"}));
        t.insert("observation_0".into(), json!(4.0));
        assert_eq!(
            format_trajectory(&t, false),
            "[[ ## thought_0 ## ]]\nCompute it.\n\n[[ ## tool_name_0 ## ]]\ncalculator\n\n[[ ## tool_args_0 ## ]]\n{\"expression\": \"2 + 2\"}\n\n[[ ## observation_0 ## ]]\n4.0"
        );
        assert_eq!(format_trajectory(&Map::new(), false), "");
    }
}
