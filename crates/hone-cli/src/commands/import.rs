//! `hone import DSPY_FILE`: reads a DSPy-saved program into hone's format, with the structure
//! given or read off the file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use hone_cli::program::skeleton_toml;
use hone_export::{Imported, import_dspy_value, signature_flag};

use super::common::Output;
use super::program_file::{StructureArgs, read_text};

/// Arguments of `hone import`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  hone import optimized.json -o imported.json     # also writes imported.toml, the program
  hone run imported.toml --state imported.json --lm gpt-4o-mini --input question='...'
  hone import optimized.json --structure imported.toml -o imported.json   # after editing it
  hone import optimized.json --signature 'respond.predict=context, question -> reasoning, response'

Without --structure or --signature the structure is read off the file (field names from
`${name}` descriptions, bootstrapped demos or prefixes; ChainOfThought's reasoning; ReAct's
predictor pair; output types from demos) and every guess is listed on stderr and in the TOML
program, with the matching --signature lines.")]
pub struct ImportArgs {
    /// The DSPy-saved program (`program.save("x.json")`).
    dspy_file: PathBuf,
    #[command(flatten)]
    structure: StructureArgs,
    /// Where to write hone's state file (stdout if absent). When the structure is read off
    /// the file, the TOML program is written next to it (`X.json` → `X.toml`).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Where to write the TOML program read off the file (default: beside --output).
    #[arg(long, value_name = "FILE.toml")]
    program: Option<PathBuf>,
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// What the import noticed, on stderr.
fn report(imported: &Imported, out: Output) {
    if out.quiet {
        return;
    }
    if let Some(inferred) = &imported.inferred {
        if inferred.guesses.is_empty() {
            eprintln!("read the structure off the file; nothing had to be guessed");
        } else {
            eprintln!("read the structure off the file; guessed (confirm these):");
            for g in &inferred.guesses {
                eprintln!("  - {g}");
            }
        }
        let flags: Vec<String> = inferred
            .structure
            .iter()
            .map(|(name, sig)| signature_flag(name, sig))
            .collect();
        eprintln!("the same structure as flags: {}", flags.join(" "));
    }
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    for d in imported.dropped.iter().chain(&imported.notes) {
        eprintln!("note: {d}");
    }
}

/// Runs the import; `Ok(true)` on success.
pub fn run(args: &ImportArgs, out: Output) -> anyhow::Result<bool> {
    let structure = args.structure.load()?;
    let at = || args.dspy_file.display().to_string();
    let text = read_text(&args.dspy_file)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not valid JSON (line {}, column {})",
            at(),
            e.line(),
            e.column()
        )
    })?;
    let imported = import_dspy_value(&value, structure.as_ref()).with_context(at)?;
    report(&imported, out);
    let state = imported.state.to_json_string_pretty();
    match &args.output {
        Some(path) => write(path, &state)?,
        None => std::io::stdout().lock().write_all(state.as_bytes())?,
    }
    if imported.inferred.is_some() {
        let program = args
            .program
            .clone()
            .or_else(|| args.output.as_ref().map(|o| o.with_extension("toml")));
        match program {
            Some(path) => {
                let source = args
                    .dspy_file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(at);
                let state_name = args.output.as_ref().map(|o| o.display().to_string());
                write(
                    &path,
                    &skeleton_toml(&imported, &source, state_name.as_deref()),
                )?;
                if !out.quiet {
                    eprintln!(
                        "wrote the program {} and its state {}",
                        path.display(),
                        args.output
                            .as_ref()
                            .map_or("(stdout)".to_owned(), |o| o.display().to_string())
                    );
                }
            }
            None if !out.quiet => eprintln!(
                "hint: give --output FILE.json to also write the TOML program (FILE.toml) to \
                 review and run"
            ),
            None => {}
        }
    }
    Ok(true)
}
