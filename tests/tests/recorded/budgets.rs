//! Budgets and alerts: each kind fires exactly once per window, with its span event on the
//! function span, its metric, its (rate-limited) warning and the callback; a slow-call
//! alert; a panicking callback; and the budget status a program asks before calling.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llm_trace::budget::{BudgetAlert, BudgetKind, Budgets};
use llm_trace::{llm_trace, KeyValue, Recorder, Scope};
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::logs::capture_logs;
use llm_trace_tests::mistral_client;
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;
use opentelemetry::Value;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message(
        "Who is the best French painter?",
    )]
}

/// 11 input and 9 output tokens of mistral-small-latest: $0.0000038.
const CALL_USD: f64 = 0.0000038;

/// What `n` such calls cost, rounded once as llm-trace rounds.
fn calls_usd(n: u128) -> f64 {
    llm_trace::pricing::usd_of_units(n * 3_800_000_000)
}

/// A recorder with `budgets`, its spans, its metrics and the alerts its callback got.
struct Watched {
    recorder: Recorder,
    spans: InMemorySpanExporter,
    metrics: InMemoryMetricExporter,
    meters: SdkMeterProvider,
    alerts: Arc<Mutex<Vec<BudgetAlert>>>,
    _provider: SdkTracerProvider,
}

fn watched(budgets: Budgets) -> Watched {
    let spans = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let metrics = InMemoryMetricExporter::default();
    let meters = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&alerts);
    let budgets = budgets.on_exceeded(move |alert| seen.lock().unwrap().push(alert.clone()));
    let recorder = Recorder::builder()
        .tracer_provider(&provider)
        .meter_provider(&meters)
        .budgets(budgets)
        .build();
    Watched {
        recorder,
        spans,
        metrics,
        meters,
        alerts,
        _provider: provider,
    }
}

impl Watched {
    fn alerts(&self) -> Vec<BudgetAlert> {
        self.alerts.lock().unwrap().clone()
    }

    fn spans(&self) -> Vec<SpanData> {
        self.spans.get_finished_spans().unwrap()
    }

    /// The `llm_trace.budget.exceeded` counter, by `llm_trace.budget.kind`.
    fn exceeded_metric(&self) -> BTreeMap<String, u64> {
        self.meters.force_flush().unwrap();
        let exported = self.metrics.get_finished_metrics().unwrap();
        let mut counts = BTreeMap::new();
        let Some(last) = exported.last() else {
            return counts;
        };
        for metric in last.scope_metrics().flat_map(|scope| scope.metrics()) {
            if metric.name() != "llm_trace.budget.exceeded" {
                continue;
            }
            assert_eq!(metric.unit(), "{alert}");
            let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else {
                panic!("not a counter: {:?}", metric.data());
            };
            for point in sum.data_points() {
                let kind = point
                    .attributes()
                    .find(|kv| kv.key.as_str() == "llm_trace.budget.kind")
                    .map(|kv| kv.value.to_string())
                    .unwrap();
                counts.insert(kind, point.value());
            }
        }
        counts
    }
}

/// The `llm_trace.budget.exceeded` events of a span, as attribute maps.
fn budget_events(span: &SpanData) -> Vec<BTreeMap<String, Value>> {
    span.events
        .iter()
        .filter(|event| event.name == "llm_trace.budget.exceeded")
        .map(|event| {
            event
                .attributes
                .iter()
                .map(|kv| (kv.key.to_string(), kv.value.clone()))
                .collect()
        })
        .collect()
}

fn functions<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|span| span.name == name).collect()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[llm_trace]
fn one_call_of_mine(client: &Client) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    Ok(())
}

#[test]
fn the_per_call_budget_fires_for_each_call_over_it() {
    let logs = capture_logs();
    let watched = watched(Budgets::new().per_call_usd(0.000003).unwrap());
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9)); // $0.0000038: over
    server.enqueue(Reply::ok().with_usage(7, 5)); // $0.0000022: under
    server.enqueue(Reply::ok().with_usage(11, 9)); // over
    let client = mistral_client(&server);
    watched.recorder.in_scope(|| {
        for _ in 0..3 {
            one_call_of_mine(&client).unwrap();
        }
    });

    let alerts = watched.alerts();
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    for alert in &alerts {
        assert_eq!(alert.kind(), BudgetKind::Call);
        assert_eq!(alert.limit(), 0.000003);
        assert_eq!(alert.value(), CALL_USD);
        assert_eq!(alert.model(), "mistral-small-latest");
        assert_eq!(
            alert.function(),
            Some("recorded::budgets::one_call_of_mine")
        );
    }
    let spans = watched.spans();
    let invocations = functions(&spans, "one_call_of_mine");
    let events: Vec<usize> = invocations.iter().map(|s| budget_events(s).len()).collect();
    assert_eq!(events.iter().sum::<usize>(), 2, "{events:?}");
    let event = budget_events(invocations.iter().find(|s| !s.events.is_empty()).unwrap()).remove(0);
    assert_eq!(event["llm_trace.budget.kind"], Value::from("call"));
    assert_eq!(event["llm_trace.budget.limit"], Value::F64(0.000003));
    assert_eq!(event["llm_trace.budget.value"], Value::F64(CALL_USD));
    assert_eq!(
        event["gen_ai.request.model"],
        Value::from("mistral-small-latest")
    );
    assert_eq!(
        event["code.function.name"],
        Value::from("recorded::budgets::one_call_of_mine")
    );
    assert_eq!(watched.exceeded_metric(), counts(&[("call", 2)]));
    // Two alerts, one warning: the second falls within the minute.
    let warnings = logs.warnings_with("over the per-call budget of $0.000003");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("recorded::budgets::one_call_of_mine"));
}

#[llm_trace]
fn inner_calls(client: &Client) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    client.chat(Model::MistralSmallLatest, question(), None)?;
    Ok(())
}

#[llm_trace(budget_usd = 0.000005)]
fn budgeted(client: &Client) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    inner_calls(client)?;
    // Asked inside: this invocation's budget, as spent so far.
    let status = llm_trace::budget_status();
    let mine = status.function().expect("the invocation's budget");
    assert_eq!(mine.function(), Some("recorded::budgets::budgeted"));
    assert_eq!(mine.spent_usd(), calls_usd(3));
    assert!(mine.exceeded());
    assert!(status.any_exceeded());
    Ok(())
}

#[test]
fn the_function_budget_fires_once_per_invocation_nested_calls_included() {
    let logs = capture_logs();
    let watched = watched(Budgets::new());
    let server = MockServer::start().unwrap();
    server.set_default_reply(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);
    watched.recorder.in_scope(|| {
        budgeted(&client).unwrap();
        budgeted(&client).unwrap();
    });

    let alerts = watched.alerts();
    assert_eq!(alerts.len(), 2, "one per invocation: {alerts:#?}");
    for alert in &alerts {
        assert_eq!(alert.kind(), BudgetKind::Function);
        assert_eq!(alert.function(), Some("recorded::budgets::budgeted"));
        assert_eq!(alert.limit(), 0.000005);
        // Crossed at the second call, made in the nested function.
        assert_eq!(alert.value(), calls_usd(2));
    }
    let spans = watched.spans();
    for invocation in functions(&spans, "budgeted") {
        let events = budget_events(invocation);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["llm_trace.budget.kind"], Value::from("function"));
        assert_eq!(
            events[0]["llm_trace.budget.value"],
            Value::F64(calls_usd(2))
        );
    }
    for inner in functions(&spans, "inner_calls") {
        assert!(
            budget_events(inner).is_empty(),
            "the event is on the budgeted function"
        );
    }
    assert_eq!(watched.exceeded_metric(), counts(&[("function", 2)]));
    let warnings = logs.warnings_with("one invocation of recorded::budgets::budgeted");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
}

#[llm_trace(budget_usd = 1)]
fn overridden(client: &Client) -> Result<(), ApiError> {
    for _ in 0..3 {
        client.chat(Model::MistralSmallLatest, question(), None)?;
    }
    Ok(())
}

#[test]
fn a_configured_function_budget_overrides_the_attribute() {
    let watched = watched(
        Budgets::new()
            .per_function_usd("recorded::budgets::overridden", 0.00001)
            .unwrap(),
    );
    let server = MockServer::start().unwrap();
    server.set_default_reply(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);
    watched.recorder.in_scope(|| overridden(&client)).unwrap();
    let alerts = watched.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].limit(), 0.00001);
    assert_eq!(alerts[0].value(), calls_usd(3));
}

#[llm_trace(fields(gen_ai.conversation.id = conversation))]
fn turn(client: &Client, conversation: &str) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    Ok(())
}

#[test]
fn a_key_budget_fires_once_per_value() {
    let watched = watched(
        Budgets::new()
            .per_key_usd("gen_ai.conversation.id", 0.000005)
            .unwrap(),
    );
    let server = MockServer::start().unwrap();
    server.set_default_reply(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);
    watched.recorder.in_scope(|| {
        for conversation in ["c1", "c1", "c2", "c1", "c2", "c2"] {
            turn(&client, conversation).unwrap();
        }
        // Asked in a conversation's context: its key budget.
        Scope::new([KeyValue::new("gen_ai.conversation.id", "c1")]).run(|| {
            let status = llm_trace::budget_status();
            let c1 = status.key("gen_ai.conversation.id").unwrap();
            assert_eq!(c1.key(), Some(("gen_ai.conversation.id", "c1")));
            assert_eq!(c1.spent_usd(), calls_usd(3));
            assert!(c1.exceeded());
        });
    });
    let alerts = watched.alerts();
    let keys: Vec<_> = alerts
        .iter()
        .map(|a| a.key().unwrap().1.to_owned())
        .collect();
    assert_eq!(keys, ["c1", "c2"], "once per value");
    for alert in &alerts {
        assert_eq!(alert.kind(), BudgetKind::Key);
        assert_eq!(alert.value(), calls_usd(2));
    }
    let spans = watched.spans();
    let events: Vec<_> = functions(&spans, "turn")
        .into_iter()
        .flat_map(budget_events)
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0]["llm_trace.budget.key"],
        Value::from("gen_ai.conversation.id")
    );
    assert_eq!(events[0]["llm_trace.budget.key_value"], Value::from("c1"));
    assert_eq!(watched.exceeded_metric(), counts(&[("key", 2)]));
    // The key is counted in the usage snapshot too.
    let usage = watched.recorder.usage();
    let conversations = usage.key("gen_ai.conversation.id").unwrap();
    assert_eq!(conversations.get("c2").unwrap().calls(), 3);
}

#[test]
fn a_window_budget_fires_once_per_window_on_an_injected_clock() {
    let now = Arc::new(AtomicU64::new(0));
    let clock = Arc::clone(&now);
    let minutes = |m: u64| now.store(m * 60 * 1_000_000_000, Ordering::SeqCst);
    let hour = Duration::from_secs(3600);
    let watched = watched(
        Budgets::new()
            .per_window_usd(hour, 0.000005)
            .unwrap()
            .clock(move || Duration::from_nanos(clock.load(Ordering::SeqCst))),
    );
    let server = MockServer::start().unwrap();
    server.set_default_reply(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);
    let call_at = |minute: u64| {
        minutes(minute);
        watched
            .recorder
            .in_scope(|| one_call_of_mine(&client))
            .unwrap();
    };
    call_at(0);
    call_at(10); // $0.0000076 in the last hour: fires
    assert_eq!(watched.alerts().len(), 1);
    call_at(20); // $0.0000114, but it fired less than an hour ago
    call_at(50);
    assert_eq!(watched.alerts().len(), 1);
    let status = watched.recorder.budget_status();
    assert_eq!(status.window(hour).unwrap().spent_usd(), calls_usd(4));
    // At 70 minutes the calls of minutes 0 and 10 left the window: 20, 50 and 70 remain,
    // over the budget, and an hour has passed since it fired.
    call_at(70);
    let alerts = watched.alerts();
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    assert_eq!(alerts[0].value(), calls_usd(2));
    assert_eq!(alerts[1].value(), calls_usd(3));
    for alert in &alerts {
        assert_eq!(alert.kind(), BudgetKind::Window);
        assert_eq!(alert.window(), Some(hour));
    }
    // Hours later the window is empty.
    minutes(300);
    let status = watched.recorder.budget_status();
    assert_eq!(status.window(hour).unwrap().spent_usd(), 0.0);
    assert!(!status.any_exceeded());
    let spans = watched.spans();
    let events: Vec<_> = functions(&spans, "one_call_of_mine")
        .into_iter()
        .flat_map(budget_events)
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["llm_trace.budget.window"], Value::F64(3600.0));
    assert_eq!(watched.exceeded_metric(), counts(&[("window", 2)]));
}

#[test]
fn the_total_budget_fires_once_until_the_usage_is_taken() {
    let watched = watched(Budgets::new().total_usd(0.00001).unwrap());
    let server = MockServer::start().unwrap();
    server.set_default_reply(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);
    let calls = |n: usize| {
        watched.recorder.in_scope(|| {
            for _ in 0..n {
                one_call_of_mine(&client).unwrap();
            }
        })
    };
    calls(5);
    let alerts = watched.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind(), BudgetKind::Total);
    assert_eq!(alerts[0].value(), calls_usd(3), "crossed at the third call");
    let status = watched.recorder.budget_status();
    assert_eq!(status.total().unwrap().spent_usd(), calls_usd(5));
    assert_eq!(status.total().unwrap().remaining_usd(), 0.0);
    // A new period starts the total again.
    let taken = watched.recorder.take_usage();
    assert_eq!(taken.total().calls(), 5);
    calls(3);
    assert_eq!(watched.alerts().len(), 2);
    assert_eq!(watched.exceeded_metric(), counts(&[("total", 2)]));
}

#[llm_trace]
fn slow_and_fast(client: &Client) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    client.chat(Model::MistralSmallLatest, question(), None)?;
    client.embeddings(EmbedModel::MistralEmbed, vec!["a".into()], None)?;
    Ok(())
}

#[test]
fn a_slow_call_alerts_by_its_models_threshold() {
    let watched = watched(
        Budgets::new()
            .latency("mistral-small-latest", Duration::from_millis(1200))
            .latency("*", Duration::from_millis(900)),
    );
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_delay(Duration::from_millis(1600)));
    server.enqueue(Reply::ok());
    server.enqueue(Reply::ok().with_delay(Duration::from_millis(1300)));
    let client = mistral_client(&server);
    watched
        .recorder
        .in_scope(|| slow_and_fast(&client))
        .unwrap();
    let alerts = watched.alerts();
    let models: Vec<_> = alerts.iter().map(|a| a.model().to_owned()).collect();
    assert_eq!(
        models,
        ["mistral-small-latest", "mistral-embed"],
        "{alerts:#?}"
    );
    assert_eq!(alerts[0].limit(), 1.2);
    assert!(alerts[0].value() >= 1.6);
    assert_eq!(
        alerts[1].limit(),
        0.9,
        "the threshold for every other model"
    );
    assert!(alerts[1].value() >= 1.3);
    for alert in &alerts {
        assert_eq!(alert.kind(), BudgetKind::Latency);
        assert_eq!(alert.function(), Some("recorded::budgets::slow_and_fast"));
    }
    let spans = watched.spans();
    let events = budget_events(functions(&spans, "slow_and_fast")[0]);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["llm_trace.budget.kind"], Value::from("latency"));
    assert_eq!(events[0]["llm_trace.budget.limit"], Value::F64(1.2));
    assert_eq!(watched.exceeded_metric(), counts(&[("latency", 2)]));
}

#[test]
fn a_panicking_callback_changes_nothing_and_is_not_called_again() {
    let logs = capture_logs();
    let called = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&called);
    let spans = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let recorder = Recorder::builder()
        .tracer_provider(&provider)
        .budgets(
            Budgets::new()
                .per_call_usd(0.000001)
                .unwrap()
                .on_exceeded(move |_| {
                    count.fetch_add(1, Ordering::SeqCst);
                    panic!("bug in the alert callback");
                }),
        )
        .build();
    let server = MockServer::start().unwrap();
    server.set_default_reply(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);
    let results: Vec<_> = recorder.in_scope(|| (0..3).map(|_| one_call_of_mine(&client)).collect());
    assert!(
        results.iter().all(Result::is_ok),
        "the calls' results are unchanged"
    );
    assert_eq!(called.load(Ordering::SeqCst), 1);
    assert_eq!(
        spans.get_finished_spans().unwrap().len(),
        6,
        "every span ended"
    );
    assert_eq!(
        logs.warnings_with("the budget alert callback panicked")
            .len(),
        1
    );
    let events: usize = spans
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|span| budget_events(span).len())
        .sum();
    assert_eq!(events, 3, "alerts still go on the spans");
}
