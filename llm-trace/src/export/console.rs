//! A span exporter for people: each finished trace printed as an indented tree, one line
//! per span, with duration, model, tokens, cost and error; function lines show the totals
//! of the calls under them (`llm_trace.total.*`).
//!
//! ```text
//! ask  612.4 ms  2 calls  tokens 20 in / 9 out  cost $0.0000047
//!   chat mistral-small-latest  401.2 ms  tokens 11 in / 9 out  cost $0.0000038
//!   embeddings mistral-embed  98.0 ms  tokens 9 in  cost $0.0000009
//! stream_answer  658.2 ms  1 call  tokens 11 in / 15 out  cost $0.0000056
//!   chat mistral-small-latest  658.1 ms  first chunk 41.3 ms  15 chunks  tokens 11 in / 15 out  cost $0.0000056
//! ```
//!
//! Spans are held until the root span of their trace ends (or the exporter shuts down),
//! then printed in start order.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry::Value;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use llm_trace_core::__private::lock;
use llm_trace_core::semconv;

/// Where console output goes.
pub(crate) type Sink = Arc<Mutex<dyn Write + Send>>;

/// Prints finished traces as indented trees of one-line span summaries.
#[derive(Clone)]
pub struct ConsoleExporter {
    sink: Sink,
    colour: bool,
    pending: Arc<Mutex<HashMap<TraceId, Vec<SpanData>>>>,
}

impl std::fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleExporter")
    }
}

impl Default for ConsoleExporter {
    fn default() -> Self {
        ConsoleExporter::stdout()
    }
}

impl ConsoleExporter {
    /// Prints to standard output, in colour when it is a terminal.
    pub fn stdout() -> Self {
        use std::io::IsTerminal;
        let colour = std::io::stdout().is_terminal();
        ConsoleExporter::to_writer(std::io::stdout()).with_colour(colour)
    }

    /// Colours names, costs and errors with ANSI escapes.
    pub fn with_colour(mut self, colour: bool) -> Self {
        self.colour = colour;
        self
    }

    pub(crate) fn to_sink(sink: Sink, colour: bool) -> Self {
        ConsoleExporter {
            sink,
            colour,
            pending: Arc::default(),
        }
    }

    /// Prints to `writer` (a file, a buffer in tests).
    ///
    /// ```
    /// let exporter = llm_trace::console::ConsoleExporter::to_writer(Vec::<u8>::new());
    /// # drop(exporter);
    /// ```
    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        ConsoleExporter::to_sink(Arc::new(Mutex::new(writer)), false)
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<TraceId, Vec<SpanData>>> {
        lock(&self.pending)
    }

    fn print(&self, spans: Vec<SpanData>) {
        let text = render_tree(spans, self.colour);
        let mut sink = lock(&self.sink);
        // Console output failing (closed stdout) must not disturb the program.
        let _ = sink.write_all(text.as_bytes());
        let _ = sink.flush();
    }

    fn flush_all(&self) {
        let traces: Vec<Vec<SpanData>> = self.lock_pending().drain().map(|(_, s)| s).collect();
        for spans in traces {
            self.print(spans);
        }
    }
}

impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut complete = Vec::new();
        {
            let mut pending = self.lock_pending();
            for span in batch {
                let trace_id = span.span_context.trace_id();
                let is_root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
                pending.entry(trace_id).or_default().push(span);
                if is_root {
                    if let Some(spans) = pending.remove(&trace_id) {
                        complete.push(spans);
                    }
                }
            }
        }
        for spans in complete {
            self.print(spans);
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush_all();
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.flush_all();
        Ok(())
    }
}

/// ANSI styles, or nothing.
struct Style {
    colour: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// Renders the spans of one trace as an indented tree, children under their parent in
/// start order.
fn render_tree(mut spans: Vec<SpanData>, colour: bool) -> String {
    let style = Style { colour };
    spans.sort_by_key(|span| span.start_time);
    let ids: HashMap<SpanId, usize> = spans
        .iter()
        .enumerate()
        .map(|(index, span)| (span.span_context.span_id(), index))
        .collect();
    let mut children: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
    for (index, span) in spans.iter().enumerate() {
        let parent = ids.get(&span.parent_span_id).copied();
        children.entry(parent).or_default().push(index);
    }
    let mut out = String::new();
    let mut stack: Vec<(usize, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|&r| (r, 0)).collect())
        .unwrap_or_default();
    while let Some((index, depth)) = stack.pop() {
        render_line(&mut out, &spans[index], depth, &style);
        if let Some(kids) = children.get(&Some(index)) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    out
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn render_line(out: &mut String, span: &SpanData, depth: usize, style: &Style) {
    let duration = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default();
    let _ = write!(
        out,
        "{:indent$}{}  {:.1} ms",
        "",
        style.paint("1", &span.name),
        duration.as_secs_f64() * 1000.0,
        indent = depth * 2
    );
    let request_model = attribute(span, semconv::GEN_AI_REQUEST_MODEL);
    if let Some(model) = attribute(span, semconv::GEN_AI_RESPONSE_MODEL) {
        if Some(model) != request_model {
            let _ = write!(out, "  model {model}");
        }
    }
    if let Some(Value::F64(seconds)) = attribute(span, semconv::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
    {
        let _ = write!(out, "  first chunk {:.1} ms", seconds * 1000.0);
    }
    if let Some(Value::I64(chunks)) = attribute(span, semconv::LLM_TRACE_STREAM_CHUNKS) {
        let _ = write!(out, "  {chunks} chunks");
    }
    render_totals(out, span, style);
    let input = attribute(span, semconv::GEN_AI_USAGE_INPUT_TOKENS);
    let output = attribute(span, semconv::GEN_AI_USAGE_OUTPUT_TOKENS);
    match (input, output) {
        (Some(input), Some(output)) => {
            let _ = write!(out, "  tokens {input} in / {output} out");
        }
        (Some(input), None) => {
            let _ = write!(out, "  tokens {input} in");
        }
        _ => {}
    }
    if let Some(Value::F64(cost)) = attribute(span, semconv::GEN_AI_USAGE_COST) {
        let _ = write!(out, "  {}", style.paint("32", &format!("cost ${cost}")));
    }
    if let Status::Error { description } = &span.status {
        let mut error = String::from("ERROR");
        if let Some(error_type) = attribute(span, semconv::ERROR_TYPE) {
            let _ = write!(error, " {error_type}");
        }
        if !description.is_empty() {
            let _ = write!(error, " ({description})");
        }
        let _ = write!(out, "  {}", style.paint("31", &error));
    }
    if let Some(Value::Bool(true)) = attribute(span, semconv::LLM_TRACE_USAGE_MISSING) {
        let _ = write!(out, "  usage missing");
    }
    if let Some(Value::Bool(true)) = attribute(span, semconv::LLM_TRACE_CANCELLED) {
        let _ = write!(out, "  cancelled");
    }
    if let Some(Value::Bool(true)) = attribute(span, semconv::LLM_TRACE_LATE) {
        let _ = write!(out, "  after its function returned");
    }
    out.push('\n');
}

/// A function span's roll-up: `3 calls (1 failed)  tokens 19 in / 9 out  cost $0.0000046`,
/// and what the totals leave out. Nothing for a function without calls.
fn render_totals(out: &mut String, span: &SpanData, style: &Style) {
    let count = |key: &str| match attribute(span, key) {
        Some(Value::I64(count)) => Some(*count),
        _ => None,
    };
    let Some(calls) = count(semconv::LLM_TRACE_TOTAL_CALLS).filter(|calls| *calls > 0) else {
        return;
    };
    let noun = if calls == 1 { "call" } else { "calls" };
    let _ = write!(out, "  {calls} {noun}");
    if let Some(errors) = count(semconv::LLM_TRACE_TOTAL_ERRORS).filter(|e| *e > 0) {
        let _ = write!(out, " ({errors} failed)");
    }
    match (
        count(semconv::LLM_TRACE_TOTAL_INPUT_TOKENS),
        count(semconv::LLM_TRACE_TOTAL_OUTPUT_TOKENS),
    ) {
        (Some(input), Some(output)) => {
            let _ = write!(out, "  tokens {input} in / {output} out");
        }
        (Some(input), None) => {
            let _ = write!(out, "  tokens {input} in");
        }
        _ => {}
    }
    if let Some(Value::F64(cost)) = attribute(span, semconv::LLM_TRACE_TOTAL_COST) {
        let _ = write!(out, "  {}", style.paint("32", &format!("cost ${cost}")));
    }
    if let Some(unpriced) = count(semconv::LLM_TRACE_TOTAL_CALLS_UNPRICED) {
        let _ = write!(out, "  {unpriced} unpriced");
    }
    if let Some(without) = count(semconv::LLM_TRACE_TOTAL_CALLS_WITHOUT_USAGE) {
        let _ = write!(out, "  {without} without usage");
    }
}
