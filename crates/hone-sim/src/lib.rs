//! A simulated OpenAI-compatible LM server.
