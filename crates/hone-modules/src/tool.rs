//! Tools for [`ReAct`](crate::ReAct): a name, a description, a JSON Schema for the arguments
//! and an async call (DSPy's `dspy.Tool`).

use std::future::Future;
use std::sync::Arc;

use hone_core::adapter::pyfmt::py_repr;
use hone_lm::BoxFuture;
use serde_json::{Map, Value, json};

/// A tool's failure; its text becomes the observation the agent sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    message: String,
}

impl ToolError {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ToolError {
            message: message.into(),
        }
    }
}

impl From<String> for ToolError {
    fn from(message: String) -> Self {
        ToolError { message }
    }
}

impl From<&str> for ToolError {
    fn from(message: &str) -> Self {
        ToolError::new(message)
    }
}

/// A tool an agent can call.
///
/// Arguments arrive as a JSON object, checked against [`Tool::parameters`] (required
/// arguments present, no unknown ones, JSON types of declared properties) before the call; a
/// failed check, an `Err` or a panic in the call becomes an observation
/// (`Execution error in <name>: ...`), never a failed module call.
pub trait Tool: Send + Sync {
    /// The name the LM calls the tool by.
    fn name(&self) -> &str;

    /// What the tool does, for the LM.
    fn description(&self) -> &str;

    /// JSON Schema of the arguments object: `{"type": "object", "properties": {...},
    /// "required": [...]}`.
    fn parameters(&self) -> Value;

    /// Runs the tool.
    fn call<'a>(&'a self, args: Map<String, Value>) -> BoxFuture<'a, Result<Value, ToolError>>;
}

type ToolFn =
    dyn Fn(Map<String, Value>) -> BoxFuture<'static, Result<Value, ToolError>> + Send + Sync;

/// A tool made from a closure.
///
/// ```
/// use hone_modules::{FnTool, Tool, ToolError};
/// use serde_json::{json, Value};
/// let add = FnTool::sync(
///     "add",
///     "Adds two numbers.",
///     json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
///            "required": ["a", "b"]}),
///     |args| {
///         let n = |k: &str| args.get(k).and_then(Value::as_f64).ok_or_else(|| ToolError::new(format!("`{k}` must be a number")));
///         Ok(json!(n("a")? + n("b")?))
///     },
/// );
/// assert_eq!(add.name(), "add");
/// ```
#[derive(Clone)]
pub struct FnTool {
    name: String,
    description: String,
    parameters: Value,
    f: Arc<ToolFn>,
}

impl std::fmt::Debug for FnTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnTool")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("parameters", &self.parameters)
            .finish()
    }
}

impl FnTool {
    /// A tool from an async closure.
    pub fn new<F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        f: F,
    ) -> Self
    where
        F: Fn(Map<String, Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ToolError>> + Send + 'static,
    {
        FnTool {
            name: name.into(),
            description: description.into(),
            parameters,
            f: Arc::new(move |args| Box::pin(f(args))),
        }
    }

    /// A tool from a blocking closure (keep it quick: it runs inline on the caller's task).
    pub fn sync<F>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        f: F,
    ) -> Self
    where
        F: Fn(Map<String, Value>) -> Result<Value, ToolError> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        FnTool::new(name, description, parameters, move |args| {
            let f = Arc::clone(&f);
            async move { f(args) }
        })
    }
}

impl Tool for FnTool {
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn parameters(&self) -> Value {
        self.parameters.clone()
    }
    fn call<'a>(&'a self, args: Map<String, Value>) -> BoxFuture<'a, Result<Value, ToolError>> {
        (self.f)(args)
    }
}

/// DSPy's `Tool.args`: the `properties` of the parameters schema.
pub(crate) fn args_of(tool: &dyn Tool) -> Value {
    tool.parameters()
        .get("properties")
        .cloned()
        .unwrap_or_else(|| json!({}))
}

/// DSPy's `str(tool)`: `name, whose description is <desc>...</desc>. It takes arguments {...}.`
pub(crate) fn describe_tool(name: &str, description: &str, args: &Value) -> String {
    let desc = if description.is_empty() {
        ".".to_owned()
    } else {
        format!(", whose description is <desc>{description}</desc>.").replace('\n', "  ")
    };
    format!("{name}{desc} It takes arguments {}.", py_repr(args))
}

/// Checks arguments against the tool's schema; the message says what is wrong.
pub(crate) fn check_args(parameters: &Value, args: &Map<String, Value>) -> Result<(), String> {
    let props = parameters.get("properties").and_then(Value::as_object);
    let open = parameters
        .get("additionalProperties")
        .is_some_and(|v| v != &Value::Bool(false));
    if let Some(props) = props {
        for (k, v) in args {
            match props.get(k) {
                None if !open => return Err(format!("Arg {k} is not in the tool's args.")),
                None => {}
                Some(schema) => {
                    if let Some(expected) = schema.get("type")
                        && !type_matches(expected, v)
                    {
                        return Err(format!("Arg {k} is invalid: {v} is not of type {expected}"));
                    }
                }
            }
        }
    }
    if let Some(required) = parameters.get("required").and_then(Value::as_array) {
        for r in required.iter().filter_map(Value::as_str) {
            if !args.contains_key(r) {
                return Err(format!("Arg {r} is required but missing."));
            }
        }
    }
    Ok(())
}

fn type_matches(expected: &Value, v: &Value) -> bool {
    match expected {
        Value::String(t) => match t.as_str() {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            "null" => v.is_null(),
            _ => true,
        },
        Value::Array(ts) => ts.iter().any(|t| type_matches(t, v)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_dspy() {
        let args = json!({"expression": {"type": "string"}});
        assert_eq!(
            describe_tool("calculator", "Evaluate it.", &args),
            "calculator, whose description is <desc>Evaluate it.</desc>. It takes arguments {'expression': {'type': 'string'}}."
        );
        assert_eq!(
            describe_tool("finish", "", &json!({})),
            "finish. It takes arguments {}."
        );
    }

    #[test]
    fn checks_arguments() {
        let p =
            json!({"type": "object", "properties": {"a": {"type": "number"}}, "required": ["a"]});
        let args = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(check_args(&p, &args(json!({"a": 1}))).is_ok());
        assert!(check_args(&p, &args(json!({}))).is_err_and(|e| e.contains("required")));
        assert!(check_args(&p, &args(json!({"a": "x"}))).is_err_and(|e| e.contains("invalid")));
        assert!(
            check_args(&p, &args(json!({"a": 1, "b": 2})))
                .is_err_and(|e| e.contains("not in the tool's args"))
        );
    }
}
