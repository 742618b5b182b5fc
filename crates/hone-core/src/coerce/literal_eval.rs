//! A reader for Python literals, like `ast.literal_eval`: strings (any quotes, `r`/`u`
//! prefixes, adjacent strings joined), numbers, `True`/`False`/`None`, lists, tuples, sets and
//! dicts. Tuples and sets become JSON arrays; dict keys become text.

use serde_json::{Map, Number, Value};

use crate::adapter::pyfmt::py_str;

const MAX_DEPTH: usize = 200;

/// Reads `text` as one Python literal; `None` if it is not one (a `SyntaxError` or
/// `ValueError` in Python) or holds something JSON cannot (complex numbers, bytes, NaN).
pub fn literal_eval(text: &str) -> Option<Value> {
    let text = text.trim_start_matches([' ', '\t']);
    let mut p = Lit {
        s: text.chars().collect(),
        i: 0,
    };
    let v = p.expr(0)?;
    p.skip_ws(false);
    (p.i == p.s.len()).then_some(v)
}

struct Lit {
    s: Vec<char>,
    i: usize,
}

impl Lit {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    /// Skips spaces and comments; line breaks only inside brackets (`nested`) or at the end.
    fn skip_ws(&mut self, nested: bool) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\u{c}' => self.i += 1,
                '\n' | '\r' if nested => self.i += 1,
                '\n' | '\r' => {
                    // Only trailing line breaks are allowed outside brackets.
                    if self.s[self.i..].iter().all(|c| c.is_whitespace()) {
                        self.i = self.s.len();
                    }
                    return;
                }
                '\\' if matches!(self.s.get(self.i + 1), Some('\n')) => self.i += 2,
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.i += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn expr(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let nested = depth > 0;
        self.skip_ws(nested);
        let c = self.peek()?;
        match c {
            '[' => {
                self.i += 1;
                self.sequence(']', depth).map(Value::Array)
            }
            '(' => {
                self.i += 1;
                self.skip_ws(true);
                if self.peek() == Some(')') {
                    self.i += 1;
                    return Some(Value::Array(Vec::new()));
                }
                let first = self.expr(depth + 1)?;
                self.skip_ws(true);
                match self.peek()? {
                    ')' => {
                        self.i += 1;
                        Some(first)
                    }
                    ',' => {
                        self.i += 1;
                        let mut rest = self.sequence(')', depth)?;
                        rest.insert(0, first);
                        Some(Value::Array(rest))
                    }
                    _ => None,
                }
            }
            '{' => {
                self.i += 1;
                self.brace(depth)
            }
            '+' | '-' => {
                self.i += 1;
                let v = self.expr(depth + 1)?;
                let n = v.as_number()?;
                if c == '+' {
                    return Some(v);
                }
                if let Some(i) = n.as_i64() {
                    Some(Value::from(i.checked_neg()?))
                } else {
                    Number::from_f64(-n.as_f64()?).map(Value::Number)
                }
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            c if c.is_alphabetic() || c == '_' => {
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.i += 1;
                }
                let word: String = self.s[start..self.i].iter().collect();
                match word.as_str() {
                    "True" => Some(Value::Bool(true)),
                    "False" => Some(Value::Bool(false)),
                    "None" => Some(Value::Null),
                    w if matches!(self.peek(), Some('\'' | '"'))
                        && matches!(w.to_ascii_lowercase().as_str(), "r" | "u") =>
                    {
                        self.i = start + w.len();
                        self.strings(w.eq_ignore_ascii_case("r"))
                    }
                    _ => None,
                }
            }
            '\'' | '"' => self.strings(false),
            _ => None,
        }
    }

    fn sequence(&mut self, close: char, depth: usize) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            self.skip_ws(true);
            if self.peek()? == close {
                self.i += 1;
                return Some(items);
            }
            items.push(self.expr(depth + 1)?);
            self.skip_ws(true);
            match self.peek()? {
                ',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(items);
                }
                _ => return None,
            }
        }
    }

    /// A dict `{k: v, ...}` or a set `{a, b}`.
    fn brace(&mut self, depth: usize) -> Option<Value> {
        self.skip_ws(true);
        if self.peek()? == '}' {
            self.i += 1;
            return Some(Value::Object(Map::new()));
        }
        let first = self.expr(depth + 1)?;
        self.skip_ws(true);
        if self.peek()? != ':' {
            let mut items = vec![first];
            if self.peek()? == ',' {
                self.i += 1;
                items.extend(self.sequence('}', depth)?);
            } else if self.peek()? == '}' {
                self.i += 1;
            } else {
                return None;
            }
            return Some(Value::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            // past the ':'
            self.i += 1;
            let value = self.expr(depth + 1)?;
            map.insert(py_str(&key), value);
            self.skip_ws(true);
            match self.peek()? {
                ',' => self.i += 1,
                '}' => {
                    self.i += 1;
                    return Some(Value::Object(map));
                }
                _ => return None,
            }
            self.skip_ws(true);
            if self.peek()? == '}' {
                self.i += 1;
                return Some(Value::Object(map));
            }
            key = self.expr(depth + 1)?;
            self.skip_ws(true);
            if self.peek()? != ':' {
                return None;
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
            || (matches!(self.peek(), Some('+' | '-'))
                && matches!(self.s.get(self.i.wrapping_sub(1)), Some('e' | 'E'))
                && !self.s[start..self.i]
                    .iter()
                    .any(|c| matches!(c, 'x' | 'X' | 'b' | 'B' | 'o' | 'O')))
        {
            self.i += 1;
        }
        let raw: String = self.s[start..self.i].iter().collect();
        if raw.contains("__") || raw.ends_with('_') {
            return None;
        }
        let text = raw.replace('_', "");
        let lower = text.to_ascii_lowercase();
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(digits) = lower.strip_prefix(prefix) {
                return i64::from_str_radix(digits, radix).ok().map(Value::from);
            }
        }
        if lower.ends_with('j') {
            return None;
        }
        if !lower.contains(['.', 'e']) {
            if lower.len() > 1 && lower.starts_with('0') && lower.chars().any(|c| c != '0') {
                return None;
            }
            if let Ok(i) = lower.parse::<i64>() {
                return Some(Value::from(i));
            }
            if let Ok(u) = lower.parse::<u64>() {
                return Some(Value::from(u));
            }
        }
        if lower
            .chars()
            .any(|c| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-')))
        {
            return None;
        }
        let f: f64 = lower.parse().ok()?;
        Number::from_f64(f).map(Value::Number)
    }

    /// One or more adjacent string literals, joined.
    fn strings(&mut self, raw_first: bool) -> Option<Value> {
        let mut out = self.string(raw_first)?;
        loop {
            let save = self.i;
            self.skip_ws(false);
            let raw = match self.peek() {
                Some('\'' | '"') => false,
                Some('r' | 'R' | 'u' | 'U')
                    if matches!(self.s.get(self.i + 1), Some('\'' | '"')) =>
                {
                    let raw = matches!(self.peek(), Some('r' | 'R'));
                    self.i += 1;
                    raw
                }
                _ => {
                    self.i = save;
                    return Some(Value::String(out));
                }
            };
            out.push_str(&self.string(raw)?);
        }
    }

    fn string(&mut self, raw: bool) -> Option<String> {
        let q = self.peek()?;
        let triple = self.s.get(self.i + 1) == Some(&q) && self.s.get(self.i + 2) == Some(&q);
        self.i += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == q {
                if !triple {
                    self.i += 1;
                    return Some(out);
                }
                if self.s.get(self.i + 1) == Some(&q) && self.s.get(self.i + 2) == Some(&q) {
                    self.i += 3;
                    return Some(out);
                }
            }
            if (c == '\n' || c == '\r') && !triple {
                return None;
            }
            if c == '\\' {
                let e = *self.s.get(self.i + 1)?;
                self.i += 2;
                if raw {
                    out.push('\\');
                    out.push(e);
                    continue;
                }
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'v' => out.push('\u{b}'),
                    '\\' | '\'' | '"' => out.push(e),
                    '\n' => {}
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = self.s.get(self.i..self.i + n)?.iter().collect();
                        let ch = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)?;
                        out.push(ch);
                        self.i += n;
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
                continue;
            }
            out.push(c);
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_python_literals() {
        assert_eq!(literal_eval("True"), Some(json!(true)));
        assert_eq!(literal_eval("None"), Some(json!(null)));
        assert_eq!(literal_eval("'a'"), Some(json!("a")));
        assert_eq!(literal_eval("  -3 "), Some(json!(-3)));
        assert_eq!(literal_eval("1_000"), Some(json!(1000)));
        assert_eq!(literal_eval("0x10"), Some(json!(16)));
        assert_eq!(literal_eval("(1, 'b')"), Some(json!([1, "b"])));
        assert_eq!(
            literal_eval("{'a': [1.5, None]}"),
            Some(json!({"a": [1.5, null]}))
        );
        assert_eq!(literal_eval("{1, 2}"), Some(json!([1, 2])));
        assert_eq!(literal_eval("'a' \"b\""), Some(json!("ab")));
        assert_eq!(literal_eval("'''x\ny'''"), Some(json!("x\ny")));
        assert_eq!(literal_eval("r'\\n'"), Some(json!("\\n")));
        assert_eq!(literal_eval("high"), None);
        assert_eq!(literal_eval("1 2"), None);
        assert_eq!(literal_eval("1j"), None);
        assert_eq!(literal_eval("07"), None);
        assert_eq!(literal_eval("[1,\n 2]\n"), Some(json!([1, 2])));
        assert_eq!(literal_eval("1\n2"), None);
        assert_eq!(literal_eval(&"[".repeat(10_000)), None);
    }
}
