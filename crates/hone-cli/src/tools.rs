//! Built-in tools for `react` stages.

use std::sync::Arc;

use hone_modules::{FnTool, Tool, ToolError};
use serde_json::{Value, json};

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
