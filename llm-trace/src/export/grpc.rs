//! OTLP over gRPC (feature `grpc`): tonic exporters driven by a small runtime of their own.
//!
//! tonic needs a tokio reactor, while the SDK's batch span processor and periodic metric
//! reader export from plain threads. Each export therefore runs on a one-worker tokio
//! runtime owned by the exporters, whatever runtime (if any) the application uses.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tonic::metadata::{Ascii, MetadataKey, MetadataValue};

use crate::error::InitError;
use crate::settings::{Compression, OtlpTarget};

/// The exporters' runtime; shut down in the background when the last exporter goes, so
/// dropping it never blocks (nor panics inside another runtime).
#[derive(Debug)]
pub(crate) struct GrpcRuntime(Option<tokio::runtime::Runtime>);

impl GrpcRuntime {
    pub(crate) fn new() -> Result<Arc<Self>, InitError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("llm-trace-otlp-grpc")
            .enable_all()
            .build()
            .map(|runtime| Arc::new(GrpcRuntime(Some(runtime))))
            .map_err(|error| {
                InitError::exporter(format!("cannot start the gRPC runtime: {error}"))
                    .with_source(error)
            })
    }

    fn block_on<F>(&self, future: F) -> Option<F::Output>
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        let runtime = self.0.as_ref()?;
        if tokio::runtime::Handle::try_current().is_ok() {
            // Inside another runtime: run the export on a scoped plain thread instead.
            return std::thread::scope(|scope| {
                scope.spawn(|| runtime.block_on(future)).join().ok()
            });
        }
        Some(runtime.block_on(future))
    }
}

impl Drop for GrpcRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// An exporter whose exports run on the gRPC runtime.
#[derive(Debug)]
pub(crate) struct OnRuntime<E> {
    inner: E,
    runtime: Arc<GrpcRuntime>,
}

fn runtime_gone() -> OTelSdkError {
    OTelSdkError::InternalFailure("the gRPC runtime is gone".into())
}

impl<E: SpanExporter> SpanExporter for OnRuntime<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.runtime
            .block_on(self.inner.export(batch))
            .unwrap_or_else(|| Err(runtime_gone()))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: PushMetricExporter> PushMetricExporter for OnRuntime<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.runtime
            .block_on(self.inner.export(metrics))
            .unwrap_or_else(|| Err(runtime_gone()))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// Sets the resolved headers as gRPC metadata on every request, replacing the ones the
/// exporter took from the environment.
#[derive(Clone)]
struct Metadata {
    remove: Vec<MetadataKey<Ascii>>,
    set: Vec<(MetadataKey<Ascii>, MetadataValue<Ascii>)>,
}

impl tonic::service::Interceptor for Metadata {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let metadata = request.metadata_mut();
        for key in &self.remove {
            metadata.remove(key.as_str());
        }
        for (key, value) in &self.set {
            metadata.insert(key.clone(), value.clone());
        }
        Ok(request)
    }
}

fn metadata(target: &OtlpTarget, env_names: &[String]) -> Result<Metadata, InitError> {
    let mut set = Vec::new();
    for (key, value) in &target.headers {
        let (Ok(name), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) else {
            return Err(InitError::exporter(format!(
                "header {key:?} cannot be sent as gRPC metadata"
            )));
        };
        set.push((name, value));
    }
    let remove = env_names
        .iter()
        .filter_map(|name| MetadataKey::from_bytes(name.as_bytes()).ok())
        .filter(|name| !set.iter().any(|(kept, _)| kept == name))
        .collect();
    Ok(Metadata { remove, set })
}

/// The runtime's handle: tonic exporters must be built inside it.
fn handle(runtime: &GrpcRuntime) -> Result<tokio::runtime::Handle, InitError> {
    runtime
        .0
        .as_ref()
        .map(|r| r.handle().clone())
        .ok_or_else(|| InitError::exporter("the gRPC runtime is gone"))
}

/// The endpoint, timeout, compression and metadata shared by both gRPC exporters.
fn configure<B: WithExportConfig + WithTonicConfig>(
    builder: B,
    target: &OtlpTarget,
    env_names: &[String],
) -> Result<B, InitError> {
    let builder = builder
        .with_endpoint(target.url.clone())
        .with_timeout(target.timeout)
        .with_interceptor(metadata(target, env_names)?);
    Ok(match target.compression {
        Compression::Gzip => builder.with_compression(opentelemetry_otlp::Compression::Gzip),
        Compression::None => builder,
    })
}

/// Builds an exporter inside the gRPC runtime (tonic needs one) and binds it to it.
fn on_runtime<E>(
    runtime: &Arc<GrpcRuntime>,
    build: impl FnOnce() -> Result<E, InitError>,
) -> Result<OnRuntime<E>, InitError> {
    let handle = handle(runtime)?;
    let _entered = handle.enter();
    Ok(OnRuntime {
        inner: build()?,
        runtime: Arc::clone(runtime),
    })
}

/// The OTLP/gRPC span exporter.
pub(crate) fn span_exporter(
    target: &OtlpTarget,
    env_names: &[String],
    runtime: &Arc<GrpcRuntime>,
) -> Result<OnRuntime<opentelemetry_otlp::SpanExporter>, InitError> {
    on_runtime(runtime, || {
        let builder = opentelemetry_otlp::SpanExporter::builder().with_tonic();
        configure(builder, target, env_names)?
            .build()
            .map_err(InitError::exporter_build)
    })
}

/// The OTLP/gRPC metric exporter.
pub(crate) fn metric_exporter(
    target: &OtlpTarget,
    env_names: &[String],
    runtime: &Arc<GrpcRuntime>,
) -> Result<OnRuntime<opentelemetry_otlp::MetricExporter>, InitError> {
    on_runtime(runtime, || {
        let builder = opentelemetry_otlp::MetricExporter::builder().with_tonic();
        configure(builder, target, env_names)?
            .build()
            .map_err(InitError::exporter_build)
    })
}
