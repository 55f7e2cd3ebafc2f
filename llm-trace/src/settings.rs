//! Resolving `init()`'s settings: each from its builder call, else its environment variable,
//! else a default. Pure: values in, [`Settings`] or an [`InitError`] out — nothing is built
//! or installed here. Every bad value is an error naming the setting, where the value came
//! from and what is wrong; header values are never shown.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use llm_trace_core::content::CaptureMode;

use crate::error::{InitError, Origin};

use crate::env;

pub(crate) mod usage;
pub(crate) use usage::{UsageExplicit, UsageSettings};

/// Where spans or metrics go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExporterKind {
    /// Human-readable output on the console.
    Console,
    /// OTLP to a collector.
    Otlp,
    /// Nowhere.
    None,
}

/// The OTLP protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/HTTP with protobuf bodies (the default).
    HttpProtobuf,
    /// OTLP/gRPC (needs the `grpc` feature).
    Grpc,
}

/// Compression of OTLP requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// None (the default).
    #[default]
    None,
    /// gzip.
    Gzip,
}

/// The trace sampler.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Sampling {
    /// Every trace.
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// A ratio of traces, by trace id.
    Ratio(f64),
    /// Follow the parent; root spans always on.
    ParentBasedAlwaysOn,
    /// Follow the parent; root spans always off.
    ParentBasedAlwaysOff,
    /// Follow the parent; root spans by ratio.
    ParentBasedRatio(f64),
}

/// The settings the builder was given explicitly.
#[derive(Clone, Debug, Default)]
pub(crate) struct Explicit {
    pub(crate) sdk_disabled: Option<bool>,
    pub(crate) service_name: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) traces_endpoint: Option<String>,
    pub(crate) metrics_endpoint: Option<String>,
    pub(crate) headers: Option<Vec<(String, String)>>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) compression: Option<Compression>,
    pub(crate) traces_exporter: Option<ExporterKind>,
    pub(crate) metrics_exporter: Option<ExporterKind>,
    pub(crate) disable_metrics: Option<bool>,
    pub(crate) disable_batch: Option<bool>,
    pub(crate) sampling: Option<Sampling>,
    pub(crate) max_queue_size: Option<usize>,
    pub(crate) schedule_delay: Option<Duration>,
    pub(crate) max_export_batch_size: Option<usize>,
    pub(crate) metrics_interval: Option<Duration>,
    pub(crate) capture: Option<CaptureMode>,
    pub(crate) max_content_length: Option<usize>,
    pub(crate) pricing: Option<PathBuf>,
    pub(crate) openlit_compat: Option<bool>,
    pub(crate) openinference: Option<bool>,
    pub(crate) report: Option<PathBuf>,
    pub(crate) usage: UsageExplicit,
}

/// Where one signal (traces or metrics) goes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Signal {
    pub(crate) exporter: ExporterKind,
    /// The OTLP target, used when `exporter` is OTLP.
    pub(crate) otlp: OtlpTarget,
}

/// An OTLP endpoint and how to talk to it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OtlpTarget {
    /// The URL requests go to: the full `/v1/traces` (`/v1/metrics`) URL for HTTP, the
    /// base URL for gRPC.
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) protocol: Protocol,
    pub(crate) timeout: Duration,
    pub(crate) compression: Compression,
}

/// How spans are queued and sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Batching {
    pub(crate) max_queue_size: usize,
    pub(crate) max_export_batch_size: usize,
    pub(crate) schedule_delay: Duration,
    /// Export as soon as spans are queued instead of on the schedule.
    pub(crate) eager: bool,
}

/// Everything resolved, ready to build the pipeline.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Settings {
    pub(crate) disabled: bool,
    pub(crate) service_name: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) traces: Signal,
    pub(crate) metrics: Signal,
    pub(crate) batching: Batching,
    pub(crate) metrics_interval: Duration,
    pub(crate) sampling: Sampling,
    pub(crate) capture: CaptureMode,
    pub(crate) max_content_length: Option<usize>,
    /// The price table file and where its name came from.
    pub(crate) pricing: Option<(PathBuf, Origin)>,
    /// Whether the keys OpenLIT's dashboard reads beyond the spec are written.
    pub(crate) openlit_compat: bool,
    /// Whether function spans get `openinference.span.kind = CHAIN`.
    pub(crate) openinference: bool,
    /// The usage report's HTML file and where its name came from.
    pub(crate) report: Option<(PathBuf, Origin)>,
    /// What usage is counted by, and the budgets.
    pub(crate) usage: UsageSettings,
}

/// The default OTLP/HTTP endpoint when OTLP is chosen without one.
pub(crate) const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";
/// The default OTLP/gRPC endpoint.
pub(crate) const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
/// The default export timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The accepted export timeouts.
const TIMEOUT_RANGE: (Duration, Duration) = (Duration::from_millis(1), Duration::from_secs(600));

/// The environment, one variable at a time (tests inject theirs).
pub(crate) type Environment<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// Reads the process environment.
pub(crate) fn process_environment(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// One setting's value: the builder's, else the first of its variables that is set.
struct Resolver<'a> {
    env: Environment<'a>,
}

/// A raw value and where it came from.
struct Raw {
    text: String,
    origin: Origin,
}

impl Resolver<'_> {
    /// The variable's value; empty counts as unset; not UTF-8 is an error.
    fn var(&self, variable: &'static str) -> Result<Option<Raw>, InitError> {
        let Some(value) = (self.env)(variable) else {
            return Ok(None);
        };
        let text = value.into_string().map_err(|raw| {
            InitError::invalid(
                Origin::Environment(variable),
                raw.to_string_lossy(),
                "the value is not valid UTF-8",
            )
        })?;
        Ok((!text.trim().is_empty()).then_some(Raw {
            text,
            origin: Origin::Environment(variable),
        }))
    }

    /// The first of `variables` that is set.
    fn first(&self, variables: &[&'static str]) -> Result<Option<Raw>, InitError> {
        for variable in variables {
            if let Some(raw) = self.var(variable)? {
                return Ok(Some(raw));
            }
        }
        Ok(None)
    }

    /// The builder's value (checked by `check`), else the first variable's (parsed).
    fn setting<T>(
        &self,
        explicit: Option<T>,
        method: &'static str,
        variables: &[&'static str],
        parse: impl Fn(&str) -> Result<T, String>,
        check: impl Fn(&T) -> Result<(), String>,
        show: impl Fn(&T) -> String,
    ) -> Result<Option<T>, InitError> {
        if let Some(value) = explicit {
            check(&value).map_err(|reason| {
                InitError::invalid(Origin::Builder(method), show(&value), reason)
            })?;
            return Ok(Some(value));
        }
        let Some(raw) = self.first(variables)? else {
            return Ok(None);
        };
        let value = parse(&raw.text)
            .map_err(|reason| InitError::invalid(raw.origin.clone(), shown(&raw), reason))?;
        check(&value)
            .map_err(|reason| InitError::invalid(raw.origin.clone(), shown(&raw), reason))?;
        Ok(Some(value))
    }
}

/// A raw value as an error may show it: header values masked.
fn shown(raw: &Raw) -> String {
    match raw.origin {
        Origin::Environment(env::OTLP_HEADERS)
        | Origin::Environment(env::OTLP_TRACES_HEADERS)
        | Origin::Environment(env::OTLP_METRICS_HEADERS) => crate::headers::mask(&raw.text),
        _ => raw.text.clone(),
    }
}

fn always_ok<T>(_: &T) -> Result<(), String> {
    Ok(())
}

fn parse_string(text: &str) -> Result<String, String> {
    Ok(text.trim().to_owned())
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn parse_exporter(text: &str) -> Result<ExporterKind, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "console" | "stdout" => Ok(ExporterKind::Console),
        "otlp" => Ok(ExporterKind::Otlp),
        "none" => Ok(ExporterKind::None),
        _ => Err("expected console, otlp or none".into()),
    }
}

fn parse_protocol(text: &str) -> Result<Protocol, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "http/protobuf" => Ok(Protocol::HttpProtobuf),
        "grpc" => Ok(Protocol::Grpc),
        "http/json" => Err("http/json is not supported; use http/protobuf".into()),
        _ => Err("expected http/protobuf or grpc".into()),
    }
}

fn check_protocol(protocol: &Protocol) -> Result<(), String> {
    if *protocol == Protocol::Grpc && !cfg!(feature = "grpc") {
        return Err("gRPC needs llm-trace's `grpc` feature".into());
    }
    Ok(())
}

fn parse_compression(text: &str) -> Result<Compression, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "gzip" => Ok(Compression::Gzip),
        "none" => Ok(Compression::None),
        _ => Err("expected gzip or none".into()),
    }
}

fn parse_millis(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| "expected a whole number of milliseconds, e.g. 10000".into())
}

fn check_range(low: Duration, high: Duration) -> impl Fn(&Duration) -> Result<(), String> {
    move |value| {
        if (low..=high).contains(value) {
            Ok(())
        } else {
            Err(format!(
                "expected {} to {} milliseconds",
                low.as_millis(),
                high.as_millis()
            ))
        }
    }
}

fn show_millis(value: &Duration) -> String {
    format!("{} ms", value.as_millis())
}

fn parse_count(text: &str) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .map_err(|_| "expected a whole number".into())
}

fn check_count(low: usize, high: usize) -> impl Fn(&usize) -> Result<(), String> {
    move |value| {
        if (low..=high).contains(value) {
            Ok(())
        } else {
            Err(format!("expected {low} to {high}"))
        }
    }
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    let ratio: f64 = text
        .trim()
        .parse()
        .map_err(|_| "expected a number between 0 and 1".to_owned())?;
    check_ratio(ratio)?;
    Ok(ratio)
}

fn check_ratio(ratio: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&ratio) {
        Ok(())
    } else {
        Err("expected a number between 0 and 1".into())
    }
}

/// A validated OTLP URL, without a trailing slash.
fn parse_endpoint(text: &str) -> Result<String, String> {
    let trimmed = text.trim().trim_end_matches('/');
    let scheme_ok = trimmed.split_once("://").is_some_and(|(scheme, _)| {
        scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
    });
    if !scheme_ok {
        return Err("expected an http:// or https:// URL".into());
    }
    let rest = trimmed.split_once("://").map_or("", |(_, rest)| rest);
    if rest.contains(char::is_whitespace) {
        return Err("the URL contains whitespace".into());
    }
    if rest.contains(['?', '#']) {
        return Err("the URL must not have a query or a fragment".into());
    }
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return Err(
            "credentials in the URL are not supported (they would be logged): send them as headers"
                .into(),
        );
    }
    if llm_trace_core::__private::server_address(trimmed, 4318).is_none() {
        return Err("the URL has no valid host and port".into());
    }
    Ok(trimmed.to_owned())
}

impl Settings {
    /// Resolves the builder's explicit values over the environment read through `env`.
    pub(crate) fn resolve(
        explicit: &Explicit,
        env: Environment<'_>,
    ) -> Result<Settings, InitError> {
        let r = Resolver { env };
        let disabled = r
            .setting(
                explicit.sdk_disabled,
                "sdk_disabled",
                &[env::SDK_DISABLED],
                parse_bool,
                always_ok,
                bool::to_string,
            )?
            .unwrap_or(false);
        let service_name = r.setting(
            explicit.service_name.clone(),
            "service_name",
            &[env::SERVICE_NAME],
            parse_string,
            always_ok,
            String::clone,
        )?;
        let environment = r.setting(
            explicit.environment.clone(),
            "environment",
            &[env::DEPLOYMENT_ENVIRONMENT],
            parse_string,
            always_ok,
            String::clone,
        )?;

        let endpoint_check = |value: &String| parse_endpoint(value).map(drop);
        let endpoint = r
            .setting(
                explicit.endpoint.clone(),
                "otlp_endpoint",
                &[env::OTLP_ENDPOINT],
                parse_endpoint,
                endpoint_check,
                String::clone,
            )?
            .map(|endpoint| endpoint.trim().trim_end_matches('/').to_owned());
        let signal_endpoint = |value: &Option<String>, method, variable| {
            r.setting(
                value.clone(),
                method,
                &[variable],
                parse_endpoint,
                endpoint_check,
                String::clone,
            )
            .map(|url| url.map(|url| url.trim().trim_end_matches('/').to_owned()))
        };
        let traces_endpoint = signal_endpoint(
            &explicit.traces_endpoint,
            "otlp_traces_endpoint",
            env::OTLP_TRACES_ENDPOINT,
        )?;
        let metrics_endpoint = signal_endpoint(
            &explicit.metrics_endpoint,
            "otlp_metrics_endpoint",
            env::OTLP_METRICS_ENDPOINT,
        )?;

        let header_check = |headers: &Vec<(String, String)>| crate::headers::check(headers);
        let show_headers = |headers: &Vec<(String, String)>| crate::headers::mask_pairs(headers);
        let headers_for = |variable| {
            r.setting(
                explicit.headers.clone(),
                "otlp_header",
                &[variable, env::OTLP_HEADERS],
                crate::headers::parse,
                header_check,
                show_headers,
            )
            .map(Option::unwrap_or_default)
        };
        let protocol_for = |variable| {
            r.setting(
                explicit.protocol,
                "protocol",
                &[variable, env::OTLP_PROTOCOL],
                parse_protocol,
                check_protocol,
                |p| format!("{p:?}"),
            )
            .map(|p| p.unwrap_or(Protocol::HttpProtobuf))
        };
        let timeout_for = |variable| {
            r.setting(
                explicit.timeout,
                "export_timeout",
                &[variable, env::OTLP_TIMEOUT],
                parse_millis,
                check_range(TIMEOUT_RANGE.0, TIMEOUT_RANGE.1),
                show_millis,
            )
            .map(|t| t.unwrap_or(DEFAULT_TIMEOUT))
        };
        let compression_for = |variable| {
            r.setting(
                explicit.compression,
                "compression",
                &[variable, env::OTLP_COMPRESSION],
                parse_compression,
                always_ok,
                |c| format!("{c:?}"),
            )
            .map(Option::unwrap_or_default)
        };

        let any_endpoint =
            endpoint.is_some() || traces_endpoint.is_some() || metrics_endpoint.is_some();
        let default_kind = if any_endpoint {
            ExporterKind::Otlp
        } else {
            ExporterKind::Console
        };
        let traces_kind = r
            .setting(
                explicit.traces_exporter,
                "traces_exporter",
                &[env::TRACES_EXPORTER],
                parse_exporter,
                always_ok,
                |k| format!("{k:?}"),
            )?
            .unwrap_or(default_kind);
        let disable_metrics = r
            .setting(
                explicit.disable_metrics,
                "disable_metrics",
                &[env::DISABLE_METRICS],
                parse_bool,
                always_ok,
                bool::to_string,
            )?
            .unwrap_or(false);
        let metrics_kind = if disable_metrics {
            ExporterKind::None
        } else {
            r.setting(
                explicit.metrics_exporter,
                "metrics_exporter",
                &[env::METRICS_EXPORTER],
                parse_exporter,
                always_ok,
                |k| format!("{k:?}"),
            )?
            .unwrap_or(default_kind)
        };

        let target = |exporter: ExporterKind,
                      signal_url: Option<String>,
                      path: &str,
                      headers: &'static str,
                      protocol: &'static str,
                      timeout: &'static str,
                      compression: &'static str|
         -> Result<OtlpTarget, InitError> {
            let protocol = protocol_for(protocol)?;
            let url = match (signal_url, protocol) {
                (Some(url), _) => url,
                (None, Protocol::HttpProtobuf) => format!(
                    "{}{path}",
                    endpoint.as_deref().unwrap_or(DEFAULT_HTTP_ENDPOINT)
                ),
                (None, Protocol::Grpc) => endpoint
                    .clone()
                    .unwrap_or_else(|| DEFAULT_GRPC_ENDPOINT.to_owned()),
            };
            let _ = exporter;
            Ok(OtlpTarget {
                url,
                headers: headers_for(headers)?,
                protocol,
                timeout: timeout_for(timeout)?,
                compression: compression_for(compression)?,
            })
        };
        let traces = Signal {
            exporter: traces_kind,
            otlp: target(
                traces_kind,
                traces_endpoint,
                "/v1/traces",
                env::OTLP_TRACES_HEADERS,
                env::OTLP_TRACES_PROTOCOL,
                env::OTLP_TRACES_TIMEOUT,
                env::OTLP_TRACES_COMPRESSION,
            )?,
        };
        let metrics = Signal {
            exporter: metrics_kind,
            otlp: target(
                metrics_kind,
                metrics_endpoint,
                "/v1/metrics",
                env::OTLP_METRICS_HEADERS,
                env::OTLP_METRICS_PROTOCOL,
                env::OTLP_METRICS_TIMEOUT,
                env::OTLP_METRICS_COMPRESSION,
            )?,
        };

        let eager = r
            .setting(
                explicit.disable_batch,
                "disable_batch",
                &[env::DISABLE_BATCH],
                parse_bool,
                always_ok,
                bool::to_string,
            )?
            .unwrap_or(false);
        let max_queue_size = r
            .setting(
                explicit.max_queue_size,
                "max_queue_size",
                &[env::BSP_MAX_QUEUE_SIZE],
                parse_count,
                check_count(1, 1_000_000),
                usize::to_string,
            )?
            .unwrap_or(2048);
        let max_export_batch_size = r
            .setting(
                explicit.max_export_batch_size,
                "max_export_batch_size",
                &[env::BSP_MAX_EXPORT_BATCH_SIZE],
                parse_count,
                check_count(1, max_queue_size),
                usize::to_string,
            )?
            .unwrap_or(512.min(max_queue_size));
        let schedule_delay = r
            .setting(
                explicit.schedule_delay,
                "schedule_delay",
                &[env::BSP_SCHEDULE_DELAY],
                parse_millis,
                check_range(Duration::from_millis(1), Duration::from_secs(3600)),
                show_millis,
            )?
            .unwrap_or(Duration::from_secs(5));
        let metrics_interval = r
            .setting(
                explicit.metrics_interval,
                "metrics_interval",
                &[env::METRIC_EXPORT_INTERVAL],
                parse_millis,
                check_range(Duration::from_millis(100), Duration::from_secs(86_400)),
                show_millis,
            )?
            .unwrap_or(Duration::from_secs(60));

        let sampling = match explicit.sampling {
            Some(sampling @ (Sampling::Ratio(ratio) | Sampling::ParentBasedRatio(ratio))) => {
                check_ratio(ratio).map_err(|reason| {
                    InitError::invalid(Origin::Builder("sampling_ratio"), ratio.to_string(), reason)
                })?;
                sampling
            }
            Some(sampling) => sampling,
            None => resolve_sampler(r.var(env::TRACES_SAMPLER)?, r.var(env::TRACES_SAMPLER_ARG)?)?,
        };
        let capture = r
            .setting(
                explicit.capture,
                "capture_content",
                &[env::CAPTURE_MESSAGE_CONTENT],
                |text| {
                    text.parse::<CaptureMode>()
                        .map_err(|error| error.to_string())
                },
                always_ok,
                CaptureMode::to_string,
            )?
            .unwrap_or(CaptureMode::NoContent);
        let max_content_length = r.setting(
            explicit.max_content_length,
            "max_content_length",
            &[env::MAX_CONTENT_LENGTH],
            |text| {
                text.trim()
                    .parse()
                    .map_err(|_| "expected a number of bytes".to_owned())
            },
            always_ok,
            usize::to_string,
        )?;
        let pricing = match &explicit.pricing {
            Some(path) => Some((path.clone(), Origin::Builder("pricing_file"))),
            None => r
                .var(env::PRICING)?
                .map(|raw| (PathBuf::from(raw.text.trim()), raw.origin)),
        };
        let openlit_compat = r
            .setting(
                explicit.openlit_compat,
                "openlit_compat",
                &[env::OPENLIT_COMPAT],
                parse_bool,
                always_ok,
                bool::to_string,
            )?
            .unwrap_or(true);
        let openinference = r
            .setting(
                explicit.openinference,
                "openinference",
                &[env::OPENINFERENCE],
                parse_bool,
                always_ok,
                bool::to_string,
            )?
            .unwrap_or(false);
        let report = match &explicit.report {
            Some(path) => Some((path.clone(), Origin::Builder("report"))),
            None => r
                .var(env::REPORT)?
                .map(|raw| (PathBuf::from(raw.text.trim()), raw.origin)),
        };
        let usage = usage::resolve(&explicit.usage, &r)?;
        Ok(Settings {
            disabled,
            service_name,
            environment,
            traces,
            metrics,
            batching: Batching {
                max_queue_size,
                max_export_batch_size,
                schedule_delay,
                eager,
            },
            metrics_interval,
            sampling,
            capture,
            max_content_length,
            pricing,
            openlit_compat,
            openinference,
            report,
            usage,
        })
    }

    /// The longest any export may take: what bounds shutdown.
    pub(crate) fn longest_timeout(&self) -> Duration {
        self.traces.otlp.timeout.max(self.metrics.otlp.timeout)
    }
}

fn resolve_sampler(sampler: Option<Raw>, arg: Option<Raw>) -> Result<Sampling, InitError> {
    let ratio = || match &arg {
        Some(raw) => parse_ratio(&raw.text)
            .map_err(|reason| InitError::invalid(raw.origin.clone(), raw.text.clone(), reason)),
        None => Ok(1.0),
    };
    let Some(raw) = sampler else {
        return Ok(Sampling::ParentBasedAlwaysOn);
    };
    Ok(match raw.text.trim().to_ascii_lowercase().as_str() {
        "always_on" => Sampling::AlwaysOn,
        "always_off" => Sampling::AlwaysOff,
        "traceidratio" => Sampling::Ratio(ratio()?),
        "parentbased_always_on" => Sampling::ParentBasedAlwaysOn,
        "parentbased_always_off" => Sampling::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => Sampling::ParentBasedRatio(ratio()?),
        _ => {
            return Err(InitError::invalid(
                raw.origin,
                raw.text.clone(),
                "expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
            ))
        }
    })
}

#[cfg(test)]
mod tests;
