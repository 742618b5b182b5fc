//! A parser for Python type annotations as DSPy users write them in string signatures
//! (`list[str]`, `dict[str, int]`, `Literal['a', 'b']`, `Optional[int]`, `int | None`,
//! `typing.List[str]`, `Person`).

use serde_json::Value;

use crate::types::{FieldType, code_language};

/// A failure to parse a type annotation, with the byte offset where it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at column {})", offset + 1)]
pub struct TypeParseError {
    /// What went wrong.
    pub message: String,
    /// The byte offset inside the annotation text.
    pub offset: usize,
}

/// Resolves names that are not built-in types (for example a model called `Person`).
pub trait TypeResolver {
    /// The type registered under `name`, if any. `name` is the last component of a dotted name.
    fn resolve(&self, name: &str) -> Option<FieldType>;
}

/// A resolver that knows no custom types.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCustomTypes;

impl TypeResolver for NoCustomTypes {
    fn resolve(&self, _name: &str) -> Option<FieldType> {
        None
    }
}

impl<F: Fn(&str) -> Option<FieldType>> TypeResolver for F {
    fn resolve(&self, name: &str) -> Option<FieldType> {
        self(name)
    }
}

/// Parses one type annotation.
///
/// ```
/// use hone_core::{FieldType, pytype::{parse_type, NoCustomTypes}};
/// let t = parse_type("Optional[list[int]]", &NoCustomTypes).unwrap();
/// assert_eq!(t, FieldType::optional(FieldType::list(FieldType::Int)));
/// ```
pub fn parse_type(text: &str, resolver: &dyn TypeResolver) -> Result<FieldType, TypeParseError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        end: text.len(),
        resolver,
    };
    let expr = p.expr()?;
    if let Some(t) = p.peek() {
        return Err(p.error_at(
            t.offset,
            format!("unexpected `{}` after the type", t.text()),
        ));
    }
    p.to_type(&expr)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Num(Value),
    LBracket,
    RBracket,
    Comma,
    Pipe,
    Dot,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    offset: usize,
}

impl Token {
    fn text(&self) -> String {
        match &self.tok {
            Tok::Name(n) => n.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Num(v) => v.to_string(),
            Tok::LBracket => "[".into(),
            Tok::RBracket => "]".into(),
            Tok::Comma => ",".into(),
            Tok::Pipe => "|".into(),
            Tok::Dot => ".".into(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, TypeParseError> {
    let mut out = Vec::new();
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < bytes.len() {
        let (off, c) = bytes[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '[' | ']' | ',' | '|' | '.' => {
                let tok = match c {
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    ',' => Tok::Comma,
                    '|' => Tok::Pipe,
                    _ => Tok::Dot,
                };
                out.push(Token { tok, offset: off });
                i += 1;
            }
            '\'' | '"' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                let mut closed = false;
                while i < bytes.len() {
                    let (_, ch) = bytes[i];
                    if ch == '\\' && i + 1 < bytes.len() {
                        let (_, next) = bytes[i + 1];
                        s.push(match next {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                        i += 2;
                        continue;
                    }
                    if ch == quote {
                        closed = true;
                        i += 1;
                        break;
                    }
                    s.push(ch);
                    i += 1;
                }
                if !closed {
                    return Err(TypeParseError {
                        message: "unterminated string literal".into(),
                        offset: off,
                    });
                }
                out.push(Token {
                    tok: Tok::Str(s),
                    offset: off,
                });
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while i < bytes.len() && (bytes[i].1.is_ascii_digit() || bytes[i].1 == '.') {
                    i += 1;
                }
                let end = if i < bytes.len() {
                    bytes[i].0
                } else {
                    text.len()
                };
                let lit = &text[off..end];
                let value = if let Ok(n) = lit.parse::<i64>() {
                    Value::from(n)
                } else if let Ok(f) = lit.parse::<f64>() {
                    serde_json::Number::from_f64(f)
                        .map(Value::Number)
                        .unwrap_or(Value::Null)
                } else {
                    return Err(TypeParseError {
                        message: format!("`{lit}` is not a number"),
                        offset: bytes[start].0,
                    });
                };
                out.push(Token {
                    tok: Tok::Num(value),
                    offset: off,
                });
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut name = String::new();
                while i < bytes.len() && (bytes[i].1.is_alphanumeric() || bytes[i].1 == '_') {
                    name.push(bytes[i].1);
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Name(name),
                    offset: off,
                });
            }
            other => {
                return Err(TypeParseError {
                    message: format!("unexpected character `{other}` in a type"),
                    offset: off,
                });
            }
        }
    }
    Ok(out)
}

/// The parsed shape before name resolution.
#[derive(Debug, Clone)]
enum Expr {
    Name {
        name: String,
        offset: usize,
    },
    Const {
        value: Value,
    },
    Subscript {
        base: Box<Expr>,
        args: Vec<Expr>,
        offset: usize,
    },
    Union {
        parts: Vec<Expr>,
    },
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    resolver: &'a dyn TypeResolver,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn error_at(&self, offset: usize, message: String) -> TypeParseError {
        TypeParseError { message, offset }
    }

    fn eof_error(&self, what: &str) -> TypeParseError {
        TypeParseError {
            message: format!("the type ends early: expected {what}"),
            offset: self.end,
        }
    }

    fn expr(&mut self) -> Result<Expr, TypeParseError> {
        let mut parts = vec![self.primary()?];
        while matches!(self.peek(), Some(Token { tok: Tok::Pipe, .. })) {
            self.pos += 1;
            parts.push(self.primary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Union { parts }
        })
    }

    fn primary(&mut self) -> Result<Expr, TypeParseError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(self.eof_error("a type name"));
        };
        self.pos += 1;
        let mut expr = match tok.tok {
            Tok::Str(s) => {
                return Ok(Expr::Const {
                    value: Value::String(s),
                });
            }
            Tok::Num(n) => return Ok(Expr::Const { value: n }),
            Tok::Name(first) => {
                let mut name = first;
                while matches!(self.peek(), Some(Token { tok: Tok::Dot, .. })) {
                    self.pos += 1;
                    match self.peek().cloned() {
                        Some(Token {
                            tok: Tok::Name(n), ..
                        }) => {
                            self.pos += 1;
                            name = n;
                        }
                        Some(t) => {
                            return Err(self.error_at(
                                t.offset,
                                format!("expected a name after `.`, found `{}`", t.text()),
                            ));
                        }
                        None => return Err(self.eof_error("a name after `.`")),
                    }
                }
                Expr::Name {
                    name,
                    offset: tok.offset,
                }
            }
            _ => {
                return Err(self.error_at(
                    tok.offset,
                    format!("expected a type, found `{}`", tok.text()),
                ));
            }
        };
        if matches!(
            self.peek(),
            Some(Token {
                tok: Tok::LBracket,
                ..
            })
        ) {
            let open = self.pos;
            self.pos += 1;
            let mut args = Vec::new();
            loop {
                if matches!(
                    self.peek(),
                    Some(Token {
                        tok: Tok::RBracket,
                        ..
                    })
                ) {
                    self.pos += 1;
                    break;
                }
                args.push(self.expr()?);
                match self.peek().cloned() {
                    Some(Token {
                        tok: Tok::Comma, ..
                    }) => self.pos += 1,
                    Some(Token {
                        tok: Tok::RBracket, ..
                    }) => {
                        self.pos += 1;
                        break;
                    }
                    Some(t) => {
                        return Err(self.error_at(
                            t.offset,
                            format!("expected `,` or `]`, found `{}`", t.text()),
                        ));
                    }
                    None => return Err(self.eof_error("`]`")),
                }
            }
            let offset = self.tokens[open].offset;
            expr = Expr::Subscript {
                base: Box::new(expr),
                args,
                offset,
            };
        }
        Ok(expr)
    }

    fn to_type(&self, expr: &Expr) -> Result<FieldType, TypeParseError> {
        match expr {
            Expr::Const { value } => match value {
                Value::Null => Ok(FieldType::Null),
                other => Err(TypeParseError {
                    message: format!(
                        "the literal {other} is not a type; wrap values in Literal[...]"
                    ),
                    offset: 0,
                }),
            },
            Expr::Union { parts } => {
                let variants = parts
                    .iter()
                    .map(|p| self.to_type(p))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(FieldType::union(variants))
            }
            Expr::Name { name, offset } => self.simple(name, *offset),
            Expr::Subscript { base, args, offset } => {
                let Expr::Name {
                    name,
                    offset: name_offset,
                } = base.as_ref()
                else {
                    return Err(self.error_at(*offset, "only named types take `[...]`".into()));
                };
                let arity = |n: usize| -> Result<(), TypeParseError> {
                    if args.len() == n {
                        Ok(())
                    } else {
                        Err(self.error_at(
                            *offset,
                            format!("`{name}` takes {n} type argument(s), found {}", args.len()),
                        ))
                    }
                };
                match name.as_str() {
                    "list" | "List" | "Sequence" | "set" | "Set" => {
                        arity(1)?;
                        Ok(FieldType::list(self.to_type(&args[0])?))
                    }
                    "dict" | "Dict" | "Mapping" => {
                        arity(2)?;
                        Ok(FieldType::dict(
                            self.to_type(&args[0])?,
                            self.to_type(&args[1])?,
                        ))
                    }
                    "Optional" => {
                        arity(1)?;
                        Ok(FieldType::optional(self.to_type(&args[0])?))
                    }
                    "Union" => {
                        if args.is_empty() {
                            return Err(
                                self.error_at(*offset, "`Union` needs at least one type".into())
                            );
                        }
                        let variants = args
                            .iter()
                            .map(|a| self.to_type(a))
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(FieldType::union(variants))
                    }
                    "Literal" => {
                        if args.is_empty() {
                            return Err(
                                self.error_at(*offset, "`Literal` needs at least one value".into())
                            );
                        }
                        let values = args
                            .iter()
                            .map(|a| match a {
                                Expr::Const { value } => Ok(value.clone()),
                                Expr::Name { name, .. } if name == "True" => Ok(Value::Bool(true)),
                                Expr::Name { name, .. } if name == "False" => Ok(Value::Bool(false)),
                                Expr::Name { name, .. } if name == "None" => Ok(Value::Null),
                                Expr::Name { name, offset } => Err(self.error_at(
                                    *offset,
                                    format!("`Literal` takes values such as 'text' or 3, found the name `{name}` (quote it?)"),
                                )),
                                _ => Err(self.error_at(*offset, "`Literal` takes plain values".into())),
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(FieldType::Literal { values })
                    }
                    "Code" => {
                        arity(1)?;
                        match &args[0] {
                            Expr::Const {
                                value: Value::String(language),
                            } => Ok(FieldType::code(language.clone())),
                            Expr::Name { name, .. } => Ok(FieldType::code(name.clone())),
                            _ => Err(self.error_at(
                                *offset,
                                "`Code` takes a language, e.g. Code['python']".into(),
                            )),
                        }
                    }
                    other => {
                        self.simple(other, *name_offset)?;
                        Err(self.error_at(
                        *offset,
                        format!("`{other}` does not take type arguments; supported generics are list, dict, Optional, Union, Literal and Code"),
                    ))
                    }
                }
            }
        }
    }

    fn simple(&self, name: &str, offset: usize) -> Result<FieldType, TypeParseError> {
        Ok(match name {
            "str" => FieldType::Str,
            "int" => FieldType::Int,
            "float" => FieldType::Float,
            "bool" => FieldType::Bool,
            "None" | "NoneType" => FieldType::Null,
            "Any" => FieldType::Any,
            "list" | "List" => FieldType::list(FieldType::Any),
            "dict" | "Dict" => FieldType::dict(FieldType::Str, FieldType::Any),
            other => match (self.resolver.resolve(other), code_language(other)) {
                (Some(t), _) => t,
                // DSPy's types, unless the caller registered its own under the name:
                // `dspy.Code` is Python code, `Code_python` the class `dspy.Code['python']`
                // makes, `dspy.Image` an image.
                (None, _) if other == "Code" => FieldType::code("python"),
                (None, _) if other == "Image" => FieldType::Image,
                (None, Some(language)) => FieldType::code(language),
                (None, None) => {
                    return Err(self.error_at(
                        offset,
                        format!("unknown type `{other}`; use str, int, float, bool, list[...], dict[...], Literal[...], Optional[...], Code[...], or register `{other}` as a custom type"),
                    ));
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ModelField, ModelType};

    fn p(s: &str) -> FieldType {
        match parse_type(s, &NoCustomTypes) {
            Ok(t) => t,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn parses_builtin_shapes() {
        assert_eq!(p("str"), FieldType::Str);
        assert_eq!(p("list[str]"), FieldType::list(FieldType::Str));
        assert_eq!(p("typing.List[int]"), FieldType::list(FieldType::Int));
        assert_eq!(
            p("dict[str, int]"),
            FieldType::dict(FieldType::Str, FieldType::Int)
        );
        assert_eq!(p("Optional[str]"), FieldType::optional(FieldType::Str));
        assert_eq!(p("int | None"), FieldType::optional(FieldType::Int));
        assert_eq!(p("Literal['a', \"b\"]"), FieldType::literal(["a", "b"]));
        assert_eq!(p("dspy.Code['rust']"), FieldType::code("rust"));
        assert_eq!(p("Code"), FieldType::code("python"));
        assert_eq!(p("Code_python"), FieldType::code("python"));
        assert_eq!(p("list[dspy.Image]"), FieldType::list(FieldType::Image));
        assert_eq!(
            p("Literal[1, 2, True]"),
            FieldType::Literal {
                values: vec![Value::from(1), Value::from(2), Value::Bool(true)]
            }
        );
    }

    #[test]
    fn resolves_custom_names() {
        let person = FieldType::model(ModelType::new(
            "Person",
            vec![ModelField::required("name", FieldType::Str)],
        ));
        let resolver = |n: &str| (n == "Person").then(|| person.clone());
        let t = parse_type("list[cases.Person]", &resolver).expect("parses");
        assert_eq!(t, FieldType::list(person.clone()));
    }

    #[test]
    fn errors_say_where() {
        let e = parse_type("list[strr]", &NoCustomTypes).expect_err("unknown");
        assert_eq!(e.offset, 5);
        assert!(e.message.contains("unknown type `strr`"));
        let e = parse_type("list[str", &NoCustomTypes).expect_err("unclosed");
        assert!(e.message.contains("expected `]`"), "{e}");
        let e = parse_type("Literal['a", &NoCustomTypes).expect_err("unterminated");
        assert!(e.message.contains("unterminated"));
        let e = parse_type("dict[str]", &NoCustomTypes).expect_err("arity");
        assert!(e.message.contains("takes 2"));
    }
}
