//! Errors of starting and running a server.

use std::io;

/// Why a simulated server could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The port could not be bound.
    #[error("cannot bind 127.0.0.1:{port}: {source} (pick another --port, or 0 for any free port)")]
    Bind {
        /// The port asked for.
        port: u16,
        /// The OS error.
        source: io::Error,
    },
    /// The bound address could not be read back.
    #[error("cannot read the listening address: {0}")]
    LocalAddr(io::Error),
    /// A tokio runtime could not be built.
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(io::Error),
    /// Waiting for a shutdown signal failed.
    #[error("cannot listen for ctrl-c: {0}")]
    Signal(io::Error),
}
