//! `hone export PROGRAM --format F`: writes a program in a portable format.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use hone_core::adapter::AdapterKind;
use hone_export::{
    BundleOptions, JinjaExport, OpenAiExport, Provenance, ReviewOptions, bundle, dspy_export,
    review_markdown,
};

use super::program_file::{StructureArgs, read_any_program, read_text};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Chat request per predictor: messages with `{{field}}` slots, response_format (JSON).
    Openai,
    /// One Jinja2 template per message, per predictor (JSON).
    Jinja,
    /// A review document for people (Markdown).
    Markdown,
    /// DSPy's saved-program JSON, for `program.load()`.
    Dspy,
    /// A directory with all of the above, the hone program and a manifest of hashes.
    Bundle,
}

/// Arguments of `hone export`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  hone export qa.toml --format openai -o qa.openai.json          # a TOML program as written
  hone export qa.toml --state runs/qa/program.json --format jinja # with an optimized state
  hone export runs/qa/program.json --format markdown --score 0.82 --model gpt-4o-mini
  hone export runs/qa/program.json --format dspy -o for_dspy.json # for DSPy's program.load()
  hone export runs/qa/program.json --format bundle -o qa-bundle/
  hone export saved_by_dspy.json --signature 'self=question -> answer' --format openai")]
pub struct ExportArgs {
    /// The program: a TOML program, a hone state file (`program.json`), or a DSPy save with
    /// --structure or --signature.
    program: PathBuf,
    /// With a TOML program: the state to export (e.g. an optimization's `program.json`);
    /// without it, the program as its file writes it.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// The export format.
    #[arg(long, short = 'f', value_enum)]
    format: Format,
    /// The adapter whose prompts to export: chat, json, xml or baml.
    #[arg(long, default_value = "chat")]
    adapter: AdapterKind,
    /// Where to write: a file (stdout if absent), or for `bundle` a directory (required).
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    #[command(flatten)]
    structure: StructureArgs,
    /// The review document's title (default: the program file's name).
    #[arg(long)]
    title: Option<String>,
    /// Provenance: the score the program reached (markdown, bundle).
    #[arg(long)]
    score: Option<f64>,
    /// Provenance: the metric's name.
    #[arg(long)]
    metric: Option<String>,
    /// Provenance: the dataset it was optimized on.
    #[arg(long)]
    dataset: Option<String>,
    /// Provenance: the optimizer that produced it.
    #[arg(long)]
    optimizer: Option<String>,
    /// Provenance: the model it was optimized for.
    #[arg(long)]
    model: Option<String>,
    /// Provenance: the date (default: the program's recorded date, else today, UTC).
    #[arg(long)]
    date: Option<String>,
}

/// Today's date (UTC) as `YYYY-MM-DD`.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Howard Hinnant's civil_from_days.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Runs the export; `Ok(true)` on success.
pub fn run(args: &ExportArgs) -> anyhow::Result<bool> {
    let structure = args.structure.load()?;
    let source = read_text(&args.program)?;
    let program = read_any_program(&args.program, args.state.as_deref(), structure.as_ref())?;
    let mut provenance = Provenance::from_program(&program).merged(Provenance {
        score: args.score,
        metric: args.metric.clone(),
        dataset: args.dataset.clone(),
        optimizer: args.optimizer.clone(),
        model: args.model.clone(),
        date: args.date.clone(),
        hone_version: None,
    });
    if provenance.date.is_none() {
        provenance.date = Some(today());
    }
    let title = args.title.clone().unwrap_or_else(|| {
        args.program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| args.program.display().to_string())
    });
    let hone_version = hone_export::HONE_VERSION.to_owned();
    let at = || format!("cannot export {}", args.program.display());
    let text = match args.format {
        Format::Openai => OpenAiExport::new(&program, args.adapter)
            .with_context(at)?
            .to_json_string_pretty(),
        Format::Jinja => JinjaExport::new(&program, args.adapter)
            .with_context(at)?
            .to_json_string_pretty(),
        Format::Markdown => review_markdown(
            &program,
            &ReviewOptions {
                title,
                adapter: args.adapter,
                provenance,
                hone_version,
            },
        )
        .with_context(at)?,
        Format::Dspy => {
            let (text, dropped) = dspy_export(&program);
            for d in &dropped {
                eprintln!("note: {d}");
            }
            text
        }
        Format::Bundle => {
            let Some(dir) = &args.output else {
                bail!("--format bundle writes a directory: give it with --output DIR");
            };
            let b = bundle(
                &program,
                &BundleOptions {
                    title,
                    adapter: args.adapter,
                    provenance,
                    hone_version,
                    source: Some(source.into_bytes()),
                },
            )
            .with_context(at)?;
            for (path, bytes) in &b.files {
                let file = dir.join(path);
                if let Some(parent) = file.parent() {
                    fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                fs::write(&file, bytes)
                    .with_context(|| format!("cannot write {}", file.display()))?;
            }
            eprintln!("wrote {} files to {}", b.files.len(), dir.display());
            return Ok(true);
        }
    };
    match &args.output {
        Some(path) => {
            fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(true)
}
