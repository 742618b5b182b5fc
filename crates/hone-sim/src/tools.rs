//! Planning tool calls for arithmetic: a calculator-like tool gets the whole
//! expression; add/subtract/multiply/divide tools get one operation each,
//! independent operations batched into parallel rounds.

use serde_json::{Map, Value, json};

use crate::openai::ToolSpec;
use crate::schema;
use crate::tasks::arithmetic::{Expr, Op, format_number};

/// One planned call.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCall {
    /// Tool name.
    pub name: String,
    /// Arguments object.
    pub arguments: Value,
}

/// A tool the planner can use, as read from its name and parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolRole {
    /// Evaluates an expression passed in one string argument.
    Calculator {
        /// Tool name.
        name: String,
        /// The argument that takes the expression.
        arg: String,
    },
    /// Applies one operator to two number arguments.
    Operator {
        /// Tool name.
        name: String,
        /// The operator.
        op: Op,
        /// The two argument names.
        args: [String; 2],
    },
}

const CALC_NAMES: &[&str] = &["calc", "eval", "math", "compute", "arith", "expression"];

/// Reads what a tool is good for, from `name` and its parameter names.
pub fn classify(name: &str, param_names: &[String]) -> Option<ToolRole> {
    let low = name.to_lowercase();
    let op = match low.as_str() {
        "add" | "plus" | "sum" | "addition" => Some(Op::Add),
        "subtract" | "sub" | "minus" | "subtraction" => Some(Op::Sub),
        "multiply" | "mul" | "times" | "product" | "multiplication" => Some(Op::Mul),
        "divide" | "div" | "division" | "quotient" => Some(Op::Div),
        _ => None,
    };
    if let Some(op) = op {
        let a = param_names
            .first()
            .cloned()
            .unwrap_or_else(|| "a".to_owned());
        let b = param_names
            .get(1)
            .cloned()
            .unwrap_or_else(|| "b".to_owned());
        return Some(ToolRole::Operator {
            name: name.to_owned(),
            op,
            args: [a, b],
        });
    }
    if CALC_NAMES.iter().any(|c| low.contains(c)) {
        let arg = param_names
            .first()
            .cloned()
            .unwrap_or_else(|| "expression".to_owned());
        return Some(ToolRole::Calculator {
            name: name.to_owned(),
            arg,
        });
    }
    None
}

/// Parameter names of an OpenAI tool, in schema order.
pub fn param_names(spec: &ToolSpec) -> Vec<String> {
    spec.function
        .parameters
        .as_ref()
        .and_then(|p| p.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Default arguments for a tool (from its parameter schema).
pub fn default_arguments(spec: &ToolSpec) -> Value {
    match &spec.function.parameters {
        Some(p) => {
            let mut p = p.clone();
            // Fill every property so the call is complete.
            if let Some(props) = p.get("properties").and_then(Value::as_object) {
                let names: Vec<Value> = props.keys().map(|k| json!(k)).collect();
                if let Some(obj) = p.as_object_mut() {
                    obj.insert("required".to_owned(), Value::Array(names));
                }
            }
            schema::default_for(&p, &p)
        }
        None => json!({}),
    }
}

/// Rounds of calls that compute `expr` with the tools given; `None` when the
/// tools cannot do it. Within a round the calls are independent.
pub fn plan(expr: &Expr, tools: &[ToolRole], parallel: bool) -> Option<Vec<Vec<PlannedCall>>> {
    if let Some(ToolRole::Calculator { name, arg }) = tools
        .iter()
        .find(|t| matches!(t, ToolRole::Calculator { .. }))
    {
        let mut args = Map::new();
        args.insert(arg.clone(), json!(expr.to_string()));
        return Some(vec![vec![PlannedCall {
            name: name.clone(),
            arguments: Value::Object(args),
        }]]);
    }
    let mut levels: Vec<Vec<PlannedCall>> = Vec::new();
    collect(expr, tools, &mut levels)?;
    if levels.is_empty() {
        return None;
    }
    if parallel {
        Some(levels)
    } else {
        Some(levels.into_iter().flatten().map(|c| vec![c]).collect())
    }
}

/// Adds the calls of `e` to `levels` by height; returns the height of `e`.
fn collect(e: &Expr, tools: &[ToolRole], levels: &mut Vec<Vec<PlannedCall>>) -> Option<usize> {
    match e {
        Expr::Num(_) => Some(0),
        Expr::Neg(inner) => match **inner {
            Expr::Num(_) => Some(0),
            _ => None,
        },
        Expr::Bin(op, a, b) => {
            let ha = collect(a, tools, levels)?;
            let hb = collect(b, tools, levels)?;
            let (name, args) = tools.iter().find_map(|t| match t {
                ToolRole::Operator { name, op: o, args } if o == op => Some((name, args)),
                _ => None,
            })?;
            let h = ha.max(hb) + 1;
            let mut obj = Map::new();
            obj.insert(args[0].clone(), number(a.eval()?));
            obj.insert(args[1].clone(), number(b.eval()?));
            while levels.len() < h {
                levels.push(Vec::new());
            }
            levels[h - 1].push(PlannedCall {
                name: name.clone(),
                arguments: Value::Object(obj),
            });
            Some(h)
        }
    }
}

fn number(x: f64) -> Value {
    serde_json::from_str(&format_number(x)).unwrap_or(json!(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::arithmetic::find_expression;

    fn ops() -> Vec<ToolRole> {
        ["add", "multiply"]
            .iter()
            .filter_map(|n| classify(n, &["a".into(), "b".into()]))
            .collect()
    }

    #[test]
    fn calculator_gets_the_whole_expression() {
        let tools = vec![classify("calculator", &["expression".into()]).expect("calc")];
        let e = find_expression("What is 17 + 25?").expect("expr");
        let p = plan(&e, &tools, true).expect("plan");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0][0].arguments, json!({"expression": "17 + 25"}));
    }

    #[test]
    fn operator_tools_run_in_parallel_rounds() {
        let e = find_expression("(2 + 3) * (4 + 5)").expect("expr");
        let p = plan(&e, &ops(), true).expect("plan");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].len(), 2);
        assert_eq!(p[1][0].arguments, json!({"a": 5, "b": 9}));
        let seq = plan(&e, &ops(), false).expect("plan");
        assert_eq!(seq.len(), 3);
        assert!(plan(&find_expression("7 - 2").expect("expr"), &ops(), true).is_none());
    }
}
