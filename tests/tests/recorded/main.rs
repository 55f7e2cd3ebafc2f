//! Tests that record into llm-trace's in-memory test pipeline (`llm_trace_tests::capture`)
//! or into a [`llm_trace::Recorder`] scoped to the test's thread: they run in parallel,
//! each looking only at its own trace.

mod async_trait;
mod asynchronous;
mod budgets;
mod compat;
mod content;
mod err;
mod fake_provider;
mod fidelity;
mod live;
mod metrics;
mod rollup;
mod sampled_out;
mod stream;
mod stream_overhead;
mod sync;
mod usage;

/// Counts this thread's allocations, for the allocation-free promises.
#[global_allocator]
static ALLOCATOR: llm_trace_tests::alloc_counter::CountingAllocator =
    llm_trace_tests::alloc_counter::CountingAllocator;
