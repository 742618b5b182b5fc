//! Unit tests of field types: DSPy's names, pydantic's schemas, unions and acceptance.

use serde_json::json;

use super::*;

fn person() -> FieldType {
    FieldType::model(ModelType::new(
        "Person",
        vec![
            ModelField::required("name", FieldType::Str),
            ModelField::with_default("age", FieldType::optional(FieldType::Int), Value::Null),
            ModelField::with_default("emails", FieldType::list(FieldType::Str), json!([])),
        ],
    ))
}

#[test]
fn python_names_match_dspy() {
    assert_eq!(FieldType::Str.python_name(), "str");
    assert_eq!(
        FieldType::dict(FieldType::Str, FieldType::Str).python_name(),
        "dict[str, str]"
    );
    assert_eq!(
        FieldType::literal(["billing", "tech", "sales"]).python_name(),
        "Literal['billing', 'tech', 'sales']"
    );
    assert_eq!(
        FieldType::optional(FieldType::Str).python_name(),
        "Union[str, NoneType]"
    );
    assert_eq!(FieldType::list(person()).python_name(), "list[Person]");
    assert_eq!(
        FieldType::literal(["it's", "say \"hi\"", "both ' \""]).python_name(),
        r#"Literal["it's", 'say "hi"', 'both \' "']"#
    );
}

#[test]
fn model_schema_matches_pydantic() {
    let schema = FieldType::list(person()).json_schema();
    let expected = json!({
      "$defs": {"Person": {
          "properties": {
            "name": {"title": "Name", "type": "string"},
            "age": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null, "title": "Age"},
            "emails": {"default": [], "items": {"type": "string"}, "title": "Emails", "type": "array"}
          },
          "required": ["name"], "title": "Person", "type": "object"}},
      "items": {"$ref": "#/$defs/Person"},
      "type": "array"
    });
    assert_eq!(schema, expected);
}

#[test]
fn literal_and_optional_schemas() {
    assert_eq!(
        FieldType::literal(["a", "b"]).json_schema(),
        json!({"enum": ["a", "b"], "type": "string"})
    );
    assert_eq!(
        FieldType::optional(FieldType::Str).json_schema(),
        json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
    );
}

#[test]
fn union_flattens_and_dedups() {
    let t = FieldType::union(vec![
        FieldType::Int,
        FieldType::union(vec![FieldType::Str, FieldType::Int]),
    ]);
    assert_eq!(t.python_name(), "Union[int, str]");
    assert_eq!(FieldType::union(vec![FieldType::Int]), FieldType::Int);
}

#[test]
fn accepts_checks_shape() {
    assert!(person().accepts(&json!({"name": "Ada"})));
    assert!(!person().accepts(&json!({"age": 3})));
    assert!(FieldType::Float.accepts(&json!(3)));
    assert!(!FieldType::Int.accepts(&json!(3.5)));
}
