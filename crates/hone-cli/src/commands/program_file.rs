//! Reading program files for the export, import, diff and parse commands.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hone_core::state::{ProgramState, ProgramStructure};
use hone_export::{check_program_like, structure_from_signatures};

/// How to learn a DSPy file's field names and types, which it does not hold.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StructureArgs {
    /// A hone program file of the same program (e.g. the unoptimized one), whose predictor
    /// names and signatures give the structure.
    #[arg(long, value_name = "HONE_FILE")]
    pub structure: Option<PathBuf>,
    /// A predictor's signature in DSPy's string form, `NAME=inputs -> outputs` (repeat per
    /// predictor; `self` for a single-predictor program), e.g.
    /// `--signature 'self=question -> answer: int'`.
    #[arg(long = "signature", value_name = "NAME=SIGNATURE")]
    pub signatures: Vec<String>,
}

impl StructureArgs {
    /// The structure given, if any.
    pub fn load(&self) -> anyhow::Result<Option<ProgramStructure>> {
        if let Some(path) = &self.structure {
            if !self.signatures.is_empty() {
                bail!("give the structure either with --structure or with --signature, not both");
            }
            let program = read_program(path, None).context(
                "--structure must be a hone program file (with `hone.signature` per predictor)",
            )?;
            return Ok(Some(program.structure()));
        }
        if self.signatures.is_empty() {
            return Ok(None);
        }
        let mut pairs = Vec::new();
        for s in &self.signatures {
            let Some((name, sig)) = s.split_once('=') else {
                bail!("--signature `{s}`: expected NAME=SIGNATURE, e.g. 'self=question -> answer'");
            };
            pairs.push((name.trim().to_owned(), sig.trim().to_owned()));
        }
        Ok(Some(structure_from_signatures(&pairs)?))
    }
}

/// Reads a file as text, naming it on failure.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Reads a hone program file, or a DSPy one onto the given structure.
pub fn read_program(
    path: &Path,
    structure: Option<&ProgramStructure>,
) -> anyhow::Result<ProgramState> {
    let text = read_text(path)?;
    parse_program(path, &text, structure)
}

/// Parses a program file's text; errors name the file and what is wrong.
pub fn parse_program(
    path: &Path,
    text: &str,
    structure: Option<&ProgramStructure>,
) -> anyhow::Result<ProgramState> {
    let at = || format!("{}", path.display());
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not valid JSON (line {}, column {}): {}",
            at(),
            e.line(),
            e.column(),
            e.to_string().split(" at line ").next().unwrap_or_default()
        )
    })?;
    check_program_like(&value).with_context(at)?;
    let state = match structure {
        Some(s) => ProgramState::from_value_with(&value, s),
        None => ProgramState::from_value(&value),
    };
    state.map_err(|e| {
        let hint = match (&e, structure) {
            (hone_core::StateError::NoSignature { .. }, None) => {
                "\nhint: this looks like a DSPy-saved file; give its structure with --structure \
                 HONE_FILE or --signature NAME=SIGNATURE"
            }
            _ => "",
        };
        anyhow::anyhow!("{}: {e}{hint}", at())
    })
}
