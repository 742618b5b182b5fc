//! Streaming a predictor's output fields as the LM writes them (DSPy's `streamify`).
//!
//! [`streamify`] (or [`Predict::stream`]) makes one streaming LM call and yields
//! [`StreamEvent`]s: [`StreamEvent::FieldDelta`] pieces of an output field's text as they
//! arrive, [`StreamEvent::FieldDone`] when a field is complete, and finally
//! [`StreamEvent::Prediction`] with the parsed, typed outputs. Field pieces come from reading the
//! ChatAdapter's `[[ ## field ## ]]` markers incrementally; with another adapter the fields are
//! reported done at the end, just before the prediction. No fallback adapter is tried once text
//! has been streamed (as DSPy). The stream is driven by whoever polls it; nothing is spawned.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;

use futures_core::Stream;
use futures_util::StreamExt;
use hone_core::adapter::Adapter;
use hone_core::{Example, Prediction, Signature};
use hone_lm::{ChatRequest, ChatStream, LmHandle, StreamAccumulator, StreamOptions};

use crate::context::{ApplySampling, CallContext};
use crate::error::ModuleError;
use crate::predict::{Predict, set_response_format, to_lm_message};
use crate::trace::TraceEntry;

/// One event of a streamed predictor call.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// More text of an output field.
    FieldDelta {
        /// The output field.
        field: String,
        /// The new text.
        text: String,
    },
    /// An output field is complete.
    FieldDone {
        /// The output field.
        field: String,
    },
    /// The parsed outputs; the last event.
    Prediction(Prediction),
}

/// A stream of [`StreamEvent`]s (boxed and pinned, so `.next().await` works directly).
pub type EventStream<'a> =
    Pin<Box<dyn Stream<Item = Result<StreamEvent, ModuleError>> + Send + 'a>>;

/// Streams a predictor call; see the [module docs](self).
pub fn streamify<'a>(
    predict: &'a Predict,
    inputs: Example,
    ctx: &'a CallContext,
) -> EventStream<'a> {
    let state = State::Init {
        predict,
        inputs,
        ctx,
    };
    Box::pin(futures_util::stream::unfold(state, |state| async move {
        step(state).await
    }))
}

impl Predict {
    /// Streams this predictor's call: see [`streamify`].
    pub fn stream<'a>(&'a self, inputs: Example, ctx: &'a CallContext) -> EventStream<'a> {
        streamify(self, inputs, ctx)
    }
}

enum State<'a> {
    Init {
        predict: &'a Predict,
        inputs: Example,
        ctx: &'a CallContext,
    },
    Live(Box<Live<'a>>),
    Draining(VecDeque<Result<StreamEvent, ModuleError>>),
}

struct Live<'a> {
    ctx: &'a CallContext,
    name: String,
    lm: LmHandle,
    signature: Signature,
    inputs: Example,
    adapter: Arc<dyn Adapter>,
    request: ChatRequest,
    chunks: ChatStream,
    acc: StreamAccumulator,
    parser: FieldParser,
    queue: VecDeque<Result<StreamEvent, ModuleError>>,
}

type Step<'a> = Option<(Result<StreamEvent, ModuleError>, State<'a>)>;

async fn step(state: State<'_>) -> Step<'_> {
    let mut state = state;
    loop {
        match state {
            State::Init {
                predict,
                inputs,
                ctx,
            } => match start(predict, inputs, ctx).await {
                Ok(live) => state = State::Live(Box::new(live)),
                Err(e) => return Some((Err(e), State::Draining(VecDeque::new()))),
            },
            State::Draining(mut queue) => {
                let item = queue.pop_front()?;
                return Some((item, State::Draining(queue)));
            }
            State::Live(mut live) => {
                if let Some(item) = live.queue.pop_front() {
                    return Some((item, State::Live(live)));
                }
                match live.chunks.next().await {
                    Some(Ok(chunk)) => {
                        live.acc.push(&chunk);
                        for choice in chunk.choices.iter().filter(|c| c.index == 0) {
                            if let Some(text) = &choice.delta.content {
                                let events = live.parser.push(text);
                                live.queue.extend(events.into_iter().map(Ok));
                            }
                        }
                        state = State::Live(live);
                    }
                    Some(Err(source)) => {
                        let e = ModuleError::Lm {
                            predictor: live.name.clone(),
                            model: hone_lm::Lm::describe(&live.lm).model,
                            source: Box::new(source),
                        };
                        return Some((Err(e), State::Draining(VecDeque::new())));
                    }
                    None => state = State::Draining(finish(*live)),
                }
            }
        }
    }
}

async fn start<'a>(
    predict: &'a Predict,
    inputs: Example,
    ctx: &'a CallContext,
) -> Result<Live<'a>, ModuleError> {
    let name = ctx.predictor_name().to_owned();
    let lm = ctx.resolve_lm(predict.lm())?;
    let (signature, inputs) = predict.prepare(inputs, ctx)?;
    let config = predict.effective_config(ctx, &lm);
    let adapter = predict.adapter_for(ctx);
    let messages = adapter
        .format(&signature, predict.demos(), &inputs)
        .map_err(|source| ModuleError::Format {
            predictor: name.clone(),
            source: Box::new(source),
        })?;
    let mut request = ChatRequest::new(messages.iter().map(to_lm_message).collect());
    config.apply(&mut request);
    request.n = None;
    set_response_format(&mut request, adapter.response_format(&signature));
    request.stream = Some(true);
    request.stream_options = Some(StreamOptions {
        include_usage: Some(true),
        ..StreamOptions::default()
    });
    let chunks = hone_lm::Lm::chat_stream(&lm, request.clone(), ctx.options())
        .await
        .map_err(|source| ModuleError::Lm {
            predictor: name.clone(),
            model: hone_lm::Lm::describe(&lm).model,
            source: Box::new(source),
        })?;
    let outputs: Vec<String> = signature.outputs.iter().map(|f| f.name.clone()).collect();
    let marker_based = adapter.name() == "ChatAdapter";
    Ok(Live {
        ctx,
        name,
        lm,
        signature,
        inputs,
        adapter,
        request,
        chunks,
        acc: StreamAccumulator::default(),
        parser: FieldParser::new(outputs, marker_based),
        queue: VecDeque::new(),
    })
}

/// The events after the LM's stream ended: the remaining field events and the prediction.
fn finish(mut live: Live<'_>) -> VecDeque<Result<StreamEvent, ModuleError>> {
    let mut queue = std::mem::take(&mut live.queue);
    let response = live.acc.finish();
    let text = response.text().unwrap_or_default();
    match live.adapter.parse(&live.signature, &text) {
        Ok(prediction) => {
            queue.extend(live.parser.end().into_iter().map(Ok));
            if let Some(sink) = live.ctx.trace() {
                let info = hone_lm::Lm::describe(&live.lm);
                sink.push(TraceEntry {
                    predictor: live.name.clone(),
                    signature: live.signature.clone(),
                    inputs: live.inputs.clone(),
                    outputs: prediction.clone(),
                    completions: Vec::new(),
                    lm_model: info.model,
                    lm_base_url: info.base_url,
                    response_model: response.model.clone(),
                    usage: response.usage.clone(),
                    cached: false,
                    adapter: live.adapter.name(),
                    messages: live.request.messages.clone(),
                    completion: text,
                });
            }
            queue.push_back(Ok(StreamEvent::Prediction(prediction)));
        }
        Err(source) => queue.push_back(Err(ModuleError::Parse {
            predictor: live.name,
            source: Box::new(source),
            fallback: None,
            truncated: response.finish_reasons().contains(&"length"),
        })),
    }
    queue
}

const OPEN: &str = "[[ ## ";
const CLOSE: &str = " ## ]]";

/// Reads `[[ ## field ## ]]` sections from text arriving in pieces.
#[derive(Debug)]
pub(crate) struct FieldParser {
    outputs: Vec<String>,
    marker_based: bool,
    text: String,
    /// Where to look for the next marker.
    scan: usize,
    /// The field being written and where its unsent text starts.
    current: Option<String>,
    sent: usize,
    /// Whether any text of the current field was sent (leading whitespace is skipped).
    started: bool,
    done: Vec<String>,
}

impl FieldParser {
    pub(crate) fn new(outputs: Vec<String>, marker_based: bool) -> Self {
        FieldParser {
            outputs,
            marker_based,
            text: String::new(),
            scan: 0,
            current: None,
            sent: 0,
            started: false,
            done: Vec::new(),
        }
    }

    /// Takes a piece of text; returns the events it completes.
    pub(crate) fn push(&mut self, piece: &str) -> Vec<StreamEvent> {
        if !self.marker_based {
            return Vec::new();
        }
        self.text.push_str(piece);
        let mut events = Vec::new();
        while let Some(open) = self.text[self.scan..].find(OPEN).map(|i| i + self.scan) {
            let name_start = open + OPEN.len();
            let Some(close) = self.text[name_start..].find(CLOSE).map(|i| i + name_start) else {
                break;
            };
            let name = self.text[name_start..close].to_owned();
            if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                self.scan = name_start;
                continue;
            }
            self.emit(open, &mut events);
            self.close_current(&mut events);
            let end = close + CLOSE.len();
            self.scan = end;
            self.sent = end;
            self.started = false;
            if self.outputs.contains(&name) && !self.done.contains(&name) {
                self.current = Some(name);
            }
        }
        // Text that may be the start of a marker is held back.
        let safe = match self.text[self.scan..].rfind('[') {
            Some(i) => {
                let at = self.scan + i;
                let tail = &self.text[at..];
                let held = self.text[self.scan..at].ends_with('[');
                if OPEN.starts_with(tail) || tail.starts_with(OPEN) || held {
                    if held { at - 1 } else { at }
                } else {
                    self.text.len()
                }
            }
            None => self.text.len(),
        };
        self.emit(safe, &mut events);
        events
    }

    /// Sends the current field's text up to `upto`; leading whitespace of a field is skipped
    /// and trailing whitespace held back (and dropped at the field's end).
    fn emit(&mut self, upto: usize, events: &mut Vec<StreamEvent>) {
        let Some(field) = &self.current else {
            return;
        };
        if upto <= self.sent {
            return;
        }
        let mut piece = &self.text[self.sent..upto];
        if !self.started {
            let trimmed = piece.trim_start();
            self.sent += piece.len() - trimmed.len();
            piece = trimmed;
        }
        let body = piece.trim_end();
        if body.is_empty() {
            return;
        }
        events.push(StreamEvent::FieldDelta {
            field: field.clone(),
            text: body.to_owned(),
        });
        self.started = true;
        self.sent += body.len();
    }

    fn close_current(&mut self, events: &mut Vec<StreamEvent>) {
        if let Some(field) = self.current.take() {
            events.push(StreamEvent::FieldDone {
                field: field.clone(),
            });
            self.done.push(field);
        }
    }

    /// The events at the end of the text: the open field closed, and every output field not
    /// yet reported done.
    pub(crate) fn end(&mut self) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        let len = self.text.len();
        self.emit(len, &mut events);
        self.close_current(&mut events);
        for f in self.outputs.clone() {
            if !self.done.contains(&f) {
                events.push(StreamEvent::FieldDone { field: f.clone() });
                self.done.push(f);
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&str]) -> Vec<StreamEvent> {
        let mut p = FieldParser::new(vec!["reasoning".into(), "answer".into()], true);
        let mut out = Vec::new();
        for piece in pieces {
            out.extend(p.push(piece));
        }
        out.extend(p.end());
        out
    }

    fn text_of(events: &[StreamEvent], field: &str) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::FieldDelta { field: f, text } if f == field => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn splits_fields_across_arbitrary_pieces() {
        let full = "[[ ## reasoning ## ]]\nAdd the numbers.\nThen done.\n\n[[ ## answer ## ]]\n42\n\n[[ ## completed ## ]]";
        for size in [1, 2, 3, 5, 7, 100] {
            let chars: Vec<char> = full.chars().collect();
            let pieces: Vec<String> = chars.chunks(size).map(|c| c.iter().collect()).collect();
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            let events = run(&refs);
            assert_eq!(
                text_of(&events, "reasoning").replace([' ', '\n'], ""),
                "Addthenumbers.Thendone.",
                "size {size}"
            );
            assert_eq!(text_of(&events, "answer"), "42", "size {size}");
            let done: Vec<&StreamEvent> = events
                .iter()
                .filter(|e| matches!(e, StreamEvent::FieldDone { .. }))
                .collect();
            assert_eq!(done.len(), 2);
        }
    }
}
