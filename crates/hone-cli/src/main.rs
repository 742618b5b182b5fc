//! The `hone` command-line tool: argument parsing, printing and exit codes over the
//! `hone_cli` library and the other hone crates.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand, ValueEnum};

use commands::common::{Interrupted, Output};

/// Program language models the DSPy way: declarative programs, datasets, optimization runs,
/// reports and exports.
#[derive(Debug, Parser)]
#[command(
    name = "hone",
    version,
    after_help = "Examples:
  hone sim &                                        # a simulated LM server (prints its URL)
  hone run qa.toml --input question='What is 2 + 3?'
  hone eval qa.toml --json
  hone optimize qa.toml --out runs/qa               # Ctrl-C checkpoints; `hone resume runs/qa`
  hone report runs/qa                               # runs/qa/report.html
  hone export runs/qa/program.json --format markdown
  hone diff runs/qa/baseline.json runs/qa/program.json
  hone import saved_by_dspy.json -o imported.json   # + imported.toml, the program
  hone program freeze qa.toml --state runs/qa/program.json -o qa.json

Exit codes:
  0    success
  1    failure: the work failed (an LM, a metric), checks failed, or `diff` found differences
  2    usage or input error: bad flags, or a file that cannot be read (the message names file,
       line and field)
  130  interrupted (Ctrl-C); an optimization run has written its checkpoint

Logging: -v info, -vv debug, -vvv trace (HONE_LOG or RUST_LOG take a full filter)."
)]
struct Cli {
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// More log output on stderr (repeat for more).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    verbose: u8,
    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// When to use colors in logs and progress output.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: ColorWhen,
    #[command(subcommand)]
    command: Command,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a program (TOML) on inputs and print its predictions.
    ///
    /// Exits with 0 when every input got a prediction, 1 if any failed, 2 on bad input.
    Run(commands::predict::RunArgs),
    /// Score a program on a dataset split: a table, or --json / --jsonl.
    ///
    /// Exits with 0 after scoring, 1 if the evaluation failed, 2 on bad input.
    Eval(commands::eval::EvalArgs),
    /// Optimize a program's prompts into a run directory (checkpoint, best program, results).
    ///
    /// Exits with 0 when done, 1 if the run failed, 2 on bad input, 130 when interrupted (the
    /// checkpoint is written; continue with `hone resume`).
    Optimize(commands::optimize::OptimizeArgs),
    /// Continue an interrupted or failed optimization run from its checkpoint.
    ///
    /// Exit codes as `hone optimize`.
    Resume(commands::optimize::ResumeArgs),
    /// Write a run's self-contained HTML report: trials chart, winning prompt, diff, results.
    ///
    /// Exits with 0 on success, 2 if the run directory cannot be read.
    Report(commands::report::ReportArgs),
    /// Start the simulated OpenAI-compatible LM server (until Ctrl-C).
    ///
    /// Prints `listening on http://127.0.0.1:PORT/v1` first. Exits with 0 after Ctrl-C, 1 if
    /// it cannot listen.
    Sim(commands::sim::SimArgs),
    /// Check hone's adapters against reference renderings made by DSPy.
    ///
    /// DIR holds one directory per case (signature.json, inputs.json, demos.json,
    /// {chat,json,xml}.messages.json, parse.json), as written by make_golden.py. Prints one line
    /// per check and a summary; exits with 0 if every check passes, 1 if any fails, 2 if the
    /// cases cannot be read.
    #[command(after_help = "Example:
  hone conformance testdata/dspy-golden")]
    Conformance {
        /// The directory of reference cases.
        dir: PathBuf,
    },
    /// Write a program in a portable format: openai, jinja, markdown, dspy or bundle.
    ///
    /// Exits with 0 on success, 2 if the program cannot be read or exported.
    Export(commands::export::ExportArgs),
    /// Read a DSPy-saved program (JSON) into hone's program format: a state file, and a TOML
    /// program when the structure is read off the file.
    ///
    /// Exits with 0 on success, 2 if the file or the structure cannot be read or do not fit
    /// (every misfit is listed at once).
    Import(commands::import::ImportArgs),
    /// Work with program files: `hone program freeze PROGRAM.toml [--state S] -o program.json`.
    #[command(subcommand)]
    Program(commands::program::ProgramCommand),
    /// Show what changed between two versions of a program.
    ///
    /// Exits with 0 if they are the same, 1 if they differ, 2 if either cannot be read.
    Diff(commands::diff::DiffArgs),
    /// Parse an LM's answer to an exported prompt into JSON outputs.
    ///
    /// Exits with 0 on success, 2 if the answer or the files cannot be read.
    Parse(commands::parse::ParseArgs),
    /// Run jobs of distributed optimization runs from Redis until Ctrl-C or SIGTERM.
    ///
    /// Exits with 0 after a clean shutdown, 2 if the worker cannot start or Redis stays
    /// unreachable.
    Worker(commands::worker::WorkerArgs),
}

/// Sends `tracing` output to stderr: warnings by default, more with `-v`, only errors with
/// `-q`; HONE_LOG (or RUST_LOG) holds a full filter.
fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = std::env::var("HONE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .filter(|_| cli.verbose == 0 && !cli.quiet)
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(level));
    let ansi = match cli.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            use std::io::IsTerminal;
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// The exit code of an error: 130 interrupted, 1 when the work failed, 2 for usage or input.
fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<Interrupted>().is_some() {
        return 130;
    }
    match e.downcast_ref::<hone_cli::Error>() {
        Some(err) if !err.is_input_error() => 1,
        _ => 2,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let out = Output {
        json: cli.json,
        quiet: cli.quiet,
    };
    if cli.color == ColorWhen::Never {
        console::set_colors_enabled_stderr(false);
    }
    let result = match cli.command {
        Command::Run(args) => commands::predict::run(&args, out),
        Command::Eval(args) => commands::eval::run(&args, out),
        Command::Optimize(args) => commands::optimize::run(&args, out),
        Command::Resume(args) => commands::optimize::resume(&args, out),
        Command::Report(args) => commands::report::run(&args, out),
        Command::Sim(args) => commands::sim::run(&args),
        Command::Conformance { dir } => commands::conformance::run(&dir),
        Command::Export(args) => commands::export::run(&args),
        Command::Import(args) => commands::import::run(&args, out),
        Command::Program(cmd) => commands::program::run(&cmd),
        Command::Diff(args) => commands::diff::run(&args),
        Command::Parse(args) => commands::parse::run(&args),
        Command::Worker(args) => commands::worker::run(&args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            let code = exit_code(&e);
            if code != 130 {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(code)
        }
    }
}
