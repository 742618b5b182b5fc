//! Reading back the answer an exported prompt asks for.

use hone_core::adapter::AdapterKind;
use hone_core::{Prediction, Signature};

use crate::error::ExportError;
use crate::openai::OpenAiExport;

/// Parses an LM's completion into the signature's typed outputs, as the adapter the prompt
/// was exported for asks the LM to answer.
///
/// ```
/// use hone_core::Signature;
/// use hone_core::adapter::AdapterKind;
/// use hone_export::parse_output;
/// use serde_json::json;
///
/// let sig = Signature::parse("question -> answer: int")?;
/// let out = parse_output(&sig, AdapterKind::Chat, "[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]")?;
/// assert_eq!(out.get("answer"), Some(&json!(4)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_output(
    signature: &Signature,
    adapter: AdapterKind,
    completion: &str,
) -> Result<Prediction, hone_core::adapter::AdapterError> {
    adapter.adapter().parse(signature, completion)
}

/// Parses a completion for one predictor of an `openai` export, from the export file alone
/// (it carries each predictor's signature and adapter).
pub fn parse_with_export(
    export: &OpenAiExport,
    predictor: &str,
    completion: &str,
) -> Result<Prediction, ExportError> {
    let p = export.predictor(predictor)?;
    parse_output(&p.signature, export.adapter, completion).map_err(|source| ExportError::Parse {
        predictor: predictor.to_owned(),
        source: Box::new(source),
    })
}
