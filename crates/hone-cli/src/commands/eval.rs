//! `hone eval PROGRAM`: scores a program on its dev set (or another split or file).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use hone_cli::dataset::load_dataset;
use hone_cli::run::Loaded;

use super::common::{DataArgs, ErrorArgs, EvalBar, LmArgs, Output, at_least_one, options, runtime};
use super::common::{Interrupted, interrupt_signal};

/// Which examples to evaluate on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitChoice {
    /// The dev split.
    Dev,
    /// The train split.
    Train,
    /// Both.
    All,
}

/// Arguments of `hone eval`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  hone eval qa.toml
  hone eval qa.toml --state runs/qa/program.json --split all --jsonl results.jsonl
  hone eval qa.toml --dataset more.csv --json")]
pub struct EvalArgs {
    /// The program file (TOML).
    program: PathBuf,
    /// An optimized state to load (`program.json` of a run).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// The split to score.
    #[arg(long, value_enum, default_value = "dev")]
    split: SplitChoice,
    /// Write per-example results as JSON Lines to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    jsonl: Option<PathBuf>,
    /// Examples run at once.
    #[arg(long, value_parser = at_least_one, default_value_t = 8)]
    concurrency: usize,
    /// Rows of the table printed (all with 0).
    #[arg(long, default_value_t = 20)]
    rows: usize,
    #[command(flatten)]
    errors: ErrorArgs,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    lm: LmArgs,
}

/// Evaluates and prints the table (or JSON).
pub fn run(args: &EvalArgs, out: Output) -> anyhow::Result<bool> {
    let mut opts = options(
        &args.lm,
        Some(&args.data),
        args.state.clone(),
        Some(args.concurrency),
    )?;
    opts.max_errors = args.errors.get();
    let loaded = Loaded::load(&args.program, &opts)?;
    let data = load_dataset(&loaded.program, &opts.data)?;
    let examples = match args.split {
        SplitChoice::Dev => data.dev,
        SplitChoice::Train => data.train,
        SplitChoice::All => data.train.into_iter().chain(data.dev).collect(),
    };
    if out.progress() {
        opts.eval_progress = Some(EvalBar::new("evaluating"));
    }
    let rt = runtime()?;
    // Ctrl-C or SIGTERM stops the evaluation (also one waiting on a metric command, which is
    // killed with it).
    let result = rt.block_on(async {
        tokio::select! {
            r = loaded.evaluate(examples, &opts) => r.map_err(anyhow::Error::from),
            () = interrupt_signal() => Err(Interrupted.into()),
        }
    })?;
    if result.errors > 0 {
        let first = result
            .results
            .iter()
            .find_map(|r| r.error.as_ref().map(|e| (r.index, e)));
        let (index, error) = first.map_or((0, ""), |(i, e)| (i, e.as_str()));
        out.note(format!(
            "warning: {} of {} example(s) failed and scored 0; {} LM call(s) failed; the first \
             failure, example #{index}: {error}",
            result.errors,
            result.results.len(),
            loaded.lms.usage.report().failed_calls
        ));
    }
    match &args.jsonl {
        Some(p) if p.as_os_str() == "-" => result.write_jsonl(std::io::stdout().lock())?,
        Some(p) => {
            let f = std::fs::File::create(p)
                .with_context(|| format!("cannot write {}", p.display()))?;
            result.write_jsonl(std::io::BufWriter::new(f))?;
            out.note(format!("wrote {}", p.display()));
        }
        None => {}
    }
    let stdout_taken = args.jsonl.as_ref().is_some_and(|p| p.as_os_str() == "-");
    if out.json && !stdout_taken {
        writeln!(std::io::stdout().lock(), "{}", result.summary_json())?;
    } else if !stdout_taken {
        let rows = (args.rows > 0).then_some(args.rows);
        write!(std::io::stdout().lock(), "{}", result.table(rows))?;
    }
    Ok(true)
}
