//! Lenient JSON reading in the manner of the `json_repair` package DSPy uses: valid JSON is
//! read as is; otherwise the first objects or arrays found in the text are read with common
//! LM mistakes repaired (single quotes, unquoted keys and words, Python's `True`/`None`,
//! trailing or missing commas, comments, missing closing brackets, code fences around it).
//!
//! Bare scalars outside a container are not looked for (as in `json_repair`, `"42 apples"`
//! yields nothing); callers fall back to a Python literal reading.

use serde_json::{Map, Number, Value};

/// How deep containers may nest before the reader stops descending.
const MAX_DEPTH: usize = 256;

/// Reads `text` as leniently repaired JSON. `None` means nothing usable was found (where
/// `json_repair.loads` returns `""`).
pub fn repair_json(text: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Some(v);
    }
    let mut p = Repair {
        s: text.chars().collect(),
        i: 0,
    };
    p.top_level()
}

struct Repair {
    s: Vec<char>,
    i: usize,
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `json_repair`'s `ObjectComparer.is_same_object`: same types and the same keys, recursively.
fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_shape(v, w))
        }
        (Value::Null, Value::Null)
        | (Value::Bool(_), Value::Bool(_))
        | (Value::String(_), Value::String(_)) => true,
        (Value::Number(x), Value::Number(y)) => x.is_f64() == y.is_f64(),
        _ => false,
    }
}

impl Repair {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn top_level(&mut self) -> Option<Value> {
        let first = self.top_value();
        if self.i >= self.s.len() {
            return first;
        }
        let mut values: Vec<Option<Value>> = vec![first];
        while self.i < self.s.len() {
            let comma = self.previous_non_space_is_comma();
            match self.top_value() {
                Some(v) if truthy(&v) => {
                    match values.last() {
                        Some(Some(last)) if !comma && same_shape(last, &v) => {
                            values.pop();
                        }
                        Some(Some(last)) if !truthy(last) => {
                            values.pop();
                        }
                        Some(None) => {
                            values.pop();
                        }
                        _ => {}
                    }
                    values.push(Some(v));
                }
                _ => self.i += 1,
            }
        }
        if values.len() == 1 {
            return values.pop().flatten();
        }
        Some(Value::Array(
            values
                .into_iter()
                .map(|v| v.unwrap_or_else(|| Value::String(String::new())))
                .collect(),
        ))
    }

    fn previous_non_space_is_comma(&self) -> bool {
        let mut j = self.i;
        while j < self.s.len() && self.s[j].is_whitespace() {
            j += 1;
        }
        if self.s.get(j) == Some(&',') {
            return true;
        }
        let mut k = self.i;
        while k > 0 && self.s[k - 1].is_whitespace() {
            k -= 1;
        }
        k > 0 && self.s[k - 1] == ','
    }

    /// The next top-level container, skipping prose; `None` at the end of the text.
    fn top_value(&mut self) -> Option<Value> {
        while let Some(c) = self.peek() {
            match c {
                '{' => {
                    self.i += 1;
                    return Some(self.object(0));
                }
                '[' => {
                    self.i += 1;
                    return Some(self.array(0, ']'));
                }
                '(' if self.tuple_follows() => {
                    self.i += 1;
                    return Some(match self.array(0, ')') {
                        Value::Array(mut items) if items.len() == 1 => items.remove(0),
                        other => other,
                    });
                }
                '#' | '/' if self.at_comment() => self.skip_comment(),
                _ => self.i += 1,
            }
        }
        None
    }

    /// json_repair's `top_level_parenthesized_can_start_value`: a top-level `(` starts a
    /// tuple only when it begins its line, a value follows it, and nothing but whitespace
    /// follows its closing `)` on that line (not in prose like "note (see above)" or a call
    /// like `print('x')`).
    fn tuple_follows(&self) -> bool {
        let quote = |c: char| matches!(c, '"' | '\'' | '\u{201c}' | '\u{201d}');
        let mut k = self.i;
        while k > 0 {
            let c = self.s[k - 1];
            if c == '\n' || c == '\r' {
                break;
            }
            if !c.is_whitespace() {
                return false;
            }
            k -= 1;
        }
        let mut j = self.i + 1;
        while self.s.get(j).is_some_and(|c| c.is_whitespace()) {
            j += 1;
        }
        let Some(&first) = self.s.get(j) else {
            return false;
        };
        let inner: String = self.s[j..]
            .iter()
            .take(5)
            .collect::<String>()
            .to_lowercase();
        let starts_value = matches!(first, ')' | '{' | '[' | '(' | '-' | '.')
            || quote(first)
            || first.is_ascii_digit()
            || ["true", "null", "none", "false"]
                .iter()
                .any(|w| inner.starts_with(w));
        if !starts_value {
            return false;
        }
        let (mut parens, mut squares, mut braces) = (0usize, 0usize, 0usize);
        let mut in_quote: Option<char> = None;
        let mut backslashes = 0usize;
        let mut i = self.i + 1;
        while i < self.s.len() {
            let c = self.s[i];
            i += 1;
            if c == '\\' {
                backslashes += 1;
                continue;
            }
            if let Some(q) = in_quote {
                if c == q && backslashes.is_multiple_of(2) {
                    in_quote = None;
                }
                backslashes = 0;
                continue;
            }
            if quote(c) && backslashes.is_multiple_of(2) {
                in_quote = Some(c);
                backslashes = 0;
                continue;
            }
            backslashes = 0;
            match c {
                '(' => parens += 1,
                ')' if parens == 0 && squares == 0 && braces == 0 => {
                    return self.s[i..]
                        .iter()
                        .find(|c| !c.is_whitespace() || **c == '\n' || **c == '\r')
                        .is_none_or(|c| *c == '\n' || *c == '\r');
                }
                ')' => parens = parens.saturating_sub(1),
                '[' => squares += 1,
                ']' => squares = squares.saturating_sub(1),
                '{' => braces += 1,
                '}' => braces = braces.saturating_sub(1),
                _ => {}
            }
        }
        true
    }

    fn at_comment(&self) -> bool {
        match self.peek() {
            Some('#') => true,
            Some('/') => matches!(self.peek_at(1), Some('/' | '*')),
            _ => false,
        }
    }

    fn skip_comment(&mut self) {
        if self.peek() == Some('/') && self.peek_at(1) == Some('*') {
            self.i += 2;
            while self.i < self.s.len()
                && !(self.peek() == Some('*') && self.peek_at(1) == Some('/'))
            {
                self.i += 1;
            }
            self.i = (self.i + 2).min(self.s.len());
        } else {
            while let Some(c) = self.peek() {
                if c == '\n' {
                    break;
                }
                self.i += 1;
            }
        }
    }

    fn skip_ws(&mut self) {
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.i += 1;
            }
            if self.at_comment() {
                self.skip_comment();
            } else {
                return;
            }
        }
    }

    fn object(&mut self, depth: usize) -> Value {
        let mut map = Map::new();
        loop {
            self.skip_ws();
            let Some(c) = self.peek() else { break };
            match c {
                '}' => {
                    self.i += 1;
                    break;
                }
                ']' => {
                    self.i += 1;
                    break;
                }
                ',' => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let key = if is_quote(c) {
                self.quoted(&[':'])
            } else {
                self.bare(&[':', ',', '}'])
            };
            self.skip_ws();
            let value = if self.peek() == Some(':') {
                self.i += 1;
                self.skip_ws();
                match self.peek() {
                    Some(',' | '}') | None => Value::String(String::new()),
                    Some(_) => self.value(depth + 1, &[',', '}']),
                }
            } else {
                Value::String(String::new())
            };
            map.insert(key, value);
        }
        Value::Object(map)
    }

    fn array(&mut self, depth: usize, close: char) -> Value {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            let Some(c) = self.peek() else { break };
            if c == close || c == '}' {
                self.i += 1;
                break;
            }
            if c == ',' {
                self.i += 1;
                continue;
            }
            let start = self.i;
            let v = self.value(depth + 1, &[',', close]);
            if self.i == start {
                self.i += 1;
                continue;
            }
            items.push(v);
        }
        Value::Array(items)
    }

    fn value(&mut self, depth: usize, stops: &[char]) -> Value {
        let Some(c) = self.peek() else {
            return Value::String(String::new());
        };
        if depth > MAX_DEPTH && matches!(c, '{' | '[' | '(') {
            self.i = self.s.len();
            return Value::Null;
        }
        match c {
            '{' => {
                self.i += 1;
                self.object(depth)
            }
            '[' => {
                self.i += 1;
                self.array(depth, ']')
            }
            '(' => {
                self.i += 1;
                self.array(depth, ')')
            }
            c if is_quote(c) => {
                let mut stop: Vec<char> = stops.to_vec();
                stop.extend([']', '}', ':']);
                Value::String(self.quoted(&stop))
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => match self.number(stops) {
                Some(n) => n,
                None => Value::String(self.bare(stops)),
            },
            _ => {
                if let Some(v) = self.literal() {
                    return v;
                }
                Value::String(self.bare(stops))
            }
        }
    }

    /// `true`/`false`/`null`/`none` in any case, followed by a delimiter.
    fn literal(&mut self) -> Option<Value> {
        for (word, value) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
            ("none", Value::Null),
        ] {
            let n = word.chars().count();
            let matches = word
                .chars()
                .enumerate()
                .all(|(k, w)| self.peek_at(k).map(|c| c.to_ascii_lowercase()) == Some(w));
            if matches {
                let next = self.peek_at(n);
                if next.is_none_or(|c| c.is_whitespace() || matches!(c, ',' | ')' | ']' | '}')) {
                    self.i += n;
                    return Some(value);
                }
            }
        }
        None
    }

    fn number(&mut self, stops: &[char]) -> Option<Value> {
        let start = self.i;
        let mut j = self.i;
        while let Some(c) = self.s.get(j) {
            if c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E' | '_') {
                j += 1;
            } else {
                break;
            }
        }
        // A number runs up to a delimiter; "1.5.6" or "12abc" are words.
        if let Some(next) = self.s.get(j)
            && !next.is_whitespace()
            && !stops.contains(next)
            && !matches!(next, ']' | '}' | ')')
        {
            return None;
        }
        let text: String = self.s[start..j].iter().filter(|c| **c != '_').collect();
        let value = if let Ok(i) = text.parse::<i64>() {
            Value::Number(Number::from(i))
        } else if text == "-" {
            self.i = j;
            return Some(Value::String(String::new()));
        } else {
            let f: f64 = text.parse().ok()?;
            Value::Number(Number::from_f64(f)?)
        };
        self.i = j;
        Some(value)
    }

    /// An unquoted word: up to a stop character or the end of the line, trimmed.
    fn bare(&mut self, stops: &[char]) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if stops.contains(&c) || c == '\n' || matches!(c, ']' | '}') {
                break;
            }
            self.i += 1;
        }
        let word: String = self.s[start..self.i].iter().collect();
        word.trim().to_owned()
    }

    /// A quoted string. A closing quote that is not followed by a delimiter (`stops`, the end or
    /// a line break) is taken as part of the text, as LMs often forget to escape inner quotes.
    fn quoted(&mut self, stops: &[char]) -> String {
        let open = self.peek().unwrap_or('"');
        let close = match open {
            '“' => '”',
            other => other,
        };
        self.i += 1;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' {
                let esc = self.peek_at(1);
                self.i += 2;
                match esc {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('u') => {
                        let hex: String = (0..4).filter_map(|k| self.peek_at(k)).collect();
                        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                            Some(ch) if hex.len() == 4 => {
                                out.push(ch);
                                self.i += 4;
                            }
                            _ => out.push_str("\\u"),
                        }
                    }
                    Some(other) => out.push(other),
                    None => {}
                }
                continue;
            }
            if c == close || (open == '“' && c == '"') {
                let mut j = self.i + 1;
                while self.s.get(j).is_some_and(|c| *c == ' ' || *c == '\t') {
                    j += 1;
                }
                let next = self.s.get(j).copied();
                let ends = next.is_none_or(|n| {
                    stops.contains(&n) || matches!(n, '\n' | '\r' | '/' | '#') || is_quote(n)
                });
                if ends {
                    self.i += 1;
                    return out;
                }
            }
            out.push(c);
            self.i += 1;
        }
        out
    }
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\'' | '“' | '”')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(s: &str) -> Option<Value> {
        repair_json(s)
    }

    #[test]
    fn matches_json_repair_on_common_cases() {
        assert_eq!(r("3"), Some(json!(3)));
        assert_eq!(r("high"), None);
        assert_eq!(r("42 apples"), None);
        assert_eq!(r("[1, 2,]"), Some(json!([1, 2])));
        assert_eq!(r("{'a': 1}"), Some(json!({"a": 1})));
        assert_eq!(r("```json\n[1,2]\n```"), Some(json!([1, 2])));
        assert_eq!(r("[1, 2"), Some(json!([1, 2])));
        assert_eq!(r("Sure! {\"a\": 1}"), Some(json!({"a": 1})));
        assert_eq!(
            r("{\"a\": 1} trailing {\"b\": 2}"),
            Some(json!([{"a": 1}, {"b": 2}]))
        );
        assert_eq!(r("{\"x\": 1} {\"x\": 2}"), Some(json!({"x": 2})));
        assert_eq!(r("(1, 2)"), Some(json!([1, 2])));
        // json_repair 0.64's rule for a top-level `(` (outputs of the real package).
        assert_eq!(r("print('x')"), None);
        assert_eq!(r("note (1, 2)"), None);
        assert_eq!(r("(1, 2) trailing"), None);
        assert_eq!(r("  (1, 2)\nmore"), Some(json!([1, 2])));
        assert_eq!(r("(true, 3)"), Some(json!([true, 3])));
        assert_eq!(r("(x, 3)"), None);
        assert_eq!(
            r("{\"a\": \"He said \"hi\" ok\"}"),
            Some(json!({"a": "He said \"hi\" ok"}))
        );
        assert_eq!(
            r("{a: hello world, b: 2}"),
            Some(json!({"a": "hello world", "b": 2}))
        );
        assert_eq!(r("[True, None, false]"), Some(json!([true, null, false])));
        assert_eq!(r("{\"a\": 1.5.6}"), Some(json!({"a": "1.5.6"})));
        assert_eq!(r("['it\\'s']"), Some(json!(["it's"])));
        assert_eq!(r("{\"a\": \"b\" // c\n}"), Some(json!({"a": "b"})));
        assert_eq!(r("[1, 'x\"y']"), Some(json!([1, "x\"y"])));
        assert_eq!(
            r("{\"a\": \"unterminated"),
            Some(json!({"a": "unterminated"}))
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let s = "[".repeat(100_000);
        let _ = repair_json(&s);
        let s = "{\"a\":".repeat(50_000);
        let _ = repair_json(&s);
    }
}
