//! Wire types of the OpenAI-compatible API: chat requests, responses, stream chunks, embeddings.
//!
//! Every type tolerates unknown fields; most keep them in a flattened `extra` map so they
//! round-trip unchanged.

pub mod embeddings;
pub mod message;
pub mod request;
pub mod response;
pub mod stream;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
