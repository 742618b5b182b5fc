//! Cache keys: a SHA-256 of the request's canonical JSON and the base URL.

use std::fmt;
use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::types::embeddings::EmbeddingRequest;
use crate::types::request::ChatRequest;

/// A cache key: 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

impl CacheKey {
    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of a chat request sent to `base_url`. The request should already be resolved
    /// ([`LmInfo::resolve_chat`](crate::LmInfo::resolve_chat)). `stream` and
    /// `stream_options` are ignored; everything else (model, sampling parameters, messages,
    /// tools, response format, provider-specific parameters) counts. Headers and keys never
    /// enter a key.
    pub fn chat(base_url: &str, request: &ChatRequest) -> CacheKey {
        let mut value = serde_json::to_value(request).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.remove("stream");
            map.remove("stream_options");
        }
        Self::of("chat", base_url, &value)
    }

    /// The key of an embeddings request sent to `base_url`.
    pub fn embed(base_url: &str, request: &EmbeddingRequest) -> CacheKey {
        let value = serde_json::to_value(request).unwrap_or(Value::Null);
        Self::of("embeddings", base_url, &value)
    }

    fn of(kind: &str, base_url: &str, value: &Value) -> CacheKey {
        let mut hasher = Sha256::new();
        hasher.update(b"hone-lm cache v1\n");
        hasher.update(kind.as_bytes());
        hasher.update(b"\n");
        hasher.update(base_url.trim_end_matches('/').as_bytes());
        hasher.update(b"\n");
        hasher.update(canonical_json(value).as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in hasher.finalize() {
            let _ = write!(hex, "{byte:02x}");
        }
        CacheKey(hex)
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// JSON with object keys sorted at every level and no whitespace.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::types::message::Message;
    use proptest::prelude::*;
    use serde_json::{Map, json};

    #[test]
    fn stream_flags_do_not_change_the_key_but_params_do() {
        let base = ChatRequest::new(vec![Message::user("hi")]).model("m");
        let mut streamed = base.clone();
        streamed.stream = Some(true);
        assert_eq!(CacheKey::chat("u", &base), CacheKey::chat("u", &streamed));
        assert_ne!(
            CacheKey::chat("u", &base),
            CacheKey::chat("u", &base.clone().temperature(0.5))
        );
        assert_ne!(CacheKey::chat("u", &base), CacheKey::chat("v", &base));
        assert_eq!(CacheKey::chat("u/", &base), CacheKey::chat("u", &base));
        assert_eq!(CacheKey::chat("u", &base).as_str().len(), 64);
    }

    #[test]
    fn canonical_sorts_nested_keys() {
        let a = json!({"b": [{"y": 1, "x": 2}], "a": "é"});
        assert_eq!(canonical_json(&a), r#"{"a":"é","b":[{"x":2,"y":1}]}"#);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z\\\\\"é ]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-z]{1,3}", inner), 0..4)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    fn reversed(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map.iter().rev() {
                    out.insert(k.clone(), reversed(v));
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
            other => other.clone(),
        }
    }

    proptest! {
        #[test]
        fn canonical_is_order_insensitive_and_parses_back(value in arb_json()) {
            let canon = canonical_json(&value);
            prop_assert_eq!(&canon, &canonical_json(&reversed(&value)));
            let back: Value = serde_json::from_str(&canon).unwrap();
            prop_assert_eq!(back, value);
        }

        #[test]
        fn chat_key_ignores_extra_insertion_order(
            pairs in prop::collection::btree_map("[a-z]{1,5}", any::<i32>(), 0..6)
        ) {
            let mut forward = ChatRequest::new(vec![Message::user("x")]);
            let mut backward = forward.clone();
            for (k, v) in &pairs {
                forward.extra.insert(k.clone(), json!(v));
            }
            for (k, v) in pairs.iter().rev() {
                backward.extra.insert(k.clone(), json!(v));
            }
            prop_assert_eq!(CacheKey::chat("b", &forward), CacheKey::chat("b", &backward));
        }
    }
}
