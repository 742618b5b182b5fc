//! Python values to JSON values and back (through `pythonize`), and the dict forms of
//! examples and predictions.

use hone_core::{Example, Prediction};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{Map, Value};

use crate::error::Error;

/// A Python value as JSON (dicts, lists, str, int, float, bool, None; pydantic models and
/// enums are turned into those by the Python layer first).
pub fn to_value(obj: &Bound<'_, PyAny>) -> Result<Value, Error> {
    pythonize::depythonize::<Value>(obj).map_err(|e| {
        let type_name = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "object".into());
        Error::Value(format!(
            "a value of type `{type_name}` cannot be passed to hone: {e} (pass str, int, float, \
             bool, None, lists and dicts of them, or a pydantic model)"
        ))
    })
}

/// A JSON value as a Python object.
pub fn to_python(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(pythonize::pythonize(py, value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?
        .unbind())
}

/// A Python dict of fields as a JSON object.
pub fn to_fields(dict: &Bound<'_, PyDict>) -> Result<Map<String, Value>, Error> {
    let mut fields = Map::new();
    for (key, value) in dict.iter() {
        let key: String = key
            .extract()
            .map_err(|_| Error::Value("field names must be strings".into()))?;
        let value = to_value(&value).map_err(|e| match e {
            Error::Value(m) => Error::Value(format!("field `{key}`: {m}")),
            other => other,
        })?;
        fields.insert(key, value);
    }
    Ok(fields)
}

/// An example from a dict of fields, with `input_keys` marked when given.
pub fn to_example(
    dict: &Bound<'_, PyDict>,
    input_keys: Option<Vec<String>>,
) -> Result<Example, Error> {
    let example = Example::from_map(to_fields(dict)?);
    Ok(match input_keys {
        Some(keys) => example.with_inputs(keys),
        None => example,
    })
}

/// A prediction's fields as a dict.
pub fn prediction_to_python(py: Python<'_>, prediction: &Prediction) -> PyResult<Py<PyAny>> {
    to_python(py, &Value::Object(prediction.fields().clone()))
}

/// The examples of a split: dicts with the names of their input fields.
pub fn examples(
    rows: &Bound<'_, PyList>,
    keys: Vec<Vec<String>>,
    split: &str,
) -> PyResult<Vec<Example>> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, (row, keys)) in rows.iter().zip(keys).enumerate() {
        let dict = row
            .cast::<PyDict>()
            .map_err(|_| Error::Value(format!("{split}[{i}] must be a dict of fields")))?;
        out.push(to_example(dict, Some(keys))?);
    }
    Ok(out)
}
