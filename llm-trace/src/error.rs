//! Why telemetry could not be set up.

use std::fmt;

/// Why [`init`](crate::init) could not set telemetry up. Nothing was changed: the process
/// records as it did before the call.
///
/// Its message names the setting, where the bad value came from (a builder method or an
/// environment variable) and what is wrong; values that may be secrets (headers) are
/// masked.
#[derive(Debug)]
pub struct InitError {
    kind: InitErrorKind,
    origin: Option<Origin>,
    value: Option<String>,
    reason: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// What kind of problem an [`InitError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitErrorKind {
    /// A setting has a value that cannot be used.
    InvalidSetting,
    /// The price table file could not be used.
    Pricing,
    /// An exporter could not be built.
    Exporter,
    /// `init` already installed telemetry and its guard is still alive.
    AlreadyInitialized,
}

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A [`Builder`](crate::Builder) method, by name (e.g. `otlp_endpoint`).
    Builder(&'static str),
    /// An environment variable, by name (e.g. `OTEL_EXPORTER_OTLP_ENDPOINT`).
    Environment(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builder(method) => write!(f, "builder .{method}()"),
            Origin::Environment(variable) => write!(f, "environment variable {variable}"),
        }
    }
}

impl InitError {
    /// A bad setting value (already masked when it may be a secret).
    pub(crate) fn invalid(
        origin: Origin,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        InitError {
            kind: InitErrorKind::InvalidSetting,
            origin: Some(origin),
            value: Some(value.into()),
            reason: reason.into(),
            source: None,
        }
    }

    pub(crate) fn pricing(
        origin: Origin,
        path: &std::path::Path,
        error: llm_trace_core::pricing::PricingError,
    ) -> Self {
        InitError {
            kind: InitErrorKind::Pricing,
            origin: Some(origin),
            value: Some(path.display().to_string()),
            reason: error.to_string(),
            source: Some(Box::new(error)),
        }
    }

    pub(crate) fn exporter(reason: impl Into<String>) -> Self {
        InitError {
            kind: InitErrorKind::Exporter,
            origin: None,
            value: None,
            reason: reason.into(),
            source: None,
        }
    }

    /// An OTLP exporter that could not be built, with the exporter's error as the source.
    pub(crate) fn exporter_build(error: opentelemetry_otlp::ExporterBuildError) -> Self {
        InitError::exporter(error.to_string()).with_source(error)
    }

    pub(crate) fn already_initialized() -> Self {
        InitError {
            kind: InitErrorKind::AlreadyInitialized,
            origin: None,
            value: None,
            reason: "llm-trace telemetry is already initialized: drop or shut down the first guard before calling init again".into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> InitErrorKind {
        self.kind
    }

    /// Where the bad value came from, for settings and price tables.
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// The environment variable of the setting (also when the value came from the builder).
    pub fn variable(&self) -> Option<&'static str> {
        match self.origin {
            Some(Origin::Environment(variable)) => Some(variable),
            Some(Origin::Builder(method)) => crate::env::variable_of(method),
            None => None,
        }
    }

    /// The bad value, masked where it may be a secret.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// What is wrong.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, &self.origin, &self.value) {
            (InitErrorKind::InvalidSetting, Some(Origin::Environment(variable)), Some(value)) => {
                write!(f, "invalid {variable}={value:?}: {}", self.reason)
            }
            (InitErrorKind::InvalidSetting, Some(origin @ Origin::Builder(_)), Some(value)) => {
                write!(
                    f,
                    "invalid value {value:?} given to {origin}: {}",
                    self.reason
                )
            }
            (InitErrorKind::Pricing, Some(origin), Some(path)) => {
                write!(f, "price table {path} (from {origin}): {}", self.reason)
            }
            (InitErrorKind::Exporter, _, _) => {
                write!(f, "cannot build the exporter: {}", self.reason)
            }
            _ => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}
