//! llm-trace's own diagnostics (a model without a price, a redaction hook that panicked,
//! lost telemetry, ...): through `tracing` with the `tracing` feature when a subscriber
//! takes them, else through `log` when a logger takes them.
//!
//! A diagnostic is an event with no parent span: it is about llm-trace, not about the
//! request being traced, so it never becomes a span event (or an ERROR status) of the
//! application's spans, and an OpenTelemetry layer ignores it rather than recording it
//! into a trace. Its target is the module that reports it (`llm_trace::...`,
//! `llm_trace_core::...`), as with `log`.

/// Reports one diagnostic at `error`, `warn` or `info` level with `format!` arguments;
/// evaluates to whether a `tracing` subscriber or a `log` logger took it (then the
/// message was formatted once, for that one).
#[doc(hidden)]
#[macro_export]
macro_rules! __llm_trace_diagnostic {
    (error, $($arg:tt)+) => {
        $crate::__llm_trace_diagnostic!(@ ERROR, Error, $($arg)+)
    };
    (warn, $($arg:tt)+) => {
        $crate::__llm_trace_diagnostic!(@ WARN, Warn, $($arg)+)
    };
    (info, $($arg:tt)+) => {
        $crate::__llm_trace_diagnostic!(@ INFO, Info, $($arg)+)
    };
    (@ $tracing_level:ident, $log_level:ident, $($arg:tt)+) => {
        if $crate::__llm_trace_diagnostic_tracing!($tracing_level, $($arg)+) {
            true
        } else if $crate::__private::log::log_enabled!($crate::__private::log::Level::$log_level) {
            $crate::__private::log::log!($crate::__private::log::Level::$log_level, $($arg)+);
            true
        } else {
            false
        }
    };
}

/// The `tracing` half of [`__llm_trace_diagnostic!`]: the event, if a subscriber takes it.
#[cfg(feature = "tracing")]
#[doc(hidden)]
#[macro_export]
macro_rules! __llm_trace_diagnostic_tracing {
    ($level:ident, $($arg:tt)+) => {
        if $crate::__private::tracing::enabled!($crate::__private::tracing::Level::$level) {
            $crate::__private::tracing::event!(
                parent: ::core::option::Option::None::<$crate::__private::tracing::span::Id>,
                $crate::__private::tracing::Level::$level,
                $($arg)+
            );
            true
        } else {
            false
        }
    };
}

/// The `tracing` half of [`__llm_trace_diagnostic!`]: without the feature, nobody.
#[cfg(not(feature = "tracing"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __llm_trace_diagnostic_tracing {
    ($level:ident, $($arg:tt)+) => {
        false
    };
}
