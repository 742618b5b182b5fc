//! The runnable form of a declarative program: stages run in order, each reading its inputs
//! from the program's inputs or earlier stages' outputs.

use std::collections::HashMap;
use std::sync::Arc;

use hone_core::adapter::Adapter;
use hone_core::state::ProgramState;
use hone_core::{Example, Prediction};
use hone_lm::{BoxFuture, LmHandle};
use hone_modules::{
    BestOfN, CallContext, ChainOfThought, Module, ModuleError, Predict, ReAct, Refine, prefixed,
};
use serde_json::{Map, Value};

use super::lms::Lms;
use super::load::{Program, Source, Stage};
use super::spec::{ModuleKind, RewardSpec};
use crate::error::{Error, Result};
use crate::tools::tool;

/// The module a `best_of_n` or `refine` stage attempts.
#[derive(Debug, Clone)]
pub enum Inner {
    /// A predict.
    Predict(Predict),
    /// A chain of thought.
    ChainOfThought(ChainOfThought),
}

impl Module for Inner {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, std::result::Result<Prediction, ModuleError>> {
        match self {
            Inner::Predict(p) => p.forward(inputs, ctx),
            Inner::ChainOfThought(c) => c.forward(inputs, ctx),
        }
    }
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        match self {
            Inner::Predict(p) => p.named_predictors(),
            Inner::ChainOfThought(c) => c.named_predictors(),
        }
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        match self {
            Inner::Predict(p) => p.named_predictors_mut(),
            Inner::ChainOfThought(c) => c.named_predictors_mut(),
        }
    }
    fn module_name(&self) -> &'static str {
        match self {
            Inner::Predict(p) => p.module_name(),
            Inner::ChainOfThought(c) => c.module_name(),
        }
    }
}

/// A stage's module.
#[derive(Clone)]
enum StageModule {
    Predict(Predict),
    ChainOfThought(ChainOfThought),
    React(ReAct),
    BestOfN(BestOfN<Inner>),
    Refine(Refine<Inner>),
}

impl StageModule {
    fn as_module(&self) -> &dyn Module {
        match self {
            StageModule::Predict(m) => m,
            StageModule::ChainOfThought(m) => m,
            StageModule::React(m) => m,
            StageModule::BestOfN(m) => m,
            StageModule::Refine(m) => m,
        }
    }
    fn as_module_mut(&mut self) -> &mut dyn Module {
        match self {
            StageModule::Predict(m) => m,
            StageModule::ChainOfThought(m) => m,
            StageModule::React(m) => m,
            StageModule::BestOfN(m) => m,
            StageModule::Refine(m) => m,
        }
    }
}

#[derive(Clone)]
struct RunStage {
    name: String,
    inputs: Vec<(String, Source)>,
    adapter: Arc<dyn Adapter>,
    module: StageModule,
}

/// A declarative program as a [`Module`]: its predictors are named `STAGE` (predict),
/// `STAGE.predict` (chain of thought), `STAGE.react` / `STAGE.extract.predict` (react) and
/// `STAGE.module[.predict]` (best of n, refine); a lone stage named `self` is the program
/// itself (`self`, `predict`, `react` / `extract.predict`).
#[derive(Clone)]
pub struct Pipeline {
    stages: Vec<RunStage>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field(
                "stages",
                &self
                    .stages
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn reward_fn(
    spec: &RewardSpec,
    outputs: Vec<String>,
) -> impl Fn(&Example, &Prediction) -> f64 + Send + Sync + 'static {
    let spec = spec.clone();
    move |_ex: &Example, pred: &Prediction| {
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let ok = match &spec.field {
            None => outputs.iter().all(|o| !text(pred.get(o)).is_empty()),
            Some(f) => {
                let t = text(pred.get(f));
                !t.is_empty()
                    && spec
                        .one_of
                        .as_ref()
                        .is_none_or(|allowed| allowed.iter().any(|a| a.eq_ignore_ascii_case(&t)))
                    && spec.max_chars.is_none_or(|m| t.chars().count() <= m)
            }
        };
        if ok { 1.0 } else { 0.0 }
    }
}

fn build_stage(stage: &Stage, dir: &std::path::Path) -> Result<StageModule> {
    let sig = stage.signature.clone();
    let sig_err =
        |e: hone_core::SignatureError| Error::Usage(format!("stage `{}`: {e}", stage.name));
    let inner = || -> Result<Inner> {
        Ok(match stage.inner {
            ModuleKind::ChainOfThought => {
                Inner::ChainOfThought(ChainOfThought::new(sig.clone()).map_err(sig_err)?)
            }
            _ => Inner::Predict(Predict::from_signature(sig.clone())),
        })
    };
    let outputs: Vec<String> = sig.outputs.iter().map(|f| f.name.clone()).collect();
    Ok(match stage.kind {
        ModuleKind::Predict => StageModule::Predict(Predict::from_signature(sig)),
        ModuleKind::ChainOfThought => {
            StageModule::ChainOfThought(ChainOfThought::new(sig).map_err(sig_err)?)
        }
        ModuleKind::React => {
            let tools = stage.tools.iter().filter_map(|t| tool(t, dir)).collect();
            let mut r = ReAct::new(sig, tools).map_err(sig_err)?;
            if let Some(n) = stage.max_iters {
                r = r.with_max_iters(n);
            }
            if let Some(limit) = stage.tool_timeout {
                r = r.with_tool_timeout(limit);
            }
            StageModule::React(r)
        }
        ModuleKind::BestOfN => StageModule::BestOfN(BestOfN::new(
            inner()?,
            stage.n,
            reward_fn(&stage.reward, outputs),
            stage.threshold,
        )),
        ModuleKind::Refine => StageModule::Refine(Refine::new(
            inner()?,
            stage.n,
            reward_fn(&stage.reward, outputs),
            stage.threshold,
        )),
    })
}

impl Program {
    /// The program's structure: its predictors' names and signatures, as the pipeline names
    /// them (what a saved state of this program holds).
    pub fn structure(&self) -> Result<hone_core::state::ProgramStructure> {
        Ok(Pipeline::build(self, None)?.structure())
    }

    /// A fresh state of the program: its predictors with the file's signatures and
    /// instructions, no demos.
    pub fn fresh_state(&self) -> Result<ProgramState> {
        Ok(ProgramState::from_structure(&self.structure()?))
    }
}

/// A stage's predictors under its name; a stage named `self` is the whole program, so its
/// predictors keep the module's own names (`self`, `predict`, `react` and `extract.predict`),
/// as DSPy names a root module's predictors.
fn stage_prefixed<P>(stage: &str, inner: Vec<(String, P)>) -> Vec<(String, P)> {
    if stage == hone_core::state::ROOT_PREDICTOR {
        inner
    } else {
        prefixed(stage, inner)
    }
}

/// The LM that extracts the outputs of a stage with `adapter = "two_step"` from the main LM's
/// answer: `[lm.extraction]`. Without it, the stage's own LM extracts too.
pub const EXTRACTION_LM: &str = "extraction";

impl Pipeline {
    /// Builds the program's modules; stages that name an LM get it from `lms` (the others
    /// use the call context's LM), and `two_step` stages their extraction LM
    /// ([`EXTRACTION_LM`]).
    pub fn build(program: &Program, lms: Option<&Lms>) -> Result<Pipeline> {
        let mut stages = Vec::new();
        for stage in &program.stages {
            let mut module = build_stage(stage, &program.dir())?;
            if let (Some(lm), Some(lms)) = (&stage.lm, lms) {
                let handle: LmHandle = lms.get(lm.get_ref())?;
                for (_, p) in module.as_module_mut().named_predictors_mut() {
                    p.set_lm(Some(handle.clone()));
                }
            }
            if stage.adapter.is_two_step()
                && let Some(extraction) = lms.and_then(|l| l.handles.get(EXTRACTION_LM))
            {
                for (_, p) in module.as_module_mut().named_predictors_mut() {
                    p.set_extraction_lm(Some(extraction.clone()));
                }
            }
            stages.push(RunStage {
                name: stage.name.clone(),
                inputs: stage.inputs.clone(),
                adapter: Arc::from(stage.adapter.adapter()),
                module,
            });
        }
        Ok(Pipeline { stages })
    }

    /// The pipeline with a saved state loaded (errors name the state's problem).
    pub fn with_state(mut self, state: &ProgramState) -> Result<Pipeline> {
        self.load_state(state)
            .map_err(|e| Error::Usage(format!("the state does not fit the program: {e}")))?;
        Ok(self)
    }
}

impl Module for Pipeline {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, std::result::Result<Prediction, ModuleError>> {
        Box::pin(async move {
            let mut outputs: HashMap<&str, Prediction> = HashMap::new();
            let mut merged = Map::new();
            for stage in &self.stages {
                let mut ex = Example::new();
                for (field, source) in &stage.inputs {
                    let value = match source {
                        Source::Input(f) => inputs.get(f),
                        Source::Stage { stage, field } => {
                            outputs.get(stage.as_str()).and_then(|p| p.get(field))
                        }
                    };
                    if let Some(v) = value {
                        ex.insert(field.clone(), v.clone());
                    }
                }
                let names: Vec<&str> = stage.inputs.iter().map(|(f, _)| f.as_str()).collect();
                let ex = ex.with_inputs(names);
                // A `self` stage is the program itself: its predictors' paths carry no prefix.
                let sctx = if stage.name == hone_core::state::ROOT_PREDICTOR {
                    ctx.clone()
                } else {
                    ctx.child(&stage.name)
                }
                .with_adapter_arc(stage.adapter.clone());
                let pred = stage.module.as_module().call(ex, &sctx).await?;
                for (k, v) in pred.fields() {
                    merged.insert(k.clone(), v.clone());
                }
                outputs.insert(stage.name.as_str(), pred);
            }
            Ok(Prediction::new(merged))
        })
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.stages
            .iter()
            .flat_map(|s| stage_prefixed(&s.name, s.module.as_module().named_predictors()))
            .collect()
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.stages
            .iter_mut()
            .flat_map(|s| {
                let name = s.name.clone();
                stage_prefixed(&name, s.module.as_module_mut().named_predictors_mut())
            })
            .collect()
    }

    fn module_name(&self) -> &'static str {
        "Pipeline"
    }
}
