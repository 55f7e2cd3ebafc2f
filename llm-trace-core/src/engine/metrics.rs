//! The GenAI client metrics, with the bucket boundaries the semantic conventions advise.
//!
//! | metric | unit | recorded |
//! |---|---|---|
//! | `gen_ai.client.operation.duration` | `s` | every finished call, with `error.type` on failure |
//! | `gen_ai.client.token.usage` | `{token}` | per `gen_ai.token.type` (`input`, `output`), when usage is known |
//! | `gen_ai.client.operation.time_to_first_chunk` | `s` | streams, at the first content chunk |
//! | `gen_ai.client.operation.time_per_output_chunk` | `s` | streams, at the end: mean time between chunks after the first |
//! | `gen_ai.usage.cost` | `USD` | priced calls (not in the spec; buckets from $0.000001 to $10) |
//! | `llm_trace.budget.exceeded` | `{alert}` | counter: budgets crossed, by `llm_trace.budget.kind` |
//!
//! Every series of a call made inside an annotated function also carries that function's
//! `code.function.name` (static: one series per function, not per argument value).
//!
//! Instruments come from the meter provider the state names, else — when llm-trace uses
//! the global tracer provider and it is a real one — from the global meter provider.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use opentelemetry::metrics::{BoundHistogram, Counter, Histogram, Meter, MeterProvider};
use opentelemetry::{global, KeyValue};

use super::response::cow_value;
use super::sync;
use super::tracer::TracerSource;
use crate::provider::Operation;
use crate::semconv;

/// Advised boundaries of `gen_ai.client.operation.duration`, seconds.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// Advised boundaries of `gen_ai.client.token.usage`, tokens.
pub const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// Boundaries of time to first chunk, seconds (the spec's advice for time to first token).
pub const TIME_TO_FIRST_CHUNK_BUCKETS: [f64; 16] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// Boundaries of time per output chunk, seconds (the spec's advice for time per token).
pub const TIME_PER_OUTPUT_CHUNK_BUCKETS: [f64; 13] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];
/// Boundaries of the cost histogram, USD: 1-2.5-5 steps from $0.000001 to $10, so a
/// fraction of a cent still lands in a meaningful bucket.
pub const COST_BUCKETS: [f64; 22] = [
    0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
    0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The instruments llm-trace records into, and the series it recorded into so far.
#[derive(Debug)]
pub(crate) struct Instruments {
    duration: Histogram<f64>,
    tokens: Histogram<u64>,
    time_to_first_chunk: Histogram<f64>,
    time_per_output_chunk: Histogram<f64>,
    cost: Histogram<f64>,
    budget_exceeded: Counter<u64>,
    /// Whether the meter binds instruments to attribute sets (an SDK meter llm-trace
    /// built; other meters may not implement binding and would drop the values).
    bind: bool,
    series: RwLock<HashMap<SeriesKey, Arc<Series>, BuildHasherDefault<FxHasher>>>,
}

/// The most series remembered; past it, values are recorded with their attributes each
/// time (the SDK's own cardinality limit is 2000 per instrument).
const MAX_SERIES: usize = 1000;

/// What identifies one series of a call's metrics.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SeriesKey {
    first_chunk: bool,
    operation: Operation,
    provider: &'static str,
    model: Cow<'static, str>,
    server: Option<(Arc<str>, u16)>,
    response_model: Option<Cow<'static, str>>,
    error_type: Option<Cow<'static, str>>,
    /// `code.function.name` of the nearest annotated function.
    function: Option<&'static str>,
}

impl SeriesKey {
    fn attributes(&self) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(8);
        attributes.push(KeyValue::new(
            semconv::GEN_AI_OPERATION_NAME,
            self.operation.as_str(),
        ));
        attributes.push(KeyValue::new(semconv::GEN_AI_PROVIDER_NAME, self.provider));
        attributes.push(KeyValue::new(
            semconv::GEN_AI_REQUEST_MODEL,
            cow_value(self.model.clone()),
        ));
        if let Some((host, port)) = &self.server {
            attributes.push(KeyValue::new(semconv::SERVER_ADDRESS, Arc::clone(host)));
            attributes.push(KeyValue::new(semconv::SERVER_PORT, i64::from(*port)));
        }
        if let Some(model) = &self.response_model {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_RESPONSE_MODEL,
                cow_value(model.clone()),
            ));
        }
        if let Some(error_type) = &self.error_type {
            attributes.push(KeyValue::new(
                semconv::ERROR_TYPE,
                cow_value(error_type.clone()),
            ));
        }
        if let Some(function) = self.function {
            attributes.push(KeyValue::new(semconv::CODE_FUNCTION_NAME, function));
        }
        attributes
    }
}

/// One series: its attributes (with each token type) and, when the meter binds, the
/// recorders bound to them. Each recorder is bound the first time it records: a bound
/// instrument is exported even when empty, and a series only ever records some of them
/// (embeddings have no output tokens, only streams have chunk timings).
#[derive(Debug)]
struct Series {
    attributes: Box<[KeyValue]>,
    input_attributes: Box<[KeyValue]>,
    output_attributes: Box<[KeyValue]>,
    duration: OnceLock<BoundHistogram<f64>>,
    cost: OnceLock<BoundHistogram<f64>>,
    input_tokens: OnceLock<BoundHistogram<u64>>,
    output_tokens: OnceLock<BoundHistogram<u64>>,
    time_to_first_chunk: OnceLock<BoundHistogram<f64>>,
    time_per_output_chunk: OnceLock<BoundHistogram<f64>>,
}

/// rustc's FxHash: a few cycles per word, for a small map of short keys.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Instruments {
    fn new(meter: &Meter, bind: bool) -> Self {
        Instruments {
            duration: meter
                .f64_histogram(semconv::GEN_AI_CLIENT_OPERATION_DURATION)
                .with_unit("s")
                .with_description("GenAI operation duration")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            tokens: meter
                .u64_histogram(semconv::GEN_AI_CLIENT_TOKEN_USAGE)
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build(),
            time_to_first_chunk: meter
                .f64_histogram(semconv::GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK)
                .with_unit("s")
                .with_description("Time from the request to the first content chunk of a stream")
                .with_boundaries(TIME_TO_FIRST_CHUNK_BUCKETS.to_vec())
                .build(),
            time_per_output_chunk: meter
                .f64_histogram(semconv::GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK)
                .with_unit("s")
                .with_description("Mean time between the chunks of a stream after the first")
                .with_boundaries(TIME_PER_OUTPUT_CHUNK_BUCKETS.to_vec())
                .build(),
            cost: meter
                .f64_histogram(semconv::GEN_AI_USAGE_COST_METRIC)
                .with_unit("USD")
                .with_description("Cost of GenAI operations, from list prices")
                .with_boundaries(COST_BUCKETS.to_vec())
                .build(),
            budget_exceeded: meter
                .u64_counter(semconv::LLM_TRACE_BUDGET_EXCEEDED)
                .with_unit("{alert}")
                .with_description("Budgets and latency thresholds crossed, by kind")
                .build(),
            bind,
            series: RwLock::default(),
        }
    }

    fn from_provider<P: MeterProvider + ?Sized>(provider: &P, bind: bool) -> Self {
        Instruments::new(&provider.meter_with_scope(super::tracer::scope()), bind)
    }

    /// Records `value` on `histogram` for `attributes`, through the recorder in `bound`
    /// (bound on first use) when the meter binds.
    fn record<T: Copy + 'static>(
        &self,
        histogram: &Histogram<T>,
        bound: &OnceLock<BoundHistogram<T>>,
        attributes: &[KeyValue],
        value: T,
    ) {
        if self.bind {
            bound
                .get_or_init(|| histogram.bind(attributes))
                .record(value);
        } else {
            histogram.record(value, attributes);
        }
    }

    /// The series of `key`, remembered (and bound) the first time.
    fn series(&self, key: SeriesKey) -> Arc<Series> {
        if let Some(series) = sync::read(&self.series).get(&key) {
            return Arc::clone(series);
        }
        let attributes = key.attributes();
        let with_token = |kind: &'static str| {
            let mut attributes = attributes.clone();
            attributes.push(KeyValue::new(semconv::GEN_AI_TOKEN_TYPE, kind));
            attributes.into_boxed_slice()
        };
        let (input_attributes, output_attributes) = (with_token("input"), with_token("output"));
        let series = Arc::new(Series {
            attributes: attributes.into_boxed_slice(),
            input_attributes,
            output_attributes,
            duration: OnceLock::new(),
            cost: OnceLock::new(),
            input_tokens: OnceLock::new(),
            output_tokens: OnceLock::new(),
            time_to_first_chunk: OnceLock::new(),
            time_per_output_chunk: OnceLock::new(),
        });
        let mut all = sync::write(&self.series);
        if all.len() < MAX_SERIES {
            all.insert(key, Arc::clone(&series));
        }
        series
    }
}

/// Where a call's metrics go.
#[derive(Clone)]
pub(crate) enum MetricsSource {
    /// The global meter provider, when the tracer is the live global one.
    Global,
    /// Instruments of a meter provider given to llm-trace.
    Installed(Arc<Instruments>),
    /// No metrics.
    Off,
}

impl MetricsSource {
    /// The instruments of `provider`, under llm-trace's scope; `bind` when the provider
    /// is known to bind instruments to attribute sets (an SDK meter provider).
    pub(crate) fn from_provider<P: MeterProvider + ?Sized>(provider: &P, bind: bool) -> Self {
        MetricsSource::Installed(Arc::new(Instruments::from_provider(provider, bind)))
    }

    /// The instruments a call records into, or `None` when metrics are off for it.
    pub(crate) fn instruments(&self, tracer: &TracerSource) -> Option<Arc<Instruments>> {
        match self {
            MetricsSource::Installed(instruments) => Some(Arc::clone(instruments)),
            MetricsSource::Off => None,
            MetricsSource::Global => tracer.is_live_global().then(global_instruments),
        }
    }
}

/// Global instruments, rebuilt at most once a second so a global meter provider installed
/// later is picked up.
fn global_instruments() -> Arc<Instruments> {
    type Cached = RwLock<Option<(Instant, Arc<Instruments>)>>;
    static CACHED: OnceLock<Cached> = OnceLock::new();
    const REFRESH: Duration = Duration::from_secs(1);
    let cached = CACHED.get_or_init(Cached::default);
    if let Some((built, instruments)) = sync::read(cached).as_ref() {
        if built.elapsed() < REFRESH {
            return Arc::clone(instruments);
        }
    }
    let instruments = Arc::new(Instruments::from_provider(
        &*global::meter_provider(),
        false,
    ));
    *sync::write(cached) = Some((Instant::now(), Arc::clone(&instruments)));
    instruments
}

/// The metric side of one call: its instruments and what identifies its series.
pub(crate) struct CallMetrics {
    instruments: Arc<Instruments>,
    operation: Operation,
    provider: &'static str,
    model: Cow<'static, str>,
    server: Option<(Arc<str>, u16)>,
    function: Option<&'static str>,
}

impl CallMetrics {
    pub(crate) fn new(
        instruments: Arc<Instruments>,
        operation: Operation,
        provider: &'static str,
        model: Cow<'static, str>,
        server: Option<(Arc<str>, u16)>,
        function: Option<&'static str>,
    ) -> Self {
        CallMetrics {
            instruments,
            operation,
            provider,
            model,
            server,
            function,
        }
    }

    /// The client's endpoint, once known (before the call starts).
    pub(crate) fn set_server(&mut self, server: Option<(Arc<str>, u16)>) {
        self.server = server;
    }

    /// Counts one budget crossed.
    pub(crate) fn record_budget_exceeded(&self, kind: &'static str) {
        self.instruments
            .budget_exceeded
            .add(1, &[KeyValue::new(semconv::LLM_TRACE_BUDGET_KIND, kind)]);
    }

    fn series(
        &self,
        first_chunk: bool,
        response_model: Option<Cow<'static, str>>,
        error_type: Option<Cow<'static, str>>,
    ) -> Arc<Series> {
        self.instruments.series(SeriesKey {
            first_chunk,
            operation: self.operation,
            provider: self.provider,
            model: self.model.clone(),
            server: self.server.clone(),
            response_model,
            error_type,
            function: self.function,
        })
    }

    /// Records a finished call: duration, token usage and cost.
    pub(crate) fn record_end(
        &self,
        duration: Duration,
        response_model: Option<Cow<'static, str>>,
        error_type: Option<Cow<'static, str>>,
        usage: Option<(u64, Option<u64>)>,
        cost: Option<f64>,
    ) {
        let series = self.series(false, response_model, error_type);
        let instruments = &self.instruments;
        let attributes = &series.attributes;
        let seconds = duration.as_secs_f64();
        instruments.record(&instruments.duration, &series.duration, attributes, seconds);
        if let Some(cost) = cost {
            instruments.record(&instruments.cost, &series.cost, attributes, cost);
        }
        if let Some((input, output)) = usage {
            let (tokens, input_attributes) = (&instruments.tokens, &series.input_attributes);
            instruments.record(tokens, &series.input_tokens, input_attributes, input);
            if let Some(output) = output {
                let attributes = &series.output_attributes;
                instruments.record(tokens, &series.output_tokens, attributes, output);
            }
        }
    }

    /// Records a stream's time to first chunk.
    pub(crate) fn record_time_to_first_chunk(&self, seconds: f64) {
        let series = self.series(true, None, None);
        let instruments = &self.instruments;
        let histogram = &instruments.time_to_first_chunk;
        instruments.record(
            histogram,
            &series.time_to_first_chunk,
            &series.attributes,
            seconds,
        );
    }

    /// Records a stream's mean time per chunk after the first.
    pub(crate) fn record_time_per_output_chunk(
        &self,
        seconds: f64,
        response_model: Option<Cow<'static, str>>,
    ) {
        let series = self.series(false, response_model, None);
        let instruments = &self.instruments;
        let (histogram, bound) = (
            &instruments.time_per_output_chunk,
            &series.time_per_output_chunk,
        );
        instruments.record(histogram, bound, &series.attributes, seconds);
    }
}
