//! A small, strict XML reader and writer with Python `xml.etree.ElementTree` semantics
//! (`text`, `tail`, attributes, `ET.tostring`), enough to read LM completions as DSPy's
//! XMLAdapter does: well-formedness errors are errors, entities are the predefined ones.

/// One element: its tag, attributes, text before the first child, children, and the text after
/// its end tag (`tail`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub tag: String,
    pub attrib: Vec<(String, String)>,
    pub text: Option<String>,
    pub children: Vec<Element>,
    pub tail: Option<String>,
}

impl Element {
    /// The value of an attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrib
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `ET.tostring(element, encoding="unicode")`, including the tail.
    pub fn to_xml_string(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        out.push('<');
        out.push_str(&self.tag);
        for (k, v) in &self.attrib {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(&escape_attr(v));
            out.push('"');
        }
        if self.text.as_deref().is_none_or(str::is_empty) && self.children.is_empty() {
            out.push_str(" />");
        } else {
            out.push('>');
            out.push_str(&escape_text(self.text.as_deref().unwrap_or("")));
            if depth < MAX_DEPTH {
                for c in &self.children {
                    c.write(out, depth + 1);
                }
            }
            out.push_str("</");
            out.push_str(&self.tag);
            out.push('>');
        }
        out.push_str(&escape_text(self.tail.as_deref().unwrap_or("")));
    }
}

const MAX_DEPTH: usize = 512;

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn escape_attr(s: &str) -> String {
    escape_text(s)
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#09;")
}

/// Parses `text` wrapped in a `<root_tag>` element, as DSPy does with
/// `ET.fromstring(f"<dspy_root>{completion}</dspy_root>")`. The error says what is wrong and
/// where, counted in `text` (1-based line and column).
pub(crate) fn parse_wrapped(text: &str, root_tag: &str) -> Result<Element, String> {
    let open = format!("<{root_tag}>");
    let wrapped = format!("{open}{text}</{root_tag}>");
    parse_document(&wrapped, open.chars().count())
}

/// Parses a document with one root element (`ET.fromstring`); positions in errors are counted
/// after the first `origin` characters.
fn parse_document(text: &str, origin: usize) -> Result<Element, String> {
    let mut p = Parser {
        s: text.chars().collect(),
        i: 0,
        origin,
    };
    p.skip_misc()?;
    if p.peek() != Some('<') {
        return Err(p.error("syntax error"));
    }
    let root = p.element(0)?;
    p.skip_misc()?;
    if p.i < p.s.len() {
        return Err(p.error("junk after document element"));
    }
    Ok(root)
}

struct Parser {
    s: Vec<char>,
    i: usize,
    origin: usize,
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_numeric() || matches!(c, '-' | '.' | '\u{b7}')
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && !matches!(c, '\u{fffe}' | '\u{ffff}'))
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn starts_with(&self, lit: &str) -> bool {
        lit.chars()
            .enumerate()
            .all(|(k, c)| self.s.get(self.i + k) == Some(&c))
    }

    fn error(&self, what: &str) -> String {
        let end = self.i.min(self.s.len());
        let start = self.origin.min(end);
        let before = self.s.get(start..end).unwrap_or(&[]);
        let line = before.iter().filter(|c| **c == '\n').count() + 1;
        let column = before.iter().rev().take_while(|c| **c != '\n').count() + 1;
        format!("{what} at line {line}, column {column}")
    }

    /// Whitespace, comments and processing instructions outside the root.
    fn skip_misc(&mut self) -> Result<(), String> {
        loop {
            while self
                .peek()
                .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
            {
                self.i += 1;
            }
            if self.starts_with("<!--") {
                self.comment()?;
            } else if self.starts_with("<?") {
                self.pi()?;
            } else {
                return Ok(());
            }
        }
    }

    fn comment(&mut self) -> Result<(), String> {
        self.i += 4;
        while self.i < self.s.len() {
            if self.starts_with("-->") {
                self.i += 3;
                return Ok(());
            }
            self.i += 1;
        }
        Err(self.error("unclosed token"))
    }

    fn pi(&mut self) -> Result<(), String> {
        self.i += 2;
        while self.i < self.s.len() {
            if self.starts_with("?>") {
                self.i += 2;
                return Ok(());
            }
            self.i += 1;
        }
        Err(self.error("unclosed token"))
    }

    fn name(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(c) if is_name_start(c) => {}
            _ => return Err(self.error("not well-formed (invalid token)")),
        }
        let start = self.i;
        while self.peek().is_some_and(is_name_char) {
            self.i += 1;
        }
        Ok(self.s[start..self.i].iter().collect())
    }

    fn skip_ws(&mut self) -> bool {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        {
            self.i += 1;
        }
        self.i > start
    }

    /// `&...;` after the `&`.
    fn entity(&mut self, out: &mut String) -> Result<(), String> {
        let start = self.i;
        self.i += 1;
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c == ';' {
                break;
            }
            if !(is_name_char(c) || c == '#') || name.len() > 32 {
                self.i = start;
                return Err(self.error("not well-formed (invalid token)"));
            }
            name.push(c);
            self.i += 1;
        }
        if self.peek() != Some(';') {
            self.i = start;
            return Err(self.error("not well-formed (invalid token)"));
        }
        self.i += 1;
        let ch = match name.as_str() {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            n => if let Some(hex) = n.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
            } else if let Some(dec) = n.strip_prefix('#') {
                dec.parse::<u32>().ok().and_then(char::from_u32)
            } else {
                self.i = start;
                return Err(self.error("undefined entity"));
            }
            .filter(|c| is_xml_char(*c)),
        };
        match ch {
            Some(c) => {
                out.push(c);
                Ok(())
            }
            None => {
                self.i = start;
                Err(self.error("reference to invalid character number"))
            }
        }
    }

    fn attr_value(&mut self) -> Result<String, String> {
        let q = match self.peek() {
            Some(q @ ('"' | '\'')) => q,
            _ => return Err(self.error("not well-formed (invalid token)")),
        };
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unclosed token")),
                Some(c) if c == q => {
                    self.i += 1;
                    return Ok(out);
                }
                Some('<') => return Err(self.error("not well-formed (invalid token)")),
                Some('&') => self.entity(&mut out)?,
                Some(c) if !is_xml_char(c) => {
                    return Err(self.error("not well-formed (invalid token)"));
                }
                Some(c) => {
                    out.push(if matches!(c, '\t' | '\n' | '\r') {
                        ' '
                    } else {
                        c
                    });
                    self.i += 1;
                }
            }
        }
    }

    /// An element starting at `<`.
    fn element(&mut self, depth: usize) -> Result<Element, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("elements nest too deeply"));
        }
        self.i += 1;
        let tag = self.name()?;
        let mut el = Element {
            tag,
            ..Element::default()
        };
        loop {
            let had_ws = self.skip_ws();
            match self.peek() {
                Some('/') if self.starts_with("/>") => {
                    self.i += 2;
                    return Ok(el);
                }
                Some('>') => {
                    self.i += 1;
                    break;
                }
                Some(c) if is_name_start(c) && had_ws => {
                    let k = self.name()?;
                    self.skip_ws();
                    if self.peek() != Some('=') {
                        return Err(self.error("not well-formed (invalid token)"));
                    }
                    self.i += 1;
                    self.skip_ws();
                    let v = self.attr_value()?;
                    if el.attr(&k).is_some() {
                        return Err(self.error("duplicate attribute"));
                    }
                    el.attrib.push((k, v));
                }
                None => return Err(self.error("unclosed token")),
                Some(_) => return Err(self.error("not well-formed (invalid token)")),
            }
        }
        // Content.
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("no element found")),
                Some('<') => {
                    if self.starts_with("</") {
                        self.i += 2;
                        let close = self.name()?;
                        self.skip_ws();
                        if self.peek() != Some('>') || close != el.tag {
                            return Err(self.error("mismatched tag"));
                        }
                        self.i += 1;
                        set_text(&mut el, text);
                        return Ok(el);
                    } else if self.starts_with("<!--") {
                        self.comment()?;
                    } else if self.starts_with("<![CDATA[") {
                        self.i += 9;
                        loop {
                            if self.i >= self.s.len() {
                                return Err(self.error("unclosed CDATA section"));
                            }
                            if self.starts_with("]]>") {
                                self.i += 3;
                                break;
                            }
                            text.push(self.s[self.i]);
                            self.i += 1;
                        }
                    } else if self.starts_with("<?") {
                        self.pi()?;
                    } else {
                        set_text(&mut el, std::mem::take(&mut text));
                        let child = self.element(depth + 1)?;
                        el.children.push(child);
                    }
                }
                Some('&') => self.entity(&mut text)?,
                Some('\r') => {
                    text.push('\n');
                    self.i += 1;
                    if self.peek() == Some('\n') {
                        self.i += 1;
                    }
                }
                Some(c) if !is_xml_char(c) => {
                    return Err(self.error("not well-formed (invalid token)"));
                }
                Some(c) => {
                    text.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

/// Puts accumulated character data where ElementTree would: the element's text before its
/// first child, else the last child's tail.
fn set_text(el: &mut Element, text: String) {
    if text.is_empty() {
        return;
    }
    match el.children.last_mut() {
        Some(last) => last.tail.get_or_insert_with(String::new).push_str(&text),
        None => el.text.get_or_insert_with(String::new).push_str(&text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_children_and_tails() {
        let root = parse_document("<r>a<b k=\"v\">x &amp; y</b>tail<c/></r>", 0).expect("parses");
        assert_eq!(root.text.as_deref(), Some("a"));
        assert_eq!(root.children.len(), 2);
        assert_eq!(root.children[0].text.as_deref(), Some("x & y"));
        assert_eq!(root.children[0].tail.as_deref(), Some("tail"));
        assert_eq!(root.children[0].attr("k"), Some("v"));
        assert_eq!(
            root.children[0].to_xml_string(),
            "<b k=\"v\">x &amp; y</b>tail"
        );
        assert_eq!(root.children[1].to_xml_string(), "<c />");
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "<r>a < b</r>",
            "<r><a></b></r>",
            "<r>&nope;</r>",
            "<r>",
            "<r>&</r>",
            "<r></r>x",
        ] {
            assert!(parse_document(bad, 0).is_err(), "{bad}");
        }
        assert!(parse_document(&"<a>".repeat(5000), 0).is_err());
        let e = parse_wrapped("ok\n<a>&x;</a>", "root").expect_err("undefined entity");
        assert_eq!(e, "undefined entity at line 2, column 4");
    }
}
