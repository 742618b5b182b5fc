//! The catalogue's call-time modules from a program file: `knn_few_shot` (DSPy's
//! `KNNFewShot`, with the embedder an `[lm.embedder]` served by `/v1/embeddings`) and
//! `ensemble` (DSPy's `Ensemble` over saved programs). Neither runs ahead of time: `hone
//! optimize` builds the module around the program and scores it on the dev split beside the
//! baseline.

use std::sync::Arc;

use hone_core::Example;
use hone_eval::metric::Metric;
use hone_eval::{Ensemble, KnnFewShot};
use hone_modules::Module;
use hone_optimize::{CallTimeModule, EnsembleConfig, KnnFewShotConfig};

use crate::error::{Error, Result};
use crate::optimizer::OptimizerChoice;
use crate::run::{Loaded, read_state};

/// The LM `knn_few_shot` embeds with.
pub const EMBEDDER_LM: &str = "embedder";

/// Builds the module `choice` names around the loaded program: `train` is KNN's search space;
/// `metric` accepts KNN's teacher runs when its `use_metric` is set.
pub fn build_module(
    loaded: &Loaded,
    choice: &OptimizerChoice,
    train: &[Example],
    metric: Arc<dyn Metric>,
) -> Result<Box<dyn Module>> {
    let kind = choice.entry()?;
    match kind.module() {
        Some(CallTimeModule::KnnFewShot) => {
            let config: KnnFewShotConfig = choice.config()?;
            let Some(embedder) = loaded.lms.handles.get(EMBEDDER_LM).cloned() else {
                return Err(loaded
                    .program
                    .error_at_key("optimizer", "kind", "knn_few_shot needs an embedder LM")
                    .hint(
                        "add an [lm.embedder] table with the embedding model, served by the same \
                         /v1/embeddings API (or pass --lm embedder=MODEL)",
                    )
                    .into());
            };
            let mut knn =
                KnnFewShot::new(config.k, train.to_vec(), embedder, loaded.pipeline.clone())
                    .bootstrap(config.bootstrap())
                    .concurrency(choice.concurrency);
            if config.use_metric {
                knn = knn.metric(metric);
            }
            Ok(Box::new(knn))
        }
        Some(CallTimeModule::Ensemble) => {
            let config: EnsembleConfig = choice.config()?;
            let mut programs: Vec<Box<dyn Module>> = Vec::new();
            for path in &config.programs {
                let path = loaded.program.dir().join(path);
                let state = read_state(&path, &loaded.pipeline).map_err(|e| {
                    Error::from(loaded.program.error_at_key(
                        "optimizer",
                        "programs",
                        format!("cannot use {} in the ensemble: {e}", path.display()),
                    ))
                })?;
                programs.push(Box::new(loaded.pipeline.clone().with_state(&state)?));
            }
            if programs.is_empty() {
                programs.push(Box::new(loaded.pipeline.clone()));
            }
            let mut ensemble = Ensemble::new(programs);
            if let Some(size) = config.size {
                ensemble = ensemble.size(size, config.seed);
            }
            if let Some(field) = config.field {
                ensemble = ensemble.majority_on(field);
            }
            Ok(Box::new(ensemble))
        }
        None => Err(Error::Usage(format!(
            "{} is an ask/tell optimizer, not a call-time module",
            kind.name()
        ))),
    }
}
