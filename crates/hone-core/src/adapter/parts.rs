//! DSPy's custom types inside messages: an image value is written into the text between
//! DSPy's `<<CUSTOM-TYPE-START-IDENTIFIER>>` and `<<CUSTOM-TYPE-END-IDENTIFIER>>` markers as the
//! content parts it stands for, and a user message holding markers is sent as a list of
//! content parts (text, `image_url`, text), as DSPy's `split_message_content_for_custom_types`
//! does.

use serde_json::{Value, json};

use super::pyfmt::{json_dumps, py_strip};
use crate::coerce::repair_json;
use crate::types::FieldType;

/// Where DSPy's serialized custom-type parts start.
pub const CUSTOM_TYPE_START: &str = "<<CUSTOM-TYPE-START-IDENTIFIER>>";
/// Where DSPy's serialized custom-type parts end.
pub const CUSTOM_TYPE_END: &str = "<<CUSTOM-TYPE-END-IDENTIFIER>>";

/// The URL (`https://…` or `data:` URI) of an image value: the string itself or `{"url": …}`.
pub(crate) fn image_url(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(map) => map.get("url").and_then(Value::as_str),
        _ => None,
    }
}

/// An image's bytes as the `data:` URI an image input takes (what `dspy.Image` makes of file
/// bytes): `data:<mime>;base64,<standard base64>`.
///
/// ```
/// use hone_core::adapter::parts::image_data_uri;
/// assert_eq!(image_data_uri("image/png", b"\x89PNG"), "data:image/png;base64,iVBORw==");
/// ```
pub fn image_data_uri(mime: &str, bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = format!("data:{mime};base64,");
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `dspy.Image.serialize_model`: the marked-up parts of one image.
fn image_marker(url: &str) -> Value {
    let parts = json!([{"type": "image_url", "image_url": {"url": url}}]);
    Value::String(format!(
        "{CUSTOM_TYPE_START}{}{CUSTOM_TYPE_END}",
        json_dumps(&parts)
    ))
}

/// The value with each image in it (where the type says one is) replaced by its marked-up
/// parts, as pydantic serializes a `dspy.Image` before DSPy formats a field.
pub(crate) fn mark_images(value: &Value, ty: &FieldType) -> Value {
    match (ty, value) {
        // Already marked up: how DSPy saves an image demo (`program.save`).
        (FieldType::Image, Value::String(s)) if s.starts_with(CUSTOM_TYPE_START) => value.clone(),
        (FieldType::Image, v) => image_url(v).map_or_else(|| v.clone(), image_marker),
        (FieldType::List { item }, Value::Array(items)) => {
            Value::Array(items.iter().map(|v| mark_images(v, item)).collect())
        }
        (FieldType::Dict { value: vt, .. }, Value::Object(map)) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mark_images(v, vt)))
                .collect(),
        ),
        (FieldType::Union { variants }, v) if !v.is_null() => {
            match variants.iter().find(|t| t.has_image()) {
                Some(t) if !variants.iter().any(|o| o != t && o.accepts(v)) => mark_images(v, t),
                _ => v.clone(),
            }
        }
        (_, v) => v.clone(),
    }
}

/// DSPy's `split_message_content_for_custom_types` for one user message's text: `None` when
/// it holds no custom type, else the content parts in order.
pub(crate) fn split_custom_types(content: &str) -> Option<Vec<Value>> {
    let mut parts = Vec::new();
    let mut last_end = 0;
    let mut search = 0;
    while let Some(start) = content[search..]
        .find(CUSTOM_TYPE_START)
        .map(|i| search + i)
    {
        let inner_start = start + CUSTOM_TYPE_START.len();
        let Some(inner_end) = content[inner_start..]
            .find(CUSTOM_TYPE_END)
            .map(|i| inner_start + i)
        else {
            break;
        };
        let end = inner_end + CUSTOM_TYPE_END.len();
        if start > last_end {
            parts.push(text_part(&content[last_end..start]));
        }
        let inner = py_strip(&content[inner_start..inner_end]);
        match parse_parts(inner) {
            Some(list) => parts.extend(list),
            None => parts.push(text_part(inner)),
        }
        last_end = end;
        search = end;
    }
    if last_end == 0 {
        return None;
    }
    if last_end < content.len() {
        parts.push(text_part(&content[last_end..]));
    }
    Some(parts)
}

fn text_part(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

/// The parts list inside markers: JSON, or JSON escaped once more (a custom type inside a
/// list or dict is serialized twice), or leniently repaired JSON; `None` when it is none of
/// these or empty.
fn parse_parts(inner: &str) -> Option<Vec<Value>> {
    let parsed = serde_json::from_str::<Value>(inner)
        .ok()
        .or_else(|| {
            let unescaped: String = serde_json::from_str(&format!("\"{inner}\"")).ok()?;
            serde_json::from_str(&unescaped).ok()
        })
        .or_else(|| repair_json(inner))?;
    match parsed {
        Value::Array(items) if !items.is_empty() => Some(items),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_uris_are_standard_base64() {
        assert_eq!(image_data_uri("image/gif", b""), "data:image/gif;base64,");
        assert_eq!(image_data_uri("a/b", b"f"), "data:a/b;base64,Zg==");
        assert_eq!(image_data_uri("a/b", b"fo"), "data:a/b;base64,Zm8=");
        assert_eq!(image_data_uri("a/b", b"foobar"), "data:a/b;base64,Zm9vYmFy");
    }

    #[test]
    fn images_become_parts_between_text() {
        let list = mark_images(
            &json!(["https://a/x.png", {"url": "data:image/png;base64,AA"}]),
            &FieldType::list(FieldType::Image),
        );
        let text = format!("before {}", json_dumps(&list));
        let parts = split_custom_types(&text).expect("has images");
        assert_eq!(
            parts,
            vec![
                json!({"type": "text", "text": "before [\""}),
                json!({"type": "image_url", "image_url": {"url": "https://a/x.png"}}),
                json!({"type": "text", "text": "\", \""}),
                json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}),
                json!({"type": "text", "text": "\"]"}),
            ]
        );
        assert_eq!(split_custom_types("no images"), None);
        let opt = FieldType::optional(FieldType::Image);
        assert_eq!(mark_images(&Value::Null, &opt), Value::Null);
        assert!(
            mark_images(&json!("https://a/b"), &opt)
                .as_str()
                .is_some_and(|s| s.starts_with(CUSTOM_TYPE_START))
        );
    }
}
