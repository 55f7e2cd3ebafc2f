//! `#[llm_trace(err)]`: a function that returns `Err` ends its span with status ERROR and
//! `error.type` — the client's classification for mistralai-client's `ApiError`, the type
//! name otherwise — in every shape the attribute supports; the function's result is
//! unchanged and the error's text is never recorded.

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use llm_trace::llm_trace;
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::{
    assert_parent, attributes, attrs, capture, in_trace, in_trace_async, mistral_client, one, spans,
};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;
use opentelemetry::trace::Status;
use opentelemetry_sdk::trace::SpanData;

const SECRET_BODY: &str = r#"{"message":"rate limited","echo":"my secret prompt"}"#;

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message("my secret prompt")]
}

#[llm_trace(err)]
fn ask(client: &Client) -> Result<String, ApiError> {
    let response = client.chat(Model::MistralSmallLatest, question(), None)?;
    Ok(response.choices[0].message.content.clone())
}

#[llm_trace]
fn ask_without_err(client: &Client) -> Result<String, ApiError> {
    let response = client.chat(Model::MistralSmallLatest, question(), None)?;
    Ok(response.choices[0].message.content.clone())
}

/// The function span's code attributes, which every annotated function has.
fn code_attributes(span: &SpanData) -> Vec<String> {
    ["code.function.name", "code.file.path", "code.line.number"]
        .into_iter()
        .filter(|key| attributes(span).contains_key(*key))
        .map(str::to_owned)
        .collect()
}

/// The function span's attributes other than its code location.
/// The attributes of `span` but its `code.*` and its roll-up (`llm_trace.total.*`, which
/// `recorded::rollup` checks).
fn non_code_attributes(
    span: &SpanData,
) -> std::collections::BTreeMap<String, opentelemetry::Value> {
    let mut found = attributes(span);
    for key in code_attributes(span) {
        found.remove(&key);
    }
    found.retain(|key, _| !key.starts_with("llm_trace.total."));
    found
}

fn assert_nothing_mentions_the_body(spans: &[SpanData]) {
    for span in spans {
        let text = format!("{:?} {:?}", span.attributes, span.status);
        assert!(!text.contains("secret"), "{}: {text}", span.name);
    }
}

#[test]
fn a_sync_function_returning_an_api_error_gets_the_calls_error_type() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::status_with_body(429, SECRET_BODY));
    let client = mistral_client(&server);
    let (trace, result) = in_trace(|| ask(&client));
    let error = result.unwrap_err();
    assert!(
        error.message.contains("my secret prompt"),
        "the error itself is unchanged"
    );

    let spans = spans(trace);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let function = one(&spans, "ask");
    let chat = one(&spans, "chat mistral-small-latest");
    assert_parent(chat, function);
    assert_eq!(
        function.status,
        Status::error("Mistral API answered HTTP 429")
    );
    assert_eq!(
        non_code_attributes(function),
        attrs! { "error.type" => "429" }
    );
    assert_eq!(code_attributes(function).len(), 3);
    // The failed call is in the function's roll-up, as an error.
    let totals = attributes(function);
    assert_eq!(
        totals["llm_trace.total.calls"],
        opentelemetry::Value::I64(1)
    );
    assert_eq!(
        totals["llm_trace.total.errors"],
        opentelemetry::Value::I64(1)
    );
    assert_eq!(chat.status, Status::error("Mistral API answered HTTP 429"));
    assert_nothing_mentions_the_body(&spans);
}

#[test]
fn an_ok_result_leaves_the_span_unset_and_without_err_nothing_changes() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok());
    server.enqueue(Reply::status(503));
    let client = mistral_client(&server);
    let (trace, (ok, failed)) = in_trace(|| (ask(&client), ask_without_err(&client)));
    assert_eq!(ok.unwrap(), llm_trace_mistral::testing::DEFAULT_ANSWER);
    assert!(failed.is_err());

    let spans = spans(trace);
    let with_err = one(&spans, "ask");
    assert_eq!(with_err.status, Status::Unset);
    assert!(non_code_attributes(with_err).is_empty());
    let without_err = one(&spans, "ask_without_err");
    assert_eq!(
        without_err.status,
        Status::Unset,
        "only `err` marks the function"
    );
    assert!(non_code_attributes(without_err).is_empty());
}

#[derive(Debug, PartialEq)]
struct BudgetExceeded {
    spent_cents: u32,
}

#[llm_trace(err)]
async fn plan(spent_cents: u32) -> Result<u32, BudgetExceeded> {
    tokio::task::yield_now().await;
    if spent_cents > 100 {
        return Err(BudgetExceeded { spent_cents });
    }
    Ok(100 - spent_cents)
}

#[tokio::test]
async fn an_async_fn_error_is_named_by_its_type() {
    capture();
    let (trace, (over, under)) = in_trace_async(async { (plan(250).await, plan(40).await) }).await;
    assert_eq!(over, Err(BudgetExceeded { spent_cents: 250 }));
    assert_eq!(under, Ok(60));

    let spans = spans(trace);
    assert_eq!(spans.len(), 2);
    let failed = &spans[0];
    let succeeded = &spans[1];
    let type_name = "recorded::err::BudgetExceeded";
    assert_eq!(failed.status, Status::error(type_name));
    assert_eq!(
        non_code_attributes(failed),
        attrs! { "error.type" => type_name }
    );
    assert_eq!(succeeded.status, Status::Unset);
    assert!(non_code_attributes(succeeded).is_empty());
}

#[llm_trace(err)]
fn read_config(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

type Checked<T> = Result<T, std::num::ParseIntError>;

#[llm_trace(err)]
fn parse(text: &str) -> Checked<i64> {
    let value: i64 = text.trim().parse()?;
    Ok(value * 2)
}

#[test]
fn result_aliases_work_and_question_marks_still_convert() {
    capture();
    let (trace, (config, parsed, bad)) = in_trace(|| {
        (
            read_config("/nonexistent/llm-trace/config.toml"),
            parse(" 21 "),
            parse("twenty-one"),
        )
    });
    assert_eq!(config.unwrap_err().kind(), std::io::ErrorKind::NotFound);
    assert_eq!(parsed, Ok(42));
    assert!(bad.is_err());

    let spans = spans(trace);
    let config = one(&spans, "read_config");
    assert_eq!(
        non_code_attributes(config),
        attrs! { "error.type" => "std::io::error::Error" }
    );
    let parses: Vec<&SpanData> = spans.iter().filter(|s| s.name == "parse").collect();
    assert_eq!(parses.len(), 2);
    assert_eq!(parses[0].status, Status::Unset);
    assert_eq!(
        non_code_attributes(parses[1]),
        attrs! { "error.type" => "core::num::error::ParseIntError" }
    );
    assert_eq!(
        parses[1].status,
        Status::error("core::num::error::ParseIntError")
    );
}

#[llm_trace(err)]
fn first_error<E: std::fmt::Debug>(values: Vec<Result<u8, E>>) -> Result<Vec<u8>, E> {
    values.into_iter().collect()
}

struct Counter {
    count: u32,
}

impl Counter {
    /// Returns a borrow of what the method's body captured: still compiles under `err`.
    #[llm_trace(err)]
    fn bump(&mut self, by: u32) -> Result<&mut u32, String> {
        if by == 0 {
            return Err("zero".to_owned());
        }
        self.count += by;
        Ok(&mut self.count)
    }
}

#[test]
fn generic_errors_and_methods_returning_borrows() {
    capture();
    let mut counter = Counter { count: 1 };
    let (trace, (generic, bumped, refused)) = in_trace(|| {
        let generic = first_error(vec![Ok(1), Err(7_u16), Ok(2)]);
        let bumped = *counter.bump(2).unwrap();
        let refused = counter.bump(0).map(|count| *count);
        (generic, bumped, refused)
    });
    assert_eq!(generic, Err(7));
    assert_eq!(bumped, 3);
    assert_eq!(refused, Err("zero".to_owned()));

    let spans = spans(trace);
    assert_eq!(
        non_code_attributes(one(&spans, "first_error")),
        attrs! { "error.type" => "u16" }
    );
    let bumps: Vec<&SpanData> = spans.iter().filter(|s| s.name == "bump").collect();
    assert_eq!(bumps[0].status, Status::Unset);
    assert_eq!(
        non_code_attributes(bumps[1]),
        attrs! { "error.type" => "alloc::string::String" }
    );
}

#[llm_trace(err)]
fn later(fail: bool) -> impl Future<Output = Result<u8, std::fmt::Error>> {
    async move {
        tokio::task::yield_now().await;
        if fail {
            Err(std::fmt::Error)
        } else {
            Ok(1)
        }
    }
}

#[llm_trace(err)]
fn boxed(fail: bool) -> Pin<Box<dyn Future<Output = Result<u8, std::fmt::Error>> + Send>> {
    Box::pin(async move {
        if fail {
            Err(std::fmt::Error)
        } else {
            Ok(2)
        }
    })
}

#[async_trait]
trait Assistant {
    async fn answer(&self, question: &str) -> Result<String, ApiError>;
}

struct Mistral {
    client: Client,
}

#[async_trait]
impl Assistant for Mistral {
    #[llm_trace(err)]
    async fn answer(&self, question: &str) -> Result<String, ApiError> {
        let response = self
            .client
            .embeddings_async(EmbedModel::MistralEmbed, vec![question.to_owned()], None)
            .await?;
        Ok(response.data.len().to_string())
    }
}

#[tokio::test]
async fn functions_returning_futures_are_checked_when_the_future_resolves() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::status(503));
    let bot = Mistral {
        client: mistral_client(&server),
    };
    let (trace, outputs) = in_trace_async(async {
        (
            later(true).await,
            later(false).await,
            boxed(true).await,
            bot.answer("hello").await.map_err(|e| !e.message.is_empty()),
        )
    })
    .await;
    assert_eq!(outputs.0, Err(std::fmt::Error));
    assert_eq!(outputs.1, Ok(1));
    assert_eq!(outputs.2, Err(std::fmt::Error));
    assert_eq!(outputs.3, Err(true));

    let spans = spans(trace);
    let later_spans: Vec<&SpanData> = spans.iter().filter(|s| s.name == "later").collect();
    assert_eq!(later_spans.len(), 2);
    assert_eq!(later_spans[0].status, Status::error("core::fmt::Error"));
    assert_eq!(
        non_code_attributes(later_spans[0]),
        attrs! { "error.type" => "core::fmt::Error" }
    );
    assert_eq!(later_spans[1].status, Status::Unset);
    let boxed = one(&spans, "boxed");
    assert_eq!(
        non_code_attributes(boxed),
        attrs! { "error.type" => "core::fmt::Error" }
    );
    let answer = one(&spans, "answer");
    assert_eq!(
        answer.status,
        Status::error("Mistral API answered HTTP 503")
    );
    assert_eq!(
        non_code_attributes(answer),
        attrs! { "error.type" => "503" }
    );
    let call = one(&spans, "embeddings mistral-embed");
    assert_parent(call, answer);
}
