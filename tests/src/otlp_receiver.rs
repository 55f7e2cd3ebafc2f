//! A loopback OTLP/HTTP receiver: a real HTTP server on 127.0.0.1 that keeps every
//! export request and decodes traces and metrics with `opentelemetry-proto`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, HistogramDataPoint};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    /// `/v1/traces` or `/v1/metrics` (gRPC service paths are mapped to these).
    pub path: String,
    /// The path as sent.
    pub raw_path: String,
    pub headers: BTreeMap<String, String>,
    pub content_type: String,
    pub body: Bytes,
}

/// How the receiver answers, changeable while it runs.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// Wait this long before answering each request.
    pub delay: Duration,
    /// Answer `/v1/metrics` with this status (a traces-only backend answers 405).
    pub metrics_status: Option<u16>,
    /// Never answer (the request is kept).
    pub hang: bool,
    /// Read and drop requests without keeping them (for benchmarks).
    pub discard: bool,
}

/// A running receiver; stops when dropped.
pub struct OtlpReceiver {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OtlpReceiver {
    /// Starts an OTLP/HTTP receiver on a free loopback port, on its own thread.
    pub fn start() -> OtlpReceiver {
        OtlpReceiver::start_with(false)
    }

    /// Starts an OTLP/gRPC receiver (HTTP/2) on a free loopback port.
    pub fn start_grpc() -> OtlpReceiver {
        OtlpReceiver::start_with(true)
    }

    fn start_with(grpc: bool) -> OtlpReceiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let address = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(Behaviour::default()));
        let (shutdown, mut stop) = tokio::sync::oneshot::channel::<()>();
        let kept = Arc::clone(&received);
        let answers = Arc::clone(&behaviour);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut stop => return,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let kept = Arc::clone(&kept);
                            let answers = Arc::clone(&answers);
                            tokio::spawn(async move {
                                let service = hyper::service::service_fn(move |request| {
                                    let kept = Arc::clone(&kept);
                                    let behaviour = answers.lock().unwrap().clone();
                                    async move { Ok::<_, Infallible>(receive(request, kept, behaviour).await) }
                                });
                                let io = TokioIo::new(stream);
                                if grpc {
                                    let _ = hyper::server::conn::http2::Builder::new(
                                        hyper_util::rt::TokioExecutor::new(),
                                    )
                                    .serve_connection(io, service)
                                    .await;
                                } else {
                                    let _ = hyper::server::conn::http1::Builder::new()
                                        .serve_connection(io, service)
                                        .await;
                                }
                            });
                        }
                    }
                }
            });
        });
        OtlpReceiver {
            address,
            received,
            behaviour,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// Changes how the receiver answers from now on.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    /// The base URL to configure as the OTLP endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the requests received, or the timeout passes.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let received = self.received();
            if done(&received) || start.elapsed() > timeout {
                return received;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every trace export, decoded.
    fn trace_exports(&self) -> Vec<opentelemetry_proto::tonic::trace::v1::ResourceSpans> {
        self.received()
            .iter()
            .filter(|r| r.path == "/v1/traces")
            .flat_map(|r| {
                ExportTraceServiceRequest::decode(r.body.clone())
                    .expect("a protobuf trace export")
                    .resource_spans
            })
            .collect()
    }

    /// All spans of all trace exports.
    pub fn spans(&self) -> Vec<Span> {
        self.trace_exports()
            .into_iter()
            .flat_map(|rs| rs.scope_spans)
            .flat_map(|ss| ss.spans)
            .collect()
    }

    /// The resource attributes of the trace exports.
    pub fn trace_resource(&self) -> BTreeMap<String, String> {
        self.trace_exports()
            .into_iter()
            .filter_map(|rs| rs.resource)
            .flat_map(|resource| resource.attributes)
            .map(|kv| (kv.key.clone(), value_text(kv.value.as_ref())))
            .collect()
    }

    /// The histogram data points of `name` in the last metrics export.
    pub fn histogram(&self, name: &str) -> Vec<HistogramDataPoint> {
        let received = self.received();
        let Some(last) = received.iter().rev().find(|r| r.path == "/v1/metrics") else {
            return Vec::new();
        };
        ExportMetricsServiceRequest::decode(last.body.clone())
            .expect("a protobuf metrics export")
            .resource_metrics
            .into_iter()
            .flat_map(|rm| rm.scope_metrics)
            .flat_map(|sm| sm.metrics)
            .filter(|m| m.name == name)
            .flat_map(|m| match m.data {
                Some(metric::Data::Histogram(h)) => h.data_points,
                _ => Vec::new(),
            })
            .collect()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

type ResponseBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn receive(
    request: Request<hyper::body::Incoming>,
    kept: Arc<Mutex<Vec<Received>>>,
    behaviour: Behaviour,
) -> Response<ResponseBody> {
    let raw_path = request.uri().path().to_owned();
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect::<BTreeMap<_, _>>();
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    let mut body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    if headers.get("content-encoding").is_some_and(|e| e == "gzip") {
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut decoded)
            .expect("a gzip body");
        body = Bytes::from(decoded);
    }
    let grpc = content_type.starts_with("application/grpc");
    if grpc && body.len() >= 5 {
        // One length-prefixed, uncompressed message.
        body = body.slice(5..);
    }
    let path = match raw_path.as_str() {
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export" => "/v1/traces".to_owned(),
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export" => {
            "/v1/metrics".to_owned()
        }
        other => other.to_owned(),
    };
    let metrics_status = (path == "/v1/metrics")
        .then_some(behaviour.metrics_status)
        .flatten();
    if !behaviour.discard {
        kept.lock().unwrap().push(Received {
            path,
            raw_path,
            headers,
            content_type,
            body,
        });
    }
    if behaviour.hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    tokio::time::sleep(behaviour.delay).await;
    if let Some(status) = metrics_status {
        let mut response = Response::new(Full::new(Bytes::new()).boxed());
        *response.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::METHOD_NOT_ALLOWED);
        return response;
    }
    if grpc {
        // An empty response message, then the OK status in the trailers.
        let mut trailers = hyper::HeaderMap::new();
        trailers.insert("grpc-status", hyper::header::HeaderValue::from_static("0"));
        let frames = futures_util::stream::iter([
            Ok::<_, Infallible>(hyper::body::Frame::data(Bytes::from_static(&[
                0, 0, 0, 0, 0,
            ]))),
            Ok(hyper::body::Frame::trailers(trailers)),
        ]);
        let mut response = Response::new(http_body_util::StreamBody::new(frames).boxed());
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/grpc"),
        );
        return response;
    }
    let mut response = Response::new(Full::new(Bytes::new()).boxed());
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-protobuf"),
    );
    response
}

/// An attribute value as text (strings bare, numbers and arrays in their usual form).
pub fn value_text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::ArrayValue(array)) => format!(
            "[{}]",
            array
                .values
                .iter()
                .map(|v| value_text(Some(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => format!("{other:?}"),
    }
}

/// Attributes as a text map.
pub fn attribute_map(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), value_text(kv.value.as_ref())))
        .collect()
}
