//! Which tracer llm-trace's spans come from, and how it stays free when there is none.
//!
//! The tracer is the one given to [`set_tracer_provider`] if any, else the OpenTelemetry
//! global provider's. The global API cannot say whether a real provider is installed, so
//! llm-trace learns it from its own root spans: a no-op tracer hands back an invalid span
//! context. After such a span, llm-trace skips span creation entirely (no allocation) for
//! [`NOOP_RECHECK`] before asking the global provider again; a provider installed
//! through [`set_tracer_provider`] takes effect at once.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use opentelemetry::global::{self, BoxedSpan, BoxedTracer};
use opentelemetry::trace::{Span, SpanBuilder, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, InstrumentationScope};

/// How long llm-trace trusts that the global provider is a no-op before asking again.
pub const NOOP_RECHECK: Duration = Duration::from_secs(1);

/// The instrumentation scope name of llm-trace's spans.
pub const SCOPE_NAME: &str = "llm-trace";

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

fn installed_slot() -> &'static RwLock<Option<Arc<BoxedTracer>>> {
    static INSTALLED: OnceLock<RwLock<Option<Arc<BoxedTracer>>>> = OnceLock::new();
    INSTALLED.get_or_init(|| RwLock::new(None))
}

/// Whether the OpenTelemetry global tracer provider is the default no-op one (nobody
/// installed a provider).
///
/// Asks the global tracer for a child of a made-up, sampled-out remote parent: a no-op
/// tracer hands the parent's own context back, a real one makes a new span id (and, with
/// the default parent-based sampler, records and exports nothing).
pub fn global_provider_is_noop() -> bool {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    let parent = SpanContext::new(
        TraceId::from_bytes(*b"llm-trace-probe!"),
        SpanId::from_bytes(*b"probe-id"),
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    let cx = Context::new().with_remote_span_context(parent.clone());
    let tracer = global::tracer_with_scope(scope());
    let span = tracer.build_with_context(SpanBuilder::from_name("llm-trace provider probe"), &cx);
    span.span_context().span_id() == parent.span_id()
}

/// Whether [`set_tracer_provider`] installed a tracer: a lock-free fast path for the
/// common case where it did not.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Nanoseconds after [`epoch`] until which the global provider is taken to be a no-op.
static NOOP_UNTIL: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_nanos() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Makes llm-trace take its spans from `provider` instead of the global provider.
///
/// Use it when the application keeps its own provider (tests with an in-memory exporter,
/// several pipelines); `llm_trace::init()` calls it for the provider it builds.
///
/// ```
/// use opentelemetry::trace::noop::NoopTracerProvider;
/// llm_trace_core::tracer::set_tracer_provider(&NoopTracerProvider::new());
/// llm_trace_core::tracer::clear_tracer_provider();
/// ```
pub fn set_tracer_provider<P>(provider: &P)
where
    P: TracerProvider,
    P::Tracer: Send + Sync + 'static,
    <P::Tracer as Tracer>::Span: Send + Sync + 'static,
{
    let tracer = Arc::new(BoxedTracer::new(Box::new(
        provider.tracer_with_scope(scope()),
    )));
    match installed_slot().write() {
        Ok(mut slot) => *slot = Some(tracer),
        Err(poisoned) => *poisoned.into_inner() = Some(tracer),
    }
    INSTALLED.store(true, Ordering::Release);
    NOOP_UNTIL.store(0, Ordering::Relaxed);
}

/// Goes back to the global provider (undoes [`set_tracer_provider`]).
pub fn clear_tracer_provider() {
    INSTALLED.store(false, Ordering::Release);
    match installed_slot().write() {
        Ok(mut slot) => *slot = None,
        Err(poisoned) => *poisoned.into_inner() = None,
    }
    NOOP_UNTIL.store(0, Ordering::Relaxed);
}

enum Source {
    Installed(Arc<BoxedTracer>),
    Global(BoxedTracer),
}

fn source() -> Option<Source> {
    if INSTALLED.load(Ordering::Acquire) {
        let installed = match installed_slot().read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if let Some(tracer) = installed {
            return Some(Source::Installed(tracer));
        }
    }
    if global_known_noop() {
        return None;
    }
    Some(Source::Global(global::tracer_with_scope(scope())))
}

/// Whether the global provider was seen to be a no-op less than [`NOOP_RECHECK`] ago.
fn global_known_noop() -> bool {
    let until = NOOP_UNTIL.load(Ordering::Relaxed);
    until != 0 && now_nanos() < until
}

/// Where spans would come from right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceState {
    /// A provider given to [`set_tracer_provider`].
    Installed,
    /// The global provider, not known to be a no-op.
    GlobalLive,
    /// The global provider, seen to be a no-op less than [`NOOP_RECHECK`] ago.
    GlobalNoop,
}

/// Where spans would come from right now (one clock read at most).
pub fn source_state() -> SourceState {
    if INSTALLED.load(Ordering::Acquire) {
        SourceState::Installed
    } else if global_known_noop() {
        SourceState::GlobalNoop
    } else {
        SourceState::GlobalLive
    }
}

/// The sampling decision a parent span passes on: `Some(sampled)` when `parent` carries a
/// valid span context, `None` for a root.
fn parent_sampling(parent: &Context) -> Option<bool> {
    let span = parent.span();
    let context = span.span_context();
    context.is_valid().then(|| context.is_sampled())
}

/// Whether a span started now under `parent` could record, given where spans come from:
/// `false` when the parent is sampled out (parent-based sampling) or the only tracer is
/// known to be a no-op. Cheap, and allocation-free.
pub fn may_record(parent: &Context, state: SourceState) -> bool {
    parent_sampling(parent).unwrap_or(state != SourceState::GlobalNoop)
}

/// Starts a span under `parent`, or returns `None` when no real tracer is installed or
/// the parent is sampled out (llm-trace samples parent-based: the children of a
/// sampled-out span are not created at all).
///
/// The span may still be non-recording (sampled out by the sampler); it is returned so
/// its children inherit the decision.
pub fn start_span(
    name: Cow<'static, str>,
    builder: impl FnOnce(SpanBuilder) -> SpanBuilder,
    parent: &Context,
) -> Option<BoxedSpan> {
    let parent_sampled = parent_sampling(parent);
    if parent_sampled == Some(false) {
        // Parent-based sampling: under a sampled-out parent nothing records, and the
        // parent's context already carries the decision to the children.
        return None;
    }
    let source = source()?;
    let builder = builder(SpanBuilder::from_name(name));
    let (span, global) = match &source {
        Source::Installed(tracer) => (tracer.build_with_context(builder, parent), false),
        Source::Global(tracer) => (tracer.build_with_context(builder, parent), true),
    };
    if !span.span_context().is_valid() {
        if global && parent_sampled.is_none() {
            // Only a no-op tracer answers a root span with an invalid context.
            let until = now_nanos().saturating_add(NOOP_RECHECK.as_nanos() as u64);
            NOOP_UNTIL.store(until.max(1), Ordering::Relaxed);
        }
        return None;
    }
    Some(span)
}
