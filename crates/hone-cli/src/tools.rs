//! Tools for `react` stages: the built-in ones and command tools.

use std::path::Path;
use std::sync::Arc;

use hone_lm::BoxFuture;
use hone_modules::{FnTool, Tool, ToolError};
use serde_json::{Map, Value, json};

use crate::jsonl::JsonLinesProcess;
use crate::program::load::ToolDef;

/// The tool a stage's definition describes; command tools run in `dir` (the program file's
/// directory). `None` for an unknown built-in name (the program file's check rejects those).
pub fn tool(def: &ToolDef, dir: &Path) -> Option<Arc<dyn Tool>> {
    match def {
        ToolDef::Builtin(name) => builtin_tool(name),
        ToolDef::Command {
            name,
            description,
            args,
            command,
        } => Some(Arc::new(CommandTool::new(
            name.clone(),
            description.clone(),
            args.clone(),
            command.clone(),
            dir,
        ))),
    }
}

/// A tool run by a long-lived external command speaking JSON lines: per call, hone writes
/// `{"tool": NAME, "args": {...}}` and reads `{"result": VALUE}` or `{"error": "..."}`.
///
/// ```no_run
/// # use hone_cli::tools::CommandTool;
/// # use serde_json::json;
/// let search = CommandTool::new(
///     "search_wikipedia".into(),
///     "Searches Wikipedia.".into(),
///     json!({"query": {"type": "string"}}).as_object().unwrap().clone(),
///     vec!["python3".into(), "search.py".into()],
///     std::path::Path::new("."),
/// );
/// ```
#[derive(Debug)]
pub struct CommandTool {
    name: String,
    description: String,
    parameters: Value,
    proc: Option<JsonLinesProcess>,
}

impl CommandTool {
    /// A tool named `name` whose arguments are `args` (each argument's JSON Schema by name,
    /// all required), run by `command` in `dir`; an empty command makes a tool that answers
    /// every call with an error saying it has no command.
    pub fn new(
        name: String,
        description: String,
        args: Map<String, Value>,
        command: Vec<String>,
        dir: &Path,
    ) -> Self {
        let required: Vec<Value> = args.keys().map(|k| Value::String(k.clone())).collect();
        CommandTool {
            name,
            description,
            parameters: json!({"type": "object", "properties": args, "required": required}),
            proc: (!command.is_empty()).then(|| JsonLinesProcess::new(command, dir.to_owned())),
        }
    }

    async fn run(&self, args: Map<String, Value>) -> Result<Value, ToolError> {
        let Some(proc) = &self.proc else {
            return Err(ToolError::new(format!(
                "tool `{}` has no command: give it `command = [...]` in the program file",
                self.name
            )));
        };
        let fail = |m: String| ToolError::new(format!("tool `{}`: {m}", self.name));
        let line = json!({"tool": self.name, "args": args}).to_string();
        let answer = proc.exchange(&line).await.map_err(fail)?;
        let value: Value = serde_json::from_str(&answer).map_err(|e| {
            fail(format!(
                "expected a line like {{\"result\": ...}} or {{\"error\": \"...\"}}, got {answer:?} ({e})"
            ))
        })?;
        if let Some(e) = value.get("error").filter(|e| !e.is_null()) {
            return Err(ToolError::new(match e {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }));
        }
        value
            .get("result")
            .cloned()
            .ok_or_else(|| fail(format!("the answer {answer} has no `result`")))
    }
}

impl Tool for CommandTool {
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
        Box::pin(self.run(args))
    }
}

/// The tool called `name`, if it is built in.
pub fn builtin_tool(name: &str) -> Option<Arc<dyn Tool>> {
    match name {
        "calculator" => Some(Arc::new(calculator())),
        _ => None,
    }
}

/// `calculator(expression)`: `+ - * / %`, `**`, parentheses and decimals.
pub fn calculator() -> FnTool {
    FnTool::sync(
        "calculator",
        "Evaluates an arithmetic expression such as `(17 + 25) * 3` and returns the number.",
        json!({
            "type": "object",
            "properties": {"expression": {"type": "string", "description": "the expression"}},
            "required": ["expression"]
        }),
        |args| {
            let expr = args
                .get("expression")
                .and_then(Value::as_str)
                .ok_or_else(|| ToolError::new("`expression` must be a string"))?;
            let value = eval(expr).map_err(ToolError::new)?;
            if value.fract() == 0.0 && value.abs() < 9.0e15 {
                Ok(json!(value as i64))
            } else {
                Ok(json!(value))
            }
        },
    )
}

/// Evaluates an arithmetic expression.
pub fn eval(text: &str) -> Result<f64, String> {
    let tokens: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .map(|c| match c {
            '×' | 'x' => '*',
            '÷' => '/',
            other => other,
        })
        .collect();
    let mut p = Calc { t: &tokens, i: 0 };
    let v = p.sum()?;
    if p.i != tokens.len() {
        return Err(format!("unexpected `{}` in `{text}`", tokens[p.i]));
    }
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("`{text}` has no finite value"))
    }
}

struct Calc<'a> {
    t: &'a [char],
    i: usize,
}

impl Calc<'_> {
    fn peek(&self) -> Option<char> {
        self.t.get(self.i).copied()
    }

    fn sum(&mut self) -> Result<f64, String> {
        let mut v = self.product()?;
        while let Some(op @ ('+' | '-')) = self.peek() {
            self.i += 1;
            let r = self.product()?;
            v = if op == '+' { v + r } else { v - r };
        }
        Ok(v)
    }

    fn product(&mut self) -> Result<f64, String> {
        let mut v = self.power()?;
        loop {
            match self.peek() {
                Some('*') if self.t.get(self.i + 1) != Some(&'*') => {
                    self.i += 1;
                    v *= self.power()?;
                }
                Some('/') => {
                    self.i += 1;
                    v /= self.power()?;
                }
                Some('%') => {
                    self.i += 1;
                    v %= self.power()?;
                }
                _ => return Ok(v),
            }
        }
    }

    fn power(&mut self) -> Result<f64, String> {
        let base = self.unary()?;
        if self.peek() == Some('*') && self.t.get(self.i + 1) == Some(&'*') {
            self.i += 2;
            let exp = self.power()?;
            return Ok(base.powf(exp));
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<f64, String> {
        match self.peek() {
            Some('-') => {
                self.i += 1;
                Ok(-self.unary()?)
            }
            Some('+') => {
                self.i += 1;
                self.unary()
            }
            Some('(') => {
                self.i += 1;
                let v = self.sum()?;
                if self.peek() != Some(')') {
                    return Err("missing `)`".into());
                }
                self.i += 1;
                Ok(v)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => {
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                    self.i += 1;
                }
                let s: String = self.t[start..self.i].iter().collect();
                s.parse().map_err(|_| format!("`{s}` is not a number"))
            }
            Some(c) => Err(format!("unexpected `{c}`")),
            None => Err("the expression ended early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::eval;

    #[test]
    fn evaluates_with_precedence() {
        assert_eq!(eval("17 + 25 * 2"), Ok(67.0));
        assert_eq!(eval("(17 + 25) * 2"), Ok(84.0));
        assert_eq!(eval("2 ** 3 ** 2"), Ok(512.0));
        assert_eq!(eval("-3 + 10 / 4"), Ok(-0.5));
        assert!(eval("2 +").is_err());
        assert!(eval("1 / 0").is_err());
    }
}
