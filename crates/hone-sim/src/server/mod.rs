//! The server: starting, the handle that controls it, and a blocking
//! wrapper for synchronous callers.

mod conn;
mod respond;
mod routes;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use routes::LATENCY_HEADER;

use crate::config::SimConfig;
use crate::error::SimError;
use crate::fault::{Fault, FaultQueue};
use crate::stats::{SimStats, StatsRecorder};

/// Everything one server's requests share.
#[derive(Debug)]
pub(crate) struct ServerState {
    pub(crate) config: Arc<SimConfig>,
    pub(crate) stats: StatsRecorder,
    pub(crate) faults: FaultQueue,
    pub(crate) request_counter: AtomicU64,
    /// How often each unseeded sampling body has been seen.
    pub(crate) samples: Mutex<HashMap<u64, u64>>,
}

impl ServerState {
    /// The sample number of this occurrence of a body (0 the first time).
    pub(crate) fn next_sample(&self, body_hash: u64) -> u64 {
        let mut map = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 1_000_000 {
            map.clear();
        }
        let n = map.entry(body_hash).or_insert(0);
        let sample = *n;
        *n += 1;
        sample
    }

    pub(crate) fn snapshot(&self) -> SimStats {
        let mut s = self.stats.snapshot();
        s.faults_pending = self.faults.len() as u64;
        s
    }
}

pub(crate) type SharedState = Arc<ServerState>;

/// Starts simulated servers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimServer;

impl SimServer {
    /// Binds `127.0.0.1:config.port` (0 = any free port) and serves in the
    /// background on the current tokio runtime until
    /// [`SimHandle::shutdown`] or the handle is dropped.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        let port = config.port;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|source| SimError::Bind { port, source })?;
        let addr = listener.local_addr().map_err(SimError::LocalAddr)?;
        let state = Arc::new(ServerState {
            config: Arc::new(config),
            stats: StatsRecorder::default(),
            faults: FaultQueue::default(),
            request_counter: AtomicU64::new(0),
            samples: Mutex::new(HashMap::new()),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let router = routes::router(Arc::clone(&state));
        let task = tokio::spawn(conn::accept_loop(listener, router, stop_rx));
        tracing::debug!(%addr, "hone-sim listening");
        Ok(SimHandle {
            addr,
            state,
            stop: stop_tx,
            task: Some(task),
        })
    }

    /// Starts a server on its own tokio runtime, for synchronous code (tests
    /// without an async runtime, subprocess helpers).
    pub fn start_blocking(config: SimConfig) -> Result<BlockingSimHandle, SimError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hone-sim")
            .enable_all()
            .build()
            .map_err(SimError::Runtime)?;
        let handle = rt.block_on(SimServer::start(config))?;
        Ok(BlockingSimHandle {
            rt: Some(rt),
            handle: Some(handle),
        })
    }
}

/// Controls a running server. Dropping it stops the server.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    state: SharedState,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// The OpenAI base URL, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &SimConfig {
        &self.state.config
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SimStats {
        self.state.snapshot()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.state.stats.reset();
    }

    /// Queues faults; each following `/v1` request takes the oldest one.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.faults.push(faults);
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Stops accepting, closes open connections and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A server running on its own runtime; see [`SimServer::start_blocking`].
///
/// Dropping it stops the server; do not drop it from inside an async task of
/// another runtime's `block_on` (use [`BlockingSimHandle::shutdown`] from
/// synchronous code instead).
#[derive(Debug)]
pub struct BlockingSimHandle {
    rt: Option<tokio::runtime::Runtime>,
    handle: Option<SimHandle>,
}

impl BlockingSimHandle {
    fn inner(&self) -> Option<&SimHandle> {
        self.handle.as_ref()
    }

    /// The OpenAI base URL.
    pub fn base_url(&self) -> String {
        self.inner().map(SimHandle::base_url).unwrap_or_default()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.inner()
            .map(SimHandle::addr)
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SimStats {
        self.inner().map(SimHandle::stats).unwrap_or_default()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        if let Some(h) = self.inner() {
            h.reset_stats();
        }
    }

    /// Queues faults.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        if let Some(h) = self.inner() {
            h.push_faults(faults);
        }
    }

    /// Stops the server and its runtime.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let (Some(rt), Some(h)) = (self.rt.as_ref(), self.handle.take()) {
            rt.block_on(h.shutdown());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for BlockingSimHandle {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_ok() {
            // Inside another runtime: cannot block; stop without waiting.
            drop(self.handle.take());
            if let Some(rt) = self.rt.take() {
                rt.shutdown_background();
            }
        } else {
            self.stop();
        }
    }
}

/// Runs a server until ctrl-c, calling `on_ready` once it listens (the
/// binary prints the address there). Builds its own runtime.
pub fn run_blocking(config: SimConfig, on_ready: impl FnOnce(&SimHandle)) -> Result<(), SimError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(SimError::Runtime)?;
    rt.block_on(async move {
        let handle = SimServer::start(config).await?;
        on_ready(&handle);
        let signal = tokio::signal::ctrl_c().await;
        handle.shutdown().await;
        signal.map_err(SimError::Signal)
    })
}
