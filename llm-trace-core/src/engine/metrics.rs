//! The GenAI client metrics, with the bucket boundaries the semantic conventions advise.
//!
//! | metric | unit | recorded |
//! |---|---|---|
//! | `gen_ai.client.operation.duration` | `s` | every finished call, with `error.type` on failure |
//! | `gen_ai.client.token.usage` | `{token}` | per `gen_ai.token.type` (`input`, `output`), when usage is known |
//! | `gen_ai.client.operation.time_to_first_chunk` | `s` | streams, at the first content chunk |
//! | `gen_ai.client.operation.time_per_output_chunk` | `s` | streams, at the end: mean time between chunks after the first |
//! | `gen_ai.usage.cost` | `USD` | priced calls (not in the spec; buckets from $0.000001 to $10) |
//!
//! Instruments come from the meter provider the state names, else — when llm-trace uses
//! the global tracer provider and it is a real one — from the global meter provider.

use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use opentelemetry::metrics::{Histogram, Meter, MeterProvider};
use opentelemetry::{global, KeyValue};

use super::sync;
use super::tracer::TracerSource;
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

/// The instruments llm-trace records into.
#[derive(Debug)]
pub(crate) struct Instruments {
    duration: Histogram<f64>,
    tokens: Histogram<u64>,
    time_to_first_chunk: Histogram<f64>,
    time_per_output_chunk: Histogram<f64>,
    cost: Histogram<f64>,
}

impl Instruments {
    fn new(meter: &Meter) -> Self {
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
        }
    }

    fn from_provider<P: MeterProvider + ?Sized>(provider: &P) -> Self {
        Instruments::new(&provider.meter_with_scope(super::tracer::scope()))
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
    /// The instruments of `provider`, under llm-trace's scope.
    pub(crate) fn from_provider<P: MeterProvider + ?Sized>(provider: &P) -> Self {
        MetricsSource::Installed(Arc::new(Instruments::from_provider(provider)))
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
    let instruments = Arc::new(Instruments::from_provider(&*global::meter_provider()));
    *sync::write(cached) = Some((Instant::now(), Arc::clone(&instruments)));
    instruments
}

/// The metric side of one call: its instruments and base attributes.
pub(crate) struct CallMetrics {
    instruments: Arc<Instruments>,
    /// Operation, provider, request model, server address and port.
    attributes: Vec<KeyValue>,
}

impl CallMetrics {
    pub(crate) fn new(instruments: Arc<Instruments>, attributes: Vec<KeyValue>) -> Self {
        CallMetrics {
            instruments,
            attributes,
        }
    }

    fn with(&self, extra: impl IntoIterator<Item = KeyValue>) -> Vec<KeyValue> {
        let mut attributes = self.attributes.clone();
        attributes.extend(extra);
        attributes
    }

    /// Records a finished call: duration, token usage and cost.
    pub(crate) fn record_end(
        &self,
        duration: Duration,
        response_model: Option<KeyValue>,
        error_type: Option<KeyValue>,
        usage: Option<(u64, Option<u64>)>,
        cost: Option<f64>,
    ) {
        let mut attributes = self.with(response_model.into_iter().chain(error_type));
        self.instruments
            .duration
            .record(duration.as_secs_f64(), &attributes);
        if let Some(cost) = cost {
            self.instruments.cost.record(cost, &attributes);
        }
        if let Some((input, output)) = usage {
            // The same attributes plus the token type, reusing the vector.
            attributes.push(KeyValue::new(semconv::GEN_AI_TOKEN_TYPE, "input"));
            self.instruments.tokens.record(input, &attributes);
            if let Some(output) = output {
                if let Some(last) = attributes.last_mut() {
                    *last = KeyValue::new(semconv::GEN_AI_TOKEN_TYPE, "output");
                }
                self.instruments.tokens.record(output, &attributes);
            }
        }
    }

    /// Records a stream's time to first chunk.
    pub(crate) fn record_time_to_first_chunk(&self, seconds: f64) {
        self.instruments
            .time_to_first_chunk
            .record(seconds, &self.attributes);
    }

    /// Records a stream's mean time per chunk after the first.
    pub(crate) fn record_time_per_output_chunk(
        &self,
        seconds: f64,
        response_model: Option<KeyValue>,
    ) {
        let attributes = self.with(response_model);
        self.instruments
            .time_per_output_chunk
            .record(seconds, &attributes);
    }
}
