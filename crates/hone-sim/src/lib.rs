//! A simulated OpenAI-compatible LM server with learnable tasks and fault
//! injection, for testing LM clients and prompt optimizers without a real
//! model.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hone_sim::SimError> {
//! use hone_sim::{Fault, SimConfig, SimServer};
//! let sim = SimServer::start(SimConfig::default()).await?;
//! let base_url = sim.base_url(); // "http://127.0.0.1:PORT/v1"
//! sim.push_faults([Fault::rate_limited(1)]); // the next request gets a 429
//! // ... point a client at base_url ...
//! println!("{:?}", sim.stats());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # What it serves
//! * `POST /v1/chat/completions` — OpenAI chat completions (also streamed
//!   over SSE), answered by the simulated model in [`engine`].
//! * `POST /v1/embeddings` — deterministic hashed bag-of-words embeddings.
//! * `GET /v1/models`, `GET /health`.
//! * Admin: `GET /stats`, `POST /stats/reset`, `POST /sim/faults` (a fault
//!   or a list of faults, see [`Fault`]), `DELETE /sim/faults`.
//! * The header `x-sim-latency-ms` overrides the latency of one request.
//!   Chat answers carry `x-sim-task` (what the model took the prompt for)
//!   and, for learnable tasks, `x-sim-accuracy` (its probability of being right).
//!
//! # The simulated model
//! It reads DSPy-format prompts ([`prompt`]: chat, JSON and XML adapters),
//! recognises learnable tasks ([`tasks`]: arithmetic, sentiment) and answers
//! correctly with a probability that rises with correct demos, with key ideas
//! in the instructions and with a reasoning field (knobs in [`TaskConfig`]).
//! It answers optimizers' meta prompts ([`meta`]), calls tools for arithmetic
//! ([`tools`], [`react`]) and honours JSON schemas ([`schema`]).
//! All draws are deterministic functions of the seed and the request
//! ([`hash`]).
//!
//! # Invariants
//! * Binds 127.0.0.1 only.
//! * No global state: everything lives in the server value.
//! * A malformed request gets a 400 with an OpenAI error body, never a panic.

pub mod config;
pub mod datasets;
pub mod embeddings;
pub mod engine;
pub mod error;
pub mod fault;
pub mod hash;
pub mod meta;
pub mod openai;
pub mod prompt;
pub mod react;
pub mod render;
pub mod schema;
pub mod server;
pub mod stats;
pub mod tasks;
pub mod tools;

pub use config::{SimConfig, TaskConfig};
pub use error::SimError;
pub use fault::{Fault, RetryAfter};
pub use server::{BlockingSimHandle, LATENCY_HEADER, SimHandle, SimServer, run_blocking};
pub use stats::SimStats;
