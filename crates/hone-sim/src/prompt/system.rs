//! Reading DSPy's system message: field lists, type notes, objective and
//! which adapter rendered it.

use serde_json::Value;

use super::field_type::FieldType;
use super::{AdapterKind, FieldSpec};

const INPUTS_HEAD: &str = "Your input fields are:";
const OUTPUTS_HEAD: &str = "Your output fields are:";
const STRUCTURE_HEAD: &str = "All interactions will be structured in the following way";
const OBJECTIVE_HEAD: &str = "In adhering to this structure, your objective is:";
const JSON_OUTPUTS_HEAD: &str = "Outputs will be a JSON object with the following fields.";
const NOTE_MARK: &str = "# note: ";

/// What a DSPy system message says.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemInfo {
    /// The adapter that rendered the message.
    pub adapter: AdapterKind,
    /// Input fields in order.
    pub inputs: Vec<FieldSpec>,
    /// Output fields in order.
    pub outputs: Vec<FieldSpec>,
    /// The objective, dedented.
    pub instructions: String,
}

/// Parses a DSPy system message; `None` when it does not have DSPy's shape.
pub fn parse_system(text: &str) -> Option<SystemInfo> {
    let in_start = text.find(INPUTS_HEAD)?;
    let out_start = text.find(OUTPUTS_HEAD)?;
    if out_start < in_start {
        return None;
    }
    let structure_start = text.get(out_start..)?.find(STRUCTURE_HEAD)? + out_start;
    let objective_start = text.find(OBJECTIVE_HEAD).unwrap_or(text.len());
    let input_block = text.get(in_start + INPUTS_HEAD.len()..out_start)?;
    let output_block = text.get(out_start + OUTPUTS_HEAD.len()..structure_start)?;
    let structure = text
        .get(structure_start..objective_start.max(structure_start))
        .unwrap_or("");
    let instructions = text
        .get(objective_start..)
        .and_then(|t| t.get(OBJECTIVE_HEAD.len()..))
        .map(dedent_objective)
        .unwrap_or_default();

    let mut outputs = parse_field_list(output_block);
    let inputs = parse_field_list(input_block);
    if outputs.is_empty() {
        return None;
    }
    let adapter = detect_adapter(structure, &outputs);
    let notes = collect_notes(structure, adapter, &outputs);
    for (field, note) in outputs.iter_mut().zip(notes) {
        field.kind = FieldType::parse(&field.type_text, note.as_deref());
        field.note = note;
    }
    Some(SystemInfo {
        adapter,
        inputs,
        outputs,
        instructions,
    })
}

fn detect_adapter(structure: &str, outputs: &[FieldSpec]) -> AdapterKind {
    // The BAML adapter (a JSON adapter) writes `Output field `x` should be of type: ...`.
    let baml = outputs.iter().any(|f| {
        structure.contains(&format!(
            "[[ ## {0} ## ]]\nOutput field `{0}` should be of type: ",
            f.name
        ))
    });
    if baml || structure.contains(JSON_OUTPUTS_HEAD) {
        return AdapterKind::Json;
    }
    let xml = outputs
        .iter()
        .any(|f| structure.contains(&format!("<{0}>\n{{{0}}}", f.name)));
    if xml {
        AdapterKind::Xml
    } else {
        AdapterKind::Chat
    }
}

/// The `# note: ...` text of each output field, in order.
fn collect_notes(
    structure: &str,
    adapter: AdapterKind,
    outputs: &[FieldSpec],
) -> Vec<Option<String>> {
    if adapter == AdapterKind::Json {
        let json_obj: Option<serde_json::Map<String, Value>> = structure
            .find(JSON_OUTPUTS_HEAD)
            .and_then(|i| structure.get(i + JSON_OUTPUTS_HEAD.len()..))
            .and_then(|rest| {
                let rest = rest.trim_start();
                let mut it = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
                it.next().and_then(Result::ok)
            })
            .and_then(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            });
        return outputs
            .iter()
            .map(|f| {
                json_obj
                    .as_ref()
                    .and_then(|m| m.get(&f.name))
                    .and_then(Value::as_str)
                    .and_then(note_of)
            })
            .collect();
    }
    outputs
        .iter()
        .map(|f| {
            let placeholder = format!("{{{}}}", f.name);
            structure
                .lines()
                .find(|l| l.starts_with(&placeholder) && l.contains(NOTE_MARK))
                .and_then(note_of)
        })
        .collect()
}

fn note_of(line: &str) -> Option<String> {
    line.find(NOTE_MARK)
        .and_then(|i| line.get(i + NOTE_MARK.len()..))
        .map(|s| s.trim().to_owned())
}

/// DSPy indents every objective line by eight spaces.
fn dedent_objective(rest: &str) -> String {
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let rest = rest.strip_prefix('\n').unwrap_or(rest);
    rest.lines()
        .map(|l| {
            let n = l.len() - l.trim_start_matches(' ').len();
            l.get(n.min(8)..).unwrap_or("")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// Parses `1. \`name\` (type): desc` lines; other lines continue the
/// previous description.
fn parse_field_list(block: &str) -> Vec<FieldSpec> {
    let mut fields: Vec<FieldSpec> = Vec::new();
    for line in block.lines() {
        if let Some(f) = parse_field_line(line) {
            fields.push(f);
        } else if let Some(last) = fields.last_mut()
            && !line.trim().is_empty()
        {
            last.desc.push('\n');
            last.desc.push_str(line.trim());
        }
    }
    fields
}

fn parse_field_line(line: &str) -> Option<FieldSpec> {
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let rest = line.get(digits..)?.strip_prefix(". `")?;
    let name_end = rest.find('`')?;
    let name = rest.get(..name_end)?.to_owned();
    let rest = rest.get(name_end + 1..)?.strip_prefix(" (")?;
    let close = matching_paren(rest)?;
    let type_text = rest.get(..close)?.to_owned();
    let after = rest.get(close + 1..)?.strip_prefix(':')?;
    Some(FieldSpec {
        kind: FieldType::parse(&type_text, None),
        name,
        type_text,
        desc: after.trim().to_owned(),
        note: None,
    })
}

/// Index of the `)` closing an already-open paren, skipping nested brackets
/// and quoted strings.
fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                ')' if depth == 0 => return Some(i),
                ')' => depth -= 1,
                _ => {}
            },
        }
    }
    None
}
