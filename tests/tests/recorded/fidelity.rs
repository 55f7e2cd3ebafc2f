//! `#[llm_trace]` is invisible: each mistralai-client request is exactly one CLIENT span,
//! under the span that was current where the call was written — through wrappers with the
//! client's signature, path calls, boxed futures, threads, blocking tasks and spawned
//! futures — and a future dropped unpolled sent nothing and records nothing.

use std::sync::Arc;

use futures_util::future::{BoxFuture, LocalBoxFuture};
use futures_util::FutureExt as _;
use futures_util::StreamExt as _;
use llm_trace::{llm_trace, Recorder};
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::alloc_counter::allocations;
use llm_trace_tests::{
    assert_parent, attributes, capture, in_trace, in_trace_async, mistral_client, one, spans,
};
use mistralai_client::v1::chat::{ChatMessage, ChatParams, ChatResponse};
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::SpanData;

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message("Who painted water lilies?")]
}

fn client_spans(spans: &[SpanData]) -> Vec<&SpanData> {
    spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Client)
        .collect()
}

/// A wrapper with exactly `Client::chat`'s signature: its calls are not Mistral requests.
struct Retrying {
    client: Client,
    attempts: u32,
}

impl Retrying {
    #[llm_trace]
    fn chat(
        &self,
        model: Model,
        messages: Vec<ChatMessage>,
        params: Option<ChatParams>,
    ) -> Result<ChatResponse, ApiError> {
        let mut last = None;
        for _ in 0..self.attempts {
            match self
                .client
                .chat(model.clone(), messages.clone(), params.clone())
            {
                Ok(answer) => return Ok(answer),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or(ApiError {
            message: "no attempt".into(),
        }))
    }
}

#[llm_trace]
fn through_the_wrapper(retrying: &Retrying) -> Result<ChatResponse, ApiError> {
    retrying.chat(Model::MistralSmallLatest, question(), None)
}

#[test]
fn a_wrapper_with_the_clients_signature_is_one_request_one_span() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::status(503));
    server.enqueue(Reply::ok().with_usage(11, 9));
    let retrying = Retrying {
        client: mistral_client(&server),
        attempts: 2,
    };
    let (trace, answer) = in_trace(|| through_the_wrapper(&retrying));
    answer.unwrap();
    let spans = spans(trace);
    let calls = client_spans(&spans);
    assert_eq!(calls.len(), 2, "two requests, two CLIENT spans: {spans:#?}");
    let wrapper = one(&spans, "chat");
    assert_eq!(wrapper.span_kind, SpanKind::Internal);
    assert_parent(wrapper, one(&spans, "through_the_wrapper"));
    for call in &calls {
        assert_parent(call, wrapper);
        assert_eq!(attributes(call)["server.address"], "127.0.0.1".into());
    }
    let costs: Vec<_> = spans
        .iter()
        .filter_map(|s| attributes(s).get("gen_ai.usage.cost").cloned())
        .collect();
    assert_eq!(costs, vec![0.0000038.into()], "the request is priced once");
}

#[llm_trace]
fn path_calls(client: &Client) -> Result<usize, ApiError> {
    let answer = Client::chat(client, Model::MistralSmallLatest, question(), None)?;
    let embedded = mistralai_client::v1::client::Client::embeddings(
        client,
        EmbedModel::MistralEmbed,
        vec!["a".into()],
        None,
    )?;
    Ok(answer.choices.len() + embedded.data.len())
}

#[test]
fn path_calls_are_traced_like_method_calls() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);
    let (trace, result) = in_trace(|| path_calls(&client));
    assert_eq!(result.unwrap(), 2);
    let spans = spans(trace);
    let function = one(&spans, "path_calls");
    let chat = one(&spans, "chat mistral-small-latest");
    let embeddings = one(&spans, "embeddings mistral-embed");
    for call in [chat, embeddings] {
        assert_parent(call, function);
        assert_eq!(
            attributes(call)["server.port"],
            i64::from(server.address().port()).into()
        );
    }
    assert_eq!(attributes(chat)["gen_ai.usage.cost"], 0.0000038.into());
}

#[llm_trace]
fn boxed<'a>(client: &'a Client) -> BoxFuture<'a, Result<usize, ApiError>> {
    Box::pin(async move {
        let embedded = client
            .embeddings_async(EmbedModel::MistralEmbed, vec!["a".into()], None)
            .await?;
        Ok(embedded.data.len())
    })
}

#[llm_trace]
fn boxed_local<'a>(client: &'a Client) -> LocalBoxFuture<'a, Result<usize, ApiError>> {
    Box::pin(async move {
        let answer = client
            .chat_async(Model::MistralSmallLatest, question(), None)
            .await?;
        Ok(answer.choices.len())
    })
}

#[tokio::test]
async fn box_future_functions_hand_their_span_to_the_future() {
    capture();
    let server = MockServer::start().unwrap();
    let client = mistral_client(&server);
    let (trace, result) = in_trace_async(async {
        let first = boxed(&client).await?;
        let second = boxed_local(&client).await?;
        Ok::<_, ApiError>(first + second)
    })
    .await;
    assert_eq!(result.unwrap(), 2);
    let spans = spans(trace);
    for (function, call) in [
        ("boxed", "embeddings mistral-embed"),
        ("boxed_local", "chat mistral-small-latest"),
    ] {
        let function = one(&spans, function);
        let call = one(&spans, call);
        assert_parent(call, function);
        assert!(
            call.end_time <= function.end_time,
            "the span lasts as long as the future"
        );
    }
}

#[llm_trace(fields(gen_ai.conversation.id = session))]
async fn on_a_blocking_thread(client: Arc<Client>, session: &str) -> Result<usize, ApiError> {
    let answer = tokio::task::spawn_blocking(move || {
        client.chat(Model::MistralSmallLatest, question(), None)
    })
    .await
    .expect("the blocking task ran")?;
    Ok(answer.choices.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_blocking_calls_keep_the_functions_span_and_fields() {
    capture();
    let server = MockServer::start().unwrap();
    let client = Arc::new(mistral_client(&server));
    let (trace, result) = in_trace_async(on_a_blocking_thread(client, "conv-9")).await;
    assert_eq!(result.unwrap(), 1);
    let spans = spans(trace);
    let function = one(&spans, "on_a_blocking_thread");
    let call = one(&spans, "chat mistral-small-latest");
    assert_parent(call, function);
    assert_eq!(attributes(call)["gen_ai.conversation.id"], "conv-9".into());
}

#[llm_trace]
fn on_threads(client: &Arc<Client>) -> usize {
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let client = Arc::clone(client);
            std::thread::spawn(move || {
                client
                    .embeddings(EmbedModel::MistralEmbed, vec!["a".into()], None)
                    .map_or(0, |r| r.data.len())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

#[test]
fn thread_spawned_calls_keep_the_functions_span() {
    capture();
    let server = MockServer::start().unwrap();
    let client = Arc::new(mistral_client(&server));
    let (trace, total) = in_trace(|| on_threads(&client));
    assert_eq!(total, 3);
    let spans = spans(trace);
    let function = one(&spans, "on_threads");
    let calls = client_spans(&spans);
    assert_eq!(calls.len(), 3);
    for call in calls {
        assert_parent(call, function);
    }
}

#[llm_trace]
fn outliving_thread(
    client: Arc<Client>,
    go: Arc<std::sync::Barrier>,
) -> std::thread::JoinHandle<bool> {
    std::thread::spawn(move || {
        go.wait(); // runs after the function returned and its span ended
        client
            .chat(Model::MistralSmallLatest, question(), None)
            .is_ok()
    })
}

#[test]
fn work_outliving_its_function_still_links_to_its_span() {
    capture();
    let server = MockServer::start().unwrap();
    let client = Arc::new(mistral_client(&server));
    let go = Arc::new(std::sync::Barrier::new(2));
    let (trace, handle) = in_trace(|| outliving_thread(client, Arc::clone(&go)));
    go.wait();
    assert!(handle.join().unwrap());
    let spans = spans(trace);
    assert_parent(
        one(&spans, "chat mistral-small-latest"),
        one(&spans, "outliving_thread"),
    );
}

#[llm_trace]
async fn embed_one(client: Arc<Client>) -> Result<usize, ApiError> {
    let embedded = client
        .embeddings_async(EmbedModel::MistralEmbed, vec!["a".into()], None)
        .await?;
    Ok(embedded.data.len())
}

#[llm_trace]
async fn spawns(client: Arc<Client>) -> Result<usize, ApiError> {
    // An annotated async fn handed to tokio::spawn, and an async block with a call.
    let task = tokio::spawn(embed_one(Arc::clone(&client)));
    let block = tokio::spawn(async move {
        client
            .embeddings_async(EmbedModel::MistralEmbed, vec!["b".into()], None)
            .await
            .map(|r| r.data.len())
    });
    Ok(task.await.expect("task ran")? + block.await.expect("task ran")?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_tasks_keep_the_functions_span() {
    capture();
    let server = MockServer::start().unwrap();
    let client = Arc::new(mistral_client(&server));
    let (trace, result) = in_trace_async(spawns(client)).await;
    assert_eq!(result.unwrap(), 2);
    let spans = spans(trace);
    let function = one(&spans, "spawns");
    let inner = one(&spans, "embed_one");
    assert_parent(inner, function);
    let calls = client_spans(&spans);
    assert_eq!(calls.len(), 2, "{spans:#?}");
    let parents: Vec<_> = calls.iter().map(|c| c.parent_span_id).collect();
    assert!(parents.contains(&inner.span_context.span_id()));
    assert!(parents.contains(&function.span_context.span_id()));
}

#[llm_trace]
async fn changes_its_mind(client: &Client) -> usize {
    let unsent = client.chat_async(Model::MistralSmallLatest, question(), None);
    drop(unsent);
    let stream = client.chat_stream(Model::MistralSmallLatest, question(), None);
    drop(stream);
    let stream = client
        .chat_stream(Model::MistralSmallLatest, question(), None)
        .await
        .expect("a stream");
    std::pin::pin!(stream).count().await
}

#[tokio::test]
async fn futures_dropped_unpolled_send_nothing_and_record_nothing() {
    capture();
    let server = MockServer::start().unwrap();
    let client = mistral_client(&server);
    let (trace, items) = in_trace_async(changes_its_mind(&client)).await;
    assert!(items > 0);
    assert_eq!(
        server.requests().len(),
        1,
        "only the awaited stream was sent"
    );
    let spans = spans(trace);
    assert_eq!(client_spans(&spans).len(), 1, "{spans:#?}");
    assert!(
        !attributes(one(&spans, "chat mistral-small-latest")).contains_key("llm_trace.cancelled")
    );
}

/// A user type with client-like methods: untouched.
struct Bot {
    said: Vec<String>,
}

impl Bot {
    fn chat(
        &mut self,
        history: &mut Vec<String>,
        on_token: impl Fn(&str) -> String,
        _: Option<u8>,
    ) -> usize {
        let token = on_token("hi");
        self.said.push(token.clone());
        history.push(token);
        history.len()
    }
}

#[llm_trace]
fn talks(bot: &mut Bot, history: &mut Vec<String>) -> usize {
    bot.chat(history, |t| t.to_uppercase(), None);
    bot.chat(history, |t| format!("{t}!"), None)
}

#[test]
fn user_types_run_untouched_and_untraced() {
    capture();
    let mut bot = Bot { said: Vec::new() };
    let mut history = Vec::new();
    let (trace, count) = in_trace(|| talks(&mut bot, &mut history));
    assert_eq!(count, 2);
    assert_eq!(history, ["HI", "hi!"]);
    assert_eq!(bot.said, ["HI", "hi!"]);
    let spans = spans(trace);
    assert_eq!(spans.len(), 1, "only the function's span: {spans:#?}");
}

#[async_trait::async_trait]
trait Answer {
    async fn traced(&self, client: &llm_trace_tests::fake::FakeClient) -> u32;
    async fn plain(&self, client: &llm_trace_tests::fake::FakeClient) -> u32;
}

struct Answerer;

#[async_trait::async_trait]
impl Answer for Answerer {
    #[llm_trace]
    async fn traced(&self, client: &llm_trace_tests::fake::FakeClient) -> u32 {
        #[allow(unused_imports)]
        use llm_trace_tests::fake::kinds::*;
        client
            .chat_async(llm_trace_tests::fake::FakeModel, Vec::new(), None)
            .await
            .map_or(0, |r| r.output_tokens)
    }

    async fn plain(&self, client: &llm_trace_tests::fake::FakeClient) -> u32 {
        client
            .chat_async(llm_trace_tests::fake::FakeModel, Vec::new(), None)
            .await
            .map_or(0, |r| r.output_tokens)
    }
}

#[test]
fn async_trait_methods_box_once_when_nothing_records() {
    let client = llm_trace_tests::fake::FakeClient::new();
    let nothing = Recorder::builder().no_tracing().no_metrics().build();
    let count = |traced: bool| {
        nothing.in_scope(|| {
            let before = allocations();
            let answer = if traced {
                Answerer.traced(&client).now_or_never()
            } else {
                Answerer.plain(&client).now_or_never()
            };
            assert_eq!(answer, Some(9));
            allocations() - before
        })
    };
    // Warm up: thread-locals and lazily built statics allocate once per thread.
    count(false);
    count(true);
    let (plain, traced) = (count(false), count(true));
    assert_eq!(
        traced, plain,
        "the annotated method allocates what the plain one does"
    );
}

#[llm_trace]
fn in_iterator_adapters(client: &Client, questions: &[&str]) -> Vec<Result<usize, ApiError>> {
    questions
        .iter()
        .map(|question| {
            let messages = vec![ChatMessage::new_user_message(question)];
            client.chat(Model::MistralSmallLatest, messages, None)
        })
        .map(|answer| answer.map(|answer| answer.choices.len()))
        .collect()
}

#[test]
fn calls_in_closures_without_move_are_traced_in_place() {
    capture();
    let server = MockServer::start().unwrap();
    let client = mistral_client(&server);
    let (trace, answers) = in_trace(|| in_iterator_adapters(&client, &["a", "b", "c"]));
    assert_eq!(answers.into_iter().map(Result::unwrap).sum::<usize>(), 3);
    assert_eq!(server.requests().len(), 3);
    let spans = spans(trace);
    let function = one(&spans, "in_iterator_adapters");
    let calls = client_spans(&spans);
    assert_eq!(calls.len(), 3, "one CLIENT span per request");
    for call in calls {
        assert_parent(call, function);
    }
}
