//! Helpers shared by llm-trace's integration tests: an in-memory span exporter installed
//! once per test binary, and per-trace span lookups so tests can run in parallel.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::OnceLock;

use opentelemetry::trace::{
    FutureExt, Span, Status, TraceContextExt, TraceId, Tracer, TracerProvider,
};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

pub mod alloc_counter;
pub mod fake;
pub mod logs;
pub mod otel_traces;
pub mod otlp_receiver;
pub mod tracing_capture;

/// A mistralai-client `Client` talking to the local server, without retries.
pub fn mistral_client(
    server: &llm_trace_mistral::testing::MockServer,
) -> mistralai_client::v1::client::Client {
    mistralai_client::v1::client::Client::new(
        Some("sk-test".into()),
        Some(server.endpoint()),
        Some(0),
        None,
    )
    .expect("a client with an explicit key")
}

/// The provider and exporter of this test binary.
pub struct Capture {
    pub provider: SdkTracerProvider,
    pub exporter: InMemorySpanExporter,
}

/// Installs (once) an in-memory exporter behind a simple processor, as llm-trace's provider.
pub fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        llm_trace::set_tracer_provider(&provider);
        Capture { provider, exporter }
    })
}

/// Serialises the tests that install process-wide telemetry (`init`, global providers).
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static EXCLUSIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    EXCLUSIVE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `work` under a fresh root span; returns its trace id and the result.
pub fn in_trace<T>(work: impl FnOnce() -> T) -> (TraceId, T) {
    let tracer = capture().provider.tracer("test");
    let span = tracer.start("test-root");
    let trace_id = span.span_context().trace_id();
    let cx = Context::current_with_span(span);
    let result = {
        let _guard = cx.clone().attach();
        work()
    };
    cx.span().end();
    (trace_id, result)
}

/// Runs `work` under a fresh root span; returns its trace id and the output.
pub async fn in_trace_async<F: Future>(work: F) -> (TraceId, F::Output) {
    let tracer = capture().provider.tracer("test");
    let span = tracer.start("test-root");
    let trace_id = span.span_context().trace_id();
    let cx = Context::current_with_span(span);
    let output = work.with_context(cx.clone()).await;
    cx.span().end();
    (trace_id, output)
}

/// Every finished span of a trace, except the test's own root, in end order.
pub fn spans(trace_id: TraceId) -> Vec<SpanData> {
    capture()
        .exporter
        .get_finished_spans()
        .unwrap_or_default()
        .into_iter()
        .filter(|span| span.span_context.trace_id() == trace_id && span.name != "test-root")
        .collect()
}

/// The one span named `name` in `spans`.
pub fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|span| span.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one span named {name:?}, found {} among {:?}",
        found.len(),
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    found[0]
}

/// A span's attributes as a sorted map.
pub fn attributes(span: &SpanData) -> BTreeMap<String, Value> {
    span.attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.clone()))
        .collect()
}

/// Builds an expected attribute map.
#[macro_export]
macro_rules! attrs {
    ($($key:expr => $value:expr),* $(,)?) => {{
        let mut map = ::std::collections::BTreeMap::<String, ::opentelemetry::Value>::new();
        $( map.insert(String::from($key), ::opentelemetry::Value::from($value)); )*
        map
    }};
}

/// A string array attribute value.
pub fn strings(values: &[&'static str]) -> Value {
    Value::Array(opentelemetry::Array::String(
        values.iter().map(|v| (*v).into()).collect(),
    ))
}

/// The spans in `spans` whose parent is `parent`.
pub fn children<'a>(spans: &'a [SpanData], parent: &SpanData) -> Vec<&'a SpanData> {
    spans
        .iter()
        .filter(|span| span.parent_span_id == parent.span_context.span_id())
        .collect()
}

/// Asserts `child`'s parent is `parent`.
pub fn assert_parent(child: &SpanData, parent: &SpanData) {
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{} should be a child of {}",
        child.name,
        parent.name
    );
}

/// Whether a span ended in error, with its `error.type`.
pub fn error_type(span: &SpanData) -> Option<String> {
    match span.status {
        Status::Error { .. } => Some(
            attributes(span)
                .get("error.type")
                .map(|v| v.to_string())
                .unwrap_or_default(),
        ),
        _ => None,
    }
}

/// A cloneable in-memory writer, for console output in tests.
#[derive(Clone, Default)]
pub struct SharedBuffer(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Replaces every duration like `412.3 ms` by `N ms`, for snapshots.
pub fn normalize_durations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find(" ms") {
        let (head, tail) = rest.split_at(index);
        let number_start = head
            .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map_or(0, |i| i + 1);
        if number_start < head.len() {
            out.push_str(&head[..number_start]);
            out.push('N');
        } else {
            out.push_str(head);
        }
        out.push_str(" ms");
        rest = &tail[3..];
    }
    out.push_str(rest);
    out
}

/// A span exporter that drops every span: for measuring llm-trace and the SDK, not an
/// exporter.
#[derive(Debug)]
pub struct Discard;

impl opentelemetry_sdk::trace::SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
        std::hint::black_box(batch);
        Ok(())
    }
}
