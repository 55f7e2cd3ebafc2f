//! Where llm-trace's spans come from, and how a traced call stays free when there is no
//! tracer.
//!
//! The tracer is an installed one (from a provider given to llm-trace), none, or the
//! OpenTelemetry global provider's. The global API cannot say whether a real provider is
//! installed, so llm-trace learns it from its own root spans: a no-op tracer hands back an
//! invalid span context. After such a span, llm-trace creates no span at all for
//! [`NOOP_RECHECK`] before asking the global provider again. Within that time each thread
//! reads the clock only every so many calls — as many as keep the extra delay before a new
//! global provider is noticed under a millisecond at that thread's call rate — so the
//! no-provider path costs a thread-local counter, not a clock read.
//!
//! A tracer llm-trace built the sampler of (`init()`'s) has its root spans decided by
//! llm-trace itself, with the sampler's rule: a dropped root costs no SDK span (see
//! [`root_sampling`](super::root_sampling)).
//!
//! A no-op tracer asked for a child of a valid parent hands back the parent's own span
//! context. When the global tracer does that under a parent made in this process, the
//! parent came from another tracer — typically a provider handed only to
//! tracing-opentelemetry's layer: llm-trace says once how to give it that provider, and
//! treats the global provider as the no-op it is.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::{Span, SpanBuilder, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, InstrumentationScope};

use super::root_sampling::{with_root_trace_id, RootDecision, RootSampling};

/// How long llm-trace trusts that the global provider is a no-op before asking again.
pub(crate) const NOOP_RECHECK: Duration = Duration::from_secs(1);

/// The instrumentation scope name of llm-trace's spans and metrics.
pub(crate) const SCOPE_NAME: &str = "llm-trace";

pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Where spans come from.
#[derive(Clone)]
pub(crate) enum TracerSource {
    /// The OpenTelemetry global tracer provider.
    Global,
    /// A tracer given to llm-trace.
    Installed(Arc<dyn SpanFactory>),
    /// No spans at all.
    Off,
}

/// Starts spans of one tracer, keeping its concrete span type until the span is in its
/// context (a `BoxedTracer` would box each span once more).
pub(crate) trait SpanFactory: Send + Sync {
    /// What the factory decided about a span started now under `parent` before any span
    /// is built, if it decides such spans itself (see [`SampledTracer`]).
    fn decide(&self, _parent: &Context) -> Option<RootDecision> {
        None
    }

    /// A new span under `parent`, sampled as `decision` (from [`SpanFactory::decide`])
    /// says.
    fn start(
        &self,
        builder: SpanBuilder,
        parent: &Context,
        decision: Option<RootDecision>,
    ) -> SpanStart;
}

/// What starting a span gave.
#[derive(Default)]
pub(crate) enum SpanStart {
    /// A recording span, in the context that carries it.
    Recording(Context),
    /// A span the sampler dropped, in the context that carries it: nothing records under
    /// it, and work under it — the application's own instrumentation, outgoing requests
    /// propagating the context — sees the sampled-out decision, as under any dropped span.
    Dropped(Context),
    /// No span: the tracer is a no-op.
    #[default]
    None,
}

impl SpanStart {
    /// The recording span's context, if any.
    pub(crate) fn context(self) -> Option<Context> {
        match self {
            SpanStart::Recording(cx) => Some(cx),
            _ => None,
        }
    }
}

struct TypedTracer<T>(T);

impl<T> SpanFactory for TypedTracer<T>
where
    T: Tracer + Send + Sync,
    T::Span: Send + Sync + 'static,
{
    fn start(&self, builder: SpanBuilder, parent: &Context, _: Option<RootDecision>) -> SpanStart {
        in_context_of(self.0.build_with_context(builder, parent), parent)
    }
}

/// A tracer whose provider's sampler llm-trace knows: it decides root spans itself (see
/// [`root_sampling`](super::root_sampling)).
struct SampledTracer<T> {
    tracer: T,
    roots: RootSampling,
    /// Set when the provider's id generator did not take a decided trace id: its roots are
    /// then left to the SDK, which decides them on ids of its own.
    unaware: AtomicBool,
}

impl<T> SpanFactory for SampledTracer<T>
where
    T: Tracer + Send + Sync,
    T::Span: Send + Sync + 'static,
{
    fn decide(&self, parent: &Context) -> Option<RootDecision> {
        match self.unaware.load(Ordering::Relaxed) {
            false => self.roots.decide(parent),
            true => None,
        }
    }

    fn start(
        &self,
        builder: SpanBuilder,
        parent: &Context,
        decision: Option<RootDecision>,
    ) -> SpanStart {
        match decision {
            None | Some(RootDecision::Sdk) => {
                in_context_of(self.tracer.build_with_context(builder, parent), parent)
            }
            Some(RootDecision::Dropped(span_context)) => {
                SpanStart::Dropped(parent.with_remote_span_context(span_context))
            }
            Some(RootDecision::Sampled(trace_id)) => {
                let (span, taken) = with_root_trace_id(trace_id, || {
                    self.tracer.build_with_context(builder, parent)
                });
                if !taken && span.span_context().is_valid() {
                    self.unaware.store(true, Ordering::Relaxed);
                }
                in_context_of(span, parent)
            }
        }
    }
}

/// `parent` carrying `span`, when it records.
fn in_context_of<S: Span + Send + Sync + 'static>(span: S, parent: &Context) -> SpanStart {
    if !span.span_context().is_valid() {
        SpanStart::None
    } else if span.is_recording() {
        SpanStart::Recording(parent.with_span(span))
    } else {
        // A dropped span does nothing when it ends: its context is all there is to carry,
        // without boxing the span.
        SpanStart::Dropped(parent.with_remote_span_context(span.span_context().clone()))
    }
}

impl TracerSource {
    /// The tracer of `provider`, under llm-trace's scope.
    pub(crate) fn from_provider<P>(provider: &P) -> Self
    where
        P: TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as Tracer>::Span: Send + Sync + 'static,
    {
        TracerSource::Installed(Arc::new(TypedTracer(provider.tracer_with_scope(scope()))))
    }

    /// The tracer of `provider`, whose sampler samples root spans as `roots` says and whose
    /// id generator takes the trace ids llm-trace decided on: root spans are decided by
    /// llm-trace, sampled-out ones without asking the SDK.
    pub(crate) fn from_provider_sampled<P>(provider: &P, roots: RootSampling) -> Self
    where
        P: TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as Tracer>::Span: Send + Sync + 'static,
    {
        TracerSource::Installed(Arc::new(SampledTracer {
            tracer: provider.tracer_with_scope(scope()),
            roots,
            unaware: AtomicBool::new(false),
        }))
    }

    /// Whether a span started now under `parent` could record: not under a sampled-out
    /// parent (llm-trace samples parent-based) or function, not without a tracer.
    /// Allocation-free.
    #[inline]
    pub(crate) fn may_record(&self, parent: &Context) -> bool {
        if suppressed() {
            return false;
        }
        match parent_sampling(parent) {
            Some(sampled) => sampled && !matches!(self, TracerSource::Off),
            None => match self {
                TracerSource::Installed(_) => true,
                TracerSource::Off => false,
                TracerSource::Global => !noop::known(),
            },
        }
    }

    /// Whether this is the global provider and it is not known to be a no-op.
    pub(crate) fn is_live_global(&self) -> bool {
        matches!(self, TracerSource::Global) && !noop::known()
    }

    /// Starts a span under `parent`: nothing when no real tracer is there or the parent is
    /// sampled out (the parent's context already carries that decision to the children).
    /// `builder` completes the span's builder; its flag says whether llm-trace knows the
    /// span will be sampled (it decided the root, see [`SampledTracer`]): then attributes
    /// are best given there, as the sampler will not drop them.
    pub(crate) fn start(
        &self,
        name: Cow<'static, str>,
        builder: impl FnOnce(SpanBuilder, bool) -> SpanBuilder,
        parent: &Context,
    ) -> SpanStart {
        let parent_sampled = parent_sampling(parent);
        if parent_sampled == Some(false) {
            return SpanStart::None;
        }
        match self {
            TracerSource::Off => SpanStart::None,
            TracerSource::Installed(tracer) => {
                // A dropped root decided by llm-trace: no span to build at all.
                let decision = tracer.decide(parent);
                if let Some(RootDecision::Dropped(span_context)) = decision {
                    return SpanStart::Dropped(parent.with_remote_span_context(span_context));
                }
                let sampled =
                    matches!(decision, Some(RootDecision::Sdk | RootDecision::Sampled(_)));
                let builder = builder(SpanBuilder::from_name(name), sampled);
                tracer.start(builder, parent, decision)
            }
            TracerSource::Global => {
                if parent_sampled.is_none() && noop::known() {
                    return SpanStart::None;
                }
                let builder = builder(SpanBuilder::from_name(name), false);
                let span = global_tracer().build_with_context(builder, parent);
                if span.span_context().is_valid() {
                    if parent_sampled.is_some() && is_echo_of_local(&span, parent) {
                        noop::mark_noop();
                        warn_provider_elsewhere();
                        return SpanStart::None;
                    }
                    noop::mark_live();
                } else if parent_sampled.is_none() {
                    // Only a no-op tracer answers a root span with an invalid context.
                    noop::mark_noop();
                }
                in_context_of(span, parent)
            }
        }
    }
}

/// Whether `span` is its parent's own span context handed back — what a no-op tracer does
/// — under a parent made in this process (not one propagated from elsewhere).
fn is_echo_of_local<S: Span>(span: &S, parent: &Context) -> bool {
    let parent = parent.span();
    let parent = parent.span_context();
    !parent.is_remote() && span.span_context().span_id() == parent.span_id()
}

/// Says, once, that spans are recorded by a tracer llm-trace was not given.
fn warn_provider_elsewhere() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if WARNED.swap(true, Ordering::Relaxed) {
        return;
    }
    crate::__llm_trace_diagnostic!(
        warn,
        "llm-trace: the OpenTelemetry global tracer provider is a no-op, but annotated \
         functions run under spans of another tracer (a provider given only to \
         tracing-opentelemetry's layer?): llm-trace records nothing. Give llm-trace that \
         provider with `llm_trace::set_tracer_provider(&provider)`, or call \
         `llm_trace::init()` and hand the layer `opentelemetry::global::tracer(..)`."
    );
}

/// The global provider's tracer, rebuilt at most once a second (building one takes the
/// provider's lock and allocates) so a provider installed later is picked up.
fn global_tracer() -> Arc<BoxedTracer> {
    type Cached = RwLock<Option<(Instant, Arc<BoxedTracer>)>>;
    static CACHED: OnceLock<Cached> = OnceLock::new();
    let cached = CACHED.get_or_init(Cached::default);
    if let Some((built, tracer)) = super::sync::read(cached).as_ref() {
        if built.elapsed() < NOOP_RECHECK {
            return Arc::clone(tracer);
        }
    }
    let tracer = Arc::new(global::tracer_with_scope(scope()));
    *super::sync::write(cached) = Some((Instant::now(), Arc::clone(&tracer)));
    tracer
}

/// The sampling decision a parent span passes on: `Some(sampled)` when `parent` carries a
/// valid span context, `None` for a root.
#[inline]
pub(crate) fn parent_sampling(parent: &Context) -> Option<bool> {
    let span = parent.span();
    let context = span.span_context();
    context.is_valid().then(|| context.is_sampled())
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

/// What llm-trace knows about the global provider being a no-op.
mod noop {
    use super::*;

    /// Nanoseconds after [`epoch`] until which the global provider is taken to be a no-op;
    /// 0 when it is not known to be one.
    static NOOP_UNTIL: AtomicU64 = AtomicU64::new(0);

    /// The most calls a thread lets pass between two clock reads.
    const MAX_STRIDE: u32 = 4096;
    /// The extra delay a stride may add before a new global provider is noticed.
    const STRIDE_BUDGET_NANOS: u64 = 1_000_000;

    thread_local! {
        /// Calls left before the next clock read, the stride, and the last clock read.
        static COUNTDOWN: Cell<(u32, u32, u64)> = const { Cell::new((0, 1, 0)) };
    }

    fn epoch() -> Instant {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        *EPOCH.get_or_init(Instant::now)
    }

    fn now_nanos() -> u64 {
        u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether the global provider is known to be a no-op right now.
    #[inline]
    pub(super) fn known() -> bool {
        let until = NOOP_UNTIL.load(Ordering::Relaxed);
        until != 0
            && COUNTDOWN
                .try_with(|c| still_noop(c, until))
                .unwrap_or(false)
    }

    #[inline]
    fn still_noop(countdown: &Cell<(u32, u32, u64)>, until: u64) -> bool {
        let (left, stride, last) = countdown.get();
        if left > 0 {
            countdown.set((left - 1, stride, last));
            return true;
        }
        read_clock(countdown, until, stride, last)
    }

    #[cold]
    fn read_clock(countdown: &Cell<(u32, u32, u64)>, until: u64, stride: u32, last: u64) -> bool {
        let now = now_nanos();
        if now >= until {
            countdown.set((0, 1, now));
            return false;
        }
        // `stride` calls took `now - last`: allow as many calls before the next clock
        // read as fit in the budget at that rate.
        let per_call = now.saturating_sub(last) / u64::from(stride.max(1));
        let next = match STRIDE_BUDGET_NANOS.checked_div(per_call) {
            Some(calls) => calls.clamp(1, u64::from(MAX_STRIDE)) as u32,
            None => MAX_STRIDE,
        };
        countdown.set((next - 1, next, now));
        true
    }

    pub(super) fn mark_noop() {
        let until = now_nanos().saturating_add(NOOP_RECHECK.as_nanos() as u64);
        NOOP_UNTIL.store(until.max(1), Ordering::Relaxed);
    }

    pub(super) fn mark_live() {
        if NOOP_UNTIL.load(Ordering::Relaxed) != 0 {
            NOOP_UNTIL.store(0, Ordering::Relaxed);
        }
    }

    /// Forgets what was learnt (a provider was installed through llm-trace).
    pub(crate) fn forget() {
        NOOP_UNTIL.store(0, Ordering::Relaxed);
    }
}

pub(crate) use noop::forget as forget_noop;

thread_local! {
    /// Functions whose span the sampler dropped, running on this thread: nothing of
    /// llm-trace records under them.
    static SUPPRESSED: Cell<u32> = const { Cell::new(0) };
}

/// Whether a function whose span was dropped runs on this thread.
#[inline]
pub(crate) fn suppressed() -> bool {
    SUPPRESSED.try_with(Cell::get).is_ok_and(|depth| depth > 0)
}

/// Marks this thread as running a function whose span was dropped, until the guard drops.
pub(crate) fn suppress() -> Suppression {
    let _ = SUPPRESSED.try_with(|depth| depth.set(depth.get() + 1));
    Suppression(())
}

/// See [`suppress`].
#[derive(Debug)]
pub(crate) struct Suppression(());

impl Drop for Suppression {
    fn drop(&mut self) {
        let _ = SUPPRESSED.try_with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

/// Whether the global tracer provider is known to be a no-op right now.
#[inline]
pub(crate) fn global_known_noop() -> bool {
    noop::known()
}
