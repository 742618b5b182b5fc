//! The `bundle` export: every format in one directory, with a manifest of hashes, versions and
//! provenance.
//!
//! Layout (paths relative to the bundle directory):
//!
//! ```text
//! manifest.json                 format, versions, provenance, source hash, every file's sha256
//! program.json                  hone's program format (loads in hone and in DSPy)
//! dspy.json                     DSPy's format (what `program.save` writes)
//! openai.json                   the openai export of every predictor
//! jinja.json                    the jinja export of every predictor
//! review.md                     the review document
//! predictors/<name>/openai.json               one predictor's request template
//! predictors/<name>/jinja/NN-<role>.jinja     one template per message, in order
//! ```
//!
//! Predictor names are used as directory names as they are (`answer.predict`, `steps[0]`);
//! a name holding `/`, `\` or other characters unsafe in paths is written with them
//! replaced by `_`.

use std::collections::BTreeMap;

use hone_core::adapter::AdapterKind;
use hone_core::message::Role;
use hone_core::state::ProgramState;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ExportError;
use crate::jinja::JinjaExport;
use crate::markdown::{Provenance, ReviewOptions, review_markdown};
use crate::openai::OpenAiExport;

/// The value of the `format` key of a bundle manifest.
pub const BUNDLE_FORMAT: &str = "hone.bundle";

/// What a bundle is made from besides the program.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleOptions {
    /// The program's title in the review document.
    pub title: String,
    /// The adapter the prompts are written for.
    pub adapter: AdapterKind,
    /// Where the program came from.
    pub provenance: Provenance,
    /// The hone version writing the bundle.
    pub hone_version: String,
    /// The bytes of the program file the bundle was made from, hashed into the manifest.
    pub source: Option<Vec<u8>>,
}

/// The bundle's manifest (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// The manifest layout version (1).
    pub format_version: u64,
    /// The hone version that wrote the bundle.
    pub hone_version: String,
    /// The adapter the prompts are written for.
    pub adapter: AdapterKind,
    /// The DSPy version the prompts are byte-identical to.
    pub dspy_compatible: String,
    /// The sha256 of the program file the bundle was made from, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_sha256: Option<String>,
    /// Where the program came from.
    pub provenance: Provenance,
    /// The predictors, in program order, with their directory in the bundle.
    pub predictors: IndexMap<String, String>,
    /// Every other file of the bundle and its sha256, by path.
    pub files: BTreeMap<String, String>,
}

/// A bundle: file paths (relative, `/`-separated) and their bytes. The caller writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The files, `manifest.json` included.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The manifest, as written to `manifest.json`.
    pub manifest: Manifest,
}

/// The lowercase hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A predictor name as a directory name.
fn dir_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '[' | ']') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() || safe.chars().all(|c| c == '.') {
        format!("_{safe}")
    } else {
        safe
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// Everything about a program in one file set.
pub fn bundle(program: &ProgramState, options: &BundleOptions) -> Result<Bundle, ExportError> {
    let openai = OpenAiExport::new(program, options.adapter)?;
    let jinja = JinjaExport::new(program, options.adapter)?;
    let review = review_markdown(
        program,
        &ReviewOptions {
            title: options.title.clone(),
            adapter: options.adapter,
            provenance: options.provenance.clone(),
            hone_version: options.hone_version.clone(),
        },
    )?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    files.insert(
        "program.json".into(),
        program.to_json_string_pretty().into_bytes(),
    );
    files.insert(
        "dspy.json".into(),
        program.to_dspy_json_string_pretty().into_bytes(),
    );
    files.insert(
        "openai.json".into(),
        openai.to_json_string_pretty().into_bytes(),
    );
    files.insert(
        "jinja.json".into(),
        jinja.to_json_string_pretty().into_bytes(),
    );
    files.insert("review.md".into(), review.into_bytes());
    let mut predictors = IndexMap::new();
    let mut used = std::collections::BTreeSet::new();
    for (name, p) in &openai.predictors {
        let mut dir = format!("predictors/{}", dir_name(name));
        while !used.insert(dir.clone()) {
            dir.push('_');
        }
        let mut text = serde_json::to_string_pretty(p).unwrap_or_default();
        text.push('\n');
        files.insert(format!("{dir}/openai.json"), text.into_bytes());
        if let Some(j) = jinja.predictors.get(name) {
            for (i, m) in j.messages.iter().enumerate() {
                files.insert(
                    format!("{dir}/jinja/{i:02}-{}.jinja", role_name(m.role)),
                    m.template.clone().into_bytes(),
                );
            }
        }
        predictors.insert(name.clone(), dir);
    }
    let manifest = Manifest {
        format: BUNDLE_FORMAT.to_owned(),
        format_version: 1,
        hone_version: options.hone_version.clone(),
        adapter: options.adapter,
        dspy_compatible: "3.4.1".to_owned(),
        source_sha256: options.source.as_deref().map(sha256_hex),
        provenance: options.provenance.clone(),
        predictors,
        files: files
            .iter()
            .map(|(k, v)| (k.clone(), sha256_hex(v)))
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    text.push('\n');
    files.insert("manifest.json".into(), text.into_bytes());
    Ok(Bundle { files, manifest })
}

/// Checks a bundle's files against its manifest: every listed file present with its hash.
/// Returns the paths that are missing or changed.
pub fn verify_bundle(manifest: &Manifest, files: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    manifest
        .files
        .iter()
        .filter(|(path, hash)| files.get(*path).is_none_or(|b| &sha256_hex(b) != *hash))
        .map(|(path, _)| path.clone())
        .collect()
}
