//! `hone import DSPY_FILE`: reads a DSPy-saved program into hone's format.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};

use super::program_file::{StructureArgs, read_program};

/// Arguments of `hone import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The DSPy-saved program (`program.save("x.json")`).
    dspy_file: PathBuf,
    #[command(flatten)]
    structure: StructureArgs,
    /// Where to write hone's program file (stdout if absent).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Runs the import; `Ok(true)` on success.
pub fn run(args: &ImportArgs) -> anyhow::Result<bool> {
    let Some(structure) = args.structure.load()? else {
        bail!(
            "a DSPy file lacks field names and types: give the program's structure with \
             --structure HONE_FILE or --signature NAME=SIGNATURE (one per predictor)"
        );
    };
    let program = read_program(&args.dspy_file, Some(&structure))?;
    let text = program.to_json_string_pretty();
    match &args.output {
        Some(path) => {
            fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(true)
}
