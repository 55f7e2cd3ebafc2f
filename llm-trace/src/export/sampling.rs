//! Root spans of the tracer provider `init` builds: the SDK's sampler for them, and the same
//! rule for llm-trace, which decides them itself (sampled-out roots then cost no SDK span;
//! see `llm_trace_core`'s `root_sampling` engine module).
//!
//! The provider's id generator is the SDK's random one, except that a root span llm-trace
//! decided to sample gets the trace id it was decided on: the SDK's sampler then decides on
//! that id, the same way.

use llm_trace_core::__private::{take_root_trace_id, RootRule, RootSampling};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

use crate::settings::Sampling;

/// The id generator of the provider `init` builds.
#[derive(Debug, Default)]
pub(crate) struct RootIds;

impl IdGenerator for RootIds {
    fn new_trace_id(&self) -> TraceId {
        take_root_trace_id().unwrap_or_else(|| RandomIdGenerator::default().new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        RandomIdGenerator::default().new_span_id()
    }
}

/// New ids, from the generator the SDK uses.
fn new_ids() -> (TraceId, SpanId) {
    let ids = RandomIdGenerator::default();
    (ids.new_trace_id(), ids.new_span_id())
}

/// How llm-trace decides the roots of a provider sampling as `sampling` says.
pub(crate) fn root_sampling(sampling: Sampling) -> RootSampling {
    let (rule, parent_based) = match sampling {
        Sampling::AlwaysOn => (RootRule::AlwaysOn, false),
        Sampling::AlwaysOff => (RootRule::AlwaysOff, false),
        Sampling::Ratio(ratio) => (RootRule::Ratio(ratio), false),
        Sampling::ParentBasedAlwaysOn => (RootRule::AlwaysOn, true),
        Sampling::ParentBasedAlwaysOff => (RootRule::AlwaysOff, true),
        Sampling::ParentBasedRatio(ratio) => (RootRule::Ratio(ratio), true),
    };
    RootSampling::new(rule, parent_based, new_ids)
}
