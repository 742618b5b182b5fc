//! Errors, and the Python exceptions they become. Every message is the Rust error's own: what
//! failed, where (predictor, field) and what to do.

use hone_modules::ModuleError;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;

create_exception!(hone, HoneError, PyException, "Base class of hone's errors.");
create_exception!(
    hone,
    NoLMError,
    HoneError,
    "A predictor was called without an LM: pass `lm=` to the call or `set_lm` on the module."
);
create_exception!(
    hone,
    LMError,
    HoneError,
    "An LM request failed after its retries (connection, HTTP status, timeout, bad body)."
);
create_exception!(
    hone,
    AdapterParseError,
    HoneError,
    "The LM answered, but its answer did not hold the signature's output fields."
);
create_exception!(
    hone,
    InputError,
    HoneError,
    "A call's inputs did not fit the signature (a missing field or a wrong type)."
);
create_exception!(
    hone,
    SignatureError,
    HoneError,
    "A signature could not be built (bad field name, type or form)."
);
create_exception!(
    hone,
    StateError,
    HoneError,
    "A saved program state did not fit the program."
);

create_exception!(
    hone,
    EvaluationError,
    HoneError,
    "An evaluation failed as a whole: `max_errors` examples failed, or every one did."
);

/// An error of the Python binding.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A module call failed.
    #[error(transparent)]
    Module(#[from] ModuleError),
    /// A signature was invalid.
    #[error(transparent)]
    Signature(#[from] hone_core::SignatureError),
    /// A class-form signature's field could not be turned into one of hone's.
    #[error("{0}")]
    InvalidSignature(String),
    /// A saved state could not be read.
    #[error(transparent)]
    State(#[from] hone_core::StateError),
    /// An LM could not be built or failed.
    #[error(transparent)]
    Lm(#[from] hone_lm::LmError),
    /// An evaluation failed as a whole.
    #[error(transparent)]
    Eval(#[from] hone_eval::EvalError),
    /// A value given from Python did not fit.
    #[error("{0}")]
    Value(String),
    /// The runtime could not start.
    #[error("hone's runtime could not start: {0}")]
    Runtime(String),
    /// An optimization run stopped with an error (the optimizer's, or its checkpoint's).
    #[error(transparent)]
    Driver(#[from] hone_eval::DriverError),
    /// A Python exception raised inside a callback (a tool, a metric, a `forward`).
    #[error("{0}")]
    Python(PyErr),
}

impl Error {
    /// The Python exception for this error.
    pub fn into_py_err(self, _py: Python<'_>) -> PyErr {
        let message = self.to_string();
        match self {
            Error::Python(err) => err,
            Error::Module(err) => module_exception(err, message),
            Error::Signature(_) | Error::InvalidSignature(_) => SignatureError::new_err(message),
            Error::State(_) => StateError::new_err(message),
            Error::Lm(_) => LMError::new_err(message),
            Error::Eval(_) => EvaluationError::new_err(message),
            Error::Runtime(_) | Error::Driver(_) => HoneError::new_err(message),
            Error::Value(_) => PyValueError::new_err(message),
        }
    }
}

fn module_exception(err: ModuleError, message: String) -> PyErr {
    match err {
        ModuleError::NoLm { predictor } => NoLMError::new_err(format!(
            "predictor `{predictor}` has no LM: pass one to the call (`program(..., \
             lm=hone.LM(\"model\"))`) or set it on the module or predictor \
             (`program.set_lm(lm)`); hone has no process-wide default LM"
        )),
        ModuleError::Lm { .. } => LMError::new_err(message),
        ModuleError::Parse { .. } | ModuleError::EmptyResponse { .. } => {
            AdapterParseError::new_err(message)
        }
        ModuleError::MissingInputs { .. } | ModuleError::InputType { .. } => {
            InputError::new_err(message)
        }
        ModuleError::Signature { .. } => SignatureError::new_err(message),
        ModuleError::State { .. } | ModuleError::StateFile(_) => StateError::new_err(message),
        _ => HoneError::new_err(message),
    }
}

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        Python::attach(|py| err.into_py_err(py))
    }
}

/// Registers the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("HoneError", py.get_type::<HoneError>())?;
    m.add("NoLMError", py.get_type::<NoLMError>())?;
    m.add("LMError", py.get_type::<LMError>())?;
    m.add("AdapterParseError", py.get_type::<AdapterParseError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("SignatureError", py.get_type::<SignatureError>())?;
    m.add("StateError", py.get_type::<StateError>())?;
    m.add("EvaluationError", py.get_type::<EvaluationError>())?;
    Ok(())
}
