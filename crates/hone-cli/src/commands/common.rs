//! What the program-running subcommands share: LM and data flags, the output mode, progress
//! bars, the async runtime and Ctrl-C.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hone_cli::dataset::DataOverrides;
use hone_cli::program::LmOverrides;
use hone_cli::run::Options;
use hone_eval::{CancellationToken, DriverProgress, Progress, TellEvent};
use indicatif::{ProgressBar, ProgressStyle};

/// How the user wants output: from the global flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    /// `--json`: machine-readable output on stdout.
    pub json: bool,
    /// `-q`: only errors.
    pub quiet: bool,
}

impl Output {
    /// Whether to draw progress bars: on a terminal, not quiet.
    pub fn progress(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// Prints a status line to stderr unless quiet.
    pub fn note(&self, text: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", text.as_ref());
        }
    }
}

/// The process was interrupted (Ctrl-C): exit code 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Flags choosing the LMs.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LmArgs {
    /// An LM of this run, `[NAME=]MODEL[@BASE_URL]`; NAME defaults to `task` (repeatable; beats
    /// the program's `[lm.NAME]`).
    #[arg(long = "lm", value_name = "[NAME=]MODEL[@URL]")]
    lms: Vec<String>,
    /// The base URL of every LM that names none (default: OPENAI_BASE_URL, else OpenAI).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Do not use the LM response cache.
    #[arg(long)]
    no_cache: bool,
}

impl LmArgs {
    /// The overrides.
    pub fn overrides(&self) -> anyhow::Result<LmOverrides> {
        let mut lms = Vec::new();
        for l in &self.lms {
            lms.push(LmOverrides::parse_lm(l).map_err(|e| anyhow::anyhow!("--lm {e}"))?);
        }
        Ok(LmOverrides {
            lms,
            base_url: self.base_url.clone(),
            no_cache: self.no_cache,
            env: hone_lm::Env::from_process(),
        })
    }
}

/// Flags choosing the data.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DataArgs {
    /// A dataset file (JSONL or CSV) instead of the program's `[dataset]`.
    #[arg(long, value_name = "FILE")]
    dataset: Option<PathBuf>,
    /// Read at most N examples per file.
    #[arg(long, value_parser = at_least_one, value_name = "N")]
    limit: Option<usize>,
}

impl DataArgs {
    /// The overrides.
    pub fn overrides(&self) -> DataOverrides {
        DataOverrides {
            path: self.dataset.clone(),
            limit: self.limit,
        }
    }
}

/// Parses a count that must be at least 1 (`--concurrency`, `--limit`).
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1, got 0".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a whole number: {e}")),
    }
}

/// `--max-errors`: how many failures a command tolerates.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ErrorArgs {
    /// Stop once N examples failed (an optimization: N examples or jobs in a row), and exit
    /// with 1 [default: 10, DSPy's max_errors].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_errors: Option<u64>,
}

impl ErrorArgs {
    /// The limit given, if any.
    pub fn get(&self) -> Option<usize> {
        self.max_errors
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    }
}

/// Builds the run options.
pub fn options(
    lm: &LmArgs,
    data: Option<&DataArgs>,
    state: Option<PathBuf>,
    concurrency: Option<usize>,
) -> anyhow::Result<Options> {
    Ok(Options {
        lms: lm.overrides()?,
        data: data.map(DataArgs::overrides).unwrap_or_default(),
        state,
        concurrency,
        ..Options::default()
    })
}

/// A multi-threaded runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM: the two ways a user or a supervisor stops hone.
pub async fn interrupt_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Cancels `token` on Ctrl-C or SIGTERM (call inside the runtime); a second one exits at once.
pub fn cancel_on_ctrl_c(token: CancellationToken) {
    tokio::spawn(async move {
        interrupt_signal().await;
        eprintln!("\nstopping: writing the checkpoint (Ctrl-C again to abort)");
        token.cancel();
        interrupt_signal().await;
        std::process::exit(130);
    });
}

/// A progress bar for evaluations.
pub struct EvalBar {
    bar: ProgressBar,
}

impl EvalBar {
    /// A bar labelled `label`, drawn on stderr.
    pub fn new(label: &str) -> Arc<EvalBar> {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_owned());
        Arc::new(EvalBar { bar })
    }
}

impl Progress for EvalBar {
    fn start(&self, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(0);
        self.bar.reset_elapsed();
    }
    fn advance(&self, done: usize, _total: usize, score_sum: f64, errors: usize) {
        self.bar.set_position(done as u64);
        let mean = if done > 0 {
            score_sum / done as f64
        } else {
            0.0
        };
        self.bar
            .set_message(format!("score {:.1}%, {errors} error(s)", mean * 100.0));
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A spinner for optimization runs (their length is not known in advance).
pub struct RunSpinner {
    bar: ProgressBar,
}

impl RunSpinner {
    /// A spinner on stderr.
    pub fn new() -> Arc<RunSpinner> {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix("optimizing");
        bar.enable_steady_tick(Duration::from_millis(120));
        Arc::new(RunSpinner { bar })
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl DriverProgress for RunSpinner {
    fn on_tell(&self, e: &TellEvent<'_>) {
        self.bar.set_message(format!(
            "{}: {} result(s), {} LM call(s), {} job(s) running",
            e.optimizer, e.tells, e.lm_calls, e.running
        ));
    }
}
