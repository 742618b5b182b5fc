//! `hone report RUN_DIR`: writes the run's HTML report.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;

use super::common::Output;

/// Arguments of `hone report`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  hone report runs/qa && xdg-open runs/qa/report.html")]
pub struct ReportArgs {
    /// The run directory.
    run_dir: PathBuf,
    /// Where to write the page (default RUN_DIR/report.html; `-` for stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Writes the report.
pub fn run(args: &ReportArgs, out: Output) -> anyhow::Result<bool> {
    let html = hone_cli::report::render_report(&args.run_dir)?;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| args.run_dir.join("report.html"));
    if path.as_os_str() == "-" {
        std::io::stdout().lock().write_all(html.as_bytes())?;
        return Ok(true);
    }
    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?;
    if out.json {
        writeln!(std::io::stdout().lock(), "{}", json!({"report": path}))?;
    } else if !out.quiet {
        writeln!(std::io::stdout().lock(), "{}", path.display())?;
    }
    Ok(true)
}
