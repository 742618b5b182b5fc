//! The coordinator's checkpoint (hone-eval's format, the coordinator's position in its
//! metadata) and the end of a done run.

use std::path::{Path, PathBuf};

use hone_eval::Checkpoint;
use hone_eval::checkpoint::write_atomic;
use hone_eval::driver::events::EventKind;
use serde_json::{Value, json};

use super::{CHECKPOINT_KEY, CoordinatorEvent, RedisDriver, RunState};
use crate::error::Error;

impl RedisDriver {
    pub(super) async fn write_checkpoint(&mut self, state: &mut RunState) -> Result<(), Error> {
        let Some(path) = self.config.checkpoint.clone() else {
            return Ok(());
        };
        let mut metadata = self.config.metadata.clone();
        let mut usage = self.base_usage.clone();
        usage.add(&state.usage);
        metadata.insert(
            CHECKPOINT_KEY.into(),
            json!({
                "run": self.config.run.as_str(),
                "epoch": self.epoch,
                "results_position": self.results_pos,
                "usage": usage,
            }),
        );
        let checkpoint = state.core.checkpoint(&*self.opt, Value::Object(metadata))?;
        let tells = checkpoint.tells;
        let bytes = serde_json::to_vec(&checkpoint).map_err(|e| Error::Checkpoint {
            path: path.clone(),
            message: format!("could not serialize it: {e}"),
        })?;
        let size = bytes.len() as u64;
        write_file(path.clone(), bytes).await?;
        self.emit(CoordinatorEvent::Checkpointed { tells });
        if let Some(e) = state.core.emitter() {
            e.emit(EventKind::CheckpointWritten {
                path,
                bytes: size,
                tells,
            });
        }
        Ok(())
    }

    /// The run is done: remove it from the registry and delete its jobs and results streams.
    pub(super) async fn finish(&mut self) -> Result<(), Error> {
        let keys = self.redis.keys();
        let run = &self.config.run;
        let mut srem = redis::cmd("SREM");
        srem.arg(keys.runs()).arg(run.as_str());
        self.redis.exec("SREM", &keys.runs(), &srem).await?;
        if !self.config.keep_streams {
            let mut del = redis::cmd("DEL");
            del.arg(keys.jobs(run)).arg(keys.results(run));
            self.redis.exec("DEL", &keys.jobs(run), &del).await?;
        }
        Ok(())
    }
}

async fn write_file(path: PathBuf, bytes: Vec<u8>) -> Result<(), Error> {
    let target = path.clone();
    tokio::task::spawn_blocking(move || write_atomic(&target, &bytes))
        .await
        .map_err(|e| Error::Checkpoint {
            path: path.clone(),
            message: e.to_string(),
        })?
        .map_err(|e| Error::Checkpoint {
            path: path.clone(),
            message: e.to_string(),
        })
}

/// Reads the coordinator position stored in a checkpoint file: `(run, epoch, results
/// position)`, if it has one.
pub fn checkpoint_position(path: &Path) -> Result<Option<(String, u64, String)>, Error> {
    let checkpoint = Checkpoint::read(path).map_err(|e| Error::Checkpoint {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let own = checkpoint.metadata.get(CHECKPOINT_KEY);
    Ok((|| {
        let o = own?;
        Some((
            o.get("run")?.as_str()?.to_owned(),
            o.get("epoch")?.as_u64()?,
            o.get("results_position")?.as_str()?.to_owned(),
        ))
    })())
}
