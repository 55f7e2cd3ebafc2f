//! The OpenLIT stack's view of llm-trace's spans: rows of the collector's ClickHouse
//! table `otel_traces`, and the queries of the OpenLIT UI's LLM panels over them.
//!
//! The collector's ClickHouse exporter writes one row per span, its attributes and the
//! resource's as `Map(String, String)` — every value turned into a string (numbers in
//! plain decimal form, arrays as JSON) — and `ServiceName` from the resource's
//! `service.name`. The panel queries below follow the UI's source
//! (`src/client/src/lib/platform/llm/{cost,token,model,category,endpoint}.ts`,
//! `request/index.ts`, `helpers/server/platform.ts`, `constants/traces.ts`): a missing map
//! key reads as `''`, `toFloat64OrZero`/`toInt64OrZero` read `''` as 0, and every LLM panel
//! keeps only spans whose status is `Ok` or `Unset` and whose `gen_ai.operation.name` is
//! not `vectordb`.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;

use crate::otlp_receiver::Received;

/// One row of `otel_traces`.
#[derive(Clone, Debug)]
pub struct Row {
    /// Start time, ns since the epoch.
    pub timestamp: u64,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub span_name: String,
    pub service_name: String,
    pub resource_attributes: BTreeMap<String, String>,
    pub span_attributes: BTreeMap<String, String>,
    /// ns.
    pub duration: u64,
    /// `Unset`, `Ok` or `Error`.
    pub status_code: String,
    pub status_message: String,
}

impl Row {
    /// `SpanAttributes['key']`: `''` when absent.
    pub fn span(&self, key: &str) -> &str {
        self.span_attributes.get(key).map_or("", String::as_str)
    }

    /// `ResourceAttributes['key']`: `''` when absent.
    pub fn resource(&self, key: &str) -> &str {
        self.resource_attributes.get(key).map_or("", String::as_str)
    }
}

/// An attribute value as the ClickHouse exporter stores it: strings as they are, numbers
/// in plain decimal form (Rust's `Display` of an `f64` never uses an exponent), arrays
/// and maps as JSON.
pub fn stored(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        other => json(other),
    }
}

fn json(value: Option<&any_value::Value>) -> String {
    match value {
        None => "null".to_owned(),
        Some(any_value::Value::StringValue(s)) => serde_json::Value::from(s.as_str()).to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::ArrayValue(array)) => {
            let items: Vec<String> = array
                .values
                .iter()
                .map(|v| json(v.value.as_ref()))
                .collect();
            format!("[{}]", items.join(","))
        }
        Some(any_value::Value::KvlistValue(list)) => {
            let items: Vec<String> = list
                .values
                .iter()
                .map(|kv| {
                    let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
                    format!(
                        "{}:{}",
                        serde_json::Value::from(kv.key.as_str()),
                        json(value)
                    )
                })
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Some(other) => panic!("llm-trace writes no such attribute value: {other:?}"),
    }
}

fn map(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), stored(kv.value.as_ref())))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The rows the collector would write for the trace exports among `received`.
pub fn rows(received: &[Received]) -> Vec<Row> {
    let mut rows = Vec::new();
    for request in received.iter().filter(|r| r.path == "/v1/traces") {
        let export = ExportTraceServiceRequest::decode(request.body.clone())
            .expect("a protobuf trace export");
        for resource_spans in export.resource_spans {
            let resource = map(&resource_spans
                .resource
                .map(|r| r.attributes)
                .unwrap_or_default());
            let service_name = resource.get("service.name").cloned().unwrap_or_default();
            for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                let status = span.status.unwrap_or_default();
                rows.push(Row {
                    timestamp: span.start_time_unix_nano,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    span_name: span.name,
                    service_name: service_name.clone(),
                    resource_attributes: resource.clone(),
                    span_attributes: map(&span.attributes),
                    duration: span.end_time_unix_nano - span.start_time_unix_nano,
                    status_code: match StatusCode::try_from(status.code) {
                        Ok(StatusCode::Ok) => "Ok",
                        Ok(StatusCode::Error) => "Error",
                        _ => "Unset",
                    }
                    .to_owned(),
                    status_message: status.message,
                });
            }
        }
    }
    rows
}

/// `toFloat64OrZero`.
pub fn to_float_or_zero(text: &str) -> f64 {
    text.trim().parse().unwrap_or(0.0)
}

/// `toInt64OrZero`.
pub fn to_int_or_zero(text: &str) -> i64 {
    text.trim().parse().unwrap_or(0)
}

/// The condition every LLM panel adds (`getFilterWhereCondition` with `operationType:
/// "llm"`): status `Ok` or `Unset`, not a vector-DB span, not coding-agent telemetry.
pub fn llm_panel(row: &Row) -> bool {
    matches!(row.status_code.as_str(), "Ok" | "Unset")
        && row.span("gen_ai.operation.name") != "vectordb"
        && row.span("coding_agent.client").is_empty()
        && row.resource("coding_agent.client").is_empty()
        && row.span("coding_agent.session.id").is_empty()
        && row.resource("coding_agent.session.id").is_empty()
        && row.resource("telemetry.distro.name") != "openlit-cli"
        && !row.span_name.starts_with("coding_agent.")
}

/// The first non-empty value of `keys` (`if(a != '', a, b)`).
fn first<'a>(row: &'a Row, keys: &[&str]) -> &'a str {
    keys.iter()
        .map(|key| row.span(key))
        .find(|value| !value.is_empty())
        .unwrap_or("")
}

/// The span attribute keys of OpenLIT's trace mapping.
pub const COST: &str = "gen_ai.usage.cost";
pub const MODEL: &str = "gen_ai.request.model";
pub const PROVIDER: &[&str] = &["gen_ai.provider.name", "gen_ai.system"];
pub const PROMPT_TOKENS: &[&str] = &[
    "gen_ai.usage.input_tokens",
    "gen_ai.client.token.usage.input",
    "input_tokens",
    "prompt_tokens",
];
pub const COMPLETION_TOKENS: &[&str] = &[
    "gen_ai.usage.output_tokens",
    "gen_ai.client.token.usage.output",
    "output_tokens",
    "completion_tokens",
];
pub const TOTAL_TOKENS: &[&str] = &[
    "gen_ai.usage.total_tokens",
    "gen_ai.client.token.usage",
    "total_tokens",
];

/// Sums of cost per group, for the rows of an LLM panel with a non-empty cost.
fn cost_by(rows: &[Row], group: impl Fn(&Row) -> Option<String>) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    for row in rows
        .iter()
        .filter(|r| llm_panel(r) && !r.span(COST).is_empty())
    {
        if let Some(key) = group(row) {
            *sums.entry(key).or_insert(0.0) += to_float_or_zero(row.span(COST));
        }
    }
    sums
}

/// "Total cost": `sum(toFloat64OrZero(cost))` over LLM rows with a cost.
pub fn total_cost(rows: &[Row]) -> f64 {
    cost_by(rows, |_| Some(String::new())).values().sum()
}

/// "Cost by model".
pub fn cost_by_model(rows: &[Row]) -> BTreeMap<String, f64> {
    cost_by(rows, |row| {
        let model = row.span(MODEL);
        (!model.is_empty()).then(|| model.to_owned())
    })
}

/// "Cost by provider": `gen_ai.provider.name`, else `gen_ai.system`.
pub fn cost_by_provider(rows: &[Row]) -> BTreeMap<String, f64> {
    cost_by(rows, |row| {
        let provider = first(row, PROVIDER);
        (!provider.is_empty()).then(|| provider.to_owned())
    })
}

/// "Cost by application": `ServiceName`, else the resource's `service.name`, else
/// `gen_ai.application_name`.
pub fn cost_by_application(rows: &[Row]) -> BTreeMap<String, f64> {
    cost_by(rows, |row| {
        [
            row.service_name.as_str(),
            row.resource("service.name"),
            row.span("gen_ai.application_name"),
        ]
        .into_iter()
        .find(|name| !name.is_empty())
        .map(str::to_owned)
    })
}

/// "Cost by environment": the resource's `deployment.environment`.
pub fn cost_by_environment(rows: &[Row]) -> BTreeMap<String, f64> {
    cost_by(rows, |row| {
        let environment = row.resource("deployment.environment");
        (!environment.is_empty()).then(|| environment.to_owned())
    })
}

/// "Average tokens per request" of one kind: `AVG(toInt32OrZero(first non-empty key))`
/// over LLM rows where one of `keys` is set; `None` when no row is (the panel is empty).
pub fn average_tokens(rows: &[Row], keys: &[&str]) -> Option<f64> {
    let values: Vec<i64> = rows
        .iter()
        .filter(|row| llm_panel(row) && keys.iter().any(|key| !row.span(key).is_empty()))
        .map(|row| to_int_or_zero(first(row, keys)))
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64 / values.len() as f64)
}

/// "Tokens per time", summed over the whole window: (total, prompt, completion).
pub fn tokens_summed(rows: &[Row]) -> (i64, i64, i64) {
    let mut sums = (0, 0, 0);
    let any = |row: &Row| {
        [TOTAL_TOKENS, PROMPT_TOKENS, COMPLETION_TOKENS]
            .iter()
            .flat_map(|keys| keys.iter())
            .any(|key| !row.span(key).is_empty())
    };
    for row in rows.iter().filter(|row| llm_panel(row) && any(row)) {
        sums.0 += to_int_or_zero(first(row, TOTAL_TOKENS));
        sums.1 += to_int_or_zero(first(row, PROMPT_TOKENS));
        sums.2 += to_int_or_zero(first(row, COMPLETION_TOKENS));
    }
    sums
}

/// Counts of LLM rows per value of `key` where it is set ("Top models", "Generation by
/// category" with `gen_ai.operation.name`).
pub fn count_by(rows: &[Row], key: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for row in rows
        .iter()
        .filter(|r| llm_panel(r) && !r.span(key).is_empty())
    {
        *counts.entry(row.span(key).to_owned()).or_insert(0) += 1;
    }
    counts
}

/// "Generation by endpoint": LLM rows per provider.
pub fn count_by_provider(rows: &[Row]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for row in rows.iter().filter(|r| llm_panel(r)) {
        let provider = first(row, PROVIDER);
        if !provider.is_empty() {
            *counts.entry(provider.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

/// The requests page (`getRequests`): rows with status `Ok` or `Unset`, newest first.
pub fn request_list(rows: &[Row]) -> Vec<&Row> {
    let mut list: Vec<&Row> = rows
        .iter()
        .filter(|row| matches!(row.status_code.as_str(), "Ok" | "Unset"))
        .collect();
    list.sort_by_key(|row| std::cmp::Reverse(row.timestamp));
    list
}
