//! [`Recorder`]: everything llm-trace records with, as one value — installed for the whole
//! process in one step, or for one thread's scope (tests, several pipelines).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::metrics::MeterProvider;
use opentelemetry::trace::{Tracer, TracerProvider};
use pin_project_lite::pin_project;

use super::ledger::{Ledger, UsageConfig};
use super::metrics::MetricsSource;
use super::root_sampling::RootSampling;
use super::state::{self, State};
use super::tracer::{forget_noop, TracerSource};
use crate::budget::{BudgetStatus, Budgets};
use crate::content::{CaptureMode, ContentPolicy};
use crate::pricing::PricingTable;
use crate::usage::Usage;

/// Where llm-trace records: the tracer its spans come from, the meter its metrics go to,
/// whether and how message content is captured, the price table, and the usage it counts
/// (with its budgets).
///
/// `llm_trace::init()` builds one and installs it for the process. Build your own to
/// record into providers you own — for the whole process ([`Recorder::set_global`]) or only
/// around some work on the current thread ([`Recorder::in_scope`], [`Recorder::scope`]),
/// which is how tests check their spans without touching global state:
///
/// ```
/// use llm_trace_core::__private::Recorder;
/// use llm_trace_core::content::CaptureMode;
/// use opentelemetry::trace::noop::NoopTracerProvider;
///
/// let recorder = Recorder::builder()
///     .tracer_provider(&NoopTracerProvider::new())
///     .no_metrics()
///     .capture_content(CaptureMode::SpanOnly)
///     .build();
/// let answer = recorder.in_scope(|| {
///     // #[llm_trace] functions called here record through `recorder`
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone)]
pub struct Recorder {
    state: Arc<State>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tracer = match &self.state.tracer {
            TracerSource::Global => "global",
            TracerSource::Installed(_) => "installed",
            TracerSource::Off => "off",
        };
        let metrics = match &self.state.metrics {
            MetricsSource::Global => "global",
            MetricsSource::Installed(_) => "installed",
            MetricsSource::Off => "off",
        };
        f.debug_struct("Recorder")
            .field("tracer", &tracer)
            .field("metrics", &metrics)
            .field("capture", &self.state.capture)
            .field("policy", &self.state.policy)
            .field("priced_models", &self.state.pricing.len())
            .field("openlit_compat", &self.state.openlit_compat)
            .field("openinference", &self.state.openinference)
            .field("usage", &self.state.usage)
            .finish()
    }
}

impl Default for Recorder {
    /// What llm-trace uses before it is configured: the OpenTelemetry global providers, no
    /// content, the compiled-in prices.
    fn default() -> Self {
        Recorder::builder().build()
    }
}

impl Recorder {
    /// A builder starting from the defaults (see [`Recorder::default`]).
    pub fn builder() -> RecorderBuilder {
        RecorderBuilder::keeping(State::default())
    }

    /// The recorder in force on this thread: the innermost scope's, else the global one.
    pub fn current() -> Recorder {
        Recorder {
            state: state::current(),
        }
    }

    /// A builder starting from this recorder's settings. The recorder it builds counts
    /// its own usage, from zero.
    pub fn to_builder(&self) -> RecorderBuilder {
        RecorderBuilder {
            keep_usage: false,
            ..RecorderBuilder::keeping(State::clone(&self.state))
        }
    }

    /// Makes this the recorder of the whole process (threads inside a scope keep theirs).
    pub fn set_global(self) {
        forget_noop();
        state::install(self.state);
    }

    /// Changes the global recorder in one step: `change` gets a builder holding the current
    /// one's settings. The usage counted so far is kept, unless `change` changes what is
    /// counted (usage keys, their cap, budgets).
    pub fn update_global(change: impl FnOnce(RecorderBuilder) -> RecorderBuilder) {
        forget_noop();
        state::update(|current| change(RecorderBuilder::keeping(current.clone())).into_state());
    }

    /// Runs `work` with this recorder in force on the current thread.
    pub fn in_scope<R>(&self, work: impl FnOnce() -> R) -> R {
        let _scope = state::enter_scope(Arc::clone(&self.state));
        work()
    }

    /// `future`, polled with this recorder in force (on whatever thread polls it).
    pub fn scope<F: Future>(&self, future: F) -> InScope<F> {
        InScope {
            inner: future,
            state: Arc::clone(&self.state),
        }
    }

    /// The content capture mode.
    pub fn capture_mode(&self) -> CaptureMode {
        self.state.capture
    }

    /// The price table.
    pub fn pricing(&self) -> &PricingTable {
        &self.state.pricing
    }

    /// What this recorder counted so far: calls, errors, tokens, cost and latency, in total,
    /// per model, per annotated function and per usage key value (see
    /// [`usage`](crate::usage)). Empty when usage is off.
    pub fn usage(&self) -> Usage {
        self.state
            .usage
            .as_ref()
            .map(|ledger| ledger.usage())
            .unwrap_or_default()
    }

    /// The usage so far, and a new count from zero (a billing period): every call is in
    /// exactly one of the two. The key and total budgets start again too; window budgets
    /// keep their windows.
    pub fn take_usage(&self) -> Usage {
        self.state
            .usage
            .as_ref()
            .map(|ledger| ledger.take_usage())
            .unwrap_or_default()
    }

    /// The budgets that apply where this is called (see [`BudgetStatus`]): to refuse work
    /// before calling rather than be alerted after.
    pub fn budget_status(&self) -> BudgetStatus {
        BudgetStatus {
            budgets: self
                .state
                .usage
                .as_ref()
                .map(|ledger| super::accounting::status(ledger))
                .unwrap_or_default(),
        }
    }
}

pin_project! {
    /// A future polled with a [`Recorder`] in force.
    #[must_use = "futures do nothing unless polled"]
    pub struct InScope<F> {
        #[pin]
        inner: F,
        state: Arc<State>,
    }
}

impl<F> std::fmt::Debug for InScope<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InScope")
    }
}

impl<F: Future> Future for InScope<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _scope = state::enter_scope(Arc::clone(this.state));
        this.inner.poll(task)
    }
}

/// Builds a [`Recorder`].
#[must_use = "call .build() to get the recorder"]
pub struct RecorderBuilder {
    state: State,
    /// What usage is counted by; `None`: usage is off.
    usage: Option<UsageConfig>,
    /// Whether the state's ledger (and what it counted) is kept.
    keep_usage: bool,
}

impl std::fmt::Debug for RecorderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecorderBuilder")
    }
}

impl RecorderBuilder {
    /// A builder keeping `state`'s usage ledger unless usage settings change.
    fn keeping(state: State) -> Self {
        let usage = state.usage.as_ref().map(|ledger| ledger.config().clone());
        RecorderBuilder {
            state,
            usage,
            keep_usage: true,
        }
    }

    /// The state, with the usage ledger to keep or a new one.
    fn into_state(self) -> State {
        let mut state = self.state;
        state.usage = match self.usage {
            None => None,
            Some(_) if self.keep_usage && state.usage.is_some() => state.usage,
            Some(config) => Some(Arc::new(Ledger::new(&config))),
        };
        state
    }

    fn usage_config(&mut self) -> &mut UsageConfig {
        self.keep_usage = false;
        self.usage.get_or_insert_with(UsageConfig::default)
    }

    /// Counts usage also by the value of `key` in each call's context (from
    /// `#[llm_trace(fields(...))]` or a `Scope`), e.g. `gen_ai.conversation.id`: see
    /// [`Usage::key`]. At most four keys; a key given again is counted once.
    pub fn usage_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        let config = self.usage_config();
        if !config.keys.contains(&key) {
            config.keys.push(key);
        }
        self
    }

    /// The most distinct values counted per breakdown (models, functions, each key),
    /// default 1000; calls of further values are counted together as `other`.
    pub fn usage_max_values(mut self, values: usize) -> Self {
        self.usage_config().max_values = values.max(1);
        self
    }

    /// The budgets and alerts (see [`Budgets`]); their keys are counted as usage keys.
    pub fn budgets(mut self, budgets: Budgets) -> Self {
        self.usage_config().budgets = budgets;
        self
    }

    /// Counts no usage and watches no budget (usage is counted by default).
    pub fn no_usage(mut self) -> Self {
        self.usage = None;
        self.keep_usage = false;
        self
    }

    /// Spans come from `provider`.
    pub fn tracer_provider<P>(mut self, provider: &P) -> Self
    where
        P: TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as Tracer>::Span: Send + Sync + 'static,
    {
        self.state.tracer = TracerSource::from_provider(provider);
        self
    }

    /// Spans come from `provider`, whose sampler samples root spans as `roots` says and
    /// whose id generator makes its trace ids with
    /// [`take_root_trace_id`](crate::__private::take_root_trace_id) first: llm-trace then
    /// decides root spans itself, and makes none for the sampled-out ones (see
    /// `RootSampling`). For `llm_trace::init()`, which builds such a provider; not public API.
    #[doc(hidden)]
    pub fn tracer_provider_sampled<P>(mut self, provider: &P, roots: RootSampling) -> Self
    where
        P: TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as Tracer>::Span: Send + Sync + 'static,
    {
        self.state.tracer = TracerSource::from_provider_sampled(provider, roots);
        self
    }

    /// Spans come from the OpenTelemetry global tracer provider (the default).
    pub fn global_tracer_provider(mut self) -> Self {
        self.state.tracer = TracerSource::Global;
        self
    }

    /// No spans at all (metrics may still be recorded).
    pub fn no_tracing(mut self) -> Self {
        self.state.tracer = TracerSource::Off;
        self
    }

    /// Metrics go to `provider`.
    pub fn meter_provider<P: MeterProvider + ?Sized>(mut self, provider: &P) -> Self {
        self.state.metrics = MetricsSource::from_provider(provider, false);
        self
    }

    /// Metrics go to `provider`, an `opentelemetry_sdk` meter provider: its instruments are
    /// bound to each attribute set once, so recording skips the attribute lookup. (Other
    /// meter implementations may not bind, and would drop the values.)
    pub fn sdk_meter_provider<P: MeterProvider + ?Sized>(mut self, provider: &P) -> Self {
        self.state.metrics = MetricsSource::from_provider(provider, true);
        self
    }

    /// Metrics go to the OpenTelemetry global meter provider, when spans come from the
    /// global tracer provider and it is a real one (the default).
    pub fn global_meter_provider(mut self) -> Self {
        self.state.metrics = MetricsSource::Global;
        self
    }

    /// No metrics at all.
    pub fn no_metrics(mut self) -> Self {
        self.state.metrics = MetricsSource::Off;
        self
    }

    /// Where message content may be recorded (default: nowhere).
    pub fn capture_content(mut self, mode: CaptureMode) -> Self {
        self.state.capture = mode;
        self
    }

    /// How captured content is redacted and bounded.
    pub fn content_policy(mut self, policy: ContentPolicy) -> Self {
        self.state.policy = policy;
        self
    }

    /// The price table (default: the compiled-in one).
    pub fn pricing(mut self, table: PricingTable) -> Self {
        self.state.pricing = table;
        self
    }

    /// Whether call spans also carry the keys OpenLIT's dashboard reads beyond the spec —
    /// `gen_ai.usage.total_tokens` — (default: `true`). The spec's keys are written either
    /// way.
    pub fn openlit_compat(mut self, on: bool) -> Self {
        self.state.openlit_compat = on;
        self
    }

    /// Whether function spans carry `openinference.span.kind = CHAIN`, so OpenInference
    /// backends such as Arize Phoenix show them as chains above their LLM and embedding
    /// calls (default: `false`).
    pub fn openinference(mut self, on: bool) -> Self {
        self.state.openinference = on;
        self
    }

    /// The recorder.
    pub fn build(self) -> Recorder {
        Recorder {
            state: Arc::new(self.into_state()),
        }
    }
}
