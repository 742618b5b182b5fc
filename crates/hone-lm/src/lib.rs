//! A thin OpenAI-compatible LM client.
