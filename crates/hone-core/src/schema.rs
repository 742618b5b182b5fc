//! Reading a [`FieldType`] back from a JSON Schema (the inverse of [`FieldType::json_schema`]).
//!
//! hone's saved programs carry field types as JSON Schema, and DSPy reference cases describe
//! types the same way, so a type must survive `json_schema` → `from_json_schema` unchanged for
//! every type hone supports.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::types::{
    EnumMember, EnumType, FieldType, ModelField, ModelType, code_language, image_schema, python_str,
};

/// A JSON Schema that does not describe a type hone supports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported JSON Schema at `{pointer}`: {message}")]
pub struct SchemaError {
    /// A JSON pointer to the offending part of the schema.
    pub pointer: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldType {
    /// Reads a type from a JSON Schema as produced by pydantic or by [`FieldType::json_schema`].
    ///
    /// ```
    /// use hone_core::FieldType;
    /// let t = FieldType::from_json_schema(&serde_json::json!({"type": "array", "items": {"type": "integer"}})).unwrap();
    /// assert_eq!(t, FieldType::list(FieldType::Int));
    /// ```
    pub fn from_json_schema(schema: &Value) -> Result<FieldType, SchemaError> {
        let defs = schema
            .get("$defs")
            .or_else(|| schema.get("definitions"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut reader = Reader {
            defs,
            resolved: Vec::new(),
            in_progress: Vec::new(),
        };
        reader.read(schema, "")
    }
}

struct Reader {
    defs: Map<String, Value>,
    resolved: Vec<(String, Arc<ModelType>)>,
    in_progress: Vec<String>,
}

impl Reader {
    fn err(pointer: &str, message: impl Into<String>) -> SchemaError {
        SchemaError {
            pointer: if pointer.is_empty() {
                "/".into()
            } else {
                pointer.into()
            },
            message: message.into(),
        }
    }

    fn read(&mut self, schema: &Value, ptr: &str) -> Result<FieldType, SchemaError> {
        let obj = match schema {
            Value::Object(o) => o,
            Value::Bool(true) => return Ok(FieldType::Any),
            _ => return Err(Self::err(ptr, "expected a schema object")),
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            return self.read_ref(r, ptr);
        }
        if let Some(c) = obj.get("const") {
            return Ok(FieldType::Literal {
                values: vec![c.clone()],
            });
        }
        if let Some(e) = obj.get("enum") {
            let values = e
                .as_array()
                .ok_or_else(|| Self::err(&format!("{ptr}/enum"), "`enum` must be a list"))?;
            // pydantic titles an `enum.Enum` class's schema with the class name; it is the
            // whole schema or a `$defs` entry. A titled `enum` inside `properties` is a
            // `Literal` field with its field title.
            if let Some(title) = obj.get("title").and_then(Value::as_str)
                && (ptr.is_empty()
                    || ptr
                        .strip_prefix("/$defs/")
                        .is_some_and(|name| !name.contains('/')))
            {
                return Ok(FieldType::enumeration(EnumType {
                    name: title.to_owned(),
                    description: obj
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    // The schema holds only the values; names default to them (see
                    // `Field`'s serialized form for how the real names are kept).
                    members: values
                        .iter()
                        .map(|v| EnumMember {
                            name: python_str(v),
                            value: v.clone(),
                        })
                        .collect(),
                }));
            }
            return Ok(FieldType::Literal {
                values: values.clone(),
            });
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(any) = obj.get(key) {
                let list = any
                    .as_array()
                    .ok_or_else(|| Self::err(&format!("{ptr}/{key}"), "must be a list"))?;
                let variants = list
                    .iter()
                    .enumerate()
                    .map(|(i, s)| self.read(s, &format!("{ptr}/{key}/{i}")))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(FieldType::union(variants));
            }
        }
        if let Some(all) = obj.get("allOf").and_then(Value::as_array)
            && all.len() == 1
        {
            return self.read(&all[0], &format!("{ptr}/allOf/0"));
        }
        match obj.get("type") {
            None => {
                if obj.contains_key("properties") {
                    self.read_object(obj, ptr)
                } else {
                    Ok(FieldType::Any)
                }
            }
            Some(Value::String(t)) => self.read_typed(t, obj, ptr),
            Some(Value::Array(ts)) => {
                let variants = ts
                    .iter()
                    .map(|t| match t.as_str() {
                        Some(t) => self.read_typed(t, obj, ptr),
                        None => Err(Self::err(ptr, "`type` lists must hold strings")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(FieldType::union(variants))
            }
            Some(_) => Err(Self::err(
                ptr,
                "`type` must be a string or a list of strings",
            )),
        }
    }

    fn read_typed(
        &mut self,
        t: &str,
        obj: &Map<String, Value>,
        ptr: &str,
    ) -> Result<FieldType, SchemaError> {
        Ok(match t {
            "string" => FieldType::Str,
            "integer" => FieldType::Int,
            "number" => FieldType::Float,
            "boolean" => FieldType::Bool,
            "null" => FieldType::Null,
            "array" => match obj.get("items") {
                Some(items) => FieldType::list(self.read(items, &format!("{ptr}/items"))?),
                None => FieldType::list(FieldType::Any),
            },
            "object" => self.read_object(obj, ptr)?,
            other => return Err(Self::err(ptr, format!("unknown type `{other}`"))),
        })
    }

    fn read_object(
        &mut self,
        obj: &Map<String, Value>,
        ptr: &str,
    ) -> Result<FieldType, SchemaError> {
        if Value::Object(obj.clone()) == image_schema() {
            return Ok(FieldType::Image);
        }
        let Some(props) = obj.get("properties").and_then(Value::as_object) else {
            let value = match obj.get("additionalProperties") {
                Some(Value::Bool(_)) | None => FieldType::Any,
                Some(s) => self.read(s, &format!("{ptr}/additionalProperties"))?,
            };
            return Ok(FieldType::dict(FieldType::Str, value));
        };
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::with_capacity(props.len());
        for (name, prop) in props {
            let ty = self.read(prop, &format!("{ptr}/properties/{name}"))?;
            let default = prop.get("default").cloned();
            let default = match default {
                None if !required.contains(&name.as_str()) => Some(Value::Null),
                other => other,
            };
            fields.push(ModelField {
                name: name.clone(),
                ty,
                default,
                description: prop
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
        }
        let name = obj
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("Model")
            .to_owned();
        if let Some(language) = code_language(&name)
            && fields.len() == 1
            && fields[0].name == "code"
            && fields[0].ty == FieldType::Str
        {
            return Ok(FieldType::code(language));
        }
        Ok(FieldType::Model(Arc::new(ModelType {
            name,
            description: obj
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            fields,
        })))
    }

    fn read_ref(&mut self, reference: &str, ptr: &str) -> Result<FieldType, SchemaError> {
        let name = reference
            .strip_prefix("#/$defs/")
            .or_else(|| reference.strip_prefix("#/definitions/"))
            .ok_or_else(|| {
                Self::err(
                    ptr,
                    format!("only local `$ref`s are supported, found `{reference}`"),
                )
            })?
            .to_owned();
        if let Some((_, m)) = self.resolved.iter().find(|(n, _)| *n == name) {
            return Ok(FieldType::Model(m.clone()));
        }
        if self.in_progress.contains(&name) {
            return Err(Self::err(
                ptr,
                format!("recursive model `{name}` is not supported"),
            ));
        }
        let def = self.defs.get(&name).cloned().ok_or_else(|| {
            Self::err(ptr, format!("`$ref` to `{name}`, which is not in `$defs`"))
        })?;
        self.in_progress.push(name.clone());
        let ty = self.read(&def, &format!("/$defs/{name}"))?;
        self.in_progress.pop();
        if let FieldType::Model(m) = &ty {
            self.resolved.push((name, m.clone()));
        }
        Ok(ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_supported_types() {
        let person = FieldType::model(ModelType::new(
            "Person",
            vec![
                ModelField::required("name", FieldType::Str),
                ModelField::with_default("age", FieldType::optional(FieldType::Int), Value::Null),
                ModelField::with_default("tags", FieldType::list(FieldType::Str), json!([])),
            ],
        ));
        for t in [
            FieldType::Str,
            FieldType::Int,
            FieldType::Float,
            FieldType::Bool,
            FieldType::Any,
            FieldType::list(FieldType::Int),
            FieldType::dict(FieldType::Str, FieldType::Float),
            FieldType::literal(["a", "b"]),
            FieldType::optional(FieldType::Str),
            person.clone(),
            FieldType::list(person.clone()),
            FieldType::optional(person),
        ] {
            let schema = t.json_schema();
            assert_eq!(
                FieldType::from_json_schema(&schema),
                Ok(t.clone()),
                "{schema}"
            );
        }
    }

    #[test]
    fn a_literal_inside_a_referenced_model_stays_a_literal() {
        let address = FieldType::model(ModelType::new(
            "Address",
            vec![ModelField::with_default(
                "country",
                FieldType::literal(["US", "CA"]),
                json!("US"),
            )],
        ));
        let holder = FieldType::model(ModelType::new(
            "Holder",
            vec![ModelField::required("at", address)],
        ));
        let schema = holder.json_schema();
        assert_eq!(FieldType::from_json_schema(&schema), Ok(holder), "{schema}");
    }

    #[test]
    fn bad_schemas_name_the_spot() {
        let e = FieldType::from_json_schema(&json!({"type": "array", "items": {"type": "tuple"}}))
            .expect_err("unknown type");
        assert_eq!(e.pointer, "/items");
        let e =
            FieldType::from_json_schema(&json!({"$ref": "#/$defs/Nope"})).expect_err("dangling");
        assert!(e.message.contains("Nope"));
    }
}
