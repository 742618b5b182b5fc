//! `hone diff A B`: what changed between two versions of a program.
//!
//! Exit status as diff(1): 0 when the programs are the same, 1 when they differ, 2 on error.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use hone_export::{Color, diff_programs, render_markdown, render_text};

use super::program_file::{StructureArgs, read_any_program};

/// The output forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Terminal text.
    Text,
    /// A Markdown section for a review.
    Markdown,
}

/// When to color terminal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Never.
    Never,
    /// When stdout is a terminal (and NO_COLOR is unset).
    Auto,
    /// Always.
    Always,
}

/// Arguments of `hone diff`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  hone diff runs/qa/baseline.json runs/qa/program.json
  hone diff qa.toml runs/qa/program.json --format markdown   # a TOML program as written
  hone diff a_dspy.json b_dspy.json --signature 'self=question -> answer'")]
pub struct DiffArgs {
    /// The old version (hone's format; DSPy's with --structure or --signature).
    old: PathBuf,
    /// The new version.
    new: PathBuf,
    /// The output form.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    format: DiffFormat,
    /// Whether to color text output.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
    #[command(flatten)]
    structure: StructureArgs,
}

/// Runs the diff; `Ok(true)` when the programs are the same.
pub fn run(args: &DiffArgs) -> anyhow::Result<bool> {
    let structure = args.structure.load()?;
    let old = read_any_program(&args.old, None, structure.as_ref())?;
    let new = read_any_program(&args.new, None, structure.as_ref())?;
    let diff = diff_programs(&old, &new);
    let (a, b) = (
        args.old.display().to_string(),
        args.new.display().to_string(),
    );
    let text = match args.format {
        DiffFormat::Markdown => render_markdown(&diff, &a, &b),
        DiffFormat::Text => {
            let stdout = std::io::stdout();
            let color = match args.color {
                ColorChoice::Always => Color::Always,
                ColorChoice::Never => Color::Never,
                ColorChoice::Auto
                    if stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none() =>
                {
                    Color::Always
                }
                ColorChoice::Auto => Color::Never,
            };
            render_text(&diff, &a, &b, color)
        }
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(diff.is_empty())
}
