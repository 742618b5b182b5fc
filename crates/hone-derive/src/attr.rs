//! Attribute reading shared by the derives: doc comments, `#[hone(...)]` keys, serde renames.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, Token};

/// The text of the item's doc comments, cleaned up like Python's `inspect.cleandoc` does with a
/// docstring; `None` when there is no doc comment.
///
/// `/// line` comments arrive as one `#[doc = " line"]` attribute per line; they are joined with
/// newlines first, so the leading space of every line is common indentation and goes away.
pub(crate) fn doc_text(attrs: &[Attribute]) -> syn::Result<Option<String>> {
    let mut lines: Vec<String> = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        match &attr.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => lines.push(s.value()),
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "this doc comment is not a string literal, so the derive cannot read \
                         it; write the text as a plain `///` comment, or give the text \
                         explicitly (`#[hone(instructions = \"...\")]` on a signature, \
                         `desc = \"...\"` on a field)",
                    ));
                }
            },
            _ => continue,
        }
    }
    if lines.is_empty() {
        return Ok(None);
    }
    Ok(Some(cleandoc(&lines.join("\n"))))
}

/// Python's `inspect.cleandoc`: tabs expanded, the first line's leading whitespace removed, the
/// common indentation of the following non-blank lines removed, and leading and trailing empty
/// lines dropped.
pub(crate) fn cleandoc(doc: &str) -> String {
    let expanded = expand_tabs(doc);
    let mut lines: Vec<Vec<char>> = expanded.split('\n').map(|l| l.chars().collect()).collect();
    let mut margin = usize::MAX;
    for line in lines.iter().skip(1) {
        let content = line.len() - leading_space(line);
        if content > 0 {
            margin = margin.min(line.len() - content);
        }
    }
    if let Some(first) = lines.first_mut() {
        let lead = leading_space(first);
        first.drain(..lead);
    }
    if margin < usize::MAX {
        for line in lines.iter_mut().skip(1) {
            let cut = margin.min(line.len());
            line.drain(..cut);
        }
    }
    while lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    while lines.first().is_some_and(Vec::is_empty) {
        lines.remove(0);
    }
    lines
        .iter()
        .map(|l| l.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whitespace as Python's `str.isspace` sees it.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn leading_space(line: &[char]) -> usize {
    line.iter().take_while(|c| is_py_space(**c)).count()
}

/// Python's `str.expandtabs()` with tab size 8.
fn expand_tabs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut column = 0usize;
    for c in s.chars() {
        match c {
            '\t' => {
                let spaces = 8 - column % 8;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
            }
            '\n' | '\r' => {
                out.push(c);
                column = 0;
            }
            _ => {
                out.push(c);
                column += 1;
            }
        }
    }
    out
}

/// Reads a `key = "string"` value inside a nested meta.
pub(crate) fn string_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    let expr: Expr = meta.value()?.parse()?;
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s),
        other => Err(syn::Error::new(
            other.span(),
            format!(
                "expected a string literal, as in `{} = \"...\"`",
                path_text(&meta.path)
            ),
        )),
    }
}

/// A path's text, for messages.
pub(crate) fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// The path to hone's core crate from `#[hone(crate = "...")]`.
pub(crate) fn crate_path(lit: &LitStr) -> syn::Result<syn::Path> {
    lit.parse::<syn::Path>().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!(
                "`crate = {:?}` is not a path; write the path to hone's core crate, e.g. \
                 `#[hone(crate = \"::hone_core\")]`",
                lit.value()
            ),
        )
    })
}

/// The default path of hone's core crate in generated code.
pub(crate) fn default_crate_path() -> syn::Path {
    syn::parse_quote!(::hone_core)
}

/// Skips the value of a meta item the derive does not interpret (`= expr` or `(...)`).
fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        let _: Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _content;
        syn::parenthesized!(_content in meta.input);
    }
    Ok(())
}

/// serde's `rename_all` rules, applied exactly as `serde_derive` applies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

const RENAME_RULES: &[(&str, RenameRule)] = &[
    ("lowercase", RenameRule::Lower),
    ("UPPERCASE", RenameRule::Upper),
    ("PascalCase", RenameRule::Pascal),
    ("camelCase", RenameRule::Camel),
    ("snake_case", RenameRule::Snake),
    ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
    ("kebab-case", RenameRule::Kebab),
    ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
];

impl RenameRule {
    fn parse(lit: &LitStr) -> syn::Result<RenameRule> {
        let text = lit.value();
        RENAME_RULES
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, rule)| *rule)
            .ok_or_else(|| {
                let known: Vec<String> =
                    RENAME_RULES.iter().map(|(n, _)| format!("{n:?}")).collect();
                syn::Error::new(
                    lit.span(),
                    format!(
                        "unknown rename rule `rename_all = {text:?}`, expected one of {}",
                        known.join(", ")
                    ),
                )
            })
    }

    /// The name serde uses for an enum variant.
    pub(crate) fn apply_to_variant(self, variant: &str) -> String {
        match self {
            RenameRule::Pascal => variant.to_owned(),
            RenameRule::Lower => variant.to_ascii_lowercase(),
            RenameRule::Upper => variant.to_ascii_uppercase(),
            RenameRule::Camel => {
                let mut cs = variant.chars();
                match cs.next() {
                    Some(c) => c.to_ascii_lowercase().to_string() + cs.as_str(),
                    None => String::new(),
                }
            }
            RenameRule::Snake => {
                let mut snake = String::new();
                for (i, ch) in variant.char_indices() {
                    if i > 0 && ch.is_uppercase() {
                        snake.push('_');
                    }
                    snake.push(ch.to_ascii_lowercase());
                }
                snake
            }
            RenameRule::ScreamingSnake => RenameRule::Snake
                .apply_to_variant(variant)
                .to_ascii_uppercase(),
            RenameRule::Kebab => RenameRule::Snake
                .apply_to_variant(variant)
                .replace('_', "-"),
            RenameRule::ScreamingKebab => RenameRule::ScreamingSnake
                .apply_to_variant(variant)
                .replace('_', "-"),
        }
    }

    /// The name serde uses for a struct field.
    pub(crate) fn apply_to_field(self, field: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => field.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => field.to_ascii_uppercase(),
            RenameRule::Pascal => {
                let mut pascal = String::new();
                let mut capitalize = true;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        pascal.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        pascal.push(ch);
                    }
                }
                pascal
            }
            RenameRule::Camel => {
                let pascal = RenameRule::Pascal.apply_to_field(field);
                let mut cs = pascal.chars();
                match cs.next() {
                    Some(c) => c.to_ascii_lowercase().to_string() + cs.as_str(),
                    None => String::new(),
                }
            }
            RenameRule::Kebab => field.replace('_', "-"),
            RenameRule::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }
}

/// How a field's default is given to serde.
#[derive(Default)]
pub(crate) enum SerdeDefault {
    /// No `#[serde(default)]`.
    #[default]
    None,
    /// `#[serde(default)]`: `Default::default()`.
    Default,
    /// `#[serde(default = "path")]`.
    Path(syn::ExprPath),
}

/// The serde attributes that change the JSON shape the LM must produce.
#[derive(Default)]
pub(crate) struct SerdeAttrs {
    /// `rename = "..."` (the deserialize name when the two differ).
    pub rename: Option<String>,
    /// `rename_all = "..."`.
    pub rename_all: Option<RenameRule>,
    /// `default` / `default = "path"`.
    pub default: SerdeDefault,
    /// `skip` or `skip_deserializing`: the field is never read from JSON.
    pub skip: bool,
    /// `flatten`, which the derive cannot express; the span to report.
    pub flatten: Option<Span>,
}

/// Reads the `#[serde(...)]` attributes of an item, ignoring keys that do not change the shape.
pub(crate) fn serde_attrs(attrs: &[Attribute]) -> syn::Result<SerdeAttrs> {
    let mut out = SerdeAttrs::default();
    for attr in attrs {
        if !attr.path().is_ident("serde") {
            continue;
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                out.rename = Some(either_direction(&meta)?.value());
            } else if meta.path.is_ident("rename_all") {
                out.rename_all = Some(RenameRule::parse(&either_direction(&meta)?)?);
            } else if meta.path.is_ident("default") {
                out.default = if meta.input.peek(Token![=]) {
                    let lit = string_value(&meta)?;
                    SerdeDefault::Path(lit.parse()?)
                } else {
                    SerdeDefault::Default
                };
            } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_deserializing") {
                out.skip = true;
            } else if meta.path.is_ident("flatten") {
                out.flatten = Some(meta.path.span());
            } else {
                skip_value(&meta)?;
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// `key = "x"` or `key(serialize = "a", deserialize = "b")`; the deserialize name wins, because
/// the name matters for reading what the LM wrote.
fn either_direction(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    if meta.input.peek(Token![=]) {
        return string_value(meta);
    }
    let mut ser = None;
    let mut de = None;
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("serialize") {
            ser = Some(string_value(&inner)?);
        } else if inner.path.is_ident("deserialize") {
            de = Some(string_value(&inner)?);
        } else {
            skip_value(&inner)?;
        }
        Ok(())
    })?;
    de.or(ser).ok_or_else(|| {
        syn::Error::new(
            meta.path.span(),
            "expected `serialize = \"...\"` or `deserialize = \"...\"`",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleandoc_matches_python() {
        // Expected values from Python's inspect.cleandoc on the same strings.
        assert_eq!(cleandoc(" Answer the question."), "Answer the question.");
        assert_eq!(
            cleandoc(" Line one.\n\n     code\n Line two."),
            "Line one.\n\n    code\nLine two."
        );
        assert_eq!(cleandoc("\n  a\n    b\n  \n"), "a\n  b");
        assert_eq!(cleandoc("x\n\ty"), "x\ny");
        assert_eq!(cleandoc("   "), "");
        assert_eq!(cleandoc(" a\n   \n b"), "a\n  \nb");
    }

    #[test]
    fn rename_rules_match_serde() {
        let v = |r, s| RenameRule::apply_to_variant(r, s);
        assert_eq!(v(RenameRule::Snake, "VeryTasty"), "very_tasty");
        assert_eq!(v(RenameRule::Camel, "VeryTasty"), "veryTasty");
        assert_eq!(v(RenameRule::ScreamingKebab, "VeryTasty"), "VERY-TASTY");
        assert_eq!(v(RenameRule::Lower, "VeryTasty"), "verytasty");
        let f = |r, s| RenameRule::apply_to_field(r, s);
        assert_eq!(f(RenameRule::Pascal, "very_tasty"), "VeryTasty");
        assert_eq!(f(RenameRule::Camel, "very_tasty"), "veryTasty");
        assert_eq!(f(RenameRule::Kebab, "very_tasty"), "very-tasty");
    }
}
