//! The adapter of an optimizer's proposals: a predict job (the optimizer's own signature)
//! renders with DSPy's ChatAdapter whatever adapter the program's context carries, and with the
//! executor's proposal adapter when one is set.

use std::sync::{Arc, Mutex};

use hone_core::adapter::JsonAdapter;
use hone_core::{Example, Signature};
use hone_eval::metric::ExactMatch;
use hone_eval::{CallSlots, Executor, InProcessExecutor};
use hone_lm::{
    BoxFuture, CallOptions, ChatRequest, ChatResponse, ChatStream, EmbeddingRequest,
    EmbeddingResponse, Lm, LmError, LmHandle, LmInfo,
};
use hone_modules::{CallContext, Predict};
use hone_optimize::{CallSettings, Job, JobId, JobSpec, LmRole};
use serde_json::json;

/// Records each request and answers in the ChatAdapter's format.
#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Vec<ChatRequest>>>);

impl Lm for Recording {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        _options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request);
        Box::pin(async {
            serde_json::from_value(json!({
                "id": "recorded", "object": "chat.completion", "created": 0, "model": "recorded",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
                    "content": "[[ ## proposed_instruction ## ]]\nBe brief.\n\n[[ ## completed ## ]]"}}],
            }))
            .map_err(|e| LmError::Config(e.to_string()))
        })
    }

    fn chat_stream<'a>(
        &'a self,
        _request: ChatRequest,
        _options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        Box::pin(async { Err(LmError::Config("no streaming".into())) })
    }

    fn embed<'a>(
        &'a self,
        _request: EmbeddingRequest,
        _options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        Box::pin(async { Err(LmError::Config("no embeddings".into())) })
    }

    fn describe(&self) -> LmInfo {
        let mut info = LmInfo::default();
        info.model = "recorded".into();
        info
    }
}

fn proposal_job() -> Job {
    let signature = Signature::parse("basic_instruction -> proposed_instruction")
        .unwrap_or_else(|e| panic!("{e}"));
    Job {
        id: JobId(1),
        spec: JobSpec::Predict {
            purpose: "instruction proposal".into(),
            signature,
            demos: Vec::new(),
            inputs: Example::new().with("basic_instruction", "Answer."),
            lm: LmRole::Proposer,
            n: 1,
            settings: CallSettings::default(),
        },
        deferred: false,
    }
}

/// The request a proposal job sends through `executor`.
async fn proposal_request(executor: InProcessExecutor, lm: &Recording) -> ChatRequest {
    let slots = CallSlots::new(1).for_job(1);
    executor.run(proposal_job(), slots).await;
    let requests = lm.0.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(requests.len(), 1, "one proposal call");
    requests[0].clone()
}

fn executor(lm: &Recording) -> InProcessExecutor {
    let program = Predict::new("question -> answer").unwrap_or_else(|e| panic!("{e}"));
    InProcessExecutor::from_template(
        program,
        LmHandle::new(lm.clone()),
        Arc::new(ExactMatch::new("answer")),
    )
    .with_lm(LmRole::Proposer, LmHandle::new(lm.clone()))
    // The program's adapter, as `compile(..., adapter="json")` sets it.
    .with_context(CallContext::new().with_adapter(JsonAdapter))
}

#[tokio::test]
async fn proposals_render_with_the_chat_adapter_whatever_the_programs_adapter() {
    let lm = Recording::default();
    let request = proposal_request(executor(&lm), &lm).await;
    assert!(request.response_format.is_none(), "{request:?}");
    let system = serde_json::to_string(&request.messages[0]).unwrap_or_default();
    assert!(
        system.contains("[[ ## proposed_instruction ## ]]"),
        "{system}"
    );
}

#[tokio::test]
async fn the_proposal_adapter_renders_proposals_when_set() {
    let lm = Recording::default();
    let executor = executor(&lm).with_proposal_adapter(Arc::new(JsonAdapter));
    let request = proposal_request(executor, &lm).await;
    assert!(request.response_format.is_some(), "{request:?}");
    let system = serde_json::to_string(&request.messages[0]).unwrap_or_default();
    assert!(system.contains("Outputs will be a JSON object"), "{system}");
}
