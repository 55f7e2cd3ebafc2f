//! Streamed chat (`chat_stream`) against the local server's real SSE: spans that live
//! exactly as long as the stream.

use std::time::Duration;

use futures_util::StreamExt;
use llm_trace::llm_trace;
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::{
    assert_parent, attributes, attrs, capture, error_type, in_trace_async, mistral_client, one,
    spans, strings,
};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::Model;
use mistralai_client::v1::error::ApiError;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;

const ANSWER: &str = "Claude Monet, the father of Impressionism.";

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message(
        "Who is the best French painter? Answer in one short sentence.",
    )]
}

/// Streams an answer to the end, returning the text and the number of stream items.
#[llm_trace]
async fn stream_answer(client: &Client) -> Result<(String, usize), ApiError> {
    let stream = client
        .chat_stream(Model::MistralSmallLatest, question(), None)
        .await?;
    // The client's stream is not `Unpin`: pin it to poll it.
    let mut stream = std::pin::pin!(stream);
    let mut text = String::new();
    let mut items = 0;
    while let Some(item) = stream.next().await {
        items += 1;
        for chunk in item? {
            for choice in chunk.choices {
                text.push_str(&choice.delta.content);
            }
        }
    }
    Ok((text, items))
}

fn seconds(value: &Value) -> f64 {
    match value {
        Value::F64(seconds) => *seconds,
        other => panic!("not seconds: {other:?}"),
    }
}

#[tokio::test]
async fn a_fully_consumed_stream_has_usage_cost_and_time_to_first_chunk() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(
        Reply::ok()
            .with_answer(ANSWER)
            .with_usage(11, 9)
            .with_delay(Duration::from_millis(20)),
    );
    let client = mistral_client(&server);
    let (trace, result) = in_trace_async(stream_answer(&client)).await;
    let (text, _) = result.unwrap();
    assert_eq!(text, ANSWER);

    let spans = spans(trace);
    assert_eq!(spans.len(), 2, "one stream span and the function's");
    let function = one(&spans, "stream_answer");
    let chat = one(&spans, "chat mistral-small-latest");
    assert_eq!(chat.span_kind, SpanKind::Client);
    assert_eq!(chat.status, Status::Unset);
    assert_parent(chat, function);

    let mut actual = attributes(chat);
    let ttfc = seconds(
        &actual
            .remove("gen_ai.response.time_to_first_chunk")
            .unwrap(),
    );
    assert!(
        ttfc >= 0.02,
        "the server waited 20 ms before the first chunk: {ttfc}"
    );
    let span_seconds = chat
        .end_time
        .duration_since(chat.start_time)
        .unwrap()
        .as_secs_f64();
    assert!(ttfc < span_seconds);
    let id = actual.remove("gen_ai.response.id").unwrap();
    assert!(id.as_str().starts_with("cmpl-"));
    let words = ANSWER.split_whitespace().count() as i64;
    assert_eq!(
        actual,
        attrs! {
            "gen_ai.operation.name" => "chat",
            "gen_ai.provider.name" => "mistral_ai",
            "gen_ai.request.model" => "mistral-small-latest",
            "gen_ai.request.temperature" => 0.7,
            "gen_ai.request.top_p" => 1.0,
            "gen_ai.request.stream" => true,
            "server.address" => "127.0.0.1",
            "server.port" => i64::from(server.address().port()),
            "gen_ai.response.model" => "mistral-small-latest",
            "gen_ai.response.finish_reasons" => strings(&["stop"]),
            "gen_ai.usage.input_tokens" => 11_i64,
            "gen_ai.usage.output_tokens" => 9_i64,
            "gen_ai.usage.total_tokens" => 20_i64,
            "gen_ai.usage.cost" => 0.0000038,
            "llm_trace.stream.chunks" => words,
        }
    );
    // The span covers the whole stream, not just `chat_stream(..).await`.
    assert!(chat.end_time <= function.end_time);
    assert!(span_seconds >= 0.02);
}

#[tokio::test]
async fn dropping_the_stream_early_ends_the_span_once_as_cancelled() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_answer(ANSWER));
    let client = mistral_client(&server);

    #[llm_trace]
    async fn first_words(client: &Client) -> Result<String, ApiError> {
        let stream = client
            .chat_stream(Model::MistralSmallLatest, question(), None)
            .await?;
        let mut stream = Box::pin(stream);
        let first = stream.next().await.expect("one item")?;
        drop(stream);
        // Dropped: the call's span has ended (and was exported) already, while the
        // function's is still open.
        let trace = opentelemetry::Context::map_current(|cx| {
            use opentelemetry::trace::TraceContextExt;
            cx.span().span_context().trace_id()
        });
        let ended = llm_trace_tests::spans(trace);
        assert!(
            ended.iter().any(|s| s.name == "chat mistral-small-latest"),
            "the stream's span ended when the stream was dropped: {ended:#?}"
        );
        assert!(
            ended.iter().all(|s| s.name != "first_words"),
            "the function's span is still open"
        );
        Ok(first[0].choices[0].delta.content.clone())
    }

    let (trace, first) = in_trace_async(first_words(&client)).await;
    assert_eq!(first.unwrap(), "Claude ");
    let spans = spans(trace);
    let chats: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat mistral-small-latest")
        .collect();
    assert_eq!(chats.len(), 1, "ended exactly once");
    let function = one(&spans, "first_words");
    assert!(chats[0].end_time <= function.end_time);
    let chat = attributes(chats[0]);
    assert_eq!(chat["llm_trace.cancelled"], true.into());
    assert_eq!(chats[0].status, Status::Unset);
    assert!(chat.contains_key("gen_ai.response.time_to_first_chunk"));
    assert_eq!(chat["llm_trace.stream.chunks"], 1_i64.into());
    assert_eq!(chat["gen_ai.response.model"], "mistral-small-latest".into());
    assert!(!chat.contains_key("gen_ai.usage.input_tokens"));
    assert!(!chat.contains_key("gen_ai.usage.cost"));
}

#[tokio::test]
async fn a_connection_cut_mid_stream_is_an_error_passed_through() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::stream_cut(2).with_answer(ANSWER));
    let client = mistral_client(&server);
    let (trace, result) = in_trace_async(stream_answer(&client)).await;
    let error = result.unwrap_err();
    assert!(!error.message.is_empty());
    let spans = spans(trace);
    let chat = one(&spans, "chat mistral-small-latest");
    assert_eq!(error_type(chat).as_deref(), Some("_OTHER"));
    let chat = attributes(chat);
    assert!(!chat.contains_key("gen_ai.usage.input_tokens"));
    assert!(!chat.contains_key("llm_trace.cancelled"));
}

#[tokio::test]
async fn a_stream_without_its_usage_chunk_records_usage_as_missing() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::stream_without_usage().with_answer(ANSWER));
    let client = mistral_client(&server);
    let (trace, result) = in_trace_async(stream_answer(&client)).await;
    let (text, _) = result.unwrap();
    assert_eq!(
        text, "Claude Monet, the father of ",
        "the last chunk was lost"
    );
    let spans = spans(trace);
    let chat = one(&spans, "chat mistral-small-latest");
    assert_eq!(chat.status, Status::Unset);
    let chat = attributes(chat);
    assert_eq!(chat["llm_trace.usage.missing"], true.into());
    for absent in [
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cost",
        "gen_ai.response.finish_reasons",
    ] {
        assert!(
            !chat.contains_key(absent),
            "{absent} must be missing, not 0"
        );
    }
}

#[tokio::test]
async fn a_usage_chunk_split_across_reads_is_lost_by_the_client_and_recorded_as_missing() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(
        Reply::stream_split_usage()
            .with_answer(ANSWER)
            .with_chunk_delay(Duration::from_millis(30)),
    );
    let client = mistral_client(&server);
    let (trace, result) = in_trace_async(stream_answer(&client)).await;
    let (text, _) = result.unwrap();
    assert_eq!(
        text, "Claude Monet, the father of ",
        "the client dropped the split chunk"
    );
    let spans = spans(trace);
    let chat = attributes(one(&spans, "chat mistral-small-latest"));
    assert_eq!(chat["llm_trace.usage.missing"], true.into());
    assert!(!chat.contains_key("gen_ai.usage.input_tokens"));
    assert!(!chat.contains_key("gen_ai.usage.cost"));
}

#[tokio::test]
async fn a_503_before_the_stream_starts_is_an_error_at_once() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::status(503));
    let client = mistral_client(&server);
    let (trace, result) = in_trace_async(stream_answer(&client)).await;
    let error = result.unwrap_err();
    // mistralai-client wraps this error twice: "ApiError: 503 Service Unavailable: ...".
    assert!(
        error
            .message
            .starts_with("ApiError: 503 Service Unavailable"),
        "{}",
        error.message
    );
    let spans = spans(trace);
    let chat = one(&spans, "chat mistral-small-latest");
    assert_eq!(error_type(chat).as_deref(), Some("503"));
    assert_eq!(attributes(chat)["gen_ai.request.stream"], true.into());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_streams_each_have_their_own_span_and_parent() {
    capture();
    let server = MockServer::start().unwrap();
    for n in 0..50u32 {
        server.enqueue(
            Reply::ok()
                .with_answer(ANSWER)
                .with_usage(n + 1, 9)
                .with_chunk_delay(Duration::from_millis(u64::from(n % 3))),
        );
    }
    let client = std::sync::Arc::new(mistral_client(&server));

    #[llm_trace]
    async fn consume(client: std::sync::Arc<Client>) -> Result<u64, ApiError> {
        let stream = client
            .chat_stream(Model::MistralSmallLatest, question(), None)
            .await?;
        // The client's stream is not `Unpin`: pin it to poll it.
        let mut stream = std::pin::pin!(stream);
        let mut input_tokens = 0;
        while let Some(item) = stream.next().await {
            for chunk in item? {
                if let Some(usage) = chunk.usage {
                    input_tokens = u64::from(usage.prompt_tokens);
                }
            }
        }
        Ok(input_tokens)
    }

    let (trace, results) = in_trace_async(async {
        let cx = opentelemetry::Context::current();
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let task = consume(std::sync::Arc::clone(&client));
                tokio::spawn(opentelemetry::trace::FutureExt::with_context(
                    task,
                    cx.clone(),
                ))
            })
            .collect();
        let mut results = Vec::new();
        for handle in handles {
            results.push(handle.await.unwrap().unwrap());
        }
        results
    })
    .await;
    let mut results = results;
    results.sort_unstable();
    assert_eq!(results, (1..=50).collect::<Vec<u64>>());

    let spans = spans(trace);
    let functions: Vec<_> = spans.iter().filter(|s| s.name == "consume").collect();
    assert_eq!(functions.len(), 50);
    for function in &functions {
        let children = llm_trace_tests::children(&spans, function);
        assert_eq!(children.len(), 1);
        let chat = attributes(children[0]);
        // Each stream span carries its own stream's usage.
        let Value::I64(input) = chat["gen_ai.usage.input_tokens"] else {
            panic!()
        };
        assert!((1..=50).contains(&input));
    }
    let mut inputs: Vec<i64> = spans
        .iter()
        .filter(|s| s.name == "chat mistral-small-latest")
        .map(|s| match attributes(s)["gen_ai.usage.input_tokens"] {
            Value::I64(n) => n,
            _ => unreachable!(),
        })
        .collect();
    inputs.sort_unstable();
    assert_eq!(inputs, (1..=50).collect::<Vec<i64>>());
}

#[tokio::test]
async fn work_done_while_consuming_nests_under_the_consumer_and_streams_move_tasks() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_answer(ANSWER));
    let client = mistral_client(&server);

    #[llm_trace]
    fn handle_piece(piece: &str) -> usize {
        piece.len()
    }

    #[llm_trace]
    async fn consume_elsewhere(client: &Client) -> Result<usize, ApiError> {
        let stream = client
            .chat_stream(Model::MistralSmallLatest, question(), None)
            .await?;
        // The stream moves to another task and is consumed there.
        let consumer = tokio::spawn(async move {
            let mut stream = Box::pin(stream);
            let mut total = 0;
            while let Some(item) = stream.next().await {
                for chunk in item.unwrap() {
                    total += chunk.choices.len();
                }
            }
            total
        });
        let total = consumer.await.unwrap();
        // Work in the consumer's own loop nests under the consumer's function.
        let stream = client
            .chat_stream(Model::MistralSmallLatest, question(), None)
            .await?;
        // The client's stream is not `Unpin`: pin it to poll it.
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            for chunk in item? {
                handle_piece(&chunk.choices[0].delta.content);
            }
        }
        Ok(total)
    }

    server.enqueue(Reply::ok().with_answer("One two three."));
    let (trace, total) = in_trace_async(consume_elsewhere(&client)).await;
    assert_eq!(total.unwrap(), ANSWER.split_whitespace().count());
    let spans = spans(trace);
    let function = one(&spans, "consume_elsewhere");
    let chats: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat mistral-small-latest")
        .collect();
    assert_eq!(chats.len(), 2);
    for chat in &chats {
        assert_parent(chat, function);
        assert!(attributes(chat).contains_key("gen_ai.usage.output_tokens"));
    }
    let pieces: Vec<_> = spans.iter().filter(|s| s.name == "handle_piece").collect();
    assert_eq!(pieces.len(), 3);
    for piece in pieces {
        assert_parent(piece, function);
    }
}
