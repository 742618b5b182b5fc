//! `hone parse`: reads an LM's answer to an exported prompt back into typed outputs.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use hone_core::adapter::AdapterKind;
use hone_export::{OpenAiExport, parse_output, parse_with_export};

use super::program_file::{StructureArgs, read_any_program, read_text};

/// Arguments of `hone parse`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  hone parse --export qa.openai.json completion.txt
  echo '[[ ## answer ## ]]\n5\n\n[[ ## completed ## ]]' | hone parse --program qa.toml
  hone parse --program runs/qa/program.json --predictor classify.predict answer.txt")]
pub struct ParseArgs {
    /// An openai export (`hone export --format openai`), which records signatures and adapter.
    #[arg(long, value_name = "FILE", conflicts_with = "program")]
    export: Option<PathBuf>,
    /// A program file instead of an export (then --adapter says which format to read).
    #[arg(long, value_name = "FILE")]
    program: Option<PathBuf>,
    #[command(flatten)]
    structure: StructureArgs,
    /// The predictor whose answer this is (may be omitted for a one-predictor program).
    #[arg(long)]
    predictor: Option<String>,
    /// The adapter the prompt was written for, with --program.
    #[arg(long, default_value = "chat")]
    adapter: AdapterKind,
    /// The completion text (stdin if absent or `-`).
    completion: Option<PathBuf>,
}

fn pick(names: Vec<&str>, wanted: Option<&str>) -> anyhow::Result<String> {
    match (wanted, names.as_slice()) {
        (Some(w), _) => Ok(w.to_owned()),
        (None, [one]) => Ok((*one).to_owned()),
        (None, many) => bail!(
            "the program has {} predictors; say which answered with --predictor ({})",
            many.len(),
            many.join(", ")
        ),
    }
}

/// Runs the parse, printing the outputs as JSON; `Ok(true)` on success.
pub fn run(args: &ParseArgs) -> anyhow::Result<bool> {
    let completion = match &args.completion {
        Some(p) if p.as_os_str() != "-" => read_text(p)?,
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the completion from stdin")?;
            s
        }
    };
    let prediction = match (&args.export, &args.program) {
        (Some(path), _) => {
            let export = OpenAiExport::from_json_str(&read_text(path)?)
                .with_context(|| path.display().to_string())?;
            let name = pick(
                export.predictors.keys().map(String::as_str).collect(),
                args.predictor.as_deref(),
            )?;
            parse_with_export(&export, &name, &completion)?
        }
        (None, Some(path)) => {
            let structure = args.structure.load()?;
            let program = read_any_program(path, None, structure.as_ref())?;
            let name = pick(
                program.predictors.keys().map(String::as_str).collect(),
                args.predictor.as_deref(),
            )?;
            let Some(state) = program.predictor(&name) else {
                bail!(
                    "{}: no predictor `{name}` (its predictors: {})",
                    path.display(),
                    program
                        .predictors
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            parse_output(&state.signature, args.adapter, &completion)
                .with_context(|| format!("predictor `{name}`"))?
        }
        (None, None) => bail!("say what the prompt was: --export FILE or --program FILE"),
    };
    let mut text = serde_json::to_string_pretty(&prediction)?;
    text.push('\n');
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(true)
}
