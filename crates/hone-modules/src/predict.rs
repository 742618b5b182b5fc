//! [`Predict`]: a signature, its demos, an optional LM of its own and sampling configuration —
//! DSPy's `dspy.Predict`.

use std::sync::Arc;

use hone_core::adapter::{Adapter, AdapterError};
use hone_core::state::PredictorState;
use hone_core::{Example, Field, FieldRole, FieldType, Prediction, Signature, SignatureError};
use hone_lm::{BoxFuture, ChatRequest, ChatResponse, LmHandle, ResponseFormat, Usage};
use serde_json::{Map, Value, json};

use crate::context::{ApplySampling, CallContext, LmEvent, Sampling};
use crate::error::{ModuleError, shorten};
use crate::module::Module;
use crate::trace::TraceEntry;

/// Anything a signature can be made from: DSPy's string form or a [`Signature`].
pub trait IntoSignature {
    /// The signature.
    fn into_signature(self) -> Result<Signature, SignatureError>;
}

impl IntoSignature for Signature {
    fn into_signature(self) -> Result<Signature, SignatureError> {
        Ok(self)
    }
}

impl IntoSignature for &Signature {
    fn into_signature(self) -> Result<Signature, SignatureError> {
        Ok(self.clone())
    }
}

impl IntoSignature for &str {
    fn into_signature(self) -> Result<Signature, SignatureError> {
        Signature::parse(self)
    }
}

impl IntoSignature for String {
    fn into_signature(self) -> Result<Signature, SignatureError> {
        Signature::parse(&self)
    }
}

/// State keys DSPy keeps per predictor that hone does not interpret, written back on save.
#[derive(Debug, Clone, Default, PartialEq)]
struct Kept {
    traces: Vec<Value>,
    train: Vec<Value>,
    extra: Map<String, Value>,
    hone_extra: Map<String, Value>,
}

/// The basic predictor (DSPy's `dspy.Predict`): formats the inputs with an adapter, calls an
/// LM, parses the answer into the signature's outputs.
///
/// A call:
/// 1. resolves the LM (the call's override, else the predictor's own, else the context's
///    default — see [`CallContext`]);
/// 2. checks the inputs: a missing input field is an error naming the fields
///    ([`ModuleError::MissingInputs`]; DSPy only warns) unless the field has a default or an
///    `Optional` type; a value that does not fit a *declared* type is an error
///    ([`ModuleError::InputType`]; DSPy warns). Fields typed `str` accept any value (it is shown
///    as text, as DSPy shows it), untyped fields of a string signature accept anything, and
///    `None` is accepted everywhere, as in DSPy. Fields not in the signature are ignored;
/// 3. formats with the adapter (the predictor's, else the context's, else [`ChatAdapter`]),
///    adds the adapter's `response_format`, applies the sampling configuration (context over
///    predictor; with `n > 1` and no temperature above 0.15, temperature 0.7, as DSPy);
/// 4. calls the LM and parses every choice; on a parse failure, retries once with the adapter's
///    fallback (ChatAdapter → JSONAdapter, as DSPy's `ChatAdapter.__call__`). With a two-step
///    adapter ([`TwoStepAdapter`]) each choice's text is instead sent to the **extraction LM**
///    (the predictor's own, [`Predict::set_extraction_lm`], else the context's,
///    [`CallContext::with_extraction_lm`], else the main LM itself) with the [`ChatAdapter`] on
///    the adapter's extraction signature, no demos and no sampling settings, as DSPy's
///    `TwoStepAdapter` does; that call falls back to the JSON adapter like any ChatAdapter call;
/// 5. pushes one [`TraceEntry`] into the call's trace sink, if it has one.
///
/// [`ChatAdapter`]: hone_core::adapter::ChatAdapter
/// [`TwoStepAdapter`]: hone_core::adapter::TwoStepAdapter
#[derive(Debug, Clone)]
pub struct Predict {
    signature: Signature,
    demos: Vec<Example>,
    lm: Option<LmHandle>,
    extraction_lm: Option<LmHandle>,
    native_reasoning: Option<String>,
    lm_settings: Option<Value>,
    config: Sampling,
    adapter: Option<Arc<dyn Adapter>>,
    kept: Kept,
    lenient_inputs: bool,
}

/// The request parameter that turns native reasoning on.
const REASONING_EFFORT: &str = "reasoning_effort";

/// How a call treats its `dspy.Reasoning` output field.
struct NativeReasoning {
    /// The field.
    field: String,
    /// Whether the LM reasons natively, so the field is left out of the prompt.
    removed: bool,
}

/// Where a failed attempt went wrong: the answer did not parse, or something else.
enum AttemptError {
    /// The adapter's error, the usage of the failed call, and whether the LM stopped at its
    /// output limit.
    Parse(Box<(AdapterError, Option<Usage>, bool)>),
    Other(ModuleError),
}

/// A parsed LM answer.
struct Attempt {
    predictions: Vec<Prediction>,
    response: ChatResponse,
    request: ChatRequest,
    completion: String,
    /// The usage of the extraction calls of a two-step adapter.
    extraction_usage: Option<Usage>,
}

impl Predict {
    /// A predictor for a signature (DSPy's string form or a [`Signature`]).
    ///
    /// ```
    /// use hone_modules::Predict;
    /// let p = Predict::new("question -> answer: int").unwrap();
    /// assert_eq!(p.signature().outputs[0].name, "answer");
    /// ```
    pub fn new(signature: impl IntoSignature) -> Result<Self, SignatureError> {
        Ok(Self::from_signature(signature.into_signature()?))
    }

    /// A predictor for a signature value (cannot fail).
    pub fn from_signature(signature: Signature) -> Self {
        Predict {
            signature,
            demos: Vec::new(),
            lm: None,
            extraction_lm: None,
            native_reasoning: None,
            lm_settings: None,
            config: Sampling::default(),
            adapter: None,
            kept: Kept::default(),
            lenient_inputs: false,
        }
    }

    /// Skips the input type check (for internal predictors whose inputs DSPy passes as text).
    pub(crate) fn set_lenient_inputs(&mut self) {
        self.lenient_inputs = true;
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The signature, mutably (optimizers rewrite instructions, prefixes and descriptions).
    pub fn signature_mut(&mut self) -> &mut Signature {
        &mut self.signature
    }

    /// Replaces the signature.
    pub fn set_signature(&mut self, signature: Signature) {
        self.signature = signature;
    }

    /// The demos.
    pub fn demos(&self) -> &[Example] {
        &self.demos
    }

    /// Replaces the demos.
    pub fn set_demos(&mut self, demos: Vec<Example>) {
        self.demos = demos;
    }

    /// Sets the demos (builder style).
    pub fn with_demos(mut self, demos: Vec<Example>) -> Self {
        self.demos = demos;
        self
    }

    /// The predictor's own LM, if any.
    pub fn lm(&self) -> Option<&LmHandle> {
        self.lm.as_ref()
    }

    /// Gives the predictor an LM of its own (`None`: use the context's).
    pub fn set_lm(&mut self, lm: Option<LmHandle>) {
        self.lm = lm;
    }

    /// Gives the predictor an LM of its own (builder style).
    pub fn with_lm(mut self, lm: LmHandle) -> Self {
        self.lm = Some(lm);
        self
    }

    /// The predictor's own extraction LM (for a two-step adapter), if any.
    pub fn extraction_lm(&self) -> Option<&LmHandle> {
        self.extraction_lm.as_ref()
    }

    /// Gives the predictor an extraction LM of its own, used when its adapter makes two calls
    /// ([`TwoStepAdapter`](hone_core::adapter::TwoStepAdapter)); `None`: the context's, else
    /// the main LM.
    pub fn set_extraction_lm(&mut self, lm: Option<LmHandle>) {
        self.extraction_lm = lm;
    }

    /// Gives the predictor an extraction LM of its own (builder style).
    pub fn with_extraction_lm(mut self, lm: LmHandle) -> Self {
        self.extraction_lm = Some(lm);
        self
    }

    /// The output field typed as DSPy's `dspy.Reasoning`, if any (see
    /// [`Predict::set_native_reasoning`]).
    pub fn native_reasoning(&self) -> Option<&str> {
        self.native_reasoning.as_deref()
    }

    /// Marks an output field as DSPy's `dspy.Reasoning` type, which reasoning models fill
    /// natively, as DSPy 3.4's `Reasoning.adapt_to_native_lm_feature` and
    /// `parse_lm_response` do:
    ///
    /// * when the LM reasons natively ([`LmInfo::supports_reasoning`](hone_lm::LmInfo)) and
    ///   `reasoning_effort` is not set to `null` (in the call's or predictor's extra sampling
    ///   parameters, else the LM's), the field is left out of the prompt, the request carries
    ///   `reasoning_effort` (that setting, default `"low"`), and the field is the response's
    ///   `reasoning_content` (`null` when it has none). DSPy skips GPT-5 models on the chat
    ///   completions API (a LiteLLM limitation), and so does this;
    /// * otherwise the field stays in the prompt and is parsed from the answer, but a response
    ///   that carries `reasoning_content` still replaces it.
    ///
    /// Two-step adapters do neither, as DSPy's `TwoStepAdapter` does not.
    pub fn set_native_reasoning(&mut self, field: Option<String>) {
        self.native_reasoning = field;
    }

    /// The LM settings read from a saved state (DSPy's `lm.dump_state()`), if any. Loading
    /// state never builds an LM; use these to build one and pass it to [`Predict::set_lm`].
    pub fn saved_lm_settings(&self) -> Option<&Value> {
        self.lm_settings.as_ref()
    }

    /// The sampling configuration.
    pub fn config(&self) -> &Sampling {
        &self.config
    }

    /// Sets the sampling configuration (DSPy's `**config`).
    pub fn with_config(mut self, config: Sampling) -> Self {
        self.config = config;
        self
    }

    /// Sets the sampling configuration.
    pub fn set_config(&mut self, config: Sampling) {
        self.config = config;
    }

    /// Gives the predictor its own adapter, beating the context's.
    pub fn with_adapter(mut self, adapter: impl Adapter + 'static) -> Self {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// The predictor's state, as saved.
    pub fn dump_state(&self) -> PredictorState {
        let mut state = PredictorState::new(self.signature.clone());
        state.demos = self.demos.clone();
        state.lm = self
            .lm_settings
            .clone()
            .or_else(|| self.lm.as_ref().map(lm_settings));
        state.traces = self.kept.traces.clone();
        state.train = self.kept.train.clone();
        state.extra = self.kept.extra.clone();
        state.hone_extra = self.kept.hone_extra.clone();
        state
    }

    /// Applies a saved state: signature, demos, LM settings (kept as data) and other keys.
    pub fn apply_state(&mut self, state: &PredictorState) {
        self.signature = state.signature.clone();
        self.demos = state.demos.clone();
        self.lm_settings = state.lm.clone();
        self.kept = Kept {
            traces: state.traces.clone(),
            train: state.train.clone(),
            extra: state.extra.clone(),
            hone_extra: state.hone_extra.clone(),
        };
    }

    /// Runs the predictor and returns the parsed outputs of every choice (more than one when
    /// the configuration asks for `n > 1`).
    pub async fn forward_all(
        &self,
        inputs: Example,
        ctx: &CallContext,
    ) -> Result<Vec<Prediction>, ModuleError> {
        self.run(inputs, ctx).await
    }

    /// The signature and inputs of a call, after hints and input checks.
    pub(crate) fn prepare(
        &self,
        inputs: Example,
        ctx: &CallContext,
    ) -> Result<(Signature, Example), ModuleError> {
        let name = ctx.predictor_name();
        let mut signature = self.signature.clone();
        let mut inputs = inputs;
        if let Some(hints) = &ctx.hints {
            let relative = relative_name(ctx.path(), &hints.base);
            let advice = hints
                .advice
                .get(&relative)
                .cloned()
                .unwrap_or_else(|| "N/A".to_owned());
            if signature.field("hint_").is_none() {
                signature = signature
                    .with_field_at(
                        FieldRole::Input,
                        usize::MAX,
                        Field::new("hint_", FieldType::Str)
                            .desc("A hint to the module from an earlier run"),
                    )
                    .map_err(|source| ModuleError::Signature {
                        module: name.to_owned(),
                        source,
                    })?;
            }
            inputs.insert("hint_", advice);
        }
        let inputs = if self.lenient_inputs {
            check_inputs_with(&signature, &inputs, name, false)?
        } else {
            check_inputs(&signature, &inputs, name)?
        };
        Ok((signature, inputs))
    }

    /// The effective sampling configuration for a call with `lm`.
    pub(crate) fn effective_config(&self, ctx: &CallContext, lm: &LmHandle) -> Sampling {
        let mut config = self.config.merged(ctx.config());
        let defaults = hone_lm::Lm::describe(lm).defaults;
        let temperature = config.temperature.or(defaults.temperature);
        let n = config.n.unwrap_or(1);
        if n > 1 && temperature.is_none_or(|t| t <= 0.15) {
            config.temperature = Some(0.7);
        }
        config
    }

    /// DSPy's `Reasoning.adapt_to_native_lm_feature` for the field marked with
    /// [`Predict::set_native_reasoning`]: whether the LM fills it natively (then
    /// `reasoning_effort` is set in `config` and the field leaves the prompt).
    fn plan_reasoning(
        &self,
        signature: &Signature,
        lm: &LmHandle,
        config: &mut Sampling,
    ) -> Option<NativeReasoning> {
        let field = self.native_reasoning.as_ref()?;
        signature.outputs.iter().find(|f| &f.name == field)?;
        let info = hone_lm::Lm::describe(lm);
        let effort = config
            .extra
            .get(REASONING_EFFORT)
            .or(info.defaults.extra.get(REASONING_EFFORT))
            .cloned()
            .unwrap_or_else(|| Value::String("low".into()));
        let native = !effort.is_null() && info.supports_reasoning && !info.model.contains("gpt-5");
        if native {
            config.extra.insert(REASONING_EFFORT.into(), effort);
        }
        Some(NativeReasoning {
            field: field.clone(),
            removed: native,
        })
    }

    /// The adapter of a call.
    pub(crate) fn adapter_for(&self, ctx: &CallContext) -> Arc<dyn Adapter> {
        self.adapter
            .clone()
            .unwrap_or_else(|| ctx.adapter_or_default())
    }

    async fn run(
        &self,
        inputs: Example,
        ctx: &CallContext,
    ) -> Result<Vec<Prediction>, ModuleError> {
        let name = ctx.predictor_name().to_owned();
        let lm = ctx.resolve_lm(self.lm.as_ref())?;
        let (signature, inputs) = self.prepare(inputs, ctx)?;
        let mut config = self.effective_config(ctx, &lm);
        let adapter = self.adapter_for(ctx);
        let native = match adapter.extraction_signature(&signature) {
            Some(_) => None,
            None => self.plan_reasoning(&signature, &lm, &mut config),
        };
        let prompt_signature = match &native {
            Some(n) if n.removed => {
                signature
                    .without_field(&n.field)
                    .map_err(|source| ModuleError::Signature {
                        module: name.clone(),
                        source,
                    })?
            }
            _ => signature.clone(),
        };
        let extraction_lm = ctx.resolve_extraction_lm(self.extraction_lm.as_ref(), &lm);
        let call = Call {
            name: &name,
            lm: &lm,
            extraction_lm: &extraction_lm,
            config: &config,
            ctx,
        };

        let (mut attempt, used, earlier_usage) =
            match attempt(&call, &*adapter, &prompt_signature, &self.demos, &inputs).await {
                Ok(a) => (a, adapter.name(), None),
                Err(AttemptError::Other(e)) => return Err(e),
                Err(AttemptError::Parse(failed)) => {
                    let (first, usage, truncated) = *failed;
                    let first = Box::new(first);
                    let Some(kind) = adapter.fallback() else {
                        return Err(ModuleError::Parse {
                            predictor: name,
                            source: first,
                            fallback: None,
                            truncated,
                        });
                    };
                    let fallback = kind.adapter();
                    match attempt(&call, &*fallback, &prompt_signature, &self.demos, &inputs).await
                    {
                        Ok(a) => (a, fallback.name(), usage),
                        Err(AttemptError::Other(e)) => return Err(e),
                        Err(AttemptError::Parse(second)) => {
                            return Err(ModuleError::Parse {
                                predictor: name,
                                source: first,
                                fallback: Some(Box::new(second.0)),
                                truncated: truncated || second.2,
                            });
                        }
                    }
                }
            };

        if let Some(native) = &native {
            for (prediction, choice) in attempt
                .predictions
                .iter_mut()
                .zip(&attempt.response.choices)
            {
                match choice.message.reasoning() {
                    Some(reasoning) => {
                        prediction.insert(native.field.clone(), reasoning);
                    }
                    None if native.removed => {
                        prediction.insert(native.field.clone(), Value::Null);
                    }
                    None => {}
                }
            }
        }

        if let Some(sink) = ctx.trace() {
            let info = hone_lm::Lm::describe(&lm);
            let usage = sum_usage(
                sum_usage(earlier_usage, attempt.response.usage.clone()),
                attempt.extraction_usage.clone(),
            );
            sink.push(TraceEntry {
                predictor: name,
                signature,
                inputs,
                outputs: attempt.predictions.first().cloned().unwrap_or_default(),
                completions: if attempt.predictions.len() > 1 {
                    attempt.predictions.clone()
                } else {
                    Vec::new()
                },
                lm_model: info.model,
                lm_base_url: info.base_url,
                response_model: attempt.response.model.clone(),
                usage,
                cached: attempt.response.meta.cached,
                adapter: used,
                messages: attempt.request.messages,
                completion: attempt.completion,
            });
        }
        Ok(attempt.predictions)
    }
}

impl Module for Predict {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move {
            let mut all = self.run(inputs, ctx).await?;
            // `run` returns at least one prediction.
            Ok(if all.is_empty() {
                Prediction::default()
            } else {
                all.swap_remove(0)
            })
        })
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        vec![(hone_core::state::ROOT_PREDICTOR.to_owned(), self)]
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        vec![(hone_core::state::ROOT_PREDICTOR.to_owned(), self)]
    }

    fn module_name(&self) -> &'static str {
        "Predict"
    }
}

/// A predictor's path relative to a module's path (`self` for the module itself).
pub(crate) fn relative_name(path: &str, base: &str) -> String {
    let rest = path.strip_prefix(base).unwrap_or(path);
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    if rest.is_empty() {
        hone_core::state::ROOT_PREDICTOR.to_owned()
    } else {
        rest.to_owned()
    }
}

/// DSPy-like LM settings for a saved state: the model and the sampling defaults.
fn lm_settings(lm: &LmHandle) -> Value {
    let info = hone_lm::Lm::describe(lm);
    let mut out = Map::new();
    out.insert("model".into(), json!(info.model));
    if let Some(t) = info.defaults.temperature {
        out.insert("temperature".into(), json!(t));
    }
    if let Some(m) = info.defaults.max_tokens {
        out.insert("max_tokens".into(), json!(m));
    }
    if let Some(p) = info.defaults.top_p {
        out.insert("top_p".into(), json!(p));
    }
    Value::Object(out)
}

fn sum_usage(a: Option<Usage>, b: Option<Usage>) -> Option<Usage> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.prompt_tokens += b.prompt_tokens;
            a.completion_tokens += b.completion_tokens;
            a.total_tokens += b.total_tokens;
            Some(a)
        }
        (a, b) => a.or(b),
    }
}

/// Checks and selects the signature's input fields from `inputs` (see [`Predict`]).
pub(crate) fn check_inputs(
    signature: &Signature,
    inputs: &Example,
    predictor: &str,
) -> Result<Example, ModuleError> {
    check_inputs_with(signature, inputs, predictor, true)
}

fn check_inputs_with(
    signature: &Signature,
    inputs: &Example,
    predictor: &str,
    check_types: bool,
) -> Result<Example, ModuleError> {
    let mut out = Map::new();
    let mut missing = Vec::new();
    for f in &signature.inputs {
        match inputs.get(&f.name) {
            Some(value) => {
                if check_types && !input_fits(f, value) {
                    return Err(ModuleError::InputType {
                        predictor: predictor.to_owned(),
                        field: f.name.clone(),
                        expected: f.ty.python_name(),
                        value: shorten(&value.to_string(), 200),
                    });
                }
                out.insert(f.name.clone(), value.clone());
            }
            None => {
                if let Some(d) = &f.default {
                    out.insert(f.name.clone(), d.clone());
                } else if !f.ty.allows_null() {
                    missing.push(f.name.clone());
                }
            }
        }
    }
    if !missing.is_empty() {
        return Err(ModuleError::MissingInputs {
            predictor: predictor.to_owned(),
            signature: signature.field_string(),
            missing,
            given: inputs.fields().keys().cloned().collect(),
        });
    }
    let keys: Vec<String> = out.keys().cloned().collect();
    Ok(Example::from_map(out).with_inputs(keys))
}

/// Whether an input value fits its field (see [`Predict`] for the rules).
fn input_fits(field: &Field, value: &Value) -> bool {
    !field.type_declared || value.is_null() || field.ty == FieldType::Str || field.ty.accepts(value)
}

/// Converts an adapter message to a chat message: text, or for a user message with images
/// the content parts DSPy sends (text, `image_url`, text).
///
/// ```
/// use hone_core::adapter::{Adapter, ChatAdapter};
/// use hone_core::{Example, Signature};
///
/// let sig = Signature::parse("photo: Image -> caption").unwrap();
/// let inputs = Example::from_json(serde_json::json!({"photo": "https://example.com/a.png"})).unwrap();
/// let messages = ChatAdapter::new().format(&sig, &[], &inputs).unwrap();
/// let user = hone_modules::to_lm_message(&messages[1]);
/// let Some(hone_lm::Content::Parts(parts)) = user.content else { panic!("parts") };
/// assert!(matches!(&parts[1], hone_lm::ContentPart::ImageUrl { image_url } if image_url.url == "https://example.com/a.png"));
/// ```
pub fn to_lm_message(m: &hone_core::Message) -> hone_lm::Message {
    let content = match m.parts().and_then(|parts| {
        serde_json::from_value::<Vec<hone_lm::ContentPart>>(Value::Array(parts)).ok()
    }) {
        Some(parts) => hone_lm::Content::Parts(parts),
        None => hone_lm::Content::Text(m.content.clone()),
    };
    match m.role {
        hone_core::Role::System => hone_lm::Message::system(content),
        hone_core::Role::User => hone_lm::Message::user(content),
        hone_core::Role::Assistant => hone_lm::Message::assistant(content),
    }
}

/// Sets the adapter's `response_format` on a request.
pub(crate) fn set_response_format(request: &mut ChatRequest, format: Option<Value>) {
    if let Some(format) = format {
        match serde_json::from_value::<ResponseFormat>(format.clone()) {
            Ok(f) => request.response_format = Some(f),
            Err(_) => {
                request.extra.insert("response_format".into(), format);
            }
        }
    }
}

/// Sends a request with callbacks around it; the error names the predictor.
pub(crate) async fn send(
    name: &str,
    lm: &LmHandle,
    request: ChatRequest,
    ctx: &CallContext,
) -> Result<ChatResponse, ModuleError> {
    let callbacks = ctx.callbacks();
    let kept = (!callbacks.is_empty()).then(|| request.clone());
    if let Some(request) = &kept {
        let event = LmEvent {
            predictor: name,
            request,
        };
        for cb in callbacks {
            cb.on_lm_start(&event);
        }
    }
    let result = hone_lm::Lm::chat(lm, request, ctx.options()).await;
    if let Some(request) = &kept {
        let event = LmEvent {
            predictor: name,
            request,
        };
        for cb in callbacks {
            cb.on_lm_end(&event, result.as_ref());
        }
    }
    result.map_err(|source| ModuleError::Lm {
        predictor: name.to_owned(),
        model: hone_lm::Lm::describe(lm).model,
        source: Box::new(source),
    })
}

/// What every attempt of one predictor call shares.
struct Call<'a> {
    /// The predictor's name.
    name: &'a str,
    /// The LM that answers.
    lm: &'a LmHandle,
    /// The LM of a two-step adapter's extraction call.
    extraction_lm: &'a LmHandle,
    /// The sampling settings of the answering call.
    config: &'a Sampling,
    ctx: &'a CallContext,
}

/// Formats, sends and parses with one adapter (for a two-step adapter, the parse is the
/// extraction call; see [`extract`]).
async fn attempt(
    call: &Call<'_>,
    adapter: &dyn Adapter,
    signature: &Signature,
    demos: &[Example],
    inputs: &Example,
) -> Result<Attempt, AttemptError> {
    let name = call.name;
    let lm = call.lm;
    let messages = adapter.format(signature, demos, inputs).map_err(|source| {
        AttemptError::Other(ModuleError::Format {
            predictor: name.to_owned(),
            source: Box::new(source),
        })
    })?;
    let mut request = ChatRequest::new(messages.iter().map(to_lm_message).collect());
    call.config.apply(&mut request);
    set_response_format(&mut request, adapter.response_format(signature));
    let response = send(name, lm, request.clone(), call.ctx)
        .await
        .map_err(AttemptError::Other)?;
    let texts: Vec<String> = response
        .choices
        .iter()
        .filter_map(|c| c.message.text())
        .collect();
    if texts.is_empty() || texts.len() < response.choices.len() {
        return Err(AttemptError::Other(ModuleError::EmptyResponse {
            predictor: name.to_owned(),
            model: hone_lm::Lm::describe(lm).model,
            choices: response.choices.len(),
        }));
    }
    let mut predictions = Vec::with_capacity(texts.len());
    let mut extraction_usage = None;
    if let Some(extraction) = adapter.extraction_signature(signature) {
        for text in &texts {
            let (prediction, usage) = extract(call, &extraction, text).await?;
            predictions.push(prediction);
            extraction_usage = sum_usage(extraction_usage, usage);
        }
    } else {
        for text in &texts {
            match adapter.parse(signature, text) {
                Ok(p) => predictions.push(p),
                Err(e) if e.is_parse_error() => {
                    let truncated = response.finish_reasons().contains(&"length");
                    return Err(AttemptError::Parse(Box::new((
                        e,
                        response.usage.clone(),
                        truncated,
                    ))));
                }
                Err(source) => {
                    return Err(AttemptError::Other(ModuleError::Format {
                        predictor: name.to_owned(),
                        source: Box::new(source),
                    }));
                }
            }
        }
    }
    let completion = texts.into_iter().next().unwrap_or_default();
    Ok(Attempt {
        predictions,
        response,
        request,
        completion,
        extraction_usage,
    })
}

/// A two-step adapter's second call: the extraction LM reads the main LM's `text` with the
/// [`ChatAdapter`](hone_core::adapter::ChatAdapter) on the extraction signature (no demos, no
/// sampling settings), falling back to the JSON adapter as any ChatAdapter call does. A
/// failure of both is the predictor's parse error.
fn extract<'a>(
    call: &'a Call<'a>,
    extraction: &'a Signature,
    text: &'a str,
) -> BoxFuture<'a, Result<(Prediction, Option<Usage>), AttemptError>> {
    Box::pin(async move {
        let mut inputs = Example::new();
        inputs.insert(hone_core::adapter::EXTRACTION_TEXT_FIELD, text);
        let plain = Sampling::default();
        let second = Call {
            lm: call.extraction_lm,
            config: &plain,
            ..*call
        };
        let chat = hone_core::adapter::ChatAdapter::new();
        let (first, usage, truncated) =
            match attempt(&second, &chat, extraction, &[], &inputs).await {
                Ok(mut a) => {
                    let usage = a.response.usage.clone();
                    return Ok((a.predictions.swap_remove(0), usage));
                }
                Err(AttemptError::Other(e)) => return Err(AttemptError::Other(e)),
                Err(AttemptError::Parse(failed)) => *failed,
            };
        let fallback = chat.fallback().map(|kind| kind.adapter());
        let Some(fallback) = fallback else {
            return Err(AttemptError::Other(ModuleError::Parse {
                predictor: call.name.to_owned(),
                source: Box::new(first),
                fallback: None,
                truncated,
            }));
        };
        match attempt(&second, &*fallback, extraction, &[], &inputs).await {
            Ok(mut a) => {
                let usage = sum_usage(usage, a.response.usage.clone());
                Ok((a.predictions.swap_remove(0), usage))
            }
            Err(AttemptError::Other(e)) => Err(AttemptError::Other(e)),
            Err(AttemptError::Parse(second)) => Err(AttemptError::Other(ModuleError::Parse {
                predictor: call.name.to_owned(),
                source: Box::new(first),
                fallback: Some(Box::new(second.0)),
                truncated: truncated || second.2,
            })),
        }
    })
}
