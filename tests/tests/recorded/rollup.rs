//! The roll-up on function spans (`llm_trace.total.*`): annotated functions nested three
//! levels deep, sync and async, with streams, errors and handed-off work; totals equal to
//! the exact integer sum of the call spans under them; the OpenLIT-style sum over all spans
//! unchanged; and where a stream that ends after its function returned is counted.

use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use llm_trace::pricing::PricingTable;
use llm_trace::{llm_trace, Recorder};
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::{attributes, capture, in_trace_async, mistral_client, one, spans};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::chat_stream::ChatStreamChunk;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;
use opentelemetry::trace::SpanKind;
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message(
        "Who is the best French painter?",
    )]
}

/// A recorder of this test's own, into an in-memory exporter.
struct Recording {
    recorder: Recorder,
    exporter: InMemorySpanExporter,
    _provider: SdkTracerProvider,
}

fn recording(pricing: Option<PricingTable>) -> Recording {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let mut recorder = Recorder::builder().tracer_provider(&provider);
    if let Some(pricing) = pricing {
        recorder = recorder.pricing(pricing);
    }
    Recording {
        recorder: recorder.build(),
        exporter,
        _provider: provider,
    }
}

impl Recording {
    fn spans(&self) -> Vec<SpanData> {
        self.exporter.get_finished_spans().unwrap()
    }
}

/// A cost attribute in exact 10⁻¹⁵ USD (each was rounded once from such an integer).
fn units(value: &Value) -> u128 {
    match value {
        Value::F64(usd) => (usd * 1e15).round() as u128,
        other => panic!("not a cost: {other:?}"),
    }
}

/// The spans under `root`, at any depth.
fn descendants<'a>(spans: &'a [SpanData], root: &SpanData) -> Vec<&'a SpanData> {
    let mut found = Vec::new();
    let mut parents = vec![root.span_context.span_id()];
    while let Some(parent) = parents.pop() {
        for span in spans.iter().filter(|span| span.parent_span_id == parent) {
            parents.push(span.span_context.span_id());
            found.push(span);
        }
    }
    found
}

/// The exact sum of `gen_ai.usage.cost` over the call spans under `root`.
fn call_cost_under(spans: &[SpanData], root: &SpanData) -> u128 {
    descendants(spans, root)
        .into_iter()
        .filter(|span| span.span_kind == SpanKind::Client)
        .filter_map(|span| attributes(span).get("gen_ai.usage.cost").map(units))
        .sum()
}

/// A function span's `llm_trace.total.*` attributes, the cost in exact units.
#[derive(Debug, PartialEq, Eq)]
struct Totals {
    calls: i64,
    errors: i64,
    input: Option<i64>,
    output: Option<i64>,
    cost: Option<u128>,
    unpriced: Option<i64>,
    without_usage: Option<i64>,
}

fn totals(span: &SpanData) -> Totals {
    let attributes = attributes(span);
    let count = |key: &str| match attributes.get(key) {
        Some(Value::I64(count)) => Some(*count),
        None => None,
        Some(other) => panic!("{key} is not a count: {other:?}"),
    };
    Totals {
        calls: count("llm_trace.total.calls").expect("a call count"),
        errors: count("llm_trace.total.errors").expect("an error count"),
        input: count("llm_trace.total.input_tokens"),
        output: count("llm_trace.total.output_tokens"),
        cost: attributes.get("llm_trace.total.cost").map(units),
        unpriced: count("llm_trace.total.calls_unpriced"),
        without_usage: count("llm_trace.total.calls_without_usage"),
    }
}

fn priced(calls: i64, errors: i64, input: i64, output: Option<i64>, cost: u128) -> Totals {
    Totals {
        calls,
        errors,
        input: Some(input),
        output,
        cost: Some(cost),
        unpriced: None,
        without_usage: None,
    }
}

/// mistral-small-latest: 0.10 / 0.30 USD per 1M tokens, in 10⁻¹⁵ USD per token.
fn small(input: u128, output: u128) -> u128 {
    input * 100_000_000 + output * 300_000_000
}

/// mistral-large-latest: 2 / 6 USD per 1M tokens.
fn large(input: u128, output: u128) -> u128 {
    input * 2_000_000_000 + output * 6_000_000_000
}

/// mistral-embed: 0.10 USD per 1M input tokens.
fn embed(input: u128) -> u128 {
    input * 100_000_000
}

/// Every span's `gen_ai.usage.cost`, summed as a dashboard that sums over all spans does.
fn openlit_sum(spans: &[SpanData]) -> u128 {
    spans
        .iter()
        .filter_map(|span| attributes(span).get("gen_ai.usage.cost").map(units))
        .sum()
}

/// No function span carries `gen_ai.usage.*`: the roll-up has keys of its own.
fn assert_no_usage_keys_on_functions(spans: &[SpanData]) {
    for span in spans
        .iter()
        .filter(|span| span.span_kind == SpanKind::Internal)
    {
        let keys: Vec<String> = attributes(span)
            .into_keys()
            .filter(|key| key.starts_with("gen_ai.usage"))
            .collect();
        assert!(keys.is_empty(), "{} carries {keys:?}", span.name);
    }
}

#[llm_trace]
fn level3(client: &Client) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    client.embeddings(EmbedModel::MistralEmbed, vec!["a b c".into()], None)?;
    Ok(())
}

#[llm_trace]
fn level2(client: &Client) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    level3(client)?;
    let failed = client.chat(Model::MistralSmallLatest, question(), None);
    assert!(failed.is_err());
    Ok(())
}

#[llm_trace]
fn level1(client: &Client) -> Result<(), ApiError> {
    level2(client)?;
    client.chat(Model::MistralLargeLatest, question(), None)?;
    Ok(())
}

#[test]
fn nested_sync_functions_carry_the_exact_totals_of_the_calls_under_them() {
    let recording = recording(None);
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9)); // level2
    server.enqueue(Reply::ok().with_usage(7, 5)); // level3 chat
    server.enqueue(Reply::ok().with_usage(8, 0)); // level3 embeddings
    server.enqueue(Reply::status(429)); // level2, failed
    server.enqueue(Reply::ok().with_usage(13, 17)); // level1, large
    let client = mistral_client(&server);
    recording.recorder.in_scope(|| level1(&client)).unwrap();

    let spans = recording.spans();
    assert_eq!(spans.len(), 8, "three functions and five calls");
    let (l1, l2, l3) = (
        one(&spans, "level1"),
        one(&spans, "level2"),
        one(&spans, "level3"),
    );
    let l3_cost = small(7, 5) + embed(8);
    let l2_cost = small(11, 9) + l3_cost;
    let l1_cost = l2_cost + large(13, 17);
    assert_eq!(l1_cost, 134_800_000_000, "$0.0001348");
    assert_eq!(totals(l3), priced(2, 0, 15, Some(5), l3_cost));
    assert_eq!(totals(l2), priced(4, 1, 26, Some(14), l2_cost));
    assert_eq!(totals(l1), priced(5, 1, 39, Some(31), l1_cost));
    for function in [l1, l2, l3] {
        assert_eq!(
            totals(function).cost,
            Some(call_cost_under(&spans, function)),
            "{}: the roll-up is the integer sum of its call spans",
            function.name
        );
    }
    assert_eq!(openlit_sum(&spans), l1_cost, "each call counted once");
    assert_no_usage_keys_on_functions(&spans);

    // The usage snapshot agrees, to the unit.
    let usage = recording.recorder.usage();
    assert_eq!(usage.total().cost_femto_usd(), Some(l1_cost));
    assert_eq!(usage.total().calls(), 5);
    assert_eq!(usage.total().errors(), 1);
}

/// Polls a stream to its end; the number of items.
async fn drain<S: Stream<Item = Result<Vec<ChatStreamChunk>, ApiError>>>(
    stream: S,
) -> Result<usize, ApiError> {
    let mut stream = std::pin::pin!(stream);
    let mut items = 0;
    while let Some(item) = stream.next().await {
        item?;
        items += 1;
    }
    Ok(items)
}

#[llm_trace]
async fn async3(client: &Client) -> Result<(), ApiError> {
    let stream = client
        .chat_stream(Model::MistralSmallLatest, question(), None)
        .await?;
    drain(stream).await?;
    client
        .chat_async(Model::MistralSmallLatest, question(), None)
        .await?;
    Ok(())
}

#[llm_trace]
async fn async2(client: &Client) -> Result<(), ApiError> {
    async3(client).await?;
    client
        .embeddings_async(EmbedModel::MistralEmbed, vec!["x".into()], None)
        .await?;
    Ok(())
}

#[llm_trace]
async fn async1(client: &Client) -> Result<(), ApiError> {
    async2(client).await?;
    let failed = client
        .chat_async(Model::MistralSmallLatest, question(), None)
        .await;
    assert!(failed.is_err());
    let stream = client
        .chat_stream(Model::MistralSmallLatest, question(), None)
        .await?;
    drain(stream).await?;
    Ok(())
}

#[tokio::test]
async fn nested_async_functions_and_streams_roll_up_exactly() {
    let recording = recording(None);
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(5, 4)); // async3 stream
    server.enqueue(Reply::ok().with_usage(3, 2)); // async3 chat
    server.enqueue(Reply::ok().with_usage(6, 0)); // async2 embeddings
    server.enqueue(Reply::status(500)); // async1, failed
    server.enqueue(Reply::stream_without_usage()); // async1 stream, no usage chunk
    let client = mistral_client(&server);
    recording.recorder.scope(async1(&client)).await.unwrap();

    let spans = recording.spans();
    let names: Vec<_> = spans.iter().map(|span| span.name.to_string()).collect();
    assert_eq!(spans.len(), 8, "three functions and five calls: {names:?}");
    let (a1, a2, a3) = (
        one(&spans, "async1"),
        one(&spans, "async2"),
        one(&spans, "async3"),
    );
    let a3_cost = small(5, 4) + small(3, 2);
    let a2_cost = a3_cost + embed(6);
    assert_eq!(totals(a3), priced(2, 0, 8, Some(6), a3_cost));
    assert_eq!(totals(a2), priced(3, 0, 14, Some(6), a2_cost));
    assert_eq!(
        totals(a1),
        Totals {
            without_usage: Some(1),
            ..priced(5, 1, 14, Some(6), a2_cost)
        },
        "the stream without usage is counted, and said to be left out of the tokens"
    );
    for function in [a1, a2, a3] {
        assert_eq!(
            totals(function).cost,
            Some(call_cost_under(&spans, function))
        );
    }
    assert_eq!(openlit_sum(&spans), a2_cost);
    assert_no_usage_keys_on_functions(&spans);
}

#[llm_trace]
async fn open_stream(
    client: &Client,
) -> Result<impl Stream<Item = Result<Vec<ChatStreamChunk>, ApiError>>, ApiError> {
    client
        .chat_stream(Model::MistralSmallLatest, question(), None)
        .await
}

#[llm_trace]
async fn read_later(client: &Client) -> Result<usize, ApiError> {
    let stream = open_stream(client).await?;
    Ok(std::pin::pin!(stream).count().await)
}

#[tokio::test]
async fn a_stream_ending_after_its_function_counts_in_the_functions_still_open() {
    let recording = recording(None);
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);
    let items = recording.recorder.scope(read_later(&client)).await.unwrap();
    assert!(items > 0);

    let spans = recording.spans();
    let opened = one(&spans, "open_stream");
    let reader = one(&spans, "read_later");
    let chat = one(&spans, "chat mistral-small-latest");
    // open_stream returned before the stream ended: its ended span cannot change.
    assert_eq!(
        totals(opened),
        Totals {
            calls: 0,
            errors: 0,
            input: None,
            output: None,
            cost: None,
            unpriced: None,
            without_usage: None,
        }
    );
    assert_eq!(attributes(chat)["llm_trace.late"], Value::Bool(true));
    // The caller was still open: the stream's cost is in its total.
    assert_eq!(totals(reader), priced(1, 0, 11, Some(9), small(11, 9)));
    assert_eq!(openlit_sum(&spans), small(11, 9));

    // And in the usage snapshot, under the function the call was made in, marked late.
    let usage = recording.recorder.usage();
    let function = usage
        .functions()
        .get("recorded::rollup::open_stream")
        .expect("the stream's function");
    assert_eq!(function.calls(), 1);
    assert_eq!(function.late_calls(), 1);
    assert_eq!(function.cost_femto_usd(), Some(small(11, 9)));
}

#[llm_trace]
async fn embed_words(client: Arc<Client>, words: &'static str) -> Result<u32, ApiError> {
    let embedded = client
        .embeddings_async(EmbedModel::MistralEmbed, vec![words.into()], None)
        .await?;
    Ok(embedded.usage.prompt_tokens)
}

#[llm_trace]
async fn fan_out(client: Arc<Client>) -> Result<u32, ApiError> {
    // An annotated function handed to tokio::spawn, and an async block with a call.
    let task = tokio::spawn(embed_words(Arc::clone(&client), "a b c"));
    let block = tokio::spawn(async move {
        client
            .embeddings_async(EmbedModel::MistralEmbed, vec!["d e".into()], None)
            .await
            .map(|response| response.usage.prompt_tokens)
    });
    Ok(task.await.expect("task ran")? + block.await.expect("task ran")?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_handed_to_other_tasks_rolls_up_into_the_function() {
    capture();
    let server = MockServer::start().unwrap();
    let client = Arc::new(mistral_client(&server));
    let (trace, tokens) = in_trace_async(fan_out(client)).await;
    assert_eq!(tokens.unwrap(), 5, "the local server counts words");
    let spans = spans(trace);
    let outer = one(&spans, "fan_out");
    let inner = one(&spans, "embed_words");
    assert_eq!(totals(inner), priced(1, 0, 3, None, embed(3)));
    assert_eq!(totals(outer), priced(2, 0, 5, None, embed(5)));
    assert_eq!(totals(outer).cost, Some(call_cost_under(&spans, outer)));
}

#[test]
fn unpriced_calls_are_counted_and_said_to_be_left_out_of_the_cost() {
    let recording = recording(Some(PricingTable::empty()));
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);
    recording.recorder.in_scope(|| level3(&client)).unwrap();
    let spans = recording.spans();
    assert_eq!(
        totals(one(&spans, "level3")),
        Totals {
            calls: 2,
            errors: 0,
            input: Some(11 + 3),
            output: Some(9),
            cost: None,
            unpriced: Some(2),
            without_usage: None,
        },
        "no price, no cost: never a silent 0"
    );
    let usage = recording.recorder.usage();
    assert_eq!(usage.total().cost_usd(), None);
    assert_eq!(usage.total().unpriced_calls(), 2);
}
