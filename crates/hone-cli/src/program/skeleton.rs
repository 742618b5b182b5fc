//! The TOML program a `hone import` without a structure writes: one stage per module the DSPy
//! file shows, with what was guessed listed on top for the user to confirm.

use hone_export::{Imported, InferredModule, InferredTool, signature_line};
use serde_json::Value;

/// A TOML string literal.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// DSPy prints a tool's arguments as a Python dict (`{'query': {'type': 'string'}}`); its JSON
/// reading, when it has one.
fn python_dict_as_json(text: &str) -> Option<serde_json::Map<String, Value>> {
    let mut json = String::with_capacity(text.len());
    let mut in_str: Option<char> = None;
    let mut chars = text.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, json: &mut String| {
        json.push_str(match word.as_str() {
            "True" => "true",
            "False" => "false",
            "None" => "null",
            w => w,
        });
        word.clear();
    };
    while let Some(c) = chars.next() {
        match in_str {
            Some(q) => match c {
                '\\' => {
                    json.push('\\');
                    if let Some(n) = chars.next() {
                        json.push(n);
                    }
                }
                '"' if q == '\'' => json.push_str("\\\""),
                c if c == q => {
                    json.push('"');
                    in_str = None;
                }
                c => json.push(c),
            },
            None => match c {
                '\'' | '"' => {
                    flush(&mut word, &mut json);
                    json.push('"');
                    in_str = Some(c);
                }
                c if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' => word.push(c),
                c => {
                    flush(&mut word, &mut json);
                    json.push(c);
                }
            },
        }
    }
    flush(&mut word, &mut json);
    match serde_json::from_str(&json).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn tool_line(t: &InferredTool) -> String {
    let args = python_dict_as_json(&t.args)
        .and_then(|m| toml::Value::try_from(Value::Object(m)).ok())
        .map(|v| v.to_string())
        .unwrap_or_else(|| "{}".to_owned());
    format!(
        "  {{ name = {}, description = {}, args = {args}, command = [] }},",
        quoted(&t.name),
        quoted(&t.description)
    )
}

/// The TOML program of an import without a structure: a comment naming the file and listing
/// the guesses, then one `[[program.stages]]` per module. `state_file` is where the state was
/// written, for the comment's `hone run` line.
pub fn skeleton_toml(imported: &Imported, source: &str, state_file: Option<&str>) -> String {
    let mut out = String::new();
    let version = imported
        .state
        .metadata
        .get("dependency_versions")
        .and_then(|d| d.get("dspy"))
        .and_then(Value::as_str)
        .map(|v| format!(" (saved by DSPy {v})"))
        .unwrap_or_default();
    out.push_str(&format!(
        "# The structure of the DSPy program `{source}`{version}, as `hone import` read it off\n\
         # the file. Instructions, prefixes, descriptions and demos are in the state file.\n"
    ));
    let guesses = imported
        .inferred
        .as_ref()
        .map(|i| i.guesses.as_slice())
        .unwrap_or_default();
    if guesses.is_empty() {
        out.push_str("# Nothing was guessed: the file names every field and its role.\n");
    } else {
        out.push_str("# Guessed, to confirm against the program's Python source:\n");
        for g in guesses {
            out.push_str(&format!("#   - {}\n", g.replace('\n', " ")));
        }
    }
    if let Some(state) = state_file {
        out.push_str(&format!(
            "# Run it: hone run THIS_FILE --state {state} --lm MODEL --input NAME=VALUE\n"
        ));
    }
    for stage in imported.stages() {
        out.push_str("\n[[program.stages]]\n");
        out.push_str(&format!("name = {}\n", quoted(&stage.name)));
        out.push_str(&format!("module = {}\n", quoted(stage.module.as_str())));
        out.push_str(&format!(
            "signature = {}\n",
            quoted(&signature_line(&stage.signature))
        ));
        if let InferredModule::React { tools } = &stage.module {
            out.push_str(
                "# Each tool is a command reading {\"tool\": NAME, \"args\": {...}} per line on stdin\n\
                 # and answering {\"result\": ...} or {\"error\": \"...\"}; fill in `command`.\n",
            );
            out.push_str("tools = [\n");
            for t in tools {
                out.push_str(&tool_line(t));
                out.push('\n');
            }
            out.push_str("]\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_dicts_read_as_json() {
        let m = python_dict_as_json("{'query': {'type': 'string'}, 'n': {'default': None}}")
            .expect("present");
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"query": {"type": "string"}, "n": {"default": null}})
        );
        assert!(python_dict_as_json("not a dict").is_none());
    }
}
