//! One adapter call against a real LM: format → chat → parse, keeping what was sent and
//! received.

use std::time::{Duration, Instant};

use hone_core::adapter::{Adapter, AdapterError};
use hone_core::{Example, Prediction, Signature};
use hone_lm::{CallOptions, ChatRequest, ChatResponse, Lm, LmError, ResponseFormat};

use crate::lm::RealLm;

/// Why an adapter call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The adapter could not format the call or parse the completion.
    #[error("adapter: {0}")]
    Adapter(#[from] AdapterError),
    /// The adapter's `response_format` is not one the LM client knows.
    #[error("response_format {value}: {source}")]
    ResponseFormat {
        /// The adapter's value.
        value: serde_json::Value,
        /// Why it does not deserialize.
        source: serde_json::Error,
    },
    /// The LM call failed.
    #[error("LM call: {0}")]
    Lm(#[from] LmError),
    /// The response has no text.
    #[error("the response has no text content")]
    NoText,
}

/// A finished adapter call.
#[derive(Debug, Clone)]
pub struct AdapterCall {
    /// The request as sent (messages, response format, sampling).
    pub request: ChatRequest,
    /// The server's response.
    pub response: ChatResponse,
    /// The completion text.
    pub completion: String,
    /// The parsed outputs; an error if the completion did not parse.
    pub prediction: Result<Prediction, AdapterError>,
    /// Wall time of the LM call.
    pub latency: Duration,
}

/// Converts adapter messages into LM client messages.
pub fn lm_messages(messages: &[hone_core::Message]) -> Vec<hone_lm::Message> {
    messages.iter().map(hone_modules::to_lm_message).collect()
}

/// The request for one call: the adapter's messages and its `response_format` (if any).
pub fn adapter_request(
    real: &RealLm,
    adapter: &dyn Adapter,
    signature: &Signature,
    demos: &[Example],
    inputs: &Example,
) -> Result<ChatRequest, CallError> {
    let messages = adapter.format(signature, demos, inputs)?;
    let mut request = ChatRequest::new(lm_messages(&messages)).model(real.model.clone());
    if let Some(value) = adapter.response_format(signature) {
        let format: ResponseFormat = serde_json::from_value(value.clone())
            .map_err(|source| CallError::ResponseFormat { value, source })?;
        request = request.response_format(format);
    }
    Ok(request)
}

/// Formats `inputs` with `adapter`, sends the call to `real` and parses the completion.
/// A completion that does not parse is returned in [`AdapterCall::prediction`], not as an
/// error, so a test can report it.
pub async fn call_adapter(
    real: &RealLm,
    adapter: &dyn Adapter,
    signature: &Signature,
    demos: &[Example],
    inputs: &Example,
) -> Result<AdapterCall, CallError> {
    let request = adapter_request(real, adapter, signature, demos, inputs)?;
    let options = CallOptions::default();
    let started = Instant::now();
    let response = real.lm.chat(request.clone(), &options).await?;
    let latency = started.elapsed();
    let completion = response.text().ok_or(CallError::NoText)?;
    let prediction = adapter.parse(signature, &completion);
    Ok(AdapterCall {
        request,
        response,
        completion,
        prediction,
        latency,
    })
}
