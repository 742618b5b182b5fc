//! Property tests: for random values of every supported type, what an adapter writes as an
//! assistant message parses back to the same values; and no input makes a parser panic.

use std::sync::Arc;

use hone_core::adapter::{Adapter, ChatAdapter, JsonAdapter, XmlAdapter};
use hone_core::coerce::{literal_eval, repair_json};
use hone_core::{Field, FieldType, ModelField, ModelType, Signature};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Str,
    Int,
    Float,
    Bool,
    ListInt,
    ListStr,
    DictInt,
    Lit,
    LitInt,
    OptInt,
    OptStr,
    Person,
    People,
}

const KINDS: [Kind; 13] = [
    Kind::Str,
    Kind::Int,
    Kind::Float,
    Kind::Bool,
    Kind::ListInt,
    Kind::ListStr,
    Kind::DictInt,
    Kind::Lit,
    Kind::LitInt,
    Kind::OptInt,
    Kind::OptStr,
    Kind::Person,
    Kind::People,
];

fn person() -> FieldType {
    FieldType::Model(Arc::new(ModelType::new(
        "Person",
        vec![
            ModelField::required("name", FieldType::Str),
            ModelField::with_default("age", FieldType::optional(FieldType::Int), Value::Null),
            ModelField::with_default("tags", FieldType::list(FieldType::Str), json!([])),
        ],
    )))
}

fn field_type(kind: Kind) -> FieldType {
    match kind {
        Kind::Str => FieldType::Str,
        Kind::Int => FieldType::Int,
        Kind::Float => FieldType::Float,
        Kind::Bool => FieldType::Bool,
        Kind::ListInt => FieldType::list(FieldType::Int),
        Kind::ListStr => FieldType::list(FieldType::Str),
        Kind::DictInt => FieldType::dict(FieldType::Str, FieldType::Int),
        Kind::Lit => FieldType::literal(["positive", "it's neutral", "a \"quoted\" one"]),
        Kind::LitInt => FieldType::Literal {
            values: vec![json!(1), json!(2), json!(3)],
        },
        Kind::OptInt => FieldType::optional(FieldType::Int),
        Kind::OptStr => FieldType::optional(FieldType::Str),
        Kind::Person => person(),
        Kind::People => FieldType::list(person()),
    }
}

/// Text with unicode, line breaks, brackets and markup characters, stripped of surrounding
/// whitespace (adapters strip field text, as DSPy does) and without section headers.
fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        8 => proptest::char::range('a', 'z'),
        2 => Just(' '),
        1 => Just('\n'),
        2 => proptest::sample::select(vec!['[', ']', '{', '}', '<', '>', '&', '"', '\'', '#', '«', '»', ':', ',', '\\']),
        2 => proptest::sample::select(vec!['é', 'ß', 'Ж', '中', '😀', '\u{a0}']),
        1 => proptest::char::range('0', '9'),
    ];
    proptest::collection::vec(ch, 0..24)
        .prop_map(|cs| cs.into_iter().collect::<String>())
        .prop_map(|s| s.trim_matches(|c: char| c.is_whitespace()).to_owned())
        .prop_filter("no section headers", |s| !s.contains("[[ ##"))
}

fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z_ ][a-zA-Z0-9_ .-]{0,8}"
}

fn finite_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        (-1000i32..1000).prop_map(f64::from),
        Just(1e-5),
        Just(1e16),
        Just(0.1),
    ]
}

fn person_value() -> impl Strategy<Value = Value> {
    (
        text(),
        proptest::option::of(any::<i64>()),
        proptest::collection::vec(text(), 0..3),
    )
        .prop_map(|(name, age, tags)| json!({"name": name, "age": age, "tags": tags}))
}

fn value(kind: Kind) -> BoxedStrategy<Value> {
    match kind {
        Kind::Str => text().prop_map(Value::String).boxed(),
        Kind::Int => any::<i64>().prop_map(Value::from).boxed(),
        Kind::Float => finite_float().prop_map(|f| json!(f)).boxed(),
        Kind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Kind::ListInt => proptest::collection::vec(any::<i32>(), 0..5)
            .prop_map(|v| json!(v))
            .boxed(),
        Kind::ListStr => proptest::collection::vec(text(), 0..4)
            .prop_map(|v| json!(v))
            .boxed(),
        Kind::DictInt => proptest::collection::btree_map(key(), any::<i32>(), 0..4)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, json!(v))).collect()))
            .boxed(),
        Kind::Lit => proptest::sample::select(vec!["positive", "it's neutral", "a \"quoted\" one"])
            .prop_map(|s| json!(s))
            .boxed(),
        Kind::LitInt => (1i64..=3).prop_map(Value::from).boxed(),
        Kind::OptInt => proptest::option::of(any::<i64>())
            .prop_map(|v| json!(v))
            .boxed(),
        // `None` in an `Optional[str]` field comes back as the text "None", an empty text in
        // XML as `None`, and DSPy's XMLAdapter escapes `&` and `<` only in plain `str` outputs.
        Kind::OptStr => text()
            .prop_filter("non-empty, no XML markup", |s| {
                !s.is_empty() && !s.contains(['&', '<'])
            })
            .prop_map(Value::String)
            .boxed(),
        Kind::Person => person_value().boxed(),
        Kind::People => proptest::collection::vec(person_value(), 0..3)
            .prop_map(Value::Array)
            .boxed(),
    }
}

/// A signature with the given output kinds and the values for them.
fn case() -> impl Strategy<Value = (Signature, Map<String, Value>)> {
    proptest::collection::vec(proptest::sample::select(KINDS.to_vec()), 1..5).prop_flat_map(
        |kinds| {
            let values: Vec<BoxedStrategy<Value>> = kinds.iter().map(|k| value(*k)).collect();
            (Just(kinds), values).prop_map(|(kinds, values)| {
                let mut builder =
                    Signature::builder().input(Field::new("question", FieldType::Str));
                let mut map = Map::new();
                for (i, (kind, v)) in kinds.iter().zip(values).enumerate() {
                    let name = format!("out_{i}");
                    builder = builder.output(Field::new(&name, field_type(*kind)));
                    map.insert(name, v);
                }
                (builder.build().expect("valid signature"), map)
            })
        },
    )
}

fn round_trip(
    adapter: &dyn Adapter,
    sig: &Signature,
    values: &Map<String, Value>,
) -> Result<(), TestCaseError> {
    let text = adapter.format_assistant_message(sig, values);
    let parsed = adapter
        .parse(sig, &text)
        .map_err(|e| TestCaseError::fail(format!("{e}\n--- message ---\n{text}")))?;
    prop_assert_eq!(
        Value::Object(parsed.into_fields()),
        Value::Object(values.clone()),
        "message:\n{}",
        text
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn chat_round_trips((sig, values) in case()) {
        round_trip(&ChatAdapter::new(), &sig, &values)?;
    }

    #[test]
    fn json_round_trips((sig, values) in case()) {
        round_trip(&JsonAdapter::new(), &sig, &values)?;
    }

    #[test]
    fn xml_round_trips((sig, values) in case()) {
        round_trip(&XmlAdapter::new(), &sig, &values)?;
    }

    #[test]
    fn parsers_never_panic(completion in "(?s).{0,300}", (sig, _values) in case()) {
        for adapter in [&ChatAdapter::new() as &dyn Adapter, &JsonAdapter::new(), &XmlAdapter::new()] {
            let _ = adapter.parse(&sig, &completion);
        }
        let _ = repair_json(&completion);
        let _ = literal_eval(&completion);
    }

    #[test]
    fn parsers_never_panic_on_near_misses(
        pieces in proptest::collection::vec(prop_oneof![
            Just("[[ ## out_0 ## ]]\n"), Just("[[ ## completed ## ]]"), Just("{"), Just("}"), Just("["), Just("]"),
            Just("\""), Just("'"), Just(":"), Just(","), Just("<out_0>"), Just("</out_0>"), Just("<item>"),
            Just("</item>"), Just("&amp;"), Just("&"), Just("<"), Just("None"), Just("True"), Just("1e5"),
            Just("-"), Just("\n"), Just(" "), Just("```json"), Just("\\"), Just("<entry key=\"a b\">"), Just("</entry>"),
            Just("<![CDATA["), Just("]]>"), Just("<!--"), Just("-->"), Just("(1,"), Just("Literal['")
        ], 0..40),
        (sig, _values) in case(),
    ) {
        let completion: String = pieces.concat();
        for adapter in [&ChatAdapter::new() as &dyn Adapter, &JsonAdapter::new(), &XmlAdapter::new()] {
            let _ = adapter.parse(&sig, &completion);
        }
        let _ = repair_json(&completion);
        let _ = literal_eval(&completion);
    }
}
