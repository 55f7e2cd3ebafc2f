//! Setting up export from [`Settings`]: providers, exporters, resource, sampler, pricing.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;

use llm_trace_core::pricing::{self, PricingTable};

use crate::console::{ConsoleExporter, Sink};
use crate::console_metrics::ConsoleMetricsExporter;
use crate::export_errors::{ReportingMetricExporter, ReportingSpanExporter};
use crate::otlp_http::HeaderClient;
use crate::settings::{Builder, ExporterKind, InitError, Protocol, Sampling, Settings};

/// Whether a live [`Telemetry`] installed its providers.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The attribute key of the deployment environment.
const DEPLOYMENT_ENVIRONMENT_NAME: &str = "deployment.environment.name";

/// How often OTLP metrics are pushed.
const METRICS_INTERVAL: Duration = Duration::from_secs(30);

/// Installed telemetry. Dropping it flushes pending spans and metrics and shuts the
/// exporters down (or call [`Telemetry::shutdown`] to see errors).
///
/// Shutdown runs on a separate plain thread, so dropping the guard inside an async
/// runtime (even a current-thread one) neither deadlocks nor trips tokio's
/// blocking-in-async checks; it waits at most about the export timeout.
#[must_use = "telemetry is flushed and shut down when this guard is dropped"]
#[derive(Debug)]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
    timeout: Duration,
}

impl Telemetry {
    /// The tracer provider llm-trace built, to hand to other instrumentation; `None` when
    /// `init` found and kept the application's own global provider.
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.tracer_provider.as_ref()
    }

    /// The meter provider llm-trace built, when metrics are on.
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.meter_provider.as_ref()
    }

    /// Flushes pending spans and metrics and shuts the exporters down.
    pub fn shutdown(mut self) -> Result<(), InitError> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), InitError> {
        let tracer_provider = self.tracer_provider.take();
        let meter_provider = self.meter_provider.take();
        if tracer_provider.is_none() && meter_provider.is_none() {
            return Ok(());
        }
        INSTALLED.store(false, Ordering::Release);
        // A shut-down provider is of no use to anyone: put the no-op ones back, so a
        // later `init` (or the application) can install fresh ones.
        if tracer_provider.is_some() {
            llm_trace_core::tracer::clear_tracer_provider();
            opentelemetry::global::set_tracer_provider(
                opentelemetry::trace::noop::NoopTracerProvider::new(),
            );
        }
        if meter_provider.is_some() {
            llm_trace_core::metrics::clear_meter_provider();
            opentelemetry::global::set_meter_provider(
                opentelemetry::metrics::noop::NoopMeterProvider::new(),
            );
        }
        let timeout = self.timeout;
        let worker = std::thread::Builder::new()
            .name("llm-trace-shutdown".into())
            .spawn(move || {
                let mut errors = Vec::new();
                if let Some(provider) = tracer_provider {
                    if let Err(error) = provider.shutdown_with_timeout(timeout) {
                        errors.push(format!("traces: {error}"));
                    }
                }
                if let Some(provider) = meter_provider {
                    if let Err(error) = provider.shutdown_with_timeout(timeout) {
                        errors.push(format!("metrics: {error}"));
                    }
                }
                errors
            })
            .map_err(|error| InitError::Shutdown(error.to_string()))?;
        match worker.join() {
            Ok(errors) if errors.is_empty() => Ok(()),
            Ok(errors) => Err(InitError::Shutdown(errors.join("; "))),
            Err(_) => Err(InitError::Shutdown("the shutdown thread panicked".into())),
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown_inner() {
            log::warn!("llm-trace: {error}");
        }
    }
}

/// Sets up tracing and metrics with defaults and environment variables: spans of
/// `#[llm_trace]` functions and their LLM calls, and the GenAI metrics, printed on the
/// console — or exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
/// See [`builder`] for every option and its environment variable.
///
/// If the application already installed a global tracer provider, `init` keeps it (and
/// its meter provider) and llm-trace records into them; it never silently replaces them.
///
/// Keep the returned guard alive until the program ends: dropping it flushes.
///
/// ```no_run
/// let _telemetry = llm_trace::init().expect("telemetry setup");
/// // ... call #[llm_trace] functions ...
/// ```
pub fn init() -> Result<Telemetry, InitError> {
    builder().init()
}

/// The options of [`init`], each overriding its environment variable.
///
/// ```no_run
/// use std::time::Duration;
/// let _telemetry = llm_trace::builder()
///     .service_name("painter-bot")
///     .environment("production")
///     .otlp_endpoint("http://collector:4318")
///     .otlp_header("x-api-key", "secret")
///     .sampling_ratio(0.25)
///     .export_timeout(Duration::from_secs(5))
///     .init()
///     .expect("telemetry setup");
/// ```
pub fn builder() -> Builder {
    Builder::default()
}

/// Builds and installs everything from `builder` and the environment read through `env`.
pub(crate) fn install(
    mut builder: Builder,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Telemetry, InitError> {
    let settings = Settings::resolve(&builder, env)?;
    if INSTALLED.load(Ordering::Acquire) {
        return Err(InitError::AlreadyInitialized);
    }

    if let Some((path, source)) = &settings.pricing {
        let overrides = PricingTable::from_file(path).map_err(|error| InitError::Pricing {
            source: format!("price table {} (from {source})", path.display()),
            error,
        })?;
        let mut table = PricingTable::builtin();
        table.merge(overrides);
        pricing::set_active(table);
    }
    llm_trace_core::content::set_capture_mode(settings.capture);
    llm_trace_core::content::set_content_policy(llm_trace_core::content::ContentPolicy {
        max_length: settings.max_content_length,
        redactor: builder.redactor.take(),
    });

    if !builder.replace_global && !llm_trace_core::tracer::global_provider_is_noop() {
        log::info!(
            "llm-trace: the application already installed a global tracer provider; \
             llm-trace records into it and its global meter provider"
        );
        llm_trace_core::tracer::clear_tracer_provider();
        llm_trace_core::metrics::clear_meter_provider();
        return Ok(Telemetry {
            tracer_provider: None,
            meter_provider: None,
            timeout: settings.timeout,
        });
    }

    let resource = resource(&settings);
    let sink: Sink = match builder.console.take() {
        Some(writer) => Arc::new(Mutex::new(writer)),
        None => Arc::new(Mutex::new(std::io::stdout())),
    };
    let colour = builder
        .console_colour
        .unwrap_or_else(|| builder.console.is_none() && std::io::stdout().is_terminal());

    let mut exporters = Exporters {
        env,
        #[cfg(feature = "grpc")]
        grpc: None,
    };
    let tracer_provider =
        tracer_provider(&settings, &mut exporters, resource.clone(), &sink, colour)?;
    let meter_provider = meter_provider(&settings, &mut exporters, resource, &sink)?;

    if INSTALLED.swap(true, Ordering::AcqRel) {
        return Err(InitError::AlreadyInitialized);
    }
    llm_trace_core::tracer::set_tracer_provider(&tracer_provider);
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    match &meter_provider {
        Some(provider) => {
            llm_trace_core::metrics::set_meter_provider(provider);
            opentelemetry::global::set_meter_provider(provider.clone());
        }
        None => {
            llm_trace_core::metrics::set_meter_provider(
                &opentelemetry::metrics::noop::NoopMeterProvider::new(),
            );
        }
    }
    Ok(Telemetry {
        tracer_provider: Some(tracer_provider),
        meter_provider,
        timeout: settings.timeout,
    })
}

fn resource(settings: &Settings) -> Resource {
    let mut builder = Resource::builder();
    if let Some(name) = &settings.service_name {
        builder = builder.with_service_name(name.clone());
    }
    if let Some(environment) = &settings.environment {
        builder = builder.with_attribute(KeyValue::new(
            DEPLOYMENT_ENVIRONMENT_NAME,
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

/// The header names the OTLP exporters would take from the environment on their own.
fn env_header_names(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    env(crate::settings::env::OTLP_HEADERS)
        .map(|value| {
            value
                .split(',')
                .filter_map(|entry| {
                    entry
                        .split_once('=')
                        .map(|(k, _)| k.trim().to_ascii_lowercase())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What building the OTLP exporters needs besides the settings.
struct Exporters<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    #[cfg(feature = "grpc")]
    grpc: Option<Arc<crate::otlp_grpc::GrpcRuntime>>,
}

impl Exporters<'_> {
    /// The HTTP client of the OTLP/HTTP exporters, with the resolved headers.
    fn http_client(&self, settings: &Settings) -> Result<HeaderClient, InitError> {
        HeaderClient::new(
            &settings.headers,
            env_header_names(self.env),
            settings.timeout,
        )
    }

    /// The runtime of the gRPC exporters, started once per `init`.
    #[cfg(feature = "grpc")]
    fn grpc_runtime(&mut self) -> Result<Arc<crate::otlp_grpc::GrpcRuntime>, InitError> {
        if let Some(runtime) = &self.grpc {
            return Ok(Arc::clone(runtime));
        }
        let runtime = crate::otlp_grpc::GrpcRuntime::new()?;
        self.grpc = Some(Arc::clone(&runtime));
        Ok(runtime)
    }
}

#[cfg(not(feature = "grpc"))]
fn grpc_unavailable() -> InitError {
    InitError::Exporter("OTLP/gRPC needs llm-trace's `grpc` feature".into())
}

fn tracer_provider(
    settings: &Settings,
    exporters: &mut Exporters<'_>,
    resource: Resource,
    sink: &Sink,
    colour: bool,
) -> Result<SdkTracerProvider, InitError> {
    let builder = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(sampler(settings.sampling));
    Ok(match settings.traces {
        ExporterKind::None => builder.build(),
        ExporterKind::Console => builder
            .with_simple_exporter(ConsoleExporter::to_sink(Arc::clone(sink), colour))
            .build(),
        ExporterKind::Otlp => {
            // Spans are always exported from the processor's own thread (a blocking HTTP
            // client must not run on an async worker); "no batching" means batches of one.
            let config = if settings.batch {
                BatchConfigBuilder::default().build()
            } else {
                BatchConfigBuilder::default()
                    .with_max_export_batch_size(1)
                    .with_scheduled_delay(Duration::from_millis(1))
                    .build()
            };
            let processor = match settings.protocol {
                Protocol::HttpProtobuf => {
                    let exporter = opentelemetry_otlp::SpanExporter::builder()
                        .with_http()
                        .with_http_client(exporters.http_client(settings)?)
                        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                        .with_endpoint(format!("{}/v1/traces", settings.endpoint))
                        .with_timeout(settings.timeout)
                        .build()
                        .map_err(|error| InitError::Exporter(error.to_string()))?;
                    BatchSpanProcessor::builder(ReportingSpanExporter(exporter))
                        .with_batch_config(config)
                        .build()
                }
                #[cfg(feature = "grpc")]
                Protocol::Grpc => {
                    let runtime = exporters.grpc_runtime()?;
                    let names = env_header_names(exporters.env);
                    let exporter = crate::otlp_grpc::span_exporter(settings, &names, &runtime)?;
                    BatchSpanProcessor::builder(ReportingSpanExporter(exporter))
                        .with_batch_config(config)
                        .build()
                }
                #[cfg(not(feature = "grpc"))]
                Protocol::Grpc => return Err(grpc_unavailable()),
            };
            builder.with_span_processor(processor).build()
        }
    })
}

fn meter_provider(
    settings: &Settings,
    exporters: &mut Exporters<'_>,
    resource: Resource,
    sink: &Sink,
) -> Result<Option<SdkMeterProvider>, InitError> {
    let builder = SdkMeterProvider::builder().with_resource(resource);
    Ok(match settings.metrics {
        ExporterKind::None => None,
        ExporterKind::Console => {
            // The summary is printed at shutdown; collecting more often is wasted work.
            let reader = PeriodicReader::builder(ConsoleMetricsExporter::new(Arc::clone(sink)))
                .with_interval(Duration::from_secs(3600))
                .build();
            Some(builder.with_reader(reader).build())
        }
        ExporterKind::Otlp => {
            let builder = match settings.protocol {
                Protocol::HttpProtobuf => {
                    let exporter = opentelemetry_otlp::MetricExporter::builder()
                        .with_http()
                        .with_http_client(exporters.http_client(settings)?)
                        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                        .with_endpoint(format!("{}/v1/metrics", settings.endpoint))
                        .with_timeout(settings.timeout)
                        .build()
                        .map_err(|error| InitError::Exporter(error.to_string()))?;
                    builder.with_reader(
                        PeriodicReader::builder(ReportingMetricExporter(exporter))
                            .with_interval(METRICS_INTERVAL)
                            .build(),
                    )
                }
                #[cfg(feature = "grpc")]
                Protocol::Grpc => {
                    let runtime = exporters.grpc_runtime()?;
                    let names = env_header_names(exporters.env);
                    let exporter = crate::otlp_grpc::metric_exporter(settings, &names, &runtime)?;
                    builder.with_reader(
                        PeriodicReader::builder(ReportingMetricExporter(exporter))
                            .with_interval(METRICS_INTERVAL)
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
