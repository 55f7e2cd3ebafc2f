//! The usage report (`.report(path)`, `LLM_TRACE_REPORT`): its numbers against the spans
//! the collector received, its HTML page against its JSON, a path that cannot be written
//! at `init` and at shutdown, and the console and `none` exports.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use llm_trace::{llm_trace, ExporterKind, InitErrorKind, Origin, Sampling};
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::otlp_receiver::{attribute_map, OtlpReceiver};
use llm_trace_tests::{mistral_client, SharedBuffer};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::Value;

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message("Which painter?")]
}

/// A fresh directory for one test's report.
fn directory(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("llm-trace-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// Three levels, sync: plan → research → lookup.
#[llm_trace]
fn plan(client: &Client) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    research(client)?;
    Ok(())
}

#[llm_trace]
fn research(client: &Client) -> Result<(), ApiError> {
    client.embeddings(EmbedModel::MistralEmbed, vec!["a b c".into()], None)?;
    lookup(client)
}

#[llm_trace]
fn lookup(client: &Client) -> Result<(), ApiError> {
    client.chat(Model::MistralLargeLatest, question(), None)?;
    // Fails with 429: counted, and its error type.
    let _ = client.chat(Model::MistralLargeLatest, question(), None);
    Ok(())
}

// Async, with streams: one with usage, one whose usage never comes.
#[llm_trace]
async fn stream_twice(client: &Client) -> Result<usize, ApiError> {
    let mut chunks = 0;
    for _ in 0..2 {
        let stream = client
            .chat_stream(Model::MistralSmallLatest, question(), None)
            .await?;
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            chunks += item?.len();
        }
    }
    let _ = client
        .embeddings_async(EmbedModel::MistralEmbed, vec!["d e".into()], None)
        .await?;
    // Fails with 500.
    let _ = client
        .chat_async(Model::OpenMistralNemo, question(), None)
        .await;
    Ok(chunks)
}

/// The report's JSON, and the same JSON embedded in its HTML page.
fn read_report(html: &Path) -> (Value, String) {
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(html.with_extension("json")).unwrap())
            .unwrap();
    let page = std::fs::read_to_string(html).unwrap();
    let open = r#"<script type="application/json" id="llm-trace-usage">"#;
    let start = page.find(open).expect("the embedded JSON") + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    let embedded: Value = serde_json::from_str(&page[start..end]).unwrap();
    assert_eq!(embedded, json, "the page embeds the JSON file's numbers");
    (json, page)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the report should say of one group of calls, computed from the spans.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    calls: u64,
    errors: u64,
    input_tokens: u64,
    output_tokens: u64,
    cost_femto: u128,
    unpriced: u64,
}

impl Expected {
    fn of(row: &Value) -> Expected {
        Expected {
            calls: row["calls"].as_u64().unwrap(),
            errors: row["errors"].as_u64().unwrap(),
            input_tokens: row["input_tokens"].as_u64().unwrap(),
            output_tokens: row["output_tokens"].as_u64().unwrap(),
            cost_femto: row["cost_femto_usd"].as_str().unwrap().parse().unwrap(),
            unpriced: row["unpriced_calls"].as_u64().unwrap_or(0),
        }
    }
}

/// One call span, as the report counts it.
struct Call {
    trace: String,
    key: (String, String),
    function: String,
    error_type: Option<String>,
    input: u64,
    output: u64,
    cost_femto: Option<u128>,
    end: u64,
    nanos: u64,
}

fn calls_of(spans: &[Span]) -> Vec<Call> {
    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    let function_of = |span: &Span| {
        let mut parent = by_id.get(span.parent_span_id.as_slice());
        while let Some(p) = parent {
            if let Some(name) = attribute_map(&p.attributes).get("code.function.name") {
                return name.clone();
            }
            parent = by_id.get(p.parent_span_id.as_slice());
        }
        "(outside annotated functions)".to_owned()
    };
    spans
        .iter()
        .filter_map(|span| {
            let attributes = attribute_map(&span.attributes);
            let operation = attributes.get("gen_ai.operation.name")?;
            let failed = span.status.as_ref().is_some_and(|s| s.code == 2);
            let number = |key: &str| attributes.get(key).map(|v| v.parse::<u64>().unwrap());
            Some(Call {
                trace: hex(&span.trace_id),
                key: (
                    operation.clone(),
                    attributes["gen_ai.request.model"].clone(),
                ),
                function: function_of(span),
                error_type: failed.then(|| attributes["error.type"].clone()),
                input: number("gen_ai.usage.input_tokens").unwrap_or(0),
                output: number("gen_ai.usage.output_tokens").unwrap_or(0),
                cost_femto: attributes
                    .get("gen_ai.usage.cost")
                    .map(|c| (c.parse::<f64>().unwrap() * 1e15).round() as u128),
                end: span.end_time_unix_nano,
                nanos: span.end_time_unix_nano - span.start_time_unix_nano,
            })
        })
        .collect()
}

fn add(expected: &mut Expected, call: &Call) {
    expected.calls += 1;
    expected.errors += u64::from(call.error_type.is_some());
    expected.input_tokens += call.input;
    expected.output_tokens += call.output;
    expected.cost_femto += call.cost_femto.unwrap_or(0);
    expected.unpriced += u64::from(call.error_type.is_none() && call.cost_femto.is_none());
}

#[test]
fn the_report_says_what_the_spans_say() {
    let _one = llm_trace_tests::exclusive();
    let dir = directory("spans");
    let path = dir.join("usage.html");
    let server = MockServer::start().unwrap();
    let receiver = OtlpReceiver::start();
    let telemetry = llm_trace::builder()
        .service_name("report-test")
        .otlp_endpoint(receiver.endpoint())
        .disable_batch(true)
        .disable_metrics(true)
        .report(&path)
        .init()
        .unwrap();
    let client = mistral_client(&server);

    for (input, output) in [(11, 9), (40, 2)] {
        server.enqueue(Reply::ok().with_usage(input, output)); // chat small
        server.enqueue(Reply::ok()); // embeddings
        server.enqueue(Reply::ok().with_usage(120, 30)); // chat large
        server.enqueue(Reply::status(429));
        plan(&client).unwrap();
    }
    // Outside any annotated function.
    server.enqueue(Reply::ok().with_usage(5, 5));
    llm_trace::traced!(client.chat(Model::MistralSmallLatest, question(), None)).unwrap();

    server.enqueue(Reply::ok().with_usage(7, 15));
    server.enqueue(Reply::stream_without_usage());
    server.enqueue(Reply::ok());
    server.enqueue(Reply::status(500));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(stream_twice(&client)).unwrap();
    drop(runtime);

    let report = telemetry.shutdown();
    assert!(report.is_clean(), "{report}");
    let spans = receiver.spans();
    let calls = calls_of(&spans);
    assert_eq!(calls.len(), 13);
    let (json, page) = read_report(&path);

    // Totals.
    let mut total = Expected::default();
    calls.iter().for_each(|call| add(&mut total, call));
    assert_eq!(Expected::of(&json["totals"]), total);
    assert_eq!(total.errors, 3);
    assert_eq!(total.unpriced, 1, "the stream without usage has no cost");
    let traces: std::collections::BTreeSet<&str> = calls.iter().map(|c| c.trace.as_str()).collect();
    assert_eq!(json["totals"]["traces"], traces.len() as u64);
    let functions: Vec<&Span> = spans
        .iter()
        .filter(|s| attribute_map(&s.attributes).contains_key("code.function.name"))
        .collect();
    assert_eq!(
        json["totals"]["function_invocations"],
        functions.len() as u64
    );
    assert_eq!(functions.len(), 7);
    assert_eq!(json["service"], "report-test");
    assert_eq!(json["sampler"], "parentbased_always_on");

    // Per model, with the latency of each call in its bucket.
    let mut by_model: BTreeMap<(String, String), (Expected, Vec<u64>)> = BTreeMap::new();
    for call in &calls {
        let entry = by_model.entry(call.key.clone()).or_default();
        add(&mut entry.0, call);
        entry.1.push(call.nanos);
    }
    let rows = json["by_model"].as_array().unwrap();
    assert_eq!(rows.len(), by_model.len());
    for row in rows {
        let key = (
            row["operation"].as_str().unwrap().to_owned(),
            row["model"].as_str().unwrap().to_owned(),
        );
        let (expected, durations) = &by_model[&key];
        assert_eq!(&Expected::of(row), expected, "{key:?}");
        let latency = &row["latency"];
        assert_eq!(latency["count"], durations.len() as u64);
        let ms = |nanos: u64| nanos as f64 / 1e6;
        assert_eq!(latency["min_ms"], ms(*durations.iter().min().unwrap()));
        assert_eq!(latency["max_ms"], ms(*durations.iter().max().unwrap()));
        let mut below = 0.0;
        for bucket in latency["buckets"].as_array().unwrap() {
            let le = bucket["le_ms"].as_f64().unwrap_or(f64::INFINITY);
            let inside = durations
                .iter()
                .filter(|&&d| ms(d) > below && ms(d) <= le)
                .count();
            assert_eq!(
                bucket["count"], inside as u64,
                "{key:?} bucket up to {le} ms"
            );
            below = le;
        }
        assert!(latency["p50_ms"].as_f64().unwrap() <= latency["max_ms"].as_f64().unwrap());
        // The chart's bar carries the exact cost.
        let name = format!("{} {}", key.0, key.1);
        let bar = format!(
            r#"data-key="{name}" data-value="{}""#,
            row["cost_femto_usd"].as_str().unwrap()
        );
        assert!(page.contains(&bar), "no bar {bar}");
    }
    // Rows are sorted by cost: the large model first.
    assert_eq!(rows[0]["model"], "mistral-large-latest");

    // Per function: each call for its nearest annotated function.
    let mut by_function: BTreeMap<String, Expected> = BTreeMap::new();
    for call in &calls {
        add(by_function.entry(call.function.clone()).or_default(), call);
    }
    let rows = json["by_function"].as_array().unwrap();
    assert_eq!(rows.len(), by_function.len());
    for row in rows {
        let name = row["function"].as_str().unwrap();
        let mut expected = by_function.remove(name).unwrap();
        expected.unpriced = 0; // not in function rows
        assert_eq!(Expected::of(row), expected, "{name}");
        let runs = functions
            .iter()
            .filter(|s| attribute_map(&s.attributes)["code.function.name"] == name)
            .count();
        assert_eq!(row["invocations"], runs as u64, "{name}");
    }
    let lookup = rows
        .iter()
        .find(|r| r["function"].as_str().unwrap().ends_with("::lookup"))
        .unwrap();
    assert_eq!(
        (lookup["invocations"].as_u64(), lookup["calls"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(lookup["errors"], 2);
    // 2 × (120 in × $2 + 30 out × $6 per 1M tokens).
    assert_eq!(lookup["cost_femto_usd"], "840000000000");
    let outside = rows
        .iter()
        .find(|r| r["function"] == "(outside annotated functions)")
        .unwrap();
    assert_eq!(outside["calls"], 1);

    // Errors by type.
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for call in calls.iter().filter_map(|c| c.error_type.as_ref()) {
        *errors.entry(call.clone()).or_default() += 1;
    }
    let rows: BTreeMap<String, u64> = json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["error_type"].as_str().unwrap().to_owned(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, errors);
    assert_eq!(
        rows,
        BTreeMap::from([("429".to_owned(), 2), ("500".to_owned(), 1)])
    );

    // Over time: each call in the bucket of its end.
    let timeline = &json["timeline"];
    let start: u64 = timeline["start_unix_nano"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let width = (timeline["bucket_seconds"].as_f64().unwrap() * 1e9).round() as u64;
    let mut buckets: BTreeMap<u64, (u64, u128)> = BTreeMap::new();
    for call in &calls {
        let entry = buckets.entry((call.end - start) / width).or_default();
        entry.0 += 1;
        entry.1 += call.cost_femto.unwrap_or(0);
    }
    let shown: BTreeMap<u64, (u64, u128)> = timeline["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, b)| b["calls"].as_u64().unwrap() > 0)
        .map(|(i, b)| {
            (
                i as u64,
                (
                    b["calls"].as_u64().unwrap(),
                    b["cost_femto_usd"].as_str().unwrap().parse().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(shown, buckets);

    // The top traces: by cost, and by the extent of their spans.
    let mut cost: BTreeMap<&str, u128> = BTreeMap::new();
    for call in &calls {
        *cost.entry(call.trace.as_str()).or_default() += call.cost_femto.unwrap_or(0);
    }
    let mut ranked: Vec<(&str, u128)> = cost.into_iter().collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
    let by_cost = json["top_traces"]["by_cost"].as_array().unwrap();
    assert_eq!(by_cost.len(), 3);
    for (shown, (trace, femto)) in by_cost.iter().zip(&ranked) {
        assert_eq!(shown["cost_femto_usd"], femto.to_string());
        // Costs are all different here, so the trace is known too.
        assert_eq!(shown["trace_id"], *trace);
        let drawn = shown["spans"].as_array().unwrap().len();
        let in_trace = spans.iter().filter(|s| hex(&s.trace_id) == *trace).count();
        assert_eq!(drawn, in_trace);
    }
    let mut extent: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for span in &spans {
        let entry = extent.entry(hex(&span.trace_id)).or_insert((u64::MAX, 0));
        entry.0 = entry.0.min(span.start_time_unix_nano);
        entry.1 = entry.1.max(span.end_time_unix_nano);
    }
    let mut slowest: Vec<(String, u64)> =
        extent.into_iter().map(|(t, (a, b))| (t, b - a)).collect();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.1));
    let by_duration = json["top_traces"]["by_duration"].as_array().unwrap();
    for (shown, (trace, nanos)) in by_duration.iter().zip(&slowest) {
        assert_eq!(shown["trace_id"], trace.as_str());
        assert_eq!(shown["duration_ms"], *nanos as f64 / 1e6);
    }
    // The most expensive trace is drawn nested: plan → research → lookup → calls.
    let depths: Vec<(String, u64)> = by_cost[0]["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    let names: Vec<(&str, u64)> = depths.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    assert_eq!(
        names,
        [
            ("plan", 0),
            ("chat mistral-small-latest", 1),
            ("research", 1),
            ("embeddings mistral-embed", 2),
            ("lookup", 2),
            ("chat mistral-large-latest", 3),
            ("chat mistral-large-latest", 3),
        ]
    );

    // Self-contained: nothing to fetch, no script to run.
    for forbidden in [
        "src=", "href=", "url(", "@import", "<link", "<img", "<iframe",
    ] {
        assert!(!page.contains(forbidden), "the page contains {forbidden}");
    }
    assert_eq!(page.matches("<script").count(), 1);
    assert!(page.contains("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_report_path_that_cannot_be_written_is_an_init_error() {
    let _one = llm_trace_tests::exclusive();
    let dir = directory("bad");
    let missing = dir.join("no-such-directory").join("usage.html");
    let error = llm_trace::builder()
        .console_writer(SharedBuffer::default())
        .report(&missing)
        .init()
        .unwrap_err();
    assert_eq!(error.kind(), InitErrorKind::InvalidSetting);
    assert_eq!(error.origin(), Some(&Origin::Builder("report")));
    assert_eq!(error.variable(), Some("LLM_TRACE_REPORT"));
    assert_eq!(error.value(), Some(missing.display().to_string().as_str()));
    assert_eq!(
        error.to_string(),
        format!(
            "invalid value {:?} given to builder .report(): the directory {} does not exist",
            missing.display().to_string(),
            dir.join("no-such-directory").display()
        )
    );

    let error = llm_trace::builder().report(&dir).init().unwrap_err();
    assert!(error.reason().starts_with("this is a directory"), "{error}");

    // Nothing was installed: init works afterwards.
    let telemetry = llm_trace::builder()
        .console_writer(SharedBuffer::default())
        .init()
        .unwrap();
    assert!(telemetry.shutdown().is_clean());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[llm_trace]
fn one_call(client: &Client) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    Ok(())
}

#[test]
fn the_report_is_written_with_console_and_no_export_and_a_failed_write_is_reported() {
    let _one = llm_trace_tests::exclusive();
    let server = MockServer::start().unwrap();
    server.set_default_reply(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);

    // Console export: the trees are printed and the report written.
    let dir = directory("console");
    let path = dir.join("usage.html");
    let output = SharedBuffer::default();
    let telemetry = llm_trace::builder()
        .console_writer(output.clone())
        .disable_metrics(true)
        .report(&path)
        .init()
        .unwrap();
    one_call(&client).unwrap();
    assert!(telemetry.shutdown().is_clean());
    assert!(
        output.text().contains("chat mistral-small-latest"),
        "{}",
        output.text()
    );
    let (json, page) = read_report(&path);
    assert_eq!(json["totals"]["calls"], 1);
    assert_eq!(json["totals"]["cost_femto_usd"], "3800000000");
    assert_eq!(json["totals"]["cost_usd"], 0.0000038);
    assert!(
        page.contains(r#"data-kpi="cost">$0.0000038<"#),
        "the headline total"
    );

    // Traces exported nowhere: still reported. The sampler's dropped calls are not.
    let path = dir.join("none.html");
    let telemetry = llm_trace::builder()
        .traces_exporter(ExporterKind::None)
        .metrics_exporter(ExporterKind::None)
        .sampler(Sampling::AlwaysOff)
        .report(&path)
        .init()
        .unwrap();
    assert!(
        telemetry.tracer_provider().is_some(),
        "a provider feeds the report"
    );
    one_call(&client).unwrap();
    assert!(telemetry.shutdown().is_clean());
    let (json, _) = read_report(&path);
    assert_eq!(json["totals"]["calls"], 0);
    assert_eq!(json["sampler"], "always_off");

    // The directory disappears before shutdown: a failure in the shutdown report, and
    // the program's result is unchanged.
    let gone = directory("gone");
    let telemetry = llm_trace::builder()
        .traces_exporter(ExporterKind::None)
        .metrics_exporter(ExporterKind::None)
        .report(gone.join("usage.html"))
        .init()
        .unwrap();
    assert!(one_call(&client).is_ok());
    std::fs::remove_dir_all(&gone).unwrap();
    let report = telemetry.shutdown();
    assert!(!report.is_clean());
    assert_eq!(report.failures().len(), 1, "{:?}", report.failures());
    assert!(
        report.failures()[0].starts_with(&format!(
            "usage report: cannot write {}",
            gone.join("usage.json").display()
        )),
        "{:?}",
        report.failures()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
