//! Running declarative programs: single predictions, evaluations, and optimization runs that
//! live in a run directory.
//!
//! # The run directory
//!
//! | file | what |
//! |---|---|
//! | `run.json` | the run record ([`RunRecord`]): status, optimizer, LMs, dataset, scores, trials with best-so-far, the optimizer's log, timing, usage and cost |
//! | `program.toml` | a copy of the program file |
//! | `checkpoint.json` | the optimizer's checkpoint (`hone resume RUN_DIR` continues from it) |
//! | `baseline.json` | the program's state before optimization |
//! | `program.json` | the best state found (with `program.toml`, a deployable program); for a call-time module (`knn_few_shot`, `ensemble`), the program it wraps, its settings in `run.json` |
//! | `results.jsonl` | per-example dev results of the baseline and the best program |
//! | `lock` | the pid of the process driving the run, while one does |
//!
//! `hone resume` trusts the directory, not the current files: it reads `program.toml`, uses the
//! LMs (model, base URL) `run.json` recorded unless `--lm`/`--base-url` name others, checks the
//! dataset against `dataset_sha256` and the checkpoint's optimizer against the run's.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hone_core::state::ProgramState;
use hone_core::{Example, Prediction};
use hone_eval::{
    CancellationToken, DriverConfig, DriverProgress, Evaluate, EvaluationResult, InProcessExecutor,
    Progress, StopReason, template_factory,
};
use hone_modules::{CallContext, Module};
use hone_optimize::{LmRole, LogEvent, Optimizer, RunLog};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::call_time::build_module;
use crate::dataset::{DataOverrides, Dataset, load_dataset};
use crate::error::{Error, Result};
use crate::optimizer::{OptimizerChoice, is_module, make_optimizer, optimizer_choice};
use crate::program::{LmOverrides, Lms, Pipeline, Program, build_lms, build_metric};

mod record;

use record::write_file;
pub use record::{LmRecord, RunRecord, ScoreRecord, TrialPoint, UsageTotals, trial_points};

/// The run record's `format`.
pub const RUN_FORMAT: &str = "hone-run";

/// File names inside a run directory.
pub mod files {
    /// The run record.
    pub const RUN: &str = "run.json";
    /// The copy of the program file.
    pub const PROGRAM_TOML: &str = "program.toml";
    /// The optimizer checkpoint.
    pub const CHECKPOINT: &str = "checkpoint.json";
    /// The state before optimization.
    pub const BASELINE: &str = "baseline.json";
    /// The best state.
    pub const BEST: &str = "program.json";
    /// Per-example dev results.
    pub const RESULTS: &str = "results.jsonl";
}

/// Reads a program state file (hone's or DSPy's format) for `pipeline`.
pub fn read_state(path: &Path, pipeline: &Pipeline) -> Result<ProgramState> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    ProgramState::from_json_str_with(&text, &pipeline.structure()).map_err(|e| {
        crate::FileError::new(path, format!("not a state of this program: {e}"))
            .hint("give the program.json written by `hone optimize` for this program file")
            .into()
    })
}

/// Records when each result came in, as (events in the optimizer's log, seconds into the run),
/// so trials can be placed on a time axis; passes every event on to `inner`.
struct RunClock {
    started: std::time::Instant,
    /// Seconds the run took in earlier sessions.
    offset: f64,
    marks: std::sync::Mutex<Vec<(usize, f64)>>,
    inner: Option<Arc<dyn DriverProgress>>,
    /// Keeps run.json's usage current during the session (so a killed session's spending
    /// is not lost): the record as the session started, and when it was last written.
    usage: Option<UsageKeeper>,
}

struct UsageKeeper {
    dir: PathBuf,
    tracker: hone_lm::UsageTracker,
    record: std::sync::Mutex<(RunRecord, Instant)>,
}

impl UsageKeeper {
    /// Writes run.json with the usage so far, at most five times a second (so a kill -9
    /// loses at most the last 200 ms of usage).
    fn keep(&self) {
        let Ok(mut guard) = self.record.lock() else {
            return;
        };
        let (record, last) = &mut *guard;
        if last.elapsed() < std::time::Duration::from_millis(200) {
            return;
        }
        *last = Instant::now();
        let mut written = record.clone();
        written
            .usage
            .add(&UsageTotals::from_report(&self.tracker.report()));
        // A failed write here is retried with the next result; the session's last write
        // reports its error.
        let _ = written.write(&self.dir);
    }
}

impl DriverProgress for RunClock {
    fn on_tell(&self, event: &hone_eval::TellEvent<'_>) {
        let at = self.offset + self.started.elapsed().as_secs_f64();
        if let Ok(mut marks) = self.marks.lock() {
            marks.push((event.log_events, at));
        }
        if let Some(keeper) = &self.usage {
            keeper.keep();
        }
        if let Some(inner) = &self.inner {
            inner.on_tell(event);
        }
    }
}

impl RunClock {
    /// Sets `at_secs` of the trials this session logged: a trial event at log index `j` came
    /// with the first result after which the log held more than `j` events. Trials of earlier
    /// sessions keep the times in `earlier`.
    fn stamp(&self, trials: &mut [TrialPoint], log: &RunLog, earlier: &[TrialPoint]) {
        let marks = self.marks.lock().map(|m| m.clone()).unwrap_or_default();
        let indices = log
            .events()
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, LogEvent::Trial { .. }))
            .map(|(j, _)| j);
        for (point, j) in trials.iter_mut().zip(indices) {
            point.at_secs = earlier
                .iter()
                .find(|t| t.trial == point.trial)
                .and_then(|t| t.at_secs)
                .or_else(|| marks.iter().find(|(n, _)| *n > j).map(|(_, at)| *at));
        }
    }
}

/// Options shared by the commands that call LMs.
#[derive(Clone, Default)]
pub struct Options {
    /// LM overrides (`--lm`, `--base-url`, `--no-cache`).
    pub lms: LmOverrides,
    /// Data overrides (`--dataset`, `--limit`).
    pub data: DataOverrides,
    /// A state file to start from (`--state`).
    pub state: Option<PathBuf>,
    /// Concurrency (`--concurrency`; default: the optimizer's, else 8).
    pub concurrency: Option<usize>,
    /// Stops the work; an optimization then writes its checkpoint.
    pub cancel: CancellationToken,
    /// Progress of evaluations.
    pub eval_progress: Option<Arc<dyn Progress>>,
    /// Progress of optimizations.
    pub run_progress: Option<Arc<dyn DriverProgress>>,
    /// Run the optimization's jobs on `hone worker` processes through Redis (`--redis`).
    pub redis: Option<RedisTarget>,
    /// `--max-errors`: an evaluation stops once this many examples failed, an optimization
    /// once this many examples or jobs in a row failed (default [`DEFAULT_MAX_ERRORS`]).
    pub max_errors: Option<usize>,
    /// `--lease-secs`: how long a distributed run's coordinator lease lasts without renewal.
    pub lease: Option<std::time::Duration>,
}

/// DSPy's default `max_errors` (`dspy.settings.max_errors`).
pub const DEFAULT_MAX_ERRORS: usize = hone_optimize::DEFAULT_MAX_ERRORS;

impl Options {
    /// `max_errors`, or the default.
    pub fn max_errors(&self) -> usize {
        self.max_errors.unwrap_or(DEFAULT_MAX_ERRORS)
    }
}

/// Where a distributed run's jobs go: a Redis server and the run's id there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisTarget {
    /// `redis://HOST:PORT[/DB]` or `unix:///PATH/redis.sock`.
    pub url: String,
    /// The run id (letters, digits, `-`, `_`, `.`); workers serve it by this name.
    pub run_id: String,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("lms", &self.lms)
            .field("data", &self.data)
            .field("state", &self.state)
            .field("concurrency", &self.concurrency)
            .field("redis", &self.redis)
            .field("max_errors", &self.max_errors)
            .finish_non_exhaustive()
    }
}

/// A program ready to call: its pipeline (state loaded), LMs and context.
pub struct Loaded {
    /// The program file.
    pub program: Program,
    /// The LMs.
    pub lms: Lms,
    /// The runnable pipeline.
    pub pipeline: Pipeline,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("program", &self.program.path)
            .finish_non_exhaustive()
    }
}

impl Loaded {
    /// Reads the program, builds its LMs and pipeline, loads `--state`.
    pub fn load(path: &Path, options: &Options) -> Result<Loaded> {
        Loaded::from_program(Program::read(path)?, options)
    }

    /// Builds the LMs and pipeline of a program already read, loads `--state`.
    pub fn from_program(program: Program, options: &Options) -> Result<Loaded> {
        let lms = build_lms(&program, &options.lms)?;
        let mut pipeline = Pipeline::build(&program, Some(&lms))?;
        if let Some(state) = &options.state {
            let s = read_state(state, &pipeline)?;
            pipeline = pipeline.with_state(&s)?;
        }
        Ok(Loaded {
            program,
            lms,
            pipeline,
        })
    }

    /// The call context: the default LM.
    pub fn context(&self) -> Result<CallContext> {
        Ok(CallContext::with_default_lm(self.lms.default_lm()?))
    }

    /// The executor that runs an optimizer's jobs on this program: the pipeline as template,
    /// the default LM as task LM, the `proposer` LM (the task LM when none is named) and the
    /// `teacher` LM when the program names one.
    pub fn executor(
        &self,
        metric: Arc<dyn hone_eval::metric::Metric>,
    ) -> Result<InProcessExecutor> {
        let lms = &self.lms;
        let mut executor = InProcessExecutor::new(
            template_factory(self.pipeline.clone()),
            lms.default_lm()?,
            metric,
        )
        .with_lm(LmRole::Proposer, lms.role("proposer")?);
        if lms.handles.contains_key("teacher") {
            executor = executor.with_lm(LmRole::Teacher, lms.get("teacher")?);
        }
        Ok(executor)
    }

    /// Runs the jobs of distributed optimization runs of this program from Redis until
    /// `shutdown` completes: the worker side of `hone optimize --redis`. The program's
    /// `[metric]` scores the jobs' examples.
    pub async fn serve(
        &self,
        redis: hone_redis::Redis,
        config: hone_redis::WorkerConfig,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> Result<hone_redis::WorkerStats> {
        let metric = build_metric(&self.program, Some(&self.lms))?;
        let mut config = config;
        config.serves = Some(self.serves(metric.as_ref()));
        let executor = self.executor(metric)?;
        hone_redis::Worker::new(redis, Arc::new(executor), config)
            .run(shutdown)
            .await
            .map_err(|e| Error::Failed(format!("the worker stopped: {e}")))
    }

    /// The fingerprint of what this program's jobs need from a worker: each stage's name,
    /// module kind, adapter and fields (not its instructions, which jobs carry), and the
    /// metric. Coordinator and workers compare it, so a worker with another program or
    /// metric refuses the run's jobs.
    pub fn serves(&self, metric: &dyn hone_eval::metric::Metric) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for stage in &self.program.stages {
            let mut signature = stage.signature.clone();
            signature.instructions = String::new();
            hash.update(stage.name.as_bytes());
            hash.update(stage.kind.as_str().as_bytes());
            hash.update(format!("{:?}", stage.adapter).as_bytes());
            hash.update(
                serde_json::to_string(&signature)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            hash.update(b"\n");
        }
        hash.update(metric.name().as_bytes());
        let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{}", &hex[..16])
    }

    /// Runs the program on one set of inputs.
    pub async fn predict(&self, inputs: Example) -> Result<Prediction> {
        let ctx = self.context()?;
        let inputs = inputs.with_inputs(self.program.inputs.iter().map(String::as_str));
        self.pipeline
            .call(inputs, &ctx)
            .await
            .map_err(|e| Error::Failed(e.to_string()))
    }

    /// Evaluates the program on `examples`.
    pub async fn evaluate(
        &self,
        examples: Vec<Example>,
        options: &Options,
    ) -> Result<EvaluationResult> {
        self.evaluate_module(&self.pipeline, examples, options)
            .await
    }

    /// Evaluates `module` (the program, or a module around it) on `examples` with the
    /// program's metric and LMs.
    pub async fn evaluate_module(
        &self,
        module: &dyn Module,
        examples: Vec<Example>,
        options: &Options,
    ) -> Result<EvaluationResult> {
        let metric = build_metric(&self.program, Some(&self.lms))?;
        let mut eval = Evaluate::with_metric(examples, metric)
            .concurrency(
                options
                    .concurrency
                    .unwrap_or(crate::optimizer::DEFAULT_CONCURRENCY),
            )
            .max_errors(options.max_errors());
        if let Some(p) = &options.eval_progress {
            eval = eval.progress(p.clone());
        }
        let failed_calls = || self.lms.usage.report().failed_calls;
        let result = eval
            .run(module, &self.context()?)
            .await
            .map_err(|e| Error::Failed(format!("{e} ({} LM call(s) failed)", failed_calls())))?;
        if result.errors > 0 && result.errors == result.results.len() {
            let first = result
                .results
                .iter()
                .find_map(|r| r.error.as_ref().map(|e| (r.index, e)));
            let (index, error) = first.map_or((0, ""), |(i, e)| (i, e.as_str()));
            return Err(Error::Failed(format!(
                "every example failed ({} of {}; {} LM call(s) failed); the first failure, \
                 example #{index}: {error}",
                result.errors,
                result.results.len(),
                failed_calls()
            )));
        }
        Ok(result)
    }
}

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

/// One process at a time drives a run directory: `RUN_DIR/lock` holds the driver's pid and is
/// removed when it ends. A lock whose process is gone (killed) is taken over.
pub struct RunLock {
    path: PathBuf,
}

impl RunLock {
    /// The name of the lock file.
    pub const FILE: &'static str = "lock";

    /// Takes the lock of `dir`, or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock> {
        let path = dir.join(Self::FILE);
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let pid = holder.trim().parse::<u32>().ok();
                    if pid.is_some_and(process_alive) {
                        return Err(Error::Usage(format!(
                            "{} is driven by another hone process (pid {}); wait for it to end \
                             or stop it (Ctrl-C) first",
                            dir.display(),
                            holder.trim()
                        )));
                    }
                    // The holder is gone (killed): take the lock over.
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(Error::io("create", &path, e)),
            }
        }
        Err(Error::Usage(format!(
            "cannot take the lock {}; remove it if no hone process drives the run",
            path.display()
        )))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether a process with this pid runs (on Linux, from /proc; elsewhere assumed alive).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let stat = Path::new("/proc").join(pid.to_string()).join("stat");
    if !Path::new("/proc/self").exists() {
        return true;
    }
    match std::fs::read_to_string(stat) {
        // A zombie (`Z`) has ended.
        Ok(text) => !text
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

struct Session {
    loaded: Loaded,
    dataset: Dataset,
    choice: OptimizerChoice,
    dir: PathBuf,
    record: RunRecord,
    started: Instant,
    _lock: RunLock,
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
        log: RunLog::new(),
        error: None,
    };
    record.write(dir)?;
    let session = Session {
        loaded,
        dataset,
        choice,
        dir: dir.to_owned(),
        record,
        started: Instant::now(),
        _lock: lock,
    };
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
            options
                .lms
                .lms
                .push((name.clone(), lm.model.clone(), lm.base_url.clone()));
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
    let session = Session {
        loaded,
        dataset,
        choice,
        dir: dir.to_owned(),
        record,
        started: Instant::now(),
        _lock: lock,
    };
    drive(session, &options, fresh, metric).await
}

/// What a driver reported, in-process or through Redis.
struct Driven {
    stop: StopReason,
    total_tells: u64,
    lm_calls: u64,
    failures: u64,
    first_error: Option<String>,
}

impl From<&hone_eval::RunReport> for Driven {
    fn from(r: &hone_eval::RunReport) -> Self {
        Driven {
            stop: r.stop,
            total_tells: r.total_tells,
            lm_calls: r.lm_calls,
            failures: r.failures,
            first_error: r.first_error.clone(),
        }
    }
}

/// Runs the optimization as the coordinator of a distributed run: jobs go to the Redis
/// streams of `target.run_id`, `hone worker` processes run them, the results come back here.
/// The checkpoint is the run directory's, so `hone resume` continues the run.
async fn coordinate(
    target: &RedisTarget,
    s: &Session,
    options: &Options,
    fresh: Option<Box<dyn Optimizer>>,
    metric: &dyn hone_eval::metric::Metric,
) -> std::result::Result<(Driven, RunLog, Option<ProgramState>), String> {
    use hone_redis::{CoordinatorConfig, Redis, RedisDriver, RunId};
    let run = RunId::new(target.run_id.clone()).map_err(|e| e.to_string())?;
    let redis = Redis::connect(&target.url).await.map_err(|e| {
        format!(
            "cannot reach Redis at {}: {e}",
            hone_lm::redact_url(&target.url)
        )
    })?;
    let mut config = CoordinatorConfig::new(run).checkpoint(s.dir.join(files::CHECKPOINT));
    config.cancel = options.cancel.clone();
    config.max_queued = (s.choice.concurrency * 2).max(16);
    config.max_errors = Some(options.max_errors());
    config.serves = Some(s.loaded.serves(metric));
    if let Some(lease) = options.lease {
        config.lease = lease;
    }
    config
        .metadata
        .insert("program".into(), json!(s.record.program));
    config
        .metadata
        .insert("optimizer".into(), json!(s.choice.kind));
    let mut driver = match fresh {
        Some(opt) => RedisDriver::new(redis, opt, config),
        None => RedisDriver::resume(redis, &hone_optimize::Registry::builtin(), config)
            .map_err(|e| e.to_string())?,
    };
    let report = driver.run().await.map_err(|e| e.to_string())?;
    let opt = driver.into_optimizer();
    Ok((
        Driven {
            stop: report.stop,
            total_tells: report.total_tells,
            lm_calls: report.lm_calls,
            failures: report.failures,
            first_error: report.first_error.clone(),
        },
        opt.log().clone(),
        opt.best().or(report.best),
    ))
}

async fn drive(
    mut s: Session,
    options: &Options,
    fresh: Option<Box<dyn Optimizer>>,
    metric: Arc<dyn hone_eval::metric::Metric>,
) -> Result<Outcome> {
    let lms = &s.loaded.lms;
    let executor = s.loaded.executor(metric.clone())?;
    let mut config = DriverConfig::with_concurrency(s.choice.concurrency)
        .checkpoint(s.dir.join(files::CHECKPOINT));
    config.cancel = options.cancel.clone();
    config.max_errors = Some(options.max_errors());
    s.record.status = "running".into();
    s.record.error = None;
    let clock = Arc::new(RunClock {
        started: std::time::Instant::now(),
        offset: s.record.elapsed_secs,
        marks: std::sync::Mutex::new(Vec::new()),
        inner: options.run_progress.clone(),
        usage: Some(UsageKeeper {
            dir: s.dir.clone(),
            tracker: lms.usage.clone(),
            record: std::sync::Mutex::new((
                s.record.clone(),
                Instant::now() - std::time::Duration::from_secs(2),
            )),
        }),
    });
    config.progress = Some(clock.clone());
    config.metadata = json!({"program": s.record.program, "optimizer": s.choice.kind});
    let previous_usage = s.record.usage.clone();
    let result: std::result::Result<(Driven, RunLog, Option<ProgramState>), String> =
        match (&options.redis, fresh) {
            (Some(target), fresh) => coordinate(target, &s, options, fresh, metric.as_ref()).await,
            (None, Some(mut opt)) => hone_eval::run_optimizer(opt.as_mut(), &executor, &config)
                .await
                .map(|r| (Driven::from(&r), opt.log().clone(), opt.best()))
                .map_err(|e| e.to_string()),
            (None, None) => hone_eval::resume(
                &s.dir.join(files::CHECKPOINT),
                &hone_optimize::Registry::builtin(),
                &executor,
                &config,
            )
            .await
            .map(|(opt, r)| {
                let log = opt.log().clone();
                let best = opt.best();
                (Driven::from(&r), log, best)
            })
            .map_err(|e| e.to_string()),
        };
    let mut usage = previous_usage.clone();
    usage.add(&UsageTotals::from_report(&lms.usage.report()));
    s.record.usage = usage;
    s.record.elapsed_secs += s.started.elapsed().as_secs_f64();
    let (report, log, best) = match result {
        Ok(r) => r,
        Err(e) => {
            s.record.status = "failed".into();
            s.record.error = Some(e.to_string());
            s.record.write(&s.dir)?;
            return Err(Error::Failed(format!(
                "the optimization failed: {e}\nthe last checkpoint is in {}; fix the cause and continue with `hone resume {}`",
                s.dir.display(),
                s.dir.display()
            )));
        }
    };
    s.record.tells = report.total_tells;
    s.record.lm_calls += report.lm_calls;
    s.record.failures += report.failures;
    if s.record.first_failure.is_none() {
        s.record.first_failure = report.first_error.clone();
    }
    let mut trials = trial_points(&log);
    clock.stamp(&mut trials, &log, &s.record.trials);
    s.record.trials = trials;
    s.record.log = log;
    if report.stop != StopReason::Done {
        s.record.status = "interrupted".into();
        s.record.write(&s.dir)?;
        return Ok(Outcome {
            dir: s.dir,
            record: s.record,
            interrupted: true,
            already_done: false,
        });
    }
    let best = best.unwrap_or_else(|| s.loaded.pipeline.state());
    finish(s, options, best, None, previous_usage).await
}

/// Ends a run that is done: writes the best state, scores the baseline and the best program
/// (or `module`, a call-time module around the program, whose state `best` then is) on the
/// dev split, writes the results and the record.
async fn finish(
    mut s: Session,
    options: &Options,
    best: ProgramState,
    module: Option<Box<dyn Module>>,
    previous_usage: UsageTotals,
) -> Result<Outcome> {
    let lms = &s.loaded.lms;
    write_file(&s.dir.join(files::BEST), &best.to_json_string_pretty())?;
    // Dev results of the baseline and the best program.
    let baseline_state = read_state(&s.dir.join(files::BASELINE), &s.loaded.pipeline)?;
    let dev = if s.dataset.dev.is_empty() {
        s.dataset.train.clone()
    } else {
        s.dataset.dev.clone()
    };
    let mut lines = String::new();
    for (label, state) in [("baseline", &baseline_state), ("best", &best)] {
        let loaded = Loaded {
            program: s.loaded.program.clone(),
            lms: s.loaded.lms.clone(),
            pipeline: s.loaded.pipeline.clone().with_state(state)?,
        };
        let mut eval_options = options.clone();
        eval_options.concurrency = Some(s.choice.concurrency);
        let result = match (&module, label) {
            (Some(m), "best") => {
                loaded
                    .evaluate_module(m.as_ref(), dev.clone(), &eval_options)
                    .await?
            }
            _ => loaded.evaluate(dev.clone(), &eval_options).await?,
        };
        let score = ScoreRecord::of(&result);
        if label == "baseline" {
            s.record.baseline = Some(score);
        } else {
            s.record.best = Some(score);
        }
        for r in &result.results {
            let mut v = serde_json::to_value(r)
                .map_err(|e| Error::Failed(format!("cannot serialize a result: {e}")))?;
            if let Value::Object(m) = &mut v {
                m.insert("program".into(), Value::from(label));
            }
            lines.push_str(&v.to_string());
            lines.push('\n');
        }
    }
    write_file(&s.dir.join(files::RESULTS), &lines)?;
    if module.is_some() {
        // A call-time module's run is its evaluation.
        s.record.elapsed_secs += s.started.elapsed().as_secs_f64();
    }
    let mut usage = previous_usage;
    usage.add(&UsageTotals::from_report(&lms.usage.report()));
    s.record.usage = usage;
    s.record.status = "done".into();
    s.record.write(&s.dir)?;
    Ok(Outcome {
        dir: s.dir,
        record: s.record,
        interrupted: false,
        already_done: false,
    })
}
