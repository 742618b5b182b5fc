//! [`KnnFewShot`]: at call time, find the training examples nearest to the inputs and compile
//! the student on them with `BootstrapFewShot` — DSPy's `dspy.KNNFewShot`, as a module.
//!
//! The trainset is embedded once, on the first call, through the LM client's `/v1/embeddings`
//! (DSPy's `Embedder`); each call embeds its inputs, takes the `k` most similar examples
//! (cosine, see [`hone_optimize::knn`]), runs a `BootstrapFewShot` over them in process (the
//! teacher calls run concurrently), and answers with the compiled student. As in DSPy, every
//! call bootstraps anew; a response cache on the LM makes repeated neighbourhoods cheap.

use std::sync::Arc;

use hone_core::state::ProgramState;
use hone_core::{Example, Prediction};
use hone_lm::{BoxFuture, CallOptions, EmbeddingRequest, EmbeddingVector, Lm, LmHandle};
use hone_modules::{CallContext, Module, ModuleError, Predict};
use hone_optimize::knn::{embedding_text, top_k};
use hone_optimize::{BootstrapConfig, BootstrapFewShot};
use tokio::sync::OnceCell;

use crate::driver::{DriverConfig, run_optimizer};
use crate::executor::{InProcessExecutor, template_factory};
use crate::metric::{Metric, metric_fn};

/// DSPy's `KNNFewShot` as a module wrapping a student program.
pub struct KnnFewShot<M> {
    k: usize,
    trainset: Arc<Vec<Example>>,
    embedder: LmHandle,
    embedding_model: String,
    student: M,
    metric: Arc<dyn Metric>,
    bootstrap: BootstrapConfig,
    concurrency: usize,
    vectors: OnceCell<Vec<Vec<f32>>>,
}

impl<M> std::fmt::Debug for KnnFewShot<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnnFewShot")
            .field("k", &self.k)
            .field("trainset", &self.trainset.len())
            .field("embedding_model", &self.embedding_model)
            .finish_non_exhaustive()
    }
}

impl<M: Module + Clone + 'static> KnnFewShot<M> {
    /// `k` neighbours from `trainset`, embedded by `embedder` (its default model unless
    /// [`embedding_model`](Self::embedding_model) is set), compiling `student` with DSPy's
    /// `BootstrapFewShot` defaults and no metric (every teacher run is kept, as DSPy does with
    /// `metric=None`).
    pub fn new(k: usize, trainset: Vec<Example>, embedder: LmHandle, student: M) -> Self {
        KnnFewShot {
            k,
            trainset: Arc::new(trainset),
            embedder,
            embedding_model: String::new(),
            student,
            metric: Arc::new(metric_fn(|_, _| Ok(true)).named("accept_all")),
            bootstrap: BootstrapConfig::default(),
            concurrency: crate::evaluate::DEFAULT_CONCURRENCY,
            vectors: OnceCell::new(),
        }
    }

    /// The embedding model to request.
    pub fn embedding_model(mut self, model: impl Into<String>) -> Self {
        self.embedding_model = model.into();
        self
    }

    /// The metric that accepts teacher runs (DSPy's `metric` among the bootstrap arguments).
    pub fn metric(mut self, metric: Arc<dyn Metric>) -> Self {
        self.metric = metric;
        self
    }

    /// `BootstrapFewShot` settings (DSPy's `**few_shot_bootstrap_args`).
    pub fn bootstrap(mut self, config: BootstrapConfig) -> Self {
        self.bootstrap = config;
        self
    }

    /// Teacher runs in flight at once per call.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    fn err(message: impl Into<String>) -> ModuleError {
        ModuleError::InvalidInput {
            module: "KNNFewShot".into(),
            message: message.into(),
        }
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, ModuleError> {
        let expected = texts.len();
        let request = EmbeddingRequest::new(texts).model(self.embedding_model.clone());
        let response = self
            .embedder
            .embed(request, &CallOptions::default())
            .await
            .map_err(|e| Self::err(format!("the embeddings call failed: {e}")))?;
        let mut data = response.data;
        data.sort_by_key(|e| e.index);
        let vectors: Vec<Vec<f32>> = data
            .into_iter()
            .map(|e| match e.embedding {
                EmbeddingVector::Float(v) => Ok(v),
                EmbeddingVector::Base64(_) => Err(Self::err(
                    "the embeddings came back base64-encoded; request float vectors",
                )),
            })
            .collect::<Result<_, _>>()?;
        if vectors.len() != expected {
            return Err(Self::err(format!(
                "asked for {expected} embedding(s), got {}",
                vectors.len()
            )));
        }
        Ok(vectors)
    }

    /// The `k` training examples nearest to `inputs`, nearest first.
    pub async fn neighbors(&self, inputs: &Example) -> Result<Vec<Example>, ModuleError> {
        if self.trainset.is_empty() {
            return Err(Self::err(
                "the trainset is empty; KNNFewShot needs examples to search",
            ));
        }
        let vectors = self
            .vectors
            .get_or_try_init(|| self.embed(self.trainset.iter().map(embedding_text).collect()))
            .await?;
        let query = self
            .embed(vec![embedding_text(inputs)])
            .await?
            .pop()
            .unwrap_or_default();
        Ok(top_k(vectors, &query, self.k)
            .into_iter()
            .map(|i| self.trainset[i].clone())
            .collect())
    }

    async fn compile(
        &self,
        neighbors: &[Example],
        ctx: &CallContext,
    ) -> Result<ProgramState, ModuleError> {
        let lm = ctx.resolve_lm(None)?;
        let executor = InProcessExecutor::new(
            template_factory(self.student.clone()),
            lm,
            self.metric.clone(),
        )
        .with_context(ctx.clone().without_trace());
        let mut opt =
            BootstrapFewShot::new(&self.student.state(), neighbors, self.bootstrap.clone())
                .map_err(|e| Self::err(e.to_string()))?;
        let report = run_optimizer(
            &mut opt,
            &executor,
            &DriverConfig::with_concurrency(self.concurrency),
        )
        .await
        .map_err(|e| Self::err(format!("bootstrapping on the neighbours failed: {e}")))?;
        report
            .best
            .ok_or_else(|| Self::err("bootstrapping on the neighbours produced no program"))
    }
}

impl<M: Module + Clone + 'static> Module for KnnFewShot<M> {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move {
            let neighbors = self.neighbors(&inputs).await?;
            let state = self.compile(&neighbors, ctx).await?;
            let mut compiled = self.student.clone();
            compiled.load_state(&state)?;
            compiled.forward(inputs, ctx).await
        })
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.student.named_predictors()
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.student.named_predictors_mut()
    }

    fn module_name(&self) -> &'static str {
        "KNNFewShot"
    }
}
