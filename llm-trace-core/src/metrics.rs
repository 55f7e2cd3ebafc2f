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
//! Instruments come from the provider given to [`set_meter_provider`] (`llm_trace::init`
//! does that), else from the global meter provider when llm-trace also uses the global
//! tracer provider and it is a real one. Calls that are not traced at all record nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use opentelemetry::metrics::{Histogram, Meter, MeterProvider};
use opentelemetry::{global, InstrumentationScope, KeyValue};

/// `gen_ai.client.operation.duration`.
pub const OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
/// `gen_ai.client.token.usage`.
pub const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
/// `gen_ai.client.operation.time_to_first_chunk`.
pub const TIME_TO_FIRST_CHUNK: &str = "gen_ai.client.operation.time_to_first_chunk";
/// `gen_ai.client.operation.time_per_output_chunk`.
pub const TIME_PER_OUTPUT_CHUNK: &str = "gen_ai.client.operation.time_per_output_chunk";
/// `gen_ai.usage.cost` (histogram, USD).
pub const COST: &str = "gen_ai.usage.cost";
/// `gen_ai.token.type`: `input` or `output`.
pub const GEN_AI_TOKEN_TYPE: &str = "gen_ai.token.type";

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
pub struct Instruments {
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
                .f64_histogram(OPERATION_DURATION)
                .with_unit("s")
                .with_description("GenAI operation duration")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            tokens: meter
                .u64_histogram(TOKEN_USAGE)
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build(),
            time_to_first_chunk: meter
                .f64_histogram(TIME_TO_FIRST_CHUNK)
                .with_unit("s")
                .with_description("Time from the request to the first content chunk of a stream")
                .with_boundaries(TIME_TO_FIRST_CHUNK_BUCKETS.to_vec())
                .build(),
            time_per_output_chunk: meter
                .f64_histogram(TIME_PER_OUTPUT_CHUNK)
                .with_unit("s")
                .with_description("Mean time between the chunks of a stream after the first")
                .with_boundaries(TIME_PER_OUTPUT_CHUNK_BUCKETS.to_vec())
                .build(),
            cost: meter
                .f64_histogram(COST)
                .with_unit("USD")
                .with_description("Cost of GenAI operations, from list prices")
                .with_boundaries(COST_BUCKETS.to_vec())
                .build(),
        }
    }

    fn from_provider<P: MeterProvider + ?Sized>(provider: &P) -> Self {
        let scope = InstrumentationScope::builder(crate::tracer::SCOPE_NAME)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        Instruments::new(&provider.meter_with_scope(scope))
    }
}

static INSTALLED_FLAG: AtomicBool = AtomicBool::new(false);

fn installed_slot() -> &'static RwLock<Option<Arc<Instruments>>> {
    static SLOT: OnceLock<RwLock<Option<Arc<Instruments>>>> = OnceLock::new();
    SLOT.get_or_init(|| RwLock::new(None))
}

/// Global instruments, rebuilt at most once a second so a global provider installed later
/// is picked up.
type GlobalSlot = RwLock<Option<(Instant, Arc<Instruments>)>>;

fn global_slot() -> &'static GlobalSlot {
    static SLOT: OnceLock<GlobalSlot> = OnceLock::new();
    SLOT.get_or_init(|| RwLock::new(None))
}

const GLOBAL_REFRESH: Duration = Duration::from_secs(1);

/// Makes llm-trace record its metrics into `provider` instead of the global one.
///
/// ```
/// use opentelemetry::metrics::noop::NoopMeterProvider;
/// llm_trace_core::metrics::set_meter_provider(&NoopMeterProvider::new());
/// llm_trace_core::metrics::clear_meter_provider();
/// ```
pub fn set_meter_provider<P: MeterProvider + ?Sized>(provider: &P) {
    let instruments = Arc::new(Instruments::from_provider(provider));
    match installed_slot().write() {
        Ok(mut slot) => *slot = Some(instruments),
        Err(poisoned) => *poisoned.into_inner() = Some(instruments),
    }
    INSTALLED_FLAG.store(true, Ordering::Release);
}

/// Goes back to the global meter provider (undoes [`set_meter_provider`]).
pub fn clear_meter_provider() {
    INSTALLED_FLAG.store(false, Ordering::Release);
    match installed_slot().write() {
        Ok(mut slot) => *slot = None,
        Err(poisoned) => *poisoned.into_inner() = None,
    }
}

/// The instruments a call records into, or `None` when metrics are off for it.
pub(crate) fn instruments(tracer: crate::tracer::SourceState) -> Option<Arc<Instruments>> {
    if INSTALLED_FLAG.load(Ordering::Acquire) {
        let slot = match installed_slot().read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if slot.is_some() {
            return slot;
        }
    }
    if tracer != crate::tracer::SourceState::GlobalLive {
        return None;
    }
    let cached = match global_slot().read() {
        Ok(slot) => slot.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    if let Some((built, instruments)) = cached {
        if built.elapsed() < GLOBAL_REFRESH {
            return Some(instruments);
        }
    }
    let instruments = Arc::new(Instruments::from_provider(&*global::meter_provider()));
    match global_slot().write() {
        Ok(mut slot) => *slot = Some((Instant::now(), Arc::clone(&instruments))),
        Err(poisoned) => *poisoned.into_inner() = Some((Instant::now(), Arc::clone(&instruments))),
    }
    Some(instruments)
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
            attributes.push(KeyValue::new(GEN_AI_TOKEN_TYPE, "input"));
            self.instruments.tokens.record(input, &attributes);
            if let Some(output) = output {
                if let Some(last) = attributes.last_mut() {
                    *last = KeyValue::new(GEN_AI_TOKEN_TYPE, "output");
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
