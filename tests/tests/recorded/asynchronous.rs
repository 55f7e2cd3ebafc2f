//! Async mistralai-client calls inside `#[llm_trace]` functions, against the local server:
//! parent links under concurrency, `Send` futures, cancellation, generic code.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use llm_trace::llm_trace;
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::{assert_parent, attributes, capture, error_type, in_trace_async, one, spans};
use mistralai_client::v1::chat::{ChatMessage, ChatResponse};
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;

fn client(server: &MockServer) -> Client {
    llm_trace_tests::mistral_client(server)
}

fn question(text: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message(text)]
}

#[llm_trace]
async fn ask_and_embed(client: &Client, text: &str) -> Result<(String, usize), ApiError> {
    let answer = client
        .chat_async(Model::MistralSmallLatest, question(text), None)
        .await?;
    let embedded = client
        .embeddings_async(EmbedModel::MistralEmbed, vec![text.to_owned()], None)
        .await?;
    Ok((
        answer.choices[0].message.content.clone(),
        embedded.data[0].embedding.len(),
    ))
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::test]
async fn async_chat_and_embeddings_are_children_of_the_function_span() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    let client = client(&server);
    // mistralai-client's `chat_async` future is not `Send` (it holds a std `MutexGuard`
    // across an `.await`), so neither is this function's; see `embed_only` for `Send`.
    let (trace, result) = in_trace_async(ask_and_embed(&client, "Embed this sentence.")).await;
    let (_, dims) = result.unwrap();
    assert_eq!(dims, 1024);
    let spans = spans(trace);
    assert_eq!(spans.len(), 3);
    let function = one(&spans, "ask_and_embed");
    let chat = one(&spans, "chat mistral-small-latest");
    let embeddings = one(&spans, "embeddings mistral-embed");
    assert_parent(chat, function);
    assert_parent(embeddings, function);
    assert_eq!(chat.span_kind, SpanKind::Client);
    assert_eq!(attributes(chat)["gen_ai.usage.cost"], Value::F64(0.0000038));
    assert_eq!(
        attributes(embeddings)["gen_ai.usage.input_tokens"],
        3_i64.into()
    );
    // The call span lasts as long as the request, inside the function span.
    assert!(chat.start_time >= function.start_time && chat.end_time <= function.end_time);
    assert!(embeddings.start_time >= chat.end_time);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_calls_each_have_the_right_parent() {
    capture();
    let server = MockServer::start().unwrap();
    // Delays interleave the calls across worker threads.
    for i in 0..20u64 {
        server.enqueue(Reply::ok().with_delay(Duration::from_millis(5 * (i % 4))));
    }
    let client = Arc::new(client(&server));

    // `embeddings_async` futures are `Send`, and so stays the annotated function's: it
    // can be spawned on the multi-thread runtime.
    #[llm_trace]
    async fn one_call(client: Arc<Client>, n: usize) -> Result<usize, ApiError> {
        tokio::task::yield_now().await;
        let inputs = vec!["word ".repeat(n + 1)];
        let response = client
            .embeddings_async(EmbedModel::MistralEmbed, inputs, None)
            .await?;
        Ok(response.usage.prompt_tokens as usize)
    }

    let (trace, results) = in_trace_async(async {
        let handles: Vec<_> = (0..20)
            .map(|n| {
                let client = Arc::clone(&client);
                // Spawned: the task must carry the context explicitly.
                let cx = opentelemetry::Context::current();
                tokio::spawn(opentelemetry::trace::FutureExt::with_context(
                    assert_send(one_call(client, n)),
                    cx,
                ))
            })
            .collect();
        let mut results = Vec::new();
        for handle in handles {
            results.push(handle.await.unwrap());
        }
        results
    })
    .await;
    let results: Vec<usize> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(results, (1..=20).collect::<Vec<_>>());

    let spans = spans(trace);
    assert_eq!(spans.len(), 40);
    let functions: Vec<_> = spans.iter().filter(|s| s.name == "one_call").collect();
    let calls: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "embeddings mistral-embed")
        .collect();
    assert_eq!(functions.len(), 20);
    assert_eq!(calls.len(), 20);
    // Each call has a distinct function span as parent: a perfect matching.
    let mut parents: Vec<_> = calls.iter().map(|c| c.parent_span_id).collect();
    parents.sort_by_key(|id| id.to_bytes());
    parents.dedup();
    assert_eq!(parents.len(), 20);
    for call in &calls {
        let parent = functions
            .iter()
            .find(|f| f.span_context.span_id() == call.parent_span_id)
            .expect("parent is one of the function spans");
        assert!(call.start_time >= parent.start_time && call.end_time <= parent.end_time);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_chat_calls_in_one_task_each_have_the_right_parent() {
    capture();
    let server = MockServer::start().unwrap();
    for i in 0..20u64 {
        server.enqueue(
            Reply::ok()
                .with_delay(Duration::from_millis(3 * (i % 5)))
                .with_usage(i as u32 + 1, 1),
        );
    }
    let client = client(&server);

    #[llm_trace]
    async fn chat_once(client: &Client, n: usize) -> Result<u32, ApiError> {
        let response = client
            .chat_async(Model::MistralSmallLatest, question(&format!("q{n}")), None)
            .await?;
        Ok(response.usage.prompt_tokens)
    }

    let (trace, results) = in_trace_async(async {
        let calls = (0..20).map(|n| chat_once(&client, n));
        let mut all = Vec::new();
        for result in join_all(calls).await {
            all.push(result.unwrap());
        }
        all
    })
    .await;
    assert_eq!(results.len(), 20);
    let spans = spans(trace);
    let functions: Vec<_> = spans.iter().filter(|s| s.name == "chat_once").collect();
    assert_eq!(functions.len(), 20);
    for function in &functions {
        let children = llm_trace_tests::children(&spans, function);
        assert_eq!(children.len(), 1);
        assert_eq!(children[0].name, "chat mistral-small-latest");
    }
}

/// Polls all futures concurrently in one task, returning outputs in order.
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (slot, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

#[llm_trace]
fn ask_later(client: Arc<Client>) -> impl Future<Output = Result<ChatResponse, ApiError>> {
    async move {
        client
            .chat_async(Model::MistralLargeLatest, question("later"), None)
            .await
    }
}

#[tokio::test]
async fn impl_future_functions_keep_their_span_until_the_future_completes() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_delay(Duration::from_millis(30)));
    let client = Arc::new(client(&server));
    let (trace, result) = in_trace_async(async { ask_later(client).await }).await;
    result.unwrap();
    let spans = spans(trace);
    let function = one(&spans, "ask_later");
    let chat = one(&spans, "chat mistral-large-latest");
    assert_parent(chat, function);
    assert!(function.end_time >= chat.end_time);
    let took = function
        .end_time
        .duration_since(function.start_time)
        .unwrap();
    assert!(took >= Duration::from_millis(30), "{took:?}");
}

#[tokio::test]
async fn calls_in_async_blocks_and_generic_functions() {
    capture();
    let server = MockServer::start().unwrap();
    let client = client(&server);

    #[llm_trace]
    async fn generic<C: AsRef<Client> + Sync>(client: C) -> Result<usize, ApiError> {
        // Concrete result types: traced even in generic code.
        let inner = async {
            client
                .as_ref()
                .chat_async(Model::OpenMistralNemo, question("a b"), None)
                .await
        };
        let answer = inner.await?;
        Ok(answer.choices.len())
    }

    struct Wrapper(Client);
    impl AsRef<Client> for Wrapper {
        fn as_ref(&self) -> &Client {
            &self.0
        }
    }

    let (trace, result) = in_trace_async(generic(Wrapper(client))).await;
    assert_eq!(result.unwrap(), 1);
    let spans = spans(trace);
    let chat = one(&spans, "chat open-mistral-nemo");
    assert_parent(chat, one(&spans, "generic"));
    // The receiver was `C::as_ref(..)`: the endpoint is still read through `&Client`.
    assert_eq!(attributes(chat)["server.address"], "127.0.0.1".into());
}

/// A chat API abstracted behind a trait: in generic code the result type is an
/// associated type, so the call cannot be recognised and is not traced.
trait ChatApi {
    type Answer;
    fn chat(&self, model: Model, messages: Vec<ChatMessage>, params: Option<()>) -> Self::Answer;
}

impl ChatApi for Client {
    type Answer = Result<ChatResponse, ApiError>;
    fn chat(&self, model: Model, messages: Vec<ChatMessage>, _: Option<()>) -> Self::Answer {
        Client::chat(self, model, messages, None)
    }
}

#[test]
fn generic_calls_through_a_trait_fall_back_to_untraced() {
    capture();
    let server = MockServer::start().unwrap();
    let client = client(&server);

    #[llm_trace]
    fn through_trait<A: ChatApi>(api: &A) -> A::Answer {
        api.chat(Model::MistralSmallLatest, question("x"), None)
    }

    let (trace, result) = llm_trace_tests::in_trace(|| through_trait(&client));
    result.unwrap();
    let spans = spans(trace);
    assert_eq!(spans.len(), 1, "documented limit: only the function span");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_dropped_call_future_ends_its_span_as_cancelled() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_delay(Duration::from_secs(5)));
    let client = client(&server);

    #[llm_trace]
    async fn impatient(client: &Client) -> bool {
        let call = client.chat_async(Model::MistralSmallLatest, question("slow"), None);
        tokio::time::timeout(Duration::from_millis(50), call)
            .await
            .is_err()
    }

    let (trace, timed_out) = in_trace_async(impatient(&client)).await;
    assert!(timed_out);
    let spans = spans(trace);
    let chat = one(&spans, "chat mistral-small-latest");
    assert_eq!(attributes(chat)["llm_trace.cancelled"], true.into());
    assert_eq!(chat.status, Status::Unset);
    assert_parent(chat, one(&spans, "impatient"));
}

#[tokio::test]
async fn errors_from_async_calls() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::status(503));
    let client = client(&server);
    let (trace, result) = in_trace_async(ask_and_embed(&client, "x")).await;
    let error = result.unwrap_err();
    assert!(
        error.message.starts_with("503 Service Unavailable"),
        "{}",
        error.message
    );
    let spans = spans(trace);
    assert_eq!(spans.len(), 2, "the embeddings call never ran");
    assert_eq!(
        error_type(one(&spans, "chat mistral-small-latest")).as_deref(),
        Some("503")
    );
}

mod lookalike {
    pub struct MyBot;

    impl MyBot {
        pub async fn chat_async(self, a: &str, b: &str, c: &str) -> String {
            format!("{a}{b}{c}")
        }
    }
}

#[tokio::test]
async fn traced_works_inside_join_and_lookalike_async_methods_are_left_alone() {
    capture();
    let server = MockServer::start().unwrap();
    let client = client(&server);

    #[llm_trace]
    async fn both(client: &Client) -> (String, bool) {
        let bot = lookalike::MyBot;
        let text = bot.chat_async("a", "b", "c").await;
        let (first, second) = tokio::join!(
            llm_trace::traced!(client.chat_async(Model::MistralSmallLatest, question("one"), None)),
            llm_trace::traced!(client.chat_async(Model::MistralLargeLatest, question("two"), None)),
        );
        (text, first.is_ok() && second.is_ok())
    }

    let (trace, (text, ok)) = in_trace_async(both(&client)).await;
    assert_eq!(text, "abc");
    assert!(ok);
    let spans = spans(trace);
    assert_eq!(spans.len(), 3);
    let function = one(&spans, "both");
    assert_parent(one(&spans, "chat mistral-small-latest"), function);
    assert_parent(one(&spans, "chat mistral-large-latest"), function);
}

#[tokio::test]
async fn scoped_attributes_follow_async_work_across_awaits() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_delay(Duration::from_millis(10)));
    let client = client(&server);

    #[llm_trace]
    async fn embed(client: &Client) -> Result<usize, ApiError> {
        tokio::task::yield_now().await;
        let response = client
            .embeddings_async(EmbedModel::MistralEmbed, vec!["x".into()], None)
            .await?;
        Ok(response.data.len())
    }

    // A scope captures the context it is made in: here, the test's root span.
    let (trace, result) = in_trace_async(async {
        llm_trace::Scope::new([llm_trace::KeyValue::new("gen_ai.conversation.id", "c-9")])
            .run_async(embed(&client))
            .await
    })
    .await;
    assert_eq!(result.unwrap(), 1);
    let spans = spans(trace);
    for name in ["embed", "embeddings mistral-embed"] {
        assert_eq!(
            attributes(one(&spans, name))["gen_ai.conversation.id"],
            "c-9".into(),
            "{name}"
        );
    }
}
