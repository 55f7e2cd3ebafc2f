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
mod sampling;
mod secrets;
#[cfg(feature = "tracing")]
mod tracing_diagnostics;

/// Counts this thread's allocations, for the allocation promises.
#[global_allocator]
static ALLOCATOR: llm_trace_tests::alloc_counter::CountingAllocator =
    llm_trace_tests::alloc_counter::CountingAllocator;
