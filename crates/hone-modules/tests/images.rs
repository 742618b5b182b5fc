//! Image inputs reach the LM as content parts (text, `image_url`, text), as DSPy sends them,
//! and the image is part of the request's cache key.

mod common;

use std::sync::{Arc, Mutex};

use hone_core::Example;
use hone_lm::{CacheKey, ChatRequest, Content, ContentPart};
use hone_modules::{CallContext, Module, Predict};
use serde_json::json;

#[tokio::test]
async fn image_inputs_are_sent_as_content_parts() {
    let seen: Arc<Mutex<Vec<ChatRequest>>> = Arc::default();
    let record = Arc::clone(&seen);
    let lm = common::ScriptedLm::new(move |req| {
        record.lock().expect("lock").push(req.clone());
        "[[ ## caption ## ]]\nA dog.\n\n[[ ## completed ## ]]".to_owned()
    });
    let ctx = CallContext::with_default_lm(hone_lm::LmHandle::new(lm));
    let describe = Predict::new("photo: Image, question -> caption").expect("signature");
    for url in [
        "https://example.com/dog.png",
        "data:image/png;base64,iVBORw0KGgo=",
    ] {
        let out = describe
            .call(
                Example::new()
                    .with("photo", url)
                    .with("question", "What is it?"),
                &ctx,
            )
            .await
            .expect("answers");
        assert_eq!(out.get("caption"), Some(&json!("A dog.")));
    }
    let requests = seen.lock().expect("lock").clone();
    assert_eq!(requests.len(), 2);
    let user = &requests[0].messages[1];
    let Some(Content::Parts(parts)) = &user.content else {
        panic!("the user message has content parts: {user:?}")
    };
    assert!(matches!(&parts[0], ContentPart::Text { text } if text == "[[ ## photo ## ]]\n"));
    assert!(
        matches!(&parts[1], ContentPart::ImageUrl { image_url } if image_url.url == "https://example.com/dog.png")
    );
    assert!(
        matches!(&parts[2], ContentPart::Text { text } if text.starts_with("\n\n[[ ## question ## ]]\nWhat is it?"))
    );
    let body = serde_json::to_value(&requests[1]).expect("serializes");
    assert_eq!(
        body["messages"][1]["content"][1],
        json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}})
    );
    assert_ne!(
        CacheKey::chat("http://lm", &requests[0]),
        CacheKey::chat("http://lm", &requests[1]),
        "the image is part of the cache key"
    );
}
