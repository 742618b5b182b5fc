//! DSPy's `BAMLAdapter` (`dspy.adapters.baml_adapter`): the JSON adapter with a compact,
//! BAML-style schema of each output type in the system message instead of JSON placeholders.
//!
//! A model renders as `{ field: type, ... }` with its fields' descriptions (and the docstrings
//! of models held by fields) as `#` comments; `list[T]` renders as `T[]` (a list of models as
//! `[ {...} ]`), `Optional[T]` as `T or null`, `Literal['a', 1]` as `"a" or 1`. An object given
//! to a model-typed input is taken as an instance of the model and written as indented JSON
//! (pydantic's `model_dump_json(indent=2)`); the answer is one JSON object, parsed as
//! [`JsonAdapter`] parses it.

use serde_json::{Map, Value};

use super::describe::format_field_value;
use super::error::AdapterError;
use super::history::History;
use super::json::{json_reminder, parse_json_completion};
use super::parts::mark_images;
use super::pyfmt::{py_number, py_strip};
use super::render::{Render, format_messages};
use super::{Adapter, AdapterKind, JsonAdapter};
use crate::coerce::validate;
use crate::example::{Example, Prediction};
use crate::message::Message;
use crate::signature::{Field, Signature};
use crate::types::{FieldType, ModelField, ModelType};

const COMMENT: &str = "#";
const INDENT: &str = "  ";

/// Writes each output type as a compact BAML-style schema with descriptions as comments; asks
/// for a JSON object answer and sends the same `response_format` as [`JsonAdapter`].
///
/// ```
/// use hone_core::adapter::{Adapter, BamlAdapter};
/// use hone_core::{Example, Signature};
/// use serde_json::json;
///
/// let sig = Signature::parse("question -> answer: list[int]").unwrap();
/// let inputs = Example::from_json(json!({"question": "Primes below 6?"})).unwrap();
/// let system = BamlAdapter::new().format(&sig, &[], &inputs).unwrap()[0].content.clone();
/// assert!(system.contains("Output field `answer` should be of type: int[]\n"));
/// let out = BamlAdapter::new().parse(&sig, r#"{"answer": [2, 3, 5]}"#).unwrap();
/// assert_eq!(out.get("answer"), Some(&json!([2, 3, 5])));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BamlAdapter;

impl BamlAdapter {
    /// The BAML adapter.
    pub fn new() -> Self {
        BamlAdapter
    }

    /// Whether this adapter writes a value of the input `field` as pydantic's
    /// `model_dump_json` rather than as every other adapter does: true when the field's type is
    /// a model or an image (or an optional one).
    pub fn writes_model_json(field: &Field) -> bool {
        matches!(
            unwrap_optional(&field.ty),
            FieldType::Model(_) | FieldType::Image
        )
    }
}

/// The BAML-style rendering of an output type, as DSPy's `_render_type_str` writes it
/// (`Optional[list[Literal['a', 'b']]]` is `"a" or "b"[] or null`). The error is the class
/// name of a model found again inside a model that holds it (DSPy refuses such types).
pub(crate) fn baml_type_string(ty: &FieldType) -> Result<String, String> {
    render_type(ty, 0, &mut Vec::new())
}

/// `ty` rendered `indent` levels deep. `seen` holds the models around this point; as in DSPy,
/// a model not inside another model starts a fresh record.
fn render_type(ty: &FieldType, indent: usize, seen: &mut Vec<ModelType>) -> Result<String, String> {
    Ok(match ty {
        FieldType::Str => "string".into(),
        FieldType::Int => "int".into(),
        FieldType::Float => "float".into(),
        FieldType::Bool => "boolean".into(),
        FieldType::Null => "NoneType".into(),
        FieldType::Any => "Any".into(),
        FieldType::Enum(e) => e.name.clone(),
        FieldType::Model(m) => model_schema(m, indent, seen)?,
        FieldType::Code { language } => model_schema(&code_model(language), indent, seen)?,
        FieldType::Image => model_schema(&image_model(), indent, seen)?,
        FieldType::Union { variants } => {
            let non_null: Vec<&FieldType> =
                variants.iter().filter(|v| **v != FieldType::Null).collect();
            let rendered = non_null
                .iter()
                .map(|v| render_type(v, indent, seen))
                .collect::<Result<Vec<_>, _>>()?
                .join(" or ");
            if non_null.len() < variants.len() {
                format!("{rendered} or null")
            } else {
                rendered
            }
        }
        FieldType::Literal { values } => values
            .iter()
            .map(literal_member)
            .collect::<Vec<_>>()
            .join(" or "),
        FieldType::List { item } => match as_model(item) {
            Some(m) => {
                let inner = model_schema(&m, indent + 1, seen)?;
                format!("[\n{inner}\n{}]", INDENT.repeat(indent))
            }
            None => format!("{}[]", render_type(item, indent, seen)?),
        },
        FieldType::Dict { key, value } => format!(
            "dict[{}, {}]",
            render_type(key, indent, seen)?,
            render_type(value, indent, seen)?
        ),
    })
}

/// A `Literal` member as the JSON value the LM should write (DSPy's `_render_literal_member`).
fn literal_member(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Null => "null".into(),
        Value::Number(n) => py_number(n),
        other => other.to_string(),
    }
}

/// The model a type renders as a `{...}` schema: a model, or DSPy's `Code`/`Image` classes
/// (pydantic models themselves, with one `code`/`url` field and no docstring).
fn as_model(ty: &FieldType) -> Option<ModelType> {
    match ty {
        FieldType::Model(m) => Some((**m).clone()),
        FieldType::Code { language } => Some(code_model(language)),
        FieldType::Image => Some(image_model()),
        _ => None,
    }
}

fn code_model(language: &str) -> ModelType {
    ModelType::new(
        format!("Code_{language}"),
        vec![ModelField::required("code", FieldType::Str)],
    )
}

fn image_model() -> ModelType {
    ModelType::new("Image", vec![ModelField::required("url", FieldType::Str)])
}

/// A docstring as comment lines: stripped, one comment per non-empty line.
fn doc_comments(doc: &str, indent: &str, lines: &mut Vec<String>) {
    for line in py_strip(doc).split('\n') {
        let line = py_strip(line);
        if !line.is_empty() {
            lines.push(format!("{indent}{COMMENT} {line}"));
        }
    }
}

/// DSPy's `_build_simplified_schema`.
fn model_schema(
    model: &ModelType,
    indent: usize,
    seen: &mut Vec<ModelType>,
) -> Result<String, String> {
    // DSPy starts a new record when handed an empty one (`seen_models or set()`).
    let mut fresh = Vec::new();
    let seen = if seen.is_empty() { &mut fresh } else { seen };
    if seen.contains(model) {
        return Err(model.name.clone());
    }
    seen.push(model.clone());
    let current = INDENT.repeat(indent);
    let next = INDENT.repeat(indent + 1);
    let mut lines = Vec::new();
    if indent == 0
        && let Some(doc) = model.description.as_deref()
    {
        doc_comments(doc, &current, &mut lines);
    }
    lines.push(format!("{current}{{"));
    if model.fields.is_empty() {
        lines.push(format!("{next}{COMMENT} No fields defined"));
    }
    for field in &model.fields {
        if let Some(desc) = field.description.as_deref().filter(|d| !d.is_empty()) {
            lines.push(format!("{next}{COMMENT} {desc}"));
        }
        if let FieldType::Model(m) = unwrap_optional(&field.ty)
            && let Some(doc) = m.description.as_deref()
        {
            doc_comments(doc, &next, &mut lines);
        }
        let rendered = render_type(&field.ty, indent + 1, seen)?;
        lines.push(format!("{next}{}: {rendered},", field.name));
    }
    lines.push(format!("{current}}}"));
    Ok(lines.join("\n"))
}

/// `T` for a union of `T` and `None`; the type itself otherwise.
fn unwrap_optional(ty: &FieldType) -> &FieldType {
    if let FieldType::Union { variants } = ty {
        let mut non_null = variants.iter().filter(|v| **v != FieldType::Null);
        if let (Some(only), None) = (non_null.next(), non_null.next()) {
            return only;
        }
    }
    ty
}

/// Each output field's rendered type, or the error for the first that repeats a model.
fn output_types(sig: &Signature) -> Result<Vec<String>, AdapterError> {
    sig.outputs
        .iter()
        .map(|f| {
            baml_type_string(&f.ty).map_err(|model| AdapterError::RepeatedModel {
                adapter: "BAMLAdapter",
                field: f.name.clone(),
                model,
            })
        })
        .collect()
}

/// An input value as BAML writes it: a pydantic instance as its `model_dump_json(indent=2)`,
/// anything else as every adapter does. hone's values are JSON, so an object given to an input
/// whose type is a model (or an optional model) stands for an instance of that model, and so
/// does an image given to an `Image` (or optional `Image`) input: DSPy's `dspy.Image` dumps as
/// the JSON string of its marked-up content parts.
fn format_input_value(field: &Field, value: &Value) -> String {
    match (unwrap_optional(&field.ty), value) {
        (FieldType::Model(m), Value::Object(_)) => {
            if let Ok(dumped) = validate(value, &FieldType::Model(m.clone()))
                && let Ok(text) = serde_json::to_string_pretty(&dumped)
            {
                return text;
            }
        }
        (FieldType::Image, Value::String(_)) => {
            let marked = mark_images(value, &FieldType::Image);
            if marked.is_string()
                && let Ok(text) = serde_json::to_string(&marked)
            {
                return text;
            }
        }
        _ => {}
    }
    format_field_value(field, value)
}

impl Render for BamlAdapter {
    fn structure(&self, sig: &Signature) -> String {
        // `format_with_history` checks the output types first; an error cannot reach here.
        let types = output_types(sig).unwrap_or_default();
        let mut sections = vec![
            "All interactions will be structured in the following way, with the appropriate values filled in.\n"
                .to_owned(),
        ];
        for f in &sig.inputs {
            sections.push(format!("[[ ## {} ## ]]", f.name));
            sections.push(format!("{{{}}}", f.name));
            sections.push(String::new());
        }
        for (f, ty) in sig.outputs.iter().zip(&types) {
            sections.push(format!("[[ ## {} ## ]]", f.name));
            sections.push(format!(
                "Output field `{}` should be of type: {ty}\n",
                f.name
            ));
        }
        sections.push("[[ ## completed ## ]]".into());
        sections.join("\n")
    }

    fn user_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        prefix: &str,
        main_request: bool,
    ) -> String {
        let mut parts = vec![prefix.to_owned()];
        for f in &sig.inputs {
            if let Some(v) = values.get(&f.name) {
                parts.push(format!(
                    "[[ ## {} ## ]]\n{}",
                    f.name,
                    format_input_value(f, v)
                ));
            }
        }
        if main_request {
            parts.push(json_reminder(sig));
        }
        parts.retain(|p| !p.is_empty());
        py_strip(&parts.join("\n\n")).to_owned()
    }

    fn assistant_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        missing: Option<&str>,
    ) -> String {
        JsonAdapter.assistant_content(sig, values, missing)
    }
}

impl Adapter for BamlAdapter {
    fn name(&self) -> &'static str {
        "BAMLAdapter"
    }

    fn format_with_history(
        &self,
        signature: &Signature,
        demos: &[Example],
        inputs: &Example,
        history: Option<&History>,
    ) -> Result<Vec<Message>, AdapterError> {
        output_types(signature)?;
        format_messages(self, signature, demos, inputs, history)
    }

    fn format_assistant_message(
        &self,
        signature: &Signature,
        outputs: &Map<String, Value>,
    ) -> String {
        self.assistant_content(signature, outputs, None)
    }

    fn parse(&self, signature: &Signature, completion: &str) -> Result<Prediction, AdapterError> {
        parse_json_completion(self.name(), signature, completion)
    }

    /// The same structured-output request as [`JsonAdapter::response_format`].
    fn response_format(&self, signature: &Signature) -> Option<Value> {
        JsonAdapter.response_format(signature)
    }

    /// None: like DSPy's, the adapter is a JSON adapter and does not retry.
    fn fallback(&self) -> Option<AdapterKind> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::EnumType;

    fn address() -> ModelType {
        let mut m = ModelType::new(
            "Address",
            vec![
                ModelField::required("street", FieldType::Str),
                ModelField::required("city", FieldType::Str),
            ],
        );
        m.description = Some("A postal address.\n\n  Two lines.".into());
        m.fields[0].description = Some("street and number".into());
        m
    }

    #[test]
    fn scalars_lists_dicts_and_unions() {
        let level = FieldType::enumeration(EnumType::new("Level", [("LOW", "low")]));
        let cases = [
            (FieldType::Str, "string"),
            (FieldType::Bool, "boolean"),
            (FieldType::list(FieldType::list(FieldType::Int)), "int[][]"),
            (
                FieldType::dict(FieldType::Str, FieldType::list(FieldType::Float)),
                "dict[string, float[]]",
            ),
            (FieldType::optional(level.clone()), "Level or null"),
            (
                FieldType::optional(FieldType::list(FieldType::literal(["a", "b"]))),
                "\"a\" or \"b\"[] or null",
            ),
            (
                FieldType::list(FieldType::optional(FieldType::Int)),
                "int or null[]",
            ),
            (
                FieldType::Literal {
                    values: vec![
                        Value::from("a\"b"),
                        Value::from(1.5),
                        Value::Bool(true),
                        Value::Null,
                    ],
                },
                "\"a\"b\" or 1.5 or true or null",
            ),
            (
                FieldType::Code {
                    language: "python".into(),
                },
                "{\n  code: string,\n}",
            ),
        ];
        for (ty, want) in cases {
            assert_eq!(baml_type_string(&ty).as_deref(), Ok(want), "{ty:?}");
        }
    }

    #[test]
    fn models_show_descriptions_and_docstrings() {
        let addr = FieldType::model(address());
        assert_eq!(
            baml_type_string(&addr).expect("renders"),
            "# A postal address.\n# Two lines.\n{\n  # street and number\n  street: string,\n  city: string,\n}"
        );
        assert_eq!(
            baml_type_string(&FieldType::list(addr.clone())).expect("renders"),
            "[\n  {\n    # street and number\n    street: string,\n    city: string,\n  }\n]"
        );
        let holder = FieldType::model(ModelType::new(
            "Holder",
            vec![ModelField::required("at", FieldType::optional(addr))],
        ));
        assert_eq!(
            baml_type_string(&holder).expect("renders"),
            "{\n  # A postal address.\n  # Two lines.\n  at:   {\n    # street and number\n    street: string,\n    city: string,\n  } or null,\n}"
        );
    }

    #[test]
    fn a_model_repeated_inside_a_model_is_refused_but_not_across_fields() {
        let addr = FieldType::model(address());
        let pair = FieldType::model(ModelType::new(
            "Pair",
            vec![
                ModelField::required("home", addr.clone()),
                ModelField::required("work", addr.clone()),
            ],
        ));
        assert_eq!(baml_type_string(&pair), Err("Address".to_owned()));
        let side_by_side = FieldType::union(vec![addr.clone(), FieldType::list(addr)]);
        assert!(baml_type_string(&side_by_side).is_ok());
    }
}
