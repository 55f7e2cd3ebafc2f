//! Tests of `llm_trace::init()`: each installs process-wide telemetry, so they take turns
//! (`llm_trace_tests::exclusive`).

mod app_provider;
mod budgets;
mod collector_down;
mod console;
mod grpc;
mod openlit;
mod otlp;
mod reliability;
mod report;
mod secrets;
#[cfg(feature = "tracing")]
mod tracing_diagnostics;
