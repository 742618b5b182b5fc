//! Restoring optimizers from their saved state, by name.
//!
//! The convention: every optimizer's [`Optimizer::state`] is a self-contained JSON object
//! (configuration, datasets, the student, progress, the log) with an `"optimizer"` key holding
//! its [`Optimizer::name`], and the optimizer implements [`Restore`] to rebuild itself from that
//! object. A driver that only has a checkpoint file looks the name up in a [`Registry`] — a plain
//! value, so a program can add its own optimizers next to the built-in ones.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::protocol::{Optimizer, OptimizerError};

/// An optimizer that can be rebuilt from its [`Optimizer::state`].
pub trait Restore: Optimizer + Sized + 'static {
    /// The name [`Optimizer::name`] returns, under which the registry finds the optimizer.
    const NAME: &'static str;

    /// Rebuilds the optimizer from a state it produced. The restored optimizer continues
    /// exactly as the original would have: same jobs, same results, same best program.
    fn restore(state: Value) -> Result<Self, OptimizerError>;
}

/// A function that rebuilds a boxed optimizer from its saved state.
pub type RestoreFn = fn(Value) -> Result<Box<dyn Optimizer>, OptimizerError>;

/// Optimizers a driver can restore by name.
#[derive(Debug, Clone)]
pub struct Registry {
    entries: BTreeMap<&'static str, RestoreFn>,
}

/// Restores a `T` as a boxed optimizer: the [`RestoreFn`] of an optimizer type.
pub(crate) fn boxed<T: Restore>(state: Value) -> Result<Box<dyn Optimizer>, OptimizerError> {
    Ok(Box::new(T::restore(state)?))
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Registry {
            entries: BTreeMap::new(),
        }
    }

    /// Every optimizer of this crate: those of [`Catalogue::builtin`](crate::Catalogue::builtin).
    pub fn builtin() -> Self {
        crate::Catalogue::builtin().registry()
    }

    /// Adds an optimizer type, builder style.
    pub fn with<T: Restore>(mut self) -> Self {
        self.entries.insert(T::NAME, boxed::<T>);
        self
    }

    /// Adds a restore function under a name.
    pub fn register(&mut self, name: &'static str, restore: RestoreFn) {
        self.entries.insert(name, restore);
    }

    /// The registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.keys().copied()
    }

    /// Rebuilds the optimizer called `name` from `state`.
    pub fn restore(&self, name: &str, state: Value) -> Result<Box<dyn Optimizer>, OptimizerError> {
        match self.entries.get(name) {
            Some(restore) => restore(state),
            None => Err(OptimizerError::UnknownOptimizer {
                name: name.to_owned(),
                known: self.names().map(str::to_owned).collect(),
            }),
        }
    }

    /// Rebuilds an optimizer from a state object, reading its name from the `"optimizer"` key.
    pub fn restore_state(&self, state: Value) -> Result<Box<dyn Optimizer>, OptimizerError> {
        let name = state
            .get("optimizer")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| OptimizerError::UnknownOptimizer {
                name: "<missing: the state has no \"optimizer\" key>".into(),
                known: self.names().map(str::to_owned).collect(),
            })?;
        self.restore(&name, state)
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

/// Serializes an optimizer's saved state.
pub(crate) fn to_state<T: Serialize>(
    optimizer: &'static str,
    saved: &T,
) -> Result<Value, OptimizerError> {
    serde_json::to_value(saved).map_err(|e| OptimizerError::Restore {
        optimizer,
        message: format!("could not serialize the state: {e}"),
    })
}

/// Reads an optimizer's saved state, checking it belongs to `optimizer`.
pub(crate) fn from_state<T: DeserializeOwned>(
    optimizer: &'static str,
    state: Value,
) -> Result<T, OptimizerError> {
    match state.get("optimizer").and_then(Value::as_str) {
        Some(name) if name == optimizer => {}
        Some(other) => {
            return Err(OptimizerError::Restore {
                optimizer,
                message: format!(
                    "the state was saved by `{other}`; restore it with that optimizer"
                ),
            });
        }
        None => {
            return Err(OptimizerError::Restore {
                optimizer,
                message: "the state has no \"optimizer\" key; it is not an optimizer state".into(),
            });
        }
    }
    serde_json::from_value(state).map_err(|e| OptimizerError::Restore {
        optimizer,
        message: format!("the state does not have the expected shape ({e}); was it saved by another version of hone?"),
    })
}
