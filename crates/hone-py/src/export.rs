//! `hone.export` and `hone.diff`: hone-export's portable forms of a Python program and its
//! reviews of what changed — the same bytes as `hone export` and `hone diff`.

use hone_export::{
    BundleOptions, Color, JinjaExport, OpenAiExport, Provenance, ReviewOptions, bundle,
    diff_programs, dspy_json, render_markdown, render_text, review_markdown,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert::to_value;
use crate::error::Error;
use crate::module::PyNative;
use crate::program::program_state;

fn export_error(err: hone_export::ExportError) -> PyErr {
    crate::error::HoneError::new_err(format!("cannot export the program: {err}"))
}

/// `export_program(parts, format, adapter, title, provenance)`: the program in `format`
/// (`openai`, `jinja`, `markdown`, `dspy`) as text, or for `bundle` a dict of file name →
/// bytes (the caller writes them).
#[pyfunction]
#[pyo3(signature = (parts, format, *, adapter="chat", title="program", provenance=None))]
pub fn export_program(
    py: Python<'_>,
    parts: Vec<(String, PyRef<'_, PyNative>)>,
    format: &str,
    adapter: &str,
    title: &str,
    provenance: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    let program = program_state(&parts);
    let adapter = crate::ctx::adapter_kind(adapter)?;
    let mut prov = Provenance::from_program(&program);
    if let Some(p) = provenance {
        let given: Provenance = serde_json::from_value(to_value(p.as_any())?).map_err(|e| {
            Error::Value(format!(
                "provenance: {e}; its keys are score, metric, dataset, optimizer, model, date"
            ))
        })?;
        prov = prov.merged(given);
    }
    let hone_version = hone_export::HONE_VERSION.to_owned();
    let text = match format {
        "openai" => OpenAiExport::new(&program, adapter)
            .map_err(export_error)?
            .to_json_string_pretty(),
        "jinja" => JinjaExport::new(&program, adapter)
            .map_err(export_error)?
            .to_json_string_pretty(),
        "markdown" => review_markdown(
            &program,
            &ReviewOptions {
                title: title.to_owned(),
                adapter,
                provenance: prov,
                hone_version,
            },
        )
        .map_err(export_error)?,
        "dspy" => dspy_json(&program),
        "bundle" => {
            let b = bundle(
                &program,
                &BundleOptions {
                    title: title.to_owned(),
                    adapter,
                    provenance: prov,
                    hone_version,
                    source: None,
                },
            )
            .map_err(export_error)?;
            let files = PyDict::new(py);
            for (path, bytes) in &b.files {
                files.set_item(path, PyBytes::new(py, bytes))?;
            }
            return Ok(files.into_any().unbind());
        }
        other => {
            return Err(Error::Value(format!(
                "unknown export format `{other}`; use openai, jinja, markdown, dspy or bundle"
            ))
            .into());
        }
    };
    Ok(text.into_pyobject(py)?.into_any().unbind())
}

/// `diff_program(old_parts, new_parts, format, old_name, new_name, color)`: what changed
/// between two versions of a program, as `hone diff` prints it, and whether they are the same.
#[pyfunction]
#[pyo3(signature = (old, new, *, format="text", old_name="a", new_name="b", color=false))]
pub fn diff_program(
    old: Vec<(String, PyRef<'_, PyNative>)>,
    new: Vec<(String, PyRef<'_, PyNative>)>,
    format: &str,
    old_name: &str,
    new_name: &str,
    color: bool,
) -> PyResult<(String, bool)> {
    let diff = diff_programs(&program_state(&old), &program_state(&new));
    let text = match format {
        "text" => render_text(
            &diff,
            old_name,
            new_name,
            if color { Color::Always } else { Color::Never },
        ),
        "markdown" => render_markdown(&diff, old_name, new_name),
        other => {
            return Err(Error::Value(format!(
                "unknown diff format `{other}`; use text or markdown"
            ))
            .into());
        }
    };
    Ok((text, diff.is_empty()))
}
