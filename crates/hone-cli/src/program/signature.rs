//! Stage signatures: the string or table form of `[[program.stages]]`'s `signature`, with the
//! enum classes a program declares in `[enums.NAME]` usable as field types.
//!
//! ```toml
//! [enums.Level]
//! description = "How urgent a ticket is."
//! members = { LOW = "low", HIGH = "high" }   # member name = value, as in `class Level(enum.Enum)`
//!
//! [[program.stages]]
//! name = "triage"
//! signature = "ticket -> level: Level"
//! ```

use std::path::Path;
use std::sync::Arc;

use hone_core::pytype::{TypeResolver, parse_type};
use hone_core::{EnumMember, EnumType, Field, FieldType, Signature};
use indexmap::IndexMap;

use super::spec::{EnumSpec, FieldSpec, SignatureTable, StageSpec};
use super::toml_error::serde_hint;
use crate::error::{Error, FileError};

/// The enum classes of a program file (`[enums.NAME]`), by class name.
#[derive(Debug, Clone, Default)]
pub struct EnumClasses {
    classes: Vec<Arc<EnumType>>,
}

impl EnumClasses {
    /// Reads and checks `[enums.NAME]` tables: each needs `members` (name = value) or
    /// `values` (names equal to the values), not both, and at least one member.
    pub fn read(
        path: &Path,
        text: &str,
        specs: &IndexMap<String, toml::Spanned<EnumSpec>>,
    ) -> crate::error::Result<EnumClasses> {
        let mut classes = Vec::new();
        for (name, spanned) in specs {
            let err = |m: String| {
                FileError::new(path, m)
                    .at_offset(text, spanned.span().start)
                    .field(format!("enums.{name}"))
            };
            let spec = spanned.get_ref();
            let members: Vec<EnumMember> = match (&spec.members, &spec.values) {
                (Some(m), None) => m
                    .iter()
                    .map(|(n, v)| {
                        Ok(EnumMember {
                            name: n.clone(),
                            value: enum_value(v)?,
                        })
                    })
                    .collect::<Result<_, String>>(),
                (None, Some(vs)) => vs
                    .iter()
                    .map(|v| {
                        let value = enum_value(v)?;
                        Ok(EnumMember {
                            name: hone_core::types::python_str(&value),
                            value,
                        })
                    })
                    .collect::<Result<_, String>>(),
                (Some(_), Some(_)) => Err("give `members` or `values`, not both".to_owned()),
                (None, None) => Err(
                    "an enum needs `members = { NAME = value, ... }` or `values = [...]`"
                        .to_owned(),
                ),
            }
            .map_err(|m| Error::from(err(format!("enum `{name}`: {m}"))))?;
            if members.is_empty() {
                return Err(err(format!("enum `{name}` has no members")).into());
            }
            if !name
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
            {
                return Err(err(format!("enum name `{name}` is not an identifier"))
                    .hint("name it as its Python class would be named, e.g. `Level`")
                    .into());
            }
            classes.push(Arc::new(EnumType {
                name: name.clone(),
                description: spec.description.clone(),
                members,
            }));
        }
        Ok(EnumClasses { classes })
    }
}

impl TypeResolver for EnumClasses {
    fn resolve(&self, name: &str) -> Option<FieldType> {
        self.classes
            .iter()
            .find(|c| c.name == name)
            .map(|c| FieldType::Enum(c.clone()))
    }
}

/// An enum member's value: a string, integer, float or boolean.
fn enum_value(v: &toml::Value) -> Result<serde_json::Value, String> {
    Ok(match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .ok_or_else(|| format!("the value {f} is not a finite number"))?,
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        other => {
            return Err(format!(
                "member values are strings, numbers or booleans, not {}",
                other.type_str()
            ));
        }
    })
}

/// A stage's signature, from its string or table form, with the file's enum classes as
/// custom types.
pub(crate) fn stage_signature(
    path: &Path,
    text: &str,
    spec: &StageSpec,
    classes: &EnumClasses,
) -> std::result::Result<Signature, Box<FileError>> {
    let span = spec.signature.span();
    let err = |m: String| FileError::new(path, m).at_offset(text, span.start);
    let mut sig = match spec.signature.get_ref() {
        toml::Value::String(s) => Signature::parse_with(s, None, classes).map_err(|e| {
            Box::new(err(format!("invalid signature `{s}`: {e}")).hint(
                "write it as DSPy does: \"inputs -> outputs\", e.g. \"question, context: list[str] -> answer: int\"",
            ))
        })?,
        toml::Value::Table(t) => {
            let table: SignatureTable = toml::Value::Table(t.clone())
                .try_into()
                .map_err(|e: toml::de::Error| {
                    Box::new(
                        err(format!("invalid signature table: {}", e.message()))
                            .maybe_hint(serde_hint(e.message())),
                    )
                })?;
            let mut b = Signature::builder();
            if let Some(i) = &table.instructions {
                b = b.instructions(i.clone());
            }
            for f in &table.inputs {
                b = b.input(field_from_spec(f, classes).map_err(|m| Box::new(err(m)))?);
            }
            for f in &table.outputs {
                b = b.output(field_from_spec(f, classes).map_err(|m| Box::new(err(m)))?);
            }
            b.build()
                .map_err(|e| Box::new(err(format!("invalid signature: {e}"))))?
        }
        other => {
            return Err(Box::new(
                err(format!(
                    "a signature is a string or a table, not {}",
                    other.type_str()
                ))
                .hint("e.g. signature = \"question -> answer\""),
            ));
        }
    };
    if let Some(i) = &spec.instructions {
        sig = sig.with_instructions(i.clone());
    }
    Ok(sig)
}

fn field_from_spec(f: &FieldSpec, classes: &EnumClasses) -> std::result::Result<Field, String> {
    let (ty, declared) = match &f.ty {
        Some(t) => (
            parse_type(t, classes)
                .map_err(|e| format!("field `{}`: invalid type `{t}`: {e}", f.name))?,
            true,
        ),
        None => (FieldType::Str, false),
    };
    let mut field = Field::new(f.name.clone(), ty);
    field.type_declared = declared;
    if let Some(d) = &f.desc {
        field = field.desc(d.clone());
    }
    if let Some(p) = &f.prefix {
        field = field.prefix(p.clone());
    }
    Ok(field)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use hone_core::adapter::{Adapter, ChatAdapter};
    use hone_core::{Example, FieldType};

    use crate::program::Program;

    const TRIAGE: &str = r#"
[lm.task]
model = "sim"

[enums.Level]
description = "How urgent a ticket is."
members = { LOW = "low", HIGH = "high" }

[enums.Size]
values = [1, 2]

[[program.stages]]
name = "triage"
signature = "ticket -> level: Level, sizes: list[Size]"

[[program.stages]]
name = "fix"
inputs = { ticket = "input.ticket", level = "triage.level" }
[program.stages.signature]
inputs = [{ name = "ticket" }, { name = "level", type = "Level" }]
outputs = [{ name = "patch", type = "Code['python']" }]
"#;

    fn parse(text: &str) -> Result<Program, String> {
        Program::parse(Path::new("p.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn enum_classes_are_field_types_in_both_signature_forms() {
        let p = parse(TRIAGE).unwrap_or_else(|e| panic!("{e}"));
        let level = &p.stages[0].signature.outputs[0].ty;
        let FieldType::Enum(class) = level else {
            panic!("an enum, got {level:?}")
        };
        assert_eq!(class.members[1].name, "HIGH");
        assert_eq!(
            class.description.as_deref(),
            Some("How urgent a ticket is.")
        );
        assert_eq!(p.stages[1].signature.inputs[1].ty, *level);
        assert_eq!(
            p.stages[0].signature.outputs[1].ty.python_name(),
            "list[Size]"
        );
        assert_eq!(
            p.stages[1].signature.outputs[0].ty,
            FieldType::code("python")
        );
        let inputs = Example::from_json(serde_json::json!({"ticket": "t"})).expect("object");
        let msgs = ChatAdapter::new()
            .format(&p.stages[0].signature, &[], &inputs)
            .expect("formats");
        assert!(
            msgs[0].content.contains("1. `level` (Level):"),
            "{}",
            msgs[0].content
        );
        assert!(
            msgs[0]
                .content
                .contains("{level}        # note: the value you produce must be one of: low; high"),
            "{}",
            msgs[0].content
        );
        let pred = ChatAdapter::new()
            .parse(
                &p.stages[0].signature,
                "[[ ## level ## ]]\nHIGH\n\n[[ ## sizes ## ]]\n[2]\n\n[[ ## completed ## ]]",
            )
            .expect("parses");
        assert_eq!(pred.get("level"), Some(&serde_json::json!("high")));
    }

    #[test]
    fn bad_enum_tables_say_what_to_write() {
        let e = parse(&TRIAGE.replace("values = [1, 2]", ""))
            .err()
            .unwrap_or_default();
        assert!(e.contains("enum `Size`: an enum needs `members"), "{e}");
        assert!(e.contains("`enums.Size`"), "{e}");
        let e = parse(&TRIAGE.replace("values = [1, 2]", "values = [[1]]"))
            .err()
            .unwrap_or_default();
        assert!(
            e.contains("member values are strings, numbers or booleans"),
            "{e}"
        );
        let e = parse(&TRIAGE.replace("[enums.Size]\nvalues = [1, 2]", ""))
            .err()
            .unwrap_or_default();
        assert!(e.contains("unknown type `Size`"), "{e}");
    }
}
