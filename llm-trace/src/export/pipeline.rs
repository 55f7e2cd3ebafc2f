//! The export pipeline of an OTLP `init`: a bounded span queue filled by the calling
//! threads, and one export thread that sends spans in batches and metrics on their
//! interval over the one HTTP client (or gRPC channel).
//!
//! Nothing is lost without being counted: a span that finds the queue full, a batch the
//! collector refused, a metric export that failed, and whatever is still queued when
//! shutdown's deadline passes are all counted, reported (one warning a minute at most,
//! and in the [`ShutdownReport`](crate::ShutdownReport)), and exposed as the
//! `llm_trace.telemetry.*` metrics. A calling thread never waits for the collector: it
//! only tries to put the span in the queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline as ReaderPipeline, Temporality,
};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use llm_trace_core::__private::lock;

use super::reporting;
use crate::settings::Batching;

/// What was lost, by cause. Shared by the calling threads, the export thread and the
/// shutdown.
#[derive(Debug, Default)]
pub(crate) struct Losses {
    /// Spans dropped because the queue was full.
    pub(crate) queue_full: AtomicU64,
    /// Spans in batches the collector did not take.
    pub(crate) export_failed: AtomicU64,
    /// Spans still queued or in flight when shutdown's deadline passed.
    pub(crate) at_shutdown: AtomicU64,
    /// Metric exports that failed.
    pub(crate) metric_exports_failed: AtomicU64,
    /// Spans delivered.
    pub(crate) exported: AtomicU64,
}

/// A snapshot of [`Losses`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LossCount {
    pub(crate) queue_full: u64,
    pub(crate) export_failed: u64,
    pub(crate) at_shutdown: u64,
    pub(crate) metric_exports_failed: u64,
    pub(crate) exported: u64,
}

impl Losses {
    pub(crate) fn count(&self) -> LossCount {
        LossCount {
            queue_full: self.queue_full.load(Ordering::Relaxed),
            export_failed: self.export_failed.load(Ordering::Relaxed),
            at_shutdown: self.at_shutdown.load(Ordering::Relaxed),
            metric_exports_failed: self.metric_exports_failed.load(Ordering::Relaxed),
            exported: self.exported.load(Ordering::Relaxed),
        }
    }
}

impl LossCount {
    /// Spans lost, all causes together.
    pub(crate) fn spans_lost(&self) -> u64 {
        self.queue_full + self.export_failed + self.at_shutdown
    }
}

/// What the export thread is told.
enum Command {
    /// A batch is ready (or, eager, a span is): export now.
    Wake,
    /// Export everything queued and the metrics, then answer.
    Flush(SyncSender<()>),
    /// Export what fits before the deadline, then answer and stop.
    Shutdown(Instant, SyncSender<()>),
}

/// The calling threads' side: a bounded queue of finished spans.
#[derive(Debug)]
pub(crate) struct QueueProcessor {
    spans: SyncSender<SpanData>,
    commands: SyncSender<Command>,
    /// Spans queued since the export thread last drained the queue.
    queued: Arc<AtomicU64>,
    batch: u64,
    eager: bool,
    losses: Arc<Losses>,
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        match self.spans.try_send(span) {
            Ok(()) => {
                let queued = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
                if self.eager && queued == 1 || queued == self.batch {
                    let _ = self.commands.try_send(Command::Wake);
                }
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.losses.queue_full.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let (done, answered) = mpsc::sync_channel(1);
        self.commands.try_send(Command::Flush(done)).map_err(|_| {
            OTelSdkError::InternalFailure("the export thread is busy or gone".into())
        })?;
        answered
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| OTelSdkError::Timeout(Duration::from_secs(30)))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        // The pipeline's own shutdown (through the Telemetry guard) stops the thread.
        Ok(())
    }

    fn set_resource(&mut self, _resource: &Resource) {}
}

/// Exports one batch of spans, blocking.
pub(crate) trait ExportSpans: Send {
    fn export(&mut self, batch: Vec<SpanData>) -> OTelSdkResult;
    fn shutdown(&mut self, timeout: Duration);
}

impl<E: SpanExporter> ExportSpans for E {
    fn export(&mut self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = futures_executor::block_on(SpanExporter::export(self, batch));
        if let Err(error) = &result {
            reporting::report("spans", error);
        }
        result
    }

    fn shutdown(&mut self, timeout: Duration) {
        let _ = self.shutdown_with_timeout(timeout);
    }
}

/// Collects and exports the metrics, blocking.
pub(crate) trait ExportMetrics: Send {
    fn export(&mut self) -> OTelSdkResult;
    fn shutdown(&mut self, timeout: Duration);
}

/// A metric exporter and the reader it collects from.
#[derive(Debug)]
pub(crate) struct MetricSink<M> {
    pub(crate) reader: Arc<ManualReader>,
    pub(crate) exporter: M,
}

impl<M: PushMetricExporter> ExportMetrics for MetricSink<M> {
    fn export(&mut self) -> OTelSdkResult {
        let mut metrics = ResourceMetrics::default();
        self.reader.collect(&mut metrics)?;
        let result = futures_executor::block_on(self.exporter.export(&metrics));
        if let Err(error) = &result {
            reporting::report("metrics", error);
        }
        result
    }

    fn shutdown(&mut self, timeout: Duration) {
        let _ = self.exporter.shutdown_with_timeout(timeout);
        let _ = self.reader.shutdown_with_timeout(timeout);
    }
}

/// A [`ManualReader`] shared between the meter provider (which owns its reader) and the
/// export thread (which collects from it).
#[derive(Debug, Clone)]
pub(crate) struct SharedReader(pub(crate) Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: std::sync::Weak<ReaderPipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, metrics: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(metrics)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// The export thread and its controls.
#[derive(Debug)]
pub(crate) struct Worker {
    commands: SyncSender<Command>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    pub(crate) losses: Arc<Losses>,
}

/// What the export thread owns.
struct Exports {
    spans: Option<(Receiver<SpanData>, Box<dyn ExportSpans>)>,
    /// The processor's count of spans queued since the last drain.
    queued: Arc<AtomicU64>,
    metrics: Option<(Box<dyn ExportMetrics>, Duration)>,
    commands: Receiver<Command>,
    batching: Batching,
    losses: Arc<Losses>,
}

/// How often the export thread may warn about lost telemetry.
const WARN_INTERVAL: Duration = Duration::from_secs(60);

impl Worker {
    /// Starts the export thread; returns it with the span processor that feeds it.
    pub(crate) fn start(
        spans: Option<Box<dyn ExportSpans>>,
        metrics: Option<(Box<dyn ExportMetrics>, Duration)>,
        batching: Batching,
    ) -> std::io::Result<(Worker, Option<QueueProcessor>)> {
        let losses = Arc::new(Losses::default());
        let queued = Arc::new(AtomicU64::new(0));
        let (commands_tx, commands) = mpsc::sync_channel(64);
        let (processor, spans) = match spans {
            Some(exporter) => {
                let (tx, rx) = mpsc::sync_channel(batching.max_queue_size);
                let processor = QueueProcessor {
                    spans: tx,
                    commands: commands_tx.clone(),
                    queued: Arc::clone(&queued),
                    batch: batching.max_export_batch_size as u64,
                    eager: batching.eager,
                    losses: Arc::clone(&losses),
                };
                (Some(processor), Some((rx, exporter)))
            }
            None => (None, None),
        };
        let exports = Exports {
            spans,
            metrics,
            commands,
            queued,
            batching,
            losses: Arc::clone(&losses),
        };
        let thread = std::thread::Builder::new()
            .name("llm-trace-export".into())
            .spawn(move || exports.run())?;
        Ok((
            Worker {
                commands: commands_tx,
                thread: Mutex::new(Some(thread)),
                losses,
            },
            processor,
        ))
    }

    /// Exports what is queued and the metrics, stops the thread, and says what was lost;
    /// returns by `deadline` (plus the time to count), whatever the collector does.
    pub(crate) fn shutdown(&self, deadline: Instant) -> LossCount {
        let (done, answered) = mpsc::sync_channel(1);
        let sent = self
            .commands
            .send(Command::Shutdown(deadline, done))
            .is_ok();
        let finished = sent
            && answered
                .recv_timeout(deadline.saturating_duration_since(Instant::now()) + GRACE)
                .is_ok();
        if finished {
            if let Some(thread) = lock(&self.thread).take() {
                let _ = thread.join();
            }
        }
        // Else the thread is stuck in a request that outlives the deadline: it is left to
        // finish in the background; what it held is counted as lost by `run`, or here.
        self.losses.count()
    }
}

/// Time allowed past the deadline for the export thread to answer.
const GRACE: Duration = Duration::from_millis(200);

impl Exports {
    fn run(mut self) {
        // Nothing done on this thread becomes telemetry: not the HTTP or gRPC client's own
        // `tracing` spans (which a tracing-opentelemetry layer would turn into spans to
        // export), nor llm-trace's warnings about lost telemetry.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        let mut next_metrics = self
            .metrics
            .as_ref()
            .map(|(_, interval)| Instant::now() + *interval);
        let mut last_warning = None::<Instant>;
        let mut reported = LossCount::default();
        loop {
            let wake_at = [
                Some(Instant::now() + self.batching.schedule_delay),
                next_metrics,
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| Instant::now() + self.batching.schedule_delay);
            match self
                .commands
                .recv_timeout(wake_at.saturating_duration_since(Instant::now()))
            {
                Ok(Command::Wake) | Err(RecvTimeoutError::Timeout) => {
                    self.export_spans(None);
                    if next_metrics.is_some_and(|at| Instant::now() >= at) {
                        self.export_metrics();
                        next_metrics = self.metrics.as_ref().map(|(_, i)| Instant::now() + *i);
                    }
                }
                Ok(Command::Flush(done)) => {
                    self.export_spans(None);
                    self.export_metrics();
                    let _ = done.send(());
                }
                Ok(Command::Shutdown(deadline, done)) => {
                    self.export_spans(Some(deadline));
                    if Instant::now() < deadline {
                        self.export_metrics();
                    } else if self.metrics.is_some() {
                        self.losses
                            .metric_exports_failed
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    self.count_leftovers();
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    if let Some((_, exporter)) = &mut self.spans {
                        exporter.shutdown(remaining);
                    }
                    if let Some((exporter, _)) = &mut self.metrics {
                        exporter.shutdown(remaining);
                    }
                    let _ = done.send(());
                    return;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.count_leftovers();
                    return;
                }
            }
            self.warn_if_lost(&mut last_warning, &mut reported);
        }
    }

    /// Exports queued spans in batches: all of them, or — before a deadline — as many
    /// batches as start before it.
    fn export_spans(&mut self, deadline: Option<Instant>) {
        let Some((queue, exporter)) = &mut self.spans else {
            return;
        };
        let batch_size = self.batching.max_export_batch_size;
        // Spans queued from now on will wake the thread again.
        self.queued.store(0, Ordering::Relaxed);
        loop {
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return;
            }
            let mut batch = Vec::with_capacity(batch_size.min(64));
            while batch.len() < batch_size {
                match queue.try_recv() {
                    Ok(span) => batch.push(span),
                    Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
                }
            }
            if batch.is_empty() {
                return;
            }
            let size = batch.len() as u64;
            match exporter.export(batch) {
                Ok(()) => self.losses.exported.fetch_add(size, Ordering::Relaxed),
                Err(_) => self.losses.export_failed.fetch_add(size, Ordering::Relaxed),
            };
        }
    }

    fn export_metrics(&mut self) {
        if let Some((exporter, _)) = &mut self.metrics {
            if exporter.export().is_err() {
                self.losses
                    .metric_exports_failed
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Counts the spans still queued as lost.
    fn count_leftovers(&mut self) {
        if let Some((queue, _)) = &self.spans {
            let left = queue.try_iter().count() as u64;
            self.losses.at_shutdown.fetch_add(left, Ordering::Relaxed);
        }
    }

    /// One line at most every [`WARN_INTERVAL`] when spans were dropped from the queue
    /// (export failures are reported as they happen).
    fn warn_if_lost(&self, last: &mut Option<Instant>, reported: &mut LossCount) {
        let count = self.losses.count();
        let new = count.queue_full - reported.queue_full;
        let due = last.is_none_or(|at| at.elapsed() >= WARN_INTERVAL);
        if new > 0 && due {
            reporting::emit(&format!(
                "llm-trace: {new} spans dropped because the export queue was full (the collector is slower than the program; OTEL_BSP_MAX_QUEUE_SIZE raises the limit); the program is not affected"
            ));
            *last = Some(Instant::now());
            *reported = count;
        }
    }
}
