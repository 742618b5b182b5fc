//! `hone optimize PROGRAM --out RUN_DIR` and `hone resume RUN_DIR`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use hone_cli::run::{EventLines, Options, Outcome, files};
use hone_eval::driver::events::RunObserver;
use serde_json::json;

use super::common::{
    DataArgs, ErrorArgs, EvalBar, Interrupted, LmArgs, Output, RunSpinner, at_least_one,
    cancel_on_ctrl_c, options, runtime,
};

const EXAMPLES: &str = "Examples:
  hone optimize qa.toml --out runs/qa
  hone optimize qa.toml --out runs/qa --lm task=gpt-4o-mini --lm proposer=gpt-4o
  hone optimize qa.toml --out runs/qa --base-url http://127.0.0.1:8080/v1 --concurrency 4
  hone optimize qa.toml --out runs/qa --redis redis://127.0.0.1:6379   # jobs run on `hone worker`s

Ctrl-C stops the run cleanly: the checkpoint is written and `hone resume RUN_DIR` continues.";

/// The examples, then the optimizer kinds (with their parameters in the long help).
fn optimize_after_help(params: bool) -> String {
    format!(
        "{EXAMPLES}\n\n{}",
        hone_cli::optimizer::optimizers_help(params)
    )
}

/// Arguments of `hone optimize`.
#[derive(Debug, clap::Args)]
#[command(after_help = optimize_after_help(false), after_long_help = optimize_after_help(true))]
pub struct OptimizeArgs {
    /// The program file (TOML) with [optimizer], [metric] and [dataset].
    #[arg(required_unless_present = "list_optimizers")]
    program: Option<PathBuf>,
    /// The run directory to create.
    #[arg(
        long,
        short = 'o',
        value_name = "RUN_DIR",
        required_unless_present = "list_optimizers"
    )]
    out: Option<PathBuf>,
    /// List every optimizer kind with its description and parameters (as JSON with --json),
    /// and exit.
    #[arg(long)]
    list_optimizers: bool,
    /// A state to start from instead of the program's (e.g. an earlier run's program.json).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// LM-calling work in flight at once (default: [optimizer] concurrency, else 8).
    #[arg(long, value_parser = at_least_one)]
    concurrency: Option<usize>,
    /// Coordinate a distributed run: publish the jobs to this Redis and let `hone worker`
    /// processes (on any machine) run them (redis://HOST:PORT[/DB] or unix:///PATH.sock).
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// The run's id in Redis, which workers serve (default: the run directory's name).
    #[arg(long, value_name = "ID", requires = "redis")]
    run_id: Option<String>,
    /// How long the coordinator's lease on the run lasts without renewal (default 10): the
    /// longest a restarted coordinator waits for a crashed one.
    #[arg(long, value_name = "SECS", requires = "redis", value_parser = at_least_one)]
    lease_secs: Option<usize>,
    /// Write the run's events (run_started, trial_scored, new_best, checkpoint_written,
    /// run_ended, ...) to FILE as JSON lines, one per event, appended; `-` is stdout (not
    /// with --json). The schema is docs/schema/event.v1.json.
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    #[command(flatten)]
    errors: ErrorArgs,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    lm: LmArgs,
}

/// Arguments of `hone resume`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  hone resume runs/qa")]
pub struct ResumeArgs {
    /// The run directory of an interrupted or failed run.
    run_dir: PathBuf,
    /// LM-calling work in flight at once (default: the run's).
    #[arg(long, value_parser = at_least_one)]
    concurrency: Option<usize>,
    /// The Redis URL of a distributed run, when it has credentials (run.json keeps them
    /// redacted).
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// Write the run's events (run_started, trial_scored, new_best, checkpoint_written,
    /// run_ended, ...) to FILE as JSON lines, one per event, appended; `-` is stdout (not
    /// with --json). The schema is docs/schema/event.v1.json.
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    #[command(flatten)]
    errors: ErrorArgs,
    #[command(flatten)]
    lm: LmArgs,
}

/// The `--events` writer: a file appended to, or stdout (`-`) unless stdout carries the
/// `--json` result.
fn events_sink(
    path: Option<&std::path::Path>,
    out: Output,
) -> anyhow::Result<Option<Arc<EventLines>>> {
    let Some(path) = path else {
        return Ok(None);
    };
    if path == std::path::Path::new("-") {
        if out.json {
            return Err(hone_cli::Error::Usage(
                "--events - writes the events to stdout, which carries the --json result; \
                 give a file (--events FILE) or drop --json"
                    .into(),
            )
            .into());
        }
        return Ok(Some(Arc::new(EventLines::new(
            "stdout",
            Box::new(std::io::stdout()),
        ))));
    }
    Ok(Some(Arc::new(EventLines::open(path)?)))
}

/// Runs a session with the `--events` writer and reports a failed write after it.
fn with_events(
    mut opts: Options,
    path: Option<&std::path::Path>,
    out: Output,
    run: impl FnOnce(Options) -> anyhow::Result<bool>,
) -> anyhow::Result<bool> {
    let sink = events_sink(path, out)?;
    opts.events = sink.clone().map(|s| s as Arc<dyn RunObserver>);
    let ok = run(opts)?;
    if let Some(e) = sink.and_then(|s| s.error()) {
        anyhow::bail!("{e}; the run itself is unaffected (see run.json)");
    }
    Ok(ok)
}

fn with_progress(mut opts: Options, out: Output) -> (Options, Option<std::sync::Arc<RunSpinner>>) {
    if out.progress() {
        let spinner = RunSpinner::new();
        opts.run_progress = Some(spinner.clone());
        opts.eval_progress = Some(EvalBar::new("scoring"));
        (opts, Some(spinner))
    } else {
        (opts, None)
    }
}

fn report(outcome: &Outcome, out: Output) -> anyhow::Result<bool> {
    let r = &outcome.record;
    let dir = outcome.dir.display();
    if out.json {
        let line = json!({
            "run_dir": outcome.dir,
            "status": r.status,
            "optimizer": r.optimizer.kind,
            "baseline": r.baseline,
            "best": r.best,
            "trials": r.trials.len(),
            "failures": r.failures,
            "first_failure": r.first_failure,
            "usage": r.usage,
            "elapsed_secs": r.elapsed_secs,
        });
        writeln!(std::io::stdout().lock(), "{line}")?;
    }
    if outcome.already_done {
        out.note(format!(
            "{dir} is already done (status `done`); nothing was run. The best program is {dir}/{}",
            files::BEST
        ));
        return Ok(true);
    }
    if outcome.interrupted {
        out.note(format!(
            "interrupted after {} result(s); checkpoint in {dir}/{}\ncontinue with: hone resume {dir}",
            r.tells,
            files::CHECKPOINT
        ));
        return Err(Interrupted.into());
    }
    if !out.json && !out.quiet {
        let score = |s: &Option<hone_cli::run::ScoreRecord>| {
            s.as_ref().map_or("–".to_owned(), |s| {
                if s.errors > 0 {
                    format!("{:.2}% ({} failed)", s.score, s.errors)
                } else {
                    format!("{:.2}%", s.score)
                }
            })
        };
        let mut w = std::io::stdout().lock();
        writeln!(
            w,
            "{}: baseline {} -> best {} on {} dev example(s), {} trial(s), {} LM call(s), ${:.4}, {:.1}s",
            r.optimizer.kind,
            score(&r.baseline),
            score(&r.best),
            r.best.as_ref().map_or(0, |b| b.examples),
            r.trials.len(),
            r.usage.calls,
            r.usage.cost_usd,
            r.elapsed_secs
        )?;
        if r.failures > 0 || r.usage.failed_calls > 0 {
            eprintln!(
                "warning: {} example(s) or job(s) of the search failed, {} LM call(s) failed; the first: {}",
                r.failures,
                r.usage.failed_calls,
                r.first_failure.as_deref().unwrap_or("(none recorded)")
            );
        }
        writeln!(w, "best program: {dir}/{}", files::BEST)?;
        writeln!(
            w,
            "next: hone report {dir}   hone diff {dir}/{} {dir}/{}",
            files::BASELINE,
            files::BEST
        )?;
    }
    Ok(true)
}

/// A run id from the run directory's name: its letters, digits, `-`, `_` and `.`.
fn default_run_id(out: &std::path::Path) -> String {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if id.is_empty() { "run".to_owned() } else { id }
}

/// Runs `hone optimize`.
pub fn run(args: &OptimizeArgs, out: Output) -> anyhow::Result<bool> {
    if args.list_optimizers {
        let mut w = std::io::stdout().lock();
        if out.json {
            writeln!(w, "{}", hone_optimize::Catalogue::builtin().to_json())?;
        } else {
            write!(w, "{}", hone_cli::optimizer::optimizers_help(true))?;
        }
        return Ok(true);
    }
    let (Some(program), Some(run_dir)) = (&args.program, &args.out) else {
        anyhow::bail!("hone optimize needs a PROGRAM and --out RUN_DIR");
    };
    let opts = options(
        &args.lm,
        Some(&args.data),
        args.state.clone(),
        args.concurrency,
    )?;
    let mut opts = opts;
    opts.max_errors = args.errors.get();
    opts.lease = args
        .lease_secs
        .map(|s| std::time::Duration::from_secs(s as u64));
    if let Some(url) = &args.redis {
        let run_id = match &args.run_id {
            Some(id) => id.clone(),
            None => default_run_id(run_dir),
        };
        let shown = hone_lm::redact_url(url);
        out.note(format!(
            "run `{run_id}`: jobs go to {shown}; start workers with\n  hone worker --redis {shown} --program {} --run {run_id}",
            program.display()
        ));
        opts.redis = Some(hone_cli::run::RedisTarget {
            url: url.clone(),
            run_id,
        });
    }
    with_events(opts, args.events.as_deref(), out, |opts| {
        let (opts, spinner) = with_progress(opts, out);
        let rt = runtime()?;
        let outcome = rt.block_on(async {
            cancel_on_ctrl_c(opts.cancel.clone());
            hone_cli::run::optimize(program, run_dir, &opts).await
        });
        if let Some(s) = spinner {
            s.finish();
        }
        report(&outcome?, out)
    })
}

/// Runs `hone resume`.
pub fn resume(args: &ResumeArgs, out: Output) -> anyhow::Result<bool> {
    let mut opts = options(&args.lm, None, None, args.concurrency)?;
    opts.max_errors = args.errors.get();
    opts.redis = args.redis.as_ref().map(|url| hone_cli::run::RedisTarget {
        url: url.clone(),
        run_id: String::new(),
    });
    with_events(opts, args.events.as_deref(), out, |opts| {
        let (opts, spinner) = with_progress(opts, out);
        let rt = runtime()?;
        let outcome = rt.block_on(async {
            cancel_on_ctrl_c(opts.cancel.clone());
            hone_cli::run::resume(&args.run_dir, &opts).await
        });
        if let Some(s) = spinner {
            s.finish();
        }
        report(&outcome?, out)
    })
}
