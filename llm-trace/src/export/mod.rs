//! Where telemetry goes: the console for people, OTLP (HTTP or gRPC) for collectors, with
//! every loss counted and reported, never propagated.
//!
//! [`Pipeline::build`] turns resolved settings into providers and, for OTLP, one export
//! thread fed by a bounded queue ([`pipeline`]); nothing is installed here.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::metrics::MeterProvider;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{
    Sampler, SdkTracerProvider, SimpleSpanProcessor, SpanExporter as _, SpanProcessor,
    TracerProviderBuilder,
};
use opentelemetry_sdk::Resource;

pub mod console;
pub(crate) mod console_metrics;
#[cfg(feature = "grpc")]
pub(crate) mod grpc;
pub(crate) mod http;
pub(crate) mod pipeline;
pub(crate) mod reporting;
pub(crate) mod sampling;

use self::console::{ConsoleExporter, Sink};
use self::console_metrics::ConsoleMetricsExporter;
use self::pipeline::{ExportMetrics, ExportSpans, LossCount, MetricSink, SharedReader, Worker};
use crate::env;
use crate::error::InitError;
use crate::report::{NoExport, Report};
use crate::settings::{Environment, ExporterKind, OtlpTarget, Protocol, Sampling, Settings};
use llm_trace_core::semconv;

/// Where console output goes, whether it is coloured, and the recorder whose usage the
/// metrics summary ends with.
pub(crate) struct Console {
    pub(crate) sink: Sink,
    pub(crate) colour: bool,
    pub(crate) usage: console_metrics::UsageSource,
}

/// The providers of one `init`, and the export thread feeding its collector; built, not
/// installed.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) tracer_provider: Option<SdkTracerProvider>,
    pub(crate) meter_provider: Option<SdkMeterProvider>,
    /// The console's metrics summary, collected and printed at shutdown.
    console_metrics: Option<Mutex<MetricSink<ConsoleMetricsExporter>>>,
    worker: Option<Worker>,
    /// The usage report, written at shutdown.
    report: Option<Report>,
}

/// What a shutdown could not deliver.
#[derive(Debug, Default)]
pub(crate) struct Undelivered {
    pub(crate) losses: LossCount,
    pub(crate) failures: Vec<String>,
}

impl Pipeline {
    /// Builds the providers (and the export thread) `settings` ask for.
    pub(crate) fn build(
        settings: &Settings,
        console: &Console,
        env: Environment<'_>,
    ) -> Result<Pipeline, InitError> {
        let report = match &settings.report {
            Some((path, origin)) => Some(Report::prepare(path, origin, settings)?),
            None => None,
        };
        let resource = resource(settings);
        let otlp_traces = (settings.traces.exporter == ExporterKind::Otlp).then(|| {
            (
                &settings.traces.otlp,
                env_header_names(env, env::OTLP_TRACES_HEADERS),
            )
        });
        let otlp_metrics = (settings.metrics.exporter == ExporterKind::Otlp).then(|| {
            (
                &settings.metrics.otlp,
                env_header_names(env, env::OTLP_METRICS_HEADERS),
            )
        });
        // OTLP exporters own a blocking HTTP client (or a runtime), which must be built and
        // dropped off any async runtime: build them on a plain thread.
        let (span_exporter, metric_exporter) = std::thread::scope(|scope| {
            scope
                .spawn(|| otlp_exporters(otlp_traces, otlp_metrics, &resource))
                .join()
                .unwrap_or_else(|_| Err(InitError::exporter("building the exporters panicked")))
        })?;

        let metrics = match settings.metrics.exporter {
            ExporterKind::None => None,
            _ => {
                let temporality = metric_exporter
                    .as_ref()
                    .map_or(Temporality::Cumulative, |export| export.temporality);
                let reader = Arc::new(
                    ManualReader::builder()
                        .with_temporality(temporality)
                        .build(),
                );
                let provider = SdkMeterProvider::builder()
                    .with_resource(resource.clone())
                    .with_reader(SharedReader(Arc::clone(&reader)))
                    .build();
                Some((provider, reader))
            }
        };
        let console_metrics = match (&metrics, settings.metrics.exporter) {
            (Some((_, reader)), ExporterKind::Console) => Some(Mutex::new(MetricSink {
                reader: Arc::clone(reader),
                exporter: ConsoleMetricsExporter::new(
                    Arc::clone(&console.sink),
                    Arc::clone(&console.usage),
                ),
            })),
            _ => None,
        };
        let metric_export = match (metric_exporter, &metrics) {
            (Some(export), Some((_, reader))) => {
                Some(((export.sink)(Arc::clone(reader)), settings.metrics_interval))
            }
            _ => None,
        };

        let (worker, processor) = if span_exporter.is_some() || metric_export.is_some() {
            let (worker, processor) =
                Worker::start(span_exporter, metric_export, settings.batching).map_err(
                    |error| {
                        InitError::exporter(format!("cannot start the export thread: {error}"))
                            .with_source(error)
                    },
                )?;
            (Some(worker), processor)
        } else {
            (None, None)
        };

        let tracer_builder = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_sampler(sampler(settings.sampling))
            .with_id_generator(sampling::RootIds);
        let tracer_provider = match (settings.traces.exporter, processor) {
            (ExporterKind::Console, _) => Some(with_report(
                tracer_builder,
                SimpleSpanProcessor::new(ConsoleExporter::to_sink(
                    Arc::clone(&console.sink),
                    console.colour,
                )),
                report.as_ref(),
            )),
            (ExporterKind::Otlp, Some(processor)) => {
                Some(with_report(tracer_builder, processor, report.as_ref()))
            }
            // Spans go nowhere, but the report still wants them.
            _ => report
                .as_ref()
                .map(|report| with_report(tracer_builder, NoExport, Some(report))),
        };

        let meter_provider = metrics.map(|(provider, _)| provider);
        if let (Some(provider), Some(worker)) = (&meter_provider, &worker) {
            observe_losses(provider, worker);
        }
        Ok(Pipeline {
            tracer_provider,
            meter_provider,
            console_metrics,
            worker,
            report,
        })
    }

    /// Delivers what is pending and shuts everything down by `deadline` (plus a small
    /// grace), whatever the collector does; says what was not delivered.
    pub(crate) fn shutdown(self, deadline: Instant) -> Undelivered {
        let mut undelivered = Undelivered::default();
        if let Some(worker) = &self.worker {
            undelivered.losses = worker.shutdown(deadline);
        }
        let remaining = || deadline.saturating_duration_since(Instant::now());
        if let Some(provider) = self.tracer_provider {
            // Console output (flushing its trees) or the queue processor (stopped above).
            if let Err(error) = provider.shutdown_with_timeout(remaining()) {
                undelivered.failures.push(format!("traces: {error}"));
            }
        }
        if let Some(report) = self.report {
            // After the tracer provider's shutdown: every span has reached the report.
            undelivered.failures.extend(report.write());
        }
        if let Some(console) = self.console_metrics {
            let mut console = llm_trace_core::__private::lock(&console);
            let _ = console.export();
            console.shutdown(remaining());
        }
        if let Some(provider) = self.meter_provider {
            let _ = provider.shutdown_with_timeout(remaining());
        }
        undelivered
    }
}

/// The tracer provider exporting through `processor`, feeding `report` first if asked.
fn with_report<P: SpanProcessor + 'static>(
    builder: TracerProviderBuilder,
    processor: P,
    report: Option<&Report>,
) -> SdkTracerProvider {
    match report {
        Some(report) => builder.with_span_processor(report.processor(processor)),
        None => builder.with_span_processor(processor),
    }
    .build()
}

/// A metric exporter waiting for the reader it will collect from.
struct MetricExport {
    temporality: Temporality,
    sink: Box<dyn FnOnce(Arc<ManualReader>) -> Box<dyn ExportMetrics> + Send>,
}

impl MetricExport {
    fn new<M: PushMetricExporter + 'static>(exporter: M) -> Self {
        MetricExport {
            temporality: exporter.temporality(),
            sink: Box::new(move |reader| Box::new(MetricSink { reader, exporter })),
        }
    }
}

/// The OTLP exporters built for one pipeline: spans, metrics, either may be absent.
type OtlpExporters = (Option<Box<dyn ExportSpans>>, Option<MetricExport>);

/// Builds the OTLP exporters asked for: the span exporter and the metric exporter.
fn otlp_exporters(
    traces: Option<(&OtlpTarget, Vec<String>)>,
    metrics: Option<(&OtlpTarget, Vec<String>)>,
    resource: &Resource,
) -> Result<OtlpExporters, InitError> {
    let needs_http = [&traces, &metrics]
        .into_iter()
        .flatten()
        .any(|(target, _)| target.protocol == Protocol::HttpProtobuf);
    let client = needs_http.then(http::client).transpose()?;
    #[cfg(feature = "grpc")]
    let needs_grpc = [&traces, &metrics]
        .into_iter()
        .flatten()
        .any(|(target, _)| target.protocol == Protocol::Grpc);
    #[cfg(feature = "grpc")]
    let runtime = needs_grpc.then(grpc::GrpcRuntime::new).transpose()?;

    let spans: Option<Box<dyn ExportSpans>> = match traces {
        None => None,
        Some((target, names)) => Some(match target.protocol {
            Protocol::HttpProtobuf => {
                let mut exporter = http::span_exporter(require(&client)?, target, &names)?;
                exporter.set_resource(resource);
                Box::new(exporter)
            }
            #[cfg(feature = "grpc")]
            Protocol::Grpc => {
                let mut exporter = grpc::span_exporter(target, &names, require(&runtime)?)?;
                exporter.set_resource(resource);
                Box::new(exporter)
            }
            #[cfg(not(feature = "grpc"))]
            Protocol::Grpc => return Err(grpc_unavailable()),
        }),
    };
    let metrics = match metrics {
        None => None,
        Some((target, names)) => Some(match target.protocol {
            Protocol::HttpProtobuf => {
                MetricExport::new(http::metric_exporter(require(&client)?, target, &names)?)
            }
            #[cfg(feature = "grpc")]
            Protocol::Grpc => {
                MetricExport::new(grpc::metric_exporter(target, &names, require(&runtime)?)?)
            }
            #[cfg(not(feature = "grpc"))]
            Protocol::Grpc => return Err(grpc_unavailable()),
        }),
    };
    Ok((spans, metrics))
}

fn require<T>(value: &Option<T>) -> Result<&T, InitError> {
    value
        .as_ref()
        .ok_or_else(|| InitError::exporter("internal error: the exporter's client was not built"))
}

/// The `llm_trace.telemetry.*` counters: what the pipeline lost, by cause.
fn observe_losses(provider: &SdkMeterProvider, worker: &Worker) {
    let meter = provider.meter("llm-trace");
    let losses = Arc::clone(&worker.losses);
    let _ = meter
        .u64_observable_counter(semconv::LLM_TRACE_TELEMETRY_SPANS_DROPPED)
        .with_unit("{span}")
        .with_description("Spans llm-trace could not deliver, by reason")
        .with_callback(move |observer| {
            let count = losses.count();
            for (reason, value) in [
                ("queue_full", count.queue_full),
                ("export_failed", count.export_failed),
                ("shutdown_timeout", count.at_shutdown),
            ] {
                observer.observe(
                    value,
                    &[KeyValue::new(semconv::LLM_TRACE_DROP_REASON, reason)],
                );
            }
        })
        .build();
    let losses = Arc::clone(&worker.losses);
    let _ = meter
        .u64_observable_counter(semconv::LLM_TRACE_TELEMETRY_METRIC_EXPORTS_FAILED)
        .with_unit("{export}")
        .with_description("Metric exports llm-trace could not deliver")
        .with_callback(move |observer| {
            observer.observe(losses.count().metric_exports_failed, &[]);
        })
        .build();
}

/// The header names the OTLP exporters would take from the environment on their own for
/// a signal (its own variable and the generic one).
fn env_header_names(env: Environment<'_>, signal_variable: &str) -> Vec<String> {
    [signal_variable, env::OTLP_HEADERS]
        .into_iter()
        .filter_map(env)
        .flat_map(|value| {
            value
                .to_string_lossy()
                .split(',')
                .filter_map(|entry| {
                    entry
                        .split_once('=')
                        .map(|(key, _)| key.trim().to_ascii_lowercase())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn resource(settings: &Settings) -> Resource {
    let mut builder = Resource::builder();
    if let Some(name) = &settings.service_name {
        builder = builder.with_service_name(name.clone());
    }
    if let Some(environment) = &settings.environment {
        builder = builder.with_attribute(KeyValue::new(
            semconv::DEPLOYMENT_ENVIRONMENT_NAME,
            environment.clone(),
        ));
        if settings.openlit_compat {
            builder = builder.with_attribute(KeyValue::new(
                semconv::DEPLOYMENT_ENVIRONMENT,
                environment.clone(),
            ));
        }
    }
    builder.build()
}

fn sampler(sampling: Sampling) -> Sampler {
    match sampling {
        Sampling::AlwaysOn => Sampler::AlwaysOn,
        Sampling::AlwaysOff => Sampler::AlwaysOff,
        Sampling::Ratio(ratio) => Sampler::TraceIdRatioBased(ratio),
        Sampling::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        Sampling::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        Sampling::ParentBasedRatio(ratio) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
        }
    }
}

#[cfg(not(feature = "grpc"))]
fn grpc_unavailable() -> InitError {
    InitError::exporter("OTLP/gRPC needs llm-trace's `grpc` feature")
}

/// A console sink writing to standard output.
pub(crate) fn stdout_sink() -> Sink {
    Arc::new(Mutex::new(std::io::stdout()))
}

/// When a shutdown started now with `timeout` must end.
pub(crate) fn deadline(timeout: Duration) -> Instant {
    Instant::now() + timeout
}
