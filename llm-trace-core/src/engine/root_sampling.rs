//! Root spans sampled by llm-trace itself, for a tracer provider whose sampler it built.
//!
//! Asking the OpenTelemetry SDK for a root span it then drops costs the calling thread a
//! trace id, a sampler call and a span that records nothing (about 300 ns here), before
//! llm-trace makes it current. When `llm_trace::init()` built the provider, llm-trace knows
//! its sampler — always on, always off or a ratio of trace ids, parent-based or not — and
//! decides a root span itself, with the SDK's rule, on a trace id from the SDK's generator:
//! - dropped: llm-trace makes the span context the SDK would have made (new trace and span
//!   ids, not sampled, the parent's trace state) and the function runs under it, without
//!   asking the SDK at all. The application's own spans under it are dropped, and outgoing
//!   requests propagate "not sampled", as under the SDK's own dropped span.
//! - sampled: the trace id goes to the SDK, through the provider's id generator (which
//!   takes it with [`take_root_trace_id`]), and the SDK's sampler decides on it — the same
//!   way — and records the span.
//!
//! Spans with a valid parent, spans under a context that suppresses telemetry, and every
//! span of a provider llm-trace did not build (an application's own, whose sampler may be
//! anything) go through the SDK.
//!
//! Running under the dropped span context costs one allocation: an OpenTelemetry `Context`
//! holds its span behind an `Arc`, and no context carrying a new span context can be made
//! without allocating it (reusing one would hand unrelated work the same trace id).

use std::cell::Cell;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};
use opentelemetry::Context;

/// How a sampler decides a root span.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RootRule {
    /// Every root is sampled.
    AlwaysOn,
    /// No root is sampled.
    AlwaysOff,
    /// Roots whose trace id falls in this fraction (the SDK's `TraceIdRatioBased`).
    Ratio(f64),
}

/// A tracer provider's sampler, as llm-trace applies it to root spans: a root the rule
/// drops runs under the span context the SDK would have made, without an SDK span; a root
/// it samples gets its trace id from [`take_root_trace_id`], in the provider's id generator,
/// and the SDK's sampler decides on it the same way.
#[derive(Clone, Copy, Debug)]
pub struct RootSampling {
    rule: Rule,
    parent_based: bool,
    ids: fn() -> (TraceId, SpanId),
}

/// [`RootRule`], ready to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    On,
    Off,
    /// Sampled when the trace id's low 63 bits are below the bound.
    Below(u64),
}

/// What a root span's sampling is, decided before any span is started.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RootDecision {
    /// The SDK decides: nothing to decide before it (every root is sampled).
    Sdk,
    /// Sampled: the SDK starts it with this trace id.
    Sampled(TraceId),
    /// Dropped: this is the span context it would have had.
    Dropped(SpanContext),
}

impl RootSampling {
    /// The sampler `rule` (inside a `ParentBased` sampler when `parent_based`), for a
    /// provider whose id generator makes its ids as `ids` does and takes the trace ids
    /// llm-trace decided on with [`take_root_trace_id`].
    pub fn new(rule: RootRule, parent_based: bool, ids: fn() -> (TraceId, SpanId)) -> Self {
        let rule = match rule {
            RootRule::AlwaysOn => Rule::On,
            RootRule::AlwaysOff => Rule::Off,
            // The SDK's `sample_based_on_probability`, with its bound computed once.
            RootRule::Ratio(ratio) if ratio >= 1.0 => Rule::On,
            RootRule::Ratio(ratio) => Rule::Below((ratio.max(0.0) * (1u64 << 63) as f64) as u64),
        };
        RootSampling {
            rule,
            parent_based,
            ids,
        }
    }

    /// Whether the sampler samples a root span of trace `trace_id` under `parent`, a context
    /// without a valid span: what the SDK's sampler decides for it.
    pub(crate) fn samples(&self, parent: &Context, trace_id: TraceId) -> bool {
        // The SDK's `ParentBased` follows an active span even when its context is invalid.
        if self.parent_based && parent.has_active_span() {
            return parent.span().span_context().is_sampled();
        }
        match self.rule {
            Rule::On => true,
            Rule::Off => false,
            Rule::Below(bound) => {
                let low = (trace_id.to_bytes()[8..])
                    .iter()
                    .fold(0u64, |low, byte| (low << 8) | u64::from(*byte));
                (low >> 1) < bound
            }
        }
    }

    /// The decision for a span started now under `parent`; `None` when it is not a root
    /// (its parent span is valid) or telemetry is suppressed there: the SDK decides.
    pub(crate) fn decide(&self, parent: &Context) -> Option<RootDecision> {
        let span = parent.span();
        let parent_span = span.span_context();
        if parent_span.is_valid() || parent.is_telemetry_suppressed() {
            return None;
        }
        if self.rule == Rule::On && !(self.parent_based && parent.has_active_span()) {
            return Some(RootDecision::Sdk);
        }
        let (trace_id, span_id) = (self.ids)();
        Some(if self.samples(parent, trace_id) {
            RootDecision::Sampled(trace_id)
        } else {
            RootDecision::Dropped(SpanContext::new(
                trace_id,
                span_id,
                TraceFlags::default(),
                false,
                parent_span.trace_state().clone(),
            ))
        })
    }
}

thread_local! {
    /// The trace id of the root span llm-trace is asking the SDK for on this thread.
    static ROOT_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// For the id generator of a provider llm-trace samples the roots of: the trace id the root
/// span being started on this thread was decided on, if any (then the generator returns it
/// as the new trace id), else `None` (then it makes one).
pub fn take_root_trace_id() -> Option<TraceId> {
    ROOT_TRACE_ID.try_with(Cell::take).ok().flatten()
}

/// Runs `start` (which starts the root span) with `trace_id` handed to the provider's id
/// generator; says whether the generator took it.
pub(crate) fn with_root_trace_id<R>(trace_id: TraceId, start: impl FnOnce() -> R) -> (R, bool) {
    let _ = ROOT_TRACE_ID.try_with(|id| id.set(Some(trace_id)));
    let started = start();
    let left = take_root_trace_id();
    (started, left.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanKind, TraceState};
    use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};

    fn fixed_ids() -> (TraceId, SpanId) {
        (TraceId::from(1), SpanId::from(1))
    }

    /// Trace ids spread over the whole range, and the edges of the ratio bounds.
    fn trace_ids() -> Vec<TraceId> {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            // splitmix64
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut ids: Vec<TraceId> = (0..20_000)
            .map(|_| TraceId::from((u128::from(next()) << 64) | u128::from(next())))
            .collect();
        for low in [0, 1, 2, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1] {
            ids.push(TraceId::from(u128::from(low)));
            ids.push(TraceId::from((7u128 << 64) | u128::from(low)));
        }
        for ratio in ratios() {
            let bound = (ratio.max(0.0) * (1u64 << 63) as f64) as u64;
            for low in [bound.wrapping_sub(1), bound, bound.wrapping_add(1)] {
                for shifted in [low << 1, (low << 1) | 1] {
                    ids.push(TraceId::from(u128::from(shifted)));
                }
            }
        }
        ids
    }

    fn ratios() -> Vec<f64> {
        vec![
            -1.0,
            0.0,
            1e-12,
            1e-6,
            0.001,
            0.01,
            0.1,
            0.25,
            1.0 / 3.0,
            0.5,
            0.75,
            0.9,
            0.999_999,
            1.0,
            1.5,
            f64::NAN,
        ]
    }

    fn sdk_samples(sampler: &Sampler, parent: &Context, trace_id: TraceId) -> bool {
        let result =
            sampler.should_sample(Some(parent), trace_id, "f", &SpanKind::Internal, &[], &[]);
        assert_eq!(result.trace_state, TraceState::default());
        result.decision == SamplingDecision::RecordAndSample
    }

    /// Parents with no valid span: none, and active spans with invalid contexts (sampled
    /// and not) — the SDK's `ParentBased` follows the latter.
    fn root_parents() -> Vec<Context> {
        let invalid = |flags| {
            SpanContext::new(
                TraceId::INVALID,
                SpanId::INVALID,
                flags,
                false,
                TraceState::default(),
            )
        };
        vec![
            Context::new(),
            Context::new().with_remote_span_context(invalid(TraceFlags::default())),
            Context::new().with_remote_span_context(invalid(TraceFlags::SAMPLED)),
        ]
    }

    #[test]
    fn root_decisions_agree_with_the_sdk_samplers() {
        let ids = trace_ids();
        let mut rules: Vec<(RootRule, Sampler)> = vec![
            (RootRule::AlwaysOn, Sampler::AlwaysOn),
            (RootRule::AlwaysOff, Sampler::AlwaysOff),
        ];
        for ratio in ratios() {
            rules.push((RootRule::Ratio(ratio), Sampler::TraceIdRatioBased(ratio)));
        }
        let mut sampled = 0u64;
        let mut decided = 0u64;
        for (rule, sampler) in rules {
            let parent_based = Sampler::ParentBased(Box::new(sampler.clone()));
            for (ours, sdk) in [
                (RootSampling::new(rule, false, fixed_ids), &sampler),
                (RootSampling::new(rule, true, fixed_ids), &parent_based),
            ] {
                for parent in root_parents() {
                    for trace_id in &ids {
                        let expected = sdk_samples(sdk, &parent, *trace_id);
                        assert_eq!(
                            ours.samples(&parent, *trace_id),
                            expected,
                            "{rule:?} (parent based: {}), trace id {trace_id}",
                            ours.parent_based
                        );
                        sampled += u64::from(expected);
                        decided += 1;
                    }
                }
            }
        }
        // Both outcomes were compared, many times.
        assert!(sampled > 100_000 && decided - sampled > 100_000);
    }

    #[test]
    fn ratios_sample_about_their_fraction_of_random_ids() {
        let ids = trace_ids();
        for ratio in [0.1, 0.5, 0.9] {
            let ours = RootSampling::new(RootRule::Ratio(ratio), true, fixed_ids);
            let sampled = ids
                .iter()
                .filter(|id| ours.samples(&Context::new(), **id))
                .count() as f64;
            let fraction = sampled / ids.len() as f64;
            assert!((fraction - ratio).abs() < 0.02, "{ratio}: {fraction}");
        }
    }

    #[test]
    fn only_roots_are_decided() {
        let always_off = RootSampling::new(RootRule::AlwaysOff, true, fixed_ids);
        let parent = SpanContext::new(
            TraceId::from(5),
            SpanId::from(6),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let child = Context::new().with_remote_span_context(parent);
        assert_eq!(always_off.decide(&child), None);
        let suppressed = Context::new().with_telemetry_suppressed();
        assert_eq!(always_off.decide(&suppressed), None);
        // Always-on roots are left to the SDK; an always-off root is dropped with the ids
        // the generator made, not sampled, not remote.
        let always_on = RootSampling::new(RootRule::AlwaysOn, true, fixed_ids);
        assert_eq!(always_on.decide(&Context::new()), Some(RootDecision::Sdk));
        let Some(RootDecision::Dropped(dropped)) = always_off.decide(&Context::new()) else {
            panic!("an always-off root is dropped");
        };
        assert_eq!(dropped.trace_id(), TraceId::from(1));
        assert_eq!(dropped.span_id(), SpanId::from(1));
        assert!(dropped.is_valid() && !dropped.is_sampled() && !dropped.is_remote());
        // Under an active, invalid, not sampled span, parent-based always on drops too.
        let under_invalid = &root_parents()[1];
        assert!(matches!(
            always_on.decide(under_invalid),
            Some(RootDecision::Dropped(_))
        ));
    }

    #[test]
    fn the_root_trace_id_is_taken_once() {
        let (taken, consumed) = with_root_trace_id(TraceId::from(42), take_root_trace_id);
        assert_eq!(taken, Some(TraceId::from(42)));
        assert!(consumed);
        let (_, consumed) = with_root_trace_id(TraceId::from(43), || ());
        assert!(!consumed, "nobody took it");
        assert_eq!(take_root_trace_id(), None, "and it does not linger");
    }
}
