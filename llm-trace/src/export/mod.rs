//! Where telemetry goes: the console for people, OTLP (HTTP or gRPC) for collectors, with
//! export failures reported, never propagated.
//!
//! [`Pipeline::build`] turns resolved settings into providers without installing anything:
//! [`crate::install`] commits them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;

pub mod console;
pub(crate) mod console_metrics;
#[cfg(feature = "grpc")]
pub(crate) mod grpc;
pub(crate) mod http;
pub(crate) mod reporting;

use self::console::{ConsoleExporter, Sink};
use self::console_metrics::ConsoleMetricsExporter;
use self::reporting::{ReportingMetricExporter, ReportingSpanExporter};
use crate::env;
use crate::error::InitError;
use crate::settings::{Environment, ExporterKind, Protocol, Sampling, Settings};
use llm_trace_core::semconv;

/// Where console output goes, and whether it is coloured.
pub(crate) struct Console {
    pub(crate) sink: Sink,
    pub(crate) colour: bool,
}

/// The providers of one `init`, built, not installed.
pub(crate) struct Pipeline {
    pub(crate) tracer_provider: Option<SdkTracerProvider>,
    pub(crate) meter_provider: Option<SdkMeterProvider>,
}

impl Pipeline {
    /// Builds the providers `settings` ask for.
    pub(crate) fn build(
        settings: &Settings,
        console: &Console,
        env: Environment<'_>,
    ) -> Result<Pipeline, InitError> {
        let resource = resource(settings);
        let mut exporters = Exporters {
            env,
            #[cfg(feature = "grpc")]
            grpc: None,
        };
        let tracer_provider = exporters.tracer_provider(settings, resource.clone(), console)?;
        let meter_provider = exporters.meter_provider(settings, resource, console)?;
        Ok(Pipeline {
            tracer_provider,
            meter_provider,
        })
    }
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

/// What building the exporters needs besides the settings.
struct Exporters<'a> {
    env: Environment<'a>,
    #[cfg(feature = "grpc")]
    grpc: Option<Arc<grpc::GrpcRuntime>>,
}

impl Exporters<'_> {
    /// The header names the OTLP exporters would take from the environment on their own
    /// for a signal (its own variable and the generic one).
    fn env_header_names(&self, signal_variable: &str) -> Vec<String> {
        [signal_variable, env::OTLP_HEADERS]
            .into_iter()
            .filter_map(|variable| (self.env)(variable))
            .flat_map(|value| {
                value
                    .to_string_lossy()
                    .split(',')
                    .filter_map(|entry| {
                        entry
                            .split_once('=')
                            .map(|(k, _)| k.trim().to_ascii_lowercase())
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The runtime of the gRPC exporters, started once per `init`.
    #[cfg(feature = "grpc")]
    fn grpc_runtime(&mut self) -> Result<Arc<grpc::GrpcRuntime>, InitError> {
        if let Some(runtime) = &self.grpc {
            return Ok(Arc::clone(runtime));
        }
        let runtime = grpc::GrpcRuntime::new()?;
        self.grpc = Some(Arc::clone(&runtime));
        Ok(runtime)
    }

    fn tracer_provider(
        &mut self,
        settings: &Settings,
        resource: Resource,
        console: &Console,
    ) -> Result<Option<SdkTracerProvider>, InitError> {
        let builder = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_sampler(sampler(settings.sampling));
        let target = &settings.traces.otlp;
        Ok(match settings.traces.exporter {
            ExporterKind::None => None,
            ExporterKind::Console => Some(
                builder
                    .with_simple_exporter(ConsoleExporter::to_sink(
                        Arc::clone(&console.sink),
                        console.colour,
                    ))
                    .build(),
            ),
            ExporterKind::Otlp => {
                // Spans are always exported from the processor's own thread (a blocking
                // HTTP client must not run on an async worker).
                let batching = settings.batching;
                let config = BatchConfigBuilder::default()
                    .with_max_queue_size(batching.max_queue_size)
                    .with_max_export_batch_size(batching.max_export_batch_size)
                    .with_scheduled_delay(if batching.eager {
                        Duration::from_millis(1)
                    } else {
                        batching.schedule_delay
                    })
                    .build();
                let names = self.env_header_names(env::OTLP_TRACES_HEADERS);
                let processor = match target.protocol {
                    Protocol::HttpProtobuf => BatchSpanProcessor::builder(ReportingSpanExporter(
                        http::span_exporter(target, &names)?,
                    ))
                    .with_batch_config(config)
                    .build(),
                    #[cfg(feature = "grpc")]
                    Protocol::Grpc => {
                        let runtime = self.grpc_runtime()?;
                        let exporter = grpc::span_exporter(target, &names, &runtime)?;
                        BatchSpanProcessor::builder(ReportingSpanExporter(exporter))
                            .with_batch_config(config)
                            .build()
                    }
                    #[cfg(not(feature = "grpc"))]
                    Protocol::Grpc => return Err(grpc_unavailable()),
                };
                Some(builder.with_span_processor(processor).build())
            }
        })
    }

    fn meter_provider(
        &mut self,
        settings: &Settings,
        resource: Resource,
        console: &Console,
    ) -> Result<Option<SdkMeterProvider>, InitError> {
        let builder = SdkMeterProvider::builder().with_resource(resource);
        let target = &settings.metrics.otlp;
        Ok(match settings.metrics.exporter {
            ExporterKind::None => None,
            ExporterKind::Console => {
                // The summary is printed at shutdown; collecting more often is wasted work.
                let reader =
                    PeriodicReader::builder(ConsoleMetricsExporter::new(Arc::clone(&console.sink)))
                        .with_interval(Duration::from_secs(3600))
                        .build();
                Some(builder.with_reader(reader).build())
            }
            ExporterKind::Otlp => {
                let names = self.env_header_names(env::OTLP_METRICS_HEADERS);
                let builder = match target.protocol {
                    Protocol::HttpProtobuf => builder.with_reader(
                        PeriodicReader::builder(ReportingMetricExporter(http::metric_exporter(
                            target, &names,
                        )?))
                        .with_interval(settings.metrics_interval)
                        .build(),
                    ),
                    #[cfg(feature = "grpc")]
                    Protocol::Grpc => {
                        let runtime = self.grpc_runtime()?;
                        let exporter = grpc::metric_exporter(target, &names, &runtime)?;
                        builder.with_reader(
                            PeriodicReader::builder(ReportingMetricExporter(exporter))
                                .with_interval(settings.metrics_interval)
                                .build(),
                        )
                    }
                    #[cfg(not(feature = "grpc"))]
                    Protocol::Grpc => return Err(grpc_unavailable()),
                };
                Some(builder.build())
            }
        })
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
