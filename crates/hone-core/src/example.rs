//! Examples, predictions and demos: ordered maps from field names to JSON values.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A data point: named field values in insertion order, with some fields marked as inputs.
///
/// Demos are examples too. Serialized, an example is a plain JSON object of its fields (the
/// input marks are not part of it; a signature or a dataset configuration says which fields are
/// inputs).
///
/// ```
/// use hone_core::Example;
/// use serde_json::json;
/// let ex = Example::from_json(json!({"question": "2+2?", "answer": "4"})).unwrap().with_inputs(["question"]);
/// assert_eq!(ex.inputs().get("question"), Some(&json!("2+2?")));
/// assert_eq!(ex.labels().get("answer"), Some(&json!("4")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Example {
    fields: Map<String, Value>,
    #[serde(skip)]
    input_keys: Option<Vec<String>>,
}

impl Example {
    /// An empty example.
    pub fn new() -> Self {
        Example::default()
    }

    /// An example from a JSON object; `None` if `value` is not an object.
    pub fn from_json(value: Value) -> Option<Self> {
        match value {
            Value::Object(fields) => Some(Example {
                fields,
                input_keys: None,
            }),
            _ => None,
        }
    }

    /// An example from a field map.
    pub fn from_map(fields: Map<String, Value>) -> Self {
        Example {
            fields,
            input_keys: None,
        }
    }

    /// Marks the given fields as inputs (DSPy's `with_inputs`).
    pub fn with_inputs<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.input_keys = Some(keys.into_iter().map(Into::into).collect());
        self
    }

    /// Sets a field (builder style).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// Sets a field, returning the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.fields.insert(key.into(), value.into())
    }

    /// The value of a field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// Whether the field is present.
    pub fn contains(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// All fields in order.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// Consumes the example, returning its fields.
    pub fn into_fields(self) -> Map<String, Value> {
        self.fields
    }

    /// The fields marked as inputs, if any were marked.
    pub fn input_keys(&self) -> Option<&[String]> {
        self.input_keys.as_deref()
    }

    /// An example holding only the input fields (all fields if none were marked).
    pub fn inputs(&self) -> Example {
        match &self.input_keys {
            Some(keys) => Example {
                fields: self
                    .fields
                    .iter()
                    .filter(|(k, _)| keys.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                input_keys: self.input_keys.clone(),
            },
            None => self.clone(),
        }
    }

    /// An example holding only the non-input fields (the labels).
    pub fn labels(&self) -> Example {
        let keys = self.input_keys.as_deref().unwrap_or(&[]);
        Example {
            fields: self
                .fields
                .iter()
                .filter(|(k, _)| !keys.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            input_keys: None,
        }
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the example has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl From<Map<String, Value>> for Example {
    fn from(fields: Map<String, Value>) -> Self {
        Example::from_map(fields)
    }
}

impl FromIterator<(String, Value)> for Example {
    fn from_iter<T: IntoIterator<Item = (String, Value)>>(iter: T) -> Self {
        Example::from_map(iter.into_iter().collect())
    }
}

/// The typed outputs of a predictor call, in signature order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Prediction {
    fields: Map<String, Value>,
}

impl Prediction {
    /// A prediction from output values.
    pub fn new(fields: Map<String, Value>) -> Self {
        Prediction { fields }
    }

    /// The value of an output field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// Sets an output field.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.fields.insert(key.into(), value.into())
    }

    /// All output fields in order.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// Consumes the prediction, returning its fields.
    pub fn into_fields(self) -> Map<String, Value> {
        self.fields
    }
}

impl From<Map<String, Value>> for Prediction {
    fn from(fields: Map<String, Value>) -> Self {
        Prediction { fields }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_insertion_order_and_serializes_flat() {
        let ex = Example::new().with("b", 1).with("a", 2).with_inputs(["b"]);
        assert_eq!(
            serde_json::to_string(&ex).expect("json"),
            r#"{"b":1,"a":2}"#
        );
        assert_eq!(ex.labels().fields().keys().collect::<Vec<_>>(), vec!["a"]);
        assert!(Example::from_json(json!([1])).is_none());
    }
}
