//! The checkpoint writer of the in-process driver: a task that writes the newest checkpoint it
//! is handed, atomically, skipping ones superseded while a write ran, and emitting
//! `checkpoint_written` after each write.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::events::{Emitter, EventKind};
use crate::checkpoint::{Checkpoint, write_atomic};
use crate::error::DriverError;

/// (sequence number, bytes, the checkpoint's tells).
type Snapshot = Option<(u64, Arc<Vec<u8>>, u64)>;

/// Writes the newest snapshot it is handed, skipping ones superseded while a write ran.
pub(super) struct Writer {
    tx: watch::Sender<Snapshot>,
    seq: u64,
    task: JoinHandle<Result<(), DriverError>>,
}

impl Writer {
    pub(super) fn spawn(path: PathBuf, events: Option<Emitter>) -> Writer {
        let (tx, mut rx) = watch::channel::<Snapshot>(None);
        let task = tokio::spawn(async move {
            let mut written = 0u64;
            loop {
                let changed = rx.changed().await;
                let latest = rx.borrow_and_update().clone();
                if let Some((seq, bytes, tells)) = latest
                    && seq > written
                {
                    let target = path.clone();
                    let size = bytes.len() as u64;
                    tokio::task::spawn_blocking(move || write_atomic(&target, &bytes))
                        .await
                        .map_err(|e| DriverError::CheckpointWrite {
                            path: path.clone(),
                            source: std::io::Error::other(e.to_string()),
                        })??;
                    written = seq;
                    if let Some(e) = &events {
                        e.emit(EventKind::CheckpointWritten {
                            path: path.clone(),
                            bytes: size,
                            tells,
                        });
                    }
                }
                if changed.is_err() {
                    return Ok(());
                }
            }
        });
        Writer { tx, seq: 0, task }
    }

    pub(super) fn submit(&mut self, bytes: Vec<u8>, tells: u64) {
        self.seq += 1;
        self.tx
            .send_replace(Some((self.seq, Arc::new(bytes), tells)));
    }

    pub(super) async fn finish(self) -> Result<(), DriverError> {
        drop(self.tx);
        self.task.await.map_err(|e| DriverError::Job {
            optimizer: "checkpoint writer".into(),
            message: e.to_string(),
        })?
    }
}

/// The bytes of `checkpoint`, as the writer writes them.
pub(super) fn snapshot(checkpoint: &Checkpoint) -> Result<Vec<u8>, DriverError> {
    serde_json::to_vec(checkpoint).map_err(|e| DriverError::Job {
        optimizer: checkpoint.optimizer.clone(),
        message: format!("could not serialize the checkpoint: {e}"),
    })
}
