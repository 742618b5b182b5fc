//! Tracing as a layer: one DEBUG span per call with OpenTelemetry GenAI attributes.
//!
//! The `tracing` span is named `gen_ai` (exported to OpenTelemetry as `chat MODEL` or
//! `embeddings MODEL`, through `otel.name`) and carries
//! `gen_ai.operation.name`, `gen_ai.system`, `gen_ai.provider.name`, `gen_ai.request.model`,
//! `gen_ai.request.temperature`, `gen_ai.request.top_p`, `gen_ai.request.max_tokens`,
//! `gen_ai.request.seed`, `gen_ai.response.model`, `gen_ai.response.id`,
//! `gen_ai.response.finish_reasons`, `gen_ai.usage.input_tokens`,
//! `gen_ai.usage.output_tokens`, `server.address`, `server.port`, `error.type`, and hone's
//! own `hone.cache_hit`, `hone.attempts`, `hone.cost_usd`, `hone.metadata`. `otel.name` is
//! `"{operation} {model}"` as the conventions ask.
//!
//! Levels: spans, retries and failures at DEBUG; bodies at TRACE; nothing at INFO or above
//! for a call. Keys and `Authorization` headers are never recorded.

use futures_util::StreamExt;
use tracing::Instrument;
use tracing::field::Empty;

use crate::error::LmError;
use crate::lm::{BoxFuture, CallOptions, ChatStream, Layer, Lm, LmInfo};
use crate::types::embeddings::{EmbeddingRequest, EmbeddingResponse};
use crate::types::request::ChatRequest;
use crate::types::response::ChatResponse;

/// Wraps an LM in [`Traced`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer;

impl<L: Lm> Layer<L> for TraceLayer {
    type Lm = Traced<L>;
    fn layer(&self, inner: L) -> Traced<L> {
        Traced {
            info: inner.describe(),
            inner,
        }
    }
}

/// An LM whose calls are traced. Built by [`TraceLayer`].
#[derive(Debug)]
pub struct Traced<L> {
    inner: L,
    info: LmInfo,
}

fn metadata(options: &CallOptions) -> Option<String> {
    (!options.metadata.is_empty()).then(|| {
        options
            .metadata
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

impl<L> Traced<L> {
    fn span(&self, operation: &'static str, model: &str, options: &CallOptions) -> tracing::Span {
        let span = tracing::debug_span!(
            "gen_ai",
            "otel.name" = %format!("{operation} {model}"),
            "otel.kind" = "client",
            "gen_ai.operation.name" = operation,
            "gen_ai.system" = %self.info.provider,
            "gen_ai.provider.name" = %self.info.provider,
            "gen_ai.request.model" = %model,
            "gen_ai.request.temperature" = Empty,
            "gen_ai.request.top_p" = Empty,
            "gen_ai.request.max_tokens" = Empty,
            "gen_ai.request.seed" = Empty,
            "gen_ai.response.model" = Empty,
            "gen_ai.response.id" = Empty,
            "gen_ai.response.finish_reasons" = Empty,
            "gen_ai.usage.input_tokens" = Empty,
            "gen_ai.usage.output_tokens" = Empty,
            "server.address" = %self.info.host,
            "server.port" = self.info.port,
            "error.type" = Empty,
            "hone.cache_hit" = Empty,
            "hone.attempts" = Empty,
            "hone.cost_usd" = Empty,
            "hone.metadata" = Empty,
        );
        if let Some(meta) = metadata(options) {
            span.record("hone.metadata", meta);
        }
        span
    }
}

fn record_error(span: &tracing::Span, err: &LmError) {
    span.record("error.type", err.kind_name());
    tracing::debug!(parent: span, error = %err, "call failed");
}

impl<L: Lm> Lm for Traced<L> {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        let request = self.info.resolve_chat(request);
        let span = self.span("chat", &request.model, options);
        if let Some(t) = request.temperature {
            span.record("gen_ai.request.temperature", t);
        }
        if let Some(p) = request.top_p {
            span.record("gen_ai.request.top_p", p);
        }
        if let Some(m) = request.output_token_limit() {
            span.record("gen_ai.request.max_tokens", m);
        }
        if let Some(s) = request.seed {
            span.record("gen_ai.request.seed", s);
        }
        let inner_span = span.clone();
        Box::pin(
            async move {
                let result = self.inner.chat(request, options).await;
                match &result {
                    Ok(response) => {
                        span.record("gen_ai.response.model", response.model.as_str());
                        span.record("gen_ai.response.id", response.id.as_str());
                        span.record(
                            "gen_ai.response.finish_reasons",
                            format!("{:?}", response.finish_reasons()),
                        );
                        if let Some(usage) = &response.usage {
                            span.record("gen_ai.usage.input_tokens", usage.prompt_tokens);
                            span.record("gen_ai.usage.output_tokens", usage.completion_tokens);
                        }
                        span.record("hone.cache_hit", response.meta.cached);
                        span.record("hone.attempts", response.meta.attempts);
                        if let Some(cost) = response.meta.cost_usd {
                            span.record("hone.cost_usd", cost);
                        }
                    }
                    Err(err) => record_error(&span, err),
                }
                result
            }
            .instrument(inner_span),
        )
    }

    fn chat_stream<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        let request = self.info.resolve_chat(request);
        let span = self.span("chat", &request.model, options);
        if let Some(t) = request.temperature {
            span.record("gen_ai.request.temperature", t);
        }
        if let Some(m) = request.output_token_limit() {
            span.record("gen_ai.request.max_tokens", m);
        }
        let inner_span = span.clone();
        Box::pin(
            async move {
                match self.inner.chat_stream(request, options).await {
                    Ok(stream) => {
                        let span = span.clone();
                        let mut finish_reasons: Vec<String> = Vec::new();
                        let traced: ChatStream = Box::pin(stream.map(move |item| {
                            match &item {
                                Ok(chunk) => {
                                    if !chunk.id.is_empty() {
                                        span.record("gen_ai.response.id", chunk.id.as_str());
                                        span.record("gen_ai.response.model", chunk.model.as_str());
                                    }
                                    for choice in &chunk.choices {
                                        if let Some(reason) = &choice.finish_reason {
                                            finish_reasons.push(reason.as_str().to_owned());
                                            span.record(
                                                "gen_ai.response.finish_reasons",
                                                format!("{finish_reasons:?}"),
                                            );
                                        }
                                    }
                                    if let Some(usage) = &chunk.usage {
                                        span.record(
                                            "gen_ai.usage.input_tokens",
                                            usage.prompt_tokens,
                                        );
                                        span.record(
                                            "gen_ai.usage.output_tokens",
                                            usage.completion_tokens,
                                        );
                                    }
                                }
                                Err(err) => record_error(&span, err),
                            }
                            item
                        }));
                        Ok(traced)
                    }
                    Err(err) => {
                        record_error(&span, &err);
                        Err(err)
                    }
                }
            }
            .instrument(inner_span),
        )
    }

    fn embed<'a>(
        &'a self,
        request: EmbeddingRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        let request = self.info.resolve_embed(request);
        let span = self.span("embeddings", &request.model, options);
        let inner_span = span.clone();
        Box::pin(
            async move {
                let result = self.inner.embed(request, options).await;
                match &result {
                    Ok(response) => {
                        span.record("gen_ai.response.model", response.model.as_str());
                        if let Some(usage) = &response.usage {
                            span.record("gen_ai.usage.input_tokens", usage.prompt_tokens);
                        }
                        span.record("hone.cache_hit", response.meta.cached);
                        span.record("hone.attempts", response.meta.attempts);
                    }
                    Err(err) => record_error(&span, err),
                }
                result
            }
            .instrument(inner_span),
        )
    }

    fn describe(&self) -> LmInfo {
        self.inner.describe()
    }
}

/// OTLP export of the spans (cargo feature `otlp`).
#[cfg(feature = "otlp")]
pub mod otlp {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
    use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::registry::LookupSpan;

    use crate::error::LmError;

    /// The layer [`otlp_layer`] returns: the OpenTelemetry layer behind a DEBUG level filter.
    pub type OtlpLayer<S> = tracing_subscriber::filter::Filtered<
        tracing_opentelemetry::OpenTelemetryLayer<S, Tracer>,
        tracing_subscriber::filter::LevelFilter,
        S,
    >;

    /// A `tracing-subscriber` layer exporting spans over OTLP/HTTP (protobuf) to `endpoint`
    /// (e.g. `http://localhost:4318/v1/traces`), plus the tracer provider. Keep the provider
    /// and call `shutdown()` on it before exit to flush. Nothing is installed globally.
    ///
    /// The layer passes DEBUG and above: the spans with their GenAI attributes go out, the
    /// TRACE events that hold request and response bodies (prompts, completions) do not.
    ///
    /// ```no_run
    /// use tracing_subscriber::layer::SubscriberExt;
    /// let (layer, provider) =
    ///     hone_lm::otlp::otlp_layer("http://localhost:4318/v1/traces", "my-app")?;
    /// let subscriber = tracing_subscriber::registry().with(layer);
    /// let _guard = tracing::subscriber::set_default(subscriber);
    /// // ... calls ...
    /// let _ = provider.shutdown();
    /// # Ok::<(), hone_lm::LmError>(())
    /// ```
    pub fn otlp_layer<S>(
        endpoint: &str,
        service_name: &str,
    ) -> Result<(OtlpLayer<S>, SdkTracerProvider), LmError>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        // The exporter runs on the batch processor's own thread, so it gets a blocking client,
        // with the same TLS setup as `HttpLm` (no process-wide crypto provider needed). A
        // blocking client cannot be built inside an async runtime: build it on a thread.
        let client = std::thread::spawn(|| -> Result<reqwest::blocking::Client, LmError> {
            let tls = crate::http::tls_config()?;
            reqwest::blocking::Client::builder()
                .tls_backend_preconfigured(tls)
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .map_err(|e| LmError::Config(format!("OTLP HTTP client setup failed: {e}")))
        })
        .join()
        .map_err(|_| LmError::Config("OTLP HTTP client setup panicked".into()))??;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| LmError::Config(format!("OTLP exporter for {endpoint}: {e}")))?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(service_name.to_owned())
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("hone-lm");
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG);
        Ok((layer, provider))
    }
}
