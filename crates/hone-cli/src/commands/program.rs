//! `hone program freeze PROGRAM.toml [--state S] -o program.json`: a TOML program (with a
//! state) as hone's JSON program file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};

use super::program_file::{is_toml, read_any_program};

/// `hone program …`.
#[derive(Debug, clap::Subcommand)]
pub enum ProgramCommand {
    /// Write a TOML program (and a state) as hone's JSON program file: every predictor's
    /// signature with its types, instructions and demos, readable by `export`, `diff`,
    /// `parse` and DSPy's `program.load()`.
    ///
    /// Exits with 0 on success, 2 if a file cannot be read or the state does not fit.
    #[command(after_help = "Examples:
  hone program freeze qa.toml -o qa.json
  hone program freeze qa.toml --state runs/qa/program.json -o qa-optimized.json
  hone program freeze imported.toml --state imported.json     # prints the JSON")]
    Freeze(FreezeArgs),
}

/// Arguments of `hone program freeze`.
#[derive(Debug, clap::Args)]
pub struct FreezeArgs {
    /// The TOML program.
    program: PathBuf,
    /// A state to load onto it (an optimization's `program.json`, an import's state).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Where to write (stdout if absent).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Runs a `hone program` command; `Ok(true)` on success.
pub fn run(command: &ProgramCommand) -> anyhow::Result<bool> {
    match command {
        ProgramCommand::Freeze(args) => {
            if !is_toml(&args.program) {
                bail!(
                    "{} is not a TOML program (`*.toml`); a JSON program file is frozen already",
                    args.program.display()
                );
            }
            let state = read_any_program(&args.program, args.state.as_deref(), None)?;
            let text = state.to_json_string_pretty();
            match &args.output {
                Some(path) => std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
            Ok(true)
        }
    }
}
