//! An optimization session: starting a run into a new run directory ([`optimize`]) or
//! continuing the one a directory holds ([`resume`]), up to handing it to the driver.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::drive::{drive, finish};
use super::record::write_file;
use super::{
    LmRecord, Loaded, Options, RUN_FORMAT, RedisTarget, RunLock, RunRecord, UsageTotals, files,
    read_state,
};
use crate::call_time::build_module;
use crate::dataset::{Dataset, load_dataset};
use crate::error::{Error, Result};
use crate::optimizer::{OptimizerChoice, is_module, make_optimizer, optimizer_choice};
use crate::program::{Program, build_metric};
use hone_modules::Module;
use hone_optimize::RunLog;

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// How an optimization session ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The run directory.
    pub dir: PathBuf,
    /// The run record as written.
    pub record: RunRecord,
    /// Whether the run was interrupted (cancelled) and can be resumed.
    pub interrupted: bool,
    /// Whether the run was already done: nothing ran and nothing was spent.
    pub already_done: bool,
}

/// SHA-256 over the train and dev examples, in order (hex).
pub fn dataset_fingerprint(dataset: &Dataset) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for (name, split) in [("train", &dataset.train), ("dev", &dataset.dev)] {
        hash.update(name.as_bytes());
        hash.update(b"\n");
        for ex in split {
            hash.update(serde_json::to_string(ex).unwrap_or_default().as_bytes());
            hash.update(b"\n");
        }
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) struct Session {
    pub(super) loaded: Loaded,
    pub(super) dataset: Dataset,
    pub(super) choice: OptimizerChoice,
    pub(super) dir: PathBuf,
    pub(super) record: RunRecord,
    pub(super) started: Instant,
    pub(super) _lock: RunLock,
}

impl Session {
    /// A session of the run in `dir` that starts now.
    fn start(
        loaded: Loaded,
        dataset: Dataset,
        choice: OptimizerChoice,
        dir: &Path,
        record: RunRecord,
        lock: RunLock,
    ) -> Session {
        Session {
            loaded,
            dataset,
            choice,
            dir: dir.to_owned(),
            record,
            started: Instant::now(),
            _lock: lock,
        }
    }
}

/// Starts an optimization run of the program at `path` into `dir`.
pub async fn optimize(path: &Path, dir: &Path, options: &Options) -> Result<Outcome> {
    if dir.join(files::RUN).exists() {
        return Err(Error::Usage(format!(
            "{} already holds a run; continue it with `hone resume {}` or choose another --out",
            dir.display(),
            dir.display()
        )));
    }
    if let Some(target) = &options.redis {
        hone_redis::RunId::new(target.run_id.clone())
            .map_err(|e| Error::Usage(format!("--run-id: {e}")))?;
    }
    let loaded = Loaded::load(path, options)?;
    let mut choice = optimizer_choice(&loaded.program)?;
    if let Some(c) = options.concurrency {
        choice.concurrency = c.max(1);
    }
    let dataset = load_dataset(&loaded.program, &options.data)?;
    if dataset.train.is_empty() {
        return Err(Error::Usage(format!(
            "the dataset {} has no training examples",
            dataset.source
        )));
    }
    let student = loaded.pipeline.state();
    let metric = build_metric(&loaded.program, Some(&loaded.lms))?;
    // Start the optimizer (or build the call-time module) before the run directory exists,
    // so a configuration it refuses leaves nothing behind.
    let (opt, module) = if is_module(&choice) {
        if options.redis.is_some() {
            return Err(Error::Usage(format!(
                "{} runs at call time, with no jobs to distribute; drop --redis",
                choice.kind
            )));
        }
        let module = build_module(&loaded, &choice, &dataset.train, metric.clone())?;
        (None, Some(module))
    } else {
        let opt = make_optimizer(&choice, &student, &dataset.train, &dataset.dev)?;
        (Some(opt), None)
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let lock = RunLock::acquire(dir)?;
    write_file(&dir.join(files::PROGRAM_TOML), &loaded.program.text)?;
    write_file(&dir.join(files::BASELINE), &student.to_json_string_pretty())?;
    let program_path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let record = RunRecord {
        format: RUN_FORMAT.into(),
        version: 1,
        status: "running".into(),
        program: program_path,
        dataset_override: options
            .data
            .path
            .as_ref()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
        limit: options.data.limit,
        optimizer: choice.clone(),
        // Credentials in URLs are secrets: the record keeps them redacted.
        redis: options.redis.clone().map(|r| RedisTarget {
            url: hone_lm::redact_url(&r.url),
            ..r
        }),
        metric: metric.name().to_owned(),
        lms: loaded
            .lms
            .specs
            .iter()
            .map(|(n, s)| {
                (
                    n.clone(),
                    LmRecord {
                        model: s.model.clone(),
                        base_url: s.base_url.as_deref().map(hone_lm::redact_url),
                        api_key_env: s.api_key_env.clone(),
                    },
                )
            })
            .collect(),
        dataset: json!({
            "source": dataset.source,
            "train": dataset.train.len(),
            "dev": dataset.dev.len(),
            "inputs": loaded.program.inputs,
        }),
        dataset_sha256: Some(dataset_fingerprint(&dataset)),
        started_unix: now_unix(),
        elapsed_secs: 0.0,
        tells: 0,
        lm_calls: 0,
        failures: 0,
        first_failure: None,
        baseline: None,
        best: None,
        trials: Vec::new(),
        usage: UsageTotals::default(),
        worker_usage: None,
        log: RunLog::new(),
        error: None,
    };
    record.write(dir)?;
    let session = Session::start(loaded, dataset, choice, dir, record, lock);
    match module {
        Some(module) => {
            let previous_usage = session.record.usage.clone();
            finish(session, options, student, Some(module), previous_usage).await
        }
        None => drive(session, options, opt, metric).await,
    }
}

/// Continues the run in `dir` from its checkpoint, with what the run directory recorded: the
/// program copy (`program.toml`, relative paths resolved against the original's directory),
/// the LMs' models and base URLs (unless `--lm` or `--base-url` choose others), the dataset
/// (its fingerprint must match) and the optimizer kind (the checkpoint's must match). A run
/// that is done is reported as such, and nothing is spent.
pub async fn resume(dir: &Path, options: &Options) -> Result<Outcome> {
    let record = RunRecord::read(dir)?;
    if record.status == "done" {
        return Ok(Outcome {
            dir: dir.to_owned(),
            record,
            interrupted: false,
            already_done: true,
        });
    }
    let lock = RunLock::acquire(dir)?;
    let mut options = options.clone();
    if options.data.path.is_none() {
        options.data.path = record.dataset_override.clone();
    }
    if options.data.limit.is_none() {
        options.data.limit = record.limit;
    }
    match (&mut options.redis, &record.redis) {
        (None, recorded) => options.redis = recorded.clone(),
        // `--redis URL` on resume gives the URL again (with its credentials); the run id stays.
        (Some(given), Some(recorded)) => given.run_id = recorded.run_id.clone(),
        (Some(_), None) => {
            return Err(Error::Usage(format!(
                "{} is not a distributed run; resume it without --redis",
                dir.display()
            )));
        }
    }
    if let Some(target) = &options.redis
        && target.url.contains("REDACTED")
    {
        return Err(Error::Usage(format!(
            "the run's Redis URL had credentials, which run.json does not keep ({}); give it \
             again with `hone resume {} --redis URL`",
            target.url,
            dir.display()
        )));
    }
    // The LMs the run used, unless the command names others explicitly.
    if options.lms.lms.is_empty() && options.lms.base_url.is_none() {
        for (name, lm) in &record.lms {
            if let Some(url) = &lm.base_url
                && url.contains("REDACTED")
            {
                return Err(Error::Usage(format!(
                    "LM `{name}`'s base URL had credentials, which run.json does not keep ({url}); \
                     give it again with `hone resume {} --lm {name}={}@URL` or --base-url URL",
                    dir.display(),
                    lm.model
                )));
            }
            options.lms.lms.push((name.clone(), lm.spec()));
        }
    }
    // The program as it was: the copy in the run directory.
    let copy = dir.join(files::PROGRAM_TOML);
    let text = std::fs::read_to_string(&copy).map_err(|e| Error::io("read", &copy, e))?;
    let program = Program::parse(&record.program, &text)?;
    let loaded = Loaded::from_program(program, &options)?;
    let dataset = load_dataset(&loaded.program, &options.data)?;
    if let Some(recorded) = &record.dataset_sha256 {
        let now = dataset_fingerprint(&dataset);
        if &now != recorded {
            return Err(Error::Usage(format!(
                "the dataset differs from the one the run started with ({}: train {} and dev {} \
                 example(s) then, train {} and dev {} now, or their contents changed); restore it, \
                 or start a new run with `hone optimize`",
                dataset.source,
                record
                    .dataset
                    .get("train")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                record
                    .dataset
                    .get("dev")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                dataset.train.len(),
                dataset.dev.len()
            )));
        }
    }
    let metric = build_metric(&loaded.program, Some(&loaded.lms))?;
    let mut choice = record.optimizer.clone();
    if is_module(&choice) {
        return Err(Error::Usage(format!(
            "{} runs at call time and keeps no checkpoint; start it again with `hone optimize`",
            choice.kind
        )));
    }
    let checkpoint_path = dir.join(files::CHECKPOINT);
    // Killed before its first checkpoint: the run starts again from its baseline.
    let fresh = if checkpoint_path.exists() {
        None
    } else {
        let baseline = read_state(&dir.join(files::BASELINE), &loaded.pipeline)?;
        Some(make_optimizer(
            &choice,
            &baseline,
            &dataset.train,
            &dataset.dev,
        )?)
    };
    if options.redis.is_none() && fresh.is_none() {
        let checkpoint = hone_eval::Checkpoint::read(&checkpoint_path).map_err(|e| {
            Error::Usage(format!(
                "{e}; the run has no usable checkpoint: start it again with `hone optimize` \
                 into a new --out"
            ))
        })?;
        let recorded = hone_optimize::Catalogue::builtin()
            .lookup(&choice.kind)
            .map(|k| k.name().to_owned())
            .unwrap_or_else(|_| choice.kind.clone());
        if checkpoint.optimizer != recorded {
            return Err(Error::Usage(format!(
                "{} is a checkpoint of {}, but the run is a {} run; it is not this run's \
                 checkpoint",
                checkpoint_path.display(),
                checkpoint.optimizer,
                recorded
            )));
        }
    }
    if let Some(c) = options.concurrency {
        choice.concurrency = c.max(1);
    }
    let session = Session::start(loaded, dataset, choice, dir, record, lock);
    drive(session, &options, fresh, metric).await
}
