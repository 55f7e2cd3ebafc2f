//! Setting telemetry up in one step: resolve the settings, build the price table, the
//! content policy and the exporters, and only then — when nothing can fail any more —
//! install them. A failing `init` changes nothing.

use std::fmt;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use llm_trace_core::__private::{global_provider_is_noop, Recorder};
use llm_trace_core::content::ContentPolicy;
use llm_trace_core::pricing::PricingTable;

use crate::builder::Builder;
use crate::error::{InitError, Origin};
use crate::export::pipeline::LossCount;
use crate::export::{Console, Pipeline, Undelivered};
use crate::settings::{Environment, Settings};

/// Said once by `init` in a build without any provider feature.
const NO_PROVIDER: &str = "llm-trace: built without a provider feature: #[llm_trace] functions get spans, but no LLM call in them is traced; enable the provider of your client (e.g. the `mistral` feature of llm-trace)";

/// Whether a live [`Telemetry`] installed its providers.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Sets up tracing and metrics with defaults and environment variables: spans of
/// `#[llm_trace]` functions and their LLM calls, and the GenAI metrics, printed on the
/// console — or exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. See
/// [`builder`] for every option and its environment variable.
///
/// If the application already installed a global tracer provider, `init` keeps it (and
/// its meter provider) and llm-trace records into them; it never silently replaces them.
///
/// Keep the returned guard alive until the program ends: dropping it (or
/// [`Telemetry::shutdown`]) flushes. A collector that is down or slow never changes what
/// the program computes or its exit status.
///
/// ```no_run
/// let _telemetry = llm_trace::init().expect("telemetry setup");
/// // ... call #[llm_trace] functions ...
/// ```
pub fn init() -> Result<Telemetry, InitError> {
    builder().init()
}

/// The options of [`init`], each overriding its environment variable.
pub fn builder() -> Builder {
    Builder::default()
}

/// Installed telemetry. Dropping it flushes pending spans and metrics and shuts the
/// exporters down; [`Telemetry::shutdown`] does the same and says what was lost.
///
/// Shutdown runs on a separate plain thread, so dropping the guard inside an async
/// runtime (even a current-thread one) neither deadlocks nor trips tokio's
/// blocking-in-async checks; it returns within the export timeout (plus a fraction of a
/// second), whatever the collector does.
#[must_use = "telemetry is flushed and shut down when this guard is dropped"]
#[derive(Debug)]
pub struct Telemetry {
    pipeline: Option<Pipeline>,
    timeout: Duration,
    /// Whether this guard installed the global recorder (and must put the default back).
    installed: bool,
}

impl Telemetry {
    /// The tracer provider llm-trace built, to hand to other instrumentation; `None` when
    /// `init` found and kept the application's own global provider, or traces are off
    /// (and no usage report is asked for).
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.pipeline.as_ref()?.tracer_provider.as_ref()
    }

    /// The meter provider llm-trace built, when metrics are on.
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.pipeline.as_ref()?.meter_provider.as_ref()
    }

    /// Flushes pending spans and metrics and shuts the exporters down, within the export
    /// timeout. Never fails: the report says what, if anything, was not delivered, and a
    /// report that is not clean has already been printed on one line.
    pub fn shutdown(mut self) -> ShutdownReport {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> ShutdownReport {
        let pipeline = self.pipeline.take();
        if std::mem::take(&mut self.installed) {
            // A shut-down provider is of no use to anyone: put the defaults back, so a
            // later `init` (or the application) can install fresh ones.
            Recorder::default().set_global();
            if let Some(pipeline) = &pipeline {
                if pipeline.tracer_provider.is_some() {
                    opentelemetry::global::set_tracer_provider(
                        opentelemetry::trace::noop::NoopTracerProvider::new(),
                    );
                }
                if pipeline.meter_provider.is_some() {
                    opentelemetry::global::set_meter_provider(
                        opentelemetry::metrics::noop::NoopMeterProvider::new(),
                    );
                }
            }
            INSTALLED.store(false, Ordering::Release);
        }
        let Some(pipeline) = pipeline else {
            return ShutdownReport::default();
        };
        let deadline = crate::export::deadline(self.timeout);
        let worker = std::thread::Builder::new()
            .name("llm-trace-shutdown".into())
            .spawn(move || pipeline.shutdown(deadline));
        let undelivered = match worker.map(|worker| worker.join()) {
            Ok(Ok(undelivered)) => undelivered,
            Ok(Err(_)) => Undelivered {
                failures: vec!["the shutdown thread panicked".to_owned()],
                ..Undelivered::default()
            },
            Err(error) => Undelivered {
                failures: vec![format!("cannot start the shutdown thread: {error}")],
                ..Undelivered::default()
            },
        };
        let report = ShutdownReport {
            losses: undelivered.losses,
            failures: undelivered.failures,
        };
        report.print_if_lossy();
        report
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        let _ = self.shutdown_inner();
    }
}

/// What [`Telemetry::shutdown`] could not deliver, over the whole life of the telemetry.
/// It never fails the program: a report that is not clean was printed on one line
/// already (through `log` when a logger is set, else on standard error).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    losses: LossCount,
    failures: Vec<String>,
}

impl ShutdownReport {
    /// Whether everything recorded was delivered.
    pub fn is_clean(&self) -> bool {
        self.spans_lost() == 0 && self.losses.metric_exports_failed == 0 && self.failures.is_empty()
    }

    /// Spans not delivered, all causes together.
    pub fn spans_lost(&self) -> u64 {
        self.losses.spans_lost()
    }

    /// Spans dropped because the export queue was full.
    pub fn spans_dropped_queue_full(&self) -> u64 {
        self.losses.queue_full
    }

    /// Spans the collector did not take (errors, timeouts).
    pub fn spans_export_failed(&self) -> u64 {
        self.losses.export_failed
    }

    /// Spans still queued or in flight when the shutdown's deadline passed.
    pub fn spans_lost_at_shutdown(&self) -> u64 {
        self.losses.at_shutdown
    }

    /// Spans delivered to the collector.
    pub fn spans_exported(&self) -> u64 {
        self.losses.exported
    }

    /// Metric exports that failed.
    pub fn metric_exports_failed(&self) -> u64 {
        self.losses.metric_exports_failed
    }

    /// Other problems, one line each.
    pub fn failures(&self) -> &[String] {
        &self.failures
    }

    fn print_if_lossy(&self) {
        if !self.is_clean() {
            crate::export::reporting::emit(&self.to_string());
        }
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return f.write_str("llm-trace: all telemetry delivered");
        }
        let mut parts = Vec::new();
        if self.spans_lost() > 0 {
            let mut causes = Vec::new();
            for (count, cause) in [
                (self.losses.queue_full, "export queue full"),
                (
                    self.losses.export_failed,
                    "refused or unreachable collector",
                ),
                (
                    self.losses.at_shutdown,
                    "still pending at the shutdown deadline",
                ),
            ] {
                if count > 0 {
                    causes.push(format!("{count} {cause}"));
                }
            }
            parts.push(format!(
                "{} spans lost ({})",
                self.spans_lost(),
                causes.join(", ")
            ));
        }
        if self.losses.metric_exports_failed > 0 {
            parts.push(format!(
                "{} metric exports failed",
                self.losses.metric_exports_failed
            ));
        }
        parts.extend(self.failures.iter().cloned());
        write!(
            f,
            "llm-trace: telemetry not delivered: {}; the program is not affected",
            parts.join("; ")
        )
    }
}

impl Builder {
    /// Sets telemetry up; see [`init`]. On error nothing was changed.
    pub fn init(self) -> Result<Telemetry, InitError> {
        install(self, &crate::settings::process_environment)
    }
}

/// Builds everything from `builder` and the environment read through `env`, then installs it.
pub(crate) fn install(builder: Builder, env: Environment<'_>) -> Result<Telemetry, InitError> {
    let Builder {
        explicit,
        redactor,
        replace_global,
        console,
        console_colour,
    } = builder;
    let settings = Settings::resolve(&explicit, env)?;
    if INSTALLED.load(Ordering::Acquire) {
        return Err(InitError::already_initialized());
    }

    let mut pricing = PricingTable::builtin();
    if let Some((path, origin)) = &settings.pricing {
        let overrides = PricingTable::from_file(path)
            .map_err(|error| InitError::pricing(origin.clone(), path, error))?;
        pricing.merge(overrides);
    }
    let budgets = settings
        .usage
        .budgets(explicit.usage.callback.0.clone())
        .map_err(|error| {
            InitError::invalid(
                Origin::Builder(error.setting()),
                error.value(),
                error.reason(),
            )
        })?;
    let mut recorder = Recorder::builder()
        .capture_content(settings.capture)
        .content_policy(
            ContentPolicy::new()
                .with_max_length(settings.max_content_length)
                .with_redactor(redactor),
        )
        .pricing(pricing)
        .openlit_compat(settings.openlit_compat)
        .openinference(settings.openinference)
        .usage_max_values(settings.usage.max_values)
        .budgets(budgets);
    for key in &settings.usage.keys {
        recorder = recorder.usage_key(key.clone());
    }

    if settings.disabled {
        return commit(
            recorder.no_tracing().no_metrics().no_usage().build(),
            None,
            settings.longest_timeout(),
        );
    }

    if !cfg!(any(feature = "mistral", feature = "external-provider")) {
        crate::export::reporting::emit(NO_PROVIDER);
    }

    if !replace_global && !global_provider_is_noop() {
        llm_trace_core::__llm_trace_diagnostic!(
            info,
            "llm-trace: the application already installed a global tracer provider; \
             llm-trace records into it and its global meter provider"
        );
        if let Some((path, origin)) = &settings.report {
            crate::export::reporting::emit(&format!(
                "llm-trace: no usage report will be written to {} (from {origin}): the application installed its own tracer provider, which llm-trace records into; \
                 `replace_global_providers(true)` makes llm-trace install its own",
                path.display()
            ));
        }
        return commit(
            recorder
                .global_tracer_provider()
                .global_meter_provider()
                .build(),
            None,
            settings.longest_timeout(),
        );
    }

    let colour =
        console_colour.unwrap_or_else(|| console.is_none() && std::io::stdout().is_terminal());
    let sink = match console {
        Some(writer) => Arc::new(Mutex::new(writer)),
        None => crate::export::stdout_sink(),
    };
    let usage = Arc::default();
    let console = Console {
        sink,
        colour,
        usage: Arc::clone(&usage),
    };
    let pipeline = Pipeline::build(&settings, &console, env)?;
    let recorder = match &pipeline.tracer_provider {
        Some(provider) => recorder.tracer_provider_sampled(
            provider,
            crate::export::sampling::root_sampling(settings.sampling),
        ),
        None => recorder.no_tracing(),
    };
    let recorder = match &pipeline.meter_provider {
        Some(provider) => recorder.sdk_meter_provider(provider),
        None => recorder.no_metrics(),
    }
    .build();
    let _ = usage.set(recorder.clone());
    commit(recorder, Some(pipeline), settings.longest_timeout())
}

/// Installs what was built: nothing here can fail but a concurrent `init`.
fn commit(
    recorder: Recorder,
    pipeline: Option<Pipeline>,
    timeout: Duration,
) -> Result<Telemetry, InitError> {
    if INSTALLED
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // Dropping the unused pipeline shuts its exporters down.
        return Err(InitError::already_initialized());
    }
    recorder.set_global();
    if let Some(pipeline) = &pipeline {
        if let Some(provider) = &pipeline.tracer_provider {
            opentelemetry::global::set_tracer_provider(provider.clone());
        }
        if let Some(provider) = &pipeline.meter_provider {
            opentelemetry::global::set_meter_provider(provider.clone());
        }
    }
    Ok(Telemetry {
        pipeline,
        timeout,
        installed: true,
    })
}
