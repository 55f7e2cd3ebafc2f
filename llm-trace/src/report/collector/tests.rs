//! The collector on hand-made spans: attribution to functions, exact money, late streams,
//! spans of other instrumentation in between, every cap, and the top traces.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::{Collector, Limits, Meta};
use crate::report::model::{Usage, NO_FUNCTION, OTHER};

const T0: u64 = 1_000_000;

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(T0 + ms)
}

/// A span ending at `end` ms after the collector's start.
struct S {
    trace: u128,
    id: u64,
    parent: u64,
    kind: SpanKind,
    name: &'static str,
    start: u64,
    end: u64,
    attributes: Vec<KeyValue>,
    failed: bool,
    scope: &'static str,
}

impl S {
    fn data(self) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(self.trace),
                SpanId::from(self.id),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(self.parent),
            parent_span_is_remote: false,
            span_kind: self.kind,
            name: self.name.into(),
            start_time: at(self.start),
            end_time: at(self.end),
            attributes: self.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: if self.failed {
                Status::error("failed")
            } else {
                Status::Unset
            },
            instrumentation_scope: InstrumentationScope::builder(self.scope).build(),
        }
    }
}

fn function(
    trace: u128,
    id: u64,
    parent: u64,
    name: &'static str,
    start: u64,
    end: u64,
) -> SpanData {
    S {
        trace,
        id,
        parent,
        kind: SpanKind::Internal,
        name,
        start,
        end,
        attributes: vec![KeyValue::new("code.function.name", format!("app::{name}"))],
        failed: false,
        scope: "llm-trace",
    }
    .data()
}

#[allow(clippy::too_many_arguments)]
fn call(
    trace: u128,
    id: u64,
    parent: u64,
    model: &'static str,
    start: u64,
    end: u64,
    tokens: (i64, i64),
    cost: Option<f64>,
) -> SpanData {
    let operation = if model.contains("embed") {
        "embeddings"
    } else {
        "chat"
    };
    let mut attributes = vec![
        KeyValue::new("gen_ai.operation.name", operation),
        KeyValue::new("gen_ai.request.model", model),
        KeyValue::new("gen_ai.usage.input_tokens", tokens.0),
        KeyValue::new("gen_ai.usage.output_tokens", tokens.1),
    ];
    attributes.extend(cost.map(|cost| KeyValue::new("gen_ai.usage.cost", cost)));
    S {
        trace,
        id,
        parent,
        kind: SpanKind::Client,
        name: "call",
        start,
        end,
        attributes,
        failed: false,
        scope: "llm-trace",
    }
    .data()
}

fn failed_call(trace: u128, id: u64, parent: u64, error_type: &'static str, end: u64) -> SpanData {
    S {
        trace,
        id,
        parent,
        kind: SpanKind::Client,
        name: "call",
        start: end - 1,
        end,
        attributes: vec![
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new("gen_ai.request.model", "mistral-small-latest"),
            KeyValue::new("error.type", error_type),
        ],
        failed: true,
        scope: "llm-trace",
    }
    .data()
}

fn collector(limits: Limits) -> Collector {
    Collector::new(limits, at(0))
}

fn finish(collector: &mut Collector) -> Usage {
    let meta = Meta {
        service: Some("test".into()),
        sampler: "always_on".into(),
    };
    collector.finish(&meta, at(100_000))
}

fn function_row<'a>(usage: &'a Usage, name: &str) -> &'a crate::report::model::FunctionRow {
    usage
        .by_function
        .iter()
        .find(|row| row.function == name)
        .unwrap_or_else(|| panic!("no row {name} in {:?}", usage.by_function))
}

#[test]
fn calls_count_for_their_nearest_function_and_money_is_summed_exactly() {
    let mut c = collector(Limits::default());
    // outer (1) → chat (10); outer → inner (2) → embeddings (20), failed chat (21).
    c.record(&call(
        7,
        10,
        1,
        "mistral-small-latest",
        1,
        5,
        (11, 9),
        Some(0.0000038),
    ));
    c.record(&call(
        7,
        20,
        2,
        "mistral-embed",
        6,
        8,
        (8, 0),
        Some(0.0000008),
    ));
    c.record(&failed_call(7, 21, 2, "429", 9));
    c.record(&function(7, 2, 1, "inner", 6, 10));
    c.record(&function(7, 1, 0, "outer", 0, 11));
    // 0.1 + 0.2 is 0.30000000000000004 in f64; the report says 0.3.
    c.record(&call(
        8,
        30,
        3,
        "mistral-large-latest",
        20,
        30,
        (1, 1),
        Some(0.1),
    ));
    c.record(&call(
        8,
        31,
        3,
        "mistral-large-latest",
        31,
        40,
        (1, 1),
        Some(0.2),
    ));
    c.record(&function(8, 3, 0, "big", 19, 41));
    let usage = finish(&mut c);

    let outer = function_row(&usage, "app::outer");
    assert_eq!(
        (outer.invocations, outer.amounts.calls, outer.amounts.errors),
        (1, 1, 0)
    );
    assert_eq!(outer.amounts.cost_femto, 3800000000);
    let inner = function_row(&usage, "app::inner");
    assert_eq!(
        (inner.invocations, inner.amounts.calls, inner.amounts.errors),
        (1, 2, 1)
    );
    assert_eq!(
        (inner.amounts.input_tokens, inner.amounts.output_tokens),
        (8, 0)
    );
    assert_eq!(inner.amounts.cost_femto, 800000000);
    let big = function_row(&usage, "app::big");
    assert_eq!(big.amounts.cost_femto, 300000000000000);
    assert_eq!(big.amounts.cost_usd, 0.3);
    assert_ne!(0.1 + 0.2, 0.3);

    assert_eq!(usage.totals.amounts.calls, 5);
    assert_eq!(usage.totals.amounts.errors, 1);
    assert_eq!(usage.totals.amounts.cost_femto, 300004600000000);
    assert_eq!(usage.totals.traces, 2);
    assert_eq!(usage.totals.function_invocations, 3);
    assert_eq!(usage.totals.unpriced_calls, 0);
    let models: Vec<(&str, &str, u64, u64, u128)> = usage
        .by_model
        .iter()
        .map(|m| {
            (
                m.operation.as_str(),
                m.model.as_str(),
                m.amounts.calls,
                m.amounts.errors,
                m.amounts.cost_femto,
            )
        })
        .collect();
    assert_eq!(
        models,
        [
            ("chat", "mistral-large-latest", 2, 0, 300000000000000),
            ("chat", "mistral-small-latest", 2, 1, 3800000000),
            ("embeddings", "mistral-embed", 1, 0, 800000000),
        ]
    );
    assert_eq!(usage.by_model[0].latency.count, 2);
    assert_eq!(usage.by_model[0].latency.min_ms, 9.0);
    assert_eq!(usage.by_model[0].latency.max_ms, 10.0);
    assert_eq!(usage.errors.len(), 1);
    assert_eq!(
        (usage.errors[0].error_type.as_str(), usage.errors[0].count),
        ("429", 1)
    );
    assert!(usage
        .by_function
        .iter()
        .all(|row| row.function != NO_FUNCTION));
}

#[test]
fn a_stream_that_ends_after_its_function_counts_for_it() {
    let mut c = collector(Limits::default());
    c.record(&function(1, 1, 0, "streamer", 0, 10));
    // Ends 20 ms after its function, which was the root: within the grace.
    c.record(&call(
        1,
        10,
        1,
        "mistral-small-latest",
        2,
        30,
        (11, 15),
        Some(0.0000056),
    ));
    let usage = finish(&mut c);
    let row = function_row(&usage, "app::streamer");
    assert_eq!((row.amounts.calls, row.amounts.cost_femto), (1, 5600000000));
    // The trace's extent covers the stream.
    assert_eq!(usage.top_traces.by_duration[0].duration_ms, 30.0);
    assert_eq!(usage.top_traces.by_duration[0].spans.len(), 2);
    assert_eq!(usage.top_traces.by_cost[0].amounts.calls, 1);
}

#[test]
fn a_stream_that_ends_after_the_grace_counts_outside_and_is_said() {
    let mut c = collector(Limits {
        grace: Duration::from_millis(100),
        ..Limits::default()
    });
    c.record(&function(1, 1, 0, "streamer", 0, 10));
    // Another trace's span 200 ms later closes trace 1.
    c.record(&function(2, 5, 0, "other", 200, 210));
    c.record(&call(
        1,
        10,
        1,
        "mistral-small-latest",
        2,
        300,
        (1, 1),
        Some(0.000001),
    ));
    let usage = finish(&mut c);
    let outside = function_row(&usage, NO_FUNCTION);
    assert_eq!(
        (outside.amounts.calls, outside.amounts.cost_femto),
        (1, 1000000000)
    );
    assert_eq!(usage.overflow.calls_unattributed, 1);
    assert_eq!(function_row(&usage, "app::streamer").amounts.calls, 0);
    // The late part joins the kept trace.
    let trace = &usage.top_traces.by_cost[0];
    assert_eq!(trace.trace_id, TraceId::from(1u128).to_string());
    assert_eq!(trace.spans.len(), 2);
    assert_eq!(trace.spans[1].depth, 1, "{:?}", trace.spans);
}

#[test]
fn spans_of_other_instrumentation_in_between_are_walked_through() {
    let mut c = collector(Limits::default());
    // handler (llm-trace, 1) → app span (another scope, 2) → call (3).
    c.record(&call(
        1,
        3,
        2,
        "mistral-small-latest",
        2,
        4,
        (1, 1),
        Some(0.000002),
    ));
    c.record(
        &S {
            trace: 1,
            id: 2,
            parent: 1,
            kind: SpanKind::Internal,
            name: "db",
            start: 1,
            end: 5,
            attributes: vec![],
            failed: false,
            scope: "my-app",
        }
        .data(),
    );
    c.record(&function(1, 1, 0, "handler", 0, 6));
    // A trace of another instrumentation only is not counted.
    c.record(
        &S {
            trace: 9,
            id: 90,
            parent: 0,
            kind: SpanKind::Server,
            name: "GET /",
            start: 0,
            end: 1,
            attributes: vec![],
            failed: false,
            scope: "my-app",
        }
        .data(),
    );
    let usage = finish(&mut c);
    assert_eq!(function_row(&usage, "app::handler").amounts.calls, 1);
    assert_eq!(usage.totals.traces, 1);
    let spans = &usage.top_traces.by_cost[0].spans;
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].name, "handler");
    assert_eq!(spans[1].depth, 1);
    assert_eq!(
        spans[1].parent_span_id,
        Some(SpanId::from(1u64).to_string())
    );
}

#[test]
fn calls_outside_any_function_have_their_row() {
    let mut c = collector(Limits::default());
    c.record(&call(
        1,
        3,
        0,
        "mistral-small-latest",
        2,
        4,
        (1, 1),
        Some(0.000002),
    ));
    let usage = finish(&mut c);
    let row = function_row(&usage, NO_FUNCTION);
    assert_eq!((row.amounts.calls, row.invocations), (1, 0));
    assert_eq!(usage.overflow.calls_unattributed, 0);
}

#[test]
fn caps_fold_what_is_past_them_into_other_and_count_it() {
    let mut c = collector(Limits {
        models: 2,
        functions: 1,
        error_types: 1,
        ..Limits::default()
    });
    let models = ["m-a", "m-b", "m-c", "m-d"];
    for (index, model) in models.iter().enumerate() {
        let i = index as u64;
        c.record(&call(1, 10 + i, 1, model, i, i + 1, (1, 1), Some(0.000001)));
    }
    c.record(&function(1, 1, 0, "first", 0, 10));
    c.record(&call(2, 20, 2, "m-a", 11, 12, (1, 1), Some(0.000001)));
    c.record(&function(2, 2, 0, "second", 11, 13));
    c.record(&failed_call(3, 30, 0, "429", 20));
    c.record(&failed_call(3, 31, 0, "500", 21));
    c.record(&failed_call(3, 32, 0, "503", 22));
    let usage = finish(&mut c);

    let models: Vec<(&str, u64)> = usage
        .by_model
        .iter()
        .map(|m| (m.model.as_str(), m.amounts.calls))
        .collect();
    // m-a (2 calls), m-b; m-c, m-d and the three failed mistral-small-latest in (other).
    assert_eq!(models, [("m-a", 2), ("m-b", 1), (OTHER, 5)]);
    assert_eq!(usage.overflow.model_calls, 5);
    let functions: Vec<(&str, u64, u64)> = usage
        .by_function
        .iter()
        .map(|f| (f.function.as_str(), f.invocations, f.amounts.calls))
        .collect();
    assert_eq!(
        functions,
        [("app::first", 1, 4), (OTHER, 1, 1), (NO_FUNCTION, 0, 3)]
    );
    assert_eq!(usage.overflow.function_calls, 1);
    let errors: Vec<(&str, u64)> = usage
        .errors
        .iter()
        .map(|e| (e.error_type.as_str(), e.count))
        .collect();
    assert_eq!(errors, [("429", 1), (OTHER, 2)]);
    assert_eq!(usage.overflow.error_calls, 2);
}

#[test]
fn the_top_traces_are_the_most_expensive_and_the_slowest_and_draw_a_bounded_number_of_spans() {
    let mut c = collector(Limits {
        top_traces: 2,
        spans_per_trace: 2,
        ..Limits::default()
    });
    // (trace, cost in µUSD, duration ms)
    for (trace, cost, length) in [
        (1u128, 5.0, 10u64),
        (2, 1.0, 90),
        (3, 9.0, 20),
        (4, 3.0, 50),
        (5, 0.0, 40),
    ] {
        let start = trace as u64 * 1000;
        let cost = (cost > 0.0).then_some(cost / 1e6);
        c.record(&call(trace, 100, 1, "m", start, start + 1, (1, 1), cost));
        c.record(&call(
            trace,
            101,
            1,
            "m",
            start + 1,
            start + 2,
            (1, 1),
            cost,
        ));
        c.record(&function(trace, 1, 0, "f", start, start + length));
    }
    let usage = finish(&mut c);
    let ids = |traces: &[crate::report::model::TraceView]| -> Vec<String> {
        traces.iter().map(|t| t.trace_id.clone()).collect()
    };
    let id = |n: u128| TraceId::from(n).to_string();
    assert_eq!(ids(&usage.top_traces.by_cost), [id(3), id(1)]);
    assert_eq!(ids(&usage.top_traces.by_duration), [id(2), id(4)]);
    let most = &usage.top_traces.by_cost[0];
    assert_eq!(most.amounts.cost_femto, 18000000000);
    assert_eq!(
        (most.amounts.calls, most.spans.len(), most.spans_not_drawn),
        (2, 2, 1)
    );
    assert_eq!(usage.top_traces.by_duration[0].duration_ms, 90.0);
}

#[test]
fn too_many_open_traces_close_the_oldest_early_and_say_so() {
    let mut c = collector(Limits {
        open_traces: 2,
        ..Limits::default()
    });
    // Three traces whose roots never end: the first is summarised when the third opens.
    for trace in 1..=3u128 {
        c.record(&call(trace, 10, 1, "m", 0, 1, (1, 1), Some(0.000001)));
    }
    assert_eq!(c.open.len(), 2);
    let usage = finish(&mut c);
    assert_eq!(usage.overflow.traces_closed_early, 1);
    // Their function never ended: counted outside, and said.
    assert_eq!(usage.overflow.calls_unattributed, 3);
    assert_eq!(function_row(&usage, NO_FUNCTION).amounts.calls, 3);
    assert_eq!(usage.totals.traces, 3);
}

#[test]
fn traces_close_after_the_grace_and_free_their_memory() {
    let mut c = collector(Limits {
        grace: Duration::from_millis(50),
        ..Limits::default()
    });
    c.record(&function(1, 1, 0, "f", 0, 10));
    assert_eq!(c.open.len(), 1);
    c.record(&function(2, 2, 0, "f", 70, 80));
    assert_eq!(c.open.len(), 1, "trace 1 closed 70 ms after its root ended");
    assert!(c.open.contains_key(&TraceId::from(2u128)));
    assert!(c.rooted.len() == 1 && c.opened.len() == 1);
}
