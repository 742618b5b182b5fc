//! Distributed optimization for hone over Redis Streams.
//!
//! hone's optimizers are sans-IO state machines ([`hone_optimize::Optimizer`]): `ask` hands out
//! jobs, `tell` takes their results. This crate runs them across machines with Redis Streams
//! and consumer groups as the queue:
//!
//! * [`RedisDriver`] — the coordinator. It owns the optimizer, publishes its jobs with
//!   backpressure, tells it the results, checkpoints after each batch (hone's checkpoint
//!   format, so `hone_eval::resume` can continue a distributed run in-process), and resumes
//!   from its checkpoint after a restart.
//! * [`Worker`] — runs jobs with any [`hone_eval::Executor`] (usually an
//!   [`InProcessExecutor`](hone_eval::InProcessExecutor) holding the program factory, the LMs
//!   by role and the metric), with its own concurrency. Embed it in a service, or run
//!   `hone worker`.
//! * Delivery is at least once with idempotent results: a job is acknowledged only after its
//!   result is stored; jobs of dead or stuck workers are taken over after a visibility timeout
//!   (`XAUTOCLAIM`); a job delivered too often, and any message that cannot be read, goes to
//!   the run's dead-letter stream with a reason.
//! * Messages are versioned JSON ([`message`]); workers in other languages take part by
//!   following `docs/distributed.md`.
//! * Several runs share one Redis and one worker pool, isolated by [`RunId`] ([`keys`]).
//! * Connection loss is retried with bounded backoff on both sides ([`RetryPolicy`]).
//!
//! ```no_run
//! # async fn demo(executor: hone_eval::InProcessExecutor, opt: Box<dyn hone_optimize::Optimizer>) -> Result<(), hone_redis::Error> {
//! use std::sync::Arc;
//! use hone_redis::{CoordinatorConfig, Redis, RedisDriver, RunId, Worker, WorkerConfig};
//!
//! // On any number of machines:
//! let redis = Redis::connect("redis://127.0.0.1:6379").await?;
//! let worker = Worker::new(redis, Arc::new(executor), WorkerConfig::new("host-1"));
//! tokio::spawn(worker.run(std::future::pending::<()>()));
//!
//! // On one machine:
//! let redis = Redis::connect("redis://127.0.0.1:6379").await?;
//! let config = CoordinatorConfig::new(RunId::new("exp-1")?).checkpoint("exp-1.ckpt.json");
//! let report = RedisDriver::new(redis, opt, config).run().await?;
//! println!("best: {:?}", report.best);
//! # Ok(()) }
//! ```
//!
//! Architecture invariant: the optimizers know nothing of Redis; this crate knows nothing of
//! any particular optimizer. No global state: connections and configuration are values.

pub mod conn;
pub mod coordinator;
pub mod error;
pub mod keys;
pub mod local_server;
pub mod message;
pub mod standalone;
mod streams;
pub mod worker;

pub use conn::{Redis, RedisOptions, RetryPolicy};
pub use coordinator::{
    CoordinatorConfig, CoordinatorEvent, CoordinatorProgress, CoordinatorReport, RedisDriver,
};
pub use error::Error;
pub use hone_lm::LmSpec;
pub use keys::{Keys, RunId, WORKERS_GROUP};
pub use local_server::LocalRedis;
pub use message::{
    DeadKind, DeadLetter, JobMessage, MESSAGE_FIELD, MESSAGE_VERSION, ResultMessage,
};
pub use standalone::{WorkerSpec, build_executor, run_worker};
pub use streams::DEAD_LETTER_MAXLEN;
pub use worker::{RunSelection, Worker, WorkerConfig, WorkerStats};
