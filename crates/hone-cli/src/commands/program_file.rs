//! Reading program files for the export, import, diff, parse and program commands: hone's
//! JSON state, a TOML program (with an optional state), or a DSPy save.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hone_cli::program::Program;
use hone_core::state::{ProgramState, ProgramStructure};
use hone_export::{check_program_like, import_dspy_value, structure_from_signatures};

/// How to learn a DSPy file's field names and types, which it does not hold.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StructureArgs {
    /// The same program in hone's form, whose predictor names and signatures give the
    /// structure: a TOML program (`program.toml`, e.g. the one `hone import` wrote) or a hone
    /// state file (`program.json`).
    #[arg(long, value_name = "PROGRAM")]
    pub structure: Option<PathBuf>,
    /// A predictor's signature in DSPy's string form, `NAME=inputs -> outputs` (repeat per
    /// predictor; `self` for a single-predictor program), e.g.
    /// `--signature 'self=question -> answer: int'`.
    #[arg(long = "signature", value_name = "NAME=SIGNATURE")]
    pub signatures: Vec<String>,
}

/// Whether a path names a TOML program.
pub fn is_toml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

impl StructureArgs {
    /// The structure given, if any.
    pub fn load(&self) -> anyhow::Result<Option<ProgramStructure>> {
        if let Some(path) = &self.structure {
            if !self.signatures.is_empty() {
                bail!("give the structure either with --structure or with --signature, not both");
            }
            if is_toml(path) {
                return Ok(Some(Program::read(path)?.structure()?));
            }
            let program = read_program(path, None).context(
                "--structure must be a TOML program (`program.toml`) or a hone state file (with \
                 `hone.signature` per predictor)",
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

/// Reads any program: a TOML program (with `state` loaded onto it when given, else fresh), a
/// hone state file, or a DSPy one onto the given structure.
pub fn read_any_program(
    path: &Path,
    state: Option<&Path>,
    structure: Option<&ProgramStructure>,
) -> anyhow::Result<ProgramState> {
    if is_toml(path) {
        if structure.is_some() {
            bail!(
                "a TOML program carries its own structure: leave out --structure and --signature"
            );
        }
        let program = Program::read(path)?;
        return match state {
            None => Ok(program.fresh_state()?),
            Some(s) => {
                let structure = program.structure()?;
                read_program(s, Some(&structure)).with_context(|| {
                    format!("--state {} does not fit {}", s.display(), path.display())
                })
            }
        };
    }
    if state.is_some() {
        bail!(
            "--state goes with a TOML program; {} is a state file already",
            path.display()
        );
    }
    read_program(path, structure)
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
        let toml_hint =
            if text.trim_start().starts_with('[') && toml::from_str::<toml::Table>(text).is_ok() {
                "\nhint: this is TOML; a TOML program is read from a file named `*.toml`"
            } else {
                ""
            };
        anyhow::anyhow!(
            "{}: not valid JSON (line {}, column {}): {}{toml_hint}",
            at(),
            e.line(),
            e.column(),
            e.to_string().split(" at line ").next().unwrap_or_default()
        )
    })?;
    check_program_like(&value).with_context(at)?;
    let state = match structure {
        Some(s) => import_dspy_value(&value, Some(s)).map(|i| {
            for note in i.warnings.iter().chain(&i.dropped).chain(&i.notes) {
                eprintln!("note: {}: {note}", at());
            }
            i.state
        }),
        None => ProgramState::from_value(&value).map_err(Into::into),
    };
    state.map_err(|e| {
        let hint = match (&e, structure) {
            (hone_export::ExportError::State(hone_core::StateError::NoSignature { .. }), None) => {
                "\nhint: this looks like a DSPy-saved file; read it with `hone import FILE` (the \
                 structure is read off the file), or give it with --structure PROGRAM.toml or \
                 --signature NAME=SIGNATURE"
            }
            _ => "",
        };
        anyhow::anyhow!("{}: {e}{hint}", at())
    })
}
