//! A local Mistral-compatible HTTP server, for tests and examples that must run offline.
//!
//! [`MockServer::start`] binds `127.0.0.1` on a free port and serves, on its own thread,
//! the wire format mistralai-client speaks: `POST /v1/chat/completions` (plain and SSE
//! stream), `POST /v1/embeddings` (1024 dimensions), `GET /v1/models`. Each request
//! takes the next queued [`Reply`], or the default one: a normal answer, an HTTP status,
//! a delay, a malformed body, a stream cut short or without usage.
//!
//! ```
//! use llm_trace_mistral::testing::{MockServer, Reply};
//! use mistralai_client::v1::{chat::ChatMessage, client::Client, constants::Model};
//!
//! let server = MockServer::start().unwrap();
//! let client = Client::new(Some("test-key".into()), Some(server.endpoint()), None, None).unwrap();
//! server.enqueue(Reply::ok().with_usage(11, 9));
//! let messages = vec![ChatMessage::new_user_message("Hello")];
//! let answer = client.chat(Model::MistralSmallLatest, messages, None).unwrap();
//! assert_eq!(answer.usage.prompt_tokens, 11);
//!
//! server.enqueue(Reply::status(429));
//! let error = client.chat(Model::MistralSmallLatest, vec![], None).unwrap_err();
//! assert!(error.message.contains("429"));
//! assert_eq!(server.requests().len(), 2);
//! ```

mod answers;
mod http;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The answer text of the local server, unless a [`Reply`] or
/// [`MockServer::set_answer`] says otherwise.
pub const DEFAULT_ANSWER: &str =
    "This answer comes from llm-trace's local Mistral stand-in; set MISTRAL_API_KEY to ask the real API.";

/// The number of dimensions of the local server's embeddings (as `mistral-embed`).
pub const EMBEDDING_DIMENSIONS: usize = 1024;

/// How the server answers one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub(crate) kind: ReplyKind,
    pub(crate) delay: Duration,
    pub(crate) usage: Option<(u32, u32)>,
    pub(crate) answer: Option<String>,
    pub(crate) tool_calls: Vec<(String, String)>,
    pub(crate) chunk_delay: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ReplyKind {
    Normal,
    Status(u16, String),
    Malformed,
    StreamWithoutUsage,
    StreamSplitUsage,
    StreamCut { after_chunks: usize },
}

impl Default for Reply {
    fn default() -> Self {
        Reply::ok()
    }
}

impl Reply {
    fn new(kind: ReplyKind) -> Self {
        Reply {
            kind,
            delay: Duration::ZERO,
            usage: None,
            answer: None,
            tool_calls: Vec::new(),
            chunk_delay: Duration::from_millis(2),
        }
    }

    /// A normal answer. Usage counts words: the prompt's as input, the answer's as output.
    pub fn ok() -> Self {
        Reply::new(ReplyKind::Normal)
    }

    /// An HTTP error status with a Mistral-style JSON error body.
    pub fn status(code: u16) -> Self {
        let message = match code {
            401 => "Unauthorized",
            429 => "Requests rate limit exceeded",
            500 => "Internal server error",
            503 => "Service unavailable",
            _ => "Error",
        };
        Reply::status_with_body(
            code,
            format!(r#"{{"object":"error","message":"{message}","type":"error","code":"{code}"}}"#),
        )
    }

    /// An HTTP status with the given body.
    pub fn status_with_body(code: u16, body: impl Into<String>) -> Self {
        Reply::new(ReplyKind::Status(code, body.into()))
    }

    /// `200 OK` with a body that is not valid JSON (streams: chunks that are not JSON).
    pub fn malformed() -> Self {
        Reply::new(ReplyKind::Malformed)
    }

    /// A streamed answer whose last chunk (the one with usage) never arrives; the
    /// stream still ends with `data: [DONE]`.
    pub fn stream_without_usage() -> Self {
        Reply::new(ReplyKind::StreamWithoutUsage)
    }

    /// A streamed answer whose last chunk (with usage) is sent in two network writes, some
    /// milliseconds apart: mistralai-client parses each read on its own and silently drops
    /// both halves, so its stream ends without usage, as it can with the real API.
    pub fn stream_split_usage() -> Self {
        Reply::new(ReplyKind::StreamSplitUsage)
    }

    /// A streamed answer whose connection breaks after `chunks` content chunks.
    pub fn stream_cut(chunks: usize) -> Self {
        Reply::new(ReplyKind::StreamCut {
            after_chunks: chunks,
        })
    }

    /// Waits this long before answering.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Waits this long between stream chunks (default 2 ms).
    pub fn with_chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Reports these token counts (prompt, completion) instead of counting words.
    pub fn with_usage(mut self, input_tokens: u32, output_tokens: u32) -> Self {
        self.usage = Some((input_tokens, output_tokens));
        self
    }

    /// Answers with this text.
    pub fn with_answer(mut self, answer: impl Into<String>) -> Self {
        self.answer = Some(answer.into());
        self
    }

    /// Answers (non-streamed chat) with a call of tool `name` with `arguments` (JSON text)
    /// and `finish_reason: "tool_calls"`; the text is empty unless set.
    pub fn with_tool_call(mut self, name: impl Into<String>, arguments: impl Into<String>) -> Self {
        self.tool_calls.push((name.into(), arguments.into()));
        if self.answer.is_none() {
            self.answer = Some(String::new());
        }
        self
    }
}

/// A request the server received.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The JSON body (`Null` when there was none or it was not JSON).
    pub body: serde_json::Value,
    /// Whether the request carried an `Authorization: Bearer ...` header. The key itself
    /// is not kept.
    pub bearer_auth: bool,
}

#[derive(Debug)]
pub(crate) struct State {
    queue: Mutex<VecDeque<Reply>>,
    default_reply: Mutex<Reply>,
    answer: Mutex<String>,
    requests: Mutex<Vec<RecordedRequest>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl State {
    pub(crate) fn next_reply(&self) -> Reply {
        let queued = lock(&self.queue).pop_front();
        queued.unwrap_or_else(|| lock(&self.default_reply).clone())
    }

    pub(crate) fn answer(&self) -> String {
        lock(&self.answer).clone()
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
    }
}

/// A running local Mistral-compatible server; stops when dropped.
#[derive(Debug)]
pub struct MockServer {
    address: SocketAddr,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockServer {
    /// Starts a server on `127.0.0.1` on a free port, on its own thread; callable from
    /// sync code and from inside any async runtime.
    pub fn start() -> std::io::Result<MockServer> {
        MockServer::start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts a server on the given address (port 0 for a free one).
    pub fn start_on(address: SocketAddr) -> std::io::Result<MockServer> {
        let listener = std::net::TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let state = Arc::new(State {
            queue: Mutex::new(VecDeque::new()),
            default_reply: Mutex::new(Reply::ok()),
            answer: Mutex::new(DEFAULT_ANSWER.to_owned()),
            requests: Mutex::new(Vec::new()),
        });
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let served = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name(format!("mistral-mock-{}", address.port()))
            .spawn(move || {
                runtime.block_on(http::serve(listener, served, shutdown_rx));
            })?;
        Ok(MockServer {
            address,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The base URL to give `Client::new` as its endpoint: `http://127.0.0.1:PORT/v1`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Queues the reply for the next request (replies are used in order).
    pub fn enqueue(&self, reply: Reply) {
        lock(&self.state.queue).push_back(reply);
    }

    /// The reply used when the queue is empty.
    pub fn set_default_reply(&self, reply: Reply) {
        *lock(&self.state.default_reply) = reply;
    }

    /// The answer text of chat completions without their own.
    pub fn set_answer(&self, answer: impl Into<String>) {
        *lock(&self.state.answer) = answer.into();
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
