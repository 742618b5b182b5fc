//! Helpers shared by the integration tests: DSPy-format prompt rendering,
//! fixture loading, HTTP calls and a small JSON-schema validator.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// A reqwest client builder with an explicit rustls backend (ring), so tests never depend on
/// a process-wide default crypto provider.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder().tls_backend_preconfigured(tls)
}

/// Path of a fixture file.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A fixture's messages.
pub fn fixture_messages(rel: &str) -> Value {
    let text = std::fs::read_to_string(fixture(rel)).expect("fixture readable");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// A chat request body.
pub fn chat_body(messages: Value) -> Value {
    json!({"model": "sim-1", "messages": messages})
}

/// Renders a `question -> [reasoning,] answer: int` predictor with DSPy's
/// ChatAdapter layout.
pub fn arithmetic_prompt(
    instructions: &str,
    demos: &[(String, i64)],
    question: &str,
    cot: bool,
) -> Value {
    let mut outputs = Vec::new();
    if cot {
        outputs.push("1. `reasoning` (str): \n2. `answer` (int):".to_owned());
    } else {
        outputs.push("1. `answer` (int):".to_owned());
    }
    let reasoning_block = if cot {
        "[[ ## reasoning ## ]]\n{reasoning}\n\n"
    } else {
        ""
    };
    let system = format!(
        "Your input fields are:\n1. `question` (str):\nYour output fields are:\n{}\nAll interactions will be structured in the following way, with the appropriate values filled in.\n\n[[ ## question ## ]]\n{{question}}\n\n{reasoning_block}[[ ## answer ## ]]\n{{answer}}        # note: the value you produce must be a single int value\n\n[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        {}",
        outputs.join("\n"),
        instructions.replace('\n', "\n        ")
    );
    let mut messages = vec![json!({"role": "system", "content": system})];
    for (q, a) in demos {
        messages.push(json!({"role": "user", "content": format!("[[ ## question ## ]]\n{q}")}));
        let reasoning = if cot {
            format!("[[ ## reasoning ## ]]\nCompute {q}\n\n")
        } else {
            String::new()
        };
        messages.push(json!({"role": "assistant", "content": format!("{reasoning}[[ ## answer ## ]]\n{a}\n\n[[ ## completed ## ]]\n")}));
    }
    let first = if cot { "reasoning" } else { "answer" };
    messages.push(json!({"role": "user", "content": format!(
        "[[ ## question ## ]]\n{question}\n\nRespond with the corresponding output fields, starting with the field `[[ ## {first} ## ]]`{}, and then ending with the marker for `[[ ## completed ## ]]`.",
        if cot { ", then `[[ ## answer ## ]]` (must be formatted as a valid Python int)" } else { " (must be formatted as a valid Python int)" }
    )}));
    Value::Array(messages)
}

/// The `[[ ## name ## ]]` section of a ChatAdapter answer.
pub fn chat_field(content: &str, name: &str) -> Option<String> {
    let marker = format!("[[ ## {name} ## ]]");
    let start = content.find(&marker)? + marker.len();
    let rest = content.get(start..)?;
    let end = rest.find("[[ ## ").unwrap_or(rest.len());
    Some(rest.get(..end)?.trim().to_owned())
}

/// POSTs JSON and returns status, headers and body JSON.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = client
        .post(url)
        .json(body)
        .send()
        .await
        .expect("request sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let v = resp.json::<Value>().await.expect("JSON body");
    (status, headers, v)
}

/// The first choice's content.
pub fn content(v: &Value) -> String {
    v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Validates `value` against `schema` (the subset structured outputs use);
/// returns the first violation.
pub fn validate(value: &Value, schema: &Value, root: &Value, path: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix("#/")
            .and_then(|p| p.split('/').try_fold(root, |n, k| n.get(k)))
            .ok_or_else(|| format!("{path}: bad $ref {r}"))?;
        return validate(value, target, root, path);
    }
    if let Some(branches) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        return if branches
            .iter()
            .any(|b| validate(value, b, root, path).is_ok())
        {
            Ok(())
        } else {
            Err(format!("{path}: matches no branch"))
        };
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return Err(format!("{path}: {value} not in enum"));
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let ok = types.iter().any(|t| match *t {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !ok {
            return Err(format!("{path}: {value} is not {types:?}"));
        }
    }
    if let Some(obj) = value.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let k = req.as_str().unwrap_or("");
            if !obj.contains_key(k) {
                return Err(format!("{path}: missing required {k}"));
            }
        }
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(v, s, root, &format!("{path}.{k}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{path}: unexpected property {k}"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            validate(v, items, root, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}
