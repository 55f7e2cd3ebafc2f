//! The span processor that feeds the report: it reads each finished span, then hands it
//! on, unchanged, to the processor that exports it (so the span is not cloned).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use llm_trace_core::__private::lock;

use super::collector::Collector;

/// The collector, shared by the processor and the shutdown that writes the report.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) collector: Mutex<Collector>,
    /// Set if collecting ever panicked: the report then says it is incomplete.
    pub(crate) broken: AtomicBool,
}

impl Shared {
    /// Takes in one finished span; never panics, never blocks on anything but the
    /// collector's short lock.
    pub(crate) fn record(&self, span: &SpanData) {
        if !span.span_context.is_sampled() || self.broken.load(Ordering::Relaxed) {
            return;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut collector = lock(&self.collector);
            if collector.is_idle() && span.instrumentation_scope.name() != "llm-trace" {
                return;
            }
            collector.record(span);
        }));
        if outcome.is_err() {
            self.broken.store(true, Ordering::Relaxed);
        }
    }
}

/// Feeds the report, then `next`.
#[derive(Debug)]
pub(crate) struct ReportProcessor<P> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) next: P,
}

impl<P: SpanProcessor> SpanProcessor for ReportProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.next.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.shared.record(&span);
        self.next.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.next.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.next.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.next.set_resource(resource);
    }
}

/// The processor after the report's when spans go nowhere else (traces export `none`).
#[derive(Debug)]
pub(crate) struct NoExport;

impl SpanProcessor for NoExport {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, _span: SpanData) {}

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
