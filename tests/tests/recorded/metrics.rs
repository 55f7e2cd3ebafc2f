//! The GenAI client metrics, through the SDK's in-memory metric exporter: names, units,
//! advised bucket bounds, attributes, and values for plain, failed and streamed calls.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use llm_trace::metrics::{
    COST_BUCKETS, DURATION_BUCKETS, TIME_PER_OUTPUT_CHUNK_BUCKETS, TIME_TO_FIRST_CHUNK_BUCKETS,
    TOKEN_BUCKETS,
};
use llm_trace::{llm_trace, Recorder};
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::{attrs, capture, mistral_client};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::Model;
use mistralai_client::v1::error::ApiError;
use opentelemetry::Value;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

/// One histogram data point: attributes, count, sum, bounds.
#[derive(Debug)]
struct Point {
    attributes: BTreeMap<String, Value>,
    count: u64,
    sum: f64,
    bounds: Vec<f64>,
}

fn histogram(metrics: &[ResourceMetrics], name: &str) -> (String, Vec<Point>) {
    let metric = metrics
        .last()
        .expect("an export")
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .find(|metric| metric.name() == name)
        .unwrap_or_else(|| panic!("metric {name} exported"));
    let attributes = |kvs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
        kvs.map(|kv| (kv.key.to_string(), kv.value.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let points = match metric.data() {
        AggregatedMetrics::F64(MetricData::Histogram(h)) => h
            .data_points()
            .map(|p| Point {
                attributes: attributes(&mut p.attributes()),
                count: p.count(),
                sum: p.sum(),
                bounds: p.bounds().collect(),
            })
            .collect(),
        AggregatedMetrics::U64(MetricData::Histogram(h)) => h
            .data_points()
            .map(|p| Point {
                attributes: attributes(&mut p.attributes()),
                count: p.count(),
                sum: p.sum() as f64,
                bounds: p.bounds().collect(),
            })
            .collect(),
        other => panic!("{name} is not a histogram: {other:?}"),
    };
    (metric.unit().to_owned(), points)
}

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message(
        "Who is the best French painter?",
    )]
}

#[llm_trace]
async fn ask(client: &Client) -> Result<String, ApiError> {
    let response = client
        .chat_async(Model::MistralSmallLatest, question(), None)
        .await?;
    Ok(response.id)
}

#[llm_trace]
async fn stream(client: &Client) -> Result<usize, ApiError> {
    let stream = client
        .chat_stream(Model::MistralLargeLatest, question(), None)
        .await?;
    let mut stream = std::pin::pin!(stream);
    let mut items = 0;
    while let Some(item) = stream.next().await {
        item?;
        items += 1;
    }
    Ok(items)
}

#[tokio::test]
async fn genai_metrics_have_spec_names_buckets_and_attributes() {
    capture();
    let exporter = InMemoryMetricExporter::default();
    let meters = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    // Metrics into this test's own meter provider, for this test's calls only.
    let recorder = Recorder::current()
        .to_builder()
        .meter_provider(&meters)
        .build();

    let server = MockServer::start().unwrap();
    let client = mistral_client(&server);
    let port = i64::from(server.address().port());
    recorder
        .scope(async {
            server.enqueue(Reply::ok().with_usage(11, 9));
            ask(&client).await.unwrap();
            server.enqueue(Reply::status(429));
            ask(&client).await.unwrap_err();
            server.enqueue(
                Reply::ok()
                    .with_answer("one two three four five")
                    .with_usage(7, 5)
                    .with_chunk_delay(Duration::from_millis(10)),
            );
            stream(&client).await.unwrap();
        })
        .await;

    meters.force_flush().unwrap();
    let exported = exporter.get_finished_metrics().unwrap();

    // Each series carries the annotated function the call was made in.
    let base = |model: &str| {
        let function = match model {
            "mistral-small-latest" => "recorded::metrics::ask",
            _ => "recorded::metrics::stream",
        };
        attrs! {
            "gen_ai.operation.name" => "chat",
            "gen_ai.provider.name" => "mistral_ai",
            "gen_ai.request.model" => model.to_owned(),
            "server.address" => "127.0.0.1",
            "server.port" => port,
            "code.function.name" => function,
        }
    };
    let with = |mut map: BTreeMap<String, Value>, key: &str, value: Value| {
        map.insert(key.to_owned(), value);
        map
    };

    let (unit, durations) = histogram(&exported, "gen_ai.client.operation.duration");
    assert_eq!(unit, "s");
    assert_eq!(durations.len(), 3, "{durations:#?}");
    for point in &durations {
        assert_eq!(point.bounds, DURATION_BUCKETS);
        assert_eq!(point.count, 1);
    }
    let small_ok = with(
        base("mistral-small-latest"),
        "gen_ai.response.model",
        "mistral-small-latest".into(),
    );
    let small_429 = with(base("mistral-small-latest"), "error.type", "429".into());
    let large_ok = with(
        base("mistral-large-latest"),
        "gen_ai.response.model",
        "mistral-large-latest".into(),
    );
    for expected in [&small_ok, &small_429, &large_ok] {
        assert!(
            durations.iter().any(|p| &p.attributes == expected),
            "no duration point with {expected:?}"
        );
    }

    let (unit, tokens) = histogram(&exported, "gen_ai.client.token.usage");
    assert_eq!(unit, "{token}");
    let token_point = |attributes: &BTreeMap<String, Value>, kind: &str| {
        let wanted = with(
            attributes.clone(),
            "gen_ai.token.type",
            kind.to_owned().into(),
        );
        let point = tokens
            .iter()
            .find(|p| p.attributes == wanted)
            .unwrap_or_else(|| panic!("no token point {wanted:?}"));
        assert_eq!(point.bounds, TOKEN_BUCKETS);
        (point.count, point.sum)
    };
    assert_eq!(token_point(&small_ok, "input"), (1, 11.0));
    assert_eq!(token_point(&small_ok, "output"), (1, 9.0));
    assert_eq!(token_point(&large_ok, "input"), (1, 7.0));
    assert_eq!(token_point(&large_ok, "output"), (1, 5.0));
    assert_eq!(tokens.len(), 4, "no token usage for the failed call");

    let (unit, costs) = histogram(&exported, "gen_ai.usage.cost");
    assert_eq!(unit, "USD");
    let small = costs.iter().find(|p| p.attributes == small_ok).unwrap();
    assert_eq!(small.sum, 0.0000038);
    assert_eq!(small.bounds, COST_BUCKETS);
    let large = costs.iter().find(|p| p.attributes == large_ok).unwrap();
    assert!((large.sum - (7.0 * 2.0 + 5.0 * 6.0) / 1e6).abs() < 1e-15);

    let (unit, ttfc) = histogram(&exported, "gen_ai.client.operation.time_to_first_chunk");
    assert_eq!(unit, "s");
    assert_eq!(ttfc.len(), 1);
    assert_eq!(ttfc[0].attributes, base("mistral-large-latest"));
    assert_eq!(ttfc[0].bounds, TIME_TO_FIRST_CHUNK_BUCKETS);
    assert!(ttfc[0].sum > 0.0);

    let (_, per_chunk) = histogram(&exported, "gen_ai.client.operation.time_per_output_chunk");
    assert_eq!(per_chunk.len(), 1);
    assert_eq!(per_chunk[0].attributes, large_ok);
    assert_eq!(per_chunk[0].bounds, TIME_PER_OUTPUT_CHUNK_BUCKETS);
    // Five content chunks 10 ms apart: four gaps after the first.
    assert!(per_chunk[0].sum >= 0.009, "{}", per_chunk[0].sum);
}
