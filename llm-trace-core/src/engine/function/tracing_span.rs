//! The function span as a `tracing` span (feature `tracing`).
//!
//! With the feature, the generated code also creates a `tracing` span for the function:
//! its name, target = the module path, level INFO, the `fields(...)` as fields, from one
//! static callsite per function made by [`__llm_trace_fn_span!`](crate::__llm_trace_fn_span)
//! (lighter to compile than `tracing::span!`). It is entered while the body runs — for one
//! poll at a time in futures — so `tracing` events written in the body land on it. When no
//! subscriber wants that span, the disabled callsite costs `tracing`'s own level and
//! interest checks and the function runs exactly as without the feature.
//!
//! There is still one exported function span. When a tracing-opentelemetry layer made an
//! OpenTelemetry span for the `tracing` span, llm-trace adopts it (its context is the
//! parent of the calls' spans; llm-trace adds `code.function.name` and the inherited
//! context attributes, the layer adds the location and the fields, and ends it when the
//! `tracing` span closes); events become its span events. Without such a layer, llm-trace
//! starts its own span as without the feature, and the subscriber sees the events inside
//! the function's `tracing` span.
//!
//! Without the feature, [`FnTracing`] is empty and its methods do nothing.

#[cfg(feature = "tracing")]
pub use enabled::callsite_span;
#[cfg(feature = "tracing")]
pub(crate) use enabled::*;

#[cfg(not(feature = "tracing"))]
pub(crate) use disabled::*;

#[cfg(not(feature = "tracing"))]
mod disabled {
    /// No `tracing` span without the feature.
    #[derive(Debug, Default)]
    pub(crate) struct FnTracing(());

    impl FnTracing {
        #[inline(always)]
        pub(crate) fn enter(&self) -> NotEntered {
            NotEntered
        }

        #[inline(always)]
        pub(crate) fn close(&mut self) {}

        #[inline(always)]
        pub(crate) fn entered(self) -> EnteredFnTracing {
            EnteredFnTracing(())
        }
    }

    /// What entering no span gives.
    pub(crate) struct NotEntered;

    /// No `tracing` span entered without the feature.
    #[derive(Debug, Default)]
    pub(crate) struct EnteredFnTracing(());

    impl EnteredFnTracing {
        #[inline(always)]
        pub(crate) fn is_some(&self) -> bool {
            false
        }

        #[inline(always)]
        pub(crate) fn exit(self) -> FnTracing {
            FnTracing(())
        }
    }
}

#[cfg(feature = "tracing")]
mod enabled {
    use opentelemetry::trace::TraceContextExt;
    use opentelemetry::{Context, KeyValue, Value};
    use tracing::callsite::{Callsite, DefaultCallsite};
    use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
    use tracing::Level;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    use super::super::{start_context, Fields, FnMeta, FnSpan, SpanEnd};
    use crate::engine::attribution::FnUsage;
    use crate::engine::context_attributes::{with_attributes, ContextAttributes};
    use crate::engine::parent::Registration;
    use crate::engine::state;
    use crate::engine::tracer::{suppressed, SpanStart, TracerSource};
    use crate::semconv;

    /// The function's `tracing` span, while the function runs.
    #[derive(Debug, Default)]
    pub(crate) struct FnTracing(Option<tracing::Span>);

    impl FnTracing {
        /// Enters the span until the guard drops (one poll).
        #[inline]
        pub(crate) fn enter(&self) -> Option<tracing::span::Entered<'_>> {
            self.0.as_ref().map(tracing::Span::enter)
        }

        /// Closes the span (for tracing-opentelemetry: ends its OpenTelemetry span), unless
        /// the application holds it elsewhere.
        #[inline]
        pub(crate) fn close(&mut self) {
            self.0 = None;
        }

        /// Enters the span for the rest of a sync function.
        #[inline]
        pub(crate) fn entered(self) -> EnteredFnTracing {
            EnteredFnTracing(self.0.map(tracing::Span::entered))
        }
    }

    /// The function's `tracing` span, entered on this thread.
    #[derive(Debug, Default)]
    pub(crate) struct EnteredFnTracing(Option<tracing::span::EnteredSpan>);

    impl EnteredFnTracing {
        /// Whether there is a `tracing` span.
        #[inline]
        pub(crate) fn is_some(&self) -> bool {
            self.0.is_some()
        }

        /// Exits the span, to hand it to a future.
        #[inline]
        pub(crate) fn exit(self) -> FnTracing {
            FnTracing(self.0.map(tracing::span::EnteredSpan::exit))
        }
    }

    /// The function's `tracing` span, from its callsite (see
    /// [`__llm_trace_fn_span!`](crate::__llm_trace_fn_span)): disabled, at the cost of two
    /// atomic loads and no allocation, unless a subscriber wants it.
    #[inline]
    pub fn callsite_span(callsite: &'static DefaultCallsite) -> tracing::Span {
        let meta = callsite.metadata();
        if STATIC_MAX_LEVEL >= Level::INFO && LevelFilter::current() >= Level::INFO {
            let interest = callsite.interest();
            let enabled = interest.is_always()
                || !interest.is_never() && tracing::dispatcher::get_default(|d| d.enabled(meta));
            if enabled {
                // Its fields are the `fields(...)`, recorded once their values are known.
                let values: [(&tracing::field::Field, Option<&dyn tracing::Value>); 0] = [];
                return tracing::Span::new(meta, &meta.fields().value_set(&values));
            }
        }
        tracing::Span::new_disabled(meta)
    }

    /// What a handoff carries besides the function's context: its `tracing` span, entered
    /// where the work runs (see `Parent::enter`).
    #[derive(Clone, Debug)]
    pub(crate) struct HandoffSpan(pub(crate) tracing::Span);

    /// Starts the function's span under the current context, with `span` its `tracing`
    /// span, enabled.
    pub(crate) fn start(meta: &'static FnMeta, fields: Fields<'_>, span: tracing::Span) -> FnSpan {
        let values: Vec<KeyValue> = fields
            .map(|fields| fields().into_iter().flatten().collect())
            .unwrap_or_default();
        for field in &values {
            record(&span, field);
        }
        let end = if state::quiet() {
            SpanEnd::default()
        } else {
            start_otel(meta, values, &span)
        };
        FnSpan {
            end,
            tracing: FnTracing(Some(span)),
        }
    }

    /// Records one `fields(...)` value on the `tracing` span (declared there, empty).
    fn record(span: &tracing::Span, field: &KeyValue) {
        let key = field.key.as_str();
        match &field.value {
            Value::Bool(value) => span.record(key, *value),
            Value::I64(value) => span.record(key, *value),
            Value::F64(value) => span.record(key, *value),
            Value::String(value) => span.record(key, value.as_str()),
            other => span.record(key, tracing::field::display(other)),
        };
    }

    /// What the function's OpenTelemetry span is.
    #[derive(Default)]
    enum Start {
        /// The layer's span, recording or dropped by its sampler.
        Adopted { cx: Context, dropped: bool },
        /// No layer made a span: llm-trace starts its own.
        Own,
        /// Nothing records here (llm-trace is off, or under a dropped function).
        #[default]
        Nothing,
    }

    /// The function's OpenTelemetry span: the layer's, adopted, else llm-trace's own.
    fn start_otel(meta: &'static FnMeta, values: Vec<KeyValue>, span: &tracing::Span) -> SpanEnd {
        // Asked before reading the current context: the layer may start its span now.
        let layer_cx = span.context();
        let start = state::with(|state| {
            if suppressed() || matches!(state.tracer, TracerSource::Off) {
                return Start::Nothing;
            }
            Context::map_current(|parent| adopt(meta, &values, layer_cx, parent))
        });
        let fields = || values.iter().cloned().map(Some).collect();
        let (cx, dropped, adopted) = match start {
            Start::Adopted { cx, dropped } => (Some(cx), dropped, true),
            Start::Own => {
                let own = start_context(meta, Some(&fields));
                match own {
                    SpanStart::Recording(cx) => (Some(cx), false, false),
                    SpanStart::Dropped(cx) => (Some(cx), true, false),
                    SpanStart::None => (None, false, false),
                }
            }
            Start::Nothing => (None, false, false),
        };
        let registration = cx.as_ref().filter(|_| meta.hands_off).and_then(|cx| {
            // Work handed off enters the `tracing` span too, while the function runs.
            Registration::new(&cx.with_value(HandoffSpan(span.clone())))
        });
        let usage = FnUsage::start(meta, Some(&fields), cx.as_ref());
        SpanEnd {
            cx,
            registration,
            dropped,
            adopted,
            usage,
        }
    }

    /// The layer's span in `layer_cx`, made the function's span — or `Own` when there is
    /// none: no layer (an empty context), or a no-op tracer in the layer (which hands back
    /// its parent's span: sampled, yet not recording).
    fn adopt(
        meta: &'static FnMeta,
        values: &[KeyValue],
        layer_cx: Context,
        parent: &Context,
    ) -> Start {
        let span = layer_cx.span();
        let context = span.span_context();
        let recording = span.is_recording();
        if !context.is_valid() || (context.is_sampled() && !recording) {
            return Start::Own;
        }
        if recording {
            // The layer records the location and the `tracing` fields (the function's
            // `fields(...)`); llm-trace adds the rest of what its own span would carry.
            let own_keys = |kv: &&KeyValue| !values.iter().any(|own| own.key == kv.key);
            let inherited = ContextAttributes::of(parent)
                .into_iter()
                .flatten()
                .filter(own_keys)
                .cloned();
            span.set_attributes(
                std::iter::once(KeyValue::new(semconv::CODE_FUNCTION_NAME, meta.function))
                    .chain(inherited),
            );
        }
        // The context attributes the function inherits and its own fields, as llm-trace's
        // own span would carry them to the spans under it.
        let mut cx = match parent.get::<ContextAttributes>() {
            Some(inherited) => layer_cx.with_value(inherited.clone()),
            None => layer_cx,
        };
        if !values.is_empty() {
            cx = with_attributes(&cx, values.to_vec());
        }
        Start::Adopted {
            cx,
            dropped: !recording,
        }
    }
}

/// The `tracing` span of an annotated function (feature `tracing`): its callsite and
/// metadata as statics in the function — name, target and module the module path, level
/// INFO, file and line where it is invoked, the `fields(...)` keys as its fields — then
/// the span, through `callsite_span`. Not public API.
#[cfg(feature = "tracing")]
#[doc(hidden)]
#[macro_export]
macro_rules! __llm_trace_fn_span {
    ($name:literal $(, $key:literal)* $(,)?) => {{
        static __LLM_TRACE_CALLSITE: $crate::__private::tracing::callsite::DefaultCallsite =
            $crate::__private::tracing::callsite::DefaultCallsite::new(&__LLM_TRACE_META);
        static __LLM_TRACE_META: $crate::__private::tracing::Metadata<'static> =
            $crate::__private::tracing::Metadata::new(
                $name,
                ::core::module_path!(),
                $crate::__private::tracing::Level::INFO,
                ::core::option::Option::Some(::core::file!()),
                ::core::option::Option::Some(::core::line!()),
                ::core::option::Option::Some(::core::module_path!()),
                $crate::__private::tracing::field::FieldSet::new(
                    &[$($key),*],
                    $crate::__private::tracing_core::identify_callsite!(&__LLM_TRACE_CALLSITE),
                ),
                $crate::__private::tracing::metadata::Kind::SPAN,
            );
        $crate::__private::callsite_span(&__LLM_TRACE_CALLSITE)
    }};
}
