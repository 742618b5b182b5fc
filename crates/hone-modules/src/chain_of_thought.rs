//! [`ChainOfThought`]: DSPy's `dspy.ChainOfThought`, a predictor that reasons first.

use hone_core::{Example, Field, FieldRole, FieldType, Prediction, Signature, SignatureError};
use hone_lm::BoxFuture;

use crate::context::{CallContext, Sampling};
use crate::error::ModuleError;
use crate::module::Module;
use crate::predict::{IntoSignature, Predict};

/// Reasons step by step before answering: the signature with a `reasoning: str` output
/// prepended (description `${reasoning}`, prefix `Reasoning:`, exactly as DSPy 3.4's
/// `ChainOfThought` builds it), run by an inner [`Predict`] named `predict`.
///
/// ```
/// use hone_modules::{ChainOfThought, Module};
/// let cot = ChainOfThought::new("question -> answer").unwrap();
/// let sig = cot.predict().signature();
/// assert_eq!(sig.field_string(), "question -> reasoning, answer");
/// assert_eq!(sig.outputs[0].prefix, "Reasoning:");
/// assert_eq!(cot.named_predictors()[0].0, "predict");
/// ```
#[derive(Debug, Clone)]
pub struct ChainOfThought {
    predict: Predict,
}

impl ChainOfThought {
    /// A chain of thought over `signature`.
    pub fn new(signature: impl IntoSignature) -> Result<Self, SignatureError> {
        Self::with_rationale(signature, reasoning_field(FieldType::Str))
    }

    /// A chain of thought with a custom rationale field (DSPy's `rationale_field`); it is
    /// prepended to the outputs under its own name.
    pub fn with_rationale(
        signature: impl IntoSignature,
        rationale: Field,
    ) -> Result<Self, SignatureError> {
        let sig = signature.into_signature()?;
        Ok(ChainOfThought {
            predict: Predict::new(extend_signature(&sig, rationale)?)?,
        })
    }

    /// A chain of thought whose `reasoning` field is DSPy's `dspy.Reasoning` type (DSPy's
    /// `ChainOfThought(signature, rationale_field_type=dspy.Reasoning)`): with an LM that
    /// reasons natively the field comes from the response's `reasoning_content` instead of
    /// the prompt (see [`Predict::set_native_reasoning`]). The default
    /// [`ChainOfThought::new`] keeps DSPy 3.4's `str` field, which is always parsed from the
    /// answer, whatever the response carries.
    ///
    /// ```
    /// use hone_modules::ChainOfThought;
    /// let cot = ChainOfThought::with_native_reasoning("question -> answer").unwrap();
    /// assert_eq!(cot.predict().native_reasoning(), Some("reasoning"));
    /// ```
    pub fn with_native_reasoning(signature: impl IntoSignature) -> Result<Self, SignatureError> {
        let mut cot = Self::new(signature)?;
        cot.predict.set_native_reasoning(Some(REASONING.to_owned()));
        Ok(cot)
    }

    /// Sets the inner predictor's sampling configuration (DSPy's `**config`).
    pub fn with_config(mut self, config: Sampling) -> Self {
        self.predict.set_config(config);
        self
    }

    /// The inner predictor.
    pub fn predict(&self) -> &Predict {
        &self.predict
    }

    /// The inner predictor, mutably.
    pub fn predict_mut(&mut self) -> &mut Predict {
        &mut self.predict
    }
}

/// The name of the rationale field.
const REASONING: &str = "reasoning";

/// DSPy's default rationale field: `reasoning`, description `${reasoning}`.
pub(crate) fn reasoning_field(ty: FieldType) -> Field {
    Field::new(REASONING, ty).desc("${reasoning}")
}

/// The signature with `rationale` prepended to the outputs.
pub(crate) fn extend_signature(
    sig: &Signature,
    rationale: Field,
) -> Result<Signature, SignatureError> {
    sig.with_field_at(FieldRole::Output, 0, rationale)
}

impl Module for ChainOfThought {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move { self.predict.call(inputs, &ctx.child("predict")).await })
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        vec![("predict".to_owned(), &self.predict)]
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        vec![("predict".to_owned(), &mut self.predict)]
    }

    fn module_name(&self) -> &'static str {
        "ChainOfThought"
    }
}
