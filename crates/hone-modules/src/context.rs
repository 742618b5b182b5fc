//! The per-call context: which LM, which adapter, cache policy, trace sink, callbacks and
//! sampling overrides. It is a plain value passed to each call — nothing is read from global,
//! thread-local or task-local state.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use hone_core::adapter::{Adapter, ChatAdapter};
use hone_core::{Example, Prediction};
use hone_lm::{CallOptions, ChatRequest, ChatResponse, LmError, LmHandle};

use crate::error::ModuleError;
use crate::trace::TraceSink;

/// Sampling parameters for LM requests (hone-core's [`Sampling`]): set on a predictor
/// ([`Predict::with_config`]) or overriding it for one call ([`CallContext::with_config`]).
/// Unset values leave the request as the LM's own defaults make it.
///
/// [`Predict::with_config`]: crate::Predict::with_config
pub use hone_core::Sampling;

/// Writing sampling settings into a request.
pub(crate) trait ApplySampling {
    /// Writes the set values into a request (the rollout id as its `seed`).
    fn apply(&self, request: &mut ChatRequest);
}

impl ApplySampling for Sampling {
    fn apply(&self, request: &mut ChatRequest) {
        if let Some(t) = self.temperature {
            request.temperature = Some(t);
        }
        if let Some(p) = self.top_p {
            request.top_p = Some(p);
        }
        if let Some(m) = self.max_tokens {
            request.max_tokens = Some(m);
        }
        if let Some(n) = self.n {
            request.n = Some(n);
        }
        if let Some(seed) = self.request_seed() {
            request.seed = Some(seed);
        }
        for (k, v) in &self.extra {
            request.extra.insert(k.clone(), v.clone());
        }
    }
}

/// What a module call is, for [`Callback`]s.
#[derive(Debug, Clone, Copy)]
pub struct ModuleEvent<'a> {
    /// The module's path in the program (`""` for the top-level module).
    pub path: &'a str,
    /// The module's type name (`Predict`, `ChainOfThought`, a user type).
    pub module: &'a str,
    /// The inputs.
    pub inputs: &'a Example,
}

/// What an LM call is, for [`Callback`]s.
#[derive(Debug, Clone, Copy)]
pub struct LmEvent<'a> {
    /// The predictor making the call.
    pub predictor: &'a str,
    /// The request as sent (before the LM fills in its own defaults).
    pub request: &'a ChatRequest,
}

/// Observes module and LM calls (DSPy's `BaseCallback`). Every method has an empty default;
/// implement the ones you need. Callbacks run inline, so keep them quick; they must not
/// panic (a panicking callback propagates like any panic in the caller's code).
pub trait Callback: Send + Sync {
    /// A module call starts.
    fn on_module_start(&self, _event: &ModuleEvent<'_>) {}
    /// A module call ended.
    fn on_module_end(&self, _event: &ModuleEvent<'_>, _result: Result<&Prediction, &ModuleError>) {}
    /// An LM call starts.
    fn on_lm_start(&self, _event: &LmEvent<'_>) {}
    /// An LM call ended.
    fn on_lm_end(&self, _event: &LmEvent<'_>, _result: Result<&ChatResponse, &LmError>) {}
}

/// Hints `Refine` gives to the predictors of its module on a retry.
#[derive(Debug, Clone)]
pub(crate) struct Hints {
    /// The path of the refined module; predictor names are relative to it.
    pub base: Arc<str>,
    /// Advice by predictor name.
    pub advice: HashMap<String, String>,
}

/// The context of one call: the LM to use, adapter, cache policy, trace sink, callbacks and
/// sampling overrides. Cheap to clone (reference-counted parts), `Send + Sync`, and passed
/// explicitly to every [`Module::call`](crate::Module::call).
///
/// LM resolution for a predictor: the context's **override** ([`CallContext::with_lm_override`])
/// beats the predictor's **own LM** ([`Predict::set_lm`](crate::Predict::set_lm)), which beats
/// the context's **default** ([`CallContext::with_lm`]). No LM at all is
/// [`ModuleError::NoLm`], naming the predictor.
///
/// ```
/// use hone_modules::{CallContext, TraceSink};
/// use hone_core::adapter::JsonAdapter;
/// let trace = TraceSink::new();
/// let ctx = CallContext::new()
///     .with_adapter(JsonAdapter::new())
///     .no_cache()
///     .with_trace(trace.clone());
/// assert!(ctx.trace().is_some());
/// ```
#[derive(Clone)]
pub struct CallContext {
    lm: Option<LmHandle>,
    lm_override: Option<LmHandle>,
    extraction_lm: Option<LmHandle>,
    adapter: Option<Arc<dyn Adapter>>,
    options: CallOptions,
    trace: Option<TraceSink>,
    callbacks: Arc<Vec<Arc<dyn Callback>>>,
    config: Sampling,
    path: Arc<str>,
    pub(crate) hints: Option<Arc<Hints>>,
}

impl Default for CallContext {
    fn default() -> Self {
        CallContext {
            lm: None,
            lm_override: None,
            extraction_lm: None,
            adapter: None,
            options: CallOptions::default(),
            trace: None,
            callbacks: Arc::new(Vec::new()),
            config: Sampling::default(),
            path: Arc::from(""),
            hints: None,
        }
    }
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("lm", &self.lm)
            .field("lm_override", &self.lm_override)
            .field("extraction_lm", &self.extraction_lm)
            .field("adapter", &self.adapter)
            .field("options", &self.options)
            .field("trace", &self.trace.as_ref().map(TraceSink::len))
            .field("callbacks", &self.callbacks.len())
            .field("config", &self.config)
            .field("path", &self.path)
            .finish()
    }
}

impl CallContext {
    /// A context with no LM, the ChatAdapter, default call options and no trace.
    pub fn new() -> Self {
        CallContext::default()
    }

    /// A context whose default LM is `lm`.
    pub fn with_default_lm(lm: LmHandle) -> Self {
        CallContext::new().with_lm(lm)
    }

    /// Sets the default LM: used by predictors that have no LM of their own.
    pub fn with_lm(mut self, lm: LmHandle) -> Self {
        self.lm = Some(lm);
        self
    }

    /// Sets an LM that every predictor of this call uses, even one with its own LM.
    pub fn with_lm_override(mut self, lm: LmHandle) -> Self {
        self.lm_override = Some(lm);
        self
    }

    /// Sets the extraction LM of two-step adapters
    /// ([`TwoStepAdapter`](hone_core::adapter::TwoStepAdapter)): the LM that turns the main
    /// LM's free-form answer into the output fields, for predictors with no extraction LM of
    /// their own ([`Predict::set_extraction_lm`](crate::Predict::set_extraction_lm)). With
    /// neither, the predictor's own (main) LM extracts too. One-call adapters ignore it.
    pub fn with_extraction_lm(mut self, lm: LmHandle) -> Self {
        self.extraction_lm = Some(lm);
        self
    }

    /// Sets the adapter (default: [`ChatAdapter`]); a predictor's own adapter beats it.
    pub fn with_adapter(mut self, adapter: impl Adapter + 'static) -> Self {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// Sets a shared adapter.
    pub fn with_adapter_arc(mut self, adapter: Arc<dyn Adapter>) -> Self {
        self.adapter = Some(adapter);
        self
    }

    /// Sets the LM call options (cache opt-out, deadline, span metadata).
    pub fn with_options(mut self, options: CallOptions) -> Self {
        self.options = options;
        self
    }

    /// Opts this call's LM requests out of the response cache.
    pub fn no_cache(mut self) -> Self {
        self.options.skip_cache = true;
        self
    }

    /// Collects a [`TraceEntry`](crate::TraceEntry) per predictor run into `sink`.
    pub fn with_trace(mut self, sink: TraceSink) -> Self {
        self.trace = Some(sink);
        self
    }

    /// The same context without a trace sink.
    pub fn without_trace(mut self) -> Self {
        self.trace = None;
        self
    }

    /// Adds a callback.
    pub fn with_callback(mut self, callback: impl Callback + 'static) -> Self {
        Arc::make_mut(&mut self.callbacks).push(Arc::new(callback));
        self
    }

    /// Sets sampling overrides: values set here beat every predictor's own configuration.
    pub fn with_config(mut self, config: Sampling) -> Self {
        self.config = config;
        self
    }

    /// The context for a sub-module stored under `name`: the same context with `name` appended
    /// to the path, so the sub-module's predictors are named as DSPy's `named_predictors()`
    /// names them (`answer` + `predict` → `answer.predict`).
    ///
    /// ```
    /// use hone_modules::CallContext;
    /// let ctx = CallContext::new();
    /// assert_eq!(ctx.child("answer").child("predict").path(), "answer.predict");
    /// ```
    pub fn child(&self, name: &str) -> CallContext {
        let mut ctx = self.clone();
        ctx.path = if self.path.is_empty() {
            Arc::from(name)
        } else {
            Arc::from(format!("{}.{name}", self.path))
        };
        ctx
    }

    /// The default LM.
    pub fn lm(&self) -> Option<&LmHandle> {
        self.lm.as_ref()
    }

    /// The LM override.
    pub fn lm_override(&self) -> Option<&LmHandle> {
        self.lm_override.as_ref()
    }

    /// The extraction LM of two-step adapters set on the context, if any.
    pub fn extraction_lm(&self) -> Option<&LmHandle> {
        self.extraction_lm.as_ref()
    }

    /// Resolves the extraction LM of a predictor whose adapter makes two calls: the
    /// predictor's `own` extraction LM, then the context's, then `main` (the LM that gave the
    /// answer, so a two-step call with no extraction LM named asks the same model twice).
    pub fn resolve_extraction_lm(&self, own: Option<&LmHandle>, main: &LmHandle) -> LmHandle {
        own.or(self.extraction_lm.as_ref()).unwrap_or(main).clone()
    }

    /// The adapter set on the context, if any.
    pub fn adapter(&self) -> Option<&Arc<dyn Adapter>> {
        self.adapter.as_ref()
    }

    /// The adapter predictors use when they have none of their own: the context's, or a
    /// [`ChatAdapter`].
    pub fn adapter_or_default(&self) -> Arc<dyn Adapter> {
        self.adapter
            .clone()
            .unwrap_or_else(|| Arc::new(ChatAdapter::new()))
    }

    /// The LM call options.
    pub fn options(&self) -> &CallOptions {
        &self.options
    }

    /// The trace sink, if any.
    pub fn trace(&self) -> Option<&TraceSink> {
        self.trace.as_ref()
    }

    /// The callbacks.
    pub fn callbacks(&self) -> &[Arc<dyn Callback>] {
        &self.callbacks
    }

    /// The sampling overrides.
    pub fn config(&self) -> &Sampling {
        &self.config
    }

    /// The path of the module this context is for (`""` at the top).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The name of a predictor called with this context: the path, or `self` at the top (DSPy's
    /// name for a program that is one predictor).
    pub fn predictor_name(&self) -> &str {
        if self.path.is_empty() {
            hone_core::state::ROOT_PREDICTOR
        } else {
            &self.path
        }
    }

    /// Resolves the LM for a predictor: override, then `own`, then the default.
    pub fn resolve_lm(&self, own: Option<&LmHandle>) -> Result<LmHandle, ModuleError> {
        self.lm_override
            .as_ref()
            .or(own)
            .or(self.lm.as_ref())
            .cloned()
            .ok_or_else(|| ModuleError::NoLm {
                predictor: self.predictor_name().to_owned(),
            })
    }
}
