//! The local server's HTTP side: accepting connections and routing requests.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::answers;
use super::{RecordedRequest, Reply, ReplyKind, State};

type Body = BoxBody<Bytes, std::io::Error>;

static SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// Accepts connections until `shutdown` fires.
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("mistral mock server: cannot listen: {error}");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(handle(request, state).await) }
                    });
                    // Connection errors (a client hanging up) are not the server's concern.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(
        Full::new(body.into())
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json_response(value: &Value) -> Response<Body> {
    full(StatusCode::OK, "application/json", value.to_string())
}

async fn handle(request: Request<Incoming>, state: Arc<State>) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let bearer_auth = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("Bearer "));
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.record(RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        body: json.clone(),
        bearer_auth,
    });

    let known = matches!(
        (&method, path.as_str()),
        (&Method::POST, "/v1/chat/completions")
            | (&Method::POST, "/v1/embeddings")
            | (&Method::GET, "/v1/models")
    );
    if !known {
        return full(
            StatusCode::NOT_FOUND,
            "application/json",
            r#"{"object":"error","message":"Not found","type":"invalid_request_error"}"#,
        );
    }

    let reply = state.next_reply();
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    if let ReplyKind::Status(code, body) = &reply.kind {
        let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return full(status, "application/json", body.clone());
    }
    if reply.kind == ReplyKind::Malformed && path != "/v1/chat/completions" {
        return full(
            StatusCode::OK,
            "application/json",
            r#"{"id": "broken", "data": ["#,
        );
    }

    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    match path.as_str() {
        "/v1/models" => json_response(&answers::models()),
        "/v1/embeddings" => {
            let id = answers::answer_id("embd", sequence);
            json_response(&answers::embeddings(&id, &json, reply.usage))
        }
        _ => {
            let id = answers::answer_id("cmpl", sequence);
            let model = answers::requested_model(&json, "mistral-small-latest").to_owned();
            let answer = reply.answer.clone().unwrap_or_else(|| state.answer());
            let usage = reply.usage.unwrap_or_else(|| {
                (
                    answers::prompt_tokens(&json),
                    answers::count_tokens(&answer),
                )
            });
            if json["stream"].as_bool() == Some(true) {
                stream_response(&reply, id, model, answer, usage)
            } else if reply.kind == ReplyKind::Malformed {
                full(
                    StatusCode::OK,
                    "application/json",
                    r#"{"id": "broken", "choices": ["#,
                )
            } else {
                json_response(&answers::chat_completion(
                    &id,
                    &model,
                    &answer,
                    &reply.tool_calls,
                    usage,
                ))
            }
        }
    }
}

/// An SSE answer, sent chunk by chunk with `reply.chunk_delay` between them.
fn stream_response(
    reply: &Reply,
    id: String,
    model: String,
    answer: String,
    usage: (u32, u32),
) -> Response<Body> {
    let pieces = answers::stream_pieces(&answer);
    let count = pieces.len();
    let mut events: Vec<Result<Bytes, ()>> = Vec::with_capacity(count + 2);
    for (index, piece) in pieces.iter().enumerate() {
        if let ReplyKind::StreamCut { after_chunks } = reply.kind {
            if index == after_chunks {
                events.push(Err(()));
                break;
            }
        }
        let last = index + 1 == count;
        let event = match (&reply.kind, last) {
            (ReplyKind::Malformed, _) => "data: {not json\n\n".to_owned(),
            (ReplyKind::StreamWithoutUsage, true) => continue,
            (ReplyKind::StreamSplitUsage, true) => {
                let event = answers::stream_chunk(
                    &id,
                    &model,
                    piece,
                    index == 0,
                    Some("stop"),
                    Some(usage),
                );
                let mut middle = event.len() / 2;
                while !event.is_char_boundary(middle) {
                    middle -= 1;
                }
                events.push(Ok(Bytes::from(event[..middle].to_owned())));
                event[middle..].to_owned()
            }
            (_, true) => {
                answers::stream_chunk(&id, &model, piece, index == 0, Some("stop"), Some(usage))
            }
            (_, false) => answers::stream_chunk(&id, &model, piece, index == 0, None, None),
        };
        events.push(Ok(Bytes::from(event)));
    }
    if !matches!(events.last(), Some(Err(()))) {
        events.push(Ok(Bytes::from_static(answers::STREAM_DONE.as_bytes())));
    }
    let delay = reply.chunk_delay;
    let stream = futures_util::stream::unfold(
        (events.into_iter(), true),
        move |(mut events, first)| async move {
            let event = events.next()?;
            if !first && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let frame = match event {
                Ok(bytes) => Ok(Frame::data(bytes)),
                Err(()) => Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "stream cut by the mock server",
                )),
            };
            Some((frame, (events, false)))
        },
    );
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response
}
