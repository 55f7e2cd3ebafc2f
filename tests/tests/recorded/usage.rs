//! The usage snapshot (`Recorder::usage`, `llm_trace::usage()`): exact totals per model,
//! per function and per usage key value — counted also when spans are sampled out —, the
//! cap on distinct values with its `other` bucket, latency quantiles, and resets.

use std::time::Duration;

use llm_trace::{llm_trace, KeyValue, Recorder, Scope};
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::mistral_client;
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;
use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SdkTracerProvider};

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message(
        "Who is the best French painter?",
    )]
}

/// mistral-small-latest: 0.10 / 0.30 USD per 1M tokens, in 10⁻¹⁵ USD per token.
fn small(input: u128, output: u128) -> u128 {
    input * 100_000_000 + output * 300_000_000
}

#[llm_trace(fields(user.id = user))]
fn ask_as(client: &Client, user: &str) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    Ok(())
}

#[llm_trace]
fn embed_here(client: &Client) -> Result<(), ApiError> {
    client.embeddings(EmbedModel::MistralEmbed, vec!["a b".into()], None)?;
    Ok(())
}

/// Calls made as alice (twice), bob (once, failing), carol (from a `Scope`), and nobody.
fn the_calls(server: &MockServer, client: &Client) {
    server.enqueue(Reply::ok().with_usage(11, 9));
    server.enqueue(Reply::ok().with_usage(7, 5));
    server.enqueue(Reply::status(429));
    server.enqueue(Reply::ok()); // embeddings: the server counts the words, 2
    server.enqueue(Reply::ok().with_usage(3, 2));
    ask_as(client, "alice").unwrap();
    ask_as(client, "alice").unwrap();
    ask_as(client, "bob").unwrap_err();
    Scope::new([KeyValue::new("user.id", "carol")]).run(|| embed_here(client).unwrap());
    // Inside, the function's own field wins over the scope's value.
    Scope::new([KeyValue::new("user.id", "carol")]).run(|| ask_as(client, "dave").unwrap());
    // Outside any annotated function, with no user.
    let outside =
        llm_trace::traced!(client.embeddings(EmbedModel::MistralEmbed, vec!["c".into()], None));
    outside.unwrap();
}

fn check_the_calls(recorder: &Recorder) {
    let usage = recorder.usage();
    let total = usage.total();
    assert_eq!(total.calls(), 6);
    assert_eq!(total.errors(), 1);
    assert_eq!(total.input_tokens(), 11 + 7 + 2 + 3 + 1);
    assert_eq!(total.output_tokens(), 9 + 5 + 2);
    let chat_cost = small(11, 9) + small(7, 5) + small(3, 2);
    let embed_cost = 3 * 100_000_000;
    assert_eq!(total.cost_femto_usd(), Some(chat_cost + embed_cost));
    assert_eq!(total.latency_samples(), 6);

    let small_model = usage.models().get("mistral-small-latest").unwrap();
    assert_eq!(small_model.calls(), 4);
    assert_eq!(small_model.errors(), 1);
    assert_eq!(small_model.cost_femto_usd(), Some(chat_cost));
    let embed_model = usage.models().get("mistral-embed").unwrap();
    assert_eq!((embed_model.calls(), embed_model.input_tokens()), (2, 3));
    assert_eq!(embed_model.output_tokens(), 0);
    assert_eq!(usage.models().values().len(), 2);

    let ask = usage.functions().get("recorded::usage::ask_as").unwrap();
    assert_eq!((ask.calls(), ask.errors()), (4, 1));
    assert_eq!(ask.cost_femto_usd(), Some(chat_cost));
    let embed = usage
        .functions()
        .get("recorded::usage::embed_here")
        .unwrap();
    assert_eq!(embed.cost_femto_usd(), Some(2 * 100_000_000));
    assert_eq!(
        usage.functions().unset().calls(),
        1,
        "the traced! call outside"
    );

    let users = usage.key("user.id").expect("a usage key");
    let alice = users.get("alice").unwrap();
    assert_eq!(
        (alice.calls(), alice.input_tokens(), alice.output_tokens()),
        (2, 18, 14)
    );
    assert_eq!(alice.cost_femto_usd(), Some(small(11, 9) + small(7, 5)));
    let bob = users.get("bob").unwrap();
    assert_eq!(
        (bob.calls(), bob.errors(), bob.cost_femto_usd()),
        (1, 1, None)
    );
    assert_eq!(users.get("carol").unwrap().input_tokens(), 2);
    assert_eq!(
        users.get("dave").unwrap().cost_femto_usd(),
        Some(small(3, 2))
    );
    assert_eq!(users.values().len(), 4);
    assert_eq!(users.unset().calls(), 1);
    assert_eq!(users.overflow(), 0);
}

#[test]
fn usage_per_model_function_and_key_has_exact_numbers() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let recorder = Recorder::builder()
        .tracer_provider(&provider)
        .usage_key("user.id")
        .build();
    let server = MockServer::start().unwrap();
    let client = mistral_client(&server);
    recorder.in_scope(|| the_calls(&server, &client));
    check_the_calls(&recorder);
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 11);
}

#[test]
fn usage_is_counted_by_key_when_spans_are_sampled_out() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .with_simple_exporter(exporter.clone())
        .build();
    let recorder = Recorder::builder()
        .tracer_provider(&provider)
        .usage_key("user.id")
        .build();
    let server = MockServer::start().unwrap();
    let client = mistral_client(&server);
    recorder.in_scope(|| the_calls(&server, &client));
    assert!(exporter.get_finished_spans().unwrap().is_empty(), "no span");
    check_the_calls(&recorder);
}

#[test]
fn distinct_values_past_the_cap_share_other_and_are_counted() {
    let provider = SdkTracerProvider::builder().build();
    let recorder = Recorder::builder()
        .tracer_provider(&provider)
        .usage_key("user.id")
        .usage_max_values(2)
        .build();
    let server = MockServer::start().unwrap();
    server.set_default_reply(Reply::ok().with_usage(1, 1));
    let client = mistral_client(&server);
    recorder.in_scope(|| {
        for user in ["u1", "u2", "u3", "u4", "u1", "u3"] {
            ask_as(&client, user).unwrap();
        }
    });
    let usage = recorder.usage();
    let users = usage.key("user.id").unwrap();
    assert_eq!(users.max_values(), 2);
    let tracked: Vec<&str> = users.values().keys().map(String::as_str).collect();
    assert_eq!(tracked, ["u1", "u2"]);
    assert_eq!(users.get("u1").unwrap().calls(), 2);
    assert_eq!(users.get("u2").unwrap().calls(), 1);
    assert_eq!(users.other().calls(), 3, "u3 twice and u4");
    assert_eq!(users.overflow(), 3);
    assert_eq!(users.other().cost_femto_usd(), Some(3 * small(1, 1)));
    assert_eq!(usage.total().calls(), 6);
}

/// The `q` quantile of `samples` as the usage snapshot defines it: the sample of rank
/// `ceil(q × n)`.
fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}

/// Whether `reported` is within the histogram's 6.25 % of `measured` (plus a millisecond
/// for what the test's clock adds around the call).
fn close_to(reported: Duration, measured: Duration) -> bool {
    let error = reported.as_secs_f64() - measured.as_secs_f64();
    error.abs() <= measured.as_secs_f64() * 0.0625 + 0.001
}

#[test]
fn p50_and_p95_come_from_the_calls_latencies() {
    let provider = SdkTracerProvider::builder().build();
    let recorder = Recorder::builder().tracer_provider(&provider).build();
    let server = MockServer::start().unwrap();
    let slow = Duration::from_millis(150);
    for _ in 0..10 {
        server.enqueue(Reply::ok());
    }
    for _ in 0..10 {
        server.enqueue(Reply::ok().with_delay(slow));
    }
    let client = mistral_client(&server);
    let mut measured: Vec<Duration> = recorder.in_scope(|| {
        (0..20)
            .map(|_| {
                let started = std::time::Instant::now();
                embed_here(&client).unwrap();
                started.elapsed()
            })
            .collect()
    });
    let usage = recorder.usage();
    let embed = usage
        .functions()
        .get("recorded::usage::embed_here")
        .unwrap();
    assert_eq!(embed.latency_samples(), 20);
    let (p50, p95) = (embed.latency_p50().unwrap(), embed.latency_p95().unwrap());
    let (true_p50, true_p95) = (quantile(&mut measured, 0.5), quantile(&mut measured, 0.95));
    assert!(
        close_to(p50, true_p50),
        "p50 {p50:?}, measured {true_p50:?}"
    );
    assert!(
        close_to(p95, true_p95),
        "p95 {p95:?}, measured {true_p95:?}"
    );
    // The 95th percentile is one of the slow calls.
    assert!(p95 >= slow.mul_f64(1.0 - 0.0625), "p95 {p95:?}");
    assert_eq!(usage.total().latency_p95(), Some(p95));
}

#[test]
fn taking_the_usage_starts_a_new_period() {
    let provider = SdkTracerProvider::builder().build();
    let recorder = Recorder::builder()
        .tracer_provider(&provider)
        .usage_key("user.id")
        .build();
    let server = MockServer::start().unwrap();
    server.set_default_reply(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);
    recorder.in_scope(|| ask_as(&client, "alice")).unwrap();
    let first = recorder.take_usage();
    assert_eq!(first.total().calls(), 1);
    assert_eq!(first.total().cost_femto_usd(), Some(small(11, 9)));
    assert_eq!(recorder.usage().total().calls(), 0);
    assert!(recorder.usage().key("user.id").unwrap().values().is_empty());
    recorder.in_scope(|| ask_as(&client, "bob")).unwrap();
    let second = recorder.usage();
    assert_eq!(second.total().calls(), 1);
    assert!(second.key("user.id").unwrap().get("alice").is_none());
    assert_eq!(
        second.key("user.id").unwrap().get("bob").unwrap().calls(),
        1
    );
}

#[test]
fn a_recorder_without_usage_counts_nothing() {
    let provider = SdkTracerProvider::builder().build();
    let recorder = Recorder::builder()
        .tracer_provider(&provider)
        .no_usage()
        .build();
    let server = MockServer::start().unwrap();
    let client = mistral_client(&server);
    recorder.in_scope(|| embed_here(&client)).unwrap();
    assert_eq!(recorder.usage().total().calls(), 0);
}

#[llm_trace]
fn fake_call(client: &llm_trace_tests::fake::FakeClient) -> llm_trace_tests::fake::FakeResponse {
    #[allow(unused_imports)]
    use llm_trace_tests::fake::kinds::*;
    client
        .chat(llm_trace_tests::fake::FakeModel, vec!["a", "b"], None)
        .unwrap()
}

#[test]
fn every_call_counts_in_exactly_one_period_while_periods_are_taken() {
    let prices = llm_trace_tests::fake::with_fake_price(llm_trace::pricing::PricingTable::empty());
    // Sampled out, no key, no total budget: each call counts in its (function, model)
    // entry, which its thread keeps between calls.
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .build();
    let recorder = Recorder::builder()
        .tracer_provider(&provider)
        .pricing(prices)
        .build();
    let client = llm_trace_tests::fake::FakeClient::new();
    const THREADS: u64 = 3;
    const CALLS: u64 = 3000;
    let mut periods = Vec::new();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                recorder.in_scope(|| {
                    for _ in 0..CALLS {
                        fake_call(&client);
                    }
                })
            });
        }
        // Periods taken while the calls run, and the same thread's calls on both sides
        // of a reset.
        for _ in 0..40 {
            recorder.in_scope(|| fake_call(&client));
            periods.push(recorder.take_usage());
            recorder.in_scope(|| fake_call(&client));
            std::thread::yield_now();
        }
    });
    periods.push(recorder.take_usage());
    let calls: u64 = periods.iter().map(|usage| usage.total().calls()).sum();
    let input: u64 = periods.iter().map(|u| u.total().input_tokens()).sum();
    let output: u64 = periods.iter().map(|u| u.total().output_tokens()).sum();
    let cost: u128 = periods
        .iter()
        .filter_map(|u| u.total().cost_femto_usd())
        .sum();
    let latencies: u64 = periods.iter().map(|u| u.total().latency_samples()).sum();
    let all = THREADS * CALLS + 80;
    assert_eq!(calls, all);
    assert_eq!((input, output), (2 * all, 9 * all));
    // 2 × 0.10 + 9 × 0.30 USD per million tokens, in 10⁻¹⁵ USD.
    assert_eq!(cost, u128::from(all) * (2 * 100_000_000 + 9 * 300_000_000));
    assert_eq!(latencies, all);
    // The first period holds the first call made before it was taken.
    assert!(periods[0].total().calls() >= 1);
    for usage in &periods {
        let function = usage.functions().get("recorded::usage::fake_call");
        assert_eq!(
            function.map_or(0, |f| f.calls()),
            usage.total().calls(),
            "every call is the function's"
        );
    }
}
