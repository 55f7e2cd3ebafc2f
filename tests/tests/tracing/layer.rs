//! With a tracing-opentelemetry layer: the annotated function's `tracing` span and its
//! OpenTelemetry span are one exported span, which carries the events written in the
//! body and is the parent of the calls' spans.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use llm_trace::llm_trace;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeError, FakeModel, FakeResponse};
use llm_trace_tests::tracing_capture::CaptureLayer;
use llm_trace_tests::{assert_parent, attributes, attrs, one};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{Sampler, SpanData};
use tracing::instrument::WithSubscriber;
use tracing::Level;

use super::{assert_unique_keys, Pipeline};

const FILE: &str = "tests/tests/tracing/layer.rs";

/// The line of `fn summarise` (its span's `code.line.number`); its event is on the next.
const SUMMARISE_LINE: i64 = line!() as i64 + 2;
#[llm_trace(fields(gen_ai.conversation.id = session))]
fn summarise(client: &FakeClient, session: &str) -> Result<FakeResponse, FakeError> {
    tracing::info!(chars = 12, "summarising");
    client.chat(FakeModel, vec!["hi"], None)
}

/// The event attributes tracing-opentelemetry gives an `info!` at `line` of this file.
fn info_event(line: i64, extra: &[KeyValue]) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("level", "INFO"),
        KeyValue::new("target", "tracing::layer"),
    ];
    attributes.extend_from_slice(extra);
    attributes.extend([
        KeyValue::new("code.file.path", FILE),
        KeyValue::new("code.module.name", "tracing::layer"),
        KeyValue::new("code.line.number", line),
    ]);
    attributes
}

/// A function span's attributes without the layer's timings and thread id (which vary),
/// after checking they are there.
fn stable_attributes(span: &SpanData) -> BTreeMap<String, Value> {
    let mut attributes = attributes(span);
    for varying in ["busy_ns", "idle_ns", "thread.id"] {
        assert!(
            attributes.remove(varying).is_some(),
            "{varying} on {}",
            span.name
        );
    }
    attributes
}

#[test]
fn sync_function_is_one_span_carrying_its_events() {
    let pipeline = Pipeline::default();
    let capture = CaptureLayer::new();
    let client = FakeClient::new();
    tracing::subscriber::with_default(pipeline.subscriber_with_layer(capture.clone()), || {
        let answer = pipeline.recorder.in_scope(|| summarise(&client, "c-1"));
        assert_eq!(answer, client.chat(FakeModel, vec!["hi"], None));
    });

    let spans = pipeline.spans();
    assert_eq!(
        spans.len(),
        2,
        "one function span, one call span: {spans:#?}"
    );
    let function = one(&spans, "summarise");
    let call = one(&spans, "chat fake-small");
    assert_eq!(function.span_kind, SpanKind::Internal);
    assert_eq!(
        function.parent_span_id,
        opentelemetry::trace::SpanId::INVALID
    );
    assert_eq!(function.status, Status::Unset);
    assert_parent(call, function);
    assert_unique_keys(function);
    assert_eq!(
        stable_attributes(function),
        attrs! {
            "code.function.name" => "tracing::layer::summarise",
            "code.file.path" => FILE,
            "code.line.number" => SUMMARISE_LINE,
            "code.module.name" => "tracing::layer",
            "target" => "tracing::layer",
            "thread.name" => "layer::sync_function_is_one_span_carrying_its_events",
            "gen_ai.conversation.id" => "c-1",
            // The roll-up of its one call (the fake model has no price).
            "llm_trace.total.calls" => 1_i64,
            "llm_trace.total.errors" => 0_i64,
            "llm_trace.total.input_tokens" => 1_i64,
            "llm_trace.total.output_tokens" => 9_i64,
            "llm_trace.total.calls_unpriced" => 1_i64,
        }
    );
    let events: Vec<_> = function.events.iter().collect();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].name, "summarising");
    assert_eq!(
        events[0].attributes,
        info_event(SUMMARISE_LINE + 1, &[KeyValue::new("chars", 12_i64)])
    );
    // The call span is llm-trace's as always, and inherits the function's fields.
    assert_unique_keys(call);
    assert_eq!(call.span_kind, SpanKind::Client);
    assert_eq!(
        attributes(call),
        attrs! {
            "gen_ai.operation.name" => "chat",
            "gen_ai.provider.name" => "fake_ai",
            "gen_ai.request.model" => "fake-small",
            "gen_ai.conversation.id" => "c-1",
            "server.address" => "fake.example",
            "server.port" => 8443_i64,
            "gen_ai.usage.input_tokens" => 1_i64,
            "gen_ai.usage.output_tokens" => 9_i64,
            "gen_ai.usage.total_tokens" => 10_i64,
        }
    );

    // The subscriber saw the function's span as `tracing` describes it.
    let seen = capture.span("summarise");
    assert_eq!(seen.target, "tracing::layer");
    assert_eq!(seen.level, Level::INFO);
    assert_eq!(seen.file.as_deref(), Some(FILE));
    assert_eq!(seen.line, Some(SUMMARISE_LINE as u32));
    assert_eq!(
        seen.fields,
        BTreeMap::from([("gen_ai.conversation.id".to_owned(), "\"c-1\"".to_owned())])
    );
    let events: Vec<_> = capture
        .events()
        .into_iter()
        .filter(|e| e.target == "tracing::layer")
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].scope, ["summarise"]);
}

/// The line of `fn answer_twice`; its second event is 4 lines below.
const ANSWER_TWICE_LINE: i64 = line!() as i64 + 2;
#[llm_trace]
async fn answer_twice(client: &FakeClient) -> Result<u32, FakeError> {
    tracing::info!("first");
    let first = client.chat_async(FakeModel, vec!["a"], None).await?;
    tokio::task::yield_now().await;
    tracing::warn!(tokens = i64::from(first.output_tokens), "second");
    let second = client.chat_async(FakeModel, vec!["b", "c"], None).await?;
    Ok(first.output_tokens + second.output_tokens)
}

/// Events of another task on the same thread, between the traced function's polls.
async fn elsewhere() {
    tokio::task::yield_now().await;
    tracing::info!("elsewhere");
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[test]
fn async_function_is_one_span_entered_only_while_polled() {
    let pipeline = Pipeline::default();
    let capture = CaptureLayer::new();
    let client = FakeClient::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let traced = assert_send(pipeline.recorder.scope(answer_twice(&client)));
    let (answer, ()) = runtime.block_on(
        async { tokio::join!(traced, elsewhere()) }
            .with_subscriber(pipeline.subscriber_with_layer(capture.clone())),
    );
    assert_eq!(answer, Ok(18));

    let spans = pipeline.spans();
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let function = one(&spans, "answer_twice");
    assert_unique_keys(function);
    assert_eq!(
        attributes(function)["code.line.number"],
        Value::I64(ANSWER_TWICE_LINE)
    );
    assert_eq!(
        attributes(function)["code.function.name"],
        Value::from("tracing::layer::answer_twice")
    );
    let calls: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat fake-small")
        .collect();
    assert_eq!(calls.len(), 2);
    for call in calls {
        assert_parent(call, function);
    }
    let names: Vec<_> = function.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, ["first", "second"]);
    assert_eq!(
        function.events.events[1].attributes,
        [
            KeyValue::new("level", "WARN"),
            KeyValue::new("target", "tracing::layer"),
            KeyValue::new("tokens", 9_i64),
            KeyValue::new("code.file.path", FILE),
            KeyValue::new("code.module.name", "tracing::layer"),
            KeyValue::new("code.line.number", ANSWER_TWICE_LINE + 4),
        ]
    );
    // The other task's event, polled between the function's polls, is not inside it.
    let elsewhere: Vec<_> = capture
        .events()
        .into_iter()
        .filter(|e| e.message == "elsewhere")
        .collect();
    assert_eq!(elsewhere.len(), 1);
    assert!(elsewhere[0].scope.is_empty(), "{:?}", elsewhere[0].scope);
}

/// A sync function returning a future: the span lasts until the future completes.
#[llm_trace]
fn later(client: &FakeClient) -> impl Future<Output = Result<FakeResponse, FakeError>> + '_ {
    tracing::info!("building");
    async move {
        tracing::info!("running");
        client.chat_async(FakeModel, vec!["x"], None).await
    }
}

#[test]
fn returned_future_carries_the_span() {
    let pipeline = Pipeline::default();
    let client = FakeClient::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let subscriber = pipeline.subscriber_with_layer(CaptureLayer::new());
    let answer = tracing::subscriber::with_default(subscriber, || {
        let future = pipeline.recorder.in_scope(|| later(&client));
        runtime.block_on(pipeline.recorder.scope(future))
    });
    assert!(answer.is_ok());
    let spans = pipeline.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let function = one(&spans, "later");
    assert_parent(one(&spans, "chat fake-small"), function);
    let names: Vec<_> = function.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, ["building", "running"]);
}

#[llm_trace(fields(user.id = user))]
fn handle(client: &FakeClient, user: &str) -> Result<FakeResponse, FakeError> {
    let step = tracing::info_span!("step");
    let _entered = step.enter();
    tracing::info!("in the step");
    client.chat(FakeModel, vec!["hi"], None)
}

#[test]
fn tracing_spans_and_annotated_functions_nest_both_ways() {
    let pipeline = Pipeline::default();
    let client = FakeClient::new();
    let subscriber = pipeline.subscriber_with_layer(CaptureLayer::new());
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("request");
        let _entered = request.enter();
        let scope = llm_trace::Scope::new([KeyValue::new("app.tenant", "acme")]);
        pipeline
            .recorder
            .in_scope(|| scope.run(|| handle(&client, "u-7")))
            .unwrap();
    });
    let spans = pipeline.spans();
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let request = one(&spans, "request");
    let function = one(&spans, "handle");
    let step = one(&spans, "step");
    let call = one(&spans, "chat fake-small");
    assert_parent(function, request);
    assert_parent(step, function);
    assert_parent(call, step);
    for span in &spans {
        assert_eq!(
            span.span_context.trace_id(),
            request.span_context.trace_id()
        );
    }
    // The step's event is on the step, not the function.
    assert!(function.events.is_empty());
    assert_eq!(step.events.len(), 1);
    // Context attributes set around the function reach its span and its call, once.
    assert_unique_keys(function);
    let function_attributes = attributes(function);
    assert_eq!(function_attributes["app.tenant"], Value::from("acme"));
    assert_eq!(function_attributes["user.id"], Value::from("u-7"));
    let call_attributes = attributes(call);
    assert_eq!(call_attributes["app.tenant"], Value::from("acme"));
    assert_eq!(call_attributes["user.id"], Value::from("u-7"));
}

#[llm_trace]
fn outer(client: &FakeClient) -> Result<FakeResponse, FakeError> {
    let section = tracing::info_span!("section");
    let _entered = section.enter();
    inner(client)
}

#[llm_trace]
fn inner(client: &FakeClient) -> Result<FakeResponse, FakeError> {
    client.chat(FakeModel, vec!["hi"], None)
}

#[test]
fn annotated_functions_nest_through_tracing_spans() {
    let pipeline = Pipeline::default();
    let client = FakeClient::new();
    let subscriber = pipeline.subscriber_with_layer(CaptureLayer::new());
    tracing::subscriber::with_default(subscriber, || {
        pipeline.recorder.in_scope(|| outer(&client)).unwrap();
    });
    let spans = pipeline.spans();
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let outer = one(&spans, "outer");
    let section = one(&spans, "section");
    let inner = one(&spans, "inner");
    assert_parent(section, outer);
    assert_parent(inner, section);
    assert_parent(one(&spans, "chat fake-small"), inner);
}

#[test]
fn a_span_the_layers_sampler_drops_records_nothing() {
    let pipeline = Pipeline::with_sampler(Sampler::AlwaysOff);
    let capture = CaptureLayer::new();
    let client = FakeClient::new();
    tracing::subscriber::with_default(pipeline.subscriber_with_layer(capture.clone()), || {
        let answer = pipeline.recorder.in_scope(|| summarise(&client, "c-2"));
        assert_eq!(answer, client.chat(FakeModel, vec!["hi"], None));
    });
    assert_eq!(pipeline.spans(), Vec::<SpanData>::new());
    // The subscriber still saw the span and its event.
    assert_eq!(
        capture.span("summarise").fields["gen_ai.conversation.id"],
        "\"c-2\""
    );
    let event = capture
        .events()
        .into_iter()
        .find(|e| e.message == "summarising")
        .unwrap();
    assert_eq!(event.scope, ["summarise"]);
}

#[llm_trace]
async fn fan_out(client: Arc<FakeClient>) -> Result<FakeResponse, FakeError> {
    let task = tokio::spawn(async move {
        tracing::info!("in the task");
        client.chat_async(FakeModel, vec!["t"], None).await
    });
    task.await.expect("the task ran")
}

#[test]
fn spawned_work_runs_inside_the_function_span() {
    // Spawned tasks are outside any `Recorder` scope: this test records through the
    // binary's global pipeline.
    let capture = CaptureLayer::new();
    let subscriber = super::subscriber_on_global_pipeline(capture.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let client = Arc::new(FakeClient::new());
    tracing::subscriber::with_default(subscriber, || runtime.block_on(fan_out(client))).unwrap();

    let spans = super::global_trace_of("fan_out");
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let function = one(&spans, "fan_out");
    assert_parent(one(&spans, "chat fake-small"), function);
    let names: Vec<_> = function.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, ["in the task"]);
    let event = capture
        .events()
        .into_iter()
        .find(|e| e.message == "in the task")
        .unwrap();
    assert_eq!(event.scope, ["fan_out"]);
}
