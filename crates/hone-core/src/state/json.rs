//! JSON text laid out byte for byte as DSPy writes it: `orjson.dumps(state,
//! option=OPT_INDENT_2 | OPT_APPEND_NEWLINE)`.
//!
//! That is serde_json's pretty layout with a two-space indent (`"key": value`, `[]` and `{}`
//! for empty containers, non-ASCII text unescaped), a trailing newline, and floats as orjson
//! prints them: the shortest digits that round-trip, positional between 1e-5 and 1e16
//! (`0.00001`, `1000000000000000.0`), otherwise scientific with an explicit sign (`1e+16`,
//! `1e-7`).

use std::io;

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{Formatter, PrettyFormatter};

/// `value` as DSPy's `program.save(...)` would write it (two-space indent, trailing newline).
///
/// ```
/// use serde_json::json;
/// let text = hone_core::state::to_dspy_json_text(&json!({"demos": [], "lm": null, "x": 1e16}));
/// assert_eq!(text, "{\n  \"demos\": [],\n  \"lm\": null,\n  \"x\": 1e+16\n}\n");
/// ```
pub fn to_dspy_json_text(value: &Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        OrjsonFormatter(PrettyFormatter::with_indent(b"  ")),
    );
    // Serializing a `Value` into memory cannot fail: keys are strings and numbers are finite.
    if value.serialize(&mut ser).is_err() {
        return value.to_string();
    }
    out.push(b'\n');
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// serde_json's pretty layout with orjson's float notation.
struct OrjsonFormatter<'a>(PrettyFormatter<'a>);

impl Formatter for OrjsonFormatter<'_> {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(orjson_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(orjson_float(f64::from(value)).as_bytes())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_key(writer)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// A finite float as orjson (and Python's `repr`, apart from the exponent's zero padding)
/// prints it.
fn orjson_float(value: f64) -> String {
    // `{:e}` gives the shortest round-trip digits: "-1.2345e17", "5e-324", "0e0".
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len() as i32;
    // The value is 0.<digits> × 10^point.
    let point = exp + 1;
    let body = if (n..=16).contains(&point) {
        format!("{digits}{}.0", "0".repeat((point - n) as usize))
    } else if 0 < point && point <= 16 {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    } else if -5 < point && point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exp >= 0 { "+" } else { "-" };
        format!("{first}{rest}e{exp_sign}{}", exp.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_match_orjson() {
        // (value, what orjson.dumps prints)
        let cases = [
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e15, "1500000000000000.0"),
            (9.999e15, "9999000000000000.0"),
            (1e-5, "0.00001"),
            (1e-4, "0.0001"),
            (0.001, "0.001"),
            (1e21, "1e+21"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (123.456, "123.456"),
            (1e-6, "1e-6"),
            (1.2e-6, "1.2e-6"),
            (12345678.9, "12345678.9"),
            (0.5, "0.5"),
            (100.0, "100.0"),
            (1e7, "10000000.0"),
            (3e-5, "0.00003"),
            (0.95, "0.95"),
            (2.0, "2.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (-1.5e300, "-1.5e+300"),
        ];
        for (v, expected) in cases {
            assert_eq!(orjson_float(v), expected, "{v:e}");
        }
    }

    #[test]
    fn layout_matches_orjson_indent_2() {
        let v = json!({"a": [], "b": {}, "c": [1, {"x": null}], "s": "é\u{1}\"\\/\t"});
        assert_eq!(
            to_dspy_json_text(&v),
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"x\": null\n    }\n  ],\n  \"s\": \"é\\u0001\\\"\\\\/\\t\"\n}\n"
        );
    }
}
