//! `#[derive(Signature)]` and `#[derive(FieldTyped)]` produce the signatures and types DSPy
//! holds for the equivalent Python classes (golden files made with the real DSPy).
#![cfg(feature = "derive")]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use hone_core::{
    Field, FieldRole, FieldType, FieldTyped, ModelField, ModelType, Signature, TypedSignature,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn golden(case: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/dspy-golden")
        .join(case)
        .join("signature.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("golden signature.json is JSON")
}

/// The signature equals DSPy's: instructions, and per field the role, name, prefix,
/// description and JSON Schema.
fn assert_matches_golden(sig: &Signature, case: &str) {
    let g = golden(case);
    assert_eq!(sig.instructions, g["instructions"], "{case}: instructions");
    for (role, key, fields) in [
        (FieldRole::Input, "inputs", &sig.inputs),
        (FieldRole::Output, "outputs", &sig.outputs),
    ] {
        let expected = g[key].as_array().expect("field list");
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        let golden_names: Vec<&str> = expected
            .iter()
            .map(|f| f["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, golden_names, "{case}: {role} field names");
        for (f, e) in fields.iter().zip(expected) {
            assert_eq!(f.prefix, e["prefix"], "{case}: prefix of {}", f.name);
            assert_eq!(f.description, e["desc"], "{case}: desc of {}", f.name);
            assert_eq!(
                f.ty.json_schema(),
                e["json_schema"],
                "{case}: schema of {}",
                f.name
            );
        }
    }
}

/// Answer the question using the context. Be concise.
#[derive(Signature)]
struct Answer {
    #[input(desc = "passages that may contain the answer")]
    context: Vec<String>,
    #[input]
    question: String,
    /// a short factual answer
    #[output]
    answer: String,
    #[output(desc = "between 0 and 1")]
    confidence: f64,
}

#[test]
fn answer_matches_dspy_golden() {
    let sig = Answer::signature();
    assert_matches_golden(&sig, "qa_typed_with_demos");
    assert_eq!(sig.name, "Answer");
    assert_eq!(Answer::INPUT_FIELDS, ["context", "question"]);
    assert_eq!(Answer::OUTPUT_FIELDS, ["answer", "confidence"]);
}

#[test]
fn answer_equals_the_string_form_with_descriptions() {
    let mut expected = Signature::parse_with(
        "context: list[str], question: str -> answer: str, confidence: float",
        Some("Answer the question using the context. Be concise."),
        &hone_core::pytype::NoCustomTypes,
    )
    .expect("parses");
    expected.name = "Answer".into();
    expected.inputs[0].description = "passages that may contain the answer".into();
    expected.outputs[0].description = "a short factual answer".into();
    expected.outputs[1].description = "between 0 and 1".into();
    assert_eq!(Answer::signature(), expected);
}

#[derive(FieldTyped, Serialize, Deserialize)]
struct Person {
    name: String,
    age: Option<i64>,
    #[serde(default)]
    emails: Vec<String>,
}

/// Extract every person mentioned in the text.
#[derive(Signature)]
struct Extract {
    #[input]
    text: String,
    #[output]
    people: Vec<Person>,
    #[output]
    count: i64,
}

#[test]
fn nested_model_schema_matches_pydantic() {
    assert_matches_golden(&Extract::signature(), "extract_pydantic_list");
    let FieldType::Model(person) = Person::field_type() else {
        panic!("Person is a model");
    };
    assert_eq!(
        *person,
        ModelType {
            name: "Person".into(),
            description: None,
            fields: vec![
                ModelField::required("name", FieldType::Str),
                ModelField::with_default("age", FieldType::optional(FieldType::Int), Value::Null),
                ModelField::with_default("emails", FieldType::list(FieldType::Str), json!([])),
            ],
        }
    );
}

#[derive(FieldTyped, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Team {
    Billing,
    Tech,
    Sales,
}

#[derive(Signature)]
struct Route {
    #[input(desc = "a customer support ticket")]
    ticket: String,
    #[input]
    metadata: HashMap<String, String>,
    #[output]
    team: Team,
    #[output(desc = "1 (low) to 5 (urgent)")]
    priority: i64,
    #[output]
    summary: Option<String>,
}

#[test]
fn no_doc_comment_gives_dspy_default_instructions() {
    let sig = Route::signature();
    assert_matches_golden(&sig, "route_no_docstring_dict_optional");
    assert_eq!(
        sig.outputs[0].ty.python_name(),
        "Literal['billing', 'tech', 'sales']"
    );
    assert_eq!(sig.outputs[2].ty.python_name(), "Union[str, NoneType]");
}

/// Classify the sentiment of a product review.
#[derive(Signature)]
struct Sentiment {
    #[input]
    review: String,
    #[output]
    sentiment: Polarity,
    #[output]
    is_sarcastic: bool,
}

/// The polarity of a text (a `Literal` has no description, so this is not used).
#[derive(FieldTyped, Deserialize)]
#[allow(dead_code)]
enum Polarity {
    #[serde(rename = "positive")]
    Positive,
    #[serde(rename = "negative")]
    Negative,
    #[serde(rename = "neutral")]
    Neutral,
}

#[test]
fn variant_renames_and_snake_case_prefixes() {
    assert_matches_golden(&Sentiment::signature(), "sentiment_literal_bool");
}

/// Summarize the document.
///
/// Keep it short:
///     at most three sentences.
///
#[derive(Signature)]
#[hone(name = "Summarize", crate = "hone_core")]
struct SummarizeDoc {
    /// The document
    /// to summarize.
    #[input(prefix = "Doc:")]
    r#document: String,
    #[output(desc = "explicit wins", prefix = "Summary:")]
    /// ignored: `desc` is given
    summary: String,
}

#[test]
fn doc_comments_are_cleaned_like_python_docstrings() {
    let sig = SummarizeDoc::signature();
    // What `inspect.cleandoc` makes of the same docstring.
    assert_eq!(
        sig.instructions,
        "Summarize the document.\n\nKeep it short:\n    at most three sentences."
    );
    assert_eq!(sig.name, "Summarize");
    assert_eq!(sig.inputs[0].name, "document");
    assert_eq!(sig.inputs[0].prefix, "Doc:");
    assert_eq!(sig.inputs[0].description, "The document\nto summarize.");
    assert_eq!(sig.outputs[0].description, "explicit wins");
}

#[derive(Signature)]
#[hone(instructions = "Translate to French.")]
struct Translate {
    /// ignored for instructions: the attribute wins
    #[input]
    english: String,
    #[output]
    french: String,
}

#[test]
fn instructions_attribute_replaces_doc_comment() {
    assert_eq!(Translate::signature().instructions, "Translate to French.");
    assert_eq!(
        Translate::signature().inputs[0].description,
        "ignored for instructions: the attribute wins"
    );
}

/// A line item on an invoice.
#[derive(FieldTyped, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
#[hone(name = "LineItem")]
struct Item {
    /// What was bought.
    product_name: String,
    unit_price: f64,
    #[serde(rename = "qty")]
    quantity: u32,
    #[hone(default = {"currency": "EUR"}, desc = "free-form")]
    meta: BTreeMap<String, String>,
    #[serde(skip)]
    #[allow(dead_code)]
    cached: u8,
}

#[test]
fn model_honours_serde_names_defaults_and_docs() {
    let FieldType::Model(item) = Item::field_type() else {
        panic!("a model");
    };
    assert_eq!(item.name, "LineItem");
    assert_eq!(
        item.description.as_deref(),
        Some("A line item on an invoice.")
    );
    let names: Vec<&str> = item.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["productName", "unitPrice", "qty", "meta"]);
    assert_eq!(
        item.fields[0].description.as_deref(),
        Some("What was bought.")
    );
    assert_eq!(item.fields[0].default, Some(json!("")));
    assert_eq!(item.fields[1].default, Some(json!(0.0)));
    assert_eq!(item.fields[2].default, Some(json!(0)));
    assert_eq!(item.fields[3].default, Some(json!({"currency": "EUR"})));
    assert_eq!(item.fields[3].description.as_deref(), Some("free-form"));
    assert_eq!(item.fields[3].ty.python_name(), "dict[str, str]");
}

#[derive(FieldTyped, Deserialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
#[allow(dead_code)]
enum Level {
    VeryLow,
    High,
}

#[test]
fn enum_rename_all_matches_serde() {
    assert_eq!(
        Level::field_type(),
        FieldType::literal(["VERY-LOW", "HIGH"])
    );
    let parsed: Level = serde_json::from_value(json!("VERY-LOW")).expect("serde agrees");
    assert!(matches!(parsed, Level::VeryLow));
}

#[derive(Signature)]
struct Generic<T> {
    #[input]
    items: Vec<T>,
    #[output]
    best: T,
}

#[test]
fn generic_signature_uses_the_type_argument() {
    let sig = <Generic<i64> as TypedSignature>::signature();
    assert_eq!(sig.inputs[0].ty, FieldType::list(FieldType::Int));
    assert_eq!(sig.outputs[0].ty, FieldType::Int);
    assert_eq!(sig.name, "Generic");
}

#[test]
fn derived_signature_equals_builder_output() {
    let built = Signature::builder()
        .name("Route")
        .input(Field::new("ticket", FieldType::Str).desc("a customer support ticket"))
        .input(Field::new(
            "metadata",
            FieldType::dict(FieldType::Str, FieldType::Str),
        ))
        .output(Field::new(
            "team",
            FieldType::literal(["billing", "tech", "sales"]),
        ))
        .output(Field::new("priority", FieldType::Int).desc("1 (low) to 5 (urgent)"))
        .output(Field::new("summary", FieldType::optional(FieldType::Str)))
        .build()
        .expect("valid");
    assert_eq!(Route::signature(), built);
}

mod enum_classes {
    use super::*;

    /// How urgent a ticket is.
    #[derive(FieldTyped, Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[hone(enum_class)]
    #[allow(dead_code)]
    enum Level {
        Low,
        High,
        Critical,
    }

    #[derive(FieldTyped, Deserialize)]
    #[allow(dead_code)]
    struct Ticket {
        title: String,
        level: Level,
        backup: Option<Level>,
    }

    /// File the tickets.
    #[derive(Signature)]
    #[allow(dead_code)]
    struct TriageMany {
        #[input]
        text: String,
        #[output]
        levels: Vec<Level>,
        #[output]
        ticket: Ticket,
        #[output]
        maybe: Option<Level>,
    }

    #[test]
    fn enum_class_derive_matches_dspy_enum_classes() {
        let FieldType::Enum(level) = Level::field_type() else {
            panic!("an enum class")
        };
        assert_eq!(level.name, "Level");
        assert_eq!(
            level.description.as_deref(),
            Some("How urgent a ticket is.")
        );
        assert_eq!(level.members[2].name, "Critical");
        assert_eq!(level.members[2].value, json!("critical"));
        let sig = TriageMany::signature();
        assert_matches_golden(&sig, "t_enum_nested");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/dspy-golden/t_enum_nested");
        let read = |f: &str| -> Value {
            serde_json::from_str(&std::fs::read_to_string(dir.join(f)).expect("golden file"))
                .expect("JSON")
        };
        let demos: Vec<hone_core::Example> = read("demos.json")
            .as_array()
            .expect("demos")
            .iter()
            .map(|d| hone_core::Example::from_json(d.clone()).expect("object"))
            .collect();
        let inputs = hone_core::Example::from_json(read("inputs.json")).expect("object");
        for kind in hone_core::adapter::AdapterKind::all() {
            // The case is rendered by the adapters make_golden.py uses by default.
            if !dir.join(format!("{kind}.messages.json")).exists() {
                continue;
            }
            let msgs = kind
                .adapter()
                .format(&sig, &demos, &inputs)
                .expect("formats");
            let got = serde_json::to_value(&msgs).expect("messages serialize");
            assert_eq!(got, read(&format!("{kind}.messages.json")), "{kind}");
        }
    }
}
